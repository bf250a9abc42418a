"""Refund safety: one refund per dispute, never more than the fare, whatever the host does.

Each case asserts exactly one refund effect in the sandbox gateway (the dispute's key) and an
amount within the fare: activity retries after a gateway timeout that committed (the module's
faulty host), every activity delivered twice, kill -9 between the gateway call and the ledger
record, and duplicate or late supervisor decisions.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.fare_dispute import instance_id_for
from tests.fare_dispute.conftest import FAULTS
from tests.fare_dispute.support import DisputeHost, JsonDict, claim
from tests.support.identity import SUPERVISOR, Role, person

AIRPORT = ("trip-airport", "cancelled_trip", "42.50")
# Four supervisors pressing the button at once.
SUPERVISORS = [person(f"Supervisor {n}", Role.FARE_DISPUTE_SUPERVISOR) for n in range(4)]


def forwarded_decision(decision: str, **fields: object) -> JsonDict:
    """A supervisor's decision as the HTTP edge raises it (a webhook retry delivers it again)."""
    return {
        "decision": decision,
        "supervisor": SUPERVISOR.name,
        "decidedBy": {
            "principalId": SUPERVISOR.user_id,
            "name": SUPERVISOR.name,
            "role": "FareDispute.Supervisor",
        },
        **fields,
    }


def assert_exactly_one_refund_within_the_fare(host: DisputeHost, dispute_id: str, fare: str) -> JsonDict:
    refunds = host.refunds(dispute_id)
    assert len(refunds) == 1, refunds
    [refund] = refunds
    assert Decimal(refund["request"]["amount"]["amount"]) <= Decimal(fare)
    assert host.refund_calls(dispute_id)["effect"] == 1
    return refund


def supervisor_case(host: DisputeHost, dispute_id: str) -> None:
    trip_id, reason, amount = AIRPORT
    host.file_ok(claim(dispute_id, trip_id, reason, amount, customer_id="cust-ben"))
    host.waiting_for(dispute_id, "supervisor_decision")


# -- duplicate and late decisions (faulty host) ------------------------------------------------------


