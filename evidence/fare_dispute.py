"""What a fare dispute proves: the rule applied, who decided, the refund and whether the 2-business-day
SLA held; and the dispute resolution letter to the customer (decision, amount, reason, SLA).

The letter addresses the customer by customer id only: names and contact details never enter the
workflow, the messaging provider holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import workflow_catalogue
from audit_packets.case_report import (
    BusinessDocument,
    Decision,
    Packet,
    actor_text,
    finished_at,
    input_of,
    money_text,
    output_of,
    parse_time,
    sealed_with_packet_section,
    when,
)
from audit_packets.document import Document, Facts, Paragraph, Section
from audit_packets.history import decision_records, failure_policy_record
from contracts.fare_dispute import (
    APPLY_FARE_RULES_ACTIVITY,
    EVIDENCE_SUBMITTED_EVENT,
    ISSUE_FARE_REFUND_ACTIVITY,
    LOOK_UP_DISPUTED_TRIP_ACTIVITY,
    NOTIFY_DISPUTE_CUSTOMER_ACTIVITY,
    SUPERVISOR_DECISION_EVENT,
)

OUTCOME_WORDS = {
    "refunded": "refunded in full",
    "partially_refunded": "partially refunded",
    "rejected": "rejected",
    "insufficient_evidence": "closed: no evidence before the deadline",
    "trip_not_found": "closed: the trip was not found for this customer",
    "refund_declined": "approved, but the payment gateway declined the refund",
}
REASON_WORDS = {
    "overcharge": "charged more than the tariff",
    "cancelled_trip": "charged for a cancelled trip",
    "duplicate_charge": "charged twice",
}
# Deciders that are no person: shown with what they are instead of a principal.
DECIDER_WORDS: dict[str, dict[str, str]] = {
    "rules": {"name": "Fare rules", "role": "automatic"},
    "customer": {"name": "Customer", "role": "evidence submitter"},
    "sla": {"name": "SLA timer", "role": "automatic"},
}
DECISION_WORDS = {
    "auto_approve": "Refund approved automatically",
    "approve": "Refund approved",
    "partial": "Partial refund approved",
    "reject": "Dispute rejected",
    "close": "Case closed",
    "evidence": "Evidence submitted",
    "escalate": "Escalated: SLA due time passed",
}
# Step and event titles for the report; evidence/__init__.py assembles them into the workflow's
# CaseProfile with the hooks below (and adds the sealing step every workflow ends with).
STEP_TITLES: Mapping[str, str] = {
    LOOK_UP_DISPUTED_TRIP_ACTIVITY: "Trip looked up",
    APPLY_FARE_RULES_ACTIVITY: "Fare rules applied",
    NOTIFY_DISPUTE_CUSTOMER_ACTIVITY: "Customer told",
    ISSUE_FARE_REFUND_ACTIVITY: "Refund issued",
}
EVENT_TITLES: Mapping[str, str] = {
    EVIDENCE_SUBMITTED_EVENT: "Evidence submitted",
    SUPERVISOR_DECISION_EVENT: "Supervisor decision received",
}


def _results(packet: Mapping[str, Any], activity_name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(input, last successful attempt) of every completed call of one activity."""
    found = []
    for activity in packet.get("activities", []):
        attempts = activity.get("attempts") or []
        if activity.get("name") == activity_name and attempts and attempts[-1].get("outcome") == "completed":
            found.append((activity.get("input") or {}, attempts[-1]))
    return found


def audit_extras(packet: dict[str, Any]) -> dict[str, Any]:
    """The fare dispute's part of the packet, from history (so it is there for running cases too)."""
    output = output_of(packet)
    custom = packet.get("customStatus", {}).get("current")
    custom = custom if isinstance(custom, dict) else {}
    rules = [attempt.get("result") for _, attempt in _results(packet, APPLY_FARE_RULES_ACTIVITY)]
    refunds = [
        {
            **(attempt.get("result") or {}),
            "idempotencyKey": work.get("key"),
            "recordedAt": attempt.get("finishedAt"),
        }
        for work, attempt in _results(packet, ISSUE_FARE_REFUND_ACTIVITY)
    ]
    messages = [
        {
            "template": work.get("template"),
            "status": (attempt.get("result") or {}).get("status"),
            "messageId": (attempt.get("result") or {}).get("messageId"),
            "sentAt": attempt.get("finishedAt"),
        }
        for work, attempt in _results(packet, NOTIFY_DISPUTE_CUSTOMER_ACTIVITY)
    ]
    recorded_refund = output.get("refund")
    if refunds and isinstance(recorded_refund, dict) and recorded_refund.get("approvedBy"):
        # Who authorised the refund: the supervisor's principal (absent when the rules approved it).
        refunds[-1]["approvedBy"] = recorded_refund["approvedBy"]
    filed_by = input_of(packet).get("filedBy")
    return {
        "disputeId": workflow_catalogue.FARE_DISPUTE.business_id(str(packet["instance"]["instanceId"])),
        "filedBy": filed_by if isinstance(filed_by, dict) else None,
        "sla": {
            "due": custom.get("slaDue") or output.get("slaDue"),
            "escalated": bool(custom.get("escalated")),
        },
        "rulesApplied": rules[-1] if rules else None,
        "decisions": output.get("decisions", []),
        "supervisorDecisionEvents": decision_records(
            packet, SUPERVISOR_DECISION_EVENT, ("decision", "refundAmount")
        ),
        "evidenceEvents": decision_records(packet, EVIDENCE_SUBMITTED_EVENT, ("documentCount",)),
        "refund": refunds[-1] if refunds else None,
        "messagesSent": messages,
        **failure_policy_record(packet),
        "finalOutcome": output.get("outcome") or custom.get("outcome"),
    }


