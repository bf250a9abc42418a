"""The console's pure parts: cursors, filters, pending decisions, decision forms, CSRF, escaping."""

from __future__ import annotations

from typing import Any

import pytest

from console import csrf
from console.decisions import DecisionFormError, Viewer, decision_from_form, pending_decisions
from console.management import Cursor, InstanceFilter, matches, parse_statuses, row_from_status
from console.pages import InstanceView, Links, PageContext, available_actions, instance_page
from identity import Principal, Role

KEY = b"k" * 32


def status(
    instance_id: str, name: str, custom: Any = None, runtime: str = "Running", **extra: Any
) -> dict[str, Any]:
    return {
        "instanceId": instance_id,
        "name": name,
        "runtimeStatus": runtime,
        "createdTime": "2026-11-24T10:00:00Z",
        "lastUpdatedTime": "2026-11-24T10:05:00Z",
        "customStatus": custom,
        **extra,
    }


def test_a_cursor_survives_the_url_and_a_broken_one_starts_over() -> None:
    cursor = Cursor("eyJvZmZzZXQiOiAxMDB9", 17)
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode("%%%not-base64") == Cursor()


def test_filters_map_to_the_management_api_and_to_row_checks() -> None:
    wanted = InstanceFilter(
        workflow="maintenance_order", statuses=parse_statuses(["Failed,Running", "Bogus"])
    )
    params = wanted.api_params(50)
    assert params["instanceIdPrefix"] == "maintenance-" and params["runtimeStatus"] == "Running,Failed"
    assert params["showInput"] == "false" and not wanted.filters_rows
    relief = row_from_status(
        status(
            "relief-r-7",
            "relief_routing",
            input={"request": {"shelters": [{"shelterId": "shelter-hilltop-center"}]}},
        )
    )
    assert relief.business_id == "r-7" and relief.regions == ["depot-north"]
    assert matches(relief, InstanceFilter(region="depot-north", text="R-7"))
    assert not matches(relief, InstanceFilter(region="depot-harbor"))


def test_pending_decisions_come_from_the_custom_status() -> None:
    rows = [
        row_from_status(
            status(
                "maintenance-a",
                "maintenance_order",
                {
                    "stage": "awaiting_approval",
                    "waitingFor": "approval_decision",
                    "deadlineUtc": "2026-12-01T00:00:00Z",
                    "remindersSent": 2,
                },
            )
        ),
        row_from_status(status("maintenance-b", "maintenance_order", {"stage": "requesting_parts"})),
        row_from_status(
            status(
                "fare-dispute-c",
                "fare_dispute",
                {"waitingFor": "supervisor_decision", "slaDue": "2026-11-26T15:00:00Z"},
                input={"claimedAmount": {"amount": "42.50", "currency": "EUR"}},
            )
        ),
        row_from_status(
            status(
                "relief-d",
                "relief_routing",
                {
                    "stage": "awaiting_confirmations",
                    "shelters": {
                        "s-1": {"state": "awaiting", "escalations": 1},
                        "s-2": {"state": "confirmed"},
                    },
                },
            )
        ),
    ]
    found = pending_decisions(rows)
    assert [(d.kind, d.subject) for d in found] == [
        ("supervisor_decision", "c"),
        ("maintenance_approval", "a"),
        ("shelter_confirmation", "s-1"),
    ]
    assert found[0].currency == "EUR" and "2 reminder(s)" in found[1].detail


def test_decision_forms_become_what_the_workflows_receive_and_name_no_decider() -> None:
    approval = decision_from_form(
        "maintenance_approval",
        "maintenance-a",
        "a",
        {"decision": "reject", "approver": "Mallory", "comment": " no "},
        "Ada Approver",
    )
    assert approval.business_id == "a" and approval.summary.endswith("as Ada Approver")
    assert approval.body == {"approved": False, "comment": "no"}, "a typed approver is never taken"
    partial = decision_from_form(
        "supervisor_decision",
        "fare-dispute-c",
        "c",
        {"decision": "partial", "supervisor": "sup-1", "refundAmount": "5.5", "currency": "eur"},
        "Sam",
    )
    assert partial.body == {"decision": "partial", "refundAmount": {"amount": "5.5", "currency": "EUR"}}
    with pytest.raises(DecisionFormError) as refused:
        decision_from_form("supervisor_decision", "fare-dispute-c", "c", {"decision": "partial"}, "Sam")
    assert refused.value.field == "refundAmount"
    with pytest.raises(DecisionFormError):
        decision_from_form("maintenance_approval", "maintenance-a", "a", {"decision": "maybe"}, "Ada")
    confirmation = decision_from_form(
        "shelter_confirmation", "relief-d", "d", {"shelterId": "s-1", "confirmedBy": "Dee"}, "Dee"
    )
    assert confirmation.body == {"shelterId": "s-1"}


