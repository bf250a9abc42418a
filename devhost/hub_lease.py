"""One host per task hub: a blob lease on the hub's marker (`hub.json`).

Two hosts on one hub would both run every instance (two terminals started the same app): each
would complete it, message customers twice and contradict the other. So:
- At start the host takes a `LEASE_SECONDS` lease on the marker and writes who it is into the
  marker's metadata (host name, pid, port, start time).
- It renews the lease every `RENEW_SECONDS`; the renewal is also the storage health probe
  (`BlobStore.probe`).
- A second host finds the lease taken. It waits up to `--lease-wait` seconds for the lease to end:
  a holder that stops releases it; one that crashed lets it expire (`LEASE_SECONDS`), or at once
  when it was a process on this machine that no longer runs. Otherwise it stops with a message
  naming the hub and the holder.
- A host that could not renew for most of the lease's length stops writing until it renews (the
  lease may have gone to another host); one whose lease another host took stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob.aio import BlobLeaseClient

from devhost.blob_names import HUB_MARKER
from devhost.storage_calls import StorageFatalError
from devhost.store import BlobStore

log = logging.getLogger("devhost.lease")

LEASE_SECONDS = 15  # Blob Storage allows 15-60 s (or infinite)
RENEW_SECONDS = 2.0
PROBE_SECONDS = 2.5  # a renewal that takes longer counts as storage not answering
# Stop writing this long after the last renewal: well before the lease can have expired.
WRITE_MARGIN_SECONDS = 4.0
DEFAULT_WAIT_SECONDS = LEASE_SECONDS + 5


class HubTakenError(Exception):
    """Another host holds the task hub (the message names the hub and the holder)."""


@dataclass(frozen=True)
class Holder:
    """Who holds the hub, as written into the marker's metadata."""

    host: str
    pid: int
    port: int
    started: str

    @classmethod
    def this_process(cls, port: int) -> Holder:
        return cls(socket.gethostname(), os.getpid(), port, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def metadata(self) -> dict[str, str]:
        return {
            "holderhost": self.host,
            "holderpid": str(self.pid),
            "holderport": str(self.port),
            "holdersince": self.started,
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> Holder | None:
        try:
            host, since = metadata["holderhost"], metadata["holdersince"]
            return cls(host, int(metadata["holderpid"]), int(metadata["holderport"]), since)
        except (KeyError, ValueError):
            return None

    def describe(self) -> str:
        return f"devhost pid {self.pid} on {self.host}, port {self.port}, since {self.started}"

    def gone(self) -> bool:
        """A process of this machine that no longer runs (its lease can be broken at once)."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


class HubLease:
    """The lease of one host on its task hub."""

    def __init__(self, store: BlobStore, holder: Holder) -> None:
        self._store = store
        self._holder = holder
        self._marker = store.container.get_blob_client(HUB_MARKER)
        self._lease = BlobLeaseClient(self._marker, lease_id=str(uuid.uuid4()))
        self._renewed_at = 0.0
        self._stopped = False
        store.lease_valid = self.valid

    def stopped(self) -> bool:
        return self._stopped

    def valid(self) -> bool:
        """Whether this host may still write (renewed recently enough)."""
        return time.monotonic() - self._renewed_at < LEASE_SECONDS - WRITE_MARGIN_SECONDS

    def _where(self) -> str:
        return (
            f"task hub '{self._store.hub_name}' (container {self._store.container_name} in the storage "
            f"account of '{self._store.connection_setting}')"
        )

    async def acquire(self, wait_seconds: float, say: Callable[[str], None]) -> None:
        """Take the hub's lease, waiting up to `wait_seconds` for another holder; HubTakenError otherwise."""
        deadline = time.monotonic() + wait_seconds
        announced = False
        while True:
            try:
                await self._lease.acquire(lease_duration=LEASE_SECONDS)
                break
            except HttpResponseError as error:
                if error.status_code != 409:
                    raise
            holder = await self._current_holder()
            if holder is not None and holder.gone():
                log.warning("breaking the hub lease of %s: that process no longer runs", holder.describe())
                with contextlib.suppress(HttpResponseError):
                    await BlobLeaseClient(self._marker).break_lease(lease_break_period=0)
                continue
            who = holder.describe() if holder else "another host"
            if time.monotonic() >= deadline:
                raise HubTakenError(
                    f"{self._where()} is held by {who}. Two hosts on one hub would both run every "
                    "instance: stop that host, or give this one its own hub (TASKHUB_NAME / host.json "
                    "hubName)."
                )
            if not announced:
                say(f"devhost: {self._where()} is held by {who}; waiting up to {wait_seconds:.0f} s for it")
                announced = True
            await asyncio.sleep(1.0)
        self._renewed_at = time.monotonic()
        await self._marker.set_blob_metadata(self._holder.metadata(), lease=self._lease)

    async def _current_holder(self) -> Holder | None:
        with contextlib.suppress(ResourceNotFoundError):
            properties = await self._marker.get_blob_properties()
            return Holder.from_metadata(dict(properties.metadata or {}))
        return None

    async def renew(self) -> None:
        """Renew (re-take a lapsed lease nobody else took); StorageFatalError when another host has it."""
        try:
            await self._lease.renew()
        except HttpResponseError as error:
            if error.status_code not in (409, 412):
                raise
            try:
                await self._lease.acquire(lease_duration=LEASE_SECONDS)
            except HttpResponseError as again:
                if again.status_code not in (409, 412):
                    raise
                holder = await self._current_holder()
                raise StorageFatalError(
                    f"{self._where()} was taken over by {holder.describe() if holder else 'another host'} "
                    "while this host could not renew its lease: stopping so that only one host runs the hub."
                ) from again
            await self._marker.set_blob_metadata(self._holder.metadata(), lease=self._lease)
            log.warning("re-took the hub lease after it lapsed (nobody else had taken it)")
        self._renewed_at = time.monotonic()

    async def run(self) -> None:
        """Renew (and probe storage) every `RENEW_SECONDS` until stopped; fence writes when overdue."""
        while True:
            await asyncio.sleep(RENEW_SECONDS if self._store.available.is_set() else 0.5)
            if self.stopped():
                return
            try:
                healthy = await self._store.probe(self.renew, PROBE_SECONDS)
            except Exception:  # an unexpected answer: keep renewing; writes stop if it persists
                log.exception("hub lease renewal failed")
                healthy = False
            self._store.set_writable(healthy and self.valid())

    async def release(self) -> None:
        """Give the hub up (a clean stop), so the next host starts at once."""
        self._stopped = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._lease.release(), 5)
