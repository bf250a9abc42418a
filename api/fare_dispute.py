# mypy: disable-error-code="untyped-decorator"
"""Fare dispute HTTP API (route prefix `api`).

- `POST /api/fare-disputes` (`Workflow.Submitter`): file a dispute; 202 with `Location:
  /api/fare-disputes/<disputeId>` and that resource as the body, 409 for a known `disputeId`.
  The filing principal is recorded in the input (`filedBy`).
- `POST /api/fare-disputes/{disputeId}/evidence` (`Workflow.Submitter`): customer evidence
  (sealed before it is raised), recorded with the submitting principal.
- `POST /api/fare-disputes/{disputeId}/supervisor-decision` (`FareDispute.Supervisor`): approve |
  partial | reject, decided by the signed-in principal; 403 when that principal filed the dispute
  (maker-checker). `record_supervisor_decision` is the same step for the console, in process.
- `GET /api/fare-disputes/{disputeId}` (any role that reads status): stage, SLA due time, what
  the case waits for, outcome.
- `GET /api/fare-disputes/{disputeId}/audit` (`Operations.Reader`/`Operator`): the audit packet
  (built from history, redacted, stored as a blob): decisions with who and when, rules applied,
  refund, messages sent. `.../audit/report?format=html|pdf`: the report for a person;
  `.../documents/resolution-letter.{pdf|html}`: the letter sealed with the packet (all three
  registered by `api.audit.serve_case_evidence`).

401 without an authenticated principal, 403 naming the role needed, 400 names the bad field, 404
is an unknown dispute, 409 a dispute that is not waiting for that input. App settings are read
here (never in the orchestrator) and passed in the input.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from pydantic import Field

from api.access import deprecated_decider_field, recorded_actor, refuse_named_decider
from api.audit import serve_case_evidence
from api.endpoints import Call, workflow_route
from api.errors import InvalidRequest
from api.handlers import json_response, seal
from api.starters import CaseResource
from contracts import ContractModel, Money, duration_setting
from contracts.fare_dispute import (
    CURRENT_DEADLINE_RULES,
    EVIDENCE_SUBMITTED_EVENT,
    SUPERVISOR_DECISION_EVENT,
    DisputeReason,
    EvidenceSubmission,
    FareDisputeInput,
    FareDisputeSettings,
    SupervisorDecision,
    WaitingFor,
    instance_id_for,
    money,
)
from evidence import FARE_DISPUTE as PROFILE
from fare_data import accepted_currencies, load_fare_rules
from identity import Actor, Permission, ensure_not_starter
from workflow_catalogue import FARE_DISPUTE

RESOURCE = "fare dispute"
ROUTE_ID = "disputeId"
_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

AUTO_APPROVE_LIMIT_SETTING = "FARE_DISPUTE_AUTO_APPROVE_LIMIT"
SLA_TIME_ZONE_SETTING = "FARE_DISPUTE_SLA_TIME_ZONE"
SLA_BUSINESS_DAYS_SETTING = "FARE_DISPUTE_SLA_BUSINESS_DAYS"
HOLIDAYS_SETTING = "FARE_DISPUTE_HOLIDAYS"
EVIDENCE_REMINDER_SETTING = "FARE_DISPUTE_EVIDENCE_REMINDER_AFTER"
EVIDENCE_WAIT_SETTING = "FARE_DISPUTE_EVIDENCE_WAIT"
DEFAULTS = {
    AUTO_APPROVE_LIMIT_SETTING: "15.00",
    SLA_TIME_ZONE_SETTING: "Europe/Amsterdam",
    SLA_BUSINESS_DAYS_SETTING: "2",
    HOLIDAYS_SETTING: "",
    EVIDENCE_REMINDER_SETTING: "P1D",
    EVIDENCE_WAIT_SETTING: "P3D",
}
ACTIVE_STATES = {"Pending", "Running"}

bp = df.Blueprint()


# -- request bodies -------------------------------------------------------------------------------


class FileFareDisputeRequest(ContractModel):
    """Body of `POST /api/fare-disputes`."""

    dispute_id: Annotated[str, Field(pattern=_IDENTIFIER)]
    customer_id: Annotated[str, Field(pattern=_IDENTIFIER)]
    trip_id: Annotated[str, Field(pattern=_IDENTIFIER)]
    reason: DisputeReason
    claimed_amount: Money


class EvidenceDocument(ContractModel):
    """A document the customer uploaded elsewhere (reference only)."""

    document_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class SubmitEvidenceRequest(ContractModel):
    """Body of `POST .../evidence`: free text and document references (sealed, never in history)."""

    description: Annotated[str, Field(min_length=1, max_length=4000)]
    documents: Annotated[list[EvidenceDocument], Field(max_length=20)] = Field(default_factory=list)


class SupervisorDecisionRequest(ContractModel):
    """Body of `POST .../supervisor-decision`; the supervisor is the signed-in principal."""

    decision: Literal["approve", "partial", "reject"]
    supervisor: str | None = deprecated_decider_field("supervisor")
    refund_amount: Money | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


# -- settings and checks --------------------------------------------------------------------------


def dispute_settings(currency: str, environ: Mapping[str, str] | None = None) -> FareDisputeSettings:
    """The workflow's app settings (with defaults), checked; a bad value raises ValueError (500)."""
    env = os.environ if environ is None else environ

    def text(name: str) -> str:
        return env.get(name, "").strip() or DEFAULTS[name]

    zone = text(SLA_TIME_ZONE_SETTING)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"app setting {SLA_TIME_ZONE_SETTING}: unknown time zone {zone!r}") from None
    holidays = [date.fromisoformat(day.strip()) for day in text(HOLIDAYS_SETTING).split(",") if day.strip()]
    return FareDisputeSettings(
        auto_approve_limit=money(Decimal(text(AUTO_APPROVE_LIMIT_SETTING)), currency),
        sla_time_zone=zone,
        sla_business_days=int(text(SLA_BUSINESS_DAYS_SETTING)),
        sla_holidays=sorted(holidays),
        evidence_reminder_after=duration_setting(
            EVIDENCE_REMINDER_SETTING, DEFAULTS[EVIDENCE_REMINDER_SETTING], env
        ),
        evidence_wait=duration_setting(EVIDENCE_WAIT_SETTING, DEFAULTS[EVIDENCE_WAIT_SETTING], env),
        deadline_rules=CURRENT_DEADLINE_RULES,
    )