def _sla_due(packet: Packet) -> str | None:
    due = output_of(packet).get("slaDue") or ((packet.get("customStatus") or {}).get("current") or {}).get(
        "slaDue"
    )
    return str(due) if due else None


def within_sla(packet: Packet) -> bool | None:
    """Whether the case was resolved by its SLA due time (None while running or unknown)."""
    due, done = parse_time(_sla_due(packet)), parse_time(finished_at(packet))
    if due is None or done is None or not output_of(packet).get("outcome"):
        return None
    return done <= due


def outcome_text(packet: Packet) -> str:
    """The dispute's outcome in words, with the refund."""
    output = output_of(packet)
    outcome = output.get("outcome")
    if not outcome:
        stage = ((packet.get("customStatus") or {}).get("current") or {}).get("stage")
        return f"in progress (stage: {str(stage or 'filed').replace('_', ' ')})"
    text = OUTCOME_WORDS.get(str(outcome), str(outcome))
    refund = output.get("refund") or {}
    if refund:
        text += (
            f": {money_text(refund.get('amount'))} ({refund.get('status')}, "
            f"refund id {refund.get('refundId') or '—'})"
        )
    return text


def _decider_text(value: Any) -> str:
    if isinstance(value, str) and value in DECIDER_WORDS:
        return actor_text(DECIDER_WORDS[value])
    return actor_text(value)


def people(packet: Packet) -> list[tuple[str, str]]:
    """Who filed (customer id) and who decided."""
    dispute = input_of(packet)
    rows = [
        ("Customer", f"customer id {dispute.get('customerId')} (no name or contact details in this record)")
    ]
    if dispute.get("filedBy"):
        rows.append(("Filed by", actor_text(dispute["filedBy"])))
    deciders = [
        d
        for d in output_of(packet).get("decisions") or []
        if d.get("decision") not in ("evidence", "escalate")
    ]
    if deciders:
        rows.append(("Decided by", _decider_text(deciders[-1].get("actor") or deciders[-1].get("decidedBy"))))
    return rows


def sla(packet: Packet) -> str:
    """The SLA due time and whether it held."""
    due = _sla_due(packet)
    met = within_sla(packet)
    escalated = bool(output_of(packet).get("escalated"))
    if met is None:
        return f"Due {when(due)} (2 business days); not resolved yet" + ("; escalated" if escalated else "")
    verdict = "met: resolved before the due time" if met else "missed: resolved after the due time"
    return f"Due {when(due)}: {verdict}" + (
        "; it was escalated when the due time passed" if escalated else ""
    )


def decisions(packet: Packet) -> list[Decision]:
    """The case's decisions as the orchestration recorded them (rules, customer, supervisor, SLA),
    each paired with the event that carried it, in arrival order."""
    events = packet.get("events") or []
    waiting = {
        "evidence": [e for e in events if e.get("name") == EVIDENCE_SUBMITTED_EVENT],
        "supervisor": [e for e in events if e.get("name") == SUPERVISOR_DECISION_EVENT],
    }
    rows = []
    for record in output_of(packet).get("decisions") or []:
        what = DECISION_WORDS.get(str(record.get("decision")), str(record.get("decision")))
        if record.get("amount"):
            what += f" ({money_text(record.get('amount'))})"
        if record.get("detail"):
            what += f"; {str(record.get('detail')).replace('_', ' ')}"
        by = record.get("actor") or record.get("decidedBy")
        kind = "evidence" if record.get("decision") == "evidence" else None
        if kind is None and not (isinstance(by, str) and by in DECIDER_WORDS):
            kind = "supervisor"
        event = waiting[kind].pop(0) if kind and waiting[kind] else None
        if event is not None and event.get("principal"):
            by = event["principal"]
        elif isinstance(by, str):
            by = DECIDER_WORDS.get(by, by)
        decided_at = event.get("receivedAt") if event else record.get("at")
        result = "taken" if record.get("accepted", True) else "refused"
        rows.append(Decision(what, by, decided_at, record.get("at"), result))
    return rows


