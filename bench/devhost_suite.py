"""The devhost workloads: one fresh devhost per repetition on a shared in-memory Azurite.

Timing is taken by this (client) process: wall time from just before the start request to the
first status poll that sees the instance Completed (polls every few milliseconds, without history).
Storage operations come from the host's own counter (`GET /admin/metrics`), read when the host is
idle before and after each workload.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from bench.stats import Metrics, percentile
from durable_wire import TERMINAL_STATUSES, UNSUCCESSFUL_STATUSES, EventType
from tools.harness import Azurite, HostProcess, make_host

APP_DIR = Path(__file__).resolve().parent / "apps" / "core"
WEBHOOK = "/runtime/webhooks/durabletask"
# Optional metrics the devhost may expose besides storageOperations: summed as deltas when present.
OPTIONAL_COUNTERS = ("orchestratorSeconds", "episodes", "activityRuns", "episodeSeconds")


class BenchError(RuntimeError):
    """A workload did not complete as it must (wrong status or output): its numbers would lie."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Client:
    """A small synchronous client of the host's management and admin routes (keep-alive session)."""

    base_url: str
    session: requests.Session = field(default_factory=requests.Session)
    # host, worker and azurite process ids: CPU seconds each spent on a workload go in its metrics
    pids: dict[str, list[int]] = field(default_factory=dict)

    def cpu(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in self.pids.items()}

    def start(self, name: str, body: Any, instance_id: str | None = None) -> str:
        url = f"{self.base_url}{WEBHOOK}/orchestrators/{name}"
        if instance_id:
            url += f"/{quote(instance_id, safe='')}"
        response = self.session.post(url, json=body, timeout=60)
        if response.status_code != 202:
            raise BenchError(f"start {name} answered {response.status_code}: {response.text[:300]}")
        return str(response.json()["id"])

    def status(self, instance_id: str) -> dict[str, Any]:
        response = self.session.get(
            f"{self.base_url}{WEBHOOK}/instances/{quote(instance_id, safe='')}",
            params={"showInput": "false"},
            timeout=60,
        )
        if response.status_code not in (200, 202):
            raise BenchError(f"status of {instance_id} answered {response.status_code}")
        body: dict[str, Any] = response.json()
        return body

    def wait(self, instance_id: str, timeout: float, interval: float = 0.005) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.status(instance_id)
            if body["runtimeStatus"] in TERMINAL_STATUSES:
                return body
            if time.monotonic() > deadline:
                raise BenchError(f"{instance_id} not finished after {timeout} s: {body['runtimeStatus']}")
            time.sleep(interval)

    def count_completed(self, prefix: str) -> tuple[int, int]:
        """(completed, failed) instances whose id starts with `prefix`."""
        response = self.session.get(
            f"{self.base_url}{WEBHOOK}/instances",
            params={"instanceIdPrefix": prefix, "showInput": "false", "top": "10000"},
            timeout=60,
        )
        bodies: list[dict[str, Any]] = response.json()
        completed = sum(1 for b in bodies if b["runtimeStatus"] == "Completed")
        failed = sum(1 for b in bodies if b["runtimeStatus"] in UNSUCCESSFUL_STATUSES)
        return completed, failed

    def completed_by(self, prefix: str, count: int, deadline: float, interval: float, what: str) -> int:
        """Poll until `count` instances with `prefix` completed or `deadline` (monotonic) passed; how
        many completed. BenchError as soon as one failed."""
        while True:
            completed, failed = self.count_completed(prefix)
            if failed:
                raise BenchError(f"{what}: {failed} orchestrations failed")
            if completed == count or time.monotonic() > deadline:
                return completed
            time.sleep(interval)

    def metrics(self) -> dict[str, Any]:
        body: dict[str, Any] = self.session.get(f"{self.base_url}/admin/metrics", timeout=60).json()
        if self.pids:
            body["cpu"] = self.cpu()
        return body

    def settled_metrics(self, quiet: float = 0.1, timeout: float = 10) -> dict[str, Any]:
        """Metrics once the storage counter stopped moving (trailing document writes included)."""
        deadline = time.monotonic() + timeout
        last = self.metrics()
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.metrics()
            if now.get("storageOperations") == last.get("storageOperations"):
                return now
            last = now
        return last

    def raw_history(self, instance_id: str) -> list[dict[str, Any]]:
        response = self.session.get(
            f"{self.base_url}/admin/instances/{quote(instance_id, safe='')}/raw-history", timeout=60
        )
        if response.status_code != 200:
            raise BenchError(f"raw-history of {instance_id} answered {response.status_code}")
        events: list[dict[str, Any]] = response.json()
        return events


