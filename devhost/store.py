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

Storage faults (docs/devhost.md, "Storage faults"):
- Every call has a timeout and is retried with exponential backoff and jitter until it succeeds:
  an episode commit is never dropped. Appends carry the append position they expect
  (`appendpos_condition`), so a retry of an append whose answer was lost is recognised (the bytes
  are there) instead of being written twice.
- A failed call marks storage unavailable (`available` is cleared) until a probe answers again;
  HTTP requests that need storage meanwhile answer 503 with Retry-After (`within_request_deadline`).
- When storage answers again after an outage, what this host wrote in the last `JOURNAL_SECONDS`
  is checked and rewritten where storage lost it: Azurite, disk-backed, loses up to 5 s of
  acknowledged writes when it is killed (its metadata is saved every 5 s). Writes wait until the
  check is done.
- A hub whose container or marker disappears while the host runs (storage came back empty) is
  fatal: `fatal` carries a message naming the setting and the host stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp import ClientSession, TCPConnector
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.blob.aio import BlobClient, BlobServiceClient, ContainerClient, ExponentialRetry

from devhost import blob_names
from devhost.blob_names import HUB_MARKER, Record, blob_safe

log = logging.getLogger("devhost.store")

# An append block may hold at most 4 MiB; bigger records go to their own blob.
LARGE_RECORD_BYTES = 1024 * 1024
BLOB_CLIENT_CACHE = 4096

# One try of a storage call: a live Azurite answers in milliseconds, a busy one in well under 10 s.
# (The hub lease's renewal, which is also the health probe, has its own shorter limit.)
CONNECTION_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10
# A whole try (waiting for a pooled connection, sending, reading) never takes longer than this.
TRY_LIMIT_SECONDS = 20.0
# Listing every instance of a big hub takes longer than one ordinary call.
LISTING_LIMIT_SECONDS = 300.0
SLOW_CALL_WARNING_SECONDS = 30.0
# The check and rewrite after an outage; if storage goes away again meanwhile, the next probe retries.
REPAIR_LIMIT_SECONDS = 120.0
# Our own retries (the SDK makes none): 0.2 s doubling to 5 s, ± 25 % jitter, no limit.
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0
# How long a request waits for storage that is known to be away before it is answered 503.
REQUEST_GRACE_SECONDS = 1.0
# A request never waits longer than this for storage, away or not.
REQUEST_DEADLINE_SECONDS = 20.0
RETRY_AFTER_SECONDS = 5
# What was written in this window is rewritten if storage lost it (Azurite saves every 5 s).
JOURNAL_SECONDS = 30.0
# At start, storage must answer within this (a process that accepts connections and never answers
# would otherwise hang the start for minutes); `python -m devhost start --storage-timeout`.
OPEN_TIMEOUT_SECONDS = 15.0

T = TypeVar("T")


class StorageUnavailableError(Exception):
    """Azurite / the storage account cannot be reached (the message says what to do)."""


class StorageFatalError(Exception):
    """The hub cannot be trusted any more (it vanished, or lost more than the journal can restore)."""


def _transient(error: BaseException) -> bool:
    """A failure worth retrying: no answer, a broken connection, a timeout, or a 5xx/408/429."""
    if isinstance(error, ServiceRequestError | ServiceResponseError | aiohttp.ClientError | OSError):
        return True
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return True
    if isinstance(error, HttpResponseError) and error.status_code in (408, 429, 500, 502, 503, 504):
        return True
    return isinstance(error, AzureError) and not isinstance(error, HttpResponseError)


def _container_gone(error: BaseException) -> bool:
    return isinstance(error, ResourceNotFoundError) and _error_code(error) == "ContainerNotFound"


def _error_code(error: BaseException) -> str:
    return str(getattr(error, "error_code", "") or "")


@dataclass(frozen=True)
class HubInfo:
    """What `open` found: whether the hub's container was created just now, and when the hub began."""

    created: bool
    created_at: str


