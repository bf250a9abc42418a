# mypy: disable-error-code="untyped-decorator"
"""Fare dispute: one orchestration per disputed fare, resolved within 2 business days.

Business steps (instance id `fare-dispute-<disputeId>`):
1. Filed: the SLA due time is fixed (2 business days from filing, in the configured time zone,
   weekends and holidays skipped; a case filed on a weekend or holiday starts its clock at the
   start of the next business day, so it is due at the end of the 2nd business day) and the
   customer is told it.
2. Trip history: the trip is looked up (only a card- and contact-free summary comes back); an
   unknown trip, or one of another customer, closes the case as `trip_not_found`.
3. Fare rules (data: fare_data/fare_rules.json): overcharge vs tariff, cancelled trip, duplicate
   charge. A rule either confirms a refundable amount, cannot confirm it from the trip history
   (`unconfirmed`), or finds the claim not eligible (rejected).
4. Decision: a confirmed amount up to the auto-approve limit is refunded at once. Otherwise the
   case goes to a supervisor (external event `supervisor_decision`: approve, partial, reject);
   an unconfirmed claim first asks the customer for evidence (event `evidence_submitted`), with a
   reminder and, after the configured wait, closes as `insufficient_evidence`. The supervisor is
   the authenticated principal the HTTP edge recorded (`decidedBy`); a dispute that records who
   filed it (`filedBy`) refuses a decision by that principal, or by none, and keeps waiting.
5. Refund: one refund per dispute through the payment gateway, idempotency key
   `<instance id>:issue_refund`, never more than what the trip was charged.
6. The customer hears at each step (received, evidence requested/reminder, under review,
   escalated, outcome). If the SLA due time passes while the case waits, it escalates once
   (custom status `escalated`) and the customer is told.
7. Seal the audit packet (cases filed with `sealsAuditPacket`): writes the signed packet and the
   dispute resolution letter once (audit_packets/seal_step.py).
8. The last step schedules the erasure of the case's evidence and supervisor notes once the
   retention period has passed (disputes filed with `erasesPersonalData`,
   personal_data/erasure_step.py); the case completes at once.

Deadlines come first: each wait has one durable timer, at the earliest of its deadlines, and
whatever wakes the case, a deadline that has passed by the case's clock is applied before anything
else it received: the SLA escalation, then the evidence deadline (evidence taken in at or after it
is refused as late). So when a deadline and an event reach the case in one batch, the outcome is
the same whichever the host delivered first. (Cases filed before these rules, `deadlineRules` 1,
keep the old behaviour on replay.)

Everything that crosses the wire is a ContractModel in its dict form; contact details, card data,
evidence text and supervisor notes never enter the orchestration (claim-check references only).

Failure policy (orchestrators/failure_policy.py): customer messages are best effort (the case goes
on and records what stayed unsent); the trip look-up, the fare rules and the refund are strict.

Limits: a refund that still fails after the activity's retries fails the instance (custom status
`failure` names the step; the refund may or may not have been taken by the gateway); rewinding it
retries under the same key, so it still pays at most once. Two disputes
about the same trip are two cases, each capped by the charge it refunds. Trip history and the
customer directory come from a JSON file (no ticketing or CRM integration exists yet).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import azure.durable_functions as df
from pydantic import ValidationError

from audit_packets.seal_step import SEAL_STEP, seal_audit_packet
from contracts import ContractModel, Money, parse_event, utc_text
from contracts.failure import StepFailure, failure_reason
from contracts.fare_dispute import (
    APPLY_FARE_RULES_ACTIVITY,
    CURRENT_DEADLINE_RULES,
    EVIDENCE_SUBMITTED_EVENT,
    FARE_DISPUTE_ORCHESTRATOR,
    ISSUE_FARE_REFUND_ACTIVITY,
    LOOK_UP_DISPUTED_TRIP_ACTIVITY,
    NOTIFY_DISPUTE_CUSTOMER_ACTIVITY,
    SUPERVISOR_DECISION_EVENT,
    WORKFLOW,
    ApplyFareRulesInput,
    DeadlineRules,
    DecisionRecord,
    DisputeOutcome,
    DisputeStage,
    EvidenceSubmission,
    FareDisputeInput,
    FareDisputeResult,
    FareDisputeStatus,
    IssueRefundInput,
    IssueRefundResult,
    LookUpTripInput,
    NotifyCustomerInput,
    NotifyCustomerResult,
    RefundRecord,
    RuleEvaluation,
    SupervisorDecision,
    TripLookupResult,
    WaitingFor,
    money,
)
from idempotency import orchestration_effect_key
from identity import Actor, Role, decision_refusal
from orchestrators.failure_policy import (
    BEST_EFFORT_RETRY,
    best_effort,
    log_process_failure,
)
from orchestrators.steps import Arrival, EventWait, call, call_task, publish_status
from personal_data.erasure_step import schedule_personal_data_erasure
from telemetry import orchestration_log

# Every activity talks to an outside system (or storage) and is idempotent by key. 5 s apart,
# 6 attempts: rides out a gateway blip of about half a minute (the adapters' timeout is PT30S);
# a longer outage fails the instance, which operators can rewind (same keys, no duplicate effect).
# Customer messages use the failure policy's BEST_EFFORT_RETRY instead.
STRICT_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=6)

# The refusal recorded when the principal who filed the dispute decides it (maker-checker;
# identity.decision_refusal checks it, only for disputes that record `filedBy`).
_FILER_CANNOT_DECIDE = "the principal who filed the dispute cannot decide it (maker-checker)"


bp = df.Blueprint()

# -- SLA: business days, pure and deterministic ----------------------------------------------------


def is_business_day(day: date, holidays: frozenset[date]) -> bool:
    """Monday to Friday and not a holiday."""
    return day.weekday() < 5 and day not in holidays


def sla_due_utc(
    filed_at: datetime,
    time_zone: str,
    holidays: Sequence[date],
    business_days: int = 2,
    rules: DeadlineRules = CURRENT_DEADLINE_RULES,
) -> datetime:
    """The moment `business_days` business days after `filed_at`, as a UTC datetime.

    The SLA clock runs only on business days (Monday to Friday, not a holiday) in `time_zone`:
    - filed on a business day at 15:00, the case is due at 15:00 local on the `business_days`-th
      following business day (Friday 23:59 -> Tuesday 23:59; the wall time is kept across a DST
      change, so the UTC instant moves by the hour);
    - filed on a weekend or holiday, the clock starts at the start of the next business day and the
      case is due at the end of its `business_days`-th business day (Saturday 14:00 -> the end of
      Tuesday, i.e. Wednesday 00:00 local).
    Depends only on its arguments (zoneinfo data is pinned through tzdata), so replays compute the
    same instant. `rules` FIRST is how cases filed before DEADLINES_FIRST were computed.
    """
    zone = ZoneInfo(time_zone)
    closed = frozenset(holidays)
    local = filed_at.astimezone(zone)
    day = local.date()
    if is_business_day(day, closed):
        wall_time = local.time().replace(tzinfo=None)
        day = _business_days_after(day, business_days, closed)
        return datetime.combine(day, wall_time, tzinfo=zone).astimezone(UTC)
    first_day = _business_days_after(day, 1, closed)
    if rules == DeadlineRules.FIRST:
        due_day = _business_days_after(first_day, business_days, closed)
    else:  # the end of the last counted day is the start of the calendar day after it
        due_day = _business_days_after(first_day, business_days - 1, closed) + timedelta(days=1)
    return datetime.combine(due_day, time(0), tzinfo=zone).astimezone(UTC)


def _business_days_after(day: date, count: int, closed: frozenset[date]) -> date:
    """The `count`-th business day after `day` (`day` itself when count is 0)."""
    while count > 0:
        day += timedelta(days=1)
        if is_business_day(day, closed):
            count -= 1
    return day


# -- the orchestration -----------------------------------------------------------------------------


@dataclass
class _Case:
    """The running case inside one orchestrator execution (rebuilt identically on every replay)."""

    dispute: FareDisputeInput
    sla_due: datetime
    stage: DisputeStage = DisputeStage.FILED
    waiting_for: WaitingFor | None = None
    escalated: bool = False
    decisions: list[DecisionRecord] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    refund_approved_by: Actor | None = None
    unsent: list[str] = field(default_factory=list)
    sealing: bool = False


@bp.orchestration_trigger(context_name="context", orchestration=FARE_DISPUTE_ORCHESTRATOR)
def fare_dispute(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Resolve one fare dispute. Input: `FareDisputeInput` as a dict; output: `FareDisputeResult`."""
    dispute = FareDisputeInput.from_dict(context.get_input())
    settings = dispute.settings
    case = _Case(
        dispute,
        sla_due_utc(
            context.current_utc_datetime,
            settings.sla_time_zone,
            settings.sla_holidays,
            settings.sla_business_days,
            settings.deadline_rules,
        ),
    )
    try:
        return (yield from _resolve_dispute(context, case))
    except Exception as error:
        # A strict step ran out of retries. Nothing is undone: the only effect that matters, the
        # refund, either never happened or happened once under its key (a rewind settles which).
        kept = (
            [f"refund under key {orchestration_effect_key(context, 'issue_refund')} may have been taken"]
            if case.stage == DisputeStage.REFUNDING
            else ["the case was resolved and the customer told"]
            if case.sealing
            else None
        )
        step = SEAL_STEP if case.sealing else case.stage.value
        failure = StepFailure(step=step, reason=failure_reason(error), kept=kept)
        _publish(context, case, DisputeStage.FAILED, failure=failure)
        log_process_failure(orchestration_log(context, WORKFLOW), failure)
        raise


