"""200 fare disputes filed at once, each auto-approved and refunded end to end.

Each dispute (`trip-overcharged`, 4.50 EUR overcharge, under the 15.00 EUR auto-approve limit) runs
trip lookup → fare rules → refund through the sandbox payment gateway → two customer messages, with
no event and no timer. Reports throughput and start → Completed latency (p50/p95), see
bench/workloads/batch_driver.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from bench.stats import Metrics
from bench.workloads import WorkloadHost
from bench.workloads.batch_driver import SANDBOX_ENV, run_batch, warm_up
from tools.clients import Cast, FareDisputeClient, auto_approved_fare_dispute_body

APP_DIR = Path(__file__).resolve().parents[2]
DISPUTES = 200
DESCRIPTION = (
    f"{DISPUTES} fare disputes filed at once, auto-approved and refunded end to end (no event, no timer)"
)
HOST_OPTIONS: dict[str, Any] = {"env": SANDBOX_ENV, "easy_auth": True}
EXPECTED_OUTCOME = "refunded"


def run(host: WorkloadHost, count: int = DISPUTES) -> Metrics:
    """File `count` auto-approvable disputes at once and time each to its refund."""
    cast = Cast.sign_in(host.base_url)
    app = cast.reader
    client = FareDisputeClient(cast.submitter)

    def batch(prefix: str, size: int) -> Metrics:
        bodies = {
            f"{prefix}-{index:04d}": auto_approved_fare_dispute_body(f"{prefix}-{index:04d}")
            for index in range(size)
        }
        return run_batch(app, client, bodies, expected_outcome=EXPECTED_OUTCOME)

    warm_up(lambda name: batch(f"bench-{name}-{uuid.uuid4().hex[:8]}", 1))
    return batch(f"bench-{uuid.uuid4().hex[:8]}", count)
