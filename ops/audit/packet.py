"""Builds the audit packet of an instance (and, recursively, of its sub-orchestrations) for `ops audit`.

The history walk is the product's (`audit_packets.history.packet_from_history`); this module only
reads: the raw history (devhost `/admin/instances/{id}/raw-history`, which keeps EventIds, so every
attempt is matched to its scheduling event exactly) and, against a host without that route (an
Azure app), the status API's `historyEvents`. Every payload is redacted by the given redactor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from audit_packets.history import (
    ACTOR_KEYS,
    CUSTOM_STATUS_NOTE,
    FORMAT,
    Redactor,
    actor_of,
    packet_from_history,
)
from ops.durable_client import DurableClient, OpsError

__all__ = [
    "ACTOR_KEYS",
    "CUSTOM_STATUS_NOTE",
    "FORMAT",
    "Redactor",
    "actor_of",
    "build_packet",
]


def build_packet(
    client: DurableClient,
    instance_id: str,
    redactor: Redactor,
    *,
    depth: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The audit packet of one instance, with its sub-orchestrations' packets nested."""
    status = client.status(instance_id, show_history=True, show_history_output=True, show_input=True)
    try:
        raw = client.raw_history(instance_id)
    except OpsError:
        raw = None
    packet = packet_from_history({"instanceId": instance_id} | dict(status), redactor, raw_history=raw)
    for child in packet["subOrchestrations"]:
        child_id = child.get("instanceId")
        if child_id and depth < 10:
            try:
                child["packet"] = build_packet(client, str(child_id), redactor, depth=depth + 1, now=now)
            except OpsError as error:
                child["packet"] = None
                packet["notes"].append(f"sub-orchestration {child_id} could not be read: {error}")
    if depth == 0:
        packet["generatedAt"] = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        packet["source"] = client.base_url
    return packet