@dataclass
class DevhostRun:
    """What one repetition measured, plus the raw histories the SDK-floor step replays."""

    metrics: dict[str, Metrics] = field(default_factory=dict)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@contextmanager
def running_host(azurite: Azurite, extra_args: list[str]) -> Iterator[HostProcess]:
    """A fresh devhost (its own task hub) serving the bench app; stopped afterwards."""
    host = make_host(APP_DIR, azurite)
    host.command.extend(extra_args)
    host.start()
    try:
        yield host
    finally:
        host.stop()


def _counter_deltas(before: dict[str, Any], after: dict[str, Any]) -> Metrics:
    deltas: Metrics = {}
    for name, value in after.get("cpu", {}).items():
        deltas[f"cpu.{name}"] = value - before["cpu"][name]
    for name in ("storageOperations", *OPTIONAL_COUNTERS):
        if isinstance(before.get(name), int | float) and isinstance(after.get(name), int | float):
            deltas[name] = float(after[name]) - float(before[name])
    return deltas


def _with_counters(result: Metrics, deltas: Metrics, activities: int) -> Metrics:
    result["storageOps"] = deltas["storageOperations"]
    result["storageOpsPerActivity"] = deltas["storageOperations"] / activities
    for name in OPTIONAL_COUNTERS:
        if name in deltas:
            result[f"host.{name}"] = deltas[name]
    for name, value in deltas.items():
        if name.startswith("cpu."):
            result[f"{name}Seconds"] = value
    return result


def _run_activities(
    client: Client, orchestrator: str, count: int, timeout: float, *, expected_output: int, label: str
) -> tuple[Metrics, list[dict[str, Any]]]:
    """One `orchestrator` instance over `count` activities: start → Completed wall time, storage ops
    per activity, and its raw history; BenchError unless it completed with `expected_output`."""
    before = client.settled_metrics()
    started = time.perf_counter()
    instance_id = client.start(orchestrator, {"n": count})
    body = client.wait(instance_id, timeout)
    wall = time.perf_counter() - started
    if body["runtimeStatus"] != "Completed" or body.get("output") != expected_output:
        raise BenchError(f"{label}: {body['runtimeStatus']} with output {body.get('output')!r}")
    deltas = _counter_deltas(before, client.settled_metrics())
    result: Metrics = {"wallSeconds": wall, "activitiesPerSecond": count / wall}
    return _with_counters(result, deltas, count), client.raw_history(instance_id)


def run_chain(client: Client, count: int, timeout: float) -> tuple[Metrics, list[dict[str, Any]]]:
    """Chain of `count` activities: start → Completed wall time, storage ops per activity."""
    return _run_activities(
        client, "bench_chain", count, timeout, expected_output=count, label=f"chain {count}"
    )


def run_fan_out(client: Client, count: int, timeout: float) -> tuple[Metrics, list[dict[str, Any]]]:
    """Fan-out/fan-in of `count` activities (their sum, 0 + ... + count-1): wall time, storage ops
    per activity."""
    return _run_activities(
        client,
        "bench_fan_out",
        count,
        timeout,
        expected_output=count * (count - 1) // 2,
        label=f"fan-out {count}",
    )


