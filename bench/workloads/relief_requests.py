"""40 relief requests started at once over the sample network, each shelter confirmed when it waits.

Each request asks for two shelters of the sample network (`data/relief_network.json`, in rotation)
one pallet each of water and food rations: reservation across depots (ETag-conditional inventory,
contended by the whole batch) → routes → drivers, shelters and donor portal told → one confirmation
per shelter, posted by the workload as soon as the custom status shows the shelter `awaiting` →
final donor update. 40 × 2 × 2 pallets fit the sample stock, and every repetition gets its own
containers (fresh stock). Escalation timers (PT6H) never fire. Reports throughput and
start → Completed latency (p50/p95), see bench/workloads/batch_driver.py.
"""

from __future__ import annotations

import uuid
from functools import partial

from bench.stats import Metrics
from bench.workloads import WorkloadHost
from bench.workloads.batch_driver import WORKFLOW_HOST_OPTIONS, Batch, run_batch, warm_up
from tools.clients import (
    RELIEF_AWAITING_STAGE,
    SANDBOX_SHELTERS,
    Cast,
    Json,
    ReliefRequestClient,
    relief_request_body,
)

REQUESTS = 40
ITEMS = {"water": 1, "food-ration": 1}
DESCRIPTION = (
    f"{REQUESTS} relief requests (2 shelters each) started at once, reserved, routed, dispatched and "
    "confirmed by each shelter as soon as it waits"
)
HOST_OPTIONS = WORKFLOW_HOST_OPTIONS
EXPECTED_OUTCOME = "completed"


def request_shelters(index: int) -> dict[str, dict[str, int]]:
    """Two neighbouring shelters of the rotation for request `index`."""
    first = SANDBOX_SHELTERS[index % len(SANDBOX_SHELTERS)]
    second = SANDBOX_SHELTERS[(index + 1) % len(SANDBOX_SHELTERS)]
    return {first: dict(ITEMS), second: dict(ITEMS)}


def run(host: WorkloadHost, count: int = REQUESTS) -> Metrics:
    """Start `count` requests at once, confirm each shelter when it waits, time each to completion."""
    cast = Cast.sign_in(host.base_url, shelters=SANDBOX_SHELTERS)
    app = cast.reader
    client = ReliefRequestClient(cast.submitter)
    # Each shelter's own desk confirms its deliveries (Relief.ShelterStaff, assigned shelters only).
    desks = {shelter_id: ReliefRequestClient(cast.staff_of(shelter_id)) for shelter_id in SANDBOX_SHELTERS}

    def confirm_when_awaiting(batch: Batch, request_id: str, custom: Json) -> None:
        if custom.get("stage") != RELIEF_AWAITING_STAGE or custom.get("pendingChanges"):
            return
        for shelter_id in client.awaiting_shelters(custom):
            confirm = partial(desks[shelter_id].confirm, request_id, shelter_id)
            batch.post_once(f"{request_id}/{shelter_id}", confirm)

    def batch(prefix: str, size: int) -> Metrics:
        bodies = {
            f"{prefix}-{index:04d}": relief_request_body(
                f"{prefix}-{index:04d}", request_shelters(index), priority=1 + index % 5
            )
            for index in range(size)
        }
        return run_batch(app, client, bodies, expected_outcome=EXPECTED_OUTCOME, react=confirm_when_awaiting)

    warm_up(lambda name: batch(f"b-{name}-{uuid.uuid4().hex[:6]}", 1))
    return batch(f"b-{uuid.uuid4().hex[:8]}", count)
