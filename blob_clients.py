"""The one place that builds Blob Storage clients for the app's own state.

`AzureWebJobsStorage` is read the way the Functions host reads it:
- a connection string (Azurite locally, `UseDevelopmentStorage=true`) → a client from that string;
- identity-based (`AzureWebJobsStorage__blobServiceUri` or `AzureWebJobsStorage__accountName`, with
  `AzureWebJobsStorage__clientId` for a user-assigned identity) → `DefaultAzureCredential`, so the
  deployed app holds no account key.

Every container of the app's own state (effect ledger, claim-check payloads, documents, audit
packets, sandboxes) is named `<prefix>-<namespace>-<purpose>`: the namespace is the task hub
(`TASKHUB_NAME`, lower case), which is a sticky setting with a different value in each slot, so two
slots or two hubs on one storage account never read or write each other's effects, and each slot's
identity can be granted exactly its own containers (infra/modules/rbac.bicep). The prefix comes from
`STORAGE_CONTAINER_PREFIX` (default `wf`) so that tests sharing one Azurite stay apart.

Every client has an explicit retry policy (exponential backoff with jitter) and timeouts, from one
of two profiles: `DURABLE` for activities (a few retries, then the activity fails and its durable
retry policy takes over) and `INTERACTIVE` for HTTP requests (`api.handlers.json_errors` selects
it with `storage_profile`), which gives up within seconds so a storage outage is answered with
503 and `Retry-After` instead of a hang. The Azure SDK's default (3 retries with 15 s and more
between them, no read timeout short of minutes) held requests for 40 s during an outage.

On Azure the containers are created by infra/modules/storage.bicep and each slot's identity may
write exactly its own (infra/modules/rbac.bicep): a new purpose needs its container and role there
too, or its first write is refused.

Before the namespace existed the containers were `<prefix>-<purpose>`, shared by every hub. Claim-check
references recorded by instances started then still name those containers: `legacy_container_name`
and `existing_container_client` let readers resolve them (read-only, never created).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.identity import DefaultAzureCredential
from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential
from azure.storage.blob import BlobServiceClient, ContainerClient, ExponentialRetry
from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient
from azure.storage.blob.aio import ExponentialRetry as AsyncExponentialRetry

from durable_wire import TASK_HUB_NAME

STORAGE_SETTING = "AzureWebJobsStorage"
TASK_HUB_SETTING = "TASKHUB_NAME"
CONTAINER_PREFIX_SETTING = "STORAGE_CONTAINER_PREFIX"
DEFAULT_CONTAINER_PREFIX = "wf"
DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"
AZURITE_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
_CONTAINER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")


class StorageNotConfiguredError(Exception):
    """Neither a connection string nor an identity-based storage setting is present."""


@dataclass(frozen=True)
class StorageProfile:
    """Retry policy and timeouts of a storage client (seconds)."""

    name: str
    retry_total: int
    initial_backoff: float  # waits are initial, initial + base, initial + base², ... each ± jitter
    backoff_base: float
    jitter: float
    connection_timeout: float
    read_timeout: float

    def client_options(self, *, asynchronous: bool = False) -> dict[str, Any]:
        """Keyword arguments of the Blob Storage client constructors (sync, or `asynchronous`)."""
        retry = AsyncExponentialRetry if asynchronous else ExponentialRetry
        # The SDK annotates the backoff numbers as int; it computes with them as floats.
        return {
            "retry_policy": retry(
                initial_backoff=self.initial_backoff,  # type: ignore[arg-type]
                increment_base=self.backoff_base,  # type: ignore[arg-type]
                retry_total=self.retry_total,
                random_jitter_range=self.jitter,  # type: ignore[arg-type]
            ),
            "connection_timeout": self.connection_timeout,
            "read_timeout": self.read_timeout,
        }


# Activities: 4 tries about 0.5, 2.5 and 4.5 s apart; a live account answers in milliseconds.
DURABLE = StorageProfile("durable", 3, 0.5, 2, 0.25, connection_timeout=5, read_timeout=20)
# HTTP requests: 2 tries with short timeouts, about 6 s at worst against an endpoint that accepts
# connections and never answers; the caller gets 503 + Retry-After.
INTERACTIVE = StorageProfile("interactive", 1, 0.2, 2, 0.1, connection_timeout=2, read_timeout=2.5)
# Health probes: one attempt; the probe answers within the platform's timeout.
PROBE = StorageProfile("probe", 0, 0, 1, 0, connection_timeout=2, read_timeout=2)
_profile: ContextVar[StorageProfile] = ContextVar("storage_profile", default=DURABLE)


@contextlib.contextmanager
def storage_profile(profile: StorageProfile) -> Iterator[None]:
    """Use `profile` for the clients made in this context (threads started from it inherit it)."""
    token = _profile.set(profile)
    try:
        yield
    finally:
        _profile.reset(token)


def current_storage_profile() -> StorageProfile:
    """The profile clients made now get."""
    return _profile.get()


# Clients are thread-safe and hold connection pools; one per distinct configuration and profile is
# enough. The key is the configuration itself, read at call time, so a changed setting gets a new client.
_clients: dict[tuple[str, ...], BlobServiceClient] = {}
_created_containers: set[tuple[str, ...]] = set()
_lock = threading.Lock()


def storage_configuration(
    environ: Mapping[str, str] | None = None, setting: str = STORAGE_SETTING
) -> tuple[str, ...]:
    """Describe how to reach storage: ("connection_string", value) or ("identity", url, client_id)."""
    env = os.environ if environ is None else environ
    connection = env.get(setting, "").strip()
    if connection:
        if connection == DEVELOPMENT_STORAGE:
            connection = AZURITE_CONNECTION_STRING
        return ("connection_string", connection)
    url = env.get(f"{setting}__blobServiceUri", "").strip()
    account = env.get(f"{setting}__accountName", "").strip()
    if not url and account:
        url = f"https://{account}.blob.core.windows.net"
    if url:
        return ("identity", url.rstrip("/"), env.get(f"{setting}__clientId", "").strip())
    raise StorageNotConfiguredError(
        f"set {setting} (a connection string) or {setting}__accountName / {setting}__blobServiceUri"
    )


def blob_service_client(
    environ: Mapping[str, str] | None = None, setting: str = STORAGE_SETTING
) -> BlobServiceClient:
    """The blob service client for `setting` (`AzureWebJobsStorage`): connection string or identity,
    with the current storage profile's retry policy and timeouts."""
    configuration = storage_configuration(environ, setting)
    profile = current_storage_profile()
    with _lock:
        client = _clients.get((*configuration, profile.name))
        if client is None:
            client = _build(configuration, profile)
            _clients[(*configuration, profile.name)] = client
        return client


