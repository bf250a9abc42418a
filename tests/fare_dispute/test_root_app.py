"""The fare dispute on the project's own app folder (every workflow registered), as deployed."""

from __future__ import annotations

from collections.abc import Callable

from tests.fare_dispute.support import DisputeHost, claim
from tools.harness import REPO_ROOT


def test_happy_path_on_the_root_app(start_dispute_host: Callable[..., DisputeHost], dispute_id: str) -> None:
    """File over HTTP, supervisor approves, one refund; status and audit served by the root app."""
    host = start_dispute_host(app_dir=REPO_ROOT, env={"SANDBOX_FAULTS_PAYMENTS": "timeout_after_commit:1/2"})
    host.file_ok(claim(dispute_id, "trip-airport", "cancelled_trip", "42.50", customer_id="cust-ben"))
    host.waiting_for(dispute_id, "supervisor_decision")
    assert host.decide(dispute_id, {"decision": "approve"}).status_code == 202
    view = host.resolved(dispute_id)
    assert view["outcome"] == "refunded" and view["result"]["refund"]["status"] == "succeeded"
    [refund] = host.refunds(dispute_id)
    assert refund["request"]["amount"] == {"amount": "42.50", "currency": "EUR"}
    assert host.messages(dispute_id) == [
        "fare_dispute.received",
        "fare_dispute.under_review",
        "fare_dispute.resolved",
    ]
