"""Conformance items 14-21 (spec §15): sequence ids, host-side retries, task_all holding, timers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests

from durable_wire import EventType
from tests.devhost.conformance_a import (
    CompletedRun,
    episode_of,
    eventually,
    flatten_actions,
    id_trail,
    of_type,
    one,
    parse_time,
    position,
    run_completed,
    start_via_client,
    started_running,
    wait_completed,
)
from tests.support.durable_http import DurableApi
from tests.support.wire import advance_clock, devhost_only, raw_history, trace
from tools.harness import HostProcess

RETRY_INTERVAL = timedelta(milliseconds=1000)
# Short names for the id trails below.
TS, TC, TF, TMC, TMF = (
    EventType.TASK_SCHEDULED,
    EventType.TASK_COMPLETED,
    EventType.TASK_FAILED,
    EventType.TIMER_CREATED,
    EventType.TIMER_FIRED,
)


@pytest.fixture(scope="module")
def retried_then_ok(base_url: str) -> CompletedRun:
    """a_flaky fails twice, then succeeds on attempt 3 of 3 (1000 ms apart)."""
    return run_completed(DurableApi(base_url), "a_retry", {"fail": 2, "attempts": 3})


def _episode_start(history: list[dict[str, Any]], event: dict[str, Any]) -> Any:
    return parse_time(episode_of(history, event)[0]["Timestamp"])


def _input_value(scheduled: dict[str, Any]) -> Any:
    """The decoded action input of a TaskScheduled (its Input is `[<input text>]`)."""
    return json.loads(json.loads(scheduled["Input"])[0])


@devhost_only
def test_c14_task_all_schedules_consecutive_ids_in_list_order(base_url: str, api: DurableApi) -> None:
    instance_id = start_via_client(base_url, "fan_out_fan_in", 4)
    status = wait_completed(api, instance_id)
    assert status["output"] == ["Hello 0", "Hello 1", "Hello 2", "Hello 3"]
    history = raw_history(base_url, instance_id)
    scheduled = of_type(history, EventType.TASK_SCHEDULED)
    assert [e["EventId"] for e in scheduled] == [0, 1, 2, 3]
    assert [_input_value(e) for e in scheduled] == ["0", "1", "2", "3"]
    assert len({id(episode_of(history, e)[0]) for e in scheduled}) == 1  # all in one episode


@devhost_only
def test_c15_retry_ids_alternate_attempts_and_timers(retried_then_ok: CompletedRun) -> None:
    assert retried_then_ok.output == {"result": "ok on attempt 3"}
    history = retried_then_ok.history
    assert id_trail(history) == [
        (TS, 0), (TF, 0), (TMC, 1), (TMF, 1),
        (TS, 2), (TF, 2), (TMC, 3), (TMF, 3),
        (TS, 4), (TC, 4),
    ]  # fmt: skip
    assert all(e["Name"] == "a_flaky" for e in of_type(history, EventType.TASK_SCHEDULED))


@devhost_only
def test_c16_retry_timer_fires_no_earlier_than_the_interval(retried_then_ok: CompletedRun) -> None:
    history = retried_then_ok.history
    for timer_id, failed_id, next_attempt in ((1, 0, 2), (3, 2, 4)):
        failed = one(history, EventType.TASK_FAILED, TaskScheduledId=failed_id)
        created = one(history, EventType.TIMER_CREATED, EventId=timer_id)
        fired = one(history, EventType.TIMER_FIRED, TimerId=timer_id)
        attempt = one(history, EventType.TASK_SCHEDULED, EventId=next_attempt)
        failure_episode_start = _episode_start(history, failed)
        assert episode_of(history, created) == episode_of(history, failed)
        fire_at = parse_time(created["FireAt"])
        assert fire_at - failure_episode_start == RETRY_INTERVAL
        assert parse_time(fired["FireAt"]) == fire_at
        assert parse_time(fired["Timestamp"]) >= fire_at
        assert _episode_start(history, fired) >= fire_at
        assert _episode_start(history, attempt) >= failure_episode_start + RETRY_INTERVAL


@devhost_only
def test_c17_final_failure_goes_through_an_immediate_timer_and_carries_the_last_reason(
    api: DurableApi,
) -> None:
    run = run_completed(api, "a_retry", {"fail": 99, "attempts": 2})
    history = run.history
    assert id_trail(history) == [(TS, 0), (TF, 0), (TMC, 1), (TMF, 1), (TS, 2), (TF, 2), (TMC, 3), (TMF, 3)]
    last_failure = one(history, EventType.TASK_FAILED, TaskScheduledId=2)
    assert "ValueError: attempt 2" in last_failure["Reason"]
    extra_timer = one(history, EventType.TIMER_CREATED, EventId=3)
    assert episode_of(history, extra_timer) == episode_of(history, last_failure)
    delay = parse_time(extra_timer["FireAt"]) - _episode_start(history, last_failure)
    assert timedelta(0) <= delay <= timedelta(milliseconds=1), delay
    # The exception is delivered only after that timer fired: the orchestration ends later.
    fired = one(history, EventType.TIMER_FIRED, TimerId=3)
    completed = one(history, EventType.EXECUTION_COMPLETED)
    assert position(history, fired) < position(history, completed)
    assert episode_of(history, completed) == episode_of(history, fired)
    error = run.output["error"]
    assert last_failure["Reason"] in error
    assert "Activity function 'a_flaky' failed:" in error
    assert "ValueError: attempt 2" in error
    assert "attempt 1" not in error


@devhost_only
def test_c18_ids_after_a_batched_retryable_failure_follow_history_order(
    base_url: str, api: DurableApi
) -> None:
    instance_id = started_running(api, "a_retry_race")
    # Hold both completions back (suspension, spec §8.5) so they reach one episode together.
    assert api.post(instance_id, "suspend", reason="batch").status_code == 202
    api.wait(instance_id, statuses={"Suspended"})
    # Both activities wait for this gate; a_flaky then fails at once, the plain one after 0.3 s.
    assert requests.post(f"{base_url}/api/a/gate/{instance_id}", timeout=30).status_code == 200
    time.sleep(1.0)
    assert api.post(instance_id, "resume", reason="batch").status_code == 202
    status = wait_completed(api, instance_id)
    assert status["output"] == ["after", "ok on attempt 2"]

    history = raw_history(base_url, instance_id)
    failure = one(history, EventType.TASK_FAILED, TaskScheduledId=0)
    quick = one(history, EventType.TASK_COMPLETED, TaskScheduledId=1)
    resumed = one(history, EventType.EXECUTION_RESUMED)
    batch = episode_of(history, resumed)
    assert episode_of(history, failure) == batch and episode_of(history, quick) == batch, (
        "test setup: both completions should have been delivered in the resume episode"
    )
    retry_timer = one(history, EventType.TIMER_CREATED)
    after = next(
        e for e in of_type(history, EventType.TASK_SCHEDULED) if _input_value(e) == {"value": "after"}
    )
    if position(history, failure) < position(history, quick):
        assert (retry_timer["EventId"], after["EventId"]) == (2, 3)
    else:
        assert (after["EventId"], retry_timer["EventId"]) == (2, 3)
    assert one(history, EventType.TASK_SCHEDULED, EventId=4)["Name"] == "a_flaky"


@devhost_only
def test_c19_action_after_a_caught_task_all_failure_waits_for_every_child(
    base_url: str, api: DurableApi
) -> None:
    run = run_completed(api, "a_all_then_after")
    assert run.output == "after"
    history = run.history
    failed = one(history, EventType.TASK_FAILED, TaskScheduledId=0)
    slow_done = one(history, EventType.TASK_COMPLETED, TaskScheduledId=1)
    after = one(history, EventType.TASK_SCHEDULED, EventId=2)
    assert _input_value(after) == {"value": "after"}
    assert position(history, failed) < position(history, slow_done) < position(history, after)
    assert episode_of(history, failed) != episode_of(history, after)
    # The SDK did ask for it in the failure episode: the host held it back.
    asked_early = [
        entry
        for entry in trace(base_url, run.instance_id)
        if any(e["EventType"] == EventType.TASK_FAILED for e in entry["payload"]["history"])
        and not any(e["EventType"] == EventType.TASK_COMPLETED for e in entry["payload"]["history"])
    ]
    assert asked_early, "no episode saw the failure before the slow child completed"
    actions = list(flatten_actions((asked_early[0]["response"] or {}).get("actions")))
    assert any(a.get("input") == json.dumps({"value": "after"}) for a in actions), actions


@devhost_only
def test_c20_timer_created_fire_at_equals_the_action_and_fires_with_its_id(
    base_url: str, api: DurableApi
) -> None:
    run = run_completed(api, "a_timer", {"seconds": 1})
    first_response = trace(base_url, run.instance_id)[0]["response"]
    timers = [a for a in flatten_actions(first_response["actions"]) if a["actionType"] == 5]
    assert len(timers) == 1, first_response
    requested = parse_time(timers[0]["fireAt"])
    assert requested == parse_time(run.output)
    history = run.history
    created = one(history, EventType.TIMER_CREATED)
    assert created["EventId"] == 0
    assert parse_time(created["FireAt"]) == requested
    fired = one(history, EventType.TIMER_FIRED)
    assert fired["TimerId"] == created["EventId"]
    assert parse_time(fired["FireAt"]) == requested
    assert parse_time(fired["Timestamp"]) >= requested
    assert position(history, created) < position(history, fired)


@devhost_only
def test_c21_ten_day_timer_runs_as_the_sdk_steps_and_resumes_after_the_last(
    start_host: Callable[..., HostProcess],
) -> None:
    host = start_host(virtual_clock=True)
    api = DurableApi(host.base_url)
    instance_id = started_running(api, "a_timer", {"seconds": 10 * 86400})

    def timers(count: int) -> list[dict[str, Any]]:
        def probe() -> list[dict[str, Any]] | None:
            found = of_type(raw_history(host.base_url, instance_id), EventType.TIMER_CREATED)
            return found if len(found) >= count else None

        return eventually(probe, what=f"{count} TimerCreated events")

    first = timers(1)
    history = raw_history(host.base_url, instance_id)
    start = parse_time(history[0]["Timestamp"])
    final = start + timedelta(days=10)
    assert first[0]["EventId"] == 0
    assert parse_time(first[0]["FireAt"]) == start + timedelta(days=3)

    for step, expected_id in ((1, 1), (2, 2)):
        advance_clock(host.base_url, 3 * 86400 + 1)
        timers(step + 1)
        history = raw_history(host.base_url, instance_id)
        created = of_type(history, EventType.TIMER_CREATED)
        assert len(created) == step + 1
        newest = created[-1]
        assert newest["EventId"] == expected_id
        fired = one(history, EventType.TIMER_FIRED, TimerId=expected_id - 1)
        episode_start = parse_time(episode_of(history, newest)[0]["Timestamp"])
        assert episode_of(history, newest) == episode_of(history, fired)
        expected = final if final - episode_start <= timedelta(days=6) else episode_start + timedelta(days=3)
        assert parse_time(newest["FireAt"]) == expected
        assert parse_time(newest["FireAt"]) - episode_start <= timedelta(days=6)
        assert not of_type(history, EventType.EXECUTION_COMPLETED)
        assert api.status(instance_id).json()["runtimeStatus"] == "Running"
    assert parse_time(created[-1]["FireAt"]) == final  # the third step is the final time

    advance_clock(host.base_url, 4 * 86400)
    status = wait_completed(api, instance_id)
    assert parse_time(status["output"]) == final
    history = raw_history(host.base_url, instance_id)
    assert [e["EventId"] for e in of_type(history, EventType.TIMER_CREATED)] == [0, 1, 2]
    assert [e["TimerId"] for e in of_type(history, EventType.TIMER_FIRED)] == [0, 1, 2]
    completed = one(history, EventType.EXECUTION_COMPLETED)
    assert episode_of(history, completed) == episode_of(
        history, one(history, EventType.TIMER_FIRED, TimerId=2)
    )
