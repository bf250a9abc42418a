"""What a maintenance order proves: who approved (or rejected) its release and when, reminders and
escalation, and the release certificate / compliance pack a quality audit asks for.

The document (`release-certificate` for a released order, `compliance-pack` otherwise) lists the
inspection findings, the parts with their suppliers and supplier request ids, the decision with the
approver's principal, role and time, and the ids the document store gave the certificate and pack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import workflow_catalogue
from audit_packets.case_report import (
    BusinessDocument,
    Decision,
    Packet,
    activities_named,
    actor_parts,
    actor_text,
    duration_text,
    event_data,
    input_of,
    last_result,
    output_of,
    timeline_events,
    when,
)
from audit_packets.document import Document, Facts, Paragraph, Section, Table
from audit_packets.history import decision_records, failure_policy_record
from contracts.maintenance_order import (
    APPROVAL_DECISION_EVENT,
    CAPTURE_INSPECTION,
    GENERATE_COMPLIANCE_PACK,
    ISSUE_RELEASE_CERTIFICATE,
    LOOK_UP_PARTS,
    NOTIFY_CUSTOMER,
    REQUEST_PARTS_FROM_SUPPLIER,
    SEND_APPROVAL_REMINDER,
)

OUTCOME_WORDS = {
    "released": "released to service",
    "rejected": "rejected (not released)",
    "expired": "expired: no decision before the approval deadline",
}
# Step and event titles for the report; evidence/__init__.py assembles them into the workflow's
# CaseProfile with the hooks below (and adds the sealing step every workflow ends with).
STEP_TITLES: Mapping[str, str] = {
    CAPTURE_INSPECTION: "Inspection filed",
    LOOK_UP_PARTS: "Parts looked up",
    REQUEST_PARTS_FROM_SUPPLIER: "Parts requested from supplier",
    GENERATE_COMPLIANCE_PACK: "Compliance pack generated",
    NOTIFY_CUSTOMER: "Customer notified",
    SEND_APPROVAL_REMINDER: "Approval reminder / escalation sent",
    ISSUE_RELEASE_CERTIFICATE: "Release certificate issued",
}
EVENT_TITLES: Mapping[str, str] = {APPROVAL_DECISION_EVENT: "Approval decision received"}


def _decider(decision: dict[str, Any] | None) -> Any:
    if not decision:
        return None
    return decision.get("decidedBy") or decision.get("approver")


def audit_extras(packet: Packet) -> dict[str, Any]:
    """The maintenance order's part of the packet: decision, approval events, reminders, outcome."""
    output = output_of(packet)
    decision = output.get("approval") if isinstance(output.get("approval"), dict) else None
    approved = bool(decision and decision.get("approved"))
    reminders = [
        {
            "recipient": (activity.get("input") or {}).get("recipient"),
            "reminderNumber": (activity.get("input") or {}).get("reminderNumber"),
            "sentAt": activity["attempts"][-1].get("finishedAt"),
            "outcome": activity.get("outcome"),
        }
        for activity in activities_named(packet, SEND_APPROVAL_REMINDER)
    ]
    started_by = input_of(packet).get("startedBy")
    return {
        "orderId": workflow_catalogue.MAINTENANCE_ORDER.business_id(str(packet["instance"]["instanceId"])),
        "instanceIds": [packet["instance"]["instanceId"]],
        "startedBy": started_by if isinstance(started_by, dict) else None,
        "approval": {
            "decision": decision,
            "approvedBy": decision.get("approver") if decision and approved else None,
            "approvedByPrincipal": decision.get("decidedBy") if decision and approved else None,
            "decidedBy": decision.get("decidedBy") if decision else None,
            "approvedAt": decision.get("decidedAt") if decision and approved else None,
            "receivedAt": decision.get("receivedAt") if decision else None,
            "events": decision_records(packet, APPROVAL_DECISION_EVENT, ("approved", "decidedAt")),
            "refused": output.get("refusedDecisions") or [],
        },
        "reminders": reminders,
        **failure_policy_record(packet),
        "finalOutcome": output.get("outcome") or packet.get("outcome", {}).get("status"),
    }


def outcome_text(packet: Packet) -> str:
    """The order's outcome in words."""
    output = output_of(packet)
    outcome = output.get("outcome")
    if not outcome:
        stage = ((packet.get("customStatus") or {}).get("current") or {}).get("stage")
        return f"in progress (stage: {str(stage or 'starting').replace('_', ' ')})"
    text = OUTCOME_WORDS.get(str(outcome), str(outcome))
    decision = output.get("approval") or {}
    if outcome in ("released", "rejected") and decision:
        verb = "approved" if decision.get("approved") else "rejected"
        text += f"; {verb} by {actor_parts(_decider(decision))[0]}"
    return text


