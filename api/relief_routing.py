# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""HTTP API of the relief routing workflow (route prefix `api`).

- `POST relief-requests` (`Workflow.Submitter`): start `relief-<requestId>` (202 with `Location:
  /api/relief-requests/<requestId>` and that resource as the body; 409 if it exists; 400 names
  the bad field, including shelters and SKUs the network does not know); the principal is
  recorded (`requestedBy`). The escalation policy is read here from app settings (orchestrators
  never read settings): `RELIEF_CONFIRMATION_INTERVAL` (PT6H) and `RELIEF_MAX_ESCALATIONS` (2).
- `POST relief-requests/{requestId}/changes` (`Workflow.Submitter`): add or re-size shelters
  (`shelters`), remove shelters (`removeShelterIds`) or `cancel`; 202. 404 unknown request, 409
  when it no longer takes changes (finished, or the change touches a shelter that already received
  its pallets), 400 bad body. The change records who asked for it.
- `POST relief-requests/{requestId}/shelter-confirmations` (`Relief.ShelterStaff`, only for a
  shelter assigned to the signed-in principal, else 403): a shelter confirms receipt
  (`shelterId`, `receivedItems`); 202, 409 unless that shelter is awaiting its pallets.
  `record_shelter_confirmation` is the same step for the console, in process.
- `GET relief-requests/{requestId}` (any role that reads status): stage, next escalation,
  per-shelter state, and the outcome.
- `GET relief-requests/{requestId}/audit` (`Operations.Reader`/`Operator`): the audit packet;
  `.../audit/report?format=html|pdf`: the report for a person;
  `.../documents/donor-delivery-report.{pdf|html}`: the report sealed with the packet (all three
  registered by `api.audit.serve_case_evidence`).
- `GET inventory` (`Operations.Reader`/`Operator`): stock, reserved, delivered and available
  pallets per depot and SKU.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from pydantic import Field

from api.access import authorize
from api.app_settings import whole_number_setting
from api.audit import serve_case_evidence
from api.endpoints import Call, workflow_route
from api.errors import FieldError, InvalidRequest
from api.handlers import json_errors, json_response
from api.starters import CaseResource, status_resource_fields
from api.validation import json_body, validate
from audit_packets import loads_json
from contracts import ContractModel, InvalidDurationError, duration_setting, format_duration
from contracts.relief_routing import (
    CHANGE_EVENT,
    CONFIRMATION_EVENT,
    DELIVERED_STATES,
    FINAL_STAGES,
    Identifier,
    ReceivedItem,
    ReliefChange,
    ReliefChangeRequest,
    ReliefRequest,
    ReliefStatus,
    ReliefWorkflowInput,
    ShelterConfirmation,
    ShelterRequest,
    instance_id_for,
)
from evidence import RELIEF_ROUTING as PROFILE
from idempotency import EffectLedger
from identity import Actor, Permission, assignments_from_settings, ensure_assigned_shelter
from integrations import integrations_from_settings
from relief_routes import ReliefNetwork, network_from_settings
from relief_routes.stock import load_network_stock
from workflow_catalogue import RELIEF_ROUTING as RELIEF_ROUTING_WORKFLOW

bp = df.Blueprint()

RESOURCE = "relief request"
CONFIRMATION_INTERVAL_SETTING = "RELIEF_CONFIRMATION_INTERVAL"
MAX_ESCALATIONS_SETTING = "RELIEF_MAX_ESCALATIONS"
DEFAULT_CONFIRMATION_INTERVAL = "PT6H"
DEFAULT_MAX_ESCALATIONS = 2
ACTIVE_RUNTIME_STATES = ("Running", "Pending")


class ShelterConfirmationRequest(ContractModel):
    """Body of `POST relief-requests/{requestId}/shelter-confirmations`."""

    shelter_id: Identifier
    received_items: Annotated[list[ReceivedItem], Field(max_length=20)] = Field(default_factory=list)