def _resolve_dispute(
    context: df.DurableOrchestrationContext, case: _Case
) -> Generator[Any, Any, dict[str, Any]]:
    """The business steps (module docstring)."""
    dispute = case.dispute
    settings = dispute.settings
    journal = orchestration_log(context, WORKFLOW)
    _publish(context, case, DisputeStage.FILED)
    journal.info("dispute filed", dispute_id=dispute.dispute_id, sla_due=utc_text(case.sla_due))
    yield from _notify(context, case, "received", {"slaDue": utc_text(case.sla_due)})

    # 2. Trip history.
    _publish(context, case, DisputeStage.LOOKING_UP_TRIP)
    lookup = yield from call(
        context,
        LOOK_UP_DISPUTED_TRIP_ACTIVITY,
        LookUpTripInput(customer_id=dispute.customer_id, trip_id=dispute.trip_id),
        TripLookupResult,
        STRICT_RETRY,
    )
    if lookup.trip is None:
        _decide(context, case, "rules", "reject", detail="trip_not_found")
        return (yield from _resolve(context, case, DisputeOutcome.TRIP_NOT_FOUND, None, None))

    # 3. Fare rules.
    _publish(context, case, DisputeStage.APPLYING_RULES)
    rules = yield from call(
        context,
        APPLY_FARE_RULES_ACTIVITY,
        ApplyFareRulesInput(reason=dispute.reason, claimed_amount=dispute.claimed_amount, trip=lookup.trip),
        RuleEvaluation,
        STRICT_RETRY,
    )
    journal.bind(step="apply_fare_rules").info("rule applied", rule_id=rules.rule_id, verdict=rules.verdict)
    if rules.verdict == "not_eligible":
        _decide(context, case, "rules", "reject", detail=rules.explanation)
        return (yield from _resolve(context, case, DisputeOutcome.REJECTED, rules, None))

    # 4. Decision: automatic, or evidence (when the rules cannot confirm) and a supervisor.
    refund_amount: Money | None
    if rules.verdict == "confirmed" and _within(rules.refundable, settings.auto_approve_limit):
        refund_amount = rules.refundable
        _decide(context, case, "rules", "auto_approve", amount=refund_amount, detail=rules.rule_id)
    else:
        if rules.verdict == "unconfirmed":
            evidence = yield from _await_evidence(context, case)
            if evidence is None:
                _decide(context, case, "rules", "close", detail="no_evidence_before_deadline")
                return (yield from _resolve(context, case, DisputeOutcome.INSUFFICIENT_EVIDENCE, rules, None))
        refund_amount = yield from _await_supervisor(context, case, rules)
        if refund_amount is None:
            return (yield from _resolve(context, case, DisputeOutcome.REJECTED, rules, None))

    # 5. Refund: once per dispute, never above what the trip was charged.
    if not _within(refund_amount, rules.refund_limit) or refund_amount.amount <= 0:
        # Both deciders above already keep to (0, fare]; this guards against a future edit.
        raise ValueError("refund amount outside (0, fare]: refusing to refund")
    _publish(context, case, DisputeStage.REFUNDING)
    assert rules.payment_reference is not None
    refund = yield from call(
        context,
        ISSUE_FARE_REFUND_ACTIVITY,
        IssueRefundInput(
            key=orchestration_effect_key(context, "issue_refund"),
            payment_reference=rules.payment_reference,
            amount=refund_amount,
            refund_limit=rules.refund_limit,
            reason=f"fare_{dispute.reason.value}",
        ),
        IssueRefundResult,
        STRICT_RETRY,
    )
    journal.bind(step="issue_fare_refund").info("refund answered", status=refund.status)
    record = RefundRecord(
        refund_id=refund.refund_id,
        amount=refund.amount,
        status=refund.status,
        approved_by=case.refund_approved_by,
    )
    if refund.status not in ("succeeded", "pending"):
        return (yield from _resolve(context, case, DisputeOutcome.REFUND_DECLINED, rules, record))
    full = refund_amount.amount >= min(rules.refund_limit.amount, case.dispute.claimed_amount.amount)
    outcome = DisputeOutcome.REFUNDED if full else DisputeOutcome.PARTIALLY_REFUNDED
    return (yield from _resolve(context, case, outcome, rules, record))