def _build(configuration: tuple[str, ...], profile: StorageProfile) -> BlobServiceClient:
    options = profile.client_options()
    if configuration[0] == "connection_string":
        return BlobServiceClient.from_connection_string(configuration[1], **options)
    _, url, client_id = configuration
    credential = DefaultAzureCredential(managed_identity_client_id=client_id or None)
    return BlobServiceClient(account_url=url, credential=credential, **options)


@contextlib.asynccontextmanager
async def async_blob_service_client(
    environ: Mapping[str, str] | None = None, profile: StorageProfile = PROBE
) -> AsyncIterator[AsyncBlobServiceClient]:
    """A new async client for `AzureWebJobsStorage`, closed on exit (an async client belongs to
    the event loop that made it, so it is not cached)."""
    configuration = storage_configuration(environ)
    options = profile.client_options(asynchronous=True)
    if configuration[0] == "connection_string":
        async with AsyncBlobServiceClient.from_connection_string(configuration[1], **options) as client:
            yield client
        return
    _, url, client_id = configuration
    async with (
        AsyncDefaultAzureCredential(managed_identity_client_id=client_id or None) as credential,
        AsyncBlobServiceClient(account_url=url, credential=credential, **options) as client,
    ):
        yield client


def storage_namespace(environ: Mapping[str, str] | None = None) -> str:
    """The task hub of this app (lower case): what keeps one slot's or hub's blobs from another's.

    Raises `StorageNotConfiguredError` when `TASKHUB_NAME` is missing: without it two slots would
    silently share their effects, so the app refuses to touch storage instead.
    """
    env = os.environ if environ is None else environ
    hub = env.get(TASK_HUB_SETTING, "").strip()
    if not hub:
        raise StorageNotConfiguredError(
            f"set {TASK_HUB_SETTING} (the task hub, as host.json's hubName reads it): the app's containers "
            "are named after it so that slots and hubs sharing a storage account stay apart"
        )
    if not TASK_HUB_NAME.fullmatch(hub):
        raise ValueError(
            f"app setting {TASK_HUB_SETTING}={hub!r} must be 3-45 letters and digits, a letter first"
        )
    return hub.lower()


def container_prefix(environ: Mapping[str, str] | None = None) -> str:
    """`STORAGE_CONTAINER_PREFIX` (lower case), default `wf`."""
    env = os.environ if environ is None else environ
    return env.get(CONTAINER_PREFIX_SETTING, "").strip().lower() or DEFAULT_CONTAINER_PREFIX


def container_name(purpose: str, environ: Mapping[str, str] | None = None) -> str:
    """`<STORAGE_CONTAINER_PREFIX>-<task hub>-<purpose>`, checked against the container naming rules."""
    return _checked(f"{container_prefix(environ)}-{storage_namespace(environ)}-{purpose}")


def legacy_container_name(purpose: str, environ: Mapping[str, str] | None = None) -> str:
    """`<STORAGE_CONTAINER_PREFIX>-<purpose>`: the shared container of `purpose` before namespacing."""
    return _checked(f"{container_prefix(environ)}-{purpose}")


def _checked(name: str) -> str:
    if not _CONTAINER_NAME.fullmatch(name):
        raise ValueError(
            f"invalid container name {name!r} (3-63 lower-case letters, digits and single hyphens): "
            f"check {CONTAINER_PREFIX_SETTING} and {TASK_HUB_SETTING}"
        )
    return name


def container_client(
    purpose: str, environ: Mapping[str, str] | None = None, setting: str = STORAGE_SETTING
) -> ContainerClient:
    """This hub's container for `purpose` in the `setting` account, created on first use in this process."""
    name = container_name(purpose, environ)
    container = blob_service_client(environ, setting).get_container_client(name)
    marker = (*storage_configuration(environ, setting), name)
    if marker not in _created_containers:
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
        with _lock:
            _created_containers.add(marker)
    return container


def existing_container_client(
    name: str, environ: Mapping[str, str] | None = None, setting: str = STORAGE_SETTING
) -> ContainerClient:
    """A client for the container `name` as it is (never created): for reading what others wrote."""
    return blob_service_client(environ, setting).get_container_client(_checked(name))