def run_burst(client: Client, orchestrations: int, steps: int, timeout: float) -> Metrics:
    """`orchestrations` chains of `steps` activities, all started at once: orchestrations/s."""
    prefix = f"burst-{time.time_ns()}-"
    before = client.settled_metrics()
    clients = [Client(client.base_url) for _ in range(8)]

    def start(index: int) -> str:
        return clients[index % len(clients)].start("bench_chain", {"n": steps}, f"{prefix}{index:04d}")

    started = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(start, range(orchestrations)))
    all_started = time.perf_counter()
    deadline = time.monotonic() + timeout
    completed = client.completed_by(prefix, orchestrations, deadline, 0.01, "burst")
    if completed != orchestrations:
        raise BenchError(f"burst: {completed}/{orchestrations} completed after {timeout} s")
    wall = time.perf_counter() - started
    deltas = _counter_deltas(before, client.settled_metrics())
    result: Metrics = {
        "wallSeconds": wall,
        "orchestrationsPerSecond": orchestrations / wall,
        "activitiesPerSecond": orchestrations * steps / wall,
        "startSeconds": all_started - started,
    }
    return _with_counters(result, deltas, orchestrations * steps)


def _history_time(text: str) -> float:
    """A history Timestamp (7 fractional digits and Z) as epoch seconds."""
    return datetime.fromisoformat(text).timestamp()


def run_latency(client: Client, samples: int, timeout: float) -> Metrics:
    """Activity scheduled → started on an idle host, one single-activity orchestration at a time.

    Scheduled: the TaskScheduled event's Timestamp in the raw history (the host writes the
    episode's start time there). Started: time.time() on the activity's first line, returned as
    its result. Both clocks are the devhost process's wall clock.
    """
    latencies: list[float] = []
    from_yield: list[float] = []
    before = client.settled_metrics()
    for _ in range(samples):
        time.sleep(0.05)  # let the host go idle (trailing writes of the previous sample)
        instance_id = client.start("bench_stamp", None)
        body = client.wait(instance_id, timeout, interval=0.02)
        output = body.get("output")
        if body["runtimeStatus"] != "Completed" or not isinstance(output, list) or len(output) != 2:
            raise BenchError(f"latency sample: {body['runtimeStatus']} with {output!r}")
        started_at, yielded_at = output
        scheduled = [e for e in client.raw_history(instance_id) if e["EventType"] == EventType.TASK_SCHEDULED]
        if len(scheduled) != 1:
            raise BenchError(f"latency sample: {len(scheduled)} TaskScheduled events")
        latencies.append(float(started_at) - _history_time(scheduled[0]["Timestamp"]))
        if yielded_at is not None:
            from_yield.append(float(started_at) - float(yielded_at))
    deltas = _counter_deltas(before, client.settled_metrics())
    result: Metrics = {
        "p50Seconds": percentile(latencies, 0.50),
        "p95Seconds": percentile(latencies, 0.95),
        "maxSeconds": max(latencies),
        "samples": float(len(latencies)),
        # As the peer measures it: the orchestrator yields the activity → the activity's first line.
        "p50FromYieldSeconds": percentile(from_yield, 0.50),
        "p95FromYieldSeconds": percentile(from_yield, 0.95),
        "storageOpsPerOrchestration": deltas["storageOperations"] / samples,
    }
    if deltas.get("episodes"):
        result["sdkSecondsPerEpisode"] = deltas.get("orchestratorSeconds", 0.0) / deltas["episodes"]
    return result


