"""The calendar check: every time-dependent path of the three workflows, started at awkward instants.

For each instant below, one devhost of the project's root app starts with its virtual clock pinned
there and files, at that instant, a fare dispute that waits for a supervisor (SLA escalation), one
that waits for evidence (reminder, closing, and the SLA on the way when it falls first), a
maintenance order (reminders, escalation, expiry) and a relief request (confirmation escalation,
then unconfirmed). The clock is then walked through every expected deadline: one second before it
nothing has happened, at it the change is seen. Expected due times are written out per instant,
never computed from the date the suite runs on; durations (reminders, waits, escalations) are
elapsed time in UTC, so they fall at the same UTC offsets on DST nights.

A test that depends on the calendar fails here on every machine, not only on the day CI happens to
run on a weekend, a holiday eve, a DST night or at the year end.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.wire import advance_clock_to, clock_now
from tools.clients import (
    AppClient,
    Cast,
    FareDisputeClient,
    MaintenanceOrderClient,
    ReliefRequestClient,
    evidence_fare_dispute_body,
    maintenance_order_body,
    relief_request_body,
    supervised_fare_dispute_body,
)
from tools.harness import REPO_ROOT, Azurite, HostProcess, make_host
from tools.harness.polling import wait_until

HOLIDAYS = "2026-12-25,2026-12-28,2027-01-01"
SETTINGS = {
    "INTEGRATIONS_MODE": "sandbox",
    "FARE_DISPUTE_SLA_TIME_ZONE": "Europe/Amsterdam",
    "FARE_DISPUTE_HOLIDAYS": HOLIDAYS,
    "FARE_DISPUTE_EVIDENCE_REMINDER_AFTER": "P1D",
    "FARE_DISPUTE_EVIDENCE_WAIT": "P3D",
    "MAINTENANCE_REMINDER_INTERVAL": "PT24H",
    "MAINTENANCE_ESCALATE_AFTER_REMINDERS": "3",
    "MAINTENANCE_APPROVAL_DEADLINE": "P7D",
    "RELIEF_CONFIRMATION_INTERVAL": "PT6H",
    "RELIEF_MAX_ESCALATIONS": "2",
}
SHELTER = "shelter-bayview-school"


@dataclass(frozen=True)
class Instant:
    """A pinned start and the SLA due instant a dispute filed then must get (Amsterdam, HOLIDAYS)."""

    filed: str
    sla_due: str


INSTANTS = {
    # Friday 15:30 local before a weekend -> Tuesday 15:30.
    "friday-afternoon": Instant("2026-12-04T14:30:00Z", "2026-12-08T14:30:00Z"),
    # Saturday 14:00 local -> the clock starts Monday -> the end of Tuesday (Wednesday 00:00 local).
    "saturday": Instant("2026-12-05T13:00:00Z", "2026-12-08T23:00:00Z"),
    # Sunday 11:00 local -> the end of Tuesday.
    "sunday": Instant("2026-12-06T10:00:00Z", "2026-12-08T23:00:00Z"),
    # Sunday 23:30 UTC is Monday 00:30 in Amsterdam, a business day -> Wednesday 00:30 local.
    "sunday-night-utc": Instant("2026-12-06T23:30:00Z", "2026-12-08T23:30:00Z"),
    # Thursday 24 Dec 17:00 local, 25 and 28 Dec holidays -> Wednesday 30 Dec 17:00.
    "holiday-eve": Instant("2026-12-24T16:00:00Z", "2026-12-30T16:00:00Z"),
    # Sunday 00:59:30 CET, the night the clocks go forward -> the end of Tuesday (00:00 CEST).
    "dst-forward-night": Instant("2027-03-27T23:59:30Z", "2027-03-30T22:00:00Z"),
    # Sunday 01:30 CEST, the night the clocks go back -> the end of Tuesday (00:00 CET).
    "dst-back-night": Instant("2026-10-24T23:30:00Z", "2026-10-27T23:00:00Z"),
    # Thursday 31 Dec 23:58 UTC is New Year's Day 00:58 local, a holiday -> the end of Tue 5 Jan.
    "year-end": Instant("2026-12-31T23:58:00Z", "2027-01-05T23:00:00Z"),
    # A plain Wednesday 11:00 local -> Friday 11:00.
    "plain-wednesday": Instant("2026-12-09T10:00:00Z", "2026-12-11T10:00:00Z"),
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class Deadline:
    """Something that must happen exactly at `at`: `happened()` is False one second before, then True."""

    at: datetime
    what: str
    happened: Callable[[], bool]


@pytest.fixture(params=list(INSTANTS), ids=list(INSTANTS))
def pinned(request: pytest.FixtureRequest, azurite: Azurite) -> Iterator[tuple[Instant, HostProcess]]:
    """A root-app devhost whose virtual clock starts at the instant under test."""
    instant = INSTANTS[request.param]
    env = {**SETTINGS, "STORAGE_CONTAINER_PREFIX": f"ca{uuid.uuid4().hex[:10]}"}
    host = make_host(
        REPO_ROOT, azurite, virtual_clock=True, clock_start=instant.filed, env=env, easy_auth=True
    ).start()
    yield instant, host
    host.stop()


def messages_of(app: AppClient, instance_id: str) -> list[str]:
    """Templates of the customer messages sent for one instance, in order."""
    effects: list[dict[str, Any]] = app.sandbox("customer_messaging", "send")["effects"]
    return [
        e["request"]["template"] for e in effects if str(e["idempotencyKey"]).startswith(instance_id + ":")
    ]


def test_time_dependent_paths_fall_due_exactly_when_expected(pinned: tuple[Instant, HostProcess]) -> None:
    instant, host = pinned
    start = utc(instant.filed)
    assert clock_now(host.base_url) == start
    cast = Cast.sign_in(host.base_url)
    app = cast.reader  # reads the sandbox view; the portal starts the cases and polls their status
    disputes, orders, relief = (
        FareDisputeClient(cast.submitter),
        MaintenanceOrderClient(cast.submitter),
        ReliefRequestClient(cast.submitter),
    )

    disputes.file(supervised_fare_dispute_body("sla"))
    disputes.file(evidence_fare_dispute_body("evidence"))
    orders.start(maintenance_order_body("order"))
    relief.start(relief_request_body("relief", {SHELTER: {"water": 1}}))
    supervised = disputes.wait_waiting_for("sla", "supervisor_decision")
    evidence = disputes.wait_waiting_for("evidence", "evidence")
    order = orders.wait_stage("order", "awaiting_approval")
    relief.wait_shelters_awaiting("relief", [SHELTER])

    due = utc(instant.sla_due)
    close = start + timedelta(days=3)
    assert supervised["slaDue"] == evidence["slaDue"] == instant.sla_due
    assert order["deadlineUtc"] == (start + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")

    evidence_id = disputes.instance_id("evidence")

    def dispute(name: str) -> dict[str, Any]:
        return disputes.status(name)

    def order_status() -> dict[str, Any]:
        return orders.status("order")

    def shelter() -> dict[str, Any]:
        progress: dict[str, Any] = relief.status("relief").get("shelters", {}).get(SHELTER, {})
        return progress

    deadlines = [
        Deadline(
            due, "the SLA escalates the supervised dispute", lambda: dispute("sla").get("escalated") is True
        ),
        Deadline(
            start + timedelta(days=1),
            "the evidence reminder",
            lambda: "fare_dispute.evidence_reminder" in messages_of(app, evidence_id),
        ),
        Deadline(
            close,
            "the evidence wait closes the dispute",
            lambda: dispute("evidence").get("runtimeStatus") == "Completed",
        ),
        *(
            Deadline(
                start + timedelta(days=n),
                f"maintenance reminder {n}",
                lambda n=n: order_status().get("remindersSent") == n,  # type: ignore[misc]
            )
            for n in (1, 2, 3)
        ),
        Deadline(
            start + timedelta(days=4),
            "maintenance escalation",
            lambda: order_status().get("escalated") is True,
        ),
        Deadline(
            start + timedelta(days=7),
            "maintenance expiry",
            lambda: order_status().get("outcome") == "expired",
        ),
        Deadline(
            start + timedelta(hours=6), "relief escalation 1", lambda: shelter().get("escalations") == 1
        ),
        Deadline(
            start + timedelta(hours=12),
            "relief shelter unconfirmed",
            lambda: shelter().get("state") == "unconfirmed",
        ),
    ]
    if due < close:  # the SLA falls while the evidence is awaited: it escalates that dispute too
        deadlines.append(
            Deadline(
                due,
                "the SLA escalates the evidence dispute",
                lambda: dispute("evidence").get("escalated") is True,
            )
        )
    for at in sorted({deadline.at for deadline in deadlines}):
        due_now = [deadline for deadline in deadlines if deadline.at == at]
        advance_clock_to(host.base_url, at - timedelta(seconds=1))
        time.sleep(0.3)  # let anything the clock released run before looking
        for deadline in due_now:
            assert not deadline.happened(), f"{deadline.what} happened before {at:%Y-%m-%dT%H:%M:%SZ}"
        advance_clock_to(host.base_url, at)
        for deadline in due_now:
            wait_until(deadline.happened, 20, f"{deadline.what} at {at:%Y-%m-%dT%H:%M:%SZ}")

    closed = dispute("evidence")
    assert closed["outcome"] == "insufficient_evidence"
    assert closed["escalated"] is (due < close)
