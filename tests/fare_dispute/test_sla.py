"""The 2-business-day SLA over the Christmas holiday run, on a virtual clock pinned to 24 Dec 2026.

Calendar case: the eve of a holiday run. Filed on Thursday 24 December at 15:00 in Amsterdam with
25 and 28 December configured as holidays, the case is due the next Wednesday, 30 December, at
15:00 local: Friday (holiday), the weekend and Monday (holiday) do not count. At that moment, still
waiting for a supervisor, it escalates once and the customer is told; the supervisor can still
decide afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.fare_dispute.conftest import FAULTS
from tests.fare_dispute.support import DisputeHost, claim

FILED_AT = datetime(2026, 12, 24, 14, 0, tzinfo=UTC)  # Thursday 15:00 in Amsterdam
DUE = datetime(2026, 12, 30, 14, 0, tzinfo=UTC)  # Wednesday 15:00 in Amsterdam


@pytest.fixture(scope="module")
def sla_host(start_dispute_host: Callable[..., DisputeHost]) -> DisputeHost:
    return start_dispute_host(
        env={**FAULTS, "FARE_DISPUTE_HOLIDAYS": "2026-12-25,2026-12-28"},
        clock_start=FILED_AT.isoformat(),
    )


def test_sla_breach_across_a_weekend_and_holidays_escalates_once_and_tells_the_customer(
    sla_host: DisputeHost, dispute_id: str
) -> None:
    due = DUE
    assert sla_host.now() == FILED_AT
    sla_host.file_ok(claim(dispute_id, "trip-airport", "cancelled_trip", "42.50", customer_id="cust-ben"))
    view = sla_host.waiting_for(dispute_id, "supervisor_decision", timeout=20)
    assert view["slaDue"] == due.strftime("%Y-%m-%dT%H:%M:%SZ")

    sla_host.advance_to(due - timedelta(minutes=1))
    time.sleep(1)
    before = sla_host.view_ok(dispute_id)
    assert before["escalated"] is False and "fare_dispute.escalated" not in sla_host.messages(dispute_id)

    sla_host.advance_to(due + timedelta(seconds=1))
    escalated = sla_host.settle(dispute_id, lambda v: v["escalated"] is True, timeout=20)
    assert escalated["waitingFor"] == "supervisor_decision" and escalated["stage"] == "awaiting_supervisor"
    sla_host.settle(
        dispute_id, lambda _: "fare_dispute.escalated" in sla_host.messages(dispute_id), timeout=20
    )

    sla_host.advance(timedelta(days=2))
    assert sla_host.messages(dispute_id).count("fare_dispute.escalated") == 1
    assert sla_host.decide(dispute_id, {"decision": "approve"}).status_code == 202
    result = sla_host.resolved(dispute_id)["result"]
    assert result["outcome"] == "refunded" and result["escalated"] is True
    assert [d["decision"] for d in result["decisions"]] == ["escalate", "approve"]
    assert len(sla_host.refunds(dispute_id)) == 1
