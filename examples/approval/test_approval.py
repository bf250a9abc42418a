"""Tests of the approval workflow on a real local host (durable-devhost), with a virtual clock.

Run: pytest            (pyproject.toml points the `devhost` fixture at the app folder)
"""

import pytest

from devhost.testing import DevHost

# Every test gets a fresh host on its own task hub; time starts on a fixed Monday morning and moves
# only when a test advances it, so a three-day wait takes milliseconds and never depends on today.
pytestmark = pytest.mark.devhost(virtual_clock=True, clock_start="2026-03-02T09:00:00Z")


def request_approval(host: DevHost, amount: int = 120) -> str:
    response = host.post("/api/approvals", json={"request_id": "req-1", "amount": amount})
    assert response.status_code == 202, response.text
    instance_id = response.json()["id"]
    # Wait until the workflow asked the approver and waits for the decision.
    host.wait_for(
        instance_id, "Running", where=lambda s: (s["customStatus"] or {}).get("stage") == "awaiting_decision"
    )
    return instance_id


def test_approved_before_the_deadline(devhost: DevHost) -> None:
    instance_id = request_approval(devhost)
    assert devhost.post(f"/api/approvals/{instance_id}/decision", json={"approved": True}).status_code == 202
    status = devhost.wait_for(instance_id, "Completed")
    assert status["output"] == "approved"


def test_rejected_through_the_management_api(devhost: DevHost) -> None:
    instance_id = request_approval(devhost)
    devhost.raise_event(instance_id, "approval_decision", {"approved": False})
    assert devhost.wait_for(instance_id, "Completed")["output"] == "rejected"


def test_escalated_when_nobody_decides_within_three_days(devhost: DevHost) -> None:
    instance_id = request_approval(devhost)
    deadline = devhost.status(instance_id)["customStatus"]["deadline"]
    assert deadline.startswith("2026-03-05T09:00:00")  # three days after the clock's start

    devhost.advance_clock(days=2, hours=23)
    assert devhost.status(instance_id)["runtimeStatus"] == "Running"  # not yet
    devhost.advance_clock(hours=1)
    assert devhost.wait_for(instance_id, "Completed")["output"] == "escalated"

    history = devhost.history(instance_id)
    assert [e["EventType"] for e in history if e["EventType"] in ("TimerFired", "EventRaised")] == [
        "TimerFired"
    ]


def test_a_decision_after_the_escalation_changes_nothing(devhost: DevHost) -> None:
    instance_id = request_approval(devhost)
    devhost.advance_clock(days=3)
    devhost.wait_for(instance_id, "Completed")
    devhost.post(f"/api/approvals/{instance_id}/decision", json={"approved": True})
    assert devhost.status(instance_id)["output"] == "escalated"


def test_bad_request_is_refused(devhost: DevHost) -> None:
    response = devhost.post("/api/approvals", json={"amount": "lots"})
    assert response.status_code == 400
    assert "amount" in response.json()["error"]


def test_terminated_request(devhost: DevHost) -> None:
    instance_id = request_approval(devhost)
    devhost.terminate(instance_id, "withdrawn by the requester")
    status = devhost.wait_for(instance_id, "Terminated")
    assert status["output"] == "withdrawn by the requester"
