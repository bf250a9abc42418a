"""Durable storage of the devhost in Azure Blob Storage (Azurite locally).

Layout, one container per task hub (`dh-<hub>`):
- `hub.json`                the hub's marker: written when the hub is created, leased by the one host
                            that runs the hub (devhost/hub_lease.py), its metadata names that host.
- `instances/<id>`          block blob: the instance document (status, input, output, custom status,
                            current execution). Blob metadata carries the query fields.
- `logs/<id>/<execution>`   append blob: the write-ahead log of one execution. Each line is a record:
                            `msg` (a message accepted for the instance) or `ep` (an episode: the
                            history events it appended and the message ids it consumed).
- `entities/<id>`           append blob: an entity's log (`op` records and `batch` results).
- `large/<uuid>`            block blob holding a record too big for one append (claim check).
- `clock`                   the virtual clock's current time.
History lives in host memory; the logs are read back only when the host recovers.

Three layers, each a module (docs/devhost.md, "Storage faults"):
- devhost.storage_calls  the connection to the hub's container, the health gate (503 while storage
                         is away, a vanished hub is fatal) and the retry loop every call goes through;
- devhost.write_journal  what this host wrote in the last `JOURNAL_SECONDS`, rewritten after an
                         outage where storage lost it (Azurite loses up to 5 s when killed);
- devhost.store          (here) the hub's data: instance documents, append-only logs with group
                         commit and exactly-once appends (`appendpos_condition`), small documents.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from devhost import blob_names
from devhost.blob_names import Record, blob_safe
from devhost.storage_calls import LISTING_LIMIT_SECONDS, StorageFatalError, container_gone
from devhost.write_journal import JournaledStorage

log = logging.getLogger("devhost.store")

# An append block may hold at most 4 MiB; bigger records go to their own blob.
LARGE_RECORD_BYTES = 1024 * 1024


@dataclass
class _PendingAppend:
    payload: bytes
    done: asyncio.Future[None]


@dataclass
class _AppendQueue:
    """Group commit: appends that arrive while one is in flight go out together in the next call."""

    pending: list[_PendingAppend] = field(default_factory=list)
    flushing: bool = False


class BlobStore(JournaledStorage):
    """All storage operations of the devhost: the hub's instance documents, logs and documents."""

    def __init__(self, connection_string: str, hub_name: str, connection_setting: str) -> None:
        super().__init__(connection_string, hub_name, connection_setting)
        self._append_queues: dict[str, _AppendQueue] = {}

    instance_name = staticmethod(blob_names.instance_name)

    # -- instance documents ------------------------------------------------------------------

    async def write_instance(self, instance_id: str, document: dict[str, Any]) -> None:
        metadata = {
            "runtimestatus": str(document["runtimeStatus"]),
            "createdtime": str(document["createdTime"]),
        }
        await self._upload(f"instances/{blob_safe(instance_id)}", document, metadata)

    async def read_instance(self, instance_id: str) -> dict[str, Any] | None:
        document = await self._download_json(f"instances/{blob_safe(instance_id)}")
        return dict(document) if document is not None else None

    async def list_instances(self) -> AsyncIterator[tuple[str, dict[str, str]]]:
        """(instance id, metadata) of every instance document."""

        async def listing() -> list[tuple[str, dict[str, str]]]:
            return [
                (unquote(blob.name[len("instances/") :]), dict(blob.metadata or {}))
                async for blob in self.container.list_blobs(
                    name_starts_with="instances/", include=["metadata"]
                )
            ]

        for item in await self._call(
            listing, write=False, what="listing the instances", limit_seconds=LISTING_LIMIT_SECONDS
        ):
            yield item

    async def delete_instance(self, instance_id: str, execution_ids: list[str]) -> None:
        names = [f"logs/{blob_safe(instance_id)}/{execution}" for execution in execution_ids]
        names.append(f"instances/{blob_safe(instance_id)}")
        await asyncio.gather(*(self._delete(name) for name in names))

    # -- logs ----------------------------------------------------------------------------------

    log_name = staticmethod(blob_names.log_name)
    entity_log_name = staticmethod(blob_names.entity_log_name)

    async def create_log(self, name: str, records: list[Record]) -> None:
        """Create an append blob holding the given first records (one call for the create)."""
        blob = self._blob(name)

        async def create() -> bool:
            try:
                await blob.create_append_blob(if_none_match="*")
            except ResourceExistsError:
                return False
            return True

        if await self._call(create, write=True, what=f"creating {name}"):
            self._sizes[name] = 0
            self._created[name] = time.monotonic()
            self._journal.setdefault(name, [])
        if records:
            await self.append(name, records)

    async def append(self, name: str, records: list[Record]) -> None:
        """Durably append records; concurrent calls for one blob are committed together."""
        payload = await self._encode_records(records)
        queue = self._append_queues.setdefault(name, _AppendQueue())
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.pending.append(_PendingAppend(payload, done))
        if not queue.flushing:
            queue.flushing = True
            asyncio.get_running_loop().create_task(self._flush(name, queue))
        await done

    async def _flush(self, name: str, queue: _AppendQueue) -> None:
        try:
            while queue.pending:
                batch: list[_PendingAppend] = []
                size = 0
                while queue.pending and (not batch or size + len(queue.pending[0].payload) <= 3 * 1024**2):
                    item = queue.pending.pop(0)
                    batch.append(item)
                    size += len(item.payload)
                try:
                    await self._append_at_position(name, b"".join(item.payload for item in batch))
                except Exception as error:
                    for item in batch:
                        if not item.done.done():
                            item.done.set_exception(error)
                    continue
                for item in batch:
                    if not item.done.done():
                        item.done.set_result(None)
        finally:
            queue.flushing = False
            if not queue.pending:
                self._append_queues.pop(name, None)

    async def _append_at_position(self, name: str, data: bytes) -> None:
        """Append `data` exactly once at the end this host knows, retrying until it is there."""
        blob = self._blob(name)
        while True:
            position = self._sizes.get(name)
            if position is None:
                found = await self._current_size(name)
                if found < 0:
                    raise StorageFatalError(
                        f"log {name} of task hub '{self.hub_name}' is missing from the storage of "
                        f"'{self.connection_setting}'. Stopping: restore the storage."
                    )
                position = self._sizes.setdefault(name, found)

            async def attempt(at: int = position) -> bool:
                try:
                    await blob.append_block(data, appendpos_condition=at)
                except (ResourceModifiedError, HttpResponseError) as error:
                    if container_gone(error):
                        raise
                    if getattr(error, "status_code", None) not in (404, 412):
                        raise
                    return False  # the blob is not the length we expect (or gone): find out why
                return True

            self._in_flight[name] = (position, data)
            try:
                landed = await self._call(attempt, write=True, what=f"an append to {name}")
            finally:
                self._in_flight.pop(name, None)
            if landed:
                self._appended(name, position, data)
                return
            size = await self._current_size(name)
            if size == position + len(data) and await self._holds(name, position, data):
                self._appended(name, position, data)  # an earlier try landed; its answer was lost
                return
            if size < position:
                # Storage lost acknowledged appends (a storage process killed and restarted):
                # rewrite them from the journal before going on.
                await self._restore_log(name, None if size < 0 else size)
                continue
            raise StorageFatalError(
                f"log {name} of task hub '{self.hub_name}' is {size} bytes, this host expected {position}: "
                "another host writes this hub. Stopping."
            )

    async def _current_size(self, name: str) -> int:
        """The blob's length, or -1 when it does not exist."""

        async def size() -> int:
            try:
                properties = await self._blob(name).get_blob_properties()
            except ResourceNotFoundError as error:
                if container_gone(error):
                    raise
                return -1
            return int(properties.size)

        return await self._call(size, write=False)

    async def _encode_records(self, records: list[Record]) -> bytes:
        lines: list[bytes] = []
        for record in records:
            line = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
            if len(line) > LARGE_RECORD_BYTES:
                reference = f"large/{uuid.uuid4().hex}"
                await self._upload_bytes(reference, line)
                line = json.dumps({"t": "large", "blob": reference}).encode()
            lines.append(line + b"\n")
        return b"".join(lines)

    async def read_log(self, name: str) -> list[Record] | None:
        """All records of a log (claim-checked ones fetched), or None if the log does not exist."""
        raw = await self._download_bytes(name)
        if raw is None:
            return None
        self._sizes.setdefault(name, len(raw))
        records: list[Record] = []
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn write at the very end of the log: nothing was acknowledged for it
            if record.get("t") == "large":
                payload = await self._download_bytes(str(record["blob"]))
                if payload is None:
                    continue
                record = json.loads(payload)
            records.append(record)
        return records

    async def delete_blob(self, name: str) -> None:
        await self._delete(name)

    async def list_names(self, prefix: str) -> list[str]:
        async def listing() -> list[str]:
            return [blob.name async for blob in self.container.list_blobs(name_starts_with=prefix)]

        return await self._call(
            listing, write=False, what=f"listing {prefix}", limit_seconds=LISTING_LIMIT_SECONDS
        )

    # -- small documents ---------------------------------------------------------------------

    async def write_document(self, name: str, document: Any) -> None:
        await self._upload(name, document, None)

    async def read_document(self, name: str) -> Any:
        return await self._download_json(name)
