"""The 2-business-day SLA across a weekend and two holidays, on the virtual clock.

Filed on a Thursday at 15:00 in Amsterdam with the Friday and the Monday after it configured as
holidays, the case is due the next Wednesday at 15:00 local: Friday (holiday), the weekend and
Monday (holiday) do not count. At that moment, still waiting for a supervisor, it escalates once
and the customer is told; the supervisor can still decide afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.fare_dispute.conftest import FAULTS
from tests.fare_dispute.support import DisputeHost, claim

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def next_thursday_after(moment: datetime) -> date:
    day = moment.astimezone(AMSTERDAM).date() + timedelta(days=2)
    while day.weekday() != 3:
        day += timedelta(days=1)
    return day


THURSDAY = next_thursday_after(datetime.now(UTC))
HOLIDAYS = (THURSDAY + timedelta(days=1), THURSDAY + timedelta(days=4))  # Friday and Monday


@pytest.fixture(scope="module")
def sla_host(start_dispute_host: Callable[..., DisputeHost]) -> DisputeHost:
    holidays = ",".join(day.isoformat() for day in HOLIDAYS)
    return start_dispute_host(env={**FAULTS, "FARE_DISPUTE_HOLIDAYS": holidays})


def local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=AMSTERDAM)


def test_sla_breach_across_a_weekend_and_holidays_escalates_once_and_tells_the_customer(
    sla_host: DisputeHost, dispute_id: str
) -> None:
    filed_at = local(THURSDAY, 15)
    due = local(THURSDAY + timedelta(days=6), 15).astimezone(UTC)  # Wednesday 15:00 local
    sla_host.advance_to(filed_at)
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
    assert sla_host.decide(dispute_id, {"decision": "approve", "supervisor": "sup-night"}).status_code == 202
    result = sla_host.resolved(dispute_id)["result"]
    assert result["outcome"] == "refunded" and result["escalated"] is True
    assert [d["decision"] for d in result["decisions"]] == ["escalate", "approve"]
    assert len(sla_host.refunds(dispute_id)) == 1
