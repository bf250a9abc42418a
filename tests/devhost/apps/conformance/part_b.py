"""Functions for conformance items 36-70 that core.py does not provide.

Every function name starts with `b_` (durable names set explicitly start with `B`), so nothing here
collides with core.py or part_a.py.
"""

import json
import time
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


# -- small building blocks --------------------------------------------------------------------------


@bp.activity_trigger(input_name="value")
def b_identity(value: Any) -> Any:
    """Returns its input unchanged."""
    return value


@bp.activity_trigger(input_name="seconds")
def b_sleep(seconds: float) -> float:
    """A synchronous activity that blocks its thread (spec §7: must not stall the host)."""
    time.sleep(float(seconds))
    return float(seconds)


@bp.orchestration_trigger(context_name="context")
def b_echo(context: df.DurableOrchestrationContext):
    """Returns its input after a round trip through an activity."""
    value = context.get_input()
    result = yield context.call_activity("b_identity", value)
    return result


@bp.orchestration_trigger(context_name="context")
def b_fail(context: df.DurableOrchestrationContext):
    """Fails after one activity with the message `boom <input>`."""
    value = yield context.call_activity("b_identity", context.get_input())
    raise Exception(f"boom {value}")


@bp.orchestration_trigger(context_name="context")
def b_wait_event(context: df.DurableOrchestrationContext):
    """Waits for the external event 'Go' and returns {"input": ..., "event": ...}."""
    event = yield context.wait_for_external_event("Go")
    return {"input": context.get_input(), "event": event}


@bp.orchestration_trigger(context_name="context")
def b_sleep_once(context: df.DurableOrchestrationContext):
    """One 1 s sleeping activity (item 45: its result arrives while the instance is suspended)."""
    slept = yield context.call_activity("b_sleep", 1)
    return {"slept": slept}


# -- item 53: custom status ---------------------------------------------------------------------------


@bp.orchestration_trigger(context_name="context")
def b_custom_status(context: df.DurableOrchestrationContext):
    """Sets custom status {"step": 2}, then waits for 'Go'."""
    context.set_custom_status({"step": 2})
    yield context.wait_for_external_event("Go")
    return "done"


@bp.orchestration_trigger(context_name="context")
def b_big_custom_status(context: df.DurableOrchestrationContext):
    """Sets a custom status string of `input` characters, then runs one activity."""
    context.set_custom_status("x" * int(context.get_input()))
    yield context.call_activity("b_identity", "after")
    return "ok"


# -- item 54: current_utc_datetime; item 55: new_uuid ------------------------------------------------


@bp.orchestration_trigger(context_name="context")
def b_clock(context: df.DurableOrchestrationContext):
    """Returns current_utc_datetime as seen at the start and after each of two activities."""
    start = context.current_utc_datetime
    yield context.call_activity("b_identity", 1)
    after_first = context.current_utc_datetime
    yield context.call_activity("b_identity", 2)
    after_second = context.current_utc_datetime
    return [start.isoformat(), after_first.isoformat(), after_second.isoformat()]


@bp.orchestration_trigger(context_name="context")
def b_uuids(context: df.DurableOrchestrationContext):
    """new_uuid before and after an activity; the first value also travels through the activity."""
    first = context.new_uuid()
    echoed = yield context.call_activity("b_identity", first)
    second = context.new_uuid()
    return {"first": first, "echoed": echoed, "second": second}


# -- item 56: late completions --------------------------------------------------------------------


@bp.orchestration_trigger(context_name="context")
def b_late_events(context: df.DurableOrchestrationContext):
    """A fast activity wins over a 1.5 s activity and a 1.5 s timer, which complete after the end."""
    fast = context.call_activity("b_identity", "fast")
    slow = context.call_activity("b_sleep", 1.5)
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=1.5))
    winner = yield context.task_any([fast, slow, timer])
    return winner.result


# -- item 57: durable names -----------------------------------------------------------------------


@bp.orchestration_trigger(context_name="context", orchestration="BHelloCities")
def b_hello_cities(context: df.DurableOrchestrationContext):
    """Known as BHelloCities; calls activity BGreet and entity BCounter by their durable names."""
    first = yield context.call_activity("BGreet", "Tokyo")
    second = yield context.call_activity("BGreet", "Paris")
    count = yield context.call_entity(df.EntityId("BCounter", context.instance_id), "add", 2)
    return [first, second, count]