def _within(amount: Money, limit: Money) -> bool:
    return amount.currency == limit.currency and amount.amount <= limit.amount


def _publish(
    context: df.DurableOrchestrationContext,
    case: _Case,
    stage: DisputeStage,
    waiting_for: WaitingFor | None = None,
    outcome: DisputeOutcome | None = None,
    *,
    failure: StepFailure | None = None,
) -> None:
    if stage != DisputeStage.FAILED:
        case.stage = stage
    case.waiting_for = waiting_for
    status = FareDisputeStatus(
        stage=stage,
        sla_due=utc_text(case.sla_due),
        waiting_for=waiting_for,
        escalated=case.escalated,
        outcome=outcome,
        unsent=list(case.unsent) or None,
        failure=failure,
    )
    publish_status(context, status)


def _decide(
    context: df.DurableOrchestrationContext,
    case: _Case,
    decided_by: str,
    decision: str,
    *,
    amount: Money | None = None,
    detail: str | None = None,
    accepted: bool = True,
    actor: Actor | None = None,
) -> None:
    case.decisions.append(
        DecisionRecord(
            decided_by=decided_by,
            decision=decision,
            at=utc_text(context.current_utc_datetime),
            amount=amount,
            accepted=accepted,
            detail=detail,
            actor=actor,
        )
    )


