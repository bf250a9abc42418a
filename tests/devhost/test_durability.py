"""Crash recovery, virtual clock and deliver-twice: the devhost's durability guarantees.

- kill -9 in the middle of orchestrations loses no event, timer or result, and the activity that
  was interrupted runs again (at-least-once, as on Azure);
- a 10-day durable timer completes in milliseconds under --virtual-clock;
- --deliver-activities-twice runs every activity twice with the same input.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from azure.storage.blob import BlobServiceClient

from durable_wire import EventType
from tests.support.durable_http import DurableApi
from tests.support.wire import advance_clock, devhost_only, raw_history
from tools.harness import Azurite, HostProcess
from tools.harness.polling import wait_until

APP = Path(__file__).parent / "apps" / "durability"


def run_counts(run_log: Path) -> Counter[str]:
    return Counter(line.strip() for line in run_log.read_text().splitlines() if line.strip())


def step_completed(base_url: str, instance_id: str, task_id: int) -> bool:
    """The instance's committed history holds the result of the task scheduled as `task_id`."""
    return any(
        e["EventType"] == EventType.TASK_COMPLETED and e.get("TaskScheduledId") == task_id
        for e in raw_history(base_url, instance_id)
    )


@pytest.fixture
def run_log(tmp_path: Path) -> Path:
    path = tmp_path / "runs.log"
    path.touch()
    return path


def test_kill_9_mid_chain_resumes_and_reruns_the_interrupted_activity(
    start_host: Callable[..., HostProcess], run_log: Path
) -> None:
    host = start_host(APP, env={"DURABILITY_RUN_LOG": str(run_log)})
    api = DurableApi(host.base_url)
    instance_id = api.start_id("slow_chain", {"steps": 4, "seconds": 0.6})
    # Crash while step 1 is running: step 0's result is durable, step 1 is in flight. Step 1 starts
    # while the episode that records step 0's result is still being written (early dispatch), so
    # wait for that write too: a kill before it lands re-runs step 0, as at-least-once allows.
    wait_until(lambda: "slow_step 1" in run_counts(run_log), 20, "step 1 to start")
    wait_until(lambda: step_completed(host.base_url, instance_id, 0), 20, "step 0's result to be written")
    host.kill()
    host.start()

    status = api.wait(instance_id, timeout=30)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == [f"step {i} done" for i in range(4)]
    counts = run_counts(run_log)
    assert counts["slow_step 0"] == 1, "a completed activity must not run again"
    assert counts["slow_step 1"] == 2, "the interrupted activity runs again after the crash"
    assert counts["slow_step 2"] == 1 and counts["slow_step 3"] == 1
    completed = [e for e in status["historyEvents"] if e["EventType"] == "TaskCompleted"]
    assert len(completed) == 4, "each step's result is recorded exactly once"


def test_kill_9_keeps_timers_and_accepted_events(
    start_host: Callable[..., HostProcess], run_log: Path
) -> None:
    host = start_host(APP, env={"DURABILITY_RUN_LOG": str(run_log)})
    api = DurableApi(host.base_url)
    instance_id = api.start_id("timer_then_event", {"seconds": 2})
    api.wait(instance_id, statuses={"Running"})
    # The event is accepted (202) while the timer is pending, then the host dies at once.
    accepted = api.raise_event(instance_id, "Proceed", {"by": "tester"})
    assert accepted.status_code == 202
    host.kill()
    host.start()

    status = api.wait(instance_id, timeout=30)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["proceed"] == {"by": "tester"}
    assert status["output"]["firedAt"] >= status["output"]["due"], "a timer never fires before its time"


def test_kill_9_during_fan_out_loses_no_result(start_host: Callable[..., HostProcess], run_log: Path) -> None:
    host = start_host(APP, env={"DURABILITY_RUN_LOG": str(run_log)})
    api = DurableApi(host.base_url)
    instance_ids = [api.start_id("fan_out_counted", {"count": 50}) for _ in range(4)]
    wait_until(lambda: sum(run_counts(run_log).values()) >= 40, 30, "some activities to run")
    host.kill()
    host.start()
    for instance_id in instance_ids:
        status = api.wait(instance_id, timeout=60)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == [i * 10 for i in range(50)]


