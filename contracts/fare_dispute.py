"""Fare dispute wire contracts: the orchestrator, its activities and its API all import these.

The orchestration input (with the settings in force at filing) and output, the custom status, the
two events' payloads and each activity's input and result models, plus the registered activity and
event names. Field names, aliases, enum values and defaults are persisted in running instances'
histories and custom status: add fields with defaults, never rename or reorder them
(`python -m ops replay-check`). The SLA calendar arithmetic is a business rule, not a contract: it
stays with the orchestrator.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

import workflow_catalogue
from contracts import ContractModel, CustomStatusModel, Money
from contracts.failure import StepFailure
from identity import Actor

# The registered name and the instance ids are the workflow catalogue's (function_app.py, the API,
# the console and the clients read the same record).
WORKFLOW = FARE_DISPUTE_ORCHESTRATOR = workflow_catalogue.FARE_DISPUTE_ORCHESTRATOR
instance_id_for = workflow_catalogue.FARE_DISPUTE.instance_id

# External events (value = wire name).
EVIDENCE_SUBMITTED_EVENT = "evidence_submitted"
SUPERVISOR_DECISION_EVENT = "supervisor_decision"

# Activities (value = registered name; activities/fare_dispute.py registers them).
LOOK_UP_DISPUTED_TRIP_ACTIVITY = "look_up_disputed_trip"
APPLY_FARE_RULES_ACTIVITY = "apply_fare_rules"
NOTIFY_DISPUTE_CUSTOMER_ACTIVITY = "notify_dispute_customer"
ISSUE_FARE_REFUND_ACTIVITY = "issue_fare_refund"

_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


# -- the case: settings, input, events, status and output -----------------------------------------


class DisputeReason(StrEnum):
    """Why the customer disputes the fare (each has a fare rule)."""

    OVERCHARGE = "overcharge"
    CANCELLED_TRIP = "cancelled_trip"
    DUPLICATE_CHARGE = "duplicate_charge"


class DisputeStage(StrEnum):
    """Where the case is (custom status `stage`)."""

    FILED = "filed"
    LOOKING_UP_TRIP = "looking_up_trip"
    APPLYING_RULES = "applying_rules"
    AWAITING_EVIDENCE = "awaiting_evidence"
    AWAITING_SUPERVISOR = "awaiting_supervisor"
    REFUNDING = "refunding"
    RESOLVED = "resolved"
    FAILED = "failed"


class WaitingFor(StrEnum):
    """The input the case waits for (custom status `waitingFor`); the HTTP edge checks it (409)."""

    EVIDENCE = "evidence"
    SUPERVISOR_DECISION = "supervisor_decision"


class DisputeOutcome(StrEnum):
    """How the case ended."""

    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    REJECTED = "rejected"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    TRIP_NOT_FOUND = "trip_not_found"
    REFUND_DECLINED = "refund_declined"


class DeadlineRules(IntEnum):
    """Revisions of the case's time rules. A case keeps the revision it was filed under, so a
    running case replays the rules it started with (a missing value is revision 1)."""

    # Off-day filings due at the same wall time (00:00) N business days after the next business
    # day; an event that reached the case first was taken even at or after a deadline.
    FIRST = 1
    # Off-day filings due at the end of the N-th business day; deadlines first (module docstring).
    DEADLINES_FIRST = 2


CURRENT_DEADLINE_RULES = DeadlineRules.DEADLINES_FIRST


class FareDisputeSettings(ContractModel):
    """App settings the HTTP starter read, passed in so the orchestrator never reads settings."""

    auto_approve_limit: Money
    sla_time_zone: Annotated[str, Field(min_length=1, max_length=64)]
    sla_business_days: Annotated[int, Field(ge=1, le=30)] = 2
    sla_holidays: list[date] = Field(default_factory=list)
    evidence_reminder_after: timedelta
    evidence_wait: timedelta
    deadline_rules: DeadlineRules = DeadlineRules.FIRST


class FareDisputeInput(ContractModel):
    """The orchestration input: the dispute as filed, and the settings in force when it was filed.

    `filedBy`: the principal who filed it (absent on disputes filed before principals were
    recorded); they may not decide it.
    """

    dispute_id: Annotated[str, Field(pattern=_IDENTIFIER)]
    customer_id: Annotated[str, Field(pattern=_IDENTIFIER)]
    trip_id: Annotated[str, Field(pattern=_IDENTIFIER)]
    reason: DisputeReason
    claimed_amount: Money
    settings: FareDisputeSettings
    filed_by: Actor | None = None
    # Disputes filed before personal data retention existed (no value) replay without its last step.
    erases_personal_data: bool = False
    # Cases filed before the audit seal existed (no value) replay without the final step.
    seals_audit_packet: bool = False


class TripCharge(ContractModel):
    """One charge of a trip (payment reference only, never card data)."""

    payment_reference: str
    amount: Money


class TripSummary(ContractModel):
    """What the workflow keeps of the trip history."""

    trip_id: str
    status: Literal["completed", "cancelled"]
    tariff_fare: Money
    charges: list[TripCharge]
    charged_total: Money


class TripLookupResult(ContractModel):
    """`trip` is None when the trip is unknown or belongs to another customer."""

    trip: TripSummary | None = None


class RuleEvaluation(ContractModel):
    """The fare rule applied to the claim.

    `refundable` is what the trip history supports (capped by the claim), `refund_limit` what the
    trip was charged in total: no refund, whoever decides it, ever exceeds the limit.
    """

    rule_id: str
    rules_version: str
    verdict: Literal["confirmed", "unconfirmed", "not_eligible"]
    refundable: Money
    refund_limit: Money
    payment_reference: str | None = None
    explanation: str


class EvidenceSubmission(ContractModel):
    """Event `evidence_submitted`: the sealed evidence (claim-check reference) and its size.

    `submittedBy`: the principal (a portal or support system) that submitted it for the customer.
    """

    evidence: dict[str, Any]
    document_count: Annotated[int, Field(ge=0)]
    submitted_by: Actor | None = None


class SupervisorDecision(ContractModel):
    """Event `supervisor_decision`. `note` is a claim-check reference (free text stays out).

    `decidedBy` is the authenticated supervisor and `supervisor` its display name; older events
    carry only `supervisor`, an identifier the caller typed.
    """

    decision: Literal["approve", "partial", "reject"]
    supervisor: Annotated[str, Field(min_length=1, max_length=256)]
    refund_amount: Money | None = None
    note: dict[str, Any] | None = None
    decided_by: Actor | None = None


class DecisionRecord(ContractModel):
    """Who decided what, when (orchestration time), for the audit packet.

    `decidedBy` names the kind of decider (`rules`, `sla`, `customer`) or the person; `actor` is
    the authenticated principal behind a person's decision or a submission.
    """

    decided_by: str
    decision: str
    at: str
    amount: Money | None = None
    accepted: bool = True
    detail: str | None = None
    actor: Actor | None = None


class RefundRecord(ContractModel):
    """The refund as the gateway answered it; `approvedBy`: the supervisor (None when automatic)."""

    refund_id: str | None = None
    amount: Money
    status: str
    approved_by: Actor | None = None


class FareDisputeStatus(CustomStatusModel):
    """Custom status for the support portal: stage, SLA due time, what the case waits for."""

    stage: DisputeStage
    sla_due: str | None = None
    waiting_for: WaitingFor | None = None
    escalated: bool = False
    outcome: DisputeOutcome | None = None
    unsent: list[str] | None = None
    failure: StepFailure | None = None


class FareDisputeResult(ContractModel):
    """The orchestration output (no card or contact data)."""

    dispute_id: str
    outcome: DisputeOutcome
    sla_due: str
    escalated: bool
    rule_id: str | None = None
    verdict: str | None = None
    decisions: list[DecisionRecord] = Field(default_factory=list)
    refund: RefundRecord | None = None
    messages: list[str] = Field(default_factory=list)
    filed_by: Actor | None = None
    unsent_messages: list[str] | None = None


# -- activity inputs (built by the orchestrator, parsed by the activities) -----------------------


class LookUpTripInput(ContractModel):
    """Input of `look_up_disputed_trip`."""

    customer_id: str
    trip_id: str


class ApplyFareRulesInput(ContractModel):
    """Input of `apply_fare_rules`."""

    reason: DisputeReason
    claimed_amount: Money
    trip: TripSummary


class NotifyCustomerInput(ContractModel):
    """Input of `notify_dispute_customer`: the template and its (non-personal) parameters."""

    key: str
    customer_id: str
    template: Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,64}$")]
    parameters: dict[str, str] = Field(default_factory=dict)


class IssueRefundInput(ContractModel):
    """Input of `issue_fare_refund`. `refund_limit` lets the activity refuse an over-fare refund too."""

    key: str
    payment_reference: str
    amount: Money
    refund_limit: Money
    reason: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]


class NotifyCustomerResult(ContractModel):
    """What `notify_dispute_customer` returns (no contact details)."""

    template: str
    status: Literal["queued", "sent", "skipped"]
    message_id: str | None = None
    channel: str | None = None


class IssueRefundResult(ContractModel):
    """What `issue_fare_refund` returns; `refused` when the amount broke the fare limit."""

    status: Literal["succeeded", "pending", "declined", "rejected", "refused"]
    amount: Money
    refund_id: str | None = None


def money(amount: Decimal, currency: str) -> Money:
    """A `Money` from a Decimal (Money accepts decimal text only, so floats never sneak in)."""
    return Money.from_dict({"amount": f"{amount:f}", "currency": currency})
