"""50 maintenance orders started at once, each approved the moment it waits for approval.

Each order runs inspection → parts lookup per finding → one request per sandbox supplier (three) →
compliance pack → customer notification → approval (posted by the workload as soon as the order's
custom status shows `awaiting_approval`) → release certificate → outcome message. Reminder and
expiry timers (PT24H / P7D) never fire. Reports throughput and start → Completed latency (p50/p95),
see bench/workloads/batch_driver.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from bench.stats import Metrics
from bench.workloads import WorkloadHost
from bench.workloads.batch_driver import SANDBOX_ENV, Batch, run_batch, warm_up
from tools.clients import (
    MAINTENANCE_APPROVAL_STAGE,
    Cast,
    Json,
    MaintenanceOrderClient,
    maintenance_order_body,
)

APP_DIR = Path(__file__).resolve().parents[2]
ORDERS = 50
DESCRIPTION = (
    f"{ORDERS} maintenance orders started at once, approved as soon as each waits, released end to end"
)
HOST_OPTIONS: dict[str, Any] = {"env": SANDBOX_ENV, "easy_auth": True}
EXPECTED_OUTCOME = "released"


def run(host: WorkloadHost, count: int = ORDERS) -> Metrics:
    """Start `count` orders at once (the portal), approve each when it waits (the approver), time each."""
    cast = Cast.sign_in(host.base_url)
    app = cast.reader
    client = MaintenanceOrderClient(cast.submitter)
    approver = MaintenanceOrderClient(cast.approver)

    def approve_when_waiting(batch: Batch, order_id: str, custom: Json) -> None:
        if custom.get("stage") == MAINTENANCE_APPROVAL_STAGE:
            batch.post_once(order_id, lambda: approver.approve(order_id, approved=True))

    def batch(prefix: str, size: int) -> Metrics:
        bodies = {
            f"{prefix}-{index:04d}": maintenance_order_body(f"{prefix}-{index:04d}") for index in range(size)
        }
        return run_batch(app, client, bodies, expected_outcome=EXPECTED_OUTCOME, react=approve_when_waiting)

    warm_up(lambda name: batch(f"bench-{name}-{uuid.uuid4().hex[:8]}", 1))
    return batch(f"bench-{uuid.uuid4().hex[:8]}", count)
