"""The failure policy (orchestrators/failure_policy.py) with sandboxes failing for longer than the
retry budget: customer messages are best effort (the case is still refunded and records what stayed
unsent), the refund is strict (the case ends Failed and says the refund may have been taken)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from contracts.fare_dispute import instance_id_for
from durable_wire import TERMINAL_STATUSES
from orchestrators.failure_policy import BEST_EFFORT_RETRY
from tests.fare_dispute.support import DisputeHost, claim

# Best-effort retries back off up to 5 minutes: move the virtual clock by that much per poll.
RETRY_STEP_SECONDS = 300


def drive_to_the_end(host: DisputeHost, dispute_id: str) -> dict[str, object]:
    """Move the clock one retry interval at a time until the dispute finished (Completed or Failed)."""
    for _ in range(80):
        view = host.view_ok(dispute_id)
        if view["runtimeStatus"] in TERMINAL_STATUSES:
            return view
        host.advance(timedelta(seconds=RETRY_STEP_SECONDS))
        time.sleep(0.1)  # the retry the clock released runs before the next step
    raise AssertionError(f"dispute {dispute_id} never finished: {host.view_ok(dispute_id)}")


def test_messages_failing_past_the_retry_budget_still_refund_and_are_recorded(
    start_dispute_host: Callable[..., DisputeHost], dispute_id: str
) -> None:
    """Every customer message fails for good; the automatic refund still happens once, the case
    completes as refunded, and its status, result and audit packet list the unsent messages."""
    host = start_dispute_host(env={"SANDBOX_FAULTS_CUSTOMER_MESSAGING": "transient"})
    host.file_ok(claim(dispute_id, "trip-overcharged", "overcharge", "4.50"))
    view = drive_to_the_end(host, dispute_id)
    assert (view["runtimeStatus"], view["outcome"]) == ("Completed", "refunded")
    unsent = ["fare_dispute.received", "fare_dispute.resolved"]
    assert view["unsent"] == unsent
    result = view["result"]
    assert isinstance(result, dict) and result["unsentMessages"] == unsent and result["messages"] == []
    assert len(host.refunds(dispute_id)) == 1
    instance_id = instance_id_for(dispute_id)
    sends = Counter(
        call["outcome"]
        for call in host.sandbox("customer_messaging").calls()
        if str(call["idempotencyKey"]).startswith(f"{instance_id}:")
    )
    assert sends == Counter({"fault:transient": 2 * BEST_EFFORT_RETRY.max_number_of_attempts})
    packet = host.audit_ok(dispute_id)
    assert packet["unsentNotifications"] == unsent and packet["finalOutcome"] == "refunded"
    assert "gave_up=notify_customer" in host.process.log_text()


def test_a_payment_outage_past_the_retry_budget_fails_the_case_and_says_what_may_be_done(
    start_dispute_host: Callable[..., DisputeHost], dispute_id: str
) -> None:
    """The gateway times out for good (strict step): the case ends Failed with the step, the reason
    and the refund key a rewind will retry under; no refund was recorded."""
    host = start_dispute_host(env={"SANDBOX_FAULTS_PAYMENTS": "timeout"})
    host.file_ok(claim(dispute_id, "trip-overcharged", "overcharge", "4.50"))
    view = drive_to_the_end(host, dispute_id)
    assert (view["runtimeStatus"], view["stage"]) == ("Failed", "failed")
    failure = view["failure"]
    assert isinstance(failure, dict)
    key = f"{instance_id_for(dispute_id)}:issue_refund"
    assert failure["step"] == "refunding" and "injected timeout" in failure["reason"]
    assert failure["kept"] == [f"refund under key {key} may have been taken"]
    assert host.refunds(dispute_id) == []
    packet = host.audit_ok(dispute_id)
    assert packet["finalOutcome"] is None and packet["failure"] == failure
    assert packet["outcome"]["status"] == "Failed"