def test_virtual_clock_runs_a_ten_day_timer_in_milliseconds(start_host: Callable[..., HostProcess]) -> None:
    host = start_host(APP, virtual_clock=True)
    api = DurableApi(host.base_url)
    instance_id = api.start_id("timer_then_event", {"seconds": 10 * 24 * 3600})
    api.wait(instance_id, statuses={"Running"})
    started = time.monotonic()

    # Day by day: the SDK splits the 10 days into 3-day timers; none of them ends the wait early.
    for day in range(1, 11):
        advance_clock(host.base_url, 24 * 3600)
        if day < 10:
            time.sleep(0.1)
            assert api.status(instance_id).json()["runtimeStatus"] == "Running"
            assert not any(e["EventType"] == "EventRaised" for e in api.history(instance_id))
    wait_until(
        lambda: sum(e["EventType"] == "TimerFired" for e in api.history(instance_id)) >= 3,
        10,
        "the final timer to fire",
    )
    api.raise_event(instance_id, "Proceed", "go")
    status = api.wait(instance_id, timeout=10)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["firedAt"] >= status["output"]["due"]
    fired = [e["FireAt"] for e in status["historyEvents"] if e["EventType"] == "TimerFired"]
    # The SDK splits it into 3-day steps until the rest fits in 6 days: day 3, day 6, then day 10.
    assert len(fired) == 3, fired
    assert fired[-1][:19] == status["output"]["due"][:19]
    assert time.monotonic() - started < 10


def test_advancing_a_real_clock_is_refused(start_host: Callable[..., HostProcess]) -> None:
    host = start_host(APP)
    response = requests.post(f"{host.base_url}/admin/clock/advance", json={"seconds": 5}, timeout=10)
    assert response.status_code == 409
    bad = start_host(APP, virtual_clock=True)
    response = requests.post(f"{bad.base_url}/admin/clock/advance", json={"seconds": "soon"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["field"] == "seconds"


def test_deliver_twice_runs_every_activity_twice_with_the_same_input(
    start_host: Callable[..., HostProcess], run_log: Path
) -> None:
    host = start_host(APP, deliver_twice=True, env={"DURABILITY_RUN_LOG": str(run_log)})
    api = DurableApi(host.base_url)
    instance_id = api.start_id("fan_out_counted", {"count": 5})
    status = api.wait(instance_id)
    assert status["output"] == [0, 10, 20, 30, 40]
    assert run_counts(run_log) == Counter({f"counted_step {i}": 2 for i in range(5)})


@devhost_only
def test_custom_status_survives_a_crash_before_the_document_write(
    start_host: Callable[..., HostProcess], azurite: Azurite
) -> None:
    """The episode's log record carries the custom status: a lost document write loses nothing."""
    host = start_host(APP)
    api = DurableApi(host.base_url)
    instance_id = api.start_id("status_then_wait", {})
    # History in memory grows only after the episode's append returned: then the record is in the log.
    wait_until(lambda: len(raw_history(host.base_url, instance_id)) > 0, 20, "the first episode's write")
    host.kill()
    # Simulate the crash window: the episode reached the log, its document write did not.
    container = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(
        f"dh-{host.extra['hub'].lower()}"
    )
    document_blob = container.get_blob_client(f"instances/{instance_id}")
    document = json.loads(document_blob.download_blob().readall())
    document["customStatus"] = None
    document_blob.upload_blob(json.dumps(document), overwrite=True, metadata={"runtimestatus": "Running"})
    host.start()

    assert api.status(instance_id).json()["customStatus"] == {"stage": "waiting", "step": 1}
    assert api.raise_event(instance_id, "Proceed", "go").status_code == 202
    status = api.wait(instance_id)
    assert status["customStatus"] == {"stage": "done", "step": 2}
    assert status["output"] == "go"
