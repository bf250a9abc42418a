"""Conformance items 60-70 (spec §15): host behaviour around the protocol — threads, module state,
timers, purge rules, AnyState, large payloads, disabled functions, readiness, replay flags,
sys.path and non-generator orchestrators."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from tests.devhost.conformance_a import started_running
from tests.devhost.conformance_b_support import (
    client_call,
    parse_status_time,
    start_via_client,
    unique,
    wait_for,
)
from tests.support.durable_http import DurableApi
from tests.support.wire import clock_now
from tools.harness import Azurite, HostProcess, make_host

APPS = Path(__file__).parent / "apps"


def _dotnet_round_trip(moment: datetime) -> str:
    """`2026-11-30T09:47:00.1234567Z`, the form the e2e suite sends (7 fractional digits)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def test_c60_blocking_activity_delays_neither_timers_nor_http_nor_activities(
    api: DurableApi, base_url: str
) -> None:
    started = time.monotonic()
    short = start_via_client(base_url, "b_timeout_race", 2)
    long = start_via_client(base_url, "b_timeout_race", 10)
    time.sleep(0.5)  # both 5 s activities are sleeping now

    # HTTP requests are served while the activities block
    before = time.monotonic()
    assert api.status(short).status_code == 202
    assert time.monotonic() - before < 1.0

    # other activities run meanwhile
    other = api.start_id("hello_sequence")
    assert api.wait(other, timeout=10)["runtimeStatus"] == "Completed"
    assert time.monotonic() - started < 4.0, "hello_sequence waited for the sleeping activities"

    # the 2 s timer wins over the 5 s activity, and resolves before the activity ends
    short_status = api.wait(short, timeout=30)
    short_elapsed = time.monotonic() - started
    assert short_status["runtimeStatus"] == "Completed", short_status["output"]
    assert short_status["output"] == "timer"
    assert 2.0 <= short_elapsed < 4.8, short_elapsed

    # against a 10 s timer the activity wins
    long_status = api.wait(long, timeout=30)
    long_elapsed = time.monotonic() - started
    assert long_status["output"] == "activity"
    assert 5.0 <= long_elapsed < 9.5, long_elapsed


def test_c61_module_state_survives_between_invocations(api: DurableApi) -> None:
    instance_id = api.start_id("b_retry_once")
    status = api.wait(instance_id, timeout=40)
    assert status["runtimeStatus"] == "Completed", status["output"]
    assert status["output"] == "Success"
    events = status["historyEvents"]
    assert [e["EventType"] for e in events if e["EventType"] in ("TaskFailed", "TaskCompleted")] == [
        "TaskFailed",
        "TaskCompleted",
    ]


def test_c62_timer_ten_seconds_ahead_and_timer_in_the_past(api: DurableApi, base_url: str) -> None:
    # Times come from the host's clock, the one its timers follow (under faketime every process
    # starts its own fake clock, so this process's clock may differ from the host's).
    fire_at = clock_now(base_url) + timedelta(seconds=10)
    future = start_via_client(base_url, "b_scheduled_start", _dotnet_round_trip(fire_at))
    past_started = time.monotonic()
    past = start_via_client(
        base_url, "b_scheduled_start", _dotnet_round_trip(clock_now(base_url) - timedelta(seconds=5))
    )
    past_status = api.wait(past, timeout=10)
    assert past_status["runtimeStatus"] == "Completed", past_status["output"]
    assert past_status["output"] == "Scheduled"
    assert time.monotonic() - past_started < 5.0

    time.sleep(2)
    assert api.status(future).json()["runtimeStatus"] == "Running"
    deadline = time.monotonic() + 40
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = api.status(future).json()
        if status["runtimeStatus"] != "Running":
            break
        time.sleep(0.1)
    seen_done = clock_now(base_url)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == "Scheduled"
    assert seen_done >= fire_at - timedelta(seconds=2), (seen_done, fire_at)
    assert parse_status_time(status["lastUpdatedTime"]) >= (fire_at - timedelta(seconds=2)).replace(
        microsecond=0
    )