def _parse_or_record_malformed(
    context: df.DurableOrchestrationContext,
    case: _Case,
    payload: Any,
    model: type[ContractModel],
    *,
    decided_by: str,
    decision: str,
) -> Any:
    """The event payload as `model`, or None after recording it as a refused, malformed event."""
    try:
        return parse_event(payload, model)
    except ValidationError:
        _decide(context, case, decided_by, decision, accepted=False, detail="malformed event")
        return None


def _refuse(
    context: df.DurableOrchestrationContext, case: _Case, decision: SupervisorDecision, reason: str
) -> None:
    """Record a supervisor decision that was not taken, with the amount it asked for and why."""
    _decide(
        context,
        case,
        decision.supervisor,
        decision.decision,
        amount=decision.refund_amount,
        accepted=False,
        detail=reason,
        actor=decision.decided_by,
    )


def _notify(
    context: df.DurableOrchestrationContext, case: _Case, stage: str, parameters: dict[str, str]
) -> Generator[Any, Any, None]:
    """Tell the customer (one message per stage: the stage is the key's item), best effort."""
    template = f"fare_dispute.{stage}"
    request = NotifyCustomerInput(
        key=orchestration_effect_key(context, "notify_customer", stage),
        customer_id=case.dispute.customer_id,
        template=template,
        parameters={"disputeId": case.dispute.dispute_id, **parameters},
    )
    result = yield from best_effort(
        orchestration_log(context, WORKFLOW),
        "notify_customer",
        call_task(context, NOTIFY_DISPUTE_CUSTOMER_ACTIVITY, request, BEST_EFFORT_RETRY),
    )
    if result is None:
        case.unsent.append(template)
        return
    answer = NotifyCustomerResult.from_dict(result)
    if answer.status != "skipped":
        case.messages.append(template)


