"""The fare dispute end to end over HTTP, on a devhost with the virtual clock and sandbox faults.

The host injects a gateway timeout after every other refund was committed and a transient failure
into every fifth customer message, so every refund below goes through a retry and must still be
exactly one refund in the sandbox gateway, never more than the fare.

Calendar case: the module's host starts on the plain Wednesday (`PLAIN_WEDNESDAY`); the one test
that walks business days (evidence never arriving) pins its own Monday and says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest

from contracts.fare_dispute import instance_id_for
from tests.fare_dispute.conftest import FAULTS
from tests.fare_dispute.support import DisputeHost, JsonDict, claim
from tests.support.identity import SUBMITTER, SUPERVISOR
from tools.harness.polling import wait_until


def assert_one_refund(host: DisputeHost, dispute_id: str, amount: str, payment_reference: str) -> JsonDict:
    """Exactly one refund effect for the dispute, of `amount`, to `payment_reference`."""
    [refund] = host.refunds(dispute_id)
    assert refund["idempotencyKey"] == f"{instance_id_for(dispute_id)}:issue_refund"
    assert refund["request"]["amount"] == {"amount": amount, "currency": "EUR"}
    assert refund["request"]["paymentReference"] == payment_reference
    calls = host.refund_calls(dispute_id)
    assert calls["effect"] == 1, calls
    record = host.ledger().lookup(refund["idempotencyKey"])
    assert record is not None and record.state == "done"
    return refund


# -- rule paths -----------------------------------------------------------------------------------


def test_overcharge_vs_tariff_is_refunded_automatically_once(
    dispute_host: DisputeHost, dispute_id: str
) -> None:
    """Charged 7.70 for a 3.20 tariff: 4.50 back without a supervisor, despite the gateway timeout."""
    dispute_host.file_ok(claim(dispute_id, "trip-overcharged", "overcharge", "4.50"))
    view = dispute_host.resolved(dispute_id)
    result = view["result"]
    assert (view["stage"], view["outcome"], result["outcome"]) == ("resolved", "refunded", "refunded")
    assert (result["ruleId"], result["verdict"]) == ("overcharge_vs_tariff", "confirmed")
    assert [(d["decidedBy"], d["decision"]) for d in result["decisions"]] == [("rules", "auto_approve")]
    refund = assert_one_refund(dispute_host, dispute_id, "4.50", "pay-overcharged-1")
    assert result["refund"]["refundId"] == refund["response"]["refundId"]
    # The first call committed and timed out; the retry got the same refund back.
    assert dispute_host.refund_calls(dispute_id) == Counter(
        {"effect": 1, "fault:timeout_after_commit": 1, "duplicate": 1}
    )
    assert dispute_host.messages(dispute_id) == ["fare_dispute.received", "fare_dispute.resolved"]


def test_claim_above_the_overcharge_is_refunded_only_the_overcharge(
    dispute_host: DisputeHost, dispute_id: str
) -> None:
    dispute_host.file_ok(claim(dispute_id, "trip-overcharged", "overcharge", "7.70"))
    result = dispute_host.resolved(dispute_id)["result"]
    assert result["outcome"] == "partially_refunded"
    assert_one_refund(dispute_host, dispute_id, "4.50", "pay-overcharged-1")


def test_cancelled_trip_is_refunded_in_full(dispute_host: DisputeHost, dispute_id: str) -> None:
    dispute_host.file_ok(claim(dispute_id, "trip-cancelled", "cancelled_trip", "4.10"))
    result = dispute_host.resolved(dispute_id)["result"]
    assert (result["outcome"], result["ruleId"]) == ("refunded", "cancelled_trip")
    assert_one_refund(dispute_host, dispute_id, "4.10", "pay-cancelled-1")


def test_duplicate_charge_refunds_the_repeated_charge(dispute_host: DisputeHost, dispute_id: str) -> None:
    dispute_host.file_ok(
        claim(dispute_id, "trip-duplicate", "duplicate_charge", "2.90", customer_id="cust-ben")
    )
    result = dispute_host.resolved(dispute_id)["result"]
    assert (result["outcome"], result["ruleId"]) == ("refunded", "duplicate_charge")
    assert_one_refund(dispute_host, dispute_id, "2.90", "pay-duplicate-2")


@pytest.mark.parametrize(
    ("trip_id", "customer_id"), [("trip-nowhere", "cust-ana"), ("trip-duplicate", "cust-ana")]
)
def test_unknown_trip_or_another_customers_trip_closes_without_refund(
    dispute_host: DisputeHost, dispute_id: str, trip_id: str, customer_id: str
) -> None:
    dispute_host.file_ok(claim(dispute_id, trip_id, "duplicate_charge", "2.90", customer_id=customer_id))
    result = dispute_host.resolved(dispute_id)["result"]
    assert result["outcome"] == "trip_not_found"
    assert dispute_host.refunds(dispute_id) == []
    assert dispute_host.messages(dispute_id) == ["fare_dispute.received", "fare_dispute.resolved"]


# -- supervisor -----------------------------------------------------------------------------------


def file_for_supervisor(host: DisputeHost, dispute_id: str) -> JsonDict:
    """A cancelled 42.50 trip: confirmed by the rules but above the 15.00 auto-approve limit."""
    host.file_ok(claim(dispute_id, "trip-airport", "cancelled_trip", "42.50", customer_id="cust-ben"))
    view = host.waiting_for(dispute_id, "supervisor_decision")
    assert view["stage"] == "awaiting_supervisor" and view["runtimeStatus"] == "Running"
    return view


def test_supervisor_approves_a_refund_above_the_auto_limit(
    dispute_host: DisputeHost, dispute_id: str
) -> None:
    file_for_supervisor(dispute_host, dispute_id)
    assert dispute_host.refunds(dispute_id) == []
    response = dispute_host.decide(dispute_id, {"decision": "approve", "note": "ok"})
    assert response.status_code == 202, response.text
    result = dispute_host.resolved(dispute_id)["result"]
    assert result["outcome"] == "refunded"
    decision = result["decisions"][-1]
    assert (decision["decidedBy"], decision["decision"], decision["amount"]["amount"]) == (
        SUPERVISOR.name,
        "approve",
        "42.50",
    )
    assert decision["actor"]["principalId"] == SUPERVISOR.user_id
    assert result["refund"]["approvedBy"]["role"] == "FareDispute.Supervisor"
    assert result["filedBy"]["role"] == "Workflow.Submitter"
    assert_one_refund(dispute_host, dispute_id, "42.50", "pay-airport-1")
    assert dispute_host.messages(dispute_id) == [
        "fare_dispute.received",
        "fare_dispute.under_review",
        "fare_dispute.resolved",
    ]


def test_supervisor_partial_refunds_the_partial_amount(dispute_host: DisputeHost, dispute_id: str) -> None:
    file_for_supervisor(dispute_host, dispute_id)
    partial = {
        "decision": "partial",
        "refundAmount": {"amount": "20.00", "currency": "EUR"},
    }
    assert dispute_host.decide(dispute_id, partial).status_code == 202
    result = dispute_host.resolved(dispute_id)["result"]
    assert result["outcome"] == "partially_refunded"
    assert_one_refund(dispute_host, dispute_id, "20.00", "pay-airport-1")


def test_supervisor_reject_refunds_nothing(dispute_host: DisputeHost, dispute_id: str) -> None:
    file_for_supervisor(dispute_host, dispute_id)
    assert dispute_host.decide(dispute_id, {"decision": "reject"}).status_code == 202
    result = dispute_host.resolved(dispute_id)["result"]
    assert result["outcome"] == "rejected" and "refund" not in result
    assert dispute_host.refunds(dispute_id) == []


def test_partial_above_the_fare_is_refused_and_the_case_keeps_waiting(
    dispute_host: DisputeHost, dispute_id: str
) -> None:
    """50.00 is a valid amount at the edge but more than the 42.50 fare: refused, never paid."""
    file_for_supervisor(dispute_host, dispute_id)
    too_much = {
        "decision": "partial",
        "refundAmount": {"amount": "50.00", "currency": "EUR"},
    }
    assert dispute_host.decide(dispute_id, too_much).status_code == 202
    # The 202 means accepted, not yet processed: wait until the episode has taken the decision in.
    wait_until(
        lambda: any(event["EventType"] == "EventRaised" for event in dispute_host.history(dispute_id)),
        30,
        "the decision to reach the orchestration",
    )
    view = dispute_host.settle(dispute_id, lambda v: v["runtimeStatus"] == "Running", nudge=False)
    history = dispute_host.history(dispute_id)
    assert sum(event["EventType"] == "EventRaised" for event in history) == 1
    assert dispute_host.waiting_for(dispute_id, "supervisor_decision")["stage"] == "awaiting_supervisor"
    assert dispute_host.refunds(dispute_id) == [] and view["outcome"] is None
    fair = {
        "decision": "partial",
        "refundAmount": {"amount": "42.50", "currency": "EUR"},
    }
    assert dispute_host.decide(dispute_id, fair).status_code == 202
    result = dispute_host.resolved(dispute_id)["result"]
    assert [(d["decision"], d["accepted"]) for d in result["decisions"]] == [
        ("partial", False),
        ("partial", True),
    ]
    assert_one_refund(dispute_host, dispute_id, "42.50", "pay-airport-1")


# -- evidence -------------------------------------------------------------------------------------


EVIDENCE_SECRETS = ("4111 1111 1111 1111", "ana.silva@example.test", "+31 6 1234 5678", "Ana Silva")


def test_unconfirmed_claim_asks_for_evidence_then_a_supervisor_decides(
    dispute_host: DisputeHost, dispute_id: str
) -> None:
    """The trip history shows the tariff was charged: evidence first, sealed; then the supervisor."""
    dispute_host.file_ok(claim(dispute_id, "trip-correct", "overcharge", "2.00"))
    view = dispute_host.waiting_for(dispute_id, "evidence")
    assert view["stage"] == "awaiting_evidence"
    assert dispute_host.decide(dispute_id, {"decision": "approve"}).status_code == 409
    evidence = {
        "description": "Charged twice at the gate, see receipt. Card 4111 1111 1111 1111, "
        "mail ana.silva@example.test or call +31 6 1234 5678. Ana Silva",
        "documents": [{"documentId": "upload-77", "name": "receipt.jpg"}],
    }
    response = dispute_host.evidence(dispute_id, evidence)
    assert response.status_code == 202, response.text
    dispute_host.waiting_for(dispute_id, "supervisor_decision")
    assert dispute_host.evidence(dispute_id, evidence).status_code == 409, "no longer waiting for evidence"
    assert dispute_host.decide(dispute_id, {"decision": "approve"}).status_code == 202
    result = dispute_host.resolved(dispute_id)["result"]
    assert (result["outcome"], result["verdict"]) == ("refunded", "unconfirmed")
    assert_one_refund(dispute_host, dispute_id, "2.00", "pay-correct-1")
    assert dispute_host.messages(dispute_id) == [
        "fare_dispute.received",
        "fare_dispute.evidence_requested",
        "fare_dispute.under_review",
        "fare_dispute.resolved",
    ]
    stored = str(dispute_host.history(dispute_id)) + str(dispute_host.view_ok(dispute_id))
    for secret in EVIDENCE_SECRETS:
        assert secret not in stored


def test_evidence_that_never_arrives_is_reminded_then_closed(
    start_dispute_host: Callable[..., DisputeHost], dispute_id: str
) -> None:
    """Reminder after 1 day, closed as insufficient evidence after 3 (the SLA escalates on the way).

    Calendar case: filed on a plain Monday at 10:00 in Amsterdam, so the reminder falls on Tuesday,
    the SLA on Wednesday 10:00 (before the evidence wait ends) and the closing on Thursday.
    """
    dispute_host = start_dispute_host(env=FAULTS, clock_start="2026-11-16T09:00:00Z")
    dispute_host.file_ok(claim(dispute_id, "trip-correct", "cancelled_trip", "3.20"))
    dispute_host.waiting_for(dispute_id, "evidence")
    dispute_host.advance(timedelta(days=1, minutes=1))
    # Nudged: the reminder may meet a transient messaging fault, and its retry timer needs the clock
    # to move (seconds, against a day until the SLA).
    dispute_host.settle(
        dispute_id, lambda _: "fare_dispute.evidence_reminder" in dispute_host.messages(dispute_id)
    )
    assert dispute_host.view_ok(dispute_id)["waitingFor"] == "evidence"
    dispute_host.advance(timedelta(days=2))
    view = dispute_host.resolved(dispute_id)
    assert view["outcome"] == "insufficient_evidence" and view["escalated"] is True
    assert view["slaDue"] == "2026-11-18T09:00:00Z"
    assert dispute_host.refunds(dispute_id) == []
    messages = dispute_host.messages(dispute_id)
    assert messages[:3] == [
        "fare_dispute.received",
        "fare_dispute.evidence_requested",
        "fare_dispute.evidence_reminder",
    ]
    assert set(messages[3:]) == {"fare_dispute.escalated", "fare_dispute.resolved"}
    assert [d["decision"] for d in view["result"]["decisions"]][-1] == "close"


# -- the HTTP edge --------------------------------------------------------------------------------


def test_the_same_dispute_id_again_is_409_and_starts_nothing(
    dispute_host: DisputeHost, dispute_id: str
) -> None:
    body = claim(dispute_id, "trip-overcharged", "overcharge", "4.50")
    first = dispute_host.file(body)
    assert first.status_code == 202
    assert first.headers["Location"] == f"/api/fare-disputes/{dispute_id}"
    assert first.json()["disputeId"] == dispute_id and "runtimeStatus" in first.json()
    again = dispute_host.file(body)
    assert again.status_code == 409 and again.json()["statusUrl"] == first.headers["Location"]
    assert "/runtime/webhooks/" not in first.text + again.text
    dispute_host.resolved(dispute_id)
    assert len(dispute_host.refunds(dispute_id)) == 1


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (4.5, "claimedAmount.amount"),
        ("abc", "claimedAmount.amount"),
        ("-1.00", "claimedAmount.amount"),
        ("0.00", "claimedAmount.amount"),
        ("4.505", "claimedAmount.amount"),
        ("1000.00", "claimedAmount.amount"),
        ({"currency": "EUR"}, "claimedAmount.amount"),
    ],
)
def test_bad_amounts_are_400_naming_the_field(
    dispute_host: DisputeHost, dispute_id: str, amount: object, field: str
) -> None:
    body = claim(dispute_id, "trip-overcharged", "overcharge", "1.00")
    body["claimedAmount"] = amount if isinstance(amount, dict) else {"amount": amount, "currency": "EUR"}
    response = dispute_host.file(body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert dispute_host.view(dispute_id).status_code == 404, "nothing was started"


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", "USD", ""])
def test_bad_currencies_are_400_naming_the_field(
    dispute_host: DisputeHost, dispute_id: str, currency: str
) -> None:
    response = dispute_host.file(
        claim(dispute_id, "trip-overcharged", "overcharge", "1.00", currency=currency)
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "claimedAmount.currency"
    assert dispute_host.view(dispute_id).status_code == 404


def test_bad_bodies_are_400(dispute_host: DisputeHost, dispute_id: str) -> None:
    import requests

    url = f"{dispute_host.base_url}/api/fare-disputes"
    submitter = dispute_host.tokens.headers(SUBMITTER)
    assert requests.post(url, data=b"{not json", headers=submitter, timeout=30).json()["field"] == "body"
    body = claim(dispute_id, "trip-overcharged", "sadness", "1.00")
    assert dispute_host.file(body).json()["field"] == "reason"
    body = claim("bad id!", "trip-overcharged", "overcharge", "1.00")
    assert dispute_host.file(body).json()["field"] == "disputeId"
    missing = claim(dispute_id, "trip-overcharged", "overcharge", "1.00")
    del missing["tripId"]
    assert dispute_host.file(missing).json()["field"] == "tripId"


def test_decisions_and_evidence_are_validated_404_and_409(dispute_host: DisputeHost, dispute_id: str) -> None:
    assert dispute_host.decide("unknown-dispute", {"decision": "reject"}).status_code == 404
    assert dispute_host.evidence("unknown-dispute", {"description": "x"}).status_code == 404
    assert dispute_host.view("unknown-dispute").status_code == 404
    file_for_supervisor(dispute_host, dispute_id)
    bad = [
        ({"decision": "partial"}, "refundAmount"),
        (
            {
                "decision": "approve",
                "refundAmount": {"amount": "1.00", "currency": "EUR"},
            },
            "refundAmount",
        ),
        (
            {
                "decision": "partial",
                "refundAmount": {"amount": "1.00", "currency": "usd"},
            },
            "refundAmount.currency",
        ),
        (
            {
                "decision": "partial",
                "refundAmount": {"amount": 1.0, "currency": "EUR"},
            },
            "refundAmount.amount",
        ),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "approve", "supervisor": "head-of-support"}, "supervisor"),  # names someone else
    ]
    for body, field in bad:
        response = dispute_host.decide(dispute_id, body)
        assert (response.status_code, response.json().get("field")) == (400, field), body
    assert dispute_host.evidence(dispute_id, {"description": "late"}).status_code == 409
    assert dispute_host.decide(dispute_id, {"decision": "reject"}).status_code == 202
    dispute_host.resolved(dispute_id)
    late = dispute_host.decide(dispute_id, {"decision": "approve"})
    assert late.status_code == 409 and late.json()["state"] == "Completed"
    assert dispute_host.refunds(dispute_id) == []


# -- audit and privacy (last: they read what the tests above left behind) --------------------------


def test_audit_packet_names_decisions_rules_refund_and_messages(
    dispute_host: DisputeHost, dispute_id: str
) -> None:
    file_for_supervisor(dispute_host, dispute_id)
    note = "Called the customer at ben.okafor@example.test, card 5555 5555 5555 4444 was charged."
    decision = {"decision": "approve", "note": note}
    assert dispute_host.decide(dispute_id, decision).status_code == 202
    result = dispute_host.resolved(dispute_id)["result"]
    response = dispute_host.audit(dispute_id)
    assert response.status_code == 200, response.text
    envelope = response.json()
    packet = envelope["packet"]
    assert packet["workflow"] == "fare_dispute" and packet["disputeId"] == dispute_id
    assert packet["rulesApplied"]["ruleId"] == "cancelled_trip"
    assert packet["rulesApplied"]["verdict"] == "confirmed"
    assert packet["refund"]["refundId"] == result["refund"]["refundId"]
    assert packet["refund"]["amount"] == {"amount": "42.50", "currency": "EUR"}
    [event] = packet["supervisorDecisionEvents"]
    assert event["by"] == SUPERVISOR.name and event["receivedAt"]
    assert event["principal"] == {
        "principalId": SUPERVISOR.user_id,
        "name": SUPERVISOR.name,
        "role": "FareDispute.Supervisor",
        "identityProvider": "aad",
    }
    assert [(d["decidedBy"], d["decision"]) for d in packet["decisions"]] == [(SUPERVISOR.name, "approve")]
    assert packet["refund"]["approvedBy"]["principalId"] == SUPERVISOR.user_id
    assert packet["filedBy"]["role"] == "Workflow.Submitter"
    assert [m["template"] for m in packet["messagesSent"]] == [
        "fare_dispute.received",
        "fare_dispute.under_review",
        "fare_dispute.resolved",
    ]
    assert packet["finalOutcome"] == "refunded" and envelope["seal"]["signature"]
    assert [d["name"] for d in packet["documents"]] == ["resolution-letter", "resolution-letter"]
    text = response.text
    for secret in ("ben.okafor@example.test", "5555 5555 5555 4444", "Called the customer"):
        assert secret not in text
    unknown = dispute_host.audit("nobody")
    assert unknown.status_code == 404


# Card numbers and contact details of tests/fare_data sample customers and trips, and the evidence.
SECRETS = (
    "ana.silva@example.test",
    "ben.okafor@example.test",
    "+31 6 1234 5678",
    "+31 6 8765 4321",
    "4111 1111 1111 1111",
    "4111111111111111",
    "5555 5555 5555 4444",
    "Ana Silva",
    "Ben Okafor",
    "Charged twice at the gate",
    "Called the customer",
)


def test_no_card_or_contact_data_in_any_history_or_the_host_log(dispute_host: DisputeHost) -> None:
    """Every instance this module ran: inputs, histories (with outputs), custom status, and the log."""
    import requests

    durable = dispute_host.durable
    listing = requests.get(f"{durable.webhook}/instances", headers=durable.auth, timeout=30).json()
    instance_ids = [item["instanceId"] for item in listing]
    assert len(instance_ids) >= 14  # every dispute the tests on this host filed
    for instance_id in instance_ids:
        stored = dispute_host.durable.status(
            instance_id, showHistory="true", showHistoryOutput="true", showInput="true"
        ).text
        for secret in SECRETS:
            assert secret not in stored, (instance_id, secret)
    log = dispute_host.process.log_text()
    assert "refund recorded" in log
    for secret in SECRETS:
        assert secret not in log, secret
