# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""Side effects of the maintenance order workflow, one activity per outside effect.

Every effect runs under the effect ledger with the key the orchestrator built
(`<instance>:<step>[:<item>]`), and the outside system (supplier, document store, messaging) is
sent the same key, so retries, re-deliveries and a host crash never repeat it. Dependencies are
resolved per invocation from app settings (no process globals), and each activity returns a small
dict: documents live in blobs (claim-check) and contact details are loaded only here.

App settings read here: `MAINTENANCE_APPROVER_EMAIL`, `MAINTENANCE_SUPERVISOR_EMAIL` (where
reminders and escalations go).
"""

from __future__ import annotations

import json
import os
from typing import Any

import azure.durable_functions as df

from claim_check import JSON_CONTENT_TYPE, ClaimCheck, ClaimCheckError
from contracts.maintenance_order import (
    CAPTURE_INSPECTION,
    GENERATE_COMPLIANCE_PACK,
    ISSUE_RELEASE_CERTIFICATE,
    LOOK_UP_PARTS,
    NOTIFY_CUSTOMER,
    REQUEST_PARTS_FROM_SUPPLIER,
    SEND_APPROVAL_REMINDER,
    WORKFLOW,
    CaptureInspectionWork,
    ComplianceWork,
    FiledDocument,
    InspectionRecord,
    LookUpPartsWork,
    NotificationResult,
    NotifyCustomerWork,
    PartOfferSummary,
    PartsLookup,
    ReleaseCertificateWork,
    ReminderWork,
    RequestPartsWork,
    SupplierRequestSummary,
)
from idempotency import EffectLedger
from integrations import integrations_from_settings
from integrations.customer_messaging import CustomerMessage
from integrations.suppliers import PartLine, PartsRequest
from telemetry import activity_log, instance_id_from_key

bp = df.Blueprint()

APPROVER_EMAIL_SETTING = "MAINTENANCE_APPROVER_EMAIL"
SUPERVISOR_EMAIL_SETTING = "MAINTENANCE_SUPERVISOR_EMAIL"
DEFAULT_APPROVER_EMAIL = "maintenance-approvals@example.invalid"
DEFAULT_SUPERVISOR_EMAIL = "maintenance-supervisor@example.invalid"
TEMPLATE_APPROVAL_REMINDER = "maintenance.approval_reminder"
TEMPLATE_APPROVAL_ESCALATION = "maintenance.approval_escalation"


@bp.activity_trigger(input_name="work", activity=CAPTURE_INSPECTION)
def capture_inspection(work: dict[str, Any]) -> dict[str, Any]:
    """File the inspection record (a JSON blob named by the key, so a repeat overwrites it)."""
    request = CaptureInspectionWork.from_dict(work)

    def effect() -> dict[str, Any]:
        content = {
            "orderId": request.order_id,
            "assetId": request.asset_id,
            "inspection": request.inspection.to_dict(),
        }
        reference = ClaimCheck.from_settings().store_document(
            request.key, "inspection.json", _json_bytes(content), JSON_CONTENT_TYPE
        )
        return InspectionRecord(
            document=reference.to_dict(),
            findings_count=len(request.inspection.findings),
            part_numbers_count=sum(len(finding.part_numbers) for finding in request.inspection.findings),
        ).to_dict()

    result = EffectLedger.from_settings().run_once(request.key, effect, request=work).result
    activity_log(WORKFLOW, "capture_inspection", instance_id_from_key(request.key)).info(
        "inspection captured"
    )
    return result


@bp.activity_trigger(input_name="work", activity=LOOK_UP_PARTS)
def look_up_parts(work: dict[str, Any]) -> dict[str, Any]:
    """Which supplier delivers each part of one finding (a read: safe to repeat)."""
    request = LookUpPartsWork.from_dict(work)
    offers = integrations_from_settings().suppliers.find_parts(request.part_numbers)
    return PartsLookup(
        finding_code=request.finding_code,
        offers=[
            PartOfferSummary(
                part_number=offer.part_number,
                supplier_id=offer.supplier_id,
                lead_time_days=offer.lead_time_days,
            )
            for offer in offers
        ],
    ).to_dict()


@bp.activity_trigger(input_name="work", activity=REQUEST_PARTS_FROM_SUPPLIER)
def request_parts_from_supplier(work: dict[str, Any]) -> dict[str, Any]:
    """Ask one supplier for the order's parts, once per key."""
    request = RequestPartsWork.from_dict(work)
    suppliers = integrations_from_settings().suppliers
    parts_request = PartsRequest(
        supplier_id=request.supplier_id,
        order_reference=request.order_reference,
        parts=[PartLine(part_number=line.part_number, quantity=line.quantity) for line in request.parts],
    )

    def effect() -> dict[str, Any]:
        receipt = suppliers.request_parts(parts_request, request.key)
        return SupplierRequestSummary(
            supplier_id=receipt.supplier_id,
            supplier_request_id=receipt.supplier_request_id,
            parts_count=receipt.parts_count,
        ).to_dict()

    result = EffectLedger.from_settings().run_once(request.key, effect, request=work).result
    activity_log(WORKFLOW, "request_parts", instance_id_from_key(request.key)).info(
        "parts requested", supplier_id=request.supplier_id
    )
    return result


