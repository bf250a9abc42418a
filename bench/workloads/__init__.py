"""Reference-workflow workloads: one small plugin module per workflow.

Issue 10 asks for one workload per reference workflow (maintenance order, fare dispute, relief
routing), e.g. 200 fare disputes auto-approved end to end with throughput and p50/p95 latency. The
workflows do not exist yet, so the registry is empty and the report says so: no numbers are made
up.

To add one, write `bench/workloads/<name>.py` with

    APP_DIR: Path                       # the app folder the devhost serves (the repo root for the
                                        # real workflows)
    DESCRIPTION: str                    # one line for the report
    def run(host: WorkloadHost) -> dict[str, float]:
        ...                             # drive the workflow through host.base_url, return metrics
                                        # such as "throughputPerSecond", "p50Seconds", "p95Seconds"

and add `<name>` to REGISTERED below. The harness starts a fresh devhost for `APP_DIR` per
repetition, calls `run`, and reports the median, min and max of every metric it returns.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import cast

# Module names under bench/workloads/, e.g. "fare_disputes". None yet: the workflows are not built.
REGISTERED: tuple[str, ...] = ()


@dataclass
class WorkloadHost:
    """What a workflow workload gets: a running devhost for its app folder on Azurite."""

    base_url: str
    storage_connection_string: str


@dataclass
class WorkflowWorkload:
    name: str
    description: str
    app_dir: Path
    run: Callable[[WorkloadHost], dict[str, float]]


def load(name: str) -> WorkflowWorkload:
    module: ModuleType = importlib.import_module(f"bench.workloads.{name}")
    run = getattr(module, "run", None)
    if not callable(run):
        raise TypeError(f"bench/workloads/{name}.py has no run(host) function")
    return WorkflowWorkload(
        name=name,
        description=str(getattr(module, "DESCRIPTION", name)),
        app_dir=Path(getattr(module, "APP_DIR", Path(__file__).resolve().parents[2])),
        run=cast(Callable[[WorkloadHost], dict[str, float]], run),
    )


def registered() -> list[WorkflowWorkload]:
    return [load(name) for name in REGISTERED]