def _escalate_if_due(context: df.DurableOrchestrationContext, case: _Case) -> Generator[Any, Any, None]:
    """Past the SLA due time and not yet escalated: escalate once and tell the customer."""
    if case.escalated or context.current_utc_datetime < case.sla_due:
        return
    case.escalated = True
    _publish(context, case, case.stage, case.waiting_for)
    _decide(context, case, "sla", "escalate", detail=f"due {utc_text(case.sla_due)}")
    orchestration_log(context, WORKFLOW, "escalate").warning("SLA due time passed: escalated")
    yield from _notify(context, case, "escalated", {"slaDue": utc_text(case.sla_due)})


def _await_evidence(
    context: df.DurableOrchestrationContext, case: _Case
) -> Generator[Any, Any, EvidenceSubmission | None]:
    """Ask for evidence; remind once; None when nothing valid arrives before the wait ends."""
    settings = case.dispute.settings
    requested_at = context.current_utc_datetime
    reminder_at = requested_at + settings.evidence_reminder_after
    close_at = requested_at + settings.evidence_wait
    yield from _notify(context, case, "evidence_requested", {"respondBy": utc_text(close_at)})
    # Published once the wait below is open (same episode), so the HTTP edge accepts evidence only
    # when an event task is there to take it.
    _publish(context, case, DisputeStage.AWAITING_EVIDENCE, WaitingFor.EVIDENCE)
    reminded = False
    deadlines_first = settings.deadline_rules >= DeadlineRules.DEADLINES_FIRST
    evidence = EventWait(context, EVIDENCE_SUBMITTED_EVENT)
    while True:
        deadlines = [close_at]
        if not reminded:
            deadlines.append(reminder_at)
        if not case.escalated:
            deadlines.append(case.sla_due)
        arrival = yield from evidence.until(min(deadlines))
        if arrival is None or deadlines_first:
            # Deadlines first: the SLA, then the evidence deadline, whatever woke the case.
            yield from _escalate_if_due(context, case)
            now = context.current_utc_datetime
            if deadlines_first and now >= close_at:
                # Evidence in the same batch is late. It is not recorded as a decision: whether
                # the case saw it before closing depends on the batch's order; the audit packet
                # lists every event the case received.
                return None
            if arrival is None and not reminded and reminder_at <= now < close_at:
                reminded = True
                yield from _notify(context, case, "evidence_reminder", {"respondBy": utc_text(close_at)})
            # Evidence that came in while the messages above were sent was taken by the round's wait.
            arrival = arrival or evidence.taken_meanwhile()
            if arrival is None:
                if now >= close_at:
                    return None
                continue
        submission: EvidenceSubmission | None = _parse_or_record_malformed(
            context, case, arrival.payload, EvidenceSubmission, decided_by="customer", decision="evidence"
        )
        if submission is None:
            continue
        _decide(
            context,
            case,
            "customer",
            "evidence",
            detail=f"{submission.document_count} documents",
            actor=submission.submitted_by,
        )
        return submission


