"""An app for the ops command tests: a refund review with retries, a sub-orchestration, custom
status, an approval event with a timeout and sensitive fields; plus small orchestrators to manage.
"""

from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

APPROVAL_DECISION_EVENT = "ApprovalDecision"
CHECK_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
failures_left: dict[str, int] = {}


@app.orchestration_trigger(context_name="context")
def refund_review(context: df.DurableOrchestrationContext):
    request = context.get_input()
    context.set_custom_status({"stage": "checking"})
    check = yield context.call_activity_with_retry(
        "check_claim", CHECK_RETRY, {"claimId": request["claimId"], "customerEmail": request["customerEmail"]}
    )
    yield context.call_sub_orchestrator(
        "notify_parties", {"phone": request["phone"], "claimId": request["claimId"]}
    )
    context.set_custom_status({"stage": "waiting for approval", "check": check})
    deadline = context.current_utc_datetime + timedelta(seconds=request.get("timeoutSeconds", 60))
    timeout = context.create_timer(deadline)
    decision_task = context.wait_for_external_event(APPROVAL_DECISION_EVENT)
    winner = yield context.task_any([decision_task, timeout])
    if winner != decision_task:
        context.set_custom_status({"stage": "timed out"})
        return {"approved": False}
    timeout.cancel()
    decision = decision_task.result
    refund = yield context.call_activity(
        "issue_refund", {"amount": request["amount"], "card": request["card"]}
    )
    context.set_custom_status({"stage": "done"})
    return {"approved": True, "by": decision.get("approver"), "refund": refund}


@app.orchestration_trigger(context_name="context")
def notify_parties(context: df.DurableOrchestrationContext):
    message = context.get_input()
    return (yield context.call_activity("send_sms", message))


@app.activity_trigger(input_name="claim")
def check_claim(claim: dict) -> str:
    key = claim["claimId"]
    failures_left.setdefault(key, 2)
    if failures_left[key] > 0:
        failures_left[key] -= 1
        raise RuntimeError(f"claims service busy for {key}")
    return "valid"


@app.activity_trigger(input_name="message")
def send_sms(message: dict) -> str:
    return f"sent to {message['phone']}"


@app.activity_trigger(input_name="refund")
def issue_refund(refund: dict) -> str:
    return f"refunded {refund['amount']}"


@app.orchestration_trigger(context_name="context")
def wait_for_go(context: df.DurableOrchestrationContext):
    data = yield context.wait_for_external_event("Go")
    return {"received": data}


fail_once: set[str] = set()


@app.orchestration_trigger(context_name="context")
def fails_once(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("flaky_step", context.instance_id))


@app.activity_trigger(input_name="key")
def flaky_step(key: str) -> str:
    if key not in fail_once:
        fail_once.add(key)
        raise RuntimeError("first run fails")
    return "ok"
