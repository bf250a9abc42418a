# mypy: disable-error-code="untyped-decorator"
"""Fare dispute activities: trip history, fare rules, customer messages and the refund.

Each registered function parses its input model first, does one thing and returns a small dict
without card or contact data. The two side effects (message, refund) run through the effect
ledger under the key the orchestrator built (`<instance id>:<step>[:<item>]`), and the outside
system receives the same key, so retries, re-deliveries and a crash between the call and the
ledger record never repeat them. The pure parts (`summarize_trip`, `evaluate_fare_rules`) are
separate from the registrations so they can be tested without a host.

Trip history and the customer directory come from a JSON file (`FARE_DISPUTE_TRIP_HISTORY_FILE`,
default fare_data/sample_trips.json); the fare rules from `FARE_DISPUTE_RULES_FILE` (default
fare_data/fare_rules.json); fare_data/ reads both.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import azure.durable_functions as df

from contracts import Money
from contracts.fare_dispute import (
    APPLY_FARE_RULES_ACTIVITY,
    ISSUE_FARE_REFUND_ACTIVITY,
    LOOK_UP_DISPUTED_TRIP_ACTIVITY,
    NOTIFY_DISPUTE_CUSTOMER_ACTIVITY,
    WORKFLOW,
    ApplyFareRulesInput,
    IssueRefundInput,
    IssueRefundResult,
    LookUpTripInput,
    NotifyCustomerInput,
    NotifyCustomerResult,
    RuleEvaluation,
    TripCharge,
    TripLookupResult,
    TripSummary,
    money,
)
from fare_data import load_fare_rules, load_trip_history
from idempotency import EffectLedger
from integrations import IntegrationRejectedError, integrations_from_settings
from integrations.customer_messaging import CustomerMessage
from integrations.payments import RefundRequest
from telemetry import activity_log, instance_id_from_key

JsonDict = dict[str, Any]

bp = df.Blueprint()


# -- pure logic -----------------------------------------------------------------------------------


def summarize_trip(history: Mapping[str, Any], request: LookUpTripInput) -> TripLookupResult:
    """The card-free summary of the customer's trip; no trip when unknown or another customer's."""
    trip = history.get("trips", {}).get(request.trip_id)
    if trip is None or trip.get("customerId") != request.customer_id:
        return TripLookupResult()
    charges = [
        TripCharge(payment_reference=charge["paymentReference"], amount=Money.from_dict(charge["amount"]))
        for charge in trip.get("charges", [])
    ]
    tariff = Money.from_dict(trip["tariffFare"])
    total = sum((charge.amount.amount for charge in charges), Decimal(0))
    return TripLookupResult(
        trip=TripSummary(
            trip_id=request.trip_id,
            status=trip["status"],
            tariff_fare=tariff,
            charges=charges,
            charged_total=money(total, tariff.currency),
        )
    )


def evaluate_fare_rules(rules: Mapping[str, Any], request: ApplyFareRulesInput) -> RuleEvaluation:
    """Apply the rule for the dispute's reason to the trip summary (Decimal arithmetic only).

    `refundable` is what the trip history supports, capped by the claim; `refund_limit` is the
    charge the refund would go back to, which no refund may exceed.
    """
    version = str(rules["version"])
    trip = request.trip
    claimed = request.claimed_amount
    rule = next((item for item in rules["rules"] if item["reason"] == request.reason.value), None)
    zero = money(Decimal(0), trip.tariff_fare.currency)

    def verdict(
        verdict: str, explanation: str, charge: TripCharge | None, refundable: Decimal = Decimal(0)
    ) -> RuleEvaluation:
        limit = charge.amount if charge is not None else zero
        return RuleEvaluation.from_dict(
            {
                "ruleId": rule["id"] if rule else "none",
                "rulesVersion": version,
                "verdict": verdict,
                "refundable": money(min(refundable, claimed.amount), limit.currency).to_dict(),
                "refundLimit": limit.to_dict(),
                "paymentReference": charge.payment_reference if charge is not None else None,
                "explanation": explanation,
            }
        )

    if rule is None:
        return verdict("not_eligible", "no_rule_for_reason", None)
    if not trip.charges:
        return verdict("not_eligible", "nothing_charged", None)
    if any(charge.amount.currency != claimed.currency for charge in trip.charges):
        return verdict("not_eligible", "claim_currency_differs_from_fare", None)
    first = trip.charges[0]
    check = rule["check"]
    if check == "charged_above_tariff":
        difference = trip.charged_total.amount - trip.tariff_fare.amount
        if difference >= Decimal(str(rule.get("minimumDifference", "0.01"))):
            return verdict("confirmed", "charged_above_tariff", first, min(difference, first.amount.amount))
        return verdict("unconfirmed", "charge_matches_tariff", first)
    if check == "charged_for_cancelled_trip":
        if trip.status == "cancelled":
            return verdict("confirmed", "cancelled_trip_charged", first, first.amount.amount)
        return verdict("unconfirmed", "trip_not_cancelled", first)
    if check == "repeated_charge":
        repeated = [
            charge
            for index, charge in enumerate(trip.charges)
            if any(earlier.amount == charge.amount for earlier in trip.charges[:index])
        ]
        if repeated:
            return verdict("confirmed", "same_amount_charged_twice", repeated[-1], repeated[-1].amount.amount)
        return verdict("unconfirmed", "single_charge", first)
    raise ValueError(f"fare rule {rule['id']!r} names an unknown check {check!r}")


# -- side effects ---------------------------------------------------------------------------------


def send_customer_message(request: NotifyCustomerInput, environ: Mapping[str, str] | None = None) -> JsonDict:
    """Send the templated message to the customer's preferred channel, once per key."""
    customer = load_trip_history(environ).get("customers", {}).get(request.customer_id)
    if customer is None:
        return NotifyCustomerResult(template=request.template, status="skipped").to_dict()
    channel: Literal["email", "sms"] = "sms" if customer.get("channel") == "sms" else "email"
    message = CustomerMessage(
        channel=channel,
        to=customer["phone"] if channel == "sms" else customer["email"],
        template=request.template,
        parameters=request.parameters,
    )
    messaging = integrations_from_settings(environ).customer_messaging

    def send() -> JsonDict:
        receipt = messaging.send(message, request.key)
        return NotifyCustomerResult(
            template=request.template,
            status=receipt.status,
            message_id=receipt.message_id,
            channel=receipt.channel,
        ).to_dict()

    return EffectLedger.from_settings(environ).run_once(request.key, send, request=request.to_dict()).result


