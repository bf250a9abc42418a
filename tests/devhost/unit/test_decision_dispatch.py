"""The decision → scheduling event table: one builder per kind, each recording its kind's event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from devhost.decisions import SCHEDULING_EVENT_BUILDERS, EpisodeContext, scheduling_event
from devhost.instance import Instance
from devhost.shim import HTTP_ACTIVITY_NAME, SCHEDULING_EVENT_OF_KIND, Decision, UnsupportedActionError
from durable_wire import EventType

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
INSTANCE = Instance("order-1", "approve", "", "exec-1", None, None, NOW, NOW)
CONTEXT = EpisodeContext(INSTANCE, NOW, default_version="2.0")

ACTIONS: dict[str, dict[str, Any]] = {
    "activity": {"actionType": 0, "functionName": "charge", "input": '{"amount":3}'},
    "http": {"actionType": 8, "httpRequest": {"method": "GET", "uri": "http://example.test/"}},
    "sub_orchestration": {"actionType": 2, "functionName": "child", "input": {"n": 1}},
    "timer": {"actionType": 5, "fireAt": "2026-03-01T10:00:00Z"},
    "entity_call": {"actionType": 7, "instanceId": "@counter@k", "operation": "add", "input": 2},
    "entity_signal": {"actionType": 9, "instanceId": "@counter@k", "operation": "reset"},
}


def decision(kind: str, event_id: int = 4) -> Decision:
    fire_at = "2026-03-01T10:00:00.0000000Z" if kind == "timer" else None
    return Decision(event_id, kind, ACTIONS[kind], fire_at)


def test_every_kind_the_replay_produces_has_a_builder() -> None:
    assert set(SCHEDULING_EVENT_BUILDERS) == set(SCHEDULING_EVENT_OF_KIND)


@pytest.mark.parametrize("kind", sorted(SCHEDULING_EVENT_OF_KIND))
def test_each_builder_records_its_kinds_scheduling_event_under_the_decisions_id(kind: str) -> None:
    event = scheduling_event(decision(kind), CONTEXT)
    assert event["EventType"] == SCHEDULING_EVENT_OF_KIND[kind]
    assert event["EventId"] == 4
    assert event["Timestamp"] == "2026-03-01T09:30:00.0000000Z"


def test_activity_and_http_are_task_scheduled_with_the_input_wrapped_in_a_list() -> None:
    activity = scheduling_event(decision("activity"), CONTEXT)
    assert (activity["Name"], json.loads(activity["Input"])) == ("charge", ['{"amount":3}'])
    http = scheduling_event(decision("http"), CONTEXT)
    assert http["Name"] == HTTP_ACTIVITY_NAME
    assert json.loads(json.loads(http["Input"])[0]) == {"method": "GET", "uri": "http://example.test/"}


def test_timer_fires_at_the_decisions_time() -> None:
    assert scheduling_event(decision("timer"), CONTEXT)["FireAt"] == "2026-03-01T10:00:00.0000000Z"


def test_sub_orchestration_gets_a_derived_id_and_the_default_version_when_none_is_given() -> None:
    event = scheduling_event(decision("sub_orchestration"), CONTEXT)
    assert event["InstanceId"] == "exec-1:4"
    assert event["Version"] == "2.0"
    assert event["Input"] == '{"n":1}'
    named = Decision(
        5, "sub_orchestration", {**ACTIONS["sub_orchestration"], "instanceId": "kid", "version": ""}
    )
    event = scheduling_event(named, CONTEXT)
    assert (event["InstanceId"], event["Version"]) == ("kid", "")
    blank = Decision(6, "sub_orchestration", {**ACTIONS["sub_orchestration"], "instanceId": "  "})
    assert scheduling_event(blank, CONTEXT)["InstanceId"] == "exec-1:6"


def test_entity_call_and_signal_send_the_request_the_entity_receives() -> None:
    call = scheduling_event(decision("entity_call"), CONTEXT)
    assert (call["EventType"], call["InstanceId"], call["Name"]) == (EventType.EVENT_SENT, "@counter@k", "op")
    request = json.loads(call["Input"])
    assert request["op"] == "add" and request["input"] == "2" and "signal" not in request
    assert (request["parent"], request["parentExecution"]) == ("order-1", "exec-1")
    signal = json.loads(scheduling_event(decision("entity_signal"), CONTEXT)["Input"])
    assert signal["signal"] is True and signal["input"] is None
    assert signal["id"] != request["id"]


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(UnsupportedActionError):
        scheduling_event(Decision(0, "teleport", {}), CONTEXT)
