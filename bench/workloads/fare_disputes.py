"""200 fare disputes filed at once, each auto-approved and refunded end to end.

Each dispute (`trip-overcharged`, 4.50 EUR overcharge, under the 15.00 EUR auto-approve limit) runs
trip lookup → fare rules → refund through the sandbox payment gateway → two customer messages, with
no event and no timer. Reports throughput and start → Completed latency (p50/p95), see
bench/workloads/batch_driver.py.
"""

from __future__ import annotations

from bench.stats import Metrics
from bench.workloads import WorkloadHost
from bench.workloads.batch_driver import WORKFLOW_HOST_OPTIONS, run_workload
from tools.clients import Cast, FareDisputeClient, auto_approved_fare_dispute_body

DISPUTES = 200
DESCRIPTION = (
    f"{DISPUTES} fare disputes filed at once, auto-approved and refunded end to end (no event, no timer)"
)
HOST_OPTIONS = WORKFLOW_HOST_OPTIONS
EXPECTED_OUTCOME = "refunded"


def run(host: WorkloadHost, count: int = DISPUTES) -> Metrics:
    """File `count` auto-approvable disputes at once and time each to its refund."""
    cast = Cast.sign_in(host.base_url)
    return run_workload(
        cast, FareDisputeClient, auto_approved_fare_dispute_body, count, expected_outcome=EXPECTED_OUTCOME
    )
