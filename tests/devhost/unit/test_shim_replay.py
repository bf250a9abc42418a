"""The action replay of spec §5.4, on hand-built histories: ids, retries, compound ordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devhost import history as h
from devhost.history import Event
from devhost.shim import ActionReplay, NonDeterminismError

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def activity(name: str, value: str = '"x"') -> dict[str, Any]:
    return {"actionType": 0, "functionName": name, "input": value}


def with_retry(name: str, attempts: int, interval_ms: int = 1000) -> dict[str, Any]:
    return {
        "actionType": 12,
        "compoundActions": [
            {
                "actionType": 1,
                "functionName": name,
                "input": '"x"',
                "retryOptions": {
                    "firstRetryIntervalInMilliseconds": interval_ms,
                    "maxNumberOfAttempts": attempts,
                },
            }
        ],
    }


def started(at: datetime = T0) -> list[Event]:
    return [
        h.orchestrator_started(at),
        h.execution_started(
            at, name="o", version="", input_text=None, instance_id="i", execution_id="e", parent=None
        ),
    ]


def decisions(actions: list[dict[str, Any]], history: list[Event]) -> list[tuple[int, str, str | None]]:
    return [(d.event_id, d.kind, d.fire_at) for d in ActionReplay(actions, history).run()]


def test_first_activity_gets_id_zero() -> None:
    assert decisions([activity("a")], started()) == [(0, "activity", None)]


def test_chain_schedules_only_the_next_step() -> None:
    history = [
        *started(),
        h.task_scheduled(T0, 0, "a", '"x"'),
        h.orchestrator_completed(T0),
        h.orchestrator_started(T0),
        h.task_completed(T0, 0, '"ok"'),
    ]
    assert decisions([activity("a"), activity("b")], history) == [(1, "activity", None)]


def test_fan_out_ids_follow_list_order() -> None:
    fan_out = {"actionType": 12, "compoundActions": [activity(f"w{i}") for i in range(4)]}
    assert [d[0] for d in decisions([fan_out], started())] == [0, 1, 2, 3]


def test_retry_timer_then_next_attempt_ids() -> None:
    t1 = T0 + timedelta(seconds=1)
    history = [
        *started(),
        h.task_scheduled(T0, 0, "flaky", '"x"'),
        h.orchestrator_completed(T0),
        h.orchestrator_started(t1),
        h.task_failed(t1, 0, "Activity function 'flaky' failed:  ValueError: no", None),
    ]
    assert decisions([with_retry("flaky", 3)], history) == [
        (1, "timer", h.format_history_time(t1 + timedelta(seconds=1)))
    ]
    t2 = t1 + timedelta(seconds=1)
    history += [
        h.timer_created(t1, 1, h.format_history_time(t2)),
        h.orchestrator_completed(t1),
        h.orchestrator_started(t2),
        h.timer_fired(t2, 1, h.format_history_time(t2)),
    ]
    assert decisions([with_retry("flaky", 3)], history) == [(2, "activity", None)]


def test_last_failed_attempt_gets_an_immediate_timer() -> None:
    t1 = T0 + timedelta(seconds=1)
    history = [
        *started(),
        h.task_scheduled(T0, 0, "flaky", '"x"'),
        h.orchestrator_completed(T0),
        h.orchestrator_started(t1),
        h.task_failed(t1, 0, "boom", None),
    ]
    assert decisions([with_retry("flaky", 1)], history) == [(1, "timer", h.format_history_time(t1))]


def test_action_after_a_failed_child_waits_for_the_whole_when_all() -> None:
    fan_out = {"actionType": 12, "compoundActions": [activity("a"), activity("b")]}
    history = [
        *started(),
        h.task_scheduled(T0, 0, "a", '"x"'),
        h.task_scheduled(T0, 1, "b", '"x"'),
        h.orchestrator_completed(T0),
        h.orchestrator_started(T0),
        h.task_failed(T0, 0, "a failed", None),
    ]
    # The code caught the failure and yielded "recover"; the extension holds it back until b is done.
    assert decisions([fan_out, activity("recover")], history) == []
    history += [h.orchestrator_completed(T0), h.orchestrator_started(T0), h.task_completed(T0, 1, '"b"')]
    assert decisions([fan_out, activity("recover")], history) == [(2, "activity", None)]


def test_external_event_raised_before_the_wait_is_buffered() -> None:
    history = [*started(), h.event_raised(T0, "Approval", '"yes"')]
    wait = {"actionType": 6, "externalEventName": "Approval", "reason": "ExternalEvent"}
    assert decisions([wait, activity("after")], history) == [(0, "activity", None)]


def test_changed_activity_name_is_non_deterministic() -> None:
    history = [*started(), h.task_scheduled(T0, 0, "a", '"x"'), h.orchestrator_completed(T0)]
    with pytest.raises(NonDeterminismError, match="Non-Deterministic workflow detected"):
        ActionReplay([activity("renamed")], history).run()


def test_when_any_children_get_ids_before_the_next_action_when_one_completes_at_once() -> None:
    # The event arrived before the wait: the WhenAny completes while it is being started, yet its
    # timer must still get id 0 and the following activity id 1, as the SDK numbers them.
    wait = {"actionType": 6, "externalEventName": "Approval", "reason": "ExternalEvent"}
    timer = {"actionType": 5, "fireAt": "2026-01-02T00:00:00.000000Z", "isCanceled": False}
    race = {"actionType": 11, "compoundActions": [wait, timer]}
    history = [*started(), h.event_raised(T0, "Approval", '"yes"')]
    assert [(d[0], d[1]) for d in decisions([race, activity("after")], history)] == [
        (0, "timer"),
        (1, "activity"),
    ]


def test_signal_then_call_at_top_level_are_numbered_in_order() -> None:
    signal = {"actionType": 9, "instanceId": "@counter@k", "operation": "add", "input": "1"}
    call = {"actionType": 7, "instanceId": "@counter@k", "operation": "get", "input": "null"}
    assert [(d[0], d[1]) for d in decisions([signal, signal, call], started())] == [
        (0, "entity_signal"),
        (1, "entity_signal"),
        (2, "entity_call"),
    ]
