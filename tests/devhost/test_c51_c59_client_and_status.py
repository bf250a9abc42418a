"""Conformance items 51-59 (spec §15): the durableClient binding and Python client, status details,
orchestration context values, durable names and entity errors."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.devhost.conformance_a import started_running
from tests.devhost.conformance_b_support import (
    client_call,
    completed,
    parse_history_time,
    unique,
    wait_for,
)
from tests.support.durable_http import WEBHOOK, DurableApi
from tests.support.wire import devhost_only, raw_history

MANAGEMENT_URL_KEYS = {
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "rewindPostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
}


def test_c51_client_binding_has_rpc_base_url_and_placeholder_management_urls(
    api: DurableApi, base_url: str
) -> None:
    response = requests.get(f"{base_url}/api/b/client-binding", timeout=30)
    assert response.status_code == 200, response.text
    wrapper = response.json()
    assert wrapper["type"] == "str", "the binding value is injected as a JSON string"
    binding = json.loads(wrapper["value"])
    for key in (
        "taskHubName",
        "creationUrls",
        "managementUrls",
        "baseUrl",
        "requiredQueryStringParameters",
        "rpcBaseUrl",
    ):
        assert key in binding, key

    rpc = binding["rpcBaseUrl"]
    assert isinstance(rpc, str) and rpc.endswith("/"), rpc
    # the SDK concatenates rpcBaseUrl + "instances/...": that must reach the management API
    assert requests.get(f"{rpc}instances/{unique('c51-unknown')}", timeout=30).status_code == 404
    started = requests.post(f"{rpc}orchestrators/b_echo", json={"via": "rpc"}, timeout=30)
    assert started.status_code == 202, started.text
    assert api.wait(started.json()["id"])["output"] == {"via": "rpc"}

    urls = binding["managementUrls"]
    placeholder = urls["id"]
    assert isinstance(placeholder, str) and placeholder
    assert set(urls) == {"id", *MANAGEMENT_URL_KEYS}, set(urls)
    for key in MANAGEMENT_URL_KEYS:
        assert placeholder in urls[key], (key, urls[key])
        assert urlsplit(urls[key]).path.startswith(f"{WEBHOOK}/instances/{placeholder}"), urls[key]


def _check_status_response(response: requests.Response, origin: str) -> str:
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"id", *MANAGEMENT_URL_KEYS}, set(body)
    instance_id = str(body["id"])
    for key in MANAGEMENT_URL_KEYS:
        parts = urlsplit(body[key])
        assert f"{parts.scheme}://{parts.netloc}" == origin, (key, body[key])
        assert instance_id in body[key], (key, body[key])
    assert response.headers["Location"] == body["statusQueryGetUri"]
    assert response.headers["Retry-After"] == "10"
    return instance_id


def test_c52_check_status_response_uses_the_request_origin(api: DurableApi, base_url: str) -> None:
    port = urlsplit(base_url).port
    localhost = f"http://localhost:{port}"
    instance_id = _check_status_response(
        requests.post(f"{localhost}/api/start/hello_sequence", timeout=30), localhost
    )
    assert api.wait(instance_id)["runtimeStatus"] == "Completed"

    # Another Host than the URL's (as behind a proxy): a loopback one, as the devhost accepts only
    # those (DNS rebinding protection, devhost/local_guard.py).
    origin = "http://127.0.0.2:8443"
    instance_id = _check_status_response(
        requests.post(f"{base_url}/api/start/hello_sequence", headers={"Host": "127.0.0.2:8443"}, timeout=30),
        origin,
    )
    assert api.wait(instance_id)["runtimeStatus"] == "Completed"


def test_c53_custom_status_round_trip_and_16kb_limit(api: DurableApi) -> None:
    instance_id = started_running(api, "b_custom_status")
    deadline = time.monotonic() + 10
    while api.status(instance_id).json()["customStatus"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.status(instance_id).json()["customStatus"] == {"step": 2}
    assert api.raise_event(instance_id, "Go", {}).status_code == 202
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["customStatus"] == {"step": 2}

    # §12.3: len(compact text as UTF-16) // 1024 <= 16 is accepted ("x" * 8600 -> 17204 bytes -> 16),
    # beyond that the orchestration fails. The input (a length) goes through the Python client.
    ok = requests.post(f"{api.base_url}/api/start/b_big_custom_status", data="8600", timeout=30)
    assert ok.status_code == 202, ok.text
    ok_status = api.wait(ok.json()["id"])
    assert ok_status["runtimeStatus"] == "Completed", ok_status["output"]
    assert ok_status["customStatus"] == "x" * 8600

    too_big = requests.post(f"{api.base_url}/api/start/b_big_custom_status", data="9000", timeout=30)
    assert too_big.status_code == 202, too_big.text
    failed = api.wait(too_big.json()["id"])
    assert failed["runtimeStatus"] == "Failed", failed["output"]
    assert str(failed["output"]).startswith("Orchestrator function 'b_big_custom_status' failed:")


@devhost_only
def test_c54_current_utc_datetime_is_the_delivering_episode_start(api: DurableApi, base_url: str) -> None:
    instance_id = api.start_id("b_clock")
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status["output"]
    observed = [parse_history_time(text) for text in status["output"]]

    history = raw_history(base_url, instance_id)
    assert history[0]["EventType"] == 12
    expected = [parse_history_time(history[0]["Timestamp"])]
    for task_id in (0, 1):
        position = next(
            i for i, e in enumerate(history) if e["EventType"] == 5 and e.get("TaskScheduledId") == task_id
        )
        episode_start = next(e for e in reversed(history[:position]) if e["EventType"] == 12)
        expected.append(parse_history_time(episode_start["Timestamp"]))
    assert observed == expected
    # after_first was computed while replaying (final episode), after_second from the new event
    assert observed[0] <= observed[1] <= observed[2]


def test_c55_new_uuid_is_stable_across_replays(api: DurableApi) -> None:
    first_instance = api.start_id("b_uuids")
    second_instance = api.start_id("b_uuids")
    outputs: list[dict[str, Any]] = []
    for instance_id in (first_instance, second_instance):
        status = api.wait(instance_id)
        assert status["runtimeStatus"] == "Completed", status["output"]
        outputs.append(status["output"])
    for output in outputs:
        # 'first' was generated in episode 1 (sent to the activity) and again while replaying
        assert output["first"] == output["echoed"]
        assert output["first"] != output["second"]
        for value in (output["first"], output["second"]):
            assert str(uuid.UUID(value)) == value
    assert outputs[0]["first"] != outputs[1]["first"]


def test_c56_no_events_are_delivered_after_completion(api: DurableApi) -> None:
    instance_id = api.start_id("b_late_events")
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == "fast"
    completed_at = status["lastUpdatedTime"]
    time.sleep(3)  # the 1.5 s activity and the 1.5 s timer finish in the meantime
    after = api.status(instance_id, showHistory="true", showHistoryOutput="true").json()
    assert after["runtimeStatus"] == "Completed"
    assert after["output"] == "fast"
    assert after["lastUpdatedTime"] == completed_at
    types = [event["EventType"] for event in after["historyEvents"]]
    assert types[-1] == "ExecutionCompleted", types
    assert "TimerFired" not in types, types
    assert types.count("TaskCompleted") == 1, types


def test_c57_functions_are_known_by_their_durable_names(api: DurableApi) -> None:
    response = api.start("BHelloCities")
    assert response.status_code == 202, response.text
    instance_id = response.json()["id"]
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status["output"]
    assert status["name"] == "BHelloCities"
    assert status["output"] == ["Greetings Tokyo", "Greetings Paris", 2]
    events = status["historyEvents"]
    assert events[0]["EventType"] == "ExecutionStarted"
    assert events[0]["FunctionName"] == "BHelloCities"
    assert [e["FunctionName"] for e in events if e["EventType"] == "TaskCompleted"] == ["BGreet", "BGreet"]

    entity = requests.get(f"{api.webhook}/entities/BCounter/{instance_id}", timeout=30)
    assert entity.status_code == 200
    assert entity.json() == 2

    by_function_name = api.start("b_hello_cities")
    assert by_function_name.status_code == 400, by_function_name.text
    assert "b_hello_cities" in by_function_name.json()["ExceptionMessage"]


def test_c58_python_client_error_texts(api: DurableApi, base_url: str) -> None:
    finished = completed(api, "b_echo", {"c": 58})
    unknown = unique("c58-unknown")

    def error(operation: str, **args: Any) -> Any:
        return client_call(base_url, operation, **args).get("error")

    assert error("raise_event", instanceId=finished, name="E", data=1) == (
        f"Instance with ID {finished} is gone: either completed or failed"
    )
    assert (
        error("raise_event", instanceId=unknown, name="E", data=1) == f"No instance with ID {unknown} found."
    )
    for operation in ("terminate", "suspend", "resume"):
        assert error(operation, instanceId=unknown) == f"No instance with ID '{unknown}' found.", operation

    running = started_running(api, "b_wait_event")
    try:
        assert (
            error("resume", instanceId=running) == "The operation failed with an unexpected status code 500"
        )
        assert client_call(base_url, "suspend", instanceId=running) == {"result": None}
        wait_for(api, running, {"Suspended"})
        assert (
            error("suspend", instanceId=running) == "The operation failed with an unexpected status code 500"
        )
        assert client_call(base_url, "resume", instanceId=running) == {"result": None}
        wait_for(api, running, {"Running"})
    finally:
        api.post(running, "terminate", reason="cleanup")

    terminated = started_running(api, "b_wait_event")
    assert client_call(base_url, "terminate", instanceId=terminated, reason="c58") == {"result": None}
    assert wait_for(api, terminated, {"Terminated"})["output"] == "c58"
    for instance_id, status in ((finished, "Completed"), (terminated, "Terminated")):
        for operation in ("terminate", "suspend", "resume"):
            result = client_call(base_url, operation, instanceId=instance_id)
            assert result == {"result": None}, (status, operation, result)
        assert api.status(instance_id).json()["runtimeStatus"] == status


def test_c59_entity_error_text_reaches_orchestrator_unchanged(api: DurableApi) -> None:
    caught = api.wait(api.start_id("b_catch_entity_error"))
    assert caught["runtimeStatus"] == "Completed", caught["output"]
    assert caught["output"]["text"] == "a\r\nb"

    uncaught = api.wait(api.start_id("b_uncaught_entity_error"))
    assert uncaught["runtimeStatus"] == "Failed"
    output = uncaught["output"]
    assert isinstance(output, str)
    assert output.startswith("Orchestrator function 'b_uncaught_entity_error' failed: a\r\nb"), output
    assert "OverflowError" not in output
