"""Durable storage of the devhost in Azure Blob Storage (Azurite locally).

Layout, one container per task hub (`dh-<hub>`):
- `instances/<id>`          block blob: the instance document (status, input, output, custom status,
                            current execution). Blob metadata carries the query fields.
- `logs/<id>/<execution>`   append blob: the write-ahead log of one execution. Each line is a record:
                            `msg` (a message accepted for the instance) or `ep` (an episode: the
                            history events it appended and the message ids it consumed).
- `entities/<id>`           append blob: an entity's log (`op` records and `batch` results).
- `large/<uuid>`            block blob holding a record too big for one append (claim check).
- `clock`                   the virtual clock's current time.
History lives in host memory; the logs are read back only when the host recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from aiohttp import ClientSession, TCPConnector
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.blob.aio import BlobClient, BlobServiceClient, ContainerClient

# An append block may hold at most 4 MiB; bigger records go to their own blob.
LARGE_RECORD_BYTES = 1024 * 1024
BLOB_CLIENT_CACHE = 4096

Record = dict[str, Any]


class StorageUnavailableError(Exception):
    """Azurite / the storage account cannot be reached."""


def blob_safe(identifier: str) -> str:
    """Percent-encode an id for a blob name; per-character, so prefixes stay prefixes."""
    return quote(identifier, safe="")


@dataclass
class _PendingAppend:
    payload: bytes
    done: asyncio.Future[None]


@dataclass
class _AppendQueue:
    """Group commit: appends that arrive while one is in flight go out together in the next call."""

    pending: list[_PendingAppend] = field(default_factory=list)
    flushing: bool = False


class BlobStore:
    """All storage operations of the devhost."""

    def __init__(self, connection_string: str, hub_name: str, connection_setting: str) -> None:
        self._connection_string = connection_string
        self._connection_setting = connection_setting
        self.container_name = f"dh-{hub_name.lower()}"
        self._service: BlobServiceClient | None = None
        self._container: ContainerClient | None = None
        self._append_queues: dict[str, _AppendQueue] = {}
        self._blob_clients: OrderedDict[str, BlobClient] = OrderedDict()
        self._session: ClientSession | None = None
        self.operations = 0  # storage calls made, for benchmarks

    @property
    def container(self) -> ContainerClient:
        assert self._container is not None, "BlobStore.open() was not called"
        return self._container

    async def open(self) -> None:
        """Connect and create the hub's container; raise StorageUnavailableError with advice."""
        # trust_env=False: aiohttp would otherwise read ~/.netrc and proxy variables on every request,
        # a measurable share of the host's CPU on the hot path.
        self._session = ClientSession(trust_env=False, connector=TCPConnector(limit=64))
        transport = AioHttpTransport(session=self._session, session_owner=False)
        try:
            self._service = BlobServiceClient.from_connection_string(
                self._connection_string,
                retry_total=2,
                connection_timeout=5,
                read_timeout=30,
                transport=transport,
            )
        except ValueError as error:
            raise StorageUnavailableError(
                f"The connection string in '{self._connection_setting}' is not valid: {error}"
            ) from error
        self._container = self._service.get_container_client(self.container_name)
        await self._probe_endpoint()
        try:
            await self._container.create_container()
        except ResourceExistsError:
            pass
        except (ServiceRequestError, AzureError, OSError) as error:
            raise StorageUnavailableError(
                f"Cannot reach the storage account of '{self._connection_setting}' "
                f"({self._service.url}): {error.__class__.__name__}. Start Azurite "
                "(./scripts/dev starts it, or `npx azurite-blob --skipApiVersionCheck`) or fix the "
                "connection string."
            ) from error
        self.operations += 1

    async def _probe_endpoint(self) -> None:
        """Fail fast with advice when nothing listens, instead of after the SDK's retries."""
        assert self._service is not None
        endpoint = urlsplit(self._service.url)
        port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(endpoint.hostname, port), timeout=5)
        except (OSError, TimeoutError) as error:
            raise StorageUnavailableError(
                f"Cannot reach the storage account of '{self._connection_setting}' at "
                f"{endpoint.scheme}://{endpoint.hostname}:{port} ({error.__class__.__name__}). Start Azurite "
                "(./scripts/dev starts it, or `npx azurite-blob --skipApiVersionCheck`) or fix the "
                "connection string."
            ) from error
        writer.close()

    async def close(self) -> None:
        if self._service is not None:
            await self._service.close()
        if self._session is not None:
            await self._session.close()

    def _blob(self, name: str) -> BlobClient:
        """A cached client per blob: building one parses URLs and a pipeline, too slow per call."""
        client = self._blob_clients.get(name)
        if client is None:
            client = self.container.get_blob_client(name)
            self._blob_clients[name] = client
            if len(self._blob_clients) > BLOB_CLIENT_CACHE:
                self._blob_clients.popitem(last=False)
        else:
            self._blob_clients.move_to_end(name)
        return client

    def forget(self, *names: str) -> None:
        """Drop cached clients of blobs not needed soon (a finished instance's): ~30 KiB each."""
        for name in names:
            self._blob_clients.pop(name, None)

    @staticmethod
    def instance_name(instance_id: str) -> str:
        return f"instances/{blob_safe(instance_id)}"

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
        self.operations += 1
        async for blob in self.container.list_blobs(name_starts_with="instances/", include=["metadata"]):
            yield unquote(blob.name[len("instances/") :]), dict(blob.metadata or {})

    async def delete_instance(self, instance_id: str, execution_ids: list[str]) -> None:
        names = [f"logs/{blob_safe(instance_id)}/{execution}" for execution in execution_ids]
        names.append(f"instances/{blob_safe(instance_id)}")
        await asyncio.gather(*(self._delete(name) for name in names))

    # -- logs ----------------------------------------------------------------------------------

    @staticmethod
    def log_name(instance_id: str, execution_id: str) -> str:
        return f"logs/{blob_safe(instance_id)}/{execution_id}"

    @staticmethod
    def entity_log_name(entity_id: str) -> str:
        return f"entities/{blob_safe(entity_id)}"

    async def create_log(self, name: str, records: list[Record]) -> None:
        """Create an append blob holding the given first records (one call for the create)."""
        blob = self._blob(name)
        self.operations += 1
        with contextlib.suppress(ResourceExistsError):
            await blob.create_append_blob(if_none_match="*")
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
        blob = self._blob(name)
        try:
            while queue.pending:
                batch: list[_PendingAppend] = []
                size = 0
                while queue.pending and (not batch or size + len(queue.pending[0].payload) <= 3 * 1024**2):
                    item = queue.pending.pop(0)
                    batch.append(item)
                    size += len(item.payload)
                try:
                    self.operations += 1
                    await blob.append_block(b"".join(item.payload for item in batch))
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
        self.operations += 1
        return [blob.name async for blob in self.container.list_blobs(name_starts_with=prefix)]

    # -- small documents ---------------------------------------------------------------------

    async def write_document(self, name: str, document: Any) -> None:
        await self._upload(name, document, None)

    async def read_document(self, name: str) -> Any:
        return await self._download_json(name)

    # -- primitives ------------------------------------------------------------------------------

    async def _upload(self, name: str, document: Any, metadata: dict[str, str] | None) -> None:
        data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        await self._upload_bytes(name, data, metadata)

    async def _upload_bytes(self, name: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        self.operations += 1
        await self._blob(name).upload_blob(data, overwrite=True, metadata=metadata)

    async def _download_bytes(self, name: str) -> bytes | None:
        self.operations += 1
        try:
            stream = await self._blob(name).download_blob()
            return await stream.readall()
        except ResourceNotFoundError:
            return None

    async def _download_json(self, name: str) -> Any:
        raw = await self._download_bytes(name)
        return None if raw is None else json.loads(raw)

    async def _delete(self, name: str) -> None:
        self.operations += 1
        with contextlib.suppress(ResourceNotFoundError):
            await self._blob(name).delete_blob()
