"""Maintenance order wire contracts: the orchestrator, its activities and its API all import these.

The orchestration input and output, the custom status, the approval event's payload and each
activity's work and result models, plus the registered activity and event names. Field names,
aliases, enum values and defaults are persisted in running instances' histories and custom status:
add fields with defaults, never rename or reorder (`python -m ops replay-check`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

import workflow_catalogue
from contracts import ContractModel, CustomStatusModel
from contracts.failure import StepFailure
from identity import Actor

# The registered name and the instance ids are the workflow catalogue's (function_app.py, the API,
# the console and the clients read the same record).
WORKFLOW = MAINTENANCE_ORDER = workflow_catalogue.MAINTENANCE_ORDER_ORCHESTRATOR
instance_id_for = workflow_catalogue.MAINTENANCE_ORDER.instance_id

# Activity names (the registered durable names of activities/maintenance_order.py).
CAPTURE_INSPECTION = "capture_inspection"
LOOK_UP_PARTS = "look_up_parts"
REQUEST_PARTS_FROM_SUPPLIER = "request_parts_from_supplier"
GENERATE_COMPLIANCE_PACK = "generate_compliance_pack"
NOTIFY_CUSTOMER = "notify_customer"
SEND_APPROVAL_REMINDER = "send_approval_reminder"
ISSUE_RELEASE_CERTIFICATE = "issue_release_certificate"

# External event: the approver's decision, raised by POST /api/maintenance-orders/{id}/approval.
APPROVAL_DECISION_EVENT = "approval_decision"

# -- wire models ------------------------------------------------------------------------------------

PartNumber = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]


class Finding(ContractModel):
    """One inspection finding and the parts it needs."""

    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
    severity: Literal["low", "medium", "high", "critical"]
    part_numbers: Annotated[list[PartNumber], Field(max_length=20)] = Field(default_factory=list)


class Inspection(ContractModel):
    """Who inspected the asset and what they found (bounded, so it fits any history)."""

    inspector: Annotated[str, Field(min_length=1, max_length=100)]
    findings: Annotated[list[Finding], Field(min_length=1, max_length=50)]


class ApprovalPolicy(ContractModel):
    """Reminder and deadline durations (ISO 8601), read from app settings by the HTTP starter."""

    reminder_interval: str
    escalate_after_reminders: Annotated[int, Field(ge=0, le=100)]
    approval_deadline: str
    # Deadlines first: a decision the order takes in at or after its deadline is late, so it
    # expires whether the host delivered the deadline or the decision first. Orders started before
    # this rule (no value) replay the first-come behaviour they started with.
    deadlines_first: bool = False


class MaintenanceOrderInput(ContractModel):
    """Orchestration input. `customerContact` is a claim-check reference, never the contact itself.

    `startedBy`: the principal who started the order (absent on orders started before principals
    were recorded); they may not approve it.
    """

    order_id: str
    asset_id: str
    customer_contact: dict[str, Any]
    inspection: Inspection
    approval_policy: ApprovalPolicy
    started_by: Actor | None = None
    # Orders started before personal data retention existed (no value) replay without its last step.
    erases_personal_data: bool = False
    # Orders started before the audit seal existed (no value) replay without the final step.
    seals_audit_packet: bool = False


class ApprovalDecisionEvent(ContractModel):
    """The approval event's payload (`commentRef`: the free-text comment, claim-checked).

    `decidedBy` is the authenticated principal; `approver` repeats its display name (older
    events carry only `approver`, a name the caller typed).
    """

    approved: bool
    approver: str
    decided_at: str
    comment_ref: dict[str, Any] | None = None
    decided_by: Actor | None = None


class Stage(StrEnum):
    """Custom status stages; the values are persisted (custom status, output)."""

    CAPTURING_INSPECTION = "capturing_inspection"
    LOOKING_UP_PARTS = "looking_up_parts"
    REQUESTING_PARTS = "requesting_parts"
    GENERATING_DOCUMENTS = "generating_documents"
    NOTIFYING_CUSTOMER = "notifying_customer"
    AWAITING_APPROVAL = "awaiting_approval"
    RELEASING = "releasing"
    NOTIFYING_OUTCOME = "notifying_outcome"
    RELEASED = "released"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


# Stages in which the order still takes an approval decision (before the wait it is buffered).
STAGES_ACCEPTING_APPROVAL = frozenset(
    {
        Stage.CAPTURING_INSPECTION,
        Stage.LOOKING_UP_PARTS,
        Stage.REQUESTING_PARTS,
        Stage.GENERATING_DOCUMENTS,
        Stage.NOTIFYING_CUSTOMER,
        Stage.AWAITING_APPROVAL,
    }
)


class MaintenanceOrderStatus(CustomStatusModel):
    """Custom status: where the order is, what it waits for, until when (falsy values omitted)."""

    stage: Stage
    waiting_for: str | None = None
    deadline_utc: str | None = None
    next_reminder_utc: str | None = None
    reminders_sent: int | None = None
    escalated: bool | None = None
    unsent: list[str] | None = None
    failure: StepFailure | None = None


class SupplierRequestSummary(ContractModel):
    """One supplier request as the output records it."""

    supplier_id: str
    supplier_request_id: str
    parts_count: int


class ApprovalRecord(ContractModel):
    """The decision the order took: who, when they decided, when the orchestration received it."""

    approved: bool
    approver: str
    decided_at: str
    received_at: str
    decided_by: Actor | None = None


class RefusedDecision(ContractModel):
    """A decision event the order did not take (maker-checker), kept for the audit packet."""

    approver: str
    received_at: str
    reason: str
    decided_by: Actor | None = None


class MaintenanceOrderOutput(ContractModel):
    """Orchestration output: the outcome and what ran, for the audit packet."""

    order_id: str
    outcome: Literal["released", "rejected", "expired"]
    orchestration_version: str
    inspection_record: dict[str, Any]
    supplier_requests: list[SupplierRequestSummary]
    compliance_document_id: str
    approval: ApprovalRecord | None = None
    reminders_sent: int = 0
    escalated: bool = False
    release_certificate_id: str | None = None
    customer_message_ids: list[str] = Field(default_factory=list)
    started_by: Actor | None = None
    refused_decisions: list[RefusedDecision] | None = None  # None (left out) when none was refused
    unsent_notifications: list[str] | None = None


# -- activity inputs and results ----------------------------------------------------------------------


class CaptureInspectionWork(ContractModel):
    """Input of `capture_inspection`."""

    key: str
    order_id: str
    asset_id: str
    inspection: Inspection


class InspectionRecord(ContractModel):
    """Result of `capture_inspection`: where the record is filed, and its size."""

    document: dict[str, Any]
    findings_count: int
    part_numbers_count: int


class LookUpPartsWork(ContractModel):
    """Input of `look_up_parts`: one finding's parts."""

    finding_code: str
    part_numbers: list[str]