def people(packet: Packet) -> list[tuple[str, str]]:
    """Who started, inspected and decided."""
    order = input_of(packet)
    inspection = order.get("inspection") or {}
    rows = []
    if order.get("startedBy"):
        rows.append(("Started by", actor_text(order["startedBy"])))
    rows.append(("Inspector", str(inspection.get("inspector") or "—")))
    decision = output_of(packet).get("approval")
    if decision:
        rows.append(("Decided by", actor_text(_decider(decision))))
    return rows


def _approval_requested_at(packet: Packet) -> str | None:
    for activity in activities_named(packet, NOTIFY_CUSTOMER):
        if str((activity.get("input") or {}).get("template", "")).endswith("awaiting_approval"):
            attempts = activity.get("attempts") or []
            return str(attempts[-1].get("finishedAt")) if attempts else None
    return None


def sla(packet: Packet) -> str:
    """The approval deadline and whether the decision came within it."""
    policy = input_of(packet).get("approvalPolicy") or {}
    limit = policy.get("approvalDeadline") or "—"
    output = output_of(packet)
    outcome = output.get("outcome")
    requested = _approval_requested_at(packet)
    if outcome == "expired":
        return f"Approval deadline {limit} after the request: missed, the order expired without a decision."
    decision = output.get("approval") or {}
    if decision:
        took = duration_text(requested, decision.get("receivedAt"))
        return f"Approval deadline {limit} after the request: met, decided {took} after the request."
    return f"Approval deadline {limit} after the request (requested {when(requested)}); not decided yet."


def decisions(packet: Packet) -> list[Decision]:
    """Every approval decision received: the one taken, refused ones, and those that came too late."""
    output = output_of(packet)
    taken = output.get("approval") or {}
    refused = output.get("refusedDecisions") or []
    rows: list[Decision] = []
    waiting_refusals = list(refused)  # the order takes decisions in arrival order
    taken_done = False
    for event in timeline_events(packet, APPROVAL_DECISION_EVENT):
        data = event_data(event)
        by = event.get("principal") or data.get("decidedBy") or data.get("approver") or event.get("by")
        verb = "Approve release" if data.get("approved") else "Reject release"
        if waiting_refusals and _same_decider(waiting_refusals[0], data):
            result = f"refused: {waiting_refusals.pop(0).get('reason')}"
        elif taken and not taken_done and data.get("decidedAt") == taken.get("decidedAt"):
            result, taken_done = "taken", True
        elif output.get("outcome") == "expired":
            result = "too late: the order had expired"
        else:
            result = "not taken (the order had already decided)"
        rows.append(Decision(verb, by, data.get("decidedAt"), event.get("receivedAt"), result))
    if taken and not rows:  # history without the event (e.g. trimmed): the output still says who
        verb = "Approve release" if taken.get("approved") else "Reject release"
        rows.append(Decision(verb, _decider(taken), taken.get("decidedAt"), taken.get("receivedAt")))
    return rows


def _same_decider(refusal: dict[str, Any], data: dict[str, Any]) -> bool:
    ours, theirs = refusal.get("decidedBy") or {}, data.get("decidedBy") or {}
    if isinstance(ours, dict) and isinstance(theirs, dict) and ours.get("principalId"):
        return bool(ours.get("principalId") == theirs.get("principalId"))
    return bool(refusal.get("approver") == data.get("approver"))


def exceptions(packet: Packet) -> list[str]:
    """Reminders, escalation, expiry, refused decisions."""
    output = output_of(packet)
    notes = []
    reminders = activities_named(packet, SEND_APPROVAL_REMINDER)
    for activity in reminders:
        work = activity.get("input") or {}
        attempts = activity.get("attempts") or []
        at = when(attempts[-1].get("finishedAt")) if attempts else "—"
        if work.get("recipient") == "supervisor":
            notes.append(
                f"Escalated to the supervisor at {at} "
                f"(no decision after {work.get('reminderNumber')} reminders)."
            )
        else:
            notes.append(f"Reminder {work.get('reminderNumber')} sent to the approvers at {at}.")
    for refusal in output.get("refusedDecisions") or []:
        who = actor_text(refusal.get("decidedBy") or refusal.get("approver"))
        notes.append(
            f"Decision by {who} refused at {when(refusal.get('receivedAt'))}: {refusal.get('reason')}."
        )
    if output.get("outcome") == "expired":
        notes.append("The order expired: no approval decision was taken in before the deadline.")
    return notes