def refund_fare(request: IssueRefundInput, environ: Mapping[str, str] | None = None) -> JsonDict:
    """Refund once per key, and never more than the charge it goes back to."""
    journal = activity_log(WORKFLOW, "issue_fare_refund", instance_id_from_key(request.key))
    amount, limit = request.amount, request.refund_limit
    if amount.currency != limit.currency or not Decimal(0) < amount.amount <= limit.amount:
        journal.error("refund refused: outside (0, fare]", amount=str(amount.amount))
        return IssueRefundResult(status="refused", amount=amount).to_dict()
    gateway = integrations_from_settings(environ).payments
    refund = RefundRequest(payment_reference=request.payment_reference, amount=amount, reason=request.reason)

    def issue() -> JsonDict:
        try:
            receipt = gateway.refund(refund, request.key)
        except IntegrationRejectedError as error:
            # A refusal is an answer, not a failure: recorded, so a retry does not ask again.
            journal.warning("gateway rejected the refund", status_code=str(error.status_code))
            return IssueRefundResult(status="rejected", amount=amount).to_dict()
        return IssueRefundResult(
            status=receipt.status, amount=receipt.amount, refund_id=receipt.refund_id
        ).to_dict()

    outcome = EffectLedger.from_settings(environ).run_once(request.key, issue, request=request.to_dict())
    journal.info("refund recorded", performed=outcome.performed, status=outcome.result["status"])
    return outcome.result


# -- registrations --------------------------------------------------------------------------------


@bp.activity_trigger(input_name="work", activity=LOOK_UP_DISPUTED_TRIP_ACTIVITY)
def look_up_disputed_trip(work: JsonDict) -> JsonDict:
    """The disputed trip's summary (charges by payment reference; card data dropped here)."""
    request = LookUpTripInput.from_dict(work)
    return summarize_trip(load_trip_history(), request).to_dict()


@bp.activity_trigger(input_name="work", activity=APPLY_FARE_RULES_ACTIVITY)
def apply_fare_rules(work: JsonDict) -> JsonDict:
    """The fare rule's verdict on the claim."""
    request = ApplyFareRulesInput.from_dict(work)
    return evaluate_fare_rules(load_fare_rules(), request).to_dict()


@bp.activity_trigger(input_name="work", activity=NOTIFY_DISPUTE_CUSTOMER_ACTIVITY)
def notify_dispute_customer(work: JsonDict) -> JsonDict:
    """One customer message per key; contact details are looked up here and never returned."""
    return send_customer_message(NotifyCustomerInput.from_dict(work))


@bp.activity_trigger(input_name="work", activity=ISSUE_FARE_REFUND_ACTIVITY)
def issue_fare_refund(work: JsonDict) -> JsonDict:
    """One refund per dispute (the key), never above the charge."""
    return refund_fare(IssueRefundInput.from_dict(work))
