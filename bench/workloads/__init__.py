"""Reference-workflow workloads: one small plugin module per workflow.

Issue 10 asks for one workload per reference workflow: `fare_disputes` (200 disputes auto-approved
end to end), `maintenance_orders` (50 orders approved as soon as they wait), `relief_requests` (40
requests, each shelter confirmed as soon as it waits). Each reports throughput and p50/p95 latency
(start → Completed); they drive the app's HTTP API with `tools.clients` through
`bench/workloads/batch_driver.py`.

To add one, write `bench/workloads/<name>.py` with

    DESCRIPTION: str                    # one line for the report
    def run(host: WorkloadHost) -> dict[str, float]:
        ...                             # drive the workflow through host.base_url, return metrics
                                        # such as "throughputPerSecond", "p50Seconds", "p95Seconds"

    HOST_OPTIONS: dict[str, Any]        # optional: how the devhost is started, passed to
                                        # tools.harness.make_host: "env" (app settings,
                                        # which win over the app's local.settings.json),
                                        # "virtual_clock", "deliver_twice", "easy_auth" (bools;
                                        # the real workflows need easy_auth: their API signs in;
                                        # batch_driver.WORKFLOW_HOST_OPTIONS is theirs)
    APP_DIR: Path                       # optional: the app folder the devhost serves (default:
                                        # the repository root, the real workflows' app)

and add `<name>` to REGISTERED below (`./scripts/bench --only <name>` then accepts it). The harness
starts a fresh devhost for `APP_DIR` per repetition, with its own task hub and its own
`STORAGE_CONTAINER_PREFIX` (so ledger, sandboxes and relief inventory start empty each time, unless
HOST_OPTIONS["env"] sets one), calls `run`, and reports the median, min and max of every metric.
With `virtual_clock`, `run` moves time itself (`POST /admin/clock/advance`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

# Module names under bench/workloads/, in the order the report lists them.
REGISTERED: tuple[str, ...] = ("fare_disputes", "maintenance_orders", "relief_requests")
HOST_OPTION_NAMES = frozenset({"env", "virtual_clock", "deliver_twice", "easy_auth"})


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
    host_options: dict[str, Any] = field(default_factory=dict)


def load(name: str) -> WorkflowWorkload:
    module: ModuleType = importlib.import_module(f"bench.workloads.{name}")
    run = getattr(module, "run", None)
    if not callable(run):
        raise TypeError(f"bench/workloads/{name}.py has no run(host) function")
    host_options = dict(getattr(module, "HOST_OPTIONS", {}))
    unknown = set(host_options) - HOST_OPTION_NAMES
    if unknown:
        raise TypeError(f"bench/workloads/{name}.py: unknown HOST_OPTIONS {sorted(unknown)}")
    return WorkflowWorkload(
        name=name,
        description=str(getattr(module, "DESCRIPTION", name)),
        app_dir=Path(getattr(module, "APP_DIR", Path(__file__).resolve().parents[2])),
        run=cast(Callable[[WorkloadHost], dict[str, float]], run),
        host_options=host_options,
    )


def registered(names: Iterable[str] | None = None) -> list[WorkflowWorkload]:
    """The registered workloads (only those in `names` when given), in REGISTERED order."""
    chosen = set(REGISTERED if names is None else names)
    return [load(name) for name in REGISTERED if name in chosen]
