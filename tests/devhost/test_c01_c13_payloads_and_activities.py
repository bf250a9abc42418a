"""Conformance items 1-13 (spec §15): trigger payload, history envelope, activities and failures."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest

from durable_wire import EventType
from tests.devhost.conformance_a import (
    one,
    parse_time,
    position,
    run_completed,
    wait_completed,
)
from tests.support.durable_http import DurableApi
from tests.support.wire import devhost_only, raw_history, trace

REQUIRED_PAYLOAD_KEYS = {
    "history",
    "input",
    "instanceId",
    "isReplaying",
    "parentInstanceId",
    "upperSchemaVersion",
    "upperSchemaVersionNew",
    "longRunningTimerIntervalDuration",
    "maximumShortTimerDuration",
}


@pytest.fixture(scope="module")
def hello_id(base_url: str) -> str:
    """A completed hello sequence (3 episodes), started by raw HTTP without a body."""
    api = DurableApi(base_url)
    instance_id = api.start_id("hello_sequence")
    wait_completed(api, instance_id)
    return instance_id


@pytest.fixture(scope="module")
def continued_id(base_url: str) -> str:
    """A completed a_continue run: three executions of two episodes each."""
    api = DurableApi(base_url)
    instance_id = api.start_id("a_continue", {"n": 0})
    wait_completed(api, instance_id)
    return instance_id


def _payloads(base_url: str, instance_id: str) -> list[dict[str, Any]]:
    payloads = [entry["payload"] for entry in trace(base_url, instance_id)]
    assert payloads, "no trigger payload was traced"
    return payloads


def _last_started(history: list[dict[str, Any]]) -> int:
    return max(i for i, e in enumerate(history) if e["EventType"] == EventType.ORCHESTRATOR_STARTED)


@devhost_only
def test_c01_trigger_payload_has_every_required_key(base_url: str, hello_id: str) -> None:
    payloads = _payloads(base_url, hello_id)
    assert len(payloads) == 3  # one episode per activity completion, plus the first
    for payload in payloads:
        assert set(payload) >= REQUIRED_PAYLOAD_KEYS, sorted(REQUIRED_PAYLOAD_KEYS - set(payload))
        assert isinstance(payload["history"], list)
        assert payload["input"] is None  # started with an empty body
        assert payload["instanceId"] == hello_id
        assert isinstance(payload["isReplaying"], bool)
        assert payload["isReplaying"] == payload["history"][1]["IsPlayed"]  # ExecutionStarted.IsPlayed
        assert payload["parentInstanceId"] is None
        assert payload["upperSchemaVersion"] == 1
        assert payload["upperSchemaVersionNew"] == 2
        assert payload["longRunningTimerIntervalDuration"] == "3.00:00:00"
        assert payload["maximumShortTimerDuration"] == "6.00:00:00"
    assert [p["isReplaying"] for p in payloads] == [False, True, True]


@devhost_only
def test_c02_every_history_event_has_the_typed_envelope(base_url: str, hello_id: str) -> None:
    histories = [p["history"] for p in _payloads(base_url, hello_id)]
    histories.append(raw_history(base_url, hello_id))
    for history in histories:
        for event in history:
            assert type(event["EventType"]) is int, event
            assert type(event["EventId"]) is int, event
            assert type(event["IsPlayed"]) is bool, event
            assert isinstance(event["Timestamp"], str) and event["Timestamp"].endswith("Z"), event
            assert parse_time(event["Timestamp"]).utcoffset() is not None


@devhost_only
def test_c03_history_starts_with_orchestrator_started_then_execution_started(
    base_url: str, hello_id: str, continued_id: str
) -> None:
    executions: set[str] = set()
    for instance_id in (hello_id, continued_id):
        for payload in _payloads(base_url, instance_id):
            history = payload["history"]
            assert history[0]["EventType"] == EventType.ORCHESTRATOR_STARTED, history[:2]
            assert history[1]["EventType"] == EventType.EXECUTION_STARTED, history[:2]
            executions.add(history[1]["OrchestrationInstance"]["ExecutionId"])
    assert len(executions) == 4  # the hello run and the three executions of the continued run


@devhost_only
def test_c04_every_episode_begins_with_a_new_non_decreasing_orchestrator_started(
    base_url: str, hello_id: str
) -> None:
    payloads = _payloads(base_url, hello_id)
    for earlier, later in pairwise(payloads):
        before, after = earlier["history"], later["history"]
        strip = [{k: v for k, v in e.items() if k != "IsPlayed"} for e in before]
        assert [{k: v for k, v in e.items() if k != "IsPlayed"} for e in after[: len(before)]] == strip
        started_before = [e for e in before if e["EventType"] == EventType.ORCHESTRATOR_STARTED]
        started_after = [e for e in after if e["EventType"] == EventType.ORCHESTRATOR_STARTED]
        assert len(started_after) == len(started_before) + 1
        newest = after[_last_started(after)]
        assert _last_started(after) >= len(before)
        for older in started_before:
            assert parse_time(newest["Timestamp"]) >= parse_time(older["Timestamp"])


@devhost_only
def test_c05_events_of_the_current_episode_are_not_played(base_url: str, hello_id: str) -> None:
    for payload in _payloads(base_url, hello_id):
        history = payload["history"]
        current = history[_last_started(history) :]
        assert len(current) >= 2  # OrchestratorStarted + at least one new message
        assert all(event["IsPlayed"] is False for event in current), current


@devhost_only
def test_c06_first_activity_is_scheduled_with_id_0_and_completed_for_id_0(
    base_url: str, hello_id: str
) -> None:
    history = raw_history(base_url, hello_id)
    scheduled = [e for e in history if e["EventType"] == EventType.TASK_SCHEDULED]
    assert scheduled[0]["EventId"] == 0
    assert scheduled[0]["Name"] == "say_hello"
    completed = one(history, EventType.TASK_COMPLETED, TaskScheduledId=0)
    assert json.loads(completed["Result"]) == "Hello Tokyo"
    assert position(history, scheduled[0]) < position(history, completed)


@devhost_only
def test_c07_task_scheduled_input_wraps_the_action_input_text(base_url: str, hello_id: str) -> None:
    history = raw_history(base_url, hello_id)
    scheduled = one(history, EventType.TASK_SCHEDULED, EventId=0)
    assert scheduled["Input"] == '["\\"Tokyo\\""]'
    assert json.loads(scheduled["Input"]) == ['"Tokyo"']


def test_c08_activity_receives_the_decoded_value(api: DurableApi) -> None:
    status = wait_completed(api, api.start_id("a_describe_inputs"))
    assert status["output"] == [
        {"type": "str", "value": "Tokyo"},
        {"type": "dict", "value": {"a": 1}},
        {"type": "list", "value": [1, "two"]},
        {"type": "int", "value": 5},
        {"type": "float", "value": 2.5},
        {"type": "bool", "value": True},
        {"type": "NoneType", "value": None},
    ]


@devhost_only
def test_c09_activity_dict_result_is_recorded_as_json_text(api: DurableApi) -> None:
    run = run_completed(api, "a_dict_result")
    completed = one(run.history, EventType.TASK_COMPLETED, TaskScheduledId=0)
    assert isinstance(completed["Result"], str)
    assert json.loads(completed["Result"]) == {"a": 1}
    assert run.output == {"result": {"a": 1}}


@devhost_only
def test_c10_activity_none_result_is_null_and_reaches_the_orchestrator_as_none(api: DurableApi) -> None:
    run = run_completed(api, "a_none_result")
    completed = one(run.history, EventType.TASK_COMPLETED, TaskScheduledId=0)
    assert "Result" in completed
    assert completed["Result"] is None
    assert run.output == {"isNone": True, "repr": "None"}


@devhost_only
def test_c11_activity_exception_gives_the_exact_task_failed_reason(api: DurableApi) -> None:
    run = run_completed(api, "a_catch_activity_failure")
    failed = one(run.history, EventType.TASK_FAILED, TaskScheduledId=0)
    assert failed["Reason"] == "Activity function 'a_raise_value_error' failed:  ValueError: x"


def test_c12_orchestrator_catching_an_activity_failure_sees_name_and_error(api: DurableApi) -> None:
    status = wait_completed(api, api.start_id("a_catch_activity_failure"))
    caught = status["output"]["caught"]
    assert isinstance(caught, str)
    assert "Activity function 'a_raise_value_error' failed:" in caught
    assert "ValueError: x" in caught


def test_c13_uncaught_orchestrator_exception_fails_the_instance(api: DurableApi) -> None:
    instance_id = api.start_id("a_boom")
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Failed", status
    assert status["output"] == "Orchestrator function 'a_boom' failed: boom"
