"""An approval workflow: ask an approver, wait up to three days for the decision, else escalate.

POST /api/approvals {"request_id": "...", "amount": 120}        -> 202, the instance id
POST /api/approvals/{instance_id}/decision {"approved": true}   -> 202
"""

import json
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

DECISION_EVENT = "approval_decision"
DECISION_DEADLINE = timedelta(days=3)


@app.route(route="approvals", methods=["POST"])
@app.durable_client_input(client_name="client")
async def request_approval(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        body = req.get_json()
    except ValueError:
        return func.HttpResponse(
            '{"error": "body must be JSON"}', status_code=400, mimetype="application/json"
        )
    if not isinstance(body, dict) or not isinstance(body.get("amount"), int | float):
        return func.HttpResponse(
            '{"error": "amount must be a number"}', status_code=400, mimetype="application/json"
        )
    instance_id = await client.start_new("approval_workflow", None, body)
    return func.HttpResponse(json.dumps({"id": instance_id}), status_code=202, mimetype="application/json")


@app.route(route="approvals/{instance_id}/decision", methods=["POST"])
@app.durable_client_input(client_name="client")
async def decide(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    decision = req.get_json()
    await client.raise_event(
        req.route_params["instance_id"], DECISION_EVENT, {"approved": bool(decision.get("approved"))}
    )
    return func.HttpResponse(status_code=202)


def decision_of(value):
    """The event's data: the SDK client sends it as JSON text, the management API as JSON."""
    return json.loads(value) if isinstance(value, str) else value


@app.orchestration_trigger(context_name="context")
def approval_workflow(context: df.DurableOrchestrationContext):
    request = context.get_input()
    deadline = context.current_utc_datetime + DECISION_DEADLINE
    yield context.call_activity("notify_approver", request)
    context.set_custom_status({"stage": "awaiting_decision", "deadline": deadline.isoformat()})

    decision = context.wait_for_external_event(DECISION_EVENT)
    timeout = context.create_timer(deadline)
    winner = yield context.task_any([decision, timeout])
    if winner == decision:
        timeout.cancel()
        outcome = "approved" if decision_of(decision.result).get("approved") else "rejected"
    else:
        outcome = "escalated"
    yield context.call_activity("record_outcome", {"request": request, "outcome": outcome})
    context.set_custom_status({"stage": "done"})
    return outcome


@app.activity_trigger(input_name="request")
def notify_approver(request: dict) -> str:
    # A real app would send an email or a chat message here (idempotently: keyed by the request).
    return f"approver notified about {request.get('request_id')}"


@app.activity_trigger(input_name="record")
def record_outcome(record: dict) -> str:
    return f"{record['request'].get('request_id')}: {record['outcome']}"
