"""A deadline and an event that reach a dispute in one batch: the workflow's rules decide, not the host.

The Durable runtime may hand an orchestration a timer firing and an external event in one batch,
in either order. The fare dispute applies "deadlines first" (orchestrators/fare_dispute.py): the
SLA escalation, then the evidence deadline, before whatever else arrived. Each test below makes
both orders happen on purpose (`deliver_in_one_batch`: suspend, fire and raise in the chosen
order, resume). Both orders must end the same way.

Each test pins the virtual clock at its own calendar case, named in its docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from contracts.fare_dispute import EVIDENCE_SUBMITTED_EVENT, SUPERVISOR_DECISION_EVENT, instance_id_for
from tests.fare_dispute.support import DisputeHost, JsonDict, claim
from tests.support.identity import READER, SUBMITTER, SUPERVISOR, Role, actor_record
from tests.support.wire import deliver_in_one_batch

# The events (name, body) as the HTTP edge raises them, with the principals who sent them.
EVIDENCE = (
    EVIDENCE_SUBMITTED_EVENT,
    {
        "evidence": {"claimCheck": "tests/evidence.json"},
        "documentCount": 1,
        "submittedBy": actor_record(SUBMITTER, Role.WORKFLOW_SUBMITTER),
    },
)
APPROVAL = (
    SUPERVISOR_DECISION_EVENT,
    {
        "decision": "approve",
        "supervisor": SUPERVISOR.name,
        "decidedBy": actor_record(SUPERVISOR, Role.FARE_DISPUTE_SUPERVISOR),
    },
)
ORDERS = [pytest.param(False, id="deadline-first"), pytest.param(True, id="event-first")]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def decisions(view: JsonDict) -> list[tuple[str, str, bool]]:
    return [(d["decidedBy"], d["decision"], d["accepted"]) for d in view["result"]["decisions"]]


def pass_the_evidence_reminder(host: DisputeHost, dispute_id: str, filed: datetime) -> None:
    """A day after filing: the case has reminded the customer to send evidence."""
    host.advance_to(filed + timedelta(days=1))
    host.settle(
        dispute_id, lambda _: "fare_dispute.evidence_reminder" in host.messages(dispute_id), nudge=False
    )


def deadline_meets_event(
    host: DisputeHost, dispute_id: str, due: datetime, event: tuple[str, JsonDict], *, event_first: bool
) -> None:
    """The timer due at `due` fires and `event` (name, body) is raised, in one batch, in the order asked."""
    deliver_in_one_batch(
        host.base_url,
        instance_id_for(dispute_id),
        due,
        event,
        event_first=event_first,
        token=host.tokens.token(READER),
    )


@pytest.mark.parametrize("event_first", ORDERS)
def test_evidence_arriving_with_the_evidence_deadline_is_late_in_either_order(
    start_dispute_host: Callable[..., DisputeHost], dispute_id: str, event_first: bool
) -> None:
    """Calendar case: filed on a plain Monday 10:00 in Amsterdam with a 3-day wait for evidence and a
    5-business-day SLA, so the evidence deadline (Thursday 10:00) comes first. Evidence that the
    case takes in with that deadline is late: the case closes as insufficient evidence."""
    filed = utc("2026-11-16T09:00:00")
    host = start_dispute_host(env={"FARE_DISPUTE_SLA_BUSINESS_DAYS": "5"}, clock_start=filed.isoformat())
    host.file_ok(claim(dispute_id, "trip-correct", "cancelled_trip", "3.20"))
    host.settle(dispute_id, lambda view: view.get("waitingFor") == "evidence", nudge=False)
    pass_the_evidence_reminder(host, dispute_id, filed)

    deadline_meets_event(host, dispute_id, filed + timedelta(days=3), EVIDENCE, event_first=event_first)

    view = host.resolved(dispute_id)
    assert view["outcome"] == "insufficient_evidence" and view["escalated"] is False
    assert decisions(view) == [("rules", "close", True)]
    assert host.messages(dispute_id)[-1] == "fare_dispute.resolved"


@pytest.mark.parametrize("event_first", ORDERS)
def test_evidence_arriving_with_the_sla_due_time_escalates_first_in_either_order(
    start_dispute_host: Callable[..., DisputeHost], dispute_id: str, event_first: bool
) -> None:
    """Calendar case: filed on a plain Monday 10:00, due Wednesday 10:00, evidence accepted until
    Thursday. Evidence taken in with the SLA due time escalates the case, then counts."""
    filed = utc("2026-11-16T09:00:00")
    host = start_dispute_host(clock_start=filed.isoformat())
    host.file_ok(claim(dispute_id, "trip-correct", "cancelled_trip", "3.20"))
    view = host.settle(dispute_id, lambda view: view.get("waitingFor") == "evidence", nudge=False)
    assert view["slaDue"] == "2026-11-18T09:00:00Z"
    pass_the_evidence_reminder(host, dispute_id, filed)

    deadline_meets_event(host, dispute_id, utc("2026-11-18T09:00:00"), EVIDENCE, event_first=event_first)

    view = host.settle(dispute_id, lambda view: view.get("waitingFor") == "supervisor_decision", nudge=False)
    assert view["escalated"] is True
    assert host.messages(dispute_id)[-2:] == ["fare_dispute.escalated", "fare_dispute.under_review"]


@pytest.mark.parametrize("event_first", ORDERS)
def test_a_decision_arriving_with_the_sla_due_time_escalates_then_refunds_in_either_order(
    start_dispute_host: Callable[..., DisputeHost], dispute_id: str, event_first: bool
) -> None:
    """Calendar case: filed on a Friday afternoon (15:30 in Amsterdam) before a weekend, due Tuesday
    15:30. A supervisor's approval taken in with the due time: escalated first, then refunded."""
    host = start_dispute_host(clock_start="2026-12-04T14:30:00Z")
    host.file_ok(claim(dispute_id, "trip-airport", "cancelled_trip", "42.50", customer_id="cust-ben"))
    view = host.settle(dispute_id, lambda view: view.get("waitingFor") == "supervisor_decision", nudge=False)
    assert view["slaDue"] == "2026-12-08T14:30:00Z"

    deadline_meets_event(host, dispute_id, utc("2026-12-08T14:30:00"), APPROVAL, event_first=event_first)

    view = host.resolved(dispute_id)
    assert (view["outcome"], view["escalated"]) == ("refunded", True)
    assert decisions(view) == [("sla", "escalate", True), (SUPERVISOR.name, "approve", True)]
    assert len(host.refunds(dispute_id)) == 1


