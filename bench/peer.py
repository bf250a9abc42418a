"""The peer engine: durabletask-python with its in-memory backend, the same workloads.

Runs in its own venv (`.venv-bench`, pinned by bench/requirements-peer.txt: grpcio and protobuf
must not disturb the app's venv) as `python -m bench.peer --runs N [--only NAME]...`, and prints one
JSON object on stdout. Imports nothing from the app, the devhost or the rest of the harness.

Setup as in the shared performance note §2: `InMemoryOrchestrationBackend(max_history_size=100000)`
(gRPC server), a `TaskHubGrpcWorker` and a `TaskHubGrpcClient` in this process over loopback gRPC,
loggers at WARNING. A fresh backend and worker per repetition, like a fresh devhost.
Scheduling latency: the orchestrator records time.time() when it yields the activity (first
execution only, not on replay; the in-memory backend writes no TaskScheduled timestamp), the
activity returns time.time() from its first line.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from typing import Any

from durabletask import client as dt_client  # type: ignore[import-not-found, unused-ignore]
from durabletask import task as dt_task  # type: ignore[import-not-found, unused-ignore]
from durabletask import worker as dt_worker  # type: ignore[import-not-found, unused-ignore]
from durabletask.testing import (  # type: ignore[import-not-found, unused-ignore]
    InMemoryOrchestrationBackend,
)

Metrics = dict[str, float]
SCHEDULED_AT: dict[str, float] = {}


def noop(ctx: Any, value: int) -> int:
    return value


def stamp(ctx: Any, ignored: Any) -> float:
    return time.time()


def chain(ctx: Any, settings: dict[str, int]) -> Any:
    done = 0
    for step in range(settings["n"]):
        done += 1 if (yield ctx.call_activity(noop, input=step)) == step else 0
    return done


def fan_out(ctx: Any, settings: dict[str, int]) -> Any:
    results = yield dt_task.when_all([ctx.call_activity(noop, input=i) for i in range(settings["n"])])
    return sum(results)


def stamped(ctx: Any, ignored: Any) -> Any:
    if not ctx.is_replaying:
        SCHEDULED_AT[ctx.instance_id] = time.time()
    started_at = yield ctx.call_activity(stamp)
    return started_at


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _quiet_logger(suffix: str) -> logging.Logger:
    """WARNING and above to stderr: the default INFO line per work item costs measurable time."""
    logger = logging.getLogger(f"bench.peer.durabletask-{suffix}")
    logger.setLevel(logging.WARNING)
    return logger


class Peer:
    """Backend + worker + client of one repetition."""

    def __init__(self) -> None:
        self.backend = InMemoryOrchestrationBackend(max_history_size=100000, port=_free_port())
        address = self.backend.start()
        self.worker = dt_worker.TaskHubGrpcWorker(host_address=address, logger=_quiet_logger("worker"))
        for orchestrator in (chain, fan_out, stamped):
            self.worker.add_orchestrator(orchestrator)
        for activity in (noop, stamp):
            self.worker.add_activity(activity)
        self.worker.start()
        self.client = dt_client.TaskHubGrpcClient(host_address=address, logger=_quiet_logger("client"))

    def stop(self) -> None:
        self.worker.stop()
        self.backend.stop(grace=1)

    def run(self, orchestrator: Any, settings: Any, timeout: float = 900) -> Any:
        instance_id = self.client.schedule_new_orchestration(orchestrator, input=settings)
        state = self.client.wait_for_orchestration_completion(instance_id, timeout=timeout)
        if state is None or state.runtime_status != dt_client.OrchestrationStatus.COMPLETED:
            raise RuntimeError(f"peer {orchestrator.__name__}: {state}")
        return json.loads(state.serialized_output), instance_id


def _timed_single(peer: Peer, orchestrator: Any, count: int, expected: int) -> Metrics:
    started = time.perf_counter()
    output, _ = peer.run(orchestrator, {"n": count})
    wall = time.perf_counter() - started
    if output != expected:
        raise RuntimeError(f"peer {orchestrator.__name__} {count}: output {output!r}")
    return {"wallSeconds": wall, "activitiesPerSecond": count / wall}


def _burst(peer: Peer, orchestrations: int, steps: int) -> Metrics:
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ids = list(
            pool.map(
                lambda _: peer.client.schedule_new_orchestration(chain, input={"n": steps}),
                range(orchestrations),
            )
        )
    for instance_id in ids:
        state = peer.client.wait_for_orchestration_completion(instance_id, timeout=300)
        if state is None or state.runtime_status != dt_client.OrchestrationStatus.COMPLETED:
            raise RuntimeError(f"peer burst: {state}")
    wall = time.perf_counter() - started
    return {
        "wallSeconds": wall,
        "orchestrationsPerSecond": orchestrations / wall,
        "activitiesPerSecond": orchestrations * steps / wall,
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def _latency(peer: Peer, samples: int) -> Metrics:
    latencies = []
    for _ in range(samples):
        time.sleep(0.05)
        started_at, instance_id = peer.run(stamped, None, timeout=60)
        latencies.append(float(started_at) - SCHEDULED_AT.pop(instance_id))
    return {
        "p50Seconds": _percentile(latencies, 0.5),
        "p95Seconds": _percentile(latencies, 0.95),
        "maxSeconds": max(latencies),
        "samples": float(samples),
    }


def _with_cpu(workload: Callable[[], Metrics]) -> Metrics:
    """The workload's metrics plus the CPU seconds this (single) process spent on it."""
    before = time.process_time()
    metrics = workload()
    metrics["cpu.peerSeconds"] = time.process_time() - before
    return metrics


def run_repetition(selected: set[str]) -> dict[str, Metrics]:
    peer = Peer()
    try:
        peer.run(chain, {"n": 3}, timeout=60)  # warm-up
        results: dict[str, Metrics] = {}
        if "chain_100" in selected:
            results["chain_100"] = _with_cpu(lambda: _timed_single(peer, chain, 100, 100))
        if "fan_out_1000" in selected:
            results["fan_out_1000"] = _with_cpu(lambda: _timed_single(peer, fan_out, 1000, 1000 * 999 // 2))
        if "burst_100x3" in selected:
            results["burst_100x3"] = _with_cpu(lambda: _burst(peer, 100, 3))
        if "sched_latency" in selected:
            results["sched_latency"] = _latency(peer, 50)
        if "chain_1000" in selected:
            results["chain_1000"] = _timed_single(peer, chain, 1000, 1000)
        return results
    finally:
        peer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", default=[])
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    selected = set(arguments.only)
    runs = []
    for number in range(arguments.runs):
        print(f"peer: repetition {number + 1}/{arguments.runs}", file=sys.stderr, flush=True)
        runs.append(run_repetition(selected))
    versions = {name: metadata.version(name) for name in ("durabletask", "grpcio", "protobuf")}
    versions["python"] = sys.version.split()[0]
    json.dump({"versions": versions, "runs": runs}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
