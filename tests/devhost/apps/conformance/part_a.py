"""Functions for conformance items 1-35 that core.py does not provide (all names start with `a_`)."""

import json
import threading
import time
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()

# Module-level state: the host runs one interpreter, so it persists between invocations (spec §7).
_lock = threading.Lock()
_calls: dict[str, int] = {}
_entity_log: dict[str, list[dict[str, Any]]] = {}
_entity_active: dict[str, int] = {}
_gates: dict[str, threading.Event] = {}


def _gate(key: str) -> threading.Event:
    with _lock:
        return _gates.setdefault(key, threading.Event())


def _count(key: str) -> int:
    with _lock:
        _calls[key] = _calls.get(key, 0) + 1
        return _calls[key]


@bp.route(route="a/entity-log/{key}", methods=["GET"])
def a_entity_log(req: func.HttpRequest) -> func.HttpResponse:
    """What the entities below recorded for entity key {key} (raw payload fields, concurrency)."""
    with _lock:
        body = json.dumps(_entity_log.get(req.route_params["key"], []))
    return func.HttpResponse(body, mimetype="application/json")


@bp.route(route="a/gate/{key}", methods=["POST"])
def a_open_gate(req: func.HttpRequest) -> func.HttpResponse:
    """Let activities waiting on gate {key} go on."""
    _gate(req.route_params["key"]).set()
    return func.HttpResponse(status_code=200)


def _wait_and_sleep(request: dict[str, Any]) -> None:
    """Optional gate (opened over HTTP) then an optional sleep."""
    if request.get("gate"):
        _gate(str(request["gate"])).wait(timeout=20)
    time.sleep(float(request.get("sleep", 0)))


# -- activities ---------------------------------------------------------------------------------


@bp.activity_trigger(input_name="value")
def a_describe(value: Any) -> dict[str, Any]:
    """Item 8: report the Python type and value the activity received."""
    return {"type": type(value).__name__, "value": value}


@bp.activity_trigger(input_name="value")
def a_dict(value: Any) -> dict[str, int]:
    return {"a": 1}


@bp.activity_trigger(input_name="value")
def a_none(value: Any) -> None:
    return None


@bp.activity_trigger(input_name="value")
def a_raise_value_error(value: Any) -> str:
    raise ValueError("x")


@bp.activity_trigger(input_name="request")
def a_flaky(request: dict[str, Any]) -> str:
    """Fails (ValueError 'attempt n') for the first `fail` calls per `key`, then succeeds; may wait first."""
    _wait_and_sleep(request)
    attempt = _count(str(request["key"]))
    if attempt <= int(request["fail"]):
        raise ValueError(f"attempt {attempt}")
    return f"ok on attempt {attempt}"


@bp.activity_trigger(input_name="request")
def a_sleep_echo(request: dict[str, Any]) -> Any:
    """Waits for `gate` (if given), sleeps `sleep` seconds and returns `value`."""
    _wait_and_sleep(request)
    return request.get("value")


# -- orchestrators ------------------------------------------------------------------------------


@bp.orchestration_trigger(context_name="context")
def a_describe_inputs(context: df.DurableOrchestrationContext):
    """Item 8: one activity per input kind (None means call_activity without input)."""
    values = ["Tokyo", {"a": 1}, [1, "two"], 5, 2.5, True, None]
    results = yield context.task_all([context.call_activity("a_describe", v) for v in values])
    return results


