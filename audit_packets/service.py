"""Audit evidence of a running app: what the workflows' endpoints, the console and the seal activity use.

- `read_audit_status(client, id)`: the status with full history, inputs and outputs (durable client).
- `current_evidence(client, id, profile)`: the sealed packet of the instance's latest execution as
  stored (bytes and blob version), or, for an instance that is not sealed, an interim snapshot built
  from history and clearly marked as such. Reads never write: nothing is stored on a read. After a
  purge the sealed packet is still found (the audit container is not the task hub).
- `seal_instance(client, request, profile)`: read the history and seal (audit_packets.sealing), in a
  worker thread for the blocking storage and Key Vault calls. While the runtime has not yet stored
  the sealing episode's history it polls for up to `SEAL_WAIT_SECONDS`, then lets the activity retry.
- `trusted_public_keys()`: the app's own public signing keys (cached), for the JWK set it publishes
  and for checking each sealed packet it serves.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from audit_packets.case_report import CaseProfile
from audit_packets.history import loads_json
from audit_packets.sealed_store import SealedStore, StoredBlob, execution_label
from audit_packets.sealing import (
    HistoryNotStoredYetError,
    SealRequest,
    SealResult,
    interim_envelope,
    seal_from_status,
)
from audit_packets.signing import signer_from_settings
from audit_packets.verification import Verification, verify_sealed_bytes
from durable_wire import TERMINAL_STATUSES

SEAL_WAIT_SECONDS = 20.0
PUBLIC_KEYS_CACHE_SECONDS = 600.0
_keys_lock = threading.Lock()
# (fetched at, keys): the app's public keys, kept for PUBLIC_KEYS_CACHE_SECONDS
_keys_cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}


@dataclass(frozen=True)
class Evidence:
    """An instance's audit evidence: its sealed envelope as stored, or an interim snapshot."""

    instance_id: str
    profile: CaseProfile | None
    stored: StoredBlob | None = None
    container: str | None = None
    interim: dict[str, Any] | None = None

    @property
    def sealed(self) -> bool:
        """Whether this is the sealed record."""
        return self.stored is not None

    @property
    def envelope(self) -> dict[str, Any]:
        """The sealed envelope (parsed) or the interim one."""
        if self.stored is not None:
            parsed: dict[str, Any] = json.loads(self.stored.content)
            return parsed
        return dict(self.interim or {})

    def stored_reference(self) -> dict[str, Any] | None:
        """Where the sealed packet is (container, blob, version), for the report's verification block."""
        if self.stored is None:
            return None
        return {"container": self.container, "blob": self.stored.name, "version": self.stored.version}


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


def sealed_for(store: SealedStore, instance_id: str, status: Mapping[str, Any] | None) -> StoredBlob | None:
    """The sealed packet to serve: the latest execution's when the instance is gone (purged), else the
    current execution's when it has finished."""
    if status is None:
        latest = store.latest_packet_name(instance_id)
    else:
        if str(status.get("runtimeStatus")) not in TERMINAL_STATUSES:
            return None  # running again (e.g. rewound after an operator sealed its failure)
        latest = store.latest_packet_name(instance_id, execution_label(str(status.get("createdTime") or "")))
    return store.read(latest[1]) if latest is not None else None


async def current_evidence(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    profile: CaseProfile | None,
    *,
    now: datetime | None = None,
) -> Evidence | None:
    """The sealed packet, else an interim snapshot; None when neither the instance nor a packet exists."""
    status = await read_audit_status(client, instance_id)
    store = SealedStore.from_settings()
    stored = await asyncio.to_thread(sealed_for, store, instance_id, status)
    if stored is not None:
        return Evidence(instance_id, profile, stored=stored, container=store.container_name)
    if status is None:
        return None
    workflow = profile.workflow.name if profile else str(status.get("name") or "unknown")
    envelope = await asyncio.to_thread(interim_envelope, status, profile, workflow=workflow, now=now)
    return Evidence(instance_id, profile, interim=envelope)


async def seal_instance(
    client: df.DurableOrchestrationClient,
    request: SealRequest,
    profile: CaseProfile | None,
    *,
    wait_seconds: float = SEAL_WAIT_SECONDS,
) -> SealResult | None:
    """Seal `request.instance_id`; None when the instance is unknown."""
    deadline = time.monotonic() + wait_seconds
    pause = 0.1
    store = SealedStore.from_settings()
    signer = signer_from_settings()
    while True:
        status = await read_audit_status(client, request.instance_id)
        if status is None:
            return None
        try:
            return await asyncio.to_thread(
                seal_from_status, status, profile, request, store=store, signer=signer
            )
        except HistoryNotStoredYetError:
            if time.monotonic() >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)


def trusted_public_keys() -> list[dict[str, Any]]:
    """The app's public signing keys (JWKs with `kid`), cached for ten minutes."""
    with _keys_lock:
        cached = _keys_cache.get("keys")
        if cached is not None and time.monotonic() - cached[0] < PUBLIC_KEYS_CACHE_SECONDS:
            return list(cached[1])
    keys = signer_from_settings().public_keys()
    with _keys_lock:
        _keys_cache["keys"] = (time.monotonic(), keys)
    return list(keys)


def verify_stored(stored: StoredBlob) -> Verification:
    """Check a stored sealed packet against the app's own public keys (a key not found is re-read once).

    When the keys cannot be read (vault unreachable, no key configured) the result says the packet
    was not checked instead of failing the read: the packet is served either way.
    """
    try:
        keys = trusted_public_keys()
    except Exception as error:  # any failure to read the keys only means "not checked"
        result = Verification()
        result.problems.append(f"not checked: the signing keys could not be read ({type(error).__name__})")
        return result
    result = verify_sealed_bytes(stored.content, keys)
    if not result.ok and any("not a trusted key" in problem for problem in result.problems):
        with _keys_lock:
            _keys_cache.clear()  # a key rotated since the cache was filled
        result = verify_sealed_bytes(stored.content, trusted_public_keys())
    if stored.later_versions:
        result.warnings.append(
            f"{stored.later_versions} later version(s) of this blob exist; the first (sealed) one is served"
        )
    return result


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # Microseconds kept: the report orders and times the case against history timestamps.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
