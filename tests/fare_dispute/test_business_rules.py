"""Pure logic of the fare dispute: the business-day SLA and the fare rules (no host needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from activities.fare_dispute import evaluate_fare_rules, load_fare_rules, load_trip_history, summarize_trip
from orchestrators.fare_dispute import (
    ApplyFareRulesInput,
    DisputeReason,
    LookUpTripInput,
    RuleEvaluation,
    TripSummary,
    sla_due_utc,
)

AMSTERDAM = "Europe/Amsterdam"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("filed", "holidays", "due"),
    [
        # Tuesday 10:00 local (09:00 UTC in winter) -> Thursday 10:00 local.
        ("2026-12-01T09:00:00", [], "2026-12-03T09:00:00"),
        # Friday 15:00 local -> the weekend is skipped -> Tuesday 15:00 local.
        ("2026-12-04T14:00:00", [], "2026-12-08T14:00:00"),
        # Thursday 24 Dec 15:00 local, holidays 25 and 28 Dec: Fri hol, weekend, Mon hol -> Tue, Wed.
        ("2026-12-24T14:00:00", [date(2026, 12, 25), date(2026, 12, 28)], "2026-12-30T14:00:00"),
        # Saturday: the clock starts Monday 00:00 local -> Wednesday 00:00 local (Tuesday 23:00 UTC).
        ("2026-12-05T11:00:00", [], "2026-12-08T23:00:00"),
        # Late Friday UTC is already Saturday in Amsterdam: the local day decides.
        ("2026-12-04T23:30:00", [], "2026-12-08T23:00:00"),
        # Across the spring DST change (29 March 2026): the local wall time is kept.
        ("2026-03-27T10:00:00", [], "2026-03-31T09:00:00"),
    ],
)
def test_sla_is_two_business_days_in_the_configured_zone(filed: str, holidays: list[date], due: str) -> None:
    assert sla_due_utc(utc(filed), AMSTERDAM, holidays, 2) == utc(due)


def test_sla_depends_only_on_its_arguments() -> None:
    """Replays compute the same instant: same inputs, same answer, whatever the host's zone."""
    filed = utc("2026-12-24T14:00:00")
    holidays = [date(2026, 12, 25)]
    assert {sla_due_utc(filed, AMSTERDAM, holidays) for _ in range(3)} == {utc("2026-12-29T14:00:00")}
    assert sla_due_utc(filed, "America/New_York", holidays) == utc("2026-12-29T14:00:00")


def trip(trip_id: str, customer_id: str = "cust-ana") -> TripSummary:
    found = summarize_trip(load_trip_history(), LookUpTripInput(customer_id=customer_id, trip_id=trip_id))
    assert found.trip is not None
    return found.trip


def evaluate(
    trip_id: str, reason: DisputeReason, amount: str, customer_id: str = "cust-ana"
) -> RuleEvaluation:
    request = ApplyFareRulesInput.from_dict(
        {
            "reason": reason.value,
            "claimedAmount": {"amount": amount, "currency": "EUR"},
            "trip": trip(trip_id, customer_id).to_dict(),
        }
    )
    return evaluate_fare_rules(load_fare_rules(), request)


def test_trip_summary_keeps_no_card_data_and_hides_other_customers_trips() -> None:
    summary = trip("trip-overcharged").to_dict()
    assert "4111" not in str(summary) and "card" not in str(summary).lower()
    assert summary["chargedTotal"] == {"amount": "7.70", "currency": "EUR"}
    other = summarize_trip(
        load_trip_history(), LookUpTripInput(customer_id="cust-ben", trip_id="trip-overcharged")
    )
    assert other.trip is None


@pytest.mark.parametrize(
    ("trip_id", "reason", "claimed", "customer", "expected"),
    [
        ("trip-overcharged", DisputeReason.OVERCHARGE, "9.00", "cust-ana", ("confirmed", "4.50", "7.70")),
        ("trip-overcharged", DisputeReason.OVERCHARGE, "2.00", "cust-ana", ("confirmed", "2.00", "7.70")),
        ("trip-correct", DisputeReason.OVERCHARGE, "2.00", "cust-ana", ("unconfirmed", "0", "3.20")),
        ("trip-cancelled", DisputeReason.CANCELLED_TRIP, "4.10", "cust-ana", ("confirmed", "4.10", "4.10")),
        ("trip-correct", DisputeReason.CANCELLED_TRIP, "3.20", "cust-ana", ("unconfirmed", "0", "3.20")),
        ("trip-duplicate", DisputeReason.DUPLICATE_CHARGE, "2.90", "cust-ben", ("confirmed", "2.90", "2.90")),
        ("trip-correct", DisputeReason.DUPLICATE_CHARGE, "3.20", "cust-ana", ("unconfirmed", "0", "3.20")),
    ],
)
def test_each_rule_confirms_only_what_the_trip_history_shows(
    trip_id: str, reason: DisputeReason, claimed: str, customer: str, expected: tuple[str, str, str]
) -> None:
    result = evaluate(trip_id, reason, claimed, customer)
    verdict, refundable, limit = expected
    assert (result.verdict, str(result.refundable.amount), str(result.refund_limit.amount)) == (
        verdict,
        refundable,
        limit,
    )
    assert result.refundable.amount <= result.refund_limit.amount


def test_duplicate_charge_refunds_the_repeated_charge() -> None:
    result = evaluate("trip-duplicate", DisputeReason.DUPLICATE_CHARGE, "2.90", "cust-ben")
    assert result.payment_reference == "pay-duplicate-2"


def test_a_claim_in_another_currency_is_not_eligible() -> None:
    request: dict[str, Any] = {
        "reason": "overcharge",
        "claimedAmount": {"amount": "4.50", "currency": "USD"},
        "trip": trip("trip-overcharged").to_dict(),
    }
    result = evaluate_fare_rules(load_fare_rules(), ApplyFareRulesInput.from_dict(request))
    assert (result.verdict, result.explanation) == ("not_eligible", "claim_currency_differs_from_fare")