def _await_supervisor(
    context: df.DurableOrchestrationContext, case: _Case, rules: RuleEvaluation
) -> Generator[Any, Any, Money | None]:
    """Wait for a valid supervisor decision; the refund amount it implies, or None for a rejection.

    The first valid decision wins; a decision that would refund more than the trip was charged (or
    in another currency) is recorded as refused and the case keeps waiting. Once a decision is
    taken nothing waits for the event any more, so duplicate or late decisions change nothing.
    """
    yield from _notify(context, case, "under_review", {})
    _publish(context, case, DisputeStage.AWAITING_SUPERVISOR, WaitingFor.SUPERVISOR_DECISION)
    decisions = EventWait(context, SUPERVISOR_DECISION_EVENT)
    while True:
        arrival: Arrival | None
        if case.escalated:
            arrival = yield from decisions.next()
        else:
            arrival = yield from decisions.until(case.sla_due)
            if arrival is None or case.dispute.settings.deadline_rules >= DeadlineRules.DEADLINES_FIRST:
                # Deadlines first: a decision the case takes in at or after the due time escalates
                # it first, as the timer would have.
                yield from _escalate_if_due(context, case)
                arrival = arrival or decisions.taken_meanwhile()
                if arrival is None:
                    continue
        decision: SupervisorDecision | None = _parse_or_record_malformed(
            context, case, arrival.payload, SupervisorDecision, decided_by="unknown", decision="decision"
        )
        if decision is None:
            continue
        refusal = decision_refusal(
            case.dispute.filed_by, decision.decided_by, Role.FARE_DISPUTE_SUPERVISOR, _FILER_CANNOT_DECIDE
        )
        if refusal is not None:
            # Only disputes that record `filedBy` get here: recorded histories are unaffected.
            _refuse(context, case, decision, refusal)
            orchestration_log(context, WORKFLOW, "supervisor").warning("decision refused", reason=refusal)
            continue
        amount = _refund_for(decision, rules, case.dispute.claimed_amount)
        if decision.decision != "reject" and amount is None:
            over_the_fare = "refund must be above zero and at most the fare charged, in its currency"
            _refuse(context, case, decision, over_the_fare)
            orchestration_log(context, WORKFLOW, "supervisor").warning("decision refused: over the fare")
            continue
        _decide(
            context, case, decision.supervisor, decision.decision, amount=amount, actor=decision.decided_by
        )
        case.refund_approved_by = decision.decided_by
        return amount


def _refund_for(decision: SupervisorDecision, rules: RuleEvaluation, claimed: Money) -> Money | None:
    """The refund a decision implies; None for a rejection or an amount outside (0, fare]."""
    if decision.decision == "reject":
        return None
    if decision.decision == "partial":
        amount = decision.refund_amount
        if amount is None or amount.amount <= 0 or not _within(amount, rules.refund_limit):
            return None
        return amount
    # approve: what the rules support, or (unconfirmed by the trip history) the claim; capped by the fare.
    base = rules.refundable if rules.verdict == "confirmed" else claimed
    if base.currency != rules.refund_limit.currency:
        return None
    capped = min(base.amount, rules.refund_limit.amount)
    return money(capped, base.currency) if capped > 0 else None


def _resolve(
    context: df.DurableOrchestrationContext,
    case: _Case,
    outcome: DisputeOutcome,
    rules: RuleEvaluation | None,
    refund: RefundRecord | None,
) -> Generator[Any, Any, dict[str, Any]]:
    """Tell the customer the outcome, publish it and return the result."""
    parameters = {"outcome": outcome.value}
    if refund is not None:
        parameters["refundAmount"] = f"{refund.amount.amount} {refund.amount.currency}"
    yield from _notify(context, case, "resolved", parameters)
    _publish(context, case, DisputeStage.RESOLVED, outcome=outcome)
    orchestration_log(context, WORKFLOW, "resolve").info("dispute resolved", outcome=outcome.value)
    result = FareDisputeResult(
        dispute_id=case.dispute.dispute_id,
        outcome=outcome,
        sla_due=utc_text(case.sla_due),
        escalated=case.escalated,
        rule_id=rules.rule_id if rules else None,
        verdict=rules.verdict if rules else None,
        decisions=case.decisions,
        refund=refund,
        messages=case.messages,
        filed_by=case.dispute.filed_by,
        unsent_messages=list(case.unsent) or None,
    ).to_dict()
    # 7. Seal the audit packet (the `resolved` stage published above tells it the history is stored;
    # so it comes right after that stage, before anything else is scheduled).
    if case.dispute.seals_audit_packet:
        case.sealing = True
        yield seal_audit_packet(
            context, workflow=WORKFLOW, final_stage=DisputeStage.RESOLVED.value, output=result
        )
    # 8. Schedule the erasure of the evidence and the supervisor's note (after the seal: the packet
    # holds no personal data, and erasing never changes what was sealed).
    if case.dispute.erases_personal_data:
        yield from schedule_personal_data_erasure(context, workflow=WORKFLOW)
    return result