def _resident_kib(pid: int) -> float:
    """VmRSS of a process, in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1])
    raise BenchError(f"no VmRSS for process {pid}")


def run_memory(client: Client, host_pid: int, instances: int, timeout: float) -> Metrics:
    """Resident memory of the host (and its worker) across `instances` completed orchestrations.

    Single-activity orchestrations are started in batches of 500 from 8 client threads, each batch
    waited for until Completed; the host's RSS is sampled after every 1,000. The first 1,000 are
    the warm-up (imports, caches, pools): growth is the last sample against that one.
    """
    clients = [Client(client.base_url) for _ in range(8)]
    worker_pids = [
        int(w["pid"]) for w in client.session.get(f"{client.base_url}/admin/workers").json()["workers"]
    ]
    samples: list[float] = []
    worker_samples: list[float] = []
    batch = 500
    deadline = time.monotonic() + timeout
    started = time.perf_counter()
    for first in range(0, instances, batch):
        prefix = f"mem-{time.time_ns()}-"

        def start(index: int, prefix: str = prefix) -> str:
            return clients[index % len(clients)].start("bench_stamp", None, f"{prefix}{index:05d}")

        with ThreadPoolExecutor(len(clients)) as pool:
            list(pool.map(start, range(batch)))
        completed = client.completed_by(prefix, batch, deadline, 0.05, "memory")
        if completed != batch:
            raise BenchError(f"memory: {first + completed}/{instances} completed after {timeout} s")
        if (first + batch) % 1000 == 0:
            time.sleep(0.2)  # trailing document writes
            samples.append(_resident_kib(host_pid))
            worker_samples.append(sum(_resident_kib(pid) for pid in worker_pids))
    wall = time.perf_counter() - started
    result: Metrics = {
        "instances": float(instances),
        "wallSeconds": wall,
        "hostRssAfterWarmupMiB": samples[0] / 1024,
        "hostRssAtEndMiB": samples[-1] / 1024,
        "hostRssGrowth": samples[-1] / samples[0] - 1,
        "hostRssPeakGrowth": max(samples) / samples[0] - 1,
        "workerRssGrowth": worker_samples[-1] / worker_samples[0] - 1,
        "workerRssAtEndMiB": worker_samples[-1] / 1024,
    }
    return result


def run_devhost_repetition(
    azurite: Azurite, selected: set[str], *, extra_args: list[str], log: Callable[[str], None]
) -> DevhostRun:
    """One repetition of every selected devhost workload on a fresh host."""
    run = DevhostRun()
    with running_host(azurite, extra_args) as host:
        client = Client(host.base_url)
        run_chain(client, 3, 60)  # warm-up: imports, first blob container writes
        assert host.process is not None
        workers = client.session.get(f"{host.base_url}/admin/workers", timeout=60).json()["workers"]
        client.pids = {"host": [host.process.pid], "worker": [int(w["pid"]) for w in workers]}
        if azurite.process is not None:
            client.pids["azurite"] = [azurite.process.pid]
        if "chain_100" in selected:
            log("devhost chain 100")
            run.metrics["chain_100"], run.histories["chain_100"] = run_chain(client, 100, 120)
        if "fan_out_1000" in selected:
            log("devhost fan-out 1,000")
            run.metrics["fan_out_1000"], run.histories["fan_out_1000"] = run_fan_out(client, 1000, 300)
        if "burst_100x3" in selected:
            log("devhost burst 100 x 3")
            run.metrics["burst_100x3"] = run_burst(client, 100, 3, 300)
        if "sched_latency" in selected:
            log("devhost scheduling latency")
            run.metrics["sched_latency"] = run_latency(client, 50, 60)
        if "chain_1000" in selected:
            log("devhost chain 1,000 (long)")
            run.metrics["chain_1000"], run.histories["chain_1000"] = run_chain(client, 1000, 900)
    return run


def run_memory_repetition(extra_args: list[str], log: Callable[[str], None]) -> Metrics:
    """memory_10k on its own Azurite and host.

    10,000 instances a repetition would slow a shared Azurite down for what follows, and the
    warm-up sample must not carry the other workloads' state.
    """
    log("devhost memory across 10,000 completed instances (own Azurite and host)")
    own = Azurite.start()
    try:
        with running_host(own, extra_args) as host:
            client = Client(host.base_url)
            run_chain(client, 3, 60)
            assert host.process is not None
            return run_memory(client, host.process.pid, 10_000, 900)
    finally:
        own.stop()
