# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""HTTP API of the maintenance order workflow (route prefix `api`).

- `POST maintenance-orders` (`Workflow.Submitter`): start `maintenance-<orderId>` (202 with
  `Location: /api/maintenance-orders/<orderId>` and that resource as the body; 409 if it exists).
  The starting principal is recorded in the input (`startedBy`). Contact details are
  claim-checked (`always=True`) before the start: history holds a reference. The
  approval policy comes from app settings here (orchestrators never read settings):
  `MAINTENANCE_REMINDER_INTERVAL` (PT24H), `MAINTENANCE_ESCALATE_AFTER_REMINDERS` (3),
  `MAINTENANCE_APPROVAL_DEADLINE` (P7D).
- `POST maintenance-orders/{orderId}/approval` (`Maintenance.Approver`): raise the approval
  decision (202), made by the signed-in principal. 404 unknown order, 403 when that principal
  started the order (maker-checker), 409 when the order no longer takes a decision (decided,
  expired, finished), 400 bad body. A decision sent while the order is still preparing (before the
  wait) is accepted: the runtime keeps the event until the orchestration waits for it.
  `record_approval` is the same step for the console, in process.
- `GET maintenance-orders/{orderId}` (any role that reads status): stage, what it waits for,
  deadlines (custom status).
- `GET maintenance-orders/{orderId}/audit` (`Operations.Reader`/`Operator`): the sealed audit packet
  as stored (the order's last step seals it), or a marked interim snapshot while it runs;
  `.../audit/report?format=html|pdf`: the report for a person;
  `.../documents/{release-certificate|compliance-pack}.{pdf|html}`: the document sealed with the
  packet (all three registered by `api.audit.serve_case_evidence`).

401 without an authenticated principal, 403 naming the role needed (api.access).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated, Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from pydantic import Field, StrictBool

from api.access import deprecated_decider_field, recorded_actor, refuse_named_decider
from api.app_settings import whole_number_setting
from api.audit import serve_case_evidence
from api.endpoints import Call, workflow_route
from api.handlers import json_response, seal
from api.starters import CaseResource, status_resource_fields
from audit_packets import loads_json
from contracts import ContractModel, duration_setting, format_duration, utc_text
from contracts.maintenance_order import (
    APPROVAL_DECISION_EVENT,
    STAGES_ACCEPTING_APPROVAL,
    ApprovalDecisionEvent,
    ApprovalPolicy,
    Inspection,
    MaintenanceOrderInput,
    instance_id_for,
)
from evidence import MAINTENANCE_ORDER as PROFILE
from identity import Actor, Permission, ensure_not_starter
from workflow_catalogue import MAINTENANCE_ORDER as MAINTENANCE_ORDER_WORKFLOW

bp = df.Blueprint()

RESOURCE = "maintenance order"
REMINDER_INTERVAL_SETTING = "MAINTENANCE_REMINDER_INTERVAL"
ESCALATE_AFTER_SETTING = "MAINTENANCE_ESCALATE_AFTER_REMINDERS"
APPROVAL_DEADLINE_SETTING = "MAINTENANCE_APPROVAL_DEADLINE"
DEFAULT_REMINDER_INTERVAL = "PT24H"
DEFAULT_ESCALATE_AFTER = 3
DEFAULT_APPROVAL_DEADLINE = "P7D"
OrderIdentifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class Customer(ContractModel):
    """The customer to notify (kept out of history by claim-check)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")]


class MaintenanceOrderRequest(ContractModel):
    """Body of `POST /api/maintenance-orders`."""

    order_id: OrderIdentifier
    asset_id: OrderIdentifier
    customer: Customer
    inspection: Inspection


class ApprovalRequest(ContractModel):
    """Body of `POST /api/maintenance-orders/{orderId}/approval`; the approver is the signed-in principal."""

    approved: StrictBool
    approver: str | None = deprecated_decider_field("approver")
    comment: Annotated[str, Field(max_length=2000)] | None = None


def approval_policy(environ: dict[str, str] | None = None) -> ApprovalPolicy:
    """Reminder interval, reminders before escalation and deadline, from app settings."""
    env = dict(os.environ) if environ is None else environ
    interval = duration_setting(REMINDER_INTERVAL_SETTING, DEFAULT_REMINDER_INTERVAL, env)
    deadline = duration_setting(APPROVAL_DEADLINE_SETTING, DEFAULT_APPROVAL_DEADLINE, env)
    return ApprovalPolicy(
        reminder_interval=format_duration(interval),
        escalate_after_reminders=whole_number_setting(ESCALATE_AFTER_SETTING, DEFAULT_ESCALATE_AFTER, env),
        approval_deadline=format_duration(deadline),
        deadlines_first=True,
    )


@workflow_route(bp, "POST", "maintenance-orders", Permission.START_WORKFLOW)
async def start_maintenance_order(call: Call) -> func.HttpResponse:
    """Start the order's orchestration once (202 + its status resource), or 409 naming that resource."""
    request = call.body(MaintenanceOrderRequest)
    contact = await seal(request.customer.to_dict(), instance_id_for(request.order_id))
    orchestration_input = MaintenanceOrderInput(
        order_id=request.order_id,
        asset_id=request.asset_id,
        customer_contact=contact,
        inspection=request.inspection,
        approval_policy=approval_policy(),
        started_by=call.actor,
        seals_audit_packet=True,
        erases_personal_data=True,
    )
    return await CASES.start(call.client, request.order_id, orchestration_input.to_dict())


@workflow_route(bp, "POST", "maintenance-orders/{orderId}/approval", Permission.APPROVE_MAINTENANCE_ORDER)
async def approve_maintenance_order(call: Call) -> func.HttpResponse:
    """Raise the signed-in approver's decision; 404 unknown order, 403 own order, 409 no decision now."""
    request = call.body(ApprovalRequest)
    refuse_named_decider(request.approver, call.actor, "approver")
    order_id = call.business_id
    event = await record_approval(
        call.client, order_id, approved=request.approved, comment=request.comment, actor=call.actor
    )
    return json_response(
        {
            "orderId": order_id,
            "instanceId": instance_id_for(order_id),
            "accepted": True,
            "decision": event.to_dict(),
        },
        202,
    )


async def record_approval(
    client: df.DurableOrchestrationClient, order_id: str, *, approved: bool, comment: str | None, actor: Actor
) -> ApprovalDecisionEvent:
    """Raise `actor`'s approval decision on the order: the one step behind the endpoint and the console.

    404 unknown order, 403 when `actor` started it (maker-checker), 409 when it takes no decision.
    """
    instance_id = instance_id_for(order_id)
    status = await CASES.existing(client, order_id, show_input=True)
    ensure_not_starter(actor, recorded_actor(status.input_, "startedBy"), f"{RESOURCE} {order_id!r}")
    state = status.runtime_status.value if status.runtime_status is not None else ""
    stage = (loads_json(status.custom_status) or {}).get("stage") if status.custom_status else None
    if state not in ("Running", "Pending") or (stage is not None and stage not in STAGES_ACCEPTING_APPROVAL):
        raise CASES.conflict(
            order_id, f"{RESOURCE} {order_id!r} is not waiting for approval", str(stage or state)
        )
    comment_ref = await seal({"comment": comment}, instance_id) if comment else None
    event = ApprovalDecisionEvent(
        approved=approved,
        approver=actor.name,
        decided_at=utc_text(datetime.now(UTC)),
        comment_ref=comment_ref,
        decided_by=actor,
    )
    await client.raise_event(instance_id, APPROVAL_DECISION_EVENT, event.to_dict())
    return event


def order_view(order_id: str, status: DurableOrchestrationStatus) -> dict[str, Any]:
    """The order's status resource: stage, what it waits for, deadlines (custom status), outcome."""
    body = status_resource_fields("orderId", order_id, instance_id_for(order_id), status)
    output = loads_json(status.output)
    if isinstance(output, dict) and "outcome" in output:
        body["outcome"] = output["outcome"]
    return body


CASES = CaseResource(MAINTENANCE_ORDER_WORKFLOW, RESOURCE, "orderId", order_view)
CASES.serve_status(
    bp, "get_maintenance_order", "Current step, what it waits for and the deadlines, from the custom status."
)
serve_case_evidence(bp, PROFILE, resource=RESOURCE, id_parameter="orderId")