@bp.activity_trigger(input_name="city", activity="BGreet")
def b_greet(city: str) -> str:
    return f"Greetings {city}"


def _count(context: df.DurableEntityContext) -> int:
    """A counter's value after this operation: `add` adds its input to the state, others read it."""
    value: int = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
        context.set_state(value)
    return value


@bp.entity_trigger(context_name="context", entity_name="BCounter")
def b_named_counter(context: df.DurableEntityContext) -> None:
    """Known as BCounter: add/get; reports its own (lowercased) entity name with get."""
    value = _count(context)
    if context.operation_name == "add":
        context.set_result(value)
    else:
        context.set_result({"name": context.entity_name, "value": value})


# -- item 59, 63: entities --------------------------------------------------------------------------


@bp.entity_trigger(context_name="context")
def b_counter(context: df.DurableEntityContext) -> None:
    """add / get."""
    context.set_result(_count(context))


@bp.entity_trigger(context_name="context")
def b_failing_entity(context: df.DurableEntityContext) -> None:
    """Every operation raises ValueError('a\\r\\nb') chained from OverflowError('c')."""
    try:
        raise OverflowError("c")
    except OverflowError as cause:
        raise ValueError("a\r\nb") from cause


@bp.orchestration_trigger(context_name="context")
def b_catch_entity_error(context: df.DurableOrchestrationContext):
    """Calls b_failing_entity, catches the exception and returns its text."""
    try:
        yield context.call_entity(df.EntityId("b_failing_entity", context.instance_id), "explode")
    except Exception as error:
        return {"text": str(error), "type": type(error).__name__}
    return {"text": None}


@bp.orchestration_trigger(context_name="context")
def b_uncaught_entity_error(context: df.DurableOrchestrationContext):
    """Calls b_failing_entity without catching."""
    yield context.call_entity(df.EntityId("b_failing_entity", context.instance_id), "explode")
    return "unreachable"


# -- item 60: a blocking activity against a timer ---------------------------------------------------


@bp.orchestration_trigger(context_name="context")
def b_timeout_race(context: df.DurableOrchestrationContext):
    """task_any([5 s sleeping activity, timer(now + input seconds)]) -> "activity" or "timer"."""
    seconds = float(context.get_input())
    activity = context.call_activity("b_sleep", 5)
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    winner = yield context.task_any([activity, timer])
    if winner == activity:
        timer.cancel()
        return "activity"
    return "timer"


# -- item 61: module-level state --------------------------------------------------------------------

_FAILED_ONCE: set[str] = set()


@bp.activity_trigger(input_name="instance_id")
def b_fail_once(instance_id: str) -> str:
    """Fails on its first call for an instance id (remembered in a module global), then succeeds."""
    if instance_id not in _FAILED_ONCE:
        _FAILED_ONCE.add(instance_id)
        raise RuntimeError(f"first call for {instance_id} fails")
    return "Success"


@bp.orchestration_trigger(context_name="context")
def b_retry_once(context: df.DurableOrchestrationContext):
    result = yield context.call_activity_with_retry(
        "b_fail_once", df.RetryOptions(5000, 3), context.instance_id
    )
    return result


# -- item 62: scheduled start -----------------------------------------------------------------------


@bp.orchestration_trigger(context_name="context")
def b_scheduled_start(context: df.DurableOrchestrationContext):
    """Waits on a timer to the input time (.NET round-trip form, e.g. 2026-11-30T09:47:00.1234567Z)."""
    fire_at = datetime.fromisoformat(context.get_input())
    yield context.create_timer(fire_at)
    return "Scheduled"


# -- item 65: large output --------------------------------------------------------------------------