def check_amount(value: Money, field: str, rules: Mapping[str, Any]) -> None:
    """An amount the agency can refund: accepted currency, cents, within the claim bounds."""
    currencies = accepted_currencies(rules)
    if value.currency not in currencies:
        raise InvalidRequest(f"{field}.currency", f"must be one of {', '.join(currencies)}")
    exponent = value.amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise InvalidRequest(f"{field}.amount", "must have at most 2 decimal places")
    minimum, maximum = Decimal(rules["minimumClaim"]), Decimal(rules["maximumClaim"])
    if not minimum <= value.amount <= maximum:
        raise InvalidRequest(f"{field}.amount", f"must be between {minimum} and {maximum}")


def waiting_for(status: DurableOrchestrationStatus) -> str | None:
    """What a running dispute waits for (custom status `waitingFor`), else None."""
    runtime = status.runtime_status.value if status.runtime_status else None
    custom = status.custom_status
    if runtime not in ACTIVE_STATES or not isinstance(custom, dict):
        return None
    value = custom.get("waitingFor")
    return str(value) if value else None


async def _waiting_instance(
    client: df.DurableOrchestrationClient, dispute_id: str, expected: WaitingFor, decider: Actor | None = None
) -> str:
    """The dispute's instance id when it waits for `expected`; 404 / 403 (maker-checker) / 409 otherwise."""
    status = await CASES.existing(client, dispute_id, show_input=decider is not None)
    if decider is not None:
        ensure_not_starter(decider, recorded_actor(status.input_, "filedBy"), f"{RESOURCE} {dispute_id!r}")
    if waiting_for(status) != expected.value:
        state = status.runtime_status.value if status.runtime_status else None
        raise CASES.conflict(
            dispute_id, f"{RESOURCE} {dispute_id!r} is not waiting for {expected.value}", state
        )
    return instance_id_for(dispute_id)


# -- routes ---------------------------------------------------------------------------------------


@workflow_route(bp, "POST", "fare-disputes", Permission.START_WORKFLOW)
async def file_fare_dispute(call: Call) -> func.HttpResponse:
    """Start `fare_dispute` as `fare-dispute-<disputeId>` (202), or 409 if that dispute exists."""
    request = call.body(FileFareDisputeRequest)
    check_amount(request.claimed_amount, "claimedAmount", load_fare_rules())
    dispute = FareDisputeInput(
        dispute_id=request.dispute_id,
        customer_id=request.customer_id,
        trip_id=request.trip_id,
        reason=request.reason,
        claimed_amount=request.claimed_amount,
        settings=dispute_settings(request.claimed_amount.currency),
        filed_by=call.actor,
        seals_audit_packet=True,
        erases_personal_data=True,
    )
    return await CASES.start(call.client, request.dispute_id, dispute.to_dict())