@pytest.mark.parametrize("event_first", ORDERS)
def test_evidence_deadline_and_sla_due_at_the_same_instant_escalate_then_close(
    start_dispute_host: Callable[..., DisputeHost], dispute_id: str, event_first: bool
) -> None:
    """Calendar case: filed on a Sunday at 00:00 in Amsterdam. The SLA clock starts Monday, so the
    case is due at the end of Tuesday (Wednesday 00:00 local), exactly when the 3-day evidence wait
    ends: two deadlines at one instant, one timer. The rule: the SLA breach is handled first
    (escalated, customer told), then the case closes; evidence taken in with them is late."""
    filed = utc("2026-12-05T23:00:00")  # Sunday 6 December 00:00 in Amsterdam
    host = start_dispute_host(clock_start=filed.isoformat())
    host.file_ok(claim(dispute_id, "trip-correct", "cancelled_trip", "3.20"))
    view = host.settle(dispute_id, lambda view: view.get("waitingFor") == "evidence", nudge=False)
    assert view["slaDue"] == "2026-12-08T23:00:00Z"
    pass_the_evidence_reminder(host, dispute_id, filed)

    deadline_meets_event(host, dispute_id, filed + timedelta(days=3), EVIDENCE, event_first=event_first)

    view = host.resolved(dispute_id)
    assert (view["outcome"], view["escalated"]) == ("insufficient_evidence", True)
    assert decisions(view) == [("sla", "escalate", True), ("rules", "close", True)]
    assert host.messages(dispute_id)[-2:] == ["fare_dispute.escalated", "fare_dispute.resolved"]
