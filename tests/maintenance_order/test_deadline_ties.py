"""An approval and the approval deadline that reach an order in one batch: the deadline decides.

Rule (orchestrators/maintenance_order.py, `ApprovalPolicy.deadlines_first`): a decision the order
takes in at or after its deadline is late, so the order expires whichever of the two the host
delivered first (`deliver_in_one_batch` makes each order happen on purpose).

Calendar case: the year end. Started on Thursday 31 December 2026 at 23:58 UTC, the order's
7-day approval deadline falls on Thursday 7 January 2027 at 23:58 UTC, in the next year.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.identity import APPROVER, READER, Role, actor_record
from tests.support.wire import advance_clock_to, deliver_in_one_batch
from tools.harness import HostProcess

from .conftest import MaintenanceApi, Sandboxes, new_order_id, order_body

STARTED = datetime(2026, 12, 31, 23, 58, tzinfo=UTC)
DEADLINE = datetime(2027, 1, 7, 23, 58, tzinfo=UTC)


@pytest.mark.parametrize("event_first", [False, True], ids=["deadline-first", "approval-first"])
def test_an_approval_taken_in_with_the_deadline_is_late_and_the_order_expires(
    start_host: Callable[..., HostProcess], sandboxes: Sandboxes, event_first: bool
) -> None:
    api = MaintenanceApi(start_host(clock_start=STARTED.isoformat()).base_url)
    order_id = new_order_id("tie")
    instance_id = f"maintenance-{order_id}"
    assert api.start(order_body(order_id)).status_code == 202
    waiting = api.wait_stage(order_id, "awaiting_approval")
    assert waiting["deadlineUtc"] == "2027-01-07T23:58:00Z"
    for day in (1, 2, 3):  # three reminders, then the escalation: only the deadline is left
        advance_clock_to(api.base_url, STARTED + timedelta(days=day))
        api.wait_value(order_id, "remindersSent", day)
    advance_clock_to(api.base_url, STARTED + timedelta(days=4))
    assert "nextReminderUtc" not in api.wait_value(order_id, "escalated", True)
    # The event as the HTTP edge raises it: the signed-in approver's principal decides.
    approval = {
        "approved": True,
        "approver": APPROVER.name,
        "decidedAt": "2027-01-07T23:58:00Z",
        "decidedBy": actor_record(APPROVER, Role.MAINTENANCE_APPROVER),
    }

    deliver_in_one_batch(
        api.base_url,
        instance_id,
        DEADLINE,
        ("approval_decision", approval),
        event_first=event_first,
        token=api.tokens.token(READER) if api.tokens else None,
    )

    finished = api.wait_finished(order_id)
    assert finished["outcome"] == "expired"
    assert len(sandboxes.effects("documents", instance_id)) == 1, "the compliance pack, no certificate"
    templates = [
        effect["request"]["template"] for effect in sandboxes.effects("customer_messaging", instance_id)
    ]
    assert "maintenance.expired" in templates and "maintenance.released" not in templates
    packet = api.audit(order_id).json()["packet"]
    assert packet["finalOutcome"] == "expired" and packet["approval"]["decision"] is None
