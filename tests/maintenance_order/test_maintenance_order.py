"""The maintenance order over HTTP on one virtual-clock devhost: outcomes, reminders, errors, audit.

Tests share the host; each drives its own order to the end before the next one advances the clock.
Calendar case: the host's clock starts on the plain Wednesday (`PLAIN_WEDNESDAY`); reminders and the
deadline are durations in UTC, so no weekday, holiday or DST change moves them (tests/calendar
walks them from the awkward instants).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests.support.identity import APPROVER, Role, person
from tools.harness import HostProcess

from .conftest import CUSTOMER_EMAIL, MaintenanceApi, Sandboxes, new_order_id, order_body

FIRST_APPROVER = person("First Approver", Role.MAINTENANCE_APPROVER)
SECOND_APPROVER = person("Second Approver", Role.MAINTENANCE_APPROVER)

DAY = 24 * 3600


@pytest.fixture(scope="module")
def api(start_host: Callable[..., HostProcess]) -> Iterator[MaintenanceApi]:
    yield MaintenanceApi(start_host().base_url)


def test_happy_path_releases_the_order_with_one_effect_per_step(
    api: MaintenanceApi, sandboxes: Sandboxes
) -> None:
    """Inspection to release: parts per supplier, compliance pack, notices, approval, certificate."""
    order_id = new_order_id("happy")
    instance_id = f"maintenance-{order_id}"
    started = api.start(order_body(order_id))
    assert started.status_code == 202, started.text
    # The app's own status resource, never the Durable management URLs (they carry the system key).
    assert started.headers["Location"] == f"/api/maintenance-orders/{order_id}"
    assert started.json()["instanceId"] == instance_id and started.json()["orderId"] == order_id
    assert started.json()["runtimeStatus"] in ("Pending", "Running")
    assert "/runtime/webhooks/" not in started.text

    waiting = api.wait_stage(order_id, "awaiting_approval")
    assert (
        waiting["waitingFor"] == "approval_decision" and waiting["deadlineUtc"] and waiting["nextReminderUtc"]
    )

    approved = api.approve(order_id, {"approved": True, "comment": "all good"})
    assert approved.status_code == 202, approved.text
    finished = api.wait_finished(order_id)
    assert (finished["runtimeStatus"], finished["outcome"], finished["stage"]) == (
        "Completed",
        "released",
        "released",
    )

    requests_made = sandboxes.effects("suppliers", instance_id, "request_parts")
    assert sorted(effect["request"]["supplierId"] for effect in requests_made) == [
        "supplier-east",
        "supplier-north",
        "supplier-south",
    ]
    assert len(sandboxes.effects("documents", instance_id)) == 2  # compliance pack + release certificate
    messages = sandboxes.effects("customer_messaging", instance_id)
    assert sorted(effect["request"]["template"] for effect in messages) == [
        "maintenance.awaiting_approval",
        "maintenance.released",
    ]
    assert all(effect["request"]["to"] == CUSTOMER_EMAIL for effect in messages)


def test_rejection_notifies_the_customer_and_issues_no_certificate(
    api: MaintenanceApi, sandboxes: Sandboxes
) -> None:
    order_id = new_order_id("reject")
    assert api.start(order_body(order_id)).status_code == 202
    api.wait_stage(order_id, "awaiting_approval")
    assert api.approve(order_id, {"approved": False}).status_code == 202
    finished = api.wait_finished(order_id)
    assert (finished["runtimeStatus"], finished["outcome"]) == ("Completed", "rejected")
    instance_id = f"maintenance-{order_id}"
    assert len(sandboxes.effects("documents", instance_id)) == 1  # the compliance pack only
    templates = [
        effect["request"]["template"] for effect in sandboxes.effects("customer_messaging", instance_id)
    ]
    assert sorted(templates) == ["maintenance.awaiting_approval", "maintenance.rejected"]


def test_reminders_then_escalation_then_expiry_on_the_virtual_clock(
    api: MaintenanceApi, sandboxes: Sandboxes
) -> None:
    """Every 24 h a reminder; the 4th wake-up escalates; after 7 days the order expires."""
    order_id = new_order_id("expire")
    instance_id = f"maintenance-{order_id}"
    assert api.start(order_body(order_id)).status_code == 202
    first = api.wait_stage(order_id, "awaiting_approval")
    deadline = first["deadlineUtc"]
    for reminder in (1, 2, 3):
        api.advance_clock(DAY)
        status = api.wait_value(order_id, "remindersSent", reminder)
        assert status["stage"] == "awaiting_approval" and status["deadlineUtc"] == deadline
    api.advance_clock(DAY)
    escalated = api.wait_value(order_id, "escalated", True)
    assert "nextReminderUtc" not in escalated, "after escalation only the deadline is left"
    sent = sandboxes.effects("customer_messaging", instance_id)
    assert sorted(effect["request"]["template"] for effect in sent) == [
        "maintenance.approval_escalation",
        "maintenance.approval_reminder",
        "maintenance.approval_reminder",
        "maintenance.approval_reminder",
        "maintenance.awaiting_approval",
    ]
    api.advance_clock(2 * DAY)
    assert api.order(order_id).json()["stage"] == "awaiting_approval", "not expired before the deadline"
    api.advance_clock(DAY)
    finished = api.wait_finished(order_id)
    assert finished["outcome"] == "expired"
    assert api.approve(order_id, {"approved": True}).status_code == 409

    packet = api.audit(order_id).json()["packet"]
    assert [(r["recipient"], r["reminderNumber"]) for r in packet["reminders"]] == [
        ("approver", 1),
        ("approver", 2),
        ("approver", 3),
        ("supervisor", 3),
    ]
    assert packet["finalOutcome"] == "expired" and packet["approval"]["decision"] is None


def test_duplicate_approval_takes_the_first_decision_only(api: MaintenanceApi, sandboxes: Sandboxes) -> None:
    order_id = new_order_id("dup")
    instance_id = f"maintenance-{order_id}"
    assert api.start(order_body(order_id)).status_code == 202
    api.wait_stage(order_id, "awaiting_approval")
    first = api.approve(order_id, {"approved": True}, as_=FIRST_APPROVER)
    second = api.approve(order_id, {"approved": False}, as_=SECOND_APPROVER)
    assert first.status_code == 202
    assert second.status_code in (202, 409), "a racing duplicate is accepted or refused, never applied"
    finished = api.wait_finished(order_id)
    assert finished["outcome"] == "released"
    late = api.approve(order_id, {"approved": False})
    assert late.status_code == 409 and late.json()["state"] == "released", late.text
    packet = api.audit(order_id).json()["packet"]
    assert packet["approval"]["decision"]["approver"] == "First Approver"
    assert packet["approval"]["decidedBy"]["principalId"] == FIRST_APPROVER.user_id
    templates = [
        effect["request"]["template"] for effect in sandboxes.effects("customer_messaging", instance_id)
    ]
    assert templates.count("maintenance.released") == 1 and "maintenance.rejected" not in templates


def test_starting_the_same_order_again_is_a_conflict(api: MaintenanceApi) -> None:
    order_id = new_order_id("twice")
    assert api.start(order_body(order_id)).status_code == 202
    again = api.start(order_body(order_id))
    assert again.status_code == 409, again.text
    assert again.json()["statusUrl"] == again.headers["Location"] == f"/api/maintenance-orders/{order_id}"
    assert "/runtime/webhooks/" not in again.text
    api.wait_stage(order_id, "awaiting_approval")
    assert api.approve(order_id, {"approved": False}).status_code == 202
    api.wait_finished(order_id)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"orderId": "bad id!"}, "orderId"),
        ({"customer": {"name": "Pat", "email": "not-an-email"}}, "customer.email"),
        ({"inspection": {"inspector": "Ines", "findings": []}}, "inspection.findings"),
        (
            {
                "inspection": {
                    "inspector": "Ines",
                    "findings": [{"code": "X-1", "severity": "bad", "partNumbers": []}],
                }
            },
            "inspection.findings[0].severity",
        ),
    ],
)
def test_invalid_order_bodies_get_400_naming_the_field(
    api: MaintenanceApi, body: dict[str, object], field: str
) -> None:
    order_id = new_order_id("bad")
    response = api.start(order_body(order_id, **body))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert api.order(order_id).status_code == 404, "nothing was started"


def test_approval_errors_name_the_field_or_the_order(api: MaintenanceApi) -> None:
    missing = api.approve(new_order_id("nobody"), {"approved": True})
    assert missing.status_code == 404, missing.text
    order_id = new_order_id("badapproval")
    assert api.start(order_body(order_id)).status_code == 202
    for body, field in (
        ({"approved": "yes"}, "approved"),
        ({}, "approved"),
        ({"approved": True, "approver": "CFO Jane Doe"}, "approver"),  # names someone else
        ("not json", "body"),
    ):
        response = api.approve(order_id, body)
        assert response.status_code == 400 and response.json()["field"] == field, response.text
    assert api.order("bad id!").status_code in (400, 404)
    api.wait_stage(order_id, "awaiting_approval")
    # The old field is still tolerated when it names the signed-in approver; the principal decides.
    accepted = api.approve(order_id, {"approved": False, "approver": APPROVER.name})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["decision"]["decidedBy"]["principalId"] == APPROVER.user_id
    api.wait_finished(order_id)


def test_audit_packet_answers_who_approved_when_and_what_ran(api: MaintenanceApi) -> None:
    order_id = new_order_id("audit")
    instance_id = f"maintenance-{order_id}"
    assert api.start(order_body(order_id)).status_code == 202
    api.wait_stage(order_id, "awaiting_approval")
    decision = api.approve(order_id, {"approved": True, "comment": "call +44 7700 900123"})
    decided_at = decision.json()["decision"]["decidedAt"]
    api.wait_finished(order_id)

    response = api.audit(order_id)
    assert response.status_code == 200, response.text
    envelope = response.json()
    packet = envelope["packet"]
    assert packet["instance"]["instanceId"] == instance_id and packet["instanceIds"] == [instance_id]
    assert packet["orderId"] == order_id and packet["finalOutcome"] == "released"
    approval = packet["approval"]
    assert approval["approvedBy"] == "Ada Approver" and approval["approvedAt"] == decided_at
    assert approval["approvedByPrincipal"] == {
        "principalId": APPROVER.user_id,
        "name": APPROVER.name,
        "role": "Maintenance.Approver",
        "identityProvider": "aad",
    }
    assert packet["startedBy"]["role"] == "Workflow.Submitter"
    assert approval["receivedAt"]
    [event] = approval["events"]
    assert (event["by"], event["decidedAt"], event["approved"]) == ("Ada Approver", decided_at, True)
    assert event["principal"]["principalId"] == APPROVER.user_id
    names = [activity["name"] for activity in packet["activities"]]
    assert names.count("request_parts_from_supplier") == 3 and names.count("look_up_parts") == 2
    for name in (
        "capture_inspection",
        "generate_compliance_pack",
        "notify_customer",
        "issue_release_certificate",
    ):
        assert name in names
    for activity in packet["activities"]:
        attempt = activity["attempts"][-1]
        assert activity["input"] and attempt["outcome"] == "completed" and attempt["finishedAt"]
    assert packet["outcome"]["output"]["orchestrationVersion"] == "1.0"
    text = json.dumps(packet)
    assert CUSTOMER_EMAIL not in text and "Pat Customer" not in text and "7700 900123" not in text
    assert envelope["seal"]["signatureAlgorithm"] == "ES256" and len(envelope["seal"]["digest"]) == 64
    assert packet["sealing"]["finalStatus"] == "Completed" and packet["sealing"]["sealedBy"].startswith(
        "the workflow"
    )
    assert [(d["name"], d["format"]) for d in packet["documents"]] == [
        ("release-certificate", "pdf"),
        ("release-certificate", "html"),
    ]
    assert api.audit(new_order_id("unknown")).status_code == 404