@workflow_route(bp, "POST", "fare-disputes/{disputeId}/evidence", Permission.SUBMIT_EVIDENCE)
async def submit_fare_dispute_evidence(call: Call) -> func.HttpResponse:
    """Seal the evidence in a blob and raise `evidence_submitted` with its reference (202)."""
    evidence = call.body(SubmitEvidenceRequest)
    instance_id = await _waiting_instance(call.client, call.business_id, WaitingFor.EVIDENCE)
    sealed = await seal(evidence.to_dict(), f"{instance_id}:evidence")
    event = EvidenceSubmission(
        evidence=sealed, document_count=len(evidence.documents), submitted_by=call.actor
    )
    await call.client.raise_event(instance_id, EVIDENCE_SUBMITTED_EVENT, event.to_dict())
    return json_response({"accepted": True, "disputeId": call.business_id}, 202)


@workflow_route(bp, "POST", "fare-disputes/{disputeId}/supervisor-decision", Permission.DECIDE_FARE_DISPUTE)
async def decide_fare_dispute(call: Call) -> func.HttpResponse:
    """Raise the signed-in supervisor's decision (202); the note is sealed, the amount checked (400)."""
    decision = call.body(SupervisorDecisionRequest)
    refuse_named_decider(decision.supervisor, call.actor, "supervisor")
    await record_supervisor_decision(
        call.client,
        call.business_id,
        decision=decision.decision,
        refund_amount=decision.refund_amount,
        note=decision.note,
        actor=call.actor,
    )
    accepted = {"accepted": True, "disputeId": call.business_id, "decidedBy": call.actor.to_dict()}
    return json_response(accepted, 202)


async def record_supervisor_decision(
    client: df.DurableOrchestrationClient,
    dispute_id: str,
    *,
    decision: Literal["approve", "partial", "reject"],
    refund_amount: Money | None,
    note: str | None,
    actor: Actor,
) -> SupervisorDecision:
    """Raise `actor`'s decision on the dispute: the one step behind the endpoint and the console.

    400 for an amount that is missing, not allowed or out of bounds; 404 unknown dispute; 403 when
    `actor` filed it (maker-checker); 409 when it does not wait for a supervisor.
    """
    if decision == "partial":
        if refund_amount is None:
            raise InvalidRequest("refundAmount", "is required when decision is 'partial'")
        check_amount(refund_amount, "refundAmount", load_fare_rules())
    elif refund_amount is not None:
        raise InvalidRequest("refundAmount", "is only allowed when decision is 'partial'")
    instance_id = await _waiting_instance(client, dispute_id, WaitingFor.SUPERVISOR_DECISION, decider=actor)
    sealed_note = await seal({"note": note}, f"{instance_id}:supervisor_note") if note else None
    event = SupervisorDecision(
        decision=decision,
        supervisor=actor.name,
        refund_amount=refund_amount,
        note=sealed_note,
        decided_by=actor,
    )
    await client.raise_event(instance_id, SUPERVISOR_DECISION_EVENT, event.to_dict())
    return event


def dispute_view(dispute_id: str, status: DurableOrchestrationStatus) -> dict[str, Any]:
    """The dispute's status resource: stage, SLA due time, what it waits for, the outcome."""
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    body: dict[str, Any] = {
        "disputeId": dispute_id,
        "instanceId": instance_id_for(dispute_id),
        "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
        "stage": custom.get("stage"),
        "slaDue": custom.get("slaDue"),
        "waitingFor": custom.get("waitingFor"),
        "escalated": bool(custom.get("escalated")),
        "outcome": custom.get("outcome"),
        "createdTime": status.created_time.isoformat() if status.created_time else None,
        "lastUpdatedTime": status.last_updated_time.isoformat() if status.last_updated_time else None,
    }
    for recorded in ("unsent", "failure"):  # the failure policy's records, when there are any
        if custom.get(recorded):
            body[recorded] = custom[recorded]
    if isinstance(status.output, dict):
        body["result"] = status.output
    return body


CASES = CaseResource(FARE_DISPUTE, RESOURCE, ROUTE_ID, dispute_view)
CASES.serve_status(
    bp,
    "get_fare_dispute",
    "The support portal's view: stage, SLA due time, what the case waits for, and the outcome.",
)
serve_case_evidence(bp, PROFILE, resource=RESOURCE, id_parameter=ROUTE_ID)