@bp.activity_trigger(input_name="work", activity=GENERATE_COMPLIANCE_PACK)
def generate_compliance_pack(work: dict[str, Any]) -> dict[str, Any]:
    """Build the compliance pack, keep it as a blob and file it in the document store, once."""
    request = ComplianceWork.from_dict(work)
    claim_check = ClaimCheck.from_settings()
    inspection = json.loads(claim_check.read_document(request.inspection_document))
    content = _json_bytes(
        {
            "document": "maintenance compliance pack",
            "orderId": request.order_id,
            "assetId": request.asset_id,
            "inspection": inspection["inspection"],
            "supplierRequests": [item.to_dict() for item in request.supplier_requests],
            "generatedAt": request.generated_at,
            "orchestrationVersion": request.orchestration_version,
        }
    )
    return _file_document(claim_check, request.key, "compliance-pack.json", content, work)


@bp.activity_trigger(input_name="work", activity=ISSUE_RELEASE_CERTIFICATE)
def issue_release_certificate(work: dict[str, Any]) -> dict[str, Any]:
    """Issue the release certificate of an approved order (blob + document store), once."""
    request = ReleaseCertificateWork.from_dict(work)
    certificate: dict[str, Any] = {
        "document": "maintenance release certificate",
        "orderId": request.order_id,
        "assetId": request.asset_id,
        "approvedBy": request.approver,
        "approvedAt": request.decided_at,
        "complianceDocumentId": request.compliance_document_id,
        "orchestrationVersion": request.orchestration_version,
    }
    if request.approved_by is not None:
        # The authenticated approver: stable principal id, display name and the role they acted in.
        certificate["approvedByPrincipal"] = request.approved_by.to_dict()
    content = _json_bytes(certificate)
    return _file_document(ClaimCheck.from_settings(), request.key, "release-certificate.json", content, work)


@bp.activity_trigger(input_name="work", activity=NOTIFY_CUSTOMER)
def notify_customer(work: dict[str, Any]) -> dict[str, Any]:
    """Send one templated e-mail to the customer, once per key.

    A contact reference whose blob is gone (payload retention ran, or a recorded replay scenario
    without contact data) is recorded as undelivered instead of failing the order.
    """
    request = NotifyCustomerWork.from_dict(work)
    journal = activity_log(WORKFLOW, "notify_customer", instance_id_from_key(request.key))
    try:
        contact = ClaimCheck.from_settings().load(request.customer_contact)
    except ClaimCheckError as error:
        journal.warning("customer contact unavailable", reason=str(error))
        return NotificationResult(delivered=False, reason="customer contact unavailable").to_dict()
    message = CustomerMessage(
        channel="email", to=str(contact["email"]), template=request.template, parameters=request.parameters
    )
    return _send(request.key, message, work)


@bp.activity_trigger(input_name="work", activity=SEND_APPROVAL_REMINDER)
def send_approval_reminder(work: dict[str, Any]) -> dict[str, Any]:
    """Remind the approvers (or escalate to the supervisor) that an order waits, once per key."""
    request = ReminderWork.from_dict(work)
    if request.recipient == "supervisor":
        to = os.environ.get(SUPERVISOR_EMAIL_SETTING, "").strip() or DEFAULT_SUPERVISOR_EMAIL
        template = TEMPLATE_APPROVAL_ESCALATION
    else:
        to = os.environ.get(APPROVER_EMAIL_SETTING, "").strip() or DEFAULT_APPROVER_EMAIL
        template = TEMPLATE_APPROVAL_REMINDER
    message = CustomerMessage(
        channel="email",
        to=to,
        template=template,
        parameters={
            "orderId": request.order_id,
            "reminderNumber": str(request.reminder_number),
            "deadlineUtc": request.deadline_utc,
        },
    )
    return _send(request.key, message, work)


def _send(key: str, message: CustomerMessage, work: dict[str, Any]) -> dict[str, Any]:
    messaging = integrations_from_settings().customer_messaging

    def effect() -> dict[str, Any]:
        receipt = messaging.send(message, key)
        return NotificationResult(delivered=True, message_id=receipt.message_id).to_dict()

    return EffectLedger.from_settings().run_once(key, effect, request=work).result


def _file_document(
    claim_check: ClaimCheck, key: str, file_name: str, content: bytes, work: dict[str, Any]
) -> dict[str, Any]:
    """Keep the document as a blob (named by the key) and file it in the document store, once."""
    documents = integrations_from_settings().documents

    def effect() -> dict[str, Any]:
        blob = claim_check.store_document(key, file_name, content, JSON_CONTENT_TYPE)
        receipt = documents.store(file_name, content, JSON_CONTENT_TYPE, key)
        return FiledDocument(
            document_id=receipt.document_id, sha256=receipt.sha256, size=receipt.size, blob=blob.to_dict()
        ).to_dict()

    return EffectLedger.from_settings().run_once(key, effect, request=work).result


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode()