@dataclass
class _PendingAppend:
    payload: bytes
    done: asyncio.Future[None]


@dataclass
class _AppendQueue:
    """Group commit: appends that arrive while one is in flight go out together in the next call."""

    pending: list[_PendingAppend] = field(default_factory=list)
    flushing: bool = False


@dataclass
class _JournalEntry:
    at: float
    offset: int
    data: bytes


class BlobStore:
    """All storage operations of the devhost."""

    def __init__(self, connection_string: str, hub_name: str, connection_setting: str) -> None:
        self._connection_string = connection_string
        self.connection_setting = connection_setting
        self.hub_name = hub_name
        self.container_name = f"dh-{hub_name.lower()}"
        self._service: BlobServiceClient | None = None
        self._container: ContainerClient | None = None
        self._append_queues: dict[str, _AppendQueue] = {}
        self._blob_clients: OrderedDict[str, BlobClient] = OrderedDict()
        self._session: ClientSession | None = None
        self.operations = 0  # storage calls made, for benchmarks
        # Health: cleared while storage does not answer; writes also wait for `_writable`.
        self.available = asyncio.Event()
        self.available.set()
        self._writable = asyncio.Event()
        self._writable.set()
        self._outage_started: float | None = None
        self.outages = 0
        self.repairs = 0
        self.fatal: asyncio.Future[str] | None = None
        # Write fencing: the hub lease (devhost/hub_lease.py) says until when this host may write.
        self.lease_valid: Callable[[], bool] = lambda: True
        # What this process wrote recently, to rewrite what a storage restart lost.
        self._sizes: dict[str, int] = {}
        self._journal: dict[str, list[_JournalEntry]] = {}
        self._created: dict[str, float] = {}
        self._documents: dict[str, tuple[float, bytes, dict[str, str] | None]] = {}
        self._deleted: dict[str, float] = {}
        # Appends sent but not yet acknowledged (position, bytes): storage may hold them already.
        self._in_flight: dict[str, tuple[int, bytes]] = {}

    @property
    def container(self) -> ContainerClient:
        assert self._container is not None, "BlobStore.open() was not called"
        return self._container

    @property
    def url(self) -> str:
        return self.container.url

    # -- opening ----------------------------------------------------------------------------------

    async def open(self, timeout_seconds: float = OPEN_TIMEOUT_SECONDS) -> HubInfo:
        """Connect and create the hub's container and marker if missing; what the hub is.

        Raises StorageUnavailableError with advice when storage cannot be reached or never answers.
        """
        self.fatal = asyncio.get_running_loop().create_future()
        # trust_env=False: aiohttp would otherwise read ~/.netrc and proxy variables on every request,
        # a measurable share of the host's CPU on the hot path.
        self._session = ClientSession(trust_env=False, connector=TCPConnector(limit=64))
        transport = AioHttpTransport(session=self._session, session_owner=False)
        try:
            self._service = BlobServiceClient.from_connection_string(
                self._connection_string,
                # No retries inside the SDK: ours (`_call`) wait for the write gate between tries.
                retry_policy=ExponentialRetry(initial_backoff=0, increment_base=1, retry_total=0),
                connection_timeout=CONNECTION_TIMEOUT_SECONDS,
                read_timeout=READ_TIMEOUT_SECONDS,
                transport=transport,
            )
        except ValueError as error:
            raise StorageUnavailableError(
                f"The connection string in '{self.connection_setting}' is not valid: {error}"
            ) from error
        self._container = self._service.get_container_client(self.container_name)
        await self._probe_endpoint()
        try:
            return await asyncio.wait_for(self._create_hub(), timeout_seconds)
        except TimeoutError as error:
            raise StorageUnavailableError(
                f"The storage account of '{self.connection_setting}' ({self._service.url}) accepts "
                f"connections but did not answer within {timeout_seconds:g} s. Is the storage "
                "process hung (restart Azurite), or does the connection string point at something "
                "that is not Blob Storage?"
            ) from error
        except (ServiceRequestError, AzureError, OSError) as error:
            raise StorageUnavailableError(
                f"Cannot reach the storage account of '{self.connection_setting}' "
                f"({self._service.url}): {error.__class__.__name__}. Start Azurite "
                "(./scripts/dev starts it, or `npx azurite-blob --skipApiVersionCheck`) or fix the "
                "connection string."
            ) from error

    async def _create_hub(self) -> HubInfo:
        created = False
        try:
            await self.container.create_container()
            created = True
        except ResourceExistsError:
            pass
        self.operations += 3
        marker = self._blob(HUB_MARKER)
        body = json.dumps({"hub": self.hub_name, "createdAt": datetime.now(UTC).isoformat()}).encode()
        with contextlib.suppress(ResourceExistsError):
            await marker.upload_blob(body, overwrite=False)
        stream = await marker.download_blob()
        created_at = str(json.loads(await stream.readall()).get("createdAt") or "")
        return HubInfo(created=created, created_at=created_at)

    async def _probe_endpoint(self) -> None:
        """Fail fast with advice when nothing listens, instead of after the SDK's retries."""
        assert self._service is not None
        endpoint = urlsplit(self._service.url)
        port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(endpoint.hostname, port), timeout=5)
        except (OSError, TimeoutError) as error:
            raise StorageUnavailableError(
                f"Cannot reach the storage account of '{self.connection_setting}' at "
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

    # -- health -----------------------------------------------------------------------------------

    def mark_unavailable(self, error: BaseException) -> None:
        """Storage did not answer: requests get 503 until a probe succeeds (and writes wait)."""
        if self.available.is_set():
            self.outages += 1
            self._outage_started = time.monotonic()
            log.warning("storage unavailable (%s): retrying, requests answer 503", type(error).__name__)
        self.available.clear()
        self._writable.clear()

    def die(self, message: str) -> None:
        """Stop trusting the hub: the host prints `message` and stops."""
        if self.fatal is not None and not self.fatal.done():
            log.error("%s", message)
            self.fatal.set_result(message)
        self._writable.clear()

    def hub_vanished_message(self) -> str:
        return (
            f"The task hub '{self.hub_name}' (container {self.container_name}) vanished from the storage "
            f"account of '{self.connection_setting}' while this host was running: the storage came back "
            "empty (an in-memory Azurite restarted, or the data was deleted). Stopping, so that nothing "
            "runs on an empty hub and no instance is silently lost. Restore the storage, or start the "
            "host again to begin a new, empty hub."
        )

    async def probe(self, probe_call: Callable[[], Awaitable[None]], limit_seconds: float) -> bool:
        """Run one health probe (the hub lease's renewal); after an outage, repair before writes resume."""
        try:
            await asyncio.wait_for(probe_call(), limit_seconds)
        except StorageFatalError as error:
            self.die(str(error))
            return False
        except Exception as error:
            if isinstance(error, ResourceNotFoundError) and _error_code(error) in (
                "ContainerNotFound",
                "BlobNotFound",
            ):
                self.die(self.hub_vanished_message())
                return False
            if _transient(error):
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
            if _transient(error):
                return  # still away: the next probe tries again
            raise
        self.available.set()
        if self.lease_valid():
            self._writable.set()
        log.warning("storage available again after %.1f s", outage)

    def set_writable(self, writable: bool) -> None:
        """The lease holder's verdict: this host may (or may not, until renewed) write the hub."""
        if writable and self.available.is_set() and (self.fatal is None or not self.fatal.done()):
            self._writable.set()
        elif not writable:
            self._writable.clear()

    async def within_request_deadline(self, work: Awaitable[T]) -> T:
        """Wait for `work` for an HTTP request: StorageUnavailableError (→ 503) if storage is away
        for `REQUEST_GRACE_SECONDS` meanwhile, or the work takes `REQUEST_DEADLINE_SECONDS`.

        The work goes on in the background (it retries until it lands): a 503 means "not known to
        be done; ask again", and what lands stays landed (a repeated start is a 409 then).
        """
        task = asyncio.ensure_future(work)
        started = time.monotonic()
        while True:
            remaining = REQUEST_DEADLINE_SECONDS - (time.monotonic() - started)
            step = (
                min(REQUEST_GRACE_SECONDS, remaining) if not self.available.is_set() else min(0.5, remaining)
            )
            done, _ = await asyncio.wait({task}, timeout=max(step, 0))
            if done:
                return task.result()
            if not self.available.is_set() or time.monotonic() - started >= REQUEST_DEADLINE_SECONDS:
                task.add_done_callback(_log_background_failure)
                raise StorageUnavailableError(
                    f"storage of task hub '{self.hub_name}' is unavailable (status code 503): "
                    f"retry after {RETRY_AFTER_SECONDS} s"
                )

    # -- the retry loop ---------------------------------------------------------------------------

    async def _call(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        write: bool,
        what: str = "a storage call",
        limit_seconds: float = TRY_LIMIT_SECONDS,
    ) -> T:
        """Run a storage call until it succeeds: transient failures wait and retry forever.

        Each try is bounded as a whole (`limit_seconds`): the SDK's timeouts cover connecting and
        reading, not waiting for a pooled connection or writing the request, which hung a log's
        appends for minutes after storage came back.
        """
        delay = RETRY_FIRST_SECONDS
        started = time.monotonic()
        warned = started
        while True:
            if write:
                await self._writable.wait()
            try:
                self.operations += 1
                return await asyncio.wait_for(operation(), limit_seconds)
            except Exception as error:
                if _container_gone(error):
                    self.die(self.hub_vanished_message())
                    raise StorageFatalError(self.hub_vanished_message()) from error
                if not _transient(error):
                    raise
                self.mark_unavailable(error)
                if time.monotonic() - warned >= SLOW_CALL_WARNING_SECONDS:
                    warned = time.monotonic()
                    log.warning(
                        "%s still fails after %.0f s (%s); retrying",
                        what,
                        warned - started,
                        type(error).__name__,
                    )
            await asyncio.sleep(delay * random.uniform(0.75, 1.25))  # jitter, not security
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    def forget(self, *names: str) -> None:
        """Drop cached clients of blobs not needed soon (a finished instance's): ~30 KiB each."""
        for name in names:
            self._blob_clients.pop(name, None)

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
                    if _container_gone(error):
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

    def _appended(self, name: str, position: int, data: bytes) -> None:
        self._sizes[name] = position + len(data)
        entries = self._journal.setdefault(name, [])
        entries.append(_JournalEntry(time.monotonic(), position, data))
        self._prune(entries)

    def _prune(self, entries: list[_JournalEntry]) -> None:
        # Only while storage answers: during an outage, everything since it began may be needed.
        if not self.available.is_set():
            return
        horizon = time.monotonic() - JOURNAL_SECONDS
        while entries and entries[0].at < horizon:
            entries.pop(0)

    async def _current_size(self, name: str) -> int:
        """The blob's length, or -1 when it does not exist."""

        async def size() -> int:
            try:
                properties = await self._blob(name).get_blob_properties()
            except ResourceNotFoundError as error:
                if _container_gone(error):
                    raise
                return -1
            return int(properties.size)

        return await self._call(size, write=False)

    async def _holds(self, name: str, position: int, data: bytes) -> bool:
        async def read() -> bytes:
            stream = await self._blob(name).download_blob(offset=position, length=len(data))
            return bytes(await stream.readall())

        return await self._call(read, write=False) == data

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
            if _container_gone(error):
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
                if _container_gone(error):
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


def _log_background_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("storage work of a timed-out request failed: %s", task.exception())