def escalation_policy(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Confirmation interval (ISO 8601) and escalation steps before a shelter is resolved unconfirmed."""
    env = os.environ if environ is None else environ
    interval = duration_setting(CONFIRMATION_INTERVAL_SETTING, DEFAULT_CONFIRMATION_INTERVAL, env)
    steps = whole_number_setting(MAX_ESCALATIONS_SETTING, DEFAULT_MAX_ESCALATIONS, env)
    if not 1 <= steps <= 10:
        raise InvalidDurationError(f"app setting {MAX_ESCALATIONS_SETTING} must be between 1 and 10")
    return format_duration(interval), steps


def check_against_network(
    network: ReliefNetwork, shelters: list[ShelterRequest], prefix: str = "shelters"
) -> None:
    """400 naming each shelter or SKU the network does not know."""
    errors = []
    for index, shelter in enumerate(shelters):
        if not network.has_shelter(shelter.shelter_id):
            errors.append(FieldError(f"{prefix}[{index}].shelterId", "unknown shelter"))
        for item_index, item in enumerate(shelter.items):
            if item.sku not in network.skus:
                errors.append(FieldError(f"{prefix}[{index}].items[{item_index}].sku", "unknown SKU"))
    if errors:
        raise InvalidRequest.from_errors(errors)


@workflow_route(bp, "POST", "relief-requests", Permission.START_WORKFLOW)
async def start_relief_request(call: Call) -> func.HttpResponse:
    """Start the request's orchestration once (202 + its status resource), or 409 naming that resource."""
    request = call.body(ReliefRequest)
    check_against_network(network_from_settings(), request.shelters)
    interval, max_escalations = escalation_policy()
    orchestration_input = ReliefWorkflowInput(
        request=request,
        confirmation_interval=interval,
        max_escalations=max_escalations,
        requested_by=call.actor,
        seals_audit_packet=True,
        releases_unconfirmed_reservations=True,
    )
    return await CASES.start(call.client, request.request_id, orchestration_input.to_dict())


@workflow_route(bp, "POST", "relief-requests/{requestId}/changes", Permission.CHANGE_RELIEF_REQUEST)
async def change_relief_request(call: Call) -> func.HttpResponse:
    """Raise a change (re-plan) or a cancellation; 404 unknown request, 409 when it takes no change."""
    request_id = call.business_id
    body = json_body(call.req)
    if isinstance(body, dict) and not body.get("changeId"):
        body = {**body, "changeId": uuid.uuid4().hex}  # the orchestrator ignores a repeated change id
    requested = validate(ReliefChangeRequest, body)
    change = ReliefChange(**dict(requested), requested_by=call.actor)
    check_against_network(network_from_settings(), change.shelters)
    instance_id = instance_id_for(request_id)
    relief_status = _accepting(await CASES.existing(call.client, request_id), request_id, "changes")
    delivered = [
        shelter_id
        for shelter_id in change.touched_shelters()
        if shelter_id in relief_status.shelters
        and relief_status.shelters[shelter_id].state in DELIVERED_STATES
    ]
    if delivered:
        raise CASES.conflict(request_id, f"shelters already received their pallets: {', '.join(delivered)}")
    unknown = [
        s for s in change.remove_shelter_ids if relief_status.shelters and s not in relief_status.shelters
    ]
    if unknown:
        raise CASES.conflict(
            request_id, f"shelters not part of {RESOURCE} {request_id!r}: {', '.join(unknown)}"
        )
    await call.client.raise_event(instance_id, CHANGE_EVENT, change.to_dict())
    return json_response(
        {"requestId": request_id, "instanceId": instance_id, "accepted": True, "change": change.to_dict()},
        202,
    )


@workflow_route(
    bp, "POST", "relief-requests/{requestId}/shelter-confirmations", Permission.CONFIRM_SHELTER_DELIVERY
)
async def confirm_relief_delivery(call: Call) -> func.HttpResponse:
    """Raise a shelter's receipt; 403 for another shelter's staff, 409 unless the shelter awaits it."""
    body = call.body(ShelterConfirmationRequest)
    request_id = call.business_id
    await record_shelter_confirmation(
        call.client,
        request_id,
        shelter_id=body.shelter_id,
        received_items=body.received_items,
        actor=call.actor,
    )
    return json_response(
        {
            "requestId": request_id,
            "instanceId": instance_id_for(request_id),
            "accepted": True,
            "shelterId": body.shelter_id,
            "confirmedBy": call.actor.to_dict(),
        },
        202,
    )


async def record_shelter_confirmation(
    client: df.DurableOrchestrationClient,
    request_id: str,
    *,
    shelter_id: str,
    received_items: list[ReceivedItem],
    actor: Actor,
) -> ShelterConfirmation:
    """Raise `actor`'s confirmation for one shelter: the one step behind the endpoint and the console.

    403 unless `actor` is assigned to the shelter (identity.shelters), 404 unknown request, 409
    unless the request is waiting for that shelter's pallets.
    """
    ensure_assigned_shelter(actor, shelter_id, assignments_from_settings())
    instance_id = instance_id_for(request_id)
    relief_status = _accepting(await CASES.existing(client, request_id), request_id, "confirmations")
    shelter = relief_status.shelters.get(shelter_id)
    if shelter is None or shelter.state != "awaiting":
        state = shelter.state if shelter else "not part of the request"
        raise CASES.conflict(
            request_id, f"shelter {shelter_id!r} is not awaiting a delivery ({state})", state
        )
    confirmation = ShelterConfirmation(
        shelter_id=shelter_id, received_items=received_items, confirmed_by=actor
    )
    await client.raise_event(instance_id, CONFIRMATION_EVENT, confirmation.to_dict())
    return confirmation


def request_view(request_id: str, status: DurableOrchestrationStatus) -> dict[str, Any]:
    """The request's status resource: stage, next escalation, per-shelter state, the outcome."""
    body = status_resource_fields("requestId", request_id, instance_id_for(request_id), status)
    output = loads_json(status.output)
    if isinstance(output, dict):
        body["outcome"] = output
    return body


CASES = CaseResource(RELIEF_ROUTING_WORKFLOW, RESOURCE, "requestId", request_view)
CASES.serve_status(
    bp,
    "get_relief_request",
    "Stage, next escalation, per-shelter confirmation state, and the outcome once finished.",
)
serve_case_evidence(bp, PROFILE, resource=RESOURCE, id_parameter="requestId")


@bp.route(route="inventory", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
def get_relief_inventory(req: func.HttpRequest) -> func.HttpResponse:
    """Stock, reserved, delivered and available pallets per depot and SKU (loads the network first)."""
    authorize(req, Permission.READ_OPERATIONS)
    network = network_from_settings()
    inventory = integrations_from_settings().inventory
    load_network_stock(network, inventory, EffectLedger.from_settings())
    levels = [level.to_dict() for level in inventory.levels()]
    return json_response(
        {"networkId": network.network_id, "networkRevision": network.revision, "levels": levels}
    )


# -- helpers ---------------------------------------------------------------------------------------


def _accepting(status: DurableOrchestrationStatus, request_id: str, what: str) -> ReliefStatus:
    """The custom status of a request that still takes `what`; 409 otherwise."""
    state = status.runtime_status.value if status.runtime_status is not None else ""
    custom = loads_json(status.custom_status) if status.custom_status else None
    relief_status = (
        ReliefStatus.from_dict(custom) if isinstance(custom, dict) else ReliefStatus(stage="accepted")
    )
    if (
        state not in ACTIVE_RUNTIME_STATES
        or relief_status.stage in FINAL_STAGES
        or relief_status.stage in ("cancelling", "failing", "failed")
    ):
        raise CASES.conflict(
            request_id,
            f"{RESOURCE} {request_id!r} takes no more {what}",
            state=relief_status.stage if state in ACTIVE_RUNTIME_STATES else state,
        )
    return relief_status