@bp.orchestration_trigger(context_name="context")
def a_dict_result(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("a_dict", None)
    return {"result": result}


@bp.orchestration_trigger(context_name="context")
def a_none_result(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("a_none", None)
    return {"isNone": result is None, "repr": repr(result)}


@bp.orchestration_trigger(context_name="context")
def a_catch_activity_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("a_raise_value_error", None)
    except Exception as error:  # the test inspects the text
        return {"caught": str(error)}
    return {"caught": None}


@bp.orchestration_trigger(context_name="context")
def a_boom(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", "before boom")
    raise ValueError("boom")


@bp.orchestration_trigger(context_name="context")
def a_retry(context: df.DurableOrchestrationContext):
    """Input {"fail": n, "attempts": m}: a_flaky fails n times, retried m attempts 1000 ms apart."""
    options = context.get_input()
    retry = df.RetryOptions(
        first_retry_interval_in_milliseconds=1000, max_number_of_attempts=options["attempts"]
    )
    request = {"key": context.instance_id, "fail": options["fail"]}
    try:
        result = yield context.call_activity_with_retry("a_flaky", retry, request)
    except Exception as error:  # the test inspects the text
        return {"error": str(error)}
    return {"result": result}


@bp.orchestration_trigger(context_name="context")
def a_retry_race(context: df.DurableOrchestrationContext):
    """Item 18: a retried activity and a plain one race in task_any; then a new action is yielded."""
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2)
    gate = context.instance_id
    flaky = context.call_activity_with_retry("a_flaky", retry, {"key": gate, "fail": 1, "gate": gate})
    quick = context.call_activity("a_sleep_echo", {"gate": gate, "sleep": 0.3, "value": "quick"})
    yield context.task_any([flaky, quick])
    after = yield context.call_activity("a_sleep_echo", {"value": "after"})
    flaky_result = yield flaky
    return [after, flaky_result]


@bp.orchestration_trigger(context_name="context")
def a_all_then_after(context: df.DurableOrchestrationContext):
    """Item 19: the fast child of a task_all fails; the code yields a new action after catching it."""
    fast = context.call_activity("a_raise_value_error", None)
    slow = context.call_activity("a_sleep_echo", {"sleep": 1.5, "value": "slow"})
    try:
        yield context.task_all([fast, slow])
    except Exception:
        after = yield context.call_activity("a_sleep_echo", {"value": "after"})
        return after
    return None


@bp.orchestration_trigger(context_name="context")
def a_timer(context: df.DurableOrchestrationContext):
    """Items 20/21: input {"seconds": s}: a timer s seconds ahead; returns the fire time it asked for."""
    fire_at = context.current_utc_datetime + timedelta(seconds=float(context.get_input()["seconds"]))
    yield context.create_timer(fire_at)
    return fire_at.isoformat()


@bp.orchestration_trigger(context_name="context")
def a_wait_e(context: df.DurableOrchestrationContext):
    """Items 22-24: waits for event 'E' (after an activity of input {"sleep": s} seconds), returns it."""
    seconds = (context.get_input() or {}).get("sleep")
    if seconds:
        yield context.call_activity("a_sleep_echo", {"sleep": seconds})
    value = yield context.wait_for_external_event("E")
    return {"type": type(value).__name__, "value": value}


@bp.orchestration_trigger(context_name="context")
def a_parent(context: df.DurableOrchestrationContext):
    result = yield context.call_sub_orchestrator("a_child", "Oslo")
    return {"child": result}


@bp.orchestration_trigger(context_name="context")
def a_child(context: df.DurableOrchestrationContext):
    greeting = yield context.call_activity("say_hello", context.get_input())
    return {"greeting": greeting, "parent": context.parent_instance_id, "me": context.instance_id}


@bp.orchestration_trigger(context_name="context")
def a_parent_of_failing(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator("a_failing_child", None)
    except Exception as error:  # the test inspects the text
        return {"caught": str(error)}
    return {"caught": None}


@bp.orchestration_trigger(context_name="context")
def a_failing_child(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", "child")
    raise ValueError("child boom")


@bp.orchestration_trigger(context_name="context")
def a_continue(context: df.DurableOrchestrationContext):
    """Item 27: input {"n": k}; continues as new with n + 1 until n == 2."""
    n = int(context.get_input()["n"])
    yield context.call_activity("say_hello", str(n))
    if n < 2:
        context.continue_as_new({"n": n + 1})
        return None
    return {"n": n, "executionInput": context.get_input()}


@bp.orchestration_trigger(context_name="context")
def a_signal_then_activity(context: df.DurableOrchestrationContext):
    """Item 28: a fire-and-forget signal, then an activity."""
    context.signal_entity(df.EntityId("a_Counter", context.instance_id), "add", 1)
    result = yield context.call_activity("say_hello", "after signal")
    return result


@bp.orchestration_trigger(context_name="context")
def a_call_counter(context: df.DurableOrchestrationContext):
    """Item 29: a successful call_entity, then one whose operation raises."""
    entity = df.EntityId("a_Counter", context.instance_id)
    total = yield context.call_entity(entity, "add", 5)
    try:
        yield context.call_entity(entity, "fail", None)
    except Exception as error:  # the test inspects the text
        return {"total": total, "caught": str(error)}
    return {"total": total, "caught": None}


@bp.orchestration_trigger(context_name="context")
def a_call_recorder(context: df.DurableOrchestrationContext):
    """Item 30: call_entity with input 5 on the recorder whose key is input {"key": k}."""
    key = context.get_input()["key"]
    result = yield context.call_entity(df.EntityId("a_Recorder", key), "set", 5)
    return result


# -- entities -----------------------------------------------------------------------------------


@bp.entity_trigger(context_name="context", entity_name="a_Counter")
def a_counter(context: df.DurableEntityContext) -> None:
    operation = context.operation_name
    if operation == "add":
        total = int(context.get_state(lambda: 0)) + int(context.get_input())
        context.set_state(total)
        context.set_result(total)
    elif operation == "get":
        context.set_result(context.get_state(lambda: 0))
    elif operation == "fail":
        raise ValueError("bad op")
    elif operation == "delete":
        context.destruct_on_exit()
    else:
        raise ValueError(f"unknown operation {operation}")


@bp.entity_trigger(context_name="context", entity_name="a_Recorder")
def a_recorder(context: df.DurableEntityContext) -> None:
    """Item 30: records what the SDK parsed from the entity trigger payload, before touching state."""
    raw_state = context._state if context._state_is_raw else None  # payload `state` text
    record = {
        "name": context.entity_name,
        "key": context.entity_key,
        "operation": context.operation_name,
        "exists": context._exists,  # payload `exists`
        "stateIsRaw": context._state_is_raw,
        "rawState": raw_state,
        "stateIsNone": context._state is None,
        "rawInput": context._input,  # batch item `input`
    }
    with _lock:
        _entity_log.setdefault(context.entity_key, []).append(record)
    value = context.get_input()
    context.set_state(value)
    context.set_result(value)


@bp.entity_trigger(context_name="context", entity_name="a_Sequencer")
def a_sequencer(context: df.DurableEntityContext) -> None:
    """Item 32: operation "append-<n>" appends n to a list; records how many operations ran at once."""
    key = context.entity_key
    with _lock:
        _entity_active[key] = _entity_active.get(key, 0) + 1
        active = _entity_active[key]
    try:
        time.sleep(0.02)
        state = context.get_state(lambda: {"items": [], "maxActive": 0})
        state["items"].append(int(str(context.operation_name).split("-", 1)[1]))
        state["maxActive"] = max(state["maxActive"], active)
        context.set_state(state)
    finally:
        with _lock:
            _entity_active[key] -= 1
