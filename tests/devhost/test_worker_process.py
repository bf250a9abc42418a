"""User code runs in language-worker processes, separate from the host, and survives their crashes.

FUNCTIONS_WORKER_PROCESS_COUNT and PYTHON_THREADPOOL_THREAD_COUNT are honoured as the Functions
host and the Python worker do. A worker killed with -9, ending with os._exit or a segfault is
restarted and its in-flight invocation runs again; no instance is lost.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from devhost.testing import DevHost

WORKER_APP = Path(__file__).parent / "apps" / "worker"


@pytest.fixture(scope="module")
def worker_host(devhost_session_factory: Callable[..., DevHost]) -> DevHost:
    return devhost_session_factory(WORKER_APP)


def attempts(folder: Path, name: str) -> list[int]:
    """The worker pids of each recorded attempt of activity `name`, in order."""
    files = sorted(folder.glob(f"{name}.*"), key=lambda p: int(p.name.split(".")[1]))
    return [int(p.name.split(".")[2]) for p in files]


def test_code_runs_in_one_worker_process_apart_from_the_host(worker_host: DevHost) -> None:
    workers = worker_host.worker_pids()
    assert len(workers) == 1, "one worker process by default"
    assert worker_host.process is not None
    assert workers[0] != worker_host.process.pid
    assert int(worker_host.get("/api/pid").text) == workers[0]
    first = worker_host.wait_for(worker_host.start_orchestration("where"), "Completed")["output"]
    second = worker_host.wait_for(worker_host.start_orchestration("where"), "Completed")["output"]
    assert first["activity"]["pid"] == workers[0]
    # module state lives as long as the worker process, as on Azure
    assert second["activity"]["calls"] == first["activity"]["calls"] + 1


def test_worker_killed_with_sigkill_is_restarted_and_the_activity_retried(
    worker_host: DevHost, tmp_path: Path
) -> None:
    restarts = worker_host.workers()["restarts"]
    instance_id = worker_host.start_orchestration(
        "survive", {"activity": "slow_step", "folder": str(tmp_path)}
    )
    worker_host.wait_until(lambda: len(attempts(tmp_path, "slow_step")) == 1, what="the first attempt")
    victim = attempts(tmp_path, "slow_step")[0]
    os.kill(victim, signal.SIGKILL)
    status = worker_host.wait_for(instance_id, "Completed", timeout=60)
    assert status["output"] == "done after 1 crash(es)"
    pids = attempts(tmp_path, "slow_step")
    assert len(pids) == 2 and pids[1] != victim
    assert worker_host.workers()["restarts"] == restarts + 1
    assert f"worker process {victim} was killed by SIGKILL" in worker_host.log_text()


@pytest.mark.parametrize(
    ("activity", "output", "how"),
    [
        ("exit_once", "survived os._exit", "exited with code 1"),
        ("segfault_once", "survived a segfault", "was killed by SIGSEGV"),
    ],
)
def test_worker_that_exits_or_segfaults_mid_activity_loses_nothing(
    worker_host: DevHost, tmp_path: Path, activity: str, output: str, how: str
) -> None:
    instance_id = worker_host.start_orchestration("survive", {"activity": activity, "folder": str(tmp_path)})
    assert worker_host.wait_for(instance_id, "Completed", timeout=60)["output"] == output
    first, second = attempts(tmp_path, activity)
    assert first != second
    assert f"worker process {first} {how}" in worker_host.log_text()


def test_worker_crash_during_a_replay_reruns_the_episode(worker_host: DevHost, tmp_path: Path) -> None:
    instance_id = worker_host.start_orchestration("replay_crash", {"folder": str(tmp_path)})
    assert worker_host.wait_for(instance_id, "Completed", timeout=60)["output"] is True
    first, second = attempts(tmp_path, "replay_crash")
    assert first != second, "the episode ran again in a new worker"


def test_http_function_whose_worker_dies_answers_500_and_the_host_carries_on(worker_host: DevHost) -> None:
    answer = worker_host.post("/api/crash")
    assert answer.status_code == 500 and answer.json()["workerCrashed"] is True, answer.text
    assert "was killed" in answer.json()["error"] or "exited" in answer.json()["error"], answer.text
    worker_host.wait_until(lambda: len(worker_host.worker_pids()) == 1, what="a new worker")
    assert worker_host.get("/api/pid").status_code == 200


def test_an_activity_that_always_kills_its_worker_fails_after_the_retries(
    devhost_factory: Callable[..., DevHost], tmp_path: Path
) -> None:
    host = devhost_factory(WORKER_APP)
    instance_id = host.start_orchestration("survive", {"activity": "always_exit", "folder": str(tmp_path)})
    status = host.wait_for(instance_id, "Failed", timeout=90)
    assert "exited with code 1 while running 'always_exit' (6 times)" in status["output"]
    assert len(attempts(tmp_path, "always_exit")) == 6


def test_worker_process_count_starts_that_many_workers_and_spreads_work(
    devhost_factory: Callable[..., DevHost],
) -> None:
    host = devhost_factory(WORKER_APP, settings={"FUNCTIONS_WORKER_PROCESS_COUNT": "2"})
    workers = host.worker_pids()
    assert len(set(workers)) == 2
    spans = host.wait_for(host.start_orchestration("overlap", {"count": 8}), "Completed")["output"]
    assert {pid for _, _, pid in spans} == set(workers)


def test_threadpool_thread_count_of_one_runs_sync_activities_one_at_a_time(
    devhost_factory: Callable[..., DevHost],
) -> None:
    host = devhost_factory(WORKER_APP, settings={"PYTHON_THREADPOOL_THREAD_COUNT": "1"})
    spans = sorted(host.wait_for(host.start_orchestration("overlap", {"count": 3}), "Completed")["output"])
    for (_, end, _), (start, _, _) in itertools.pairwise(spans):
        assert start >= end, "activities overlapped with one thread"


def test_default_threadpool_runs_sync_activities_side_by_side(worker_host: DevHost) -> None:
    spans = sorted(
        worker_host.wait_for(worker_host.start_orchestration("overlap", {"count": 3}), "Completed")["output"]
    )
    assert any(start < end for (_, end, _), (start, _, _) in itertools.pairwise(spans))


def test_bad_worker_process_count_is_refused_with_the_setting_named(tmp_path: Path) -> None:
    with pytest.raises(
        Exception, match="FUNCTIONS_WORKER_PROCESS_COUNT='0': use a whole number from 1 to 10"
    ):
        DevHost(
            WORKER_APP, settings={"FUNCTIONS_WORKER_PROCESS_COUNT": "0"}, log_path=tmp_path / "h.log"
        ).start(30)
