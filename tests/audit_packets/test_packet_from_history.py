"""The product audit-packet builder on a status API history (the shape the durable client returns)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from audit_packets import decision_records, packet_from_history, packet_redactor, status_as_dict

STATUS: dict[str, Any] = {
    "instanceId": "maintenance-42",
    "name": "maintenance_order",
    "runtimeStatus": "Completed",
    "createdTime": "2026-01-01T00:00:00Z",
    "lastUpdatedTime": "2026-01-02T00:00:00Z",
    "input": {"orderId": "42", "customerEmail": "pat@example.com"},
    "customStatus": {"stage": "released"},
    "historyEvents": [
        {"EventType": "ExecutionStarted", "FunctionName": "maintenance_order", "Timestamp": "T0"},
        {
            "EventType": "TaskFailed",
            "FunctionName": "request_parts",
            "ScheduledTime": "T1",
            "Timestamp": "T2",
            "Input": json.dumps([{"supplierId": "acme"}]),
            "Reason": "busy",
        },
        {
            "EventType": "TaskCompleted",
            "FunctionName": "request_parts",
            "ScheduledTime": "T3",
            "Timestamp": "T4",
            "Input": json.dumps([{"supplierId": "acme"}]),
            "Result": {"requestId": "r-1"},
        },
        {
            "EventType": "EventRaised",
            "Name": "approval_decision",
            "Timestamp": "T5",
            "Input": json.dumps({"approved": True, "approver": "Ada", "approverEmail": "ada@example.com"}),
        },
        {
            "EventType": "ExecutionCompleted",
            "OrchestrationStatus": "Completed",
            "Timestamp": "T6",
            "Result": {"outcome": "released"},
        },
    ],
}


def test_attempts_are_grouped_events_named_and_payloads_redacted() -> None:
    packet = packet_from_history(STATUS, packet_redactor())
    [activity] = packet["activities"]
    assert activity["name"] == "request_parts" and activity["retried"]
    assert [a["outcome"] for a in activity["attempts"]] == ["failed", "completed"]
    assert activity["attempts"][1]["result"] == {"requestId": "r-1"}
    assert packet["instance"]["instanceId"] == "maintenance-42"
    assert packet["outcome"] == {"status": "Completed", "output": {"outcome": "released"}, "at": "T6"}
    assert decision_records(packet, "approval_decision", ("approved",)) == [
        {"by": "Ada", "principal": None, "receivedAt": "T5", "approved": True}
    ]
    text = json.dumps(packet)
    assert "pat@example.com" not in text and "ada@example.com" not in text


def test_an_event_that_records_its_principal_names_it_over_any_typed_name() -> None:
    """`decidedBy` (the authenticated principal the HTTP edge wrote) is who sent it, not `approver`."""
    principal = {"principalId": "0b2c-oid", "name": "Ada Lovelace", "role": "Maintenance.Approver"}
    event = {
        "EventType": "EventRaised",
        "Name": "approval_decision",
        "Timestamp": "T5",
        "Input": json.dumps({"approved": True, "approver": "Mallory", "decidedBy": principal}),
    }
    status = {**STATUS, "historyEvents": [event]}
    packet = packet_from_history(status, packet_redactor())
    [record] = decision_records(packet, "approval_decision", ("approved",))
    assert record == {"by": "Ada Lovelace", "principal": principal, "receivedAt": "T5", "approved": True}
    assert packet["events"][0]["principal"]["principalId"] == "0b2c-oid"
    assert "event 'approval_decision' received from Ada Lovelace" in json.dumps(packet["timeline"])


def test_status_as_dict_reads_the_sdk_history_events_attribute() -> None:
    """The SDK keeps the status API's `historyEvents` as an attribute of that name, not `history`."""
    status = SimpleNamespace(
        instance_id="maintenance-42",
        name="maintenance_order",
        runtime_status=SimpleNamespace(value="Completed"),
        created_time=None,
        last_updated_time=None,
        input_='{"orderId": "42"}',
        custom_status=None,
        output=None,
        history=None,
        historyEvents=STATUS["historyEvents"],
    )
    converted = status_as_dict(status)  # type: ignore[arg-type]
    assert converted["input"] == {"orderId": "42"}
    assert len(converted["historyEvents"]) == 5