def test_c63_purge_refuses_running_orchestrations_but_not_entities(api: DurableApi) -> None:
    running = started_running(api, "b_wait_event")
    suspended = started_running(api, "b_wait_event")
    assert api.post(suspended, "suspend", reason="c63").status_code == 202
    wait_for(api, suspended, {"Suspended"})
    try:
        for instance_id, expected in ((running, "Running"), (suspended, "Suspended")):
            response = requests.delete(f"{api.webhook}/instances/{instance_id}", timeout=30)
            assert response.status_code not in (200, 404), (expected, response.status_code)
            assert response.status_code == 500, (expected, response.status_code, response.text)
            error = response.json()
            assert error["Message"] == "Something went wrong while processing your request", error
            assert error["ExceptionType"] == "System.InvalidOperationException", error
            assert error["ExceptionMessage"] == (
                "Only orchestrations in a terminal state can be purged, but the orchestration with "
                f"instance ID {instance_id} has status {expected}"
            ), error
            assert api.status(instance_id).json()["runtimeStatus"] == expected
    finally:
        for instance_id in (running, suspended):
            api.post(instance_id, "terminate", reason="cleanup")

    key = unique("c63")
    # body = the JSON string token "3", exactly what the Python client's signal_entity(..., 3) sends (§10.3)
    signal = requests.post(
        f"{api.webhook}/entities/b_counter/{key}", params={"op": "add"}, json="3", timeout=30
    )
    assert signal.status_code == 202
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = requests.get(f"{api.webhook}/entities/b_counter/{key}", timeout=30)
        if state.status_code == 200:
            break
        time.sleep(0.05)
    assert state.status_code == 200 and state.json() == 3
    response = requests.delete(f"{api.webhook}/instances/{quote(f'@b_counter@{key}', safe='')}", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {"instancesDeleted": 1}
    assert requests.get(f"{api.webhook}/entities/b_counter/{key}", timeout=30).status_code == 404


def test_c64_any_state_allows_restarting_every_instance(start_host: Callable[..., HostProcess]) -> None:
    host = start_host(APPS / "b_any_state")
    api = DurableApi(host.base_url)

    def restart(name: str, instance_id: str) -> None:
        response = api.start(name, {"run": 2}, instance_id)
        assert response.status_code == 202, (name, response.status_code, response.text)
        assert response.json()["id"] == instance_id

    def running_with_second_input(instance_id: str) -> None:
        deadline = time.monotonic() + 15
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = api.status(instance_id).json()
            if status["runtimeStatus"] == "Running" and status["input"] == {"run": 2}:
                break
            time.sleep(0.05)
        assert status["runtimeStatus"] == "Running" and status["input"] == {"run": 2}, status
        assert api.raise_event(instance_id, "Go", "ok").status_code == 202
        done = api.wait(instance_id)
        assert done["runtimeStatus"] == "Completed", done
        assert done["output"] == {"input": {"run": 2}, "event": "ok"}

    running = started_running(api, "any_wait", {"run": 1}, unique("c64-running"))
    restart("any_wait", running)
    running_with_second_input(running)

    suspended = started_running(api, "any_wait", {"run": 1}, unique("c64-suspended"))
    assert api.post(suspended, "suspend", reason="c64").status_code == 202
    wait_for(api, suspended, {"Suspended"})
    restart("any_wait", suspended)
    running_with_second_input(suspended)

    terminated = started_running(api, "any_wait", {"run": 1}, unique("c64-terminated"))
    assert api.post(terminated, "terminate", reason="c64").status_code == 202
    wait_for(api, terminated, {"Terminated"})
    restart("any_wait", terminated)
    running_with_second_input(terminated)

    completed_id = api.start_id("any_echo", {"run": 1}, unique("c64-completed"))
    assert api.wait(completed_id)["output"] == {"run": 1}
    restart("any_echo", completed_id)
    again = wait_for(api, completed_id, {"Completed", "Failed"}, timeout=15)
    deadline = time.monotonic() + 15
    while again["output"] != {"run": 2} and time.monotonic() < deadline:
        time.sleep(0.05)
        again = api.status(completed_id).json()
    assert again["runtimeStatus"] == "Completed" and again["output"] == {"run": 2}, again

    failed_id = api.start_id("any_fail", {"run": 1}, unique("c64-failed"))
    assert api.wait(failed_id)["output"] == "Orchestrator function 'any_fail' failed: boom 1"
    restart("any_fail", failed_id)
    deadline = time.monotonic() + 15
    again = api.status(failed_id).json()
    while (
        again["output"] != "Orchestrator function 'any_fail' failed: boom 2" and time.monotonic() < deadline
    ):
        time.sleep(0.05)
        again = api.status(failed_id).json()
    assert again["runtimeStatus"] == "Failed", again
    assert again["output"] == "Orchestrator function 'any_fail' failed: boom 2"


def test_c65_large_output_comes_back_intact(api: DurableApi, base_url: str) -> None:
    expected_big = "A" * (4608 * 1024)
    instance_id = api.start_id("b_large_output")
    deadline = time.monotonic() + 30
    while api.status(instance_id).json()["runtimeStatus"] != "Completed":
        assert time.monotonic() < deadline, "b_large_output did not complete in 30 s"
        time.sleep(0.2)
    status = api.status(instance_id).json()
    assert status["output"][0] == "Hello Tokyo!"
    assert len(status["output"][1]) == 4_718_592
    assert status["output"][1] == expected_big

    through_client = client_call(base_url, "get_status", instanceId=instance_id)
    assert "error" not in through_client, through_client.get("error")
    assert through_client["result"]["runtimeStatus"] == "Completed"
    assert through_client["result"]["output"] == ["Hello Tokyo!", expected_big]


def test_c66_disabled_functions_fail_their_callers_and_never_run(
    start_host: Callable[..., HostProcess], tmp_path: Path
) -> None:
    host = start_host(
        env={
            "AzureWebJobs.b_disabled_activity.Disabled": "true",
            "AzureWebJobs.b_disabled_entity.Disabled": "true",
            "AzureWebJobs.b_disabled_orchestrator.Disabled": "true",
        }
    )
    api = DurableApi(host.base_url)
    activity_marker = tmp_path / "activity-ran"
    entity_marker = tmp_path / "entity-ran"
    started = time.monotonic()
    calls_activity = api.start_id("b_call_disabled_activity", {"marker": str(activity_marker)})
    calls_entity = api.start_id("b_call_disabled_entity", {"marker": str(entity_marker)})

    activity_status = api.wait(calls_activity, timeout=30)
    assert activity_status["runtimeStatus"] == "Failed", activity_status
    assert "b_disabled_activity" in str(activity_status["output"])
    entity_status = api.wait(calls_entity, timeout=30)
    assert entity_status["runtimeStatus"] == "Failed", entity_status
    assert time.monotonic() - started < 30

    disabled_id = unique("c66-disabled")
    response = api.start("b_disabled_orchestrator", {"x": 1}, disabled_id)
    assert response.status_code == 400, response.text
    assert api.status(disabled_id).status_code == 404

    hello = api.start_id("hello_sequence")
    assert api.wait(hello)["output"] == ["Hello Tokyo", "Hello Paris"]
    time.sleep(0.5)
    assert not activity_marker.exists(), "the disabled activity ran"
    assert not entity_marker.exists(), "the disabled entity ran"


def test_c67_host_status_is_running_only_once_functions_and_durable_api_answer(azurite: Azurite) -> None:
    host = make_host(APPS / "b_slow_start", azurite)
    observations: list[tuple[float, str]] = []
    # start() returns once the host says Running; meanwhile this test watches the status from outside.
    with ThreadPoolExecutor(max_workers=1) as starter:
        launched = time.monotonic()
        starting = starter.submit(host.start)
        try:
            deadline = launched + 60
            ready_at: float | None = None
            while time.monotonic() < deadline and ready_at is None:
                if starting.done():
                    starting.result()  # the host did not start: its error and log tail
                try:
                    response = requests.get(f"{host.base_url}/admin/host/status", timeout=2)
                    body = response.json() if response.status_code == 200 else {}
                    state = f"{response.status_code}:{body.get('state')}"
                except requests.ConnectionError:
                    state = "refused"
                observations.append((time.monotonic() - launched, state))
                if state == "200:Running":
                    ready_at = time.monotonic()
                else:
                    time.sleep(0.05)
            assert ready_at is not None, observations[-5:]
            starting.result(timeout=10)

            # at the moment it says Running, functions are indexed and the durable API answers
            api = DurableApi(host.base_url)
            start = api.start("slow_hello")
            assert start.status_code == 202, start.text
            assert requests.get(f"{host.base_url}/api/ping", timeout=10).text == "pong"
            assert api.wait(start.json()["id"])["output"] == "Hello Oslo"

            # before that it was not Running: the app's 3 s import was still under way
            not_ready = [state for _, state in observations if state != "200:Running"]
            assert not_ready, observations
            assert ready_at - launched >= 3.0, observations
        finally:
            with contextlib.suppress(Exception):
                host.stop()


def test_c68_is_replaying_flags_in_the_completing_episode(api: DurableApi) -> None:
    for name in ("b_replay_flags_chain", "b_replay_flags_fan_in"):
        status = api.wait(api.start_id(name))
        assert status["runtimeStatus"] == "Completed", (name, status["output"])
        # final episode: replaying at the start and after the replayed first completion,
        # no longer replaying after the last yield (also when it is a task_all)
        assert status["output"] == [True, True, False], name


def test_c69_sibling_modules_and_custom_classes(api: DurableApi) -> None:
    status = api.wait(api.start_id("b_custom_class"))
    assert status["runtimeStatus"] == "Completed", status["output"]
    assert status["output"] == {
        "class": "BPoint",
        "module": "part_b",
        "isBPoint": True,
        "sum": 3,
        "movedClass": "BPoint",
        "moved": [2, 3],
    }
    scheduled = next(e for e in status["historyEvents"] if e["EventType"] == "TaskCompleted")
    assert "__class__" in scheduled["Input"] and "BPoint" in scheduled["Input"]
    assert "__module__" in scheduled["Input"] and "part_b" in scheduled["Input"]


def test_c70_non_generator_orchestrator_completes_in_first_episode(api: DurableApi) -> None:
    status = api.wait(api.start_id("b_non_generator"))
    assert status["runtimeStatus"] == "Completed", status["output"]
    assert status["output"] == "Orchestrator Finished!"
    assert [e["EventType"] for e in status["historyEvents"]] == ["ExecutionStarted", "ExecutionCompleted"]
