# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""Maintenance order: from inspection to an approved release (or a rejection, or expiry).

Business steps, one instance per order (`maintenance-<orderId>`):
1. Capture the inspection: file the inspector's findings as the order's inspection record.
2. Look up parts: one catalogue lookup per finding (fan-out), giving a supplier per part.
3. Request parts: one request per supplier (fan-out), keyed `<instance>:request_parts:<supplier>`,
   retried with `SUPPLIER_RETRY`; the effect ledger and the supplier dedupe by that key.
4. Generate the compliance pack: a document blob (claim-check) filed in the document store.
5. Notify the customer that the order waits for approval (contact details by claim-check reference).
6. Wait for the approval decision (`APPROVAL_DECISION_EVENT`). Durable timers send a reminder every
   `reminderInterval`; after `escalateAfterReminders` reminders the next one escalates to a
   supervisor instead; at `approvalDeadline` (from the start of the wait) the order expires.
   A decision raised before the wait begins is buffered by the runtime and taken here; one taken
   in at or after the deadline is late (deadlines first: the same outcome whichever of the two
   the host delivers first). Durations are elapsed time in UTC, so DST nights do not move them.
   The decider is the authenticated principal the HTTP edge recorded (`decidedBy`); an order that
   records who started it (`startedBy`) refuses a decision by that same principal, or one that
   names no principal, and keeps waiting (maker-checker, also when an event bypasses the edge).
7. Release (release certificate filed, naming the approver's principal) or rejection or expiry,
   then tell the customer the outcome.
8. Seal the audit packet (orders started with `sealsAuditPacket`): writes the signed packet and the
   release certificate / compliance pack once (audit_packets/seal_step.py).
9. Schedule the erasure of the order's personal data (orders started with `erasesPersonalData`):
   the contact details and the approval comment go once the retention period has passed
   (personal_data/erasure_step.py); the order completes at once.

Custom status (`MaintenanceOrderStatus`) shows the stage, what the order waits for and the deadline
throughout. The output records the orchestration version (host.json `defaultVersion`), the
decision with approver and timestamps, reminders sent and every external receipt id.

Failure policy (orchestrators/failure_policy.py): customer messages, reminders and escalations are
best effort (the order goes on and records what stayed unsent); the inspection record, supplier
requests, compliance pack and release certificate are strict: when one still fails, the order ends
Failed with a custom status that names the step and what stays done (supplier requests cannot be
withdrawn), and a rewind retries the step under the same keys.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import azure.durable_functions as df
from pydantic import Field

from audit_packets.seal_step import SEAL_STEP, seal_audit_packet
from contracts import ContractModel, parse_duration, parse_event, utc_text
from contracts.failure import StepFailure, failure_reason
from contracts.maintenance_order import (
    APPROVAL_DECISION_EVENT,
    CAPTURE_INSPECTION,
    GENERATE_COMPLIANCE_PACK,
    ISSUE_RELEASE_CERTIFICATE,
    LOOK_UP_PARTS,
    MAINTENANCE_ORDER,
    NOTIFY_CUSTOMER,
    REQUEST_PARTS_FROM_SUPPLIER,
    SEND_APPROVAL_REMINDER,
    WORKFLOW,
    ApprovalDecisionEvent,
    ApprovalRecord,
    CaptureInspectionWork,
    ComplianceWork,
    FiledDocument,
    InspectionRecord,
    LookUpPartsWork,
    MaintenanceOrderInput,
    MaintenanceOrderOutput,
    MaintenanceOrderStatus,
    NotificationResult,
    NotifyCustomerWork,
    PartLineWork,
    PartsLookup,
    RefusedDecision,
    ReleaseCertificateWork,
    ReminderWork,
    RequestPartsWork,
    Stage,
    SupplierRequestSummary,
)
from idempotency import orchestration_effect_key
from identity import Role, decision_refusal
from orchestrators.failure_policy import (
    BEST_EFFORT_RETRY,
    best_effort,
    log_process_failure,
)
from orchestrators.steps import EventWait, call, call_all, call_task, publish_status
from personal_data.erasure_step import schedule_personal_data_erasure
from telemetry import OrchestrationLogger, orchestration_log

bp = df.Blueprint()


# Supplier APIs answer 503 during their own deploys and night maintenance: 6 attempts 5 s apart
# (SDK 1.x RetryOptions has no backoff, so ~25 s in all) ride out a restart; the effect ledger
# lease (PT2M) is longer than one attempt's adapter timeout (PT30S).
SUPPLIER_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=6)
# Our own storage and the document provider: brief blips only (messages are best effort instead).
STRICT_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=4)

