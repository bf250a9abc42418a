"""Shared functions of the conformance app: a starter, a client gateway and basic workflows."""

import json
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.route(route="start/{name}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start orchestrator {name} through the Python client; body = input, ?instanceId= optional."""
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(req.route_params["name"], req.params.get("instanceId"), payload)
    return client.create_check_status_response(req, instance_id)


@bp.route(route="client/{operation}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def client_gateway(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Run one DurableOrchestrationClient method; answers {"result": ...} or {"error": "<str(exception)>"}."""
    args: dict[str, Any] = req.get_json() if req.get_body() else {}
    operation = req.route_params["operation"]
    try:
        result = await _call_client(client, operation, args)
    except Exception as error:
        return func.HttpResponse(json.dumps({"error": str(error)}), mimetype="application/json")
    return func.HttpResponse(json.dumps({"result": result}, default=str), mimetype="application/json")


async def _call_client(client: df.DurableOrchestrationClient, operation: str, args: dict[str, Any]) -> Any:
    instance_id = args.get("instanceId")
    if operation == "raise_event":
        await client.raise_event(instance_id, args["name"], args.get("data"))
        return None
    if operation in ("terminate", "suspend", "resume"):
        await getattr(client, operation)(instance_id, args.get("reason", "test"))
        return None
    if operation == "rewind":
        await client.rewind(instance_id, args.get("reason", "test"))
        return None
    if operation == "restart":
        return await client.restart(instance_id, args.get("newId", True))
    if operation == "get_status":
        status = await client.get_status(
            instance_id,
            show_history=args.get("showHistory", False),
            show_history_output=args.get("showHistoryOutput", False),
            show_input=args.get("showInput", False),
        )
        return status.to_json() if status else None
    if operation == "get_status_all":
        return [s.to_json() for s in await client.get_status_all()]
    if operation == "purge":
        return (await client.purge_instance_history(instance_id)).instances_deleted
    if operation == "signal_entity":
        entity = df.EntityId(args["entity"], args["key"])
        await client.signal_entity(entity, args["op"], args.get("input"))
        return None
    if operation == "read_entity_state":
        entity = df.EntityId(args["entity"], args["key"])
        state = await client.read_entity_state(entity)
        return {"exists": state.entity_exists, "state": state.entity_state}
    if operation == "start_new":
        return await client.start_new(args["name"], instance_id, args.get("input"))
    raise ValueError(f"unknown client operation {operation}")


@bp.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):
    """Two activities in a row: the hello sequence of spec Appendix A."""
    first = yield context.call_activity("say_hello", "Tokyo")
    second = yield context.call_activity("say_hello", "Paris")
    return [first, second]


@bp.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):
    """N activities in parallel; input = N."""
    count = int(context.get_input() or 3)
    results = yield context.task_all([context.call_activity("say_hello", str(i)) for i in range(count)])
    return results


@bp.orchestration_trigger(context_name="context")
def wait_for_approval(context: df.DurableOrchestrationContext):
    """Waits for event 'Approval' or a timer of `input` seconds (default 3600), whichever is first."""
    seconds = float(context.get_input() or 3600)
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    approval = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approval, timer])
    if winner == approval:
        timer.cancel()
        return {"approved": approval.result}
    return {"timedOut": True}


@bp.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}"