def exceptions(packet: Packet) -> list[str]:
    """Escalation, evidence reminders, refused or declined refunds, late evidence."""
    output = output_of(packet)
    notes = []
    if output.get("escalated"):
        notes.append(
            f"The SLA due time ({when(output.get('slaDue'))}) passed while the case waited: "
            "escalated, customer told."
        )
    for work, attempt in _results(packet, NOTIFY_DISPUTE_CUSTOMER_ACTIVITY):
        if str(work.get("template", "")).endswith("evidence_reminder"):
            notes.append(f"Evidence reminder sent to the customer at {when(attempt.get('finishedAt'))}.")
    for record in output.get("decisions") or []:
        if record.get("accepted") is False:
            notes.append(
                f"A decision was refused at {when(record.get('at'))}: "
                f"{record.get('detail') or record.get('decision')}."
            )
    refund = output.get("refund") or {}
    if refund and refund.get("status") not in ("succeeded", "pending"):
        notes.append(
            f"The payment gateway answered '{refund.get('status')}' to the refund of "
            f"{money_text(refund.get('amount'))}."
        )
    return notes


def documents(packet: Packet) -> list[BusinessDocument]:
    """The dispute resolution letter (one per dispute)."""
    instance_id = str(packet["instance"]["instanceId"])
    dispute = input_of(packet)
    output = output_of(packet)
    refund = output.get("refund") or {}
    rules = next(iter(_results(packet, APPLY_FARE_RULES_ACTIVITY)), ({}, {}))[1].get("result") or {}
    outcome = str(output.get("outcome") or "")
    met = within_sla(packet)
    deciders = [d for d in output.get("decisions") or [] if d.get("decision") not in ("evidence", "escalate")]
    decided_by = (
        _decider_text(deciders[-1].get("actor") or deciders[-1].get("decidedBy")) if deciders else "—"
    )
    amount = money_text(refund.get("amount")) if refund else "none"
    finding = str(rules.get("explanation") or "").replace("_", " ")
    last = deciders[-1] if deciders else {}
    if last and not (isinstance(last.get("decidedBy"), str) and last["decidedBy"] in DECIDER_WORDS):
        verb = DECISION_WORDS.get(str(last.get("decision")), str(last.get("decision"))).lower()
        reason = f"{verb} by a supervisor after review" + (
            f"; the fare rule found: {finding}" if finding else ""
        )
    else:
        reason = finding or str(last.get("detail") or outcome).replace("_", " ")
    body = (
        f"We have reviewed your dispute {dispute.get('disputeId')} about trip {dispute.get('tripId')}: "
        "you were "
        f"{REASON_WORDS.get(str(dispute.get('reason')), str(dispute.get('reason')))} and claimed "
        f"{money_text(dispute.get('claimedAmount'))}. Our decision: {OUTCOME_WORDS.get(outcome, outcome)}."
    )
    if refund:
        body += (
            f" We refund {amount} to the card you paid with "
            f"(refund reference {refund.get('refundId') or '—'})."
        )
    document = Document(
        title="Dispute resolution letter",
        subtitle=f"Dispute {dispute.get('disputeId')} · customer {dispute.get('customerId')} · "
        f"instance {instance_id}",
        sections=(
            Section("Our decision", (Paragraph("Dear customer,"), Paragraph(body))),
            Section(
                "Details",
                (
                    Facts(
                        (
                            ("Dispute", str(dispute.get("disputeId"))),
                            ("Trip", str(dispute.get("tripId"))),
                            ("Decision", OUTCOME_WORDS.get(outcome, outcome or "—")),
                            ("Amount claimed", money_text(dispute.get("claimedAmount"))),
                            ("Amount refunded", amount),
                            ("Refund reference", str(refund.get("refundId") or "—")),
                            ("Reason", reason),
                            (
                                "Fare rule",
                                f"{rules.get('ruleId') or output.get('ruleId') or '—'} "
                                f"(rules {rules.get('rulesVersion') or '—'})",
                            ),
                            ("Decided by", decided_by),
                            ("Resolved at", when(finished_at(packet))),
                            ("Due by (SLA, 2 business days)", when(output.get("slaDue"))),
                            ("Within SLA", "yes" if met else ("no" if met is False else "—")),
                        )
                    ),
                ),
            ),
            sealed_with_packet_section(instance_id, "letter"),
        ),
        footer="Addressed by customer id; no name, contact or card details appear in this letter.",
        keywords=(instance_id, "fare dispute", "resolution letter"),
    )
    return [BusinessDocument("resolution-letter", "Dispute resolution letter", document)]
