"""Audit packets of a running app: read the history through the durable client, build, store, serve.

Used by the workflows' `GET .../audit` handlers. The status (with history, history outputs and
inputs) comes from `DurableOrchestrationClient.get_status`; the packet is built by the pure
`packet_from_history`, completed by the workflow's extras, redacted, stored as a blob with
`ClaimCheck.store_document` (`<instance id>/audit-packet.json`; a later request overwrites it
with a newer packet) and returned with the blob's reference under `document`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from audit_packets.history import loads_json, packet_from_history
from audit_packets.redaction import packet_redactor
from claim_check import JSON_CONTENT_TYPE, ClaimCheck

AUDIT_PACKET_FILE_NAME = "audit-packet.json"
PacketExtras = Callable[[dict[str, Any]], dict[str, Any]]


def status_as_dict(status: DurableOrchestrationStatus) -> dict[str, Any]:
    """The status API JSON shape of an SDK status object, `historyEvents` included.

    SDK quirk: `DurableOrchestrationStatus.from_json` keeps the status API's `historyEvents` as an
    attribute of that name; its `history` property stays None.
    """
    events = getattr(status, "historyEvents", None) or status.history or []
    return {
        "instanceId": status.instance_id,
        "name": status.name,
        "runtimeStatus": status.runtime_status.value if status.runtime_status is not None else None,
        "createdTime": _iso(status.created_time),
        "lastUpdatedTime": _iso(status.last_updated_time),
        "input": loads_json(status.input_),
        "customStatus": loads_json(status.custom_status),
        "output": loads_json(status.output),
        "historyEvents": list(events),
    }


async def read_audit_status(client: df.DurableOrchestrationClient, instance_id: str) -> dict[str, Any] | None:
    """The status of `instance_id` with its full history, or None for an unknown instance."""
    status = await client.get_status(
        instance_id, show_history=True, show_history_output=True, show_input=True
    )
    if status.runtime_status is None:
        return None
    return status_as_dict(status)


def build_audit_packet(
    status: dict[str, Any],
    *,
    workflow: str,
    extras: PacketExtras | None = None,
    extra_redact_keys: Iterable[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """The redacted packet of one instance plus the workflow's extras (redacted too)."""
    redactor = packet_redactor(extra_redact_keys)
    packet = packet_from_history(status, redactor)
    packet["workflow"] = workflow
    if extras is not None:
        packet.update(redactor(extras(packet)))
    packet["generatedAt"] = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return packet


def store_audit_packet(packet: dict[str, Any], claim_check: ClaimCheck | None = None) -> dict[str, Any]:
    """Store the packet as `<instance id>/audit-packet.json` and return it with `document` (the reference)."""
    store = claim_check or ClaimCheck.from_settings()
    content = json.dumps(packet, indent=2, ensure_ascii=False).encode()
    reference = store.store_document(
        str(packet["instance"]["instanceId"]), AUDIT_PACKET_FILE_NAME, content, JSON_CONTENT_TYPE
    )
    return packet | {"document": reference.to_dict()}


async def publish_audit_packet(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    *,
    workflow: str,
    extras: PacketExtras | None = None,
    extra_redact_keys: Iterable[str] = (),
) -> dict[str, Any] | None:
    """Read, build, store and return the packet of `instance_id`; None when the instance is unknown."""
    status = await read_audit_status(client, instance_id)
    if status is None:
        return None
    packet = build_audit_packet(status, workflow=workflow, extras=extras, extra_redact_keys=extra_redact_keys)
    return await asyncio.to_thread(store_audit_packet, packet)  # blob I/O stays off the event loop


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
