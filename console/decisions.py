"""The queue of pending human decisions, and the decisions the console takes for the signed-in person.

Pending, from each running instance's custom status (what the workflows already publish):
- maintenance order: `waitingFor == "approval_decision"` → approve or reject (`Maintenance.Approver`);
- fare dispute: `waitingFor == "supervisor_decision"` → approve, partial (with an amount) or reject
  (`FareDispute.Supervisor`);
- relief request: every shelter whose state is `awaiting` → confirm receipt (`Relief.ShelterStaff`,
  only for the shelters assigned to that person).

A confirmed decision runs the same step the workflow's HTTP endpoint runs (`record_approval`,
`record_supervisor_decision`, `record_shelter_confirmation` in api/), in process and as the
signed-in principal: the same validation, maker-checker and shelter scope (403), and state checks
(409 when it no longer waits) apply, and no request leaves the app (no key, no self-call). The form
names no decider: the decider is whoever is signed in. The console checks the form first only to
show a precise message before the confirmation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import azure.durable_functions as df

from api.errors import InvalidRequest
from api.fare_dispute import record_supervisor_decision
from api.maintenance_order import record_approval
from api.relief_routing import record_shelter_confirmation
from console.management import InstanceRow
from contracts import Money
from contracts.fare_dispute import SUPERVISOR_DECISION_EVENT
from contracts.maintenance_order import APPROVAL_DECISION_EVENT
from identity import Actor, Permission, Principal, Role
from workflow_catalogue import FARE_DISPUTE, MAINTENANCE_ORDER, RELIEF_ROUTING

IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
AMOUNT_PATTERN = re.compile(r"^\d{1,7}(\.\d{1,2})?$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
MAX_TEXT = 2000
# The permission each kind of decision needs (identity.roles grants it).
DECISION_PERMISSIONS = {
    "maintenance_approval": Permission.APPROVE_MAINTENANCE_ORDER,
    "supervisor_decision": Permission.DECIDE_FARE_DISPUTE,
    "shelter_confirmation": Permission.CONFIRM_SHELTER_DELIVERY,
}
DECISION_ROLES = {
    "maintenance_approval": Role.MAINTENANCE_APPROVER,
    "supervisor_decision": Role.FARE_DISPUTE_SUPERVISOR,
    "shelter_confirmation": Role.RELIEF_SHELTER_STAFF,
}


class DecisionFormError(InvalidRequest):
    """A decision form field is missing or malformed: a 400 naming the field (`field`), as in the API."""


@dataclass(frozen=True)
class KindOfDecision:
    """What a pending decision and a taken one share: the kind, which decides the permission needed."""

    kind: str  # "maintenance_approval" | "supervisor_decision" | "shelter_confirmation"

    @property
    def permission(self) -> Permission:
        """What deciding this needs."""
        return DECISION_PERMISSIONS[self.kind]


@dataclass(frozen=True)
class PendingDecision(KindOfDecision):
    """One decision a person still has to take."""

    row: InstanceRow
    subject: str  # what is decided on: order, dispute or shelter
    due: str  # deadline, SLA due time or next escalation (ISO), '' when unknown
    detail: str  # reminders sent, escalations, ...
    shelter_id: str = ""
    currency: str = ""
    started_by_id: str = ""  # principal id of whoever started the case, when the input records it


@dataclass(frozen=True)
class Decision(KindOfDecision):
    """A validated decision: what the workflow receives, and a sentence for the confirmation."""

    instance_id: str
    business_id: str
    body: dict[str, Any]
    summary: str


@dataclass(frozen=True)
class Viewer:
    """The signed-in person looking at the console, and the shelters assigned to them."""

    principal: Principal
    assigned_shelters: frozenset[str] = frozenset()

    def can(self, permission: Permission) -> bool:
        """Whether one of the viewer's roles grants `permission`."""
        return self.principal.can(permission)

    def refusal(self, decision: PendingDecision) -> str | None:
        """Why the viewer may not take `decision` (shown instead of the form), or None when they may."""
        if not self.can(decision.permission):
            return f"needs the role {DECISION_ROLES[decision.kind].value}"
        if decision.started_by_id and decision.started_by_id == self.principal.principal_id:
            return "you started this case: another person decides it (maker-checker)"
        if decision.kind == "shelter_confirmation" and decision.shelter_id not in self.assigned_shelters:
            return "not one of your shelters"
        return None


def pending_decisions(rows: list[InstanceRow]) -> list[PendingDecision]:
    """The decisions the running instances wait for, the soonest due first."""
    found: list[PendingDecision] = []
    for row in rows:
        custom = row.custom_status if isinstance(row.custom_status, dict) else {}
        workflow = row.workflow.name if row.workflow else ""
        if workflow == MAINTENANCE_ORDER.name and row.waiting_for == APPROVAL_DECISION_EVENT:
            reminders = int(custom.get("remindersSent") or 0)
            detail = f"{reminders} reminder(s) sent" + (
                ", escalated to the supervisor" if custom.get("escalated") else ""
            )
            found.append(
                PendingDecision(
                    "maintenance_approval",
                    row,
                    row.business_id,
                    str(custom.get("deadlineUtc") or ""),
                    detail,
                    started_by_id=_starter_id(row.raw.get("input"), "startedBy"),
                )
            )
        elif workflow == FARE_DISPUTE.name and row.waiting_for == SUPERVISOR_DECISION_EVENT:
            detail = "SLA breached, escalated" if custom.get("escalated") else ""
            found.append(
                PendingDecision(
                    "supervisor_decision",
                    row,
                    row.business_id,
                    str(custom.get("slaDue") or ""),
                    detail,
                    currency=_claim_currency(row.raw.get("input")),
                    started_by_id=_starter_id(row.raw.get("input"), "filedBy"),
                )
            )
        elif workflow == RELIEF_ROUTING.name:
            shelters = custom.get("shelters")
            for shelter_id, progress in sorted(shelters.items() if isinstance(shelters, dict) else []):
                if isinstance(progress, dict) and progress.get("state") == "awaiting":
                    escalations = int(progress.get("escalations") or 0)
                    found.append(
                        PendingDecision(
                            "shelter_confirmation",
                            row,
                            str(shelter_id),
                            str(custom.get("deadlineUtc") or ""),
                            f"{escalations} escalation(s)",
                            shelter_id=str(shelter_id),
                        )
                    )
    return sorted(found, key=lambda d: (d.due or "9999", d.row.created_time, d.subject))


