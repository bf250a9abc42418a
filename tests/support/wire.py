"""Wire-level views of the devhost (raw history with EventId/IsPlayed, traced trigger payloads).

These are devhost admin endpoints; `func start` has no equivalent, so tests that read them carry
the `devhost_only` marker and are deselected when DURABLE_HOST=func.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import quote

import pytest
import requests

devhost_only = pytest.mark.skipif(
    os.environ.get("DURABLE_HOST", "devhost") == "func",
    reason="reads devhost wire internals (/admin/instances/...), which func start does not expose",
)


def raw_history(base_url: str, instance_id: str) -> list[dict[str, Any]]:
    """The instance's history exactly as sent to the SDK (EventType ints, EventId, IsPlayed...)."""
    response = requests.get(
        f"{base_url}/admin/instances/{quote(instance_id, safe='')}/raw-history", timeout=30
    )
    response.raise_for_status()
    return list(response.json())


def trace(base_url: str, instance_id: str) -> list[dict[str, Any]]:
    """Every orchestration trigger payload sent to the SDK and its parsed answer, in order.

    Needs a host started with trace_payloads=True (the session `conformance_host` is).
    """
    response = requests.get(f"{base_url}/admin/instances/{quote(instance_id, safe='')}/trace", timeout=30)
    response.raise_for_status()
    return list(response.json())


def advance_clock(base_url: str, seconds: float) -> dict[str, Any]:
    """Move a --virtual-clock host's time forward; due timers fire."""
    response = requests.post(f"{base_url}/admin/clock/advance", json={"seconds": seconds}, timeout=30)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    time.sleep(0)  # let callers poll right after; firing is asynchronous
    return body