def test_the_viewer_gets_a_form_only_for_decisions_they_may_take() -> None:
    rows = [
        row_from_status(
            status(
                "maintenance-a",
                "maintenance_order",
                {"waitingFor": "approval_decision"},
                input={"startedBy": {"principalId": "ada", "name": "Ada"}},
            )
        ),
        row_from_status(status("maintenance-b", "maintenance_order", {"waitingFor": "approval_decision"})),
        row_from_status(
            status(
                "relief-d",
                "relief_routing",
                {"shelters": {"s-1": {"state": "awaiting"}, "s-2": {"state": "awaiting"}}},
            )
        ),
    ]
    order_a, order_b, shelter_1, shelter_2 = pending_decisions(rows)
    ada = Viewer(
        Principal(
            "ada", "Ada", frozenset({Role.MAINTENANCE_APPROVER.value, Role.RELIEF_SHELTER_STAFF.value}), "aad"
        ),
        frozenset({"s-1"}),
    )
    assert ada.refusal(order_a) == "you started this case: another person decides it (maker-checker)"
    assert ada.refusal(order_b) is None
    assert (ada.refusal(shelter_1), ada.refusal(shelter_2)) == (None, "not one of your shelters")
    reader = Viewer(Principal("rita", "Rita", frozenset({Role.OPERATIONS_READER.value}), "aad"))
    assert reader.refusal(order_b) == "needs the role Maintenance.Approver"


def test_csrf_tokens_are_bound_to_the_cookie_the_purpose_and_the_origin() -> None:
    secret = csrf.new_secret()
    headers = {"Cookie": f"{csrf.COOKIE_NAME}={secret}", "Origin": "http://h:1"}
    token = csrf.form_token(secret, "action|terminate|x", KEY)
    csrf.check(headers, "http://h:1/api/console/instance/action", token, "action|terminate|x", KEY)
    for bad_headers, bad_token, purpose in [
        ({}, token, "action|terminate|x"),
        (headers, token, "action|terminate|y"),
        ({**headers, "Origin": "http://evil"}, token, "action|terminate|x"),
        (headers, "", "action|terminate|x"),
    ]:
        with pytest.raises(csrf.CsrfError):
            csrf.check(bad_headers, "http://h:1/api/console/instance/action", bad_token, purpose, KEY)
    assert "SameSite=Strict" in csrf.set_cookie_header(secret, secure=True)


def test_instance_page_escapes_every_payload_and_never_offers_purge() -> None:
    evil = "<script>alert(1)</script>"
    row = row_from_status(
        status(
            "maintenance-x",
            "maintenance_order",
            {"stage": evil, "waitingFor": "approval_decision"},
            runtime="Failed",
        )
    )
    packet = {
        "instance": {"input": {"note": evil}},
        "outcome": {"status": "Failed", "failure": evil},
        "activities": [
            {
                "name": evil,
                "attempts": [
                    {
                        "attempt": 1,
                        "outcome": "failed",
                        "failure": evil,
                        "scheduledAt": "2026-11-24T10:00:00Z",
                        "finishedAt": "2026-11-24T10:00:02.5Z",
                    }
                ],
            }
        ],
        "events": [{"name": evil, "receivedAt": None, "by": evil, "data": {"x": evil}}],
        "timers": [],
        "subOrchestrations": [{"name": evil, "instanceId": evil, "outcome": "completed"}],
        "timeline": [{"at": None, "kind": evil, "summary": evil}],
        "notes": [evil],
    }
    view = InstanceView(
        row=row, packet=packet, decisions=[], action_tokens={"rewind": "t"}, decision_tokens={}
    )
    html = instance_page(PageContext(Links("/api/console")), view)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "2.5 s" in html and "code=" not in html
    assert available_actions("Failed") == ["rewind"]
    offered = {
        action
        for state in ("Running", "Suspended", "Failed", "Completed")
        for action in available_actions(state)
    }
    assert offered == {"suspend", "resume", "terminate", "rewind"}
