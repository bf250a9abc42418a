"""Pure logic of the fare dispute: the business-day SLA and the fare rules (no host needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from activities.fare_dispute import evaluate_fare_rules, summarize_trip
from contracts.fare_dispute import (
    ApplyFareRulesInput,
    DeadlineRules,
    DisputeReason,
    LookUpTripInput,
    RuleEvaluation,
    TripSummary,
)
from fare_data import load_fare_rules, load_trip_history
from orchestrators.fare_dispute import sla_due_utc

AMSTERDAM = "Europe/Amsterdam"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


CHRISTMAS = [date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)]


@pytest.mark.parametrize(
    ("filed", "holidays", "due"),
    [
        pytest.param(
            # Tuesday 10:00 local (09:00 UTC in winter) -> Thursday 10:00 local.
            "2026-12-01T09:00:00",
            [],
            "2026-12-03T09:00:00",
            id="plain-tuesday",
        ),
        pytest.param(
            # Friday 15:30 local -> the weekend is skipped -> Tuesday 15:30 local.
            "2026-12-04T14:30:00",
            [],
            "2026-12-08T14:30:00",
            id="friday-afternoon-before-a-weekend",
        ),
        pytest.param(
            # Friday 23:59 local, the last minute of a business day -> Tuesday 23:59 local.
            "2026-12-04T22:59:00",
            [],
            "2026-12-08T22:59:00",
            id="business-day-at-23:59",
        ),
        pytest.param(
            # Saturday 14:00 local: the clock starts Monday 00:00 -> due at the end of Tuesday,
            # Wednesday 00:00 local (Tuesday 23:00 UTC), not Tuesday 14:00.
            "2026-12-05T13:00:00",
            [],
            "2026-12-08T23:00:00",
            id="filed-on-a-saturday",
        ),
        pytest.param(
            # Sunday 11:00 local -> the end of Tuesday as well.
            "2026-12-06T10:00:00",
            [],
            "2026-12-08T23:00:00",
            id="filed-on-a-sunday",
        ),
        pytest.param(
            # Late Friday UTC is already Saturday in Amsterdam: the local day decides.
            "2026-12-04T23:30:00",
            [],
            "2026-12-08T23:00:00",
            id="friday-utc-is-saturday-local",
        ),
        pytest.param(
            # Sunday 23:30 UTC is Monday 00:30 in Amsterdam, a business day -> Wednesday 00:30 local.
            "2026-12-06T23:30:00",
            [],
            "2026-12-08T23:30:00",
            id="sunday-utc-is-monday-local",
        ),
        pytest.param(
            # Thursday 24 Dec 17:00 local, holidays 25 and 28 Dec: Fri hol, weekend, Mon hol -> Tue, Wed.
            "2026-12-24T16:00:00",
            CHRISTMAS,
            "2026-12-30T16:00:00",
            id="eve-of-a-holiday-run",
        ),
        pytest.param(
            # Friday 25 Dec (holiday): the clock starts Tuesday 29 Dec -> the end of Wednesday 30 Dec.
            "2026-12-25T09:00:00",
            CHRISTMAS,
            "2026-12-30T23:00:00",
            id="filed-on-a-holiday",
        ),
        pytest.param(
            # Wednesday 9 Dec as a one-off holiday: Thursday and Friday count -> the end of Friday
            # (Saturday 00:00 local), not Monday 00:00.
            "2026-12-09T10:00:00",
            [date(2026, 12, 9)],
            "2026-12-11T23:00:00",
            id="holiday-before-a-weekend",
        ),
        pytest.param(
            # Thursday 31 Dec 23:58 UTC is Friday 1 Jan 00:58 local, a holiday: Monday and Tuesday
            # count -> the end of Tuesday 5 Jan 2027.
            "2026-12-31T23:58:00",
            CHRISTMAS,
            "2027-01-05T23:00:00",
            id="year-end-into-new-years-day",
        ),
        pytest.param(
            # Without New Year's Day as a holiday, Friday 1 Jan 00:58 local is a business day.
            "2026-12-31T23:58:00",
            [],
            "2027-01-04T23:58:00",
            id="year-end-without-holidays",
        ),
        pytest.param(
            # Friday 10:00 CET before the clocks go forward (Sunday 28 March 2027) -> Tuesday 10:00
            # CEST: the wall time is kept, so the UTC instant is an hour earlier.
            "2027-03-26T09:00:00",
            [],
            "2027-03-30T08:00:00",
            id="across-dst-forward",
        ),
        pytest.param(
            # Saturday 23:59:30 UTC = Sunday 00:59:30 CET, the night the clocks go forward: the clock
            # starts Monday -> the end of Tuesday, Wednesday 00:00 CEST (22:00 UTC).
            "2027-03-27T23:59:30",
            [],
            "2027-03-30T22:00:00",
            id="dst-forward-night",
        ),
        pytest.param(
            # Friday 10:00 CEST before the clocks go back (Sunday 25 October 2026) -> Tuesday 10:00 CET.
            "2026-10-23T08:00:00",
            [],
            "2026-10-27T09:00:00",
            id="across-dst-back",
        ),
        pytest.param(
            # Sunday 02:30 CET, the second 02:30 of the night the clocks go back -> the end of Tuesday.
            "2026-10-25T01:30:00",
            [],
            "2026-10-27T23:00:00",
            id="dst-back-night",
        ),
    ],
)
def test_sla_is_two_business_days_in_the_configured_zone(filed: str, holidays: list[date], due: str) -> None:
    assert sla_due_utc(utc(filed), AMSTERDAM, holidays, 2) == utc(due)


def test_cases_filed_under_the_first_rules_keep_their_due_time_on_replay() -> None:
    """A case filed before the end-of-day rule replays with the due time it was given then."""
    filed, holiday = utc("2026-12-09T10:00:00"), [date(2026, 12, 9)]
    assert sla_due_utc(filed, AMSTERDAM, holiday, 2, DeadlineRules.FIRST) == utc("2026-12-13T23:00:00")
    assert sla_due_utc(filed, AMSTERDAM, holiday, 2, DeadlineRules.DEADLINES_FIRST) == utc(
        "2026-12-11T23:00:00"
    )
    # On a business day the two rules agree.
    weekday = utc("2026-12-04T14:30:00")
    assert sla_due_utc(weekday, AMSTERDAM, [], 2, DeadlineRules.FIRST) == sla_due_utc(
        weekday, AMSTERDAM, [], 2
    )


def test_one_business_day_from_a_saturday_is_the_end_of_monday() -> None:
    assert sla_due_utc(utc("2026-12-05T13:00:00"), AMSTERDAM, [], 1) == utc("2026-12-07T23:00:00")


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