def _parts_rows(packet: Packet) -> list[tuple[str, str, str, str, str]]:
    offers: dict[str, tuple[str, str]] = {}
    for activity in activities_named(packet, LOOK_UP_PARTS):
        for offer in last_result(activity).get("offers") or []:
            offers[str(offer.get("partNumber"))] = (
                str(offer.get("supplierId")),
                str(offer.get("leadTimeDays")),
            )
    rows = []
    for activity in activities_named(packet, REQUEST_PARTS_FROM_SUPPLIER):
        work = activity.get("input") or {}
        result = last_result(activity)
        for line in work.get("parts") or []:
            part = str(line.get("partNumber"))
            rows.append(
                (
                    part,
                    str(line.get("quantity")),
                    str(work.get("supplierId")),
                    f"{offers.get(part, ('', '—'))[1]} days",
                    str(result.get("supplierRequestId") or "not answered"),
                )
            )
    return rows


def documents(packet: Packet) -> list[BusinessDocument]:
    """The release certificate (released orders) or compliance pack (rejected, expired): one per order."""
    instance_id = str(packet["instance"]["instanceId"])
    order = input_of(packet)
    output = output_of(packet)
    decision = output.get("approval") or {}
    released = output.get("outcome") == "released"
    name, role, principal_id = actor_parts(_decider(decision))
    certificate = last_result(next(iter(activities_named(packet, ISSUE_RELEASE_CERTIFICATE)), {}))
    pack = last_result(next(iter(activities_named(packet, GENERATE_COMPLIANCE_PACK)), {}))
    inspection = order.get("inspection") or {}
    title = (
        "Maintenance release certificate and compliance pack" if released else "Maintenance compliance pack"
    )
    findings = tuple(
        (
            str(finding.get("code")),
            str(finding.get("severity")),
            ", ".join(str(p) for p in finding.get("partNumbers") or []) or "none",
        )
        for finding in inspection.get("findings") or []
    )
    statement = (
        f"Order {output.get('orderId') or order.get('orderId')} for asset {order.get('assetId')} is released "
        f"to service on the approval of {name} ({role}) given at {when(decision.get('decidedAt'))}."
        if released
        else f"Order {output.get('orderId') or order.get('orderId')} for asset {order.get('assetId')} "
        "was NOT "
        f"released: {OUTCOME_WORDS.get(str(output.get('outcome')), str(output.get('outcome')))}."
    )
    document = Document(
        title=title,
        subtitle=f"Order {order.get('orderId')} · asset {order.get('assetId')} · instance {instance_id}",
        sections=(
            Section("Statement", (Paragraph(statement),)),
            Section(
                "Release decision",
                (
                    Facts(
                        (
                            (
                                "Outcome",
                                OUTCOME_WORDS.get(str(output.get("outcome")), str(output.get("outcome"))),
                            ),
                            ("Approver", name if decision else "—"),
                            ("Approver role", role if decision else "—"),
                            ("Approver principal id", principal_id if decision else "—"),
                            ("Decided at", when(decision.get("decidedAt")) if decision else "—"),
                            (
                                "Taken in by the workflow at",
                                when(decision.get("receivedAt")) if decision else "—",
                            ),
                            ("Release certificate id", str(certificate.get("documentId") or "—")),
                            (
                                "Compliance pack id",
                                str(pack.get("documentId") or output.get("complianceDocumentId") or "—"),
                            ),
                            ("Orchestration version", str(output.get("orchestrationVersion") or "—")),
                        )
                    ),
                ),
            ),
            Section(
                "Inspection findings",
                (
                    Paragraph(f"Inspected by {inspection.get('inspector') or '—'}."),
                    Table(("Finding", "Severity", "Parts needed"), findings, "No findings.", (0.3, 0.2, 0.5)),
                ),
            ),
            Section(
                "Parts and suppliers",
                (
                    Table(
                        ("Part", "Quantity", "Supplier", "Lead time", "Supplier request id"),
                        tuple(_parts_rows(packet)),
                        "No parts were requested.",
                        (0.18, 0.12, 0.22, 0.14, 0.34),
                    ),
                ),
            ),
            Section(
                "Evidence",
                (
                    Paragraph(
                        f"This document is part of the sealed audit packet of instance {instance_id}: the "
                        "packet lists its SHA-256 and is signed, so any change to this file is detectable "
                        "(python -m ops audit verify).",
                        note=True,
                    ),
                ),
            ),
        ),
        footer="No customer contact details appear in this document.",
        keywords=(instance_id, "maintenance", "release certificate"),
    )
    return [BusinessDocument("release-certificate" if released else "compliance-pack", title, document)]
