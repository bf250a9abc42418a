"""Decision → history event: one builder per kind of new work the replay finds (spec §5.5).

The engine appends the event a builder returns to the episode's history and then starts the work
it describes; the builders only shape events (the entity request id is the one fresh value).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devhost import history as h
from devhost.history import Event, compact_json
from devhost.instance import Instance
from devhost.shim import HTTP_ACTIVITY_NAME, Decision, UnsupportedActionError


@dataclass(frozen=True)
class EpisodeContext:
    """What a builder needs beyond the decision: the instance, the episode's time, the defaults."""

    instance: Instance
    now: datetime
    default_version: str


SchedulingEventBuilder = Callable[[Decision, EpisodeContext], Event]


def _timer(decision: Decision, context: EpisodeContext) -> Event:
    assert decision.fire_at is not None
    return h.timer_created(context.now, decision.event_id, decision.fire_at)


def _activity(decision: Decision, context: EpisodeContext) -> Event:
    name = str(decision.action.get("functionName"))
    return h.task_scheduled(context.now, decision.event_id, name, decision.action.get("input"))


def _http(decision: Decision, context: EpisodeContext) -> Event:
    http_request = compact_json(decision.action.get("httpRequest") or {})
    return h.task_scheduled(context.now, decision.event_id, HTTP_ACTIVITY_NAME, http_request)


def _sub_orchestration(decision: Decision, context: EpisodeContext) -> Event:
    action = decision.action
    requested = action.get("instanceId")
    child_id = (
        str(requested)
        if requested and str(requested).strip()
        else f"{context.instance.execution_id}:{decision.event_id}"
    )
    version = action.get("version")
    child_input = action.get("input")
    return h.sub_orchestration_created(
        context.now,
        decision.event_id,
        str(action.get("functionName")),
        version if version is not None else context.default_version,
        child_id,
        compact_json(child_input) if child_input is not None else None,
    )


def _entity_request(decision: Decision, context: EpisodeContext) -> Event:
    """Entity call or signal: the request message the entity receives (spec §9.4)."""
    action, instance = decision.action, context.instance
    input_text = action.get("input")
    request: dict[str, Any] = {"op": action.get("operation")}
    if decision.kind == "entity_signal":
        request["signal"] = True
    request.update(
        {
            "input": compact_json(input_text) if input_text is not None else None,
            "id": str(uuid.uuid4()),
            "parent": instance.instance_id,
            "parentExecution": instance.execution_id,
            "Timestamp": h.format_history_time(context.now),
            "Predecessor": "0001-01-01T00:00:00",
        }
    )
    return h.event_sent(
        context.now, decision.event_id, str(action.get("instanceId")), "op", compact_json(request)
    )


# One entry per Decision.kind the replay produces (shim.action_kind).
SCHEDULING_EVENT_BUILDERS: dict[str, SchedulingEventBuilder] = {
    "timer": _timer,
    "activity": _activity,
    "http": _http,
    "sub_orchestration": _sub_orchestration,
    "entity_call": _entity_request,
    "entity_signal": _entity_request,
}


def scheduling_event(decision: Decision, context: EpisodeContext) -> Event:
    """The history event that records a new decision."""
    builder = SCHEDULING_EVENT_BUILDERS.get(decision.kind)
    if builder is None:
        raise UnsupportedActionError(f"No scheduling event for a decision of kind {decision.kind!r}")
    return builder(decision, context)
