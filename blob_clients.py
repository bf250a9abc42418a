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
from collections.abc import Mapping

from azure.core.exceptions import ResourceExistsError
from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobServiceClient, ContainerClient

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
# The Durable task hub naming rule (Azure Storage provider): 3-45 letters and digits, a letter first.
_TASK_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")


class StorageNotConfiguredError(Exception):
    """Neither a connection string nor an identity-based storage setting is present."""


# Clients are thread-safe and hold connection pools; one per distinct configuration is enough.
# The key is the configuration itself, read at call time, so a changed setting gets a new client.
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
    """The blob service client for `setting` (`AzureWebJobsStorage`): connection string or identity."""
    configuration = storage_configuration(environ, setting)
    with _lock:
        client = _clients.get(configuration)
        if client is None:
            client = _build(configuration)
            _clients[configuration] = client
        return client


def _build(configuration: tuple[str, ...]) -> BlobServiceClient:
    if configuration[0] == "connection_string":
        return BlobServiceClient.from_connection_string(configuration[1])
    _, url, client_id = configuration
    credential = DefaultAzureCredential(managed_identity_client_id=client_id or None)
    return BlobServiceClient(account_url=url, credential=credential)


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
    if not _TASK_HUB_NAME.fullmatch(hub):
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