@bp.orchestration_trigger(context_name="context")
def b_large_output(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("b_identity", "Hello Tokyo!")
    return [first, "A" * (4608 * 1024)]


# -- item 66: disabled functions (disabled only on the host that sets the app settings) ------------


@bp.activity_trigger(input_name="marker")
def b_disabled_activity(marker: str) -> str:
    """Writes the marker file: proof that it ran."""
    Path(marker).write_text("ran")
    return "ran"


@bp.entity_trigger(context_name="context")
def b_disabled_entity(context: df.DurableEntityContext) -> None:
    Path(context.get_input()).write_text("ran")
    context.set_result("ran")


@bp.orchestration_trigger(context_name="context")
def b_call_disabled_activity(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("b_disabled_activity", context.get_input()["marker"])
    return result


@bp.orchestration_trigger(context_name="context")
def b_call_disabled_entity(context: df.DurableOrchestrationContext):
    result = yield context.call_entity(
        df.EntityId("b_disabled_entity", context.instance_id), "touch", context.get_input()["marker"]
    )
    return result


@bp.orchestration_trigger(context_name="context")
def b_disabled_orchestrator(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("b_identity", "should not run")
    return result


# -- item 68: is_replaying --------------------------------------------------------------------------


def _is_replaying_after_each(
    context: df.DurableOrchestrationContext, steps: list[Callable[[], Any]]
) -> Generator[Any, Any, list[bool]]:
    """is_replaying at the start and after each step (a step makes the task to yield next)."""
    flags = [context.is_replaying]
    for step in steps:
        yield step()
        flags.append(context.is_replaying)
    return flags


@bp.orchestration_trigger(context_name="context")
def b_replay_flags_chain(context: df.DurableOrchestrationContext):
    """is_replaying at the start, after the first and after the last of two activities."""
    steps = [
        lambda: context.call_activity("b_identity", 1),
        lambda: context.call_activity("b_identity", 2),
    ]
    return (yield from _is_replaying_after_each(context, steps))


@bp.orchestration_trigger(context_name="context")
def b_replay_flags_fan_in(context: df.DurableOrchestrationContext):
    """is_replaying at the start, after one activity and after a final task_all of three."""
    steps = [
        lambda: context.call_activity("b_identity", 0),
        lambda: context.task_all([context.call_activity("b_identity", i) for i in range(3)]),
    ]
    return (yield from _is_replaying_after_each(context, steps))


# -- item 69: custom classes ------------------------------------------------------------------------


class BPoint:
    """A custom payload class: serialized by the SDK as {"__class__", "__module__", "__data__"}."""

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    @staticmethod
    def to_json(obj: "BPoint") -> dict[str, int]:
        return {"x": obj.x, "y": obj.y}

    @staticmethod
    def from_json(data: dict[str, int]) -> "BPoint":
        return BPoint(data["x"], data["y"])


@bp.activity_trigger(input_name="point")
def b_point_info(point):  # untyped on purpose: the converter rebuilds the class
    """Reports what it received and returns a new BPoint (x+1, y+1)."""
    return {
        "class": type(point).__name__,
        "module": type(point).__module__,
        "isBPoint": isinstance(point, BPoint),
        "sum": point.x + point.y if isinstance(point, BPoint) else None,
        "moved": BPoint(point.x + 1, point.y + 1) if isinstance(point, BPoint) else None,
    }


@bp.orchestration_trigger(context_name="context")
def b_custom_class(context: df.DurableOrchestrationContext):
    info = yield context.call_activity("b_point_info", BPoint(1, 2))
    moved = info.pop("moved")
    info["movedClass"] = type(moved).__name__
    info["moved"] = [moved.x, moved.y] if isinstance(moved, BPoint) else moved
    return info


# -- item 70: a non-generator orchestrator ---------------------------------------------------------


@bp.orchestration_trigger(context_name="context")
def b_non_generator(context: df.DurableOrchestrationContext) -> str:
    """Creates an external-event task but never yields it; returns at once."""
    context.wait_for_external_event("NeverYielded")
    return "Orchestrator Finished!"


# -- item 51: the raw durableClient binding ---------------------------------------------------------


@bp.route(route="b/client-binding", methods=["GET"])
@bp.generic_input_binding(arg_name="client", type="durableClient")
def b_client_binding(req: func.HttpRequest, client: str) -> func.HttpResponse:
    """Returns the durableClient binding value exactly as injected (a JSON string)."""
    return func.HttpResponse(
        json.dumps({"type": type(client).__name__, "value": client}), mimetype="application/json"
    )
