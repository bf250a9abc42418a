"""Drive a batch of workflow instances end to end through the app's HTTP API and time each one.

Not a workload itself (it is not in REGISTERED): the reference-workflow workloads use it.

- Starts every case at once from a thread pool (`tools.clients`: the app's own POST routes),
  noting the client's clock just before each start request.
- One poll loop reads the whole batch with a single management API query (`instanceIdPrefix`, every
  `POLL_INTERVAL_SECONDS`) instead of one GET per instance, so polling does not load the host in
  proportion to the batch. For each running instance it calls the workload's `react(id, custom
  status)`, which posts events (approvals, confirmations) through the same pool, as a user
  would the moment the app shows the case waiting.
- An instance's latency is start request → the first poll that sees it terminal (resolution: the
  poll interval plus one query). Throughput is instances ÷ (first start → last terminal).
- Every instance must end Completed with the expected business outcome, or the run raises
  BenchError: the numbers of a run that did not do the work would lie.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench.devhost_suite import BenchError
from bench.stats import Metrics, percentile
from durable_wire import TERMINAL_STATUSES
from integrations.selection import SYSTEMS
from ops.durable_client import DurableClient
from tools.clients import (
    AppClient,
    Cast,
    Json,
    WorkflowApiError,
    WorkflowClient,
)

# 0.2 s: latencies under a burst are seconds, and one query of a 200-instance batch costs the host
# tens of milliseconds (measured: 60 disputes, 0.05 s vs 0.5 s polling, throughput within 10%).
POLL_INTERVAL_SECONDS = 0.2
CLIENT_THREADS = 8
# The app settings every workflow workload runs with (HOST_OPTIONS["env"]): sandboxed outside
# systems without injected faults, whatever a developer's local.settings.json says.
SANDBOX_ENV: dict[str, str] = {
    "INTEGRATIONS_MODE": "sandbox",
    **{f"SANDBOX_FAULTS_{system.upper()}": "" for system in SYSTEMS},
}

# How every reference-workflow workload has the harness start its devhost (its HOST_OPTIONS): the
# root app with the sandbox settings above, Easy Auth emulated (the workflow APIs sign callers in).
WORKFLOW_HOST_OPTIONS: dict[str, Any] = {"env": SANDBOX_ENV, "easy_auth": True}

React = Callable[["Batch", str, Json], None]


@dataclass
class Case:
    """One instance of the batch, by business id."""

    business_id: str
    started: float = 0.0
    finished: float | None = None
    runtime_status: str | None = None
    outcome: str | None = None


@dataclass
class Batch:
    """A running batch: the cases, the thread pool for client calls, and what has been posted."""

    client: WorkflowClient
    pool: ThreadPoolExecutor
    cases: dict[str, Case]
    posted: set[str] = field(default_factory=set)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: list[Future[None]] = field(default_factory=list)

    def post_once(self, key: str, call: Callable[[], object]) -> None:
        """Run `call` in the pool once per `key`; a 409 (not waiting yet) frees the key for a retry."""
        with self.lock:
            if key in self.posted:
                return
            self.posted.add(key)

        def task() -> None:
            try:
                call()
            except WorkflowApiError as error:
                if error.status != 409:
                    self.errors.append(error)
                with self.lock:
                    self.posted.discard(key)
            except Exception as error:
                self.errors.append(error)

        self.pending.append(self.pool.submit(task))


def _custom_status(document: Json) -> Json:
    custom = document.get("customStatus")
    if isinstance(custom, str):
        try:
            custom = json.loads(custom)
        except ValueError:
            return {}
    return custom if isinstance(custom, dict) else {}


def _outcome(document: Json) -> str | None:
    output = document.get("output")
    if isinstance(output, str):
        try:
            output = json.loads(output)
        except ValueError:
            return None
    return str(output.get("outcome")) if isinstance(output, dict) and output.get("outcome") else None


def run_batch(
    app: AppClient,
    client: WorkflowClient,
    bodies: dict[str, Json],
    *,
    expected_outcome: str,
    react: React | None = None,
    timeout: float = 300.0,
) -> Metrics:
    """Start every body (business id → request body), drive the batch to its end, return metrics."""
    if not bodies:
        raise ValueError("a batch needs at least one case")
    durable = DurableClient(app.base_url, token=app.token)
    prefix = client.instance_id(_common_prefix(list(bodies)))
    cases = {business_id: Case(business_id) for business_id in bodies}
    by_instance = {client.instance_id(business_id): business_id for business_id in bodies}
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        batch = Batch(client, pool, cases)

        def start(business_id: str) -> None:
            cases[business_id].started = time.monotonic()
            client.start(bodies[business_id])

        for future in [pool.submit(start, business_id) for business_id in bodies]:
            future.result()
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            for document in durable.query(prefix=prefix, all_pages=True):
                business_id = by_instance.get(str(document.get("instanceId")))
                if business_id is None or cases[business_id].finished is not None:
                    continue
                status = str(document.get("runtimeStatus"))
                if status in TERMINAL_STATUSES:
                    case = cases[business_id]
                    case.finished, case.runtime_status, case.outcome = now, status, _outcome(document)
                elif react is not None:
                    react(batch, business_id, _custom_status(document))
            if batch.errors:
                raise BenchError(f"{client.name}: a client call failed: {batch.errors[0]}")
            if all(case.finished is not None for case in cases.values()):
                break
            if time.monotonic() > deadline:
                left = sum(case.finished is None for case in cases.values())
                raise BenchError(
                    f"{client.name}: {left} of {len(cases)} instances not finished after {timeout} s"
                )
            time.sleep(POLL_INTERVAL_SECONDS)
    wrong = [
        case
        for case in cases.values()
        if (case.runtime_status, case.outcome) != ("Completed", expected_outcome)
    ]
    if wrong:
        first = wrong[0]
        raise BenchError(
            f"{client.name}: {len(wrong)} of {len(cases)} instances did not end Completed/{expected_outcome} "
            f"(e.g. {first.business_id}: {first.runtime_status}/{first.outcome})"
        )
    return _metrics(list(cases.values()))


def _common_prefix(ids: list[str]) -> str:
    first, last = min(ids), max(ids)
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]


def _metrics(cases: list[Case]) -> Metrics:
    latencies = [case.finished - case.started for case in cases if case.finished is not None]
    wall = max(case.finished or 0.0 for case in cases) - min(case.started for case in cases)
    return {
        "instances": float(len(cases)),
        "wallSeconds": wall,
        "throughputPerSecond": len(cases) / wall if wall > 0 else 0.0,
        "p50Seconds": percentile(latencies, 0.50),
        "p95Seconds": percentile(latencies, 0.95),
        "maxSeconds": max(latencies),
    }


def warm_up(run: Callable[[str], Any]) -> None:
    """One case before the timed batch (imports, containers, sandbox data load) — not measured."""
    run("warmup")


def run_workload(
    cast: Cast,
    client_type: type[WorkflowClient],
    body_of: Callable[[str], Json],
    count: int,
    *,
    expected_outcome: str,
    react: React | None = None,
) -> Metrics:
    """What a reference-workflow workload does: one warm-up case, then `count` cases at once, timed.

    The cast's submitter starts each case (`body_of(business_id)` is its request), its reader polls;
    business ids are `bench-<random>-<index>` (`bench-warmup-<random>-0000` for the warm-up).
    """
    app, client = cast.reader, client_type(cast.submitter)

    def batch(prefix: str, size: int) -> Metrics:
        bodies = {f"{prefix}-{index:04d}": body_of(f"{prefix}-{index:04d}") for index in range(size)}
        return run_batch(app, client, bodies, expected_outcome=expected_outcome, react=react)

    warm_up(lambda name: batch(f"bench-{name}-{uuid.uuid4().hex[:8]}", 1))
    return batch(f"bench-{uuid.uuid4().hex[:8]}", count)
