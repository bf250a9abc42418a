"""The queue of pending human decisions, and the decisions the console sends on an operator's behalf.

Pending, from each running instance's custom status (what the workflows already publish):
- maintenance order: `waitingFor == "approval_decision"` → approve or reject
  (`POST /api/maintenance-orders/{orderId}/approval`, `{approved, approver, comment?}`);
- fare dispute: `waitingFor == "supervisor_decision"` → approve, partial (with an amount) or reject
  (`POST /api/fare-disputes/{disputeId}/supervisor-decision`, `{decision, supervisor, refundAmount?, note?}`);
- relief request: every shelter whose state is `awaiting` → confirm receipt on the shelter's
  behalf (`POST /api/relief-requests/{requestId}/shelter-confirmations`, `{shelterId}`).

A decision goes to the workflow's own endpoint (`send_decision`), so the workflow's validation and
state checks (400 naming the field, 409 when it no longer waits) apply exactly as for any caller;
the console checks the form first only to show the operator a precise message before confirming.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import aiohttp

from console.management import InstanceRow
from orchestrators.fare_dispute import SUPERVISOR_DECISION_EVENT
from orchestrators.maintenance_order import APPROVAL_DECISION_EVENT

PERSON_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.@'-]{0,99}$")
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
AMOUNT_PATTERN = re.compile(r"^\d{1,7}(\.\d{1,2})?$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
MAX_TEXT = 2000
SEND_TIMEOUT_SECONDS = 30


class DecisionFormError(Exception):
    """A decision form field is missing or malformed (`field` names it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PendingDecision:
    """One decision a person still has to take."""

    kind: str  # "maintenance_approval" | "supervisor_decision" | "shelter_confirmation"
    row: InstanceRow
    subject: str  # what is decided on: order, dispute or shelter
    due: str  # deadline, SLA due time or next escalation (ISO), '' when unknown
    detail: str  # reminders sent, escalations, ...
    shelter_id: str = ""
    currency: str = ""


@dataclass(frozen=True)
class Decision:
    """A validated decision: the endpoint path, the JSON body, and a sentence for the confirmation."""

    kind: str
    instance_id: str
    path: str
    body: dict[str, Any]
    summary: str


def pending_decisions(rows: list[InstanceRow]) -> list[PendingDecision]:
    """The decisions the running instances wait for, the soonest due first."""
    found: list[PendingDecision] = []
    for row in rows:
        custom = row.custom_status if isinstance(row.custom_status, dict) else {}
        workflow = row.workflow.name if row.workflow else ""
        if workflow == "maintenance_order" and row.waiting_for == APPROVAL_DECISION_EVENT:
            reminders = int(custom.get("remindersSent") or 0)
            detail = f"{reminders} reminder(s) sent" + (
                ", escalated to the supervisor" if custom.get("escalated") else ""
            )
            found.append(
                PendingDecision(
                    "maintenance_approval", row, row.business_id, str(custom.get("deadlineUtc") or ""), detail
                )
            )
        elif workflow == "fare_dispute" and row.waiting_for == SUPERVISOR_DECISION_EVENT:
            detail = "SLA breached, escalated" if custom.get("escalated") else ""
            found.append(
                PendingDecision(
                    "supervisor_decision",
                    row,
                    row.business_id,
                    str(custom.get("slaDue") or ""),
                    detail,
                    currency=_claim_currency(row.raw.get("input")),
                )
            )
        elif workflow == "relief_routing":
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


def decision_from_form(kind: str, instance_id: str, business_id: str, form: Mapping[str, str]) -> Decision:
    """Check a decision form and turn it into the workflow endpoint's request (`DecisionFormError`)."""
    ident = quote(business_id, safe="")
    if kind == "maintenance_approval":
        verdict = _choice(form, "decision", ("approve", "reject"))
        approver = _person(form, "approver")
        body: dict[str, Any] = {"approved": verdict == "approve", "approver": approver}
        comment = _text(form, "comment")
        if comment:
            body["comment"] = comment
        summary = (
            f"{'Approve' if verdict == 'approve' else 'Reject'} maintenance order {business_id} as {approver}"
        )
        return Decision(kind, instance_id, f"maintenance-orders/{ident}/approval", body, summary)
    if kind == "supervisor_decision":
        verdict = _choice(form, "decision", ("approve", "partial", "reject"))
        supervisor = _identifier(form, "supervisor")
        body = {"decision": verdict, "supervisor": supervisor}
        summary = f"{verdict.capitalize()} fare dispute {business_id} as supervisor {supervisor}"
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
        return Decision(kind, instance_id, f"fare-disputes/{ident}/supervisor-decision", body, summary)
    if kind == "shelter_confirmation":
        shelter_id = _identifier(form, "shelterId")
        confirmed_by = _person(form, "confirmedBy")
        body = {"shelterId": shelter_id}
        summary = (
            f"Confirm that shelter {shelter_id} received relief request {business_id} "
            f"(reported by {confirmed_by})"
        )
        return Decision(kind, instance_id, f"relief-requests/{ident}/shelter-confirmations", body, summary)
    raise DecisionFormError("kind", "unknown decision")


@dataclass(frozen=True)
class EndpointAnswer:
    """What the workflow's endpoint answered."""

    status: int
    body: Any

    @property
    def accepted(self) -> bool:
        """202: the event was raised."""
        return self.status == 202

    def message(self) -> str:
        """The endpoint's error text, naming the field when it did."""
        if isinstance(self.body, dict):
            error = str(self.body.get("error") or "")
            field = self.body.get("field")
            return f"{field}: {error}" if field else error
        return f"the endpoint answered {self.status}"


async def send_decision(api_base: str, decision: Decision, function_key: str | None) -> EndpointAnswer:
    """POST the decision to the workflow's own endpoint (`api_base` = `<origin>/api/`)."""
    headers = {"Content-Type": "application/json"}
    if function_key:
        headers["x-functions-key"] = function_key
    timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT_SECONDS)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(api_base + decision.path, data=json.dumps(decision.body), headers=headers) as response,
    ):
        text = await response.text()
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        return EndpointAnswer(response.status, body)


def _choice(form: Mapping[str, str], field: str, choices: tuple[str, ...]) -> str:
    value = form.get(field, "").strip()
    if value not in choices:
        raise DecisionFormError(field, f"must be one of {', '.join(choices)}")
    return value


def _person(form: Mapping[str, str], field: str) -> str:
    value = form.get(field, "").strip()
    if not PERSON_PATTERN.fullmatch(value):
        raise DecisionFormError(field, "is required: 1-100 letters, digits, spaces or . _ @ ' -")
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


def _claim_currency(orchestration_input: Any) -> str:
    value = orchestration_input
    for _ in range(2):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return ""
    claimed = value.get("claimedAmount") if isinstance(value, dict) else None
    return str(claimed.get("currency") or "") if isinstance(claimed, dict) else ""
