"""The devhost's public replay API, as `ops replay-check` reads it after a replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devhost import history as h
from devhost.history import Event
from devhost.shim import SCHEDULING_EVENT_OF_KIND, ActionReplay, UnsupportedActionError, action_kind
from durable_wire import EventType

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def started() -> list[Event]:
    return [
        h.orchestrator_started(T0),
        h.execution_started(
            T0, name="o", version="", input_text=None, instance_id="i", execution_id="e", parent=None
        ),
    ]


def wait_for(name: str) -> dict[str, Any]:
    return {"actionType": 6, "externalEventName": name}


def test_allocations_list_every_id_with_its_action_and_kind_retry_timers_included() -> None:
    retried = {
        "actionType": 1,
        "functionName": "flaky",
        "input": '"x"',
        "retryOptions": {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 2},
    }
    t1 = T0 + timedelta(seconds=1)
    history = [
        *started(),
        h.task_scheduled(T0, 0, "flaky", '"x"'),
        h.orchestrator_completed(T0),
        h.orchestrator_started(t1),
        h.task_failed(t1, 0, "boom", None),
    ]
    replay = ActionReplay([retried], history)
    replay.run()
    assert [(a.event_id, a.kind, a.is_retry_timer) for a in replay.allocations] == [
        (0, "activity", False),
        (1, "timer", True),
    ]
    assert replay.allocations[0].action is retried
    assert set(replay.recorded_scheduling) == {0}
    assert replay.recorded_scheduling[0]["EventType"] == EventType.TASK_SCHEDULED


def test_waiting_and_unawaited_event_names() -> None:
    history = [*started(), h.event_raised(T0, "Ignored", None), h.event_raised(T0, "approval", None)]
    replay = ActionReplay([wait_for("Approval"), wait_for("Payment")], history)
    replay.run()
    assert replay.waiting_event_names() == ["Payment"]
    assert replay.unawaited_event_names() == ["Ignored"]


def test_action_kind_names_each_kind_of_scheduled_work_and_refuses_others() -> None:
    kinds = {
        0: "activity",
        1: "activity",
        2: "sub_orchestration",
        3: "sub_orchestration",
        5: "timer",
        7: "entity_call",
        8: "http",
        9: "entity_signal",
    }
    assert {action_kind({"actionType": number}) for number in kinds} == set(SCHEDULING_EVENT_OF_KIND)
    for number, kind in kinds.items():
        assert action_kind({"actionType": number}) == kind
    with pytest.raises(UnsupportedActionError):
        action_kind(wait_for("x"))
