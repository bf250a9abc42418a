"""50 maintenance orders started at once, each approved the moment it waits for approval.

Each order runs inspection → parts lookup per finding → one request per sandbox supplier (three) →
compliance pack → customer notification → approval (posted by the workload as soon as the order's
custom status shows `awaiting_approval`) → release certificate → outcome message. Reminder and
expiry timers (PT24H / P7D) never fire. Reports throughput and start → Completed latency (p50/p95),
see bench/workloads/batch_driver.py.
"""

from __future__ import annotations

from bench.stats import Metrics
from bench.workloads import WorkloadHost
from bench.workloads.batch_driver import WORKFLOW_HOST_OPTIONS, Batch, run_workload
from tools.clients import (
    MAINTENANCE_APPROVAL_STAGE,
    Cast,
    Json,
    MaintenanceOrderClient,
    maintenance_order_body,
)

ORDERS = 50
DESCRIPTION = (
    f"{ORDERS} maintenance orders started at once, approved as soon as each waits, released end to end"
)
HOST_OPTIONS = WORKFLOW_HOST_OPTIONS
EXPECTED_OUTCOME = "released"


def run(host: WorkloadHost, count: int = ORDERS) -> Metrics:
    """Start `count` orders at once (the portal), approve each when it waits (the approver), time each."""
    cast = Cast.sign_in(host.base_url)
    approver = MaintenanceOrderClient(cast.approver)

    def approve_when_waiting(batch: Batch, order_id: str, custom: Json) -> None:
        if custom.get("stage") == MAINTENANCE_APPROVAL_STAGE:
            batch.post_once(order_id, lambda: approver.approve(order_id, approved=True))

    return run_workload(
        cast,
        MaintenanceOrderClient,
        maintenance_order_body,
        count,
        expected_outcome=EXPECTED_OUTCOME,
        react=approve_when_waiting,
    )