UNVERSIONED = "unversioned"

# Customer message templates (the messaging provider holds their text).
TEMPLATE_AWAITING_APPROVAL = "maintenance.awaiting_approval"
TEMPLATE_RELEASED = "maintenance.released"
TEMPLATE_REJECTED = "maintenance.rejected"
TEMPLATE_EXPIRED = "maintenance.expired"

# The refusal recorded when the principal who started the order sends its approval (maker-checker;
# identity.decision_refusal checks it, only for orders that record `startedBy`).
_STARTER_CANNOT_APPROVE = "the principal who started the order cannot approve it (maker-checker)"


class ApprovalWaitResult(ContractModel):
    """What the approval wait ended with."""

    decision: ApprovalRecord | None
    reminders_sent: int
    escalated: bool
    refused: list[RefusedDecision] = Field(default_factory=list)


# -- the orchestration ------------------------------------------------------------------------------


@dataclass
class _Progress:
    """What the running order has done so far (rebuilt identically on every replay)."""

    step: str = "capture_inspection"
    kept: list[str] = field(default_factory=list)
    unsent: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)


@bp.orchestration_trigger(context_name="context", orchestration=MAINTENANCE_ORDER)
def maintenance_order(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run one maintenance order. Input: `MaintenanceOrderInput`; output: `MaintenanceOrderOutput`."""
    order = MaintenanceOrderInput.from_dict(context.get_input())
    journal = orchestration_log(context, WORKFLOW)
    progress = _Progress()
    try:
        return (yield from _process(context, order, journal, progress))
    except Exception as error:
        # A strict step ran out of retries: nothing the order did can be withdrawn (supplier
        # requests, filed documents, messages), so the status records what stays done.
        failure = StepFailure(step=progress.step, reason=failure_reason(error), kept=progress.kept or None)
        publish(context, progress, MaintenanceOrderStatus(stage=Stage.FAILED, failure=failure))
        log_process_failure(journal, failure)
        raise


def _process(
    context: df.DurableOrchestrationContext,
    order: MaintenanceOrderInput,
    journal: OrchestrationLogger,
    progress: _Progress,
) -> Generator[Any, Any, dict[str, Any]]:
    """The business steps (module docstring)."""
    version = context.version or UNVERSIONED

    # 1. Capture the inspection.
    publish(context, progress, MaintenanceOrderStatus(stage=Stage.CAPTURING_INSPECTION))
    record = yield from call(
        context,
        CAPTURE_INSPECTION,
        CaptureInspectionWork(
            key=orchestration_effect_key(context, "capture_inspection"),
            order_id=order.order_id,
            asset_id=order.asset_id,
            inspection=order.inspection,
        ),
        InspectionRecord,
        STRICT_RETRY,
    )
    progress.kept.append("inspection record filed")

    # 2. Look up the parts of every finding (fan-out).
    progress.step = "look_up_parts"
    publish(context, progress, MaintenanceOrderStatus(stage=Stage.LOOKING_UP_PARTS))
    lookups = yield from call_all(
        context,
        LOOK_UP_PARTS,
        [
            LookUpPartsWork(finding_code=finding.code, part_numbers=finding.part_numbers)
            for finding in order.inspection.findings
            if finding.part_numbers
        ],
        PartsLookup,
        SUPPLIER_RETRY,
    )

    # 3. One parts request per supplier (fan-out), each keyed by the supplier.
    progress.step = "request_parts"
    publish(context, progress, MaintenanceOrderStatus(stage=Stage.REQUESTING_PARTS))
    supplier_requests = yield from call_all(
        context,
        REQUEST_PARTS_FROM_SUPPLIER,
        [
            RequestPartsWork(
                key=orchestration_effect_key(context, "request_parts", supplier_id),
                supplier_id=supplier_id,
                order_reference=order.order_id,
                parts=parts,
            )
            for supplier_id, parts in parts_by_supplier(lookups)
        ],
        SupplierRequestSummary,
        SUPPLIER_RETRY,
    )
    progress.kept += [
        f"supplier request {item.supplier_request_id} to {item.supplier_id}" for item in supplier_requests
    ]
    journal.bind(step="request_parts").info("parts requested", suppliers=str(len(supplier_requests)))

    # 4. The compliance pack.
    progress.step = "compliance_pack"
    publish(context, progress, MaintenanceOrderStatus(stage=Stage.GENERATING_DOCUMENTS))
    compliance = yield from call(
        context,
        GENERATE_COMPLIANCE_PACK,
        ComplianceWork(
            key=orchestration_effect_key(context, "compliance_pack"),
            order_id=order.order_id,
            asset_id=order.asset_id,
            inspection_document=record.document,
            supplier_requests=supplier_requests,
            generated_at=utc_text(context.current_utc_datetime),
            orchestration_version=version,
        ),
        FiledDocument,
        STRICT_RETRY,
    )
    progress.kept.append(f"compliance pack {compliance.document_id}")

    # 5. Tell the customer the order waits for approval (best effort).
    progress.step = "notify_customer"
    publish(context, progress, MaintenanceOrderStatus(stage=Stage.NOTIFYING_CUSTOMER))
    yield from notify(
        context, journal, progress, order, step="awaiting_approval", template=TEMPLATE_AWAITING_APPROVAL
    )

    # 6. Wait for the decision, with reminders, escalation and a deadline.
    progress.step = "await_approval"
    waited = yield from await_approval(context, journal, progress, order)
    decision = waited.decision

    # 7. Release or reject (or expire), then tell the customer.
    certificate_id: str | None = None
    if decision is not None and decision.approved:
        progress.step = "release_certificate"
        publish(context, progress, MaintenanceOrderStatus(stage=Stage.RELEASING))
        certificate = yield from call(
            context,
            ISSUE_RELEASE_CERTIFICATE,
            ReleaseCertificateWork(
                key=orchestration_effect_key(context, "release_certificate"),
                order_id=order.order_id,
                asset_id=order.asset_id,
                approver=decision.approver,
                decided_at=decision.decided_at,
                compliance_document_id=compliance.document_id,
                orchestration_version=version,
                approved_by=decision.decided_by,
            ),
            FiledDocument,
            STRICT_RETRY,
        )
        certificate_id = certificate.document_id
        outcome: Literal["released", "rejected", "expired"] = "released"
        template = TEMPLATE_RELEASED
    elif decision is not None:
        outcome, template = "rejected", TEMPLATE_REJECTED
    else:
        outcome, template = "expired", TEMPLATE_EXPIRED

    progress.step = "notify_outcome"
    publish(context, progress, MaintenanceOrderStatus(stage=Stage.NOTIFYING_OUTCOME))
    yield from notify(context, journal, progress, order, step=outcome, template=template)

    publish(context, progress, MaintenanceOrderStatus(stage=Stage(outcome)))
    journal.bind(step="outcome").info("maintenance order finished", outcome=outcome)
    result = MaintenanceOrderOutput(
        order_id=order.order_id,
        outcome=outcome,
        orchestration_version=version,
        inspection_record=record.document,
        supplier_requests=supplier_requests,
        compliance_document_id=compliance.document_id,
        approval=decision,
        reminders_sent=waited.reminders_sent,
        escalated=waited.escalated,
        release_certificate_id=certificate_id,
        customer_message_ids=progress.message_ids,
        started_by=order.started_by,
        refused_decisions=waited.refused or None,
        unsent_notifications=progress.unsent or None,
    ).to_dict()

    # 8. Seal the audit packet (the outcome stage published above is its proof that history is stored;
    # so it comes right after that stage, before anything else is scheduled).
    if order.seals_audit_packet:
        progress.step = SEAL_STEP
        yield seal_audit_packet(context, workflow=WORKFLOW, final_stage=outcome, output=result)
    # 9. Schedule the erasure of the customer's contact details and the approval comment (after the
    # seal: the packet holds no personal data, and erasing never changes what was sealed).
    if order.erases_personal_data:
        yield from schedule_personal_data_erasure(context, workflow=WORKFLOW)
    return result


def await_approval(
    context: df.DurableOrchestrationContext,
    journal: OrchestrationLogger,
    progress: _Progress,
    order: MaintenanceOrderInput,
) -> Generator[Any, Any, ApprovalWaitResult]:
    """Wait for the decision; remind, then escalate, on durable timers; expire at the deadline."""
    policy = order.approval_policy
    interval = parse_duration(policy.reminder_interval)
    deadline = context.current_utc_datetime + parse_duration(policy.approval_deadline)
    decisions = EventWait(context, APPROVAL_DECISION_EVENT)
    reminders_sent = 0
    escalated = False
    refused: list[RefusedDecision] = []

    def waited(decision: ApprovalRecord | None = None) -> ApprovalWaitResult:
        return ApprovalWaitResult(
            decision=decision, reminders_sent=reminders_sent, escalated=escalated, refused=refused
        )

    while True:
        next_reminder: datetime | None = None
        if not escalated and context.current_utc_datetime + interval < deadline:
            next_reminder = context.current_utc_datetime + interval
        publish(
            context,
            progress,
            MaintenanceOrderStatus(
                stage=Stage.AWAITING_APPROVAL,
                waiting_for=APPROVAL_DECISION_EVENT,
                deadline_utc=utc_text(deadline),
                next_reminder_utc=utc_text(next_reminder) if next_reminder else None,
                reminders_sent=reminders_sent,
                escalated=escalated,
            ),
        )
        arrival = yield from decisions.until(next_reminder or deadline)
        if arrival is not None:
            if policy.deadlines_first and context.current_utc_datetime >= deadline:
                return waited()
            event = parse_event(arrival.payload, ApprovalDecisionEvent)
            received_at = utc_text(arrival.received_at)
            refusal = decision_refusal(
                order.started_by, event.decided_by, Role.MAINTENANCE_APPROVER, _STARTER_CANNOT_APPROVE
            )
            if refusal is not None:
                # The order keeps waiting (the next round opens a fresh wait). Only orders that
                # record `startedBy` get here, so recorded histories of older orders are unaffected.
                refused.append(
                    RefusedDecision(
                        approver=event.approver,
                        received_at=received_at,
                        reason=refusal,
                        decided_by=event.decided_by,
                    )
                )
                orchestration_log(context, WORKFLOW, "approval").warning("decision refused", reason=refusal)
                continue
            return waited(
                ApprovalRecord(
                    approved=event.approved,
                    approver=event.approver,
                    decided_at=event.decided_at,
                    received_at=received_at,
                    decided_by=event.decided_by,
                )
            )
        if context.current_utc_datetime >= deadline:
            return waited()
        escalate = reminders_sent >= policy.escalate_after_reminders
        if escalate:
            escalated = True
        else:
            reminders_sent += 1
        step = "escalate_approval" if escalate else "approval_reminder"
        sent = yield from best_effort(
            journal,
            step,
            call_task(
                context,
                SEND_APPROVAL_REMINDER,
                ReminderWork(
                    key=orchestration_effect_key(context, step, None if escalate else reminders_sent),
                    order_id=order.order_id,
                    recipient="supervisor" if escalate else "approver",
                    reminder_number=reminders_sent,
                    deadline_utc=utc_text(deadline),
                ),
                BEST_EFFORT_RETRY,
            ),
        )
        if sent is None:
            progress.unsent.append(step if escalate else f"{step}:{reminders_sent}")


def notify(
    context: df.DurableOrchestrationContext,
    journal: OrchestrationLogger,
    progress: _Progress,
    order: MaintenanceOrderInput,
    *,
    step: str,
    template: str,
) -> Generator[Any, Any, None]:
    """Send one templated customer message for `step` (keyed by the step), best effort."""
    result = yield from best_effort(
        journal,
        "notify_customer",
        call_task(
            context,
            NOTIFY_CUSTOMER,
            NotifyCustomerWork(
                key=orchestration_effect_key(context, "notify_customer", step),
                customer_contact=order.customer_contact,
                template=template,
                parameters={"orderId": order.order_id, "assetId": order.asset_id},
            ),
            BEST_EFFORT_RETRY,
        ),
    )
    if result is None:
        progress.unsent.append(f"notify_customer:{step}")
        return
    notified = NotificationResult.from_dict(result)
    if notified.message_id:
        progress.message_ids.append(notified.message_id)


def parts_by_supplier(lookups: list[PartsLookup]) -> list[tuple[str, list[PartLineWork]]]:
    """Group looked-up parts by supplier: quantity = findings needing the part; sorted for replay."""
    quantities: dict[str, dict[str, int]] = {}
    for lookup in lookups:
        for offer in lookup.offers:
            parts = quantities.setdefault(offer.supplier_id, {})
            parts[offer.part_number] = parts.get(offer.part_number, 0) + 1
    return [
        (
            supplier_id,
            [
                PartLineWork(part_number=part, quantity=count)
                for part, count in sorted(quantities[supplier_id].items())
            ],
        )
        for supplier_id in sorted(quantities)
    ]


def publish(
    context: df.DurableOrchestrationContext, progress: _Progress, status: MaintenanceOrderStatus
) -> None:
    """Set the custom status (a small typed dict), with the messages that stayed unsent so far."""
    if progress.unsent:
        status = status.model_copy(update={"unsent": list(progress.unsent)})
    publish_status(context, status)
