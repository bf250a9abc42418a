"""What this host wrote recently, and the repair after storage lost acknowledged writes.

Azurite, disk-backed, loses up to 5 s of acknowledged writes when it is killed (its metadata is
saved every 5 s). So every write of the last `JOURNAL_SECONDS` is kept here, and when storage
answers again after an outage, what it lost is checked and rewritten before writes resume.
Appends carry the append position they expect (`appendpos_condition`), so a retry of an append
whose answer was lost is recognised (the bytes are there) instead of being written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from devhost.storage_calls import StorageCalls, StorageFatalError, container_gone, error_code, transient

log = logging.getLogger("devhost.store")

# What was written in this window is rewritten if storage lost it (Azurite saves every 5 s).
JOURNAL_SECONDS = 30.0
# The check and rewrite after an outage; if storage goes away again meanwhile, the next probe retries.
REPAIR_LIMIT_SECONDS = 120.0


@dataclass
class JournalEntry:
    at: float
    offset: int
    data: bytes


class JournaledStorage(StorageCalls):
    """Storage calls that remember what they wrote, to restore it after storage lost it."""

    def __init__(self, connection_string: str, hub_name: str, connection_setting: str) -> None:
        super().__init__(connection_string, hub_name, connection_setting)
        self.repairs = 0
        # What this process wrote recently, to rewrite what a storage restart lost.
        self._sizes: dict[str, int] = {}
        self._journal: dict[str, list[JournalEntry]] = {}
        self._created: dict[str, float] = {}
        self._documents: dict[str, tuple[float, bytes, dict[str, str] | None]] = {}
        self._deleted: dict[str, float] = {}
        # Appends sent but not yet acknowledged (position, bytes): storage may hold them already.
        self._in_flight: dict[str, tuple[int, bytes]] = {}

    async def probe(self, probe_call: Callable[[], Awaitable[None]], limit_seconds: float) -> bool:
        """Run one health probe (the hub lease's renewal); after an outage, repair before writes resume."""
        try:
            await asyncio.wait_for(probe_call(), limit_seconds)
        except StorageFatalError as error:
            self.die(str(error))
            return False
        except Exception as error:
            if isinstance(error, ResourceNotFoundError) and error_code(error) in (
                "ContainerNotFound",
                "BlobNotFound",
            ):
                self.die(self.hub_vanished_message())
                return False
            if transient(error):
                self.mark_unavailable(error)
                return False
            raise
        if not self.available.is_set():
            await self._recover_after_outage()
        else:
            self.prune_journal()
        return True

    def prune_journal(self) -> None:
        """Forget writes older than the journal window (only while storage answers)."""
        if not self.available.is_set():
            return
        horizon = time.monotonic() - JOURNAL_SECONDS
        for name in list(self._journal):
            entries = self._journal[name]
            self._prune(entries)
            if not entries:
                del self._journal[name]
        for table in (self._created, self._deleted):
            for name in [n for n, at in table.items() if at < horizon]:
                del table[name]
        for name in [n for n, (at, _, _) in self._documents.items() if at < horizon]:
            del self._documents[name]

    async def _recover_after_outage(self) -> None:
        outage = time.monotonic() - (self._outage_started or time.monotonic())
        try:
            await asyncio.wait_for(self.repair(), REPAIR_LIMIT_SECONDS)
        except StorageFatalError as error:
            self.die(str(error))
            return
        except Exception as error:
            if transient(error):
                return  # still away: the next probe tries again
            raise
        self.available.set()
        if self.lease_valid():
            self._writable.set()
        log.warning("storage available again after %.1f s", outage)

    def _appended(self, name: str, position: int, data: bytes) -> None:
        self._sizes[name] = position + len(data)
        entries = self._journal.setdefault(name, [])
        entries.append(JournalEntry(time.monotonic(), position, data))
        self._prune(entries)

    def _prune(self, entries: list[JournalEntry]) -> None:
        # Only while storage answers: during an outage, everything since it began may be needed.
        if not self.available.is_set():
            return
        horizon = time.monotonic() - JOURNAL_SECONDS
        while entries and entries[0].at < horizon:
            entries.pop(0)

    async def _holds(self, name: str, position: int, data: bytes) -> bool:
        async def read() -> bytes:
            stream = await self._blob(name).download_blob(offset=position, length=len(data))
            return bytes(await stream.readall())

        return await self._call(read, write=False) == data

    # -- repair after storage lost writes ------------------------------------------------------

    async def repair(self) -> None:
        """Rewrite what this host wrote in the last `JOURNAL_SECONDS` and storage no longer holds."""
        restored = 0
        for name in list(self._journal):
            expected = self._sizes.get(name)
            if expected is None:
                continue
            size = await self._raw_size(name)
            in_flight = self._in_flight.get(name)
            if in_flight is not None and size == in_flight[0] + len(in_flight[1]):
                continue  # an append whose answer was lost landed: its retry sees that and goes on
            if size is not None and size > expected:
                raise StorageFatalError(
                    f"log {name} of task hub '{self.hub_name}' is {size} bytes, this host wrote {expected}: "
                    "another host writes this hub. Stopping."
                )
            if size is not None and size == expected:
                continue
            restored += await self._restore_log(name, size)
        # Documents are overwritten with their latest content whether lost or not (cheaper than
        # comparing them; this host is the hub's only writer).
        for name, (_, data, metadata) in list(self._documents.items()):
            self.operations += 1
            await self._blob(name).upload_blob(data, overwrite=True, metadata=metadata)
        for name in list(self._deleted):
            self.operations += 1
            with contextlib.suppress(ResourceNotFoundError):
                await self._blob(name).delete_blob()
        if restored:
            self.repairs += 1
            log.warning(
                "storage lost acknowledged appends: %d logs restored from this host's journal", restored
            )
        log.warning("after the outage: %d recent documents written again", len(self._documents))

    async def _restore_log(self, name: str, size: int | None) -> int:
        """Bring log `name` (now `size` bytes, None when missing) back to what this host wrote."""
        expected = self._sizes.get(name, 0)
        entries = self._journal.get(name, [])
        start = 0 if size is None else size
        missing = [entry for entry in entries if entry.offset >= start]
        covered = (missing[0].offset == start) if missing else start >= expected
        if size is None and name not in self._created and not (missing and missing[0].offset == 0):
            covered = False
        if not covered:
            raise StorageFatalError(
                f"Storage of task hub '{self.hub_name}' (setting '{self.connection_setting}') lost "
                f"writes of log {name} older than this host's {JOURNAL_SECONDS:.0f} s journal "
                f"(now {start} bytes, expected {expected}). Stopping: restore the storage."
            )
        blob = self._blob(name)
        if size is None:
            self.operations += 1
            with contextlib.suppress(ResourceExistsError):
                await blob.create_append_blob(if_none_match="*")
        for entry in missing:
            self.operations += 1
            try:
                await blob.append_block(entry.data, appendpos_condition=entry.offset)
            except HttpResponseError as error:
                if error.status_code != 412 or not await self._holds(name, entry.offset, entry.data):
                    raise
        return 1 if missing or size is None else 0

    async def _raw_size(self, name: str) -> int | None:
        self.operations += 1
        try:
            properties = await self._blob(name).get_blob_properties()
        except ResourceNotFoundError as error:
            if container_gone(error):
                raise StorageFatalError(self.hub_vanished_message()) from error
            return None
        return int(properties.size)

    def _remember_document(self, name: str, data: bytes, metadata: dict[str, str] | None) -> None:
        self._documents[name] = (time.monotonic(), data, metadata)
        self._deleted.pop(name, None)

    # -- primitives ------------------------------------------------------------------------------

    async def _upload(self, name: str, document: Any, metadata: dict[str, str] | None) -> None:
        data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        await self._upload_bytes(name, data, metadata)

    async def _upload_bytes(self, name: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        blob = self._blob(name)

        async def upload() -> None:
            await blob.upload_blob(data, overwrite=True, metadata=metadata)

        await self._call(upload, write=True, what=f"writing {name}")
        self._remember_document(name, data, metadata)

    async def _download_bytes(self, name: str) -> bytes | None:
        async def download() -> bytes | None:
            try:
                stream = await self._blob(name).download_blob()
                return bytes(await stream.readall())
            except ResourceNotFoundError as error:
                if container_gone(error):
                    raise
                return None

        return await self._call(download, write=False, what=f"reading {name}")

    async def _download_json(self, name: str) -> Any:
        raw = await self._download_bytes(name)
        return None if raw is None else json.loads(raw)

    async def _delete(self, name: str) -> None:
        async def delete() -> None:
            with contextlib.suppress(ResourceNotFoundError):
                await self._blob(name).delete_blob()

        await self._call(delete, write=True)
        self._documents.pop(name, None)
        self._journal.pop(name, None)
        self._sizes.pop(name, None)
        self._deleted[name] = time.monotonic()