class PartOfferSummary(ContractModel):
    """Which supplier delivers a part."""

    part_number: str
    supplier_id: str
    lead_time_days: int


class PartsLookup(ContractModel):
    """Result of `look_up_parts`."""

    finding_code: str
    offers: list[PartOfferSummary]


class PartLineWork(ContractModel):
    """One part and how many, in a supplier request."""

    part_number: str
    quantity: int


class RequestPartsWork(ContractModel):
    """Input of `request_parts_from_supplier`."""

    key: str
    supplier_id: str
    order_reference: str
    parts: list[PartLineWork]


class ComplianceWork(ContractModel):
    """Input of `generate_compliance_pack`."""

    key: str
    order_id: str
    asset_id: str
    inspection_document: dict[str, Any]
    supplier_requests: list[SupplierRequestSummary]
    generated_at: str
    orchestration_version: str


class FiledDocument(ContractModel):
    """Result of the document activities: the store's id and the claim-check blob."""

    document_id: str
    sha256: str
    size: int
    blob: dict[str, Any]


class NotifyCustomerWork(ContractModel):
    """Input of `notify_customer` (the contact is a reference, loaded inside the activity)."""

    key: str
    customer_contact: dict[str, Any]
    template: str
    parameters: dict[str, str] = Field(default_factory=dict)


class NotificationResult(ContractModel):
    """Result of the messaging activities."""

    delivered: bool
    message_id: str | None = None
    reason: str | None = None


class ReminderWork(ContractModel):
    """Input of `send_approval_reminder` (the recipient's address comes from app settings)."""

    key: str
    order_id: str
    recipient: Literal["approver", "supervisor"]
    reminder_number: int
    deadline_utc: str


class ReleaseCertificateWork(ContractModel):
    """Input of `issue_release_certificate`."""

    key: str
    order_id: str
    asset_id: str
    approver: str
    decided_at: str
    compliance_document_id: str
    orchestration_version: str
    approved_by: Actor | None = None
