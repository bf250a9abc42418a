"""Storage calls of the devhost's task hub: the connection, the health gate and the retry loop.

Storage faults (docs/devhost.md, "Storage faults"):
- Every call has a timeout and is retried with exponential backoff and jitter until it succeeds:
  an episode commit is never dropped.
- A failed call marks storage unavailable (`available` is cleared) until a probe answers again;
  HTTP requests that need storage meanwhile answer 503 with Retry-After (`within_request_deadline`).
- A hub whose container or marker disappears while the host runs (storage came back empty) is
  fatal: `fatal` carries a message naming the setting and the host stops.
What this host wrote recently, and the repair after an outage, are devhost.write_journal's; the hub's
data (documents and logs) is devhost.store's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import ClientSession, TCPConnector
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.blob.aio import BlobClient, BlobServiceClient, ContainerClient, ExponentialRetry

from devhost.blob_names import HUB_MARKER

log = logging.getLogger("devhost.store")

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
# Our own retries (the SDK makes none): 0.2 s doubling to 5 s, ± 25 % jitter, no limit.
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0
# How long a request waits for storage that is known to be away before it is answered 503.
REQUEST_GRACE_SECONDS = 1.0
# A request never waits longer than this for storage, away or not.
REQUEST_DEADLINE_SECONDS = 20.0
RETRY_AFTER_SECONDS = 5
# At start, storage must answer within this (a process that accepts connections and never answers
# would otherwise hang the start for minutes); `python -m devhost start --storage-timeout`.
OPEN_TIMEOUT_SECONDS = 15.0

T = TypeVar("T")


class StorageUnavailableError(Exception):
    """Azurite / the storage account cannot be reached (the message says what to do)."""


class StorageFatalError(Exception):
    """The hub cannot be trusted any more (it vanished, or lost more than the journal can restore)."""


def transient(error: BaseException) -> bool:
    """A failure worth retrying: no answer, a broken connection, a timeout, or a 5xx/408/429."""
    if isinstance(error, ServiceRequestError | ServiceResponseError | aiohttp.ClientError | OSError):
        return True
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return True
    if isinstance(error, HttpResponseError) and error.status_code in (408, 429, 500, 502, 503, 504):
        return True
    return isinstance(error, AzureError) and not isinstance(error, HttpResponseError)


def container_gone(error: BaseException) -> bool:
    return isinstance(error, ResourceNotFoundError) and error_code(error) == "ContainerNotFound"


def error_code(error: BaseException) -> str:
    return str(getattr(error, "error_code", "") or "")


@dataclass(frozen=True)
class HubInfo:
    """What `open` found: whether the hub's container was created just now, and when the hub began."""

    created: bool
    created_at: str


class StorageCalls:
    """One task hub's container: connecting to it, knowing whether storage answers, calling it."""

    def __init__(self, connection_string: str, hub_name: str, connection_setting: str) -> None:
        self._connection_string = connection_string
        self.connection_setting = connection_setting
        self.hub_name = hub_name
        self.container_name = f"dh-{hub_name.lower()}"
        self._service: BlobServiceClient | None = None
        self._container: ContainerClient | None = None
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
        self.fatal: asyncio.Future[str] | None = None
        # Write fencing: the hub lease (devhost/hub_lease.py) says until when this host may write.
        self.lease_valid: Callable[[], bool] = lambda: True

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
                if container_gone(error):
                    self.die(self.hub_vanished_message())
                    raise StorageFatalError(self.hub_vanished_message()) from error
                if not transient(error):
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


def _log_background_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("storage work of a timed-out request failed: %s", task.exception())
