"""The reference-workflow bench workloads drive their workflow to the end (small batches, not timed).

`./scripts/bench` is not part of the tests; this only proves that each registered workload, as the
harness loads and hosts it (HOST_OPTIONS, own containers), still completes against the root app.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import cast

import pytest

from bench.cli import parse_arguments
from bench.stats import Metrics
from bench.workloads import REGISTERED, WorkloadHost, load
from tools.harness import Azurite, make_host


@pytest.fixture(scope="module")
def workload_host(azurite: Azurite) -> Iterator[WorkloadHost]:
    """One root-app host as the harness starts it (the workloads share their HOST_OPTIONS)."""
    options = {name: load(name).host_options for name in REGISTERED}
    first = options[REGISTERED[0]]
    assert all(option == first for option in options.values()), "one host serves every workload here"
    env = {"STORAGE_CONTAINER_PREFIX": f"b{uuid.uuid4().hex[:10]}", **first.get("env", {})}
    host = make_host(load(REGISTERED[0]).app_dir, azurite, **{**first, "env": env}).start()
    yield WorkloadHost(host.base_url, azurite.connection_string)
    host.stop()


@pytest.mark.parametrize("name", REGISTERED)
def test_workload_completes_a_small_batch_and_reports_latency(workload_host: WorkloadHost, name: str) -> None:
    """Two instances end to end: every metric the report shows is there and consistent."""
    run = cast(Callable[..., Metrics], load(name).run)
    metrics = run(workload_host, count=2)
    assert metrics["instances"] == 2
    assert (
        0 < metrics["p50Seconds"] <= metrics["p95Seconds"] <= metrics["maxSeconds"] <= metrics["wallSeconds"]
    )
    assert metrics["throughputPerSecond"] == pytest.approx(2 / metrics["wallSeconds"])


def test_only_accepts_the_workflow_workloads_and_selects_just_them() -> None:
    """`--only fare_disputes` runs that workflow workload and no devhost workload."""
    arguments = parse_arguments(["--only", "fare_disputes,chain_100"])
    assert (arguments.selected, arguments.workflows) == (["chain_100"], ["fare_disputes"])
    assert parse_arguments([]).workflows == list(REGISTERED)
    with pytest.raises(SystemExit):
        parse_arguments(["--only", "fare_dispute"])