def test_concurrent_decisions_refund_once(dispute_host: DisputeHost, dispute_id: str) -> None:
    """Four supervisors press the button at once: one decision is taken, one refund paid."""
    supervisor_case(dispute_host, dispute_id)
    bodies = [
        {"decision": "approve"}
        if n % 2
        else {
            "decision": "partial",
            "refundAmount": {"amount": "10.00", "currency": "EUR"},
        }
        for n in range(4)
    ]
    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda body=body, who=who: answers.append(
                dispute_host.decide(dispute_id, body, as_=who).status_code
            )
        )
        for body, who in zip(bodies, SUPERVISORS, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(answers) <= {202, 409} and 202 in answers
    result = dispute_host.resolved(dispute_id)["result"]
    assert len([d for d in result["decisions"] if d["accepted"]]) == 1
    refund = assert_exactly_one_refund_within_the_fare(dispute_host, dispute_id, "42.50")
    assert refund["request"]["amount"]["amount"] in ("42.50", "10.00")


def test_a_duplicate_decision_raised_past_the_api_changes_nothing(
    dispute_host: DisputeHost, dispute_id: str
) -> None:
    """The same decision delivered twice (a retried webhook) straight to the instance."""
    supervisor_case(dispute_host, dispute_id)
    instance_id = instance_id_for(dispute_id)
    decision = forwarded_decision("approve")
    assert dispute_host.durable.raise_event(instance_id, "supervisor_decision", decision).status_code == 202
    assert dispute_host.durable.raise_event(instance_id, "supervisor_decision", decision).status_code == 202
    result = dispute_host.resolved(dispute_id)["result"]
    assert [d["decision"] for d in result["decisions"]] == ["approve"]
    assert_exactly_one_refund_within_the_fare(dispute_host, dispute_id, "42.50")


def test_a_late_decision_after_resolution_is_409_and_refunds_nothing_more(
    dispute_host: DisputeHost, dispute_id: str
) -> None:
    supervisor_case(dispute_host, dispute_id)
    assert dispute_host.decide(dispute_id, {"decision": "approve"}).status_code == 202
    dispute_host.resolved(dispute_id)
    partial = {
        "decision": "partial",
        "refundAmount": {"amount": "5.00", "currency": "EUR"},
    }
    assert dispute_host.decide(dispute_id, partial).status_code == 409
    late = forwarded_decision("partial", refundAmount=partial["refundAmount"])
    dispute_host.durable.raise_event(instance_id_for(dispute_id), "supervisor_decision", late)
    view = dispute_host.view_ok(dispute_id)
    assert view["runtimeStatus"] == "Completed" and view["result"]["refund"]["amount"]["amount"] == "42.50"
    assert_exactly_one_refund_within_the_fare(dispute_host, dispute_id, "42.50")


# -- every activity delivered twice ------------------------------------------------------------------


@pytest.fixture(scope="module")
def twice_host(start_dispute_host: Callable[..., DisputeHost]) -> DisputeHost:
    """Every activity runs twice; the gateway also fails the first attempt of each refund before acting."""
    return start_dispute_host(deliver_twice=True, env={"SANDBOX_FAULTS_PAYMENTS": "transient:first"})


@pytest.mark.parametrize("path", ["automatic", "supervisor"])
def test_deliver_activities_twice_refunds_and_messages_once(
    twice_host: DisputeHost, dispute_id: str, path: str
) -> None:
    if path == "automatic":
        twice_host.file_ok(claim(dispute_id, "trip-overcharged", "overcharge", "4.50"))
        fare = "7.70"
    else:
        supervisor_case(twice_host, dispute_id)
        assert twice_host.decide(dispute_id, {"decision": "approve"}).status_code == 202
        fare = "42.50"
    result = twice_host.resolved(dispute_id)["result"]
    assert result["outcome"] == "refunded"
    assert_exactly_one_refund_within_the_fare(twice_host, dispute_id, fare)
    messages = twice_host.messages(dispute_id)
    assert len(messages) == len(set(messages)) == len(result["messages"])
    sends = Counter(
        call["outcome"]
        for call in twice_host.sandbox("customer_messaging").calls()
        if call["idempotencyKey"].startswith(instance_id_for(dispute_id))
    )
    assert sends == Counter({"effect": len(messages)}), "the ledger answered every second delivery"


# -- kill -9 between the gateway call and the ledger record -------------------------------------------


def test_kill_9_after_the_gateway_refunded_and_before_the_ledger_recorded_refunds_once(
    start_dispute_host: Callable[..., DisputeHost], dispute_id: str, tmp_path: Path
) -> None:
    """The restarted host re-runs the refund; the ledger takes the dead claim over after its lease
    and calls the gateway with the same key, which answers with the first refund."""
    host = start_dispute_host(
        env={
            "SANDBOX_FAULTS_CUSTOMER_MESSAGING": FAULTS["SANDBOX_FAULTS_CUSTOMER_MESSAGING"],
            "EFFECT_LEDGER_LEASE": "PT1S",
            "FARE_DISPUTE_TEST_PAUSE_MARKER": str(tmp_path / "paused"),
            "FARE_DISPUTE_TEST_PAUSE_SECONDS": "60",
        }
    )
    host.file_ok(claim(dispute_id, "trip-cancelled", "cancelled_trip", "4.10"))
    key = f"{instance_id_for(dispute_id)}:issue_refund"
    host.settle(dispute_id, lambda _: len(host.refunds(dispute_id)) == 1, timeout=30)
    pending = host.ledger().lookup(key)
    assert pending is not None and pending.state == "pending", "killed before the ledger record"
    host.process.kill()
    host.process.start()
    result = host.resolved(dispute_id, timeout=40)["result"]
    assert result["outcome"] == "refunded"
    refund = assert_exactly_one_refund_within_the_fare(host, dispute_id, "4.10")
    assert result["refund"]["refundId"] == refund["response"]["refundId"]
    record = host.ledger().lookup(key)
    assert record is not None and record.state == "done" and record.takeovers == 1
    assert host.view(dispute_id).status_code == 200
