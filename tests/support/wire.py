"""Wire-level views of the devhost (raw history with EventId/IsPlayed, traced trigger payloads).

These are devhost admin endpoints; `func start` has no equivalent, so tests that read them carry
the `devhost_only` marker and are deselected when DURABLE_HOST=func.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest
import requests

from devhost.testing import HostClient
from durable_wire import EventType
from tests.support.durable_http import DurableApi
from tools.harness import VirtualClock
from tools.harness import advance_clock as harness_advance_clock
from tools.harness.polling import wait_until

devhost_only = pytest.mark.skipif(
    os.environ.get("DURABLE_HOST", "devhost") == "func",
    reason="reads devhost wire internals (/admin/instances/...), which func start does not expose",
)


def raw_history(base_url: str, instance_id: str) -> list[dict[str, Any]]:
    """The instance's history exactly as sent to the SDK (EventType ints, EventId, IsPlayed...)."""
    host = HostClient(base_url)
    try:
        return host.raw_history(instance_id)
    finally:
        host.close()


def inbox(base_url: str, instance_id: str) -> list[dict[str, Any]]:
    """Messages the instance accepted and has not processed yet (`eventType`, `name`), in order."""
    response = requests.get(f"{base_url}/admin/instances/{quote(instance_id, safe='')}/inbox", timeout=30)
    response.raise_for_status()
    return list(response.json())


def trace(base_url: str, instance_id: str) -> list[dict[str, Any]]:
    """Every orchestration trigger payload sent to the SDK and its parsed answer, in order.

    Needs a host started with trace_payloads=True (the session `conformance_host` is).
    """
    response = requests.get(f"{base_url}/admin/instances/{quote(instance_id, safe='')}/trace", timeout=30)
    response.raise_for_status()
    return list(response.json())


def advance_clock(base_url: str, seconds: float) -> datetime:
    """Move a --virtual-clock host's time forward; due timers fire (asynchronously). The new time."""
    return harness_advance_clock(base_url, seconds)


def clock_now(base_url: str) -> datetime:
    """The host's clock (virtual or real), as an aware UTC datetime."""
    clock = VirtualClock(base_url)
    try:
        return clock.now()
    finally:
        clock.host.close()


def advance_clock_to(base_url: str, moment: datetime) -> None:
    """Move a --virtual-clock host's time forward to `moment` (never backwards)."""
    clock = VirtualClock(base_url)
    try:
        clock.advance_to(moment)
    finally:
        clock.host.close()


def deliver_in_one_batch(
    base_url: str,
    instance_id: str,
    deadline: datetime,
    event: tuple[str, Any],
    *,
    event_first: bool,
    token: str | None = None,
) -> None:
    """Make a deadline's timer and an external event reach an instance in one episode, in a chosen order.

    The instance is suspended, the virtual clock moves to `deadline` (its timer fires into the
    held inbox) and `event` is raised through the management API, in the order asked for; then it
    is resumed, and the resumed episode is checked to hold both, in that order. This is the batch
    the Durable runtime may hand an orchestration when a timer and an event fall due together.
    `token` signs the management API calls in on a host that emulates Easy Auth.
    """
    durable = DurableApi(base_url, token)
    assert durable.post(instance_id, "suspend", reason="test: one batch").status_code == 202
    durable.wait(instance_id, statuses={"Suspended"})

    def fire_deadline() -> None:
        advance_clock_to(base_url, deadline)
        wait_until(
            lambda: EventType.TIMER_FIRED in [m["eventType"] for m in inbox(base_url, instance_id)],
            10,
            "the deadline's timer to reach the suspended instance",
        )

    def raise_event() -> None:
        assert durable.raise_event(instance_id, *event).status_code == 202

    for step in (raise_event, fire_deadline) if event_first else (fire_deadline, raise_event):
        step()
    assert durable.post(instance_id, "resume", reason="test: one batch").status_code == 202
    wait_until(
        lambda: EventType.EXECUTION_RESUMED in [e["EventType"] for e in raw_history(base_url, instance_id)],
        10,
        "the resumed episode",
    )
    history = raw_history(base_url, instance_id)
    resumed = max(i for i, e in enumerate(history) if e["EventType"] == EventType.EXECUTION_RESUMED)
    batch = [
        e["EventType"]
        for e in history[resumed:]
        if e["EventType"] in (EventType.TIMER_FIRED, EventType.EVENT_RAISED)
    ]
    assert batch[:2] == (
        [EventType.EVENT_RAISED, EventType.TIMER_FIRED]
        if event_first
        else [EventType.TIMER_FIRED, EventType.EVENT_RAISED]
    )
