"""Conformance items 22-35 (spec §15): external events, sub-orchestrations, continue-as-new,
entities, and the start route of the HTTP API."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from durable_wire import EventType
from tests.devhost.conformance_a import (
    client_call,
    eventually,
    of_type,
    one,
    position,
    run_completed,
    started_running,
    unique_id,
    wait_completed,
)
from tests.support.durable_http import WEBHOOK, DurableApi
from tests.support.wire import devhost_only, raw_history, trace

START_BODY_KEYS = {
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
}


def _entity_url(base_url: str, name: str, key: str) -> str:
    return f"{base_url}{WEBHOOK}/entities/{name}/{key}"


def _signal_raw(base_url: str, name: str, key: str, operation: str) -> None:
    """Signal an operation without input over raw HTTP."""
    response = requests.post(_entity_url(base_url, name, key), params={"op": operation}, timeout=30)
    assert response.status_code == 202, response.text


@devhost_only
def test_c22_wait_for_external_event_completes_on_event_raised_also_when_raised_early(
    api: DurableApi, base_url: str
) -> None:
    waiting = started_running(api, "a_wait_e")
    assert api.raise_event(waiting, "E", {"ok": True}).status_code == 202
    status = wait_completed(api, waiting)
    assert status["output"] == {"type": "dict", "value": {"ok": True}}
    raised = one(raw_history(base_url, waiting), EventType.EVENT_RAISED, Name="E")
    assert json.loads(raised["Input"]) == {"ok": True}

    # Raised while the orchestrator still runs an activity, before it waits for "E".
    early = api.start_id("a_wait_e", {"sleep": 1.0})
    assert api.raise_event(early, "E", "early").status_code == 202
    status = wait_completed(api, early)
    assert status["output"] == {"type": "str", "value": "early"}
    history = raw_history(base_url, early)
    raised = one(history, EventType.EVENT_RAISED, Name="E")
    assert position(history, raised) < position(
        history, one(history, EventType.TASK_COMPLETED, TaskScheduledId=0)
    )


def test_c23_python_client_raise_event_delivers_a_json_string(api: DurableApi, base_url: str) -> None:
    instance_id = started_running(api, "a_wait_e")
    answer = client_call(base_url, "raise_event", instanceId=instance_id, name="E", data={"ok": True})
    assert answer == {"result": None}
    status = wait_completed(api, instance_id)
    assert status["output"] == {"type": "str", "value": '{"ok": true}'}


def test_c24_raise_event_status_codes(api: DurableApi) -> None:
    assert api.raise_event(unique_id("c24-unknown"), "E", 1).status_code == 404

    running = started_running(api, "a_wait_e")
    url = f"{api.webhook}/instances/{running}/raiseEvent/E"
    as_text = requests.post(url, data="1", headers={"Content-Type": "text/plain"}, timeout=30)
    assert as_text.status_code == 400, as_text.text
    assert api.raise_event(running, "E", 1).status_code == 202
    assert api.wait(running)["runtimeStatus"] == "Completed"
    assert api.raise_event(running, "E", 1).status_code == 410

    failed = api.start_id("a_boom")
    assert api.wait(failed)["runtimeStatus"] == "Failed"
    assert api.raise_event(failed, "E", 1).status_code == 410

    terminated = started_running(api, "a_wait_e")
    assert api.post(terminated, "terminate", reason="c24").status_code == 202
    assert api.wait(terminated)["runtimeStatus"] == "Terminated"
    assert api.raise_event(terminated, "E", 1).status_code == 410


@devhost_only
def test_c25_sub_orchestration_id_payload_and_output(api: DurableApi, base_url: str) -> None:
    parent = run_completed(api, "a_parent")
    parent_id, history = parent.instance_id, parent.history
    execution_id = one(history, EventType.EXECUTION_STARTED)["OrchestrationInstance"]["ExecutionId"]
    assert re.fullmatch(r"[0-9a-f]{32}", execution_id), execution_id
    created = one(history, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)
    assert created["EventId"] == 0
    child_id = f"{execution_id}:0"
    assert created["InstanceId"] == child_id
    assert one(history, EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED)["TaskScheduledId"] == 0

    child_status = api.status(child_id)
    assert child_status.status_code == 200, child_status.text
    child_output = {"greeting": "Hello Oslo", "parent": parent_id, "me": child_id}
    assert child_status.json()["output"] == child_output
    child_payloads = [entry["payload"] for entry in trace(base_url, child_id)]
    assert child_payloads and all(p["parentInstanceId"] == parent_id for p in child_payloads)
    assert parent.output == {"child": child_output}


@devhost_only
def test_c26_failing_sub_orchestration_raises_in_the_parent(api: DurableApi) -> None:
    parent = run_completed(api, "a_parent_of_failing")
    caught = parent.output["caught"]
    assert "Orchestrator function 'a_failing_child' failed:" in caught
    assert "child boom" in caught
    failed = one(parent.history, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED)
    assert failed["TaskScheduledId"] == 0


@devhost_only
def test_c27_continue_as_new_restarts_with_new_input_execution_and_fresh_history(
    api: DurableApi, base_url: str
) -> None:
    run = run_completed(api, "a_continue", {"n": 0})
    assert run.output == {"n": 2, "executionInput": {"n": 2}}
    first_payloads: dict[str, dict[str, Any]] = {}
    for entry in trace(base_url, run.instance_id):
        payload = entry["payload"]
        execution = payload["history"][1]["OrchestrationInstance"]["ExecutionId"]
        first_payloads.setdefault(execution, payload)
    assert len(first_payloads) == 3  # n = 0, 1, 2
    for n, payload in enumerate(first_payloads.values()):
        assert payload["instanceId"] == run.instance_id
        assert [e["EventType"] for e in payload["history"]] == [
            EventType.ORCHESTRATOR_STARTED,
            EventType.EXECUTION_STARTED,
        ]
        value = payload["input"] if n == 0 else json.loads(payload["input"])
        assert value == {"n": n}
    assert run.history[1]["OrchestrationInstance"]["ExecutionId"] == list(first_payloads)[-1]


@devhost_only
def test_c28_orchestrator_signal_appends_event_sent_and_consumes_one_id(
    api: DurableApi, base_url: str
) -> None:
    run = run_completed(api, "a_signal_then_activity")
    instance_id, history = run.instance_id, run.history
    sent = one(history, EventType.EVENT_SENT)
    assert sent["EventId"] == 0
    assert sent["Name"] == "op"
    assert sent["InstanceId"] == f"@a_counter@{instance_id}"
    request = json.loads(sent["Input"])
    assert request["op"] == "add" and request["signal"] is True
    assert one(history, EventType.TASK_SCHEDULED)["EventId"] == 1
    assert not of_type(history, EventType.EVENT_RAISED)  # signals get no reply

    def state() -> Any:
        response = requests.get(_entity_url(base_url, "a_counter", instance_id), timeout=30)
        return response.status_code == 200 and response.json() == 1

    eventually(state, what="the signalled entity to hold 1")


@devhost_only
def test_c29_call_entity_completes_on_the_reply_and_raises_on_exception_type(api: DurableApi) -> None:
    run = run_completed(api, "a_call_counter")
    assert run.output == {"total": 5, "caught": "bad op"}
    history = run.history
    replies = []
    for sequence_id in (0, 1):
        sent = one(history, EventType.EVENT_SENT, EventId=sequence_id)
        request_id = json.loads(sent["Input"])["id"]
        reply = one(history, EventType.EVENT_RAISED, Name=request_id)
        assert position(history, sent) < position(history, reply)
        replies.append(json.loads(reply["Input"]))
    assert set(replies[0]) == {"result"}
    assert json.loads(replies[0]["result"]) == 5
    assert "exceptionType" in replies[1]
    assert json.loads(replies[1]["result"]) == "bad op"


def test_c31_entity_destructed_on_exit_is_deleted(base_url: str) -> None:
    key = unique_id("c31")
    url = _entity_url(base_url, "a_counter", key)
    assert client_call(base_url, "signal_entity", entity="a_Counter", key=key, op="add", input=3) == {
        "result": None
    }

    def has_state() -> Any:
        response = requests.get(url, timeout=30)
        return response.status_code == 200 and response.json() == 3

    eventually(has_state, what="the entity to hold 3")
    assert client_call(base_url, "signal_entity", entity="a_Counter", key=key, op="delete") == {
        "result": None
    }
    eventually(lambda: requests.get(url, timeout=30).status_code == 404, what="GET entity -> 404")
    assert requests.get(url, timeout=30).text == ""
    read = client_call(base_url, "read_entity_state", entity="a_Counter", key=key)
    assert read == {"result": {"exists": False, "state": None}}


def test_c32_entity_operations_run_one_at_a_time_in_arrival_order(base_url: str) -> None:
    key = unique_id("c32")
    for value in range(10):  # each accepted (202) before the next is sent: a defined arrival order
        _signal_raw(base_url, "a_Sequencer", key, f"append-{value}")
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda v: _signal_raw(base_url, "a_Sequencer", key, f"append-{v}"), range(100, 106)))
    url = _entity_url(base_url, "a_sequencer", key)

    def state() -> dict[str, Any] | None:
        response = requests.get(url, timeout=30)
        body: dict[str, Any] | None = response.json() if response.status_code == 200 else None
        return body if body and len(body["items"]) >= 16 else None

    final = eventually(state, what="16 applied operations")
    assert final["items"][:10] == list(range(10))
    assert sorted(final["items"][10:]) == list(range(100, 106))
    assert final["maxActive"] == 1


def test_c33_start_returns_202_with_location_retry_after_and_the_eight_urls(
    api: DurableApi, base_url: str
) -> None:
    response = api.start("hello_sequence")
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == START_BODY_KEYS
    assert response.headers["Location"] == body["statusQueryGetUri"]
    assert response.headers["Retry-After"] == "10"
    instance_id = body["id"]
    for key in START_BODY_KEYS - {"id"}:
        assert body[key].startswith(f"{base_url}{WEBHOOK}/instances/{instance_id}"), (key, body[key])
    assert requests.get(body["statusQueryGetUri"], timeout=30).json()["instanceId"] == instance_id
    assert api.wait(instance_id)["runtimeStatus"] == "Completed"


def test_c34_starting_an_unknown_orchestrator_is_400_naming_it(api: DurableApi) -> None:
    response = api.start("a_no_such_orchestrator")
    assert response.status_code == 400, response.text
    message = response.json()["ExceptionMessage"]
    assert message.startswith("The function 'a_no_such_orchestrator' doesn't exist"), message


def test_c35_start_with_an_existing_id_refuses_active_and_replaces_finished(api: DurableApi) -> None:
    def execution_starts(instance_id: str) -> list[dict[str, Any]]:
        events = api.history(instance_id)
        return [e for e in events if e["EventType"] == "ExecutionStarted"]

    # Pending or Running (started twice back to back), then certainly Running.
    active = unique_id("c35-active")
    assert api.start("a_wait_e", instance_id=active).status_code == 202
    again = api.start("a_wait_e", instance_id=active)
    assert again.status_code == 500, again.text
    api.wait(active, statuses={"Running"})
    again = api.start("hello_sequence", instance_id=active)
    assert again.status_code == 500, again.text
    assert "already exists" in again.json()["ExceptionMessage"]

    assert api.post(active, "suspend", reason="c35").status_code == 202
    api.wait(active, statuses={"Suspended"})
    again = api.start("hello_sequence", instance_id=active)
    assert again.status_code == 500, again.text

    assert api.post(active, "terminate", reason="c35").status_code == 202
    assert api.wait(active)["runtimeStatus"] == "Terminated"
    completed = unique_id("c35-completed")
    assert api.start("hello_sequence", instance_id=completed).status_code == 202
    assert api.wait(completed)["runtimeStatus"] == "Completed"
    failed = unique_id("c35-failed")
    assert api.start("a_boom", instance_id=failed).status_code == 202
    assert api.wait(failed)["runtimeStatus"] == "Failed"

    for instance_id in (active, completed, failed):
        replaced = api.start("a_describe_inputs", instance_id=instance_id)
        assert replaced.status_code == 202, (instance_id, replaced.text)
        status = api.wait(instance_id)
        assert status["name"] == "a_describe_inputs", status
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"][0] == {"type": "str", "value": "Tokyo"}
        events = api.history(instance_id)
        assert len(execution_starts(instance_id)) == 1, events  # history reset
        assert not [e for e in events if e["EventType"] == "ExecutionTerminated"]
