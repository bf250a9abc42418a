"""Typed contracts at the HTTP edge: 400 naming each bad field, 404, 409, and a 500 that leaks nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import ValidationError

from api.validation import field_path
from contracts import (
    InvalidDurationError,
    Money,
    WorkflowStatus,
    duration_setting,
    parse_duration,
    parse_event,
)
from tests.support.identity import READER, Tokens
from tools.harness import REPO_ROOT, HostProcess

GOOD_ORDER: dict[str, Any] = {
    "orderId": "o-1",
    "priority": 3,
    "customer": {"name": "A Person", "email": "a@example.test"},
    "cardNumber": "4111111111111111",
    "refund": {"amount": "10.00", "currency": "EUR"},
    "findings": [{"code": "AB-123", "severity": 2}],
}


def test_field_paths_and_money_and_durations() -> None:
    assert field_path(("inspection", "findings", 0, "code")) == "inspection.findings[0].code"
    assert field_path(()) == "body"
    assert Money.from_dict({"amount": "12.50", "currency": "EUR"}).to_dict() == {
        "amount": "12.50",
        "currency": "EUR",
    }
    for bad in [
        {"amount": 12.5, "currency": "EUR"},
        {"amount": "-1", "currency": "EUR"},
        {"amount": "1", "currency": "eur"},
    ]:
        with pytest.raises(ValidationError):
            Money.from_dict(bad)
    assert parse_duration("PT24H") == timedelta(hours=24)
    assert parse_duration("P2DT0.5S") == timedelta(days=2, seconds=0.5)
    assert duration_setting("REMINDER_INTERVAL", "PT24H", {"REMINDER_INTERVAL": "PT2S"}) == timedelta(
        seconds=2
    )
    assert duration_setting("REMINDER_INTERVAL", "PT24H", {}) == timedelta(hours=24)
    for bad in ["24h", "P1M", "PT0S"]:
        with pytest.raises(InvalidDurationError):
            parse_duration(bad)
    status = WorkflowStatus(stage="waiting", waiting_for="approval", deadline_utc="2026-01-02T00:00:00Z")
    assert status.to_dict() == {
        "stage": "waiting",
        "waitingFor": "approval",
        "deadlineUtc": "2026-01-02T00:00:00Z",
    }
    assert WorkflowStatus(stage="done").to_dict() == {"stage": "done"}
    assert parse_event('{"stage": "x"}', WorkflowStatus) == WorkflowStatus(stage="x")


def post(
    host: HostProcess, route: str, body: Any, content_type: str | None = "application/json"
) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.post(f"{host.base_url}/api/{route}", data=data, headers=headers, timeout=30)


def test_bad_requests_get_400_naming_each_field(start_host: Callable[..., HostProcess]) -> None:
    host = start_host()
    assert post(host, "test-validate", GOOD_ORDER).status_code == 200

    cases: list[tuple[Any, list[str]]] = [
        ({**GOOD_ORDER, "priority": "urgent"}, ["priority"]),
        ({k: v for k, v in GOOD_ORDER.items() if k != "orderId"}, ["orderId"]),
        ({**GOOD_ORDER, "customer": {"name": "A", "email": "not-an-address"}}, ["customer.email"]),
        (
            {**GOOD_ORDER, "findings": [{"code": "AB-123", "severity": 2}, {"code": "bad", "severity": 9}]},
            ["findings[1].code", "findings[1].severity"],
        ),
        ({**GOOD_ORDER, "refund": {"amount": 10.5, "currency": "EUR"}}, ["refund.amount"]),
        ({**GOOD_ORDER, "surprise": True}, ["surprise"]),
        ([1, 2], ["body"]),
        (b"{not json", ["body"]),
        (b"", ["body"]),
    ]
    for body, fields in cases:
        response = post(host, "test-validate", body)
        assert response.status_code == 400, (body, response.text)
        answer = response.json()
        assert answer["field"] == fields[0], answer
        assert [item["field"] for item in answer["fields"]] == fields, answer
        assert answer["error"]
    # A body not declared as JSON is a 415, even when it parses as JSON (a cross-site form can send it).
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        refused = post(host, "test-validate", GOOD_ORDER, content_type)
        assert refused.status_code == 415, (content_type, refused.text)
        assert refused.json()["field"] == "body"
        assert refused.headers["X-Content-Type-Options"] == "nosniff"
        assert refused.headers["Cache-Control"] == "no-store"
    leaked = post(host, "test-validate", {**GOOD_ORDER, "cardNumber": "4111111111111111" * 3}).text
    assert "4111111111111111" not in leaked, "the rejected input is never echoed back"


def test_unknown_instances_duplicates_and_crashes(start_host: Callable[..., HostProcess]) -> None:
    host = start_host()
    missing = post(host, "test-orders/nope/evidence", {"description": "x"})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    assert post(host, "test-orders/bad id!/evidence", {"description": "x"}).json()["field"] == "orderId"

    first = post(host, "test-orders", GOOD_ORDER)
    assert first.status_code == 202, first.text
    assert first.headers["Location"] == "/api/test-orders/o-1"
    assert first.json()["id"] == "test-order-o-1"
    again = post(host, "test-orders", GOOD_ORDER)
    assert again.status_code == 409
    assert again.headers["Location"] == again.json()["statusUrl"] == first.headers["Location"]
    for answer in (first, again):
        assert "/runtime/webhooks/" not in answer.text + str(answer.headers), "no management URL, no key"

    crash = requests.get(f"{host.base_url}/api/test-crash", timeout=30)
    assert crash.status_code == 500 and crash.json() == {"error": "internal error"}
    host.stop()
    log = host.log_text()
    assert "unhandled error in HTTP function crash" in log
    assert "someone@example.test" not in log, "the traceback is redacted before it is logged"


def test_the_sandbox_view_is_served_only_when_the_sandbox_is_selected(
    start_host: Callable[..., HostProcess],
) -> None:
    sandbox_app = start_host(Path(REPO_ROOT), easy_auth=True)
    reader = Tokens(sandbox_app.base_url).headers(READER)  # the view is for Operations.Reader
    assert requests.get(f"{sandbox_app.base_url}/api/sandbox/payments", timeout=30).status_code == 401
    response = requests.get(f"{sandbox_app.base_url}/api/sandbox/payments", headers=reader, timeout=30)
    assert response.status_code == 200 and response.json() == {
        "system": "payments",
        "effects": [],
        "calls": [],
    }
    inventory = requests.get(
        f"{sandbox_app.base_url}/api/sandbox/inventory", headers=reader, timeout=30
    ).json()
    assert inventory["levels"] == []
    bank = requests.get(f"{sandbox_app.base_url}/api/sandbox/bank", headers=reader, timeout=30)
    assert bank.json()["field"] == "system"
    posted = requests.post(f"{sandbox_app.base_url}/api/sandbox/payments", headers=reader, timeout=30)
    assert posted.status_code in (404, 405)

    # A task hub of its own: one host per hub (the hub lease), and this one runs beside the first.
    real_app = start_host(
        Path(REPO_ROOT),
        env={"INTEGRATIONS_MODE": "http", "TASKHUB_NAME": f"{sandbox_app.hub_name}http"},
        easy_auth=True,
    )
    hidden = requests.get(
        f"{real_app.base_url}/api/sandbox/payments",
        headers=Tokens(real_app.base_url).headers(READER),
        timeout=30,
    )
    assert hidden.status_code == 404