def decision_from_form(
    kind: str, instance_id: str, business_id: str, form: Mapping[str, str], decider_name: str
) -> Decision:
    """Check a decision form and turn it into the decision the workflow receives (`DecisionFormError`)."""
    if kind == "maintenance_approval":
        verdict = _choice(form, "decision", ("approve", "reject"))
        body: dict[str, Any] = {"approved": verdict == "approve"}
        comment = _text(form, "comment")
        if comment:
            body["comment"] = comment
        action = "Approve" if verdict == "approve" else "Reject"
        summary = f"{action} maintenance order {business_id} as {decider_name}"
        return Decision(kind, instance_id, business_id, body, summary)
    if kind == "supervisor_decision":
        verdict = _choice(form, "decision", ("approve", "partial", "reject"))
        body = {"decision": verdict}
        summary = f"{verdict.capitalize()} fare dispute {business_id} as supervisor {decider_name}"
        if verdict == "partial":
            amount = _amount(form, "refundAmount")
            currency = form.get("currency", "").strip().upper()
            if not CURRENCY_PATTERN.fullmatch(currency):
                raise DecisionFormError("currency", "must be a three-letter currency code")
            body["refundAmount"] = {"amount": amount, "currency": currency}
            summary += f", refund {amount} {currency}"
        elif form.get("refundAmount", "").strip():
            raise DecisionFormError("refundAmount", "is only allowed with a partial refund")
        note = _text(form, "note")
        if note:
            body["note"] = note
        return Decision(kind, instance_id, business_id, body, summary)
    if kind == "shelter_confirmation":
        shelter_id = _identifier(form, "shelterId")
        body = {"shelterId": shelter_id}
        summary = (
            f"Confirm that shelter {shelter_id} received relief request {business_id} (as {decider_name})"
        )
        return Decision(kind, instance_id, business_id, body, summary)
    raise DecisionFormError("kind", "unknown decision")


async def take_decision(client: df.DurableOrchestrationClient, decision: Decision, actor: Actor) -> None:
    """Run the workflow's own decision step for `actor`, in process (its errors reach the caller).

    Raises what the endpoint would answer: `InvalidRequest` (400), `AccessDenied` (403: maker-checker,
    shelter scope), `InstanceNotFound` (404), `Conflict` (409).
    """
    body = decision.body
    if decision.kind == "maintenance_approval":
        await record_approval(
            client,
            decision.business_id,
            approved=bool(body["approved"]),
            comment=body.get("comment"),
            actor=actor,
        )
    elif decision.kind == "supervisor_decision":
        refund = body.get("refundAmount")
        await record_supervisor_decision(
            client,
            decision.business_id,
            decision=body["decision"],
            refund_amount=Money.from_dict(refund) if refund is not None else None,
            note=body.get("note"),
            actor=actor,
        )
    else:
        await record_shelter_confirmation(
            client, decision.business_id, shelter_id=body["shelterId"], received_items=[], actor=actor
        )


def _choice(form: Mapping[str, str], field: str, choices: tuple[str, ...]) -> str:
    value = form.get(field, "").strip()
    if value not in choices:
        raise DecisionFormError(field, f"must be one of {', '.join(choices)}")
    return value


def _identifier(form: Mapping[str, str], field: str) -> str:
    value = form.get(field, "").strip()
    if not IDENTIFIER_PATTERN.fullmatch(value):
        raise DecisionFormError(field, "is required: 1-64 letters, digits, '-', '_' or '.'")
    return value


def _amount(form: Mapping[str, str], field: str) -> str:
    value = form.get(field, "").strip()
    if not AMOUNT_PATTERN.fullmatch(value):
        raise DecisionFormError(field, "must be an amount such as 12.50")
    try:
        if Decimal(value) <= 0:
            raise DecisionFormError(field, "must be more than 0")
    except InvalidOperation:
        raise DecisionFormError(field, "must be an amount such as 12.50") from None
    return value


def _text(form: Mapping[str, str], field: str) -> str:
    value = form.get(field, "").strip()
    if len(value) > MAX_TEXT:
        raise DecisionFormError(field, f"must be at most {MAX_TEXT} characters")
    return value


def _input_field(orchestration_input: Any, field: str) -> Any:
    """One field of a case's input as the management API returns it (JSON text, possibly twice), or None."""
    value = orchestration_input
    for _ in range(2):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None
    return value.get(field) if isinstance(value, dict) else None


def _claim_currency(orchestration_input: Any) -> str:
    claimed = _input_field(orchestration_input, "claimedAmount")
    return str(claimed.get("currency") or "") if isinstance(claimed, dict) else ""


def _starter_id(orchestration_input: Any, field: str) -> str:
    """The principal id recorded as the case's starter in its input ('' when absent)."""
    recorded = _input_field(orchestration_input, field)
    return str(recorded.get("principalId") or "") if isinstance(recorded, dict) else ""
