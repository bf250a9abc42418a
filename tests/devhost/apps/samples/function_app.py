"""Apps in the style of the official Durable Functions Python v2 samples, written independently.

Chaining, fan-out/fan-in, human interaction with a timeout, monitor, eternal orchestration,
sub-orchestrations, retries and entities, with the usual HTTP starter.
"""

import json
import logging
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)  # noqa: N816 - the samples name it so


@myApp.route(route="orchestrators/{functionName}")
@myApp.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client):
    function_name = req.route_params.get("functionName")
    payload = req.get_json() if req.get_body() else None
    instance_id = await client.start_new(function_name, None, payload)
    logging.info("Started orchestration with ID = '%s'.", instance_id)
    return client.create_check_status_response(req, instance_id)


@myApp.route(route="approve/{instanceId}", methods=["POST"])
@myApp.durable_client_input(client_name="client")
async def approve(req: func.HttpRequest, client):
    await client.raise_event(req.route_params["instanceId"], "ApprovalEvent", req.get_json())
    return func.HttpResponse(status_code=202)


@myApp.route(route="counter/{key}", methods=["GET"])
@myApp.durable_client_input(client_name="client")
async def read_counter(req: func.HttpRequest, client):
    state = await client.read_entity_state(df.EntityId("Counter", req.route_params["key"]))
    body = {"exists": state.entity_exists, "value": state.entity_state}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


# Function chaining
@myApp.orchestration_trigger(context_name="context")
def hello_orchestrator(context):
    result1 = yield context.call_activity("hello", "Seattle")
    result2 = yield context.call_activity("hello", "Tokyo")
    result3 = yield context.call_activity("hello", "London")
    return [result1, result2, result3]


@myApp.activity_trigger(input_name="city")
def hello(city: str):
    return f"Hello {city}"


# Fan-out/fan-in
@myApp.orchestration_trigger(context_name="context")
def backup_site_content(context: df.DurableOrchestrationContext):
    files = yield context.call_activity("get_file_list", context.get_input())
    tasks = [context.call_activity("copy_file", name) for name in files]
    sizes = yield context.task_all(tasks)
    return sum(sizes)


@myApp.activity_trigger(input_name="count")
def get_file_list(count):
    return [f"file-{index}.txt" for index in range(int(count or 5))]


@myApp.activity_trigger(input_name="name")
def copy_file(name: str):
    return len(name)


# Human interaction with a timeout
@myApp.orchestration_trigger(context_name="context")
def approval_workflow(context: df.DurableOrchestrationContext):
    timeout_seconds = (context.get_input() or {}).get("timeoutSeconds", 3600)
    deadline = context.current_utc_datetime + timedelta(seconds=timeout_seconds)
    timeout_task = context.create_timer(deadline)
    approval_task = context.wait_for_external_event("ApprovalEvent")
    winner = yield context.task_any([approval_task, timeout_task])
    if winner == approval_task:
        timeout_task.cancel()
        return (yield context.call_activity("process_approval", approval_task.result))
    return (yield context.call_activity("escalate", "timed out"))


@myApp.activity_trigger(input_name="approval")
def process_approval(approval):
    decision = json.loads(approval) if isinstance(approval, str) else approval
    return f"Approved by {decision['approver']}"


@myApp.activity_trigger(input_name="reason")
def escalate(reason: str):
    return f"Escalated: {reason}"


# Monitor
@myApp.orchestration_trigger(context_name="context")
def monitor_job(context: df.DurableOrchestrationContext):
    job = context.get_input()
    polls = 0
    while True:
        polls += 1
        status = yield context.call_activity("get_job_status", {"job": job["id"], "poll": polls})
        if status == "Completed":
            return {"polls": polls}
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=job["intervalSeconds"]))


@myApp.activity_trigger(input_name="request")
def get_job_status(request):
    return "Completed" if request["poll"] >= 3 else "Running"


# Eternal orchestration
@myApp.orchestration_trigger(context_name="context")
def periodic_cleanup(context: df.DurableOrchestrationContext):
    round_number = context.get_input() or 0
    yield context.call_activity("cleanup", round_number)
    if round_number >= 3:
        return f"stopped after round {round_number}"
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=0.2))
    context.continue_as_new(round_number + 1)


@myApp.activity_trigger(input_name="round")
def cleanup(round: int):
    return round


# Sub-orchestrations
@myApp.orchestration_trigger(context_name="context")
def provision_devices(context: df.DurableOrchestrationContext):
    device_ids = context.get_input() or ["a", "b", "c"]
    tasks = [context.call_sub_orchestrator("device_provisioning", device) for device in device_ids]
    return (yield context.task_all(tasks))


@myApp.orchestration_trigger(context_name="context")
def device_provisioning(context: df.DurableOrchestrationContext):
    device = context.get_input()
    key = yield context.call_activity("create_device_key", device)
    return {"device": device, "key": key, "parent": context.parent_instance_id is not None}


@myApp.activity_trigger(input_name="device")
def create_device_key(device: str):
    return f"key-{device}"


# Retries
attempts: dict[str, int] = {}


@myApp.orchestration_trigger(context_name="context")
def flaky_work(context: df.DurableOrchestrationContext):
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=500, max_number_of_attempts=3)
    return (yield context.call_activity_with_retry("unreliable", retry, context.instance_id))


@myApp.activity_trigger(input_name="key")
def unreliable(key: str):
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] < 3:
        raise RuntimeError(f"transient failure {attempts[key]}")
    return f"succeeded on attempt {attempts[key]}"


# Entities
@myApp.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext):
    current = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        current += context.get_input()
    elif operation == "reset":
        current = 0
    elif operation == "get":
        context.set_result(current)
    context.set_state(current)


@myApp.orchestration_trigger(context_name="context")
def counter_orchestration(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Counter", context.get_input())
    context.signal_entity(entity, "add", 3)
    yield context.call_entity(entity, "add", 4)
    return (yield context.call_entity(entity, "get"))


# Clock and ids as the orchestrator sees them (used to prove replays are byte-identical).
@myApp.orchestration_trigger(context_name="context")
def clock_and_ids(context: df.DurableOrchestrationContext):
    seen = [repr(context.current_utc_datetime), str(context.new_uuid())]
    for city in ("Oslo", "Lima"):
        seen.append((yield context.call_activity("hello", city)))
        seen += [repr(context.current_utc_datetime), context.current_utc_datetime.isoformat()]
        seen.append(str(context.new_uuid()))
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=200))
    seen.append(repr(context.current_utc_datetime))
    return seen
