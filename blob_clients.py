"""The one place that builds Blob Storage clients for the app's own state.

`AzureWebJobsStorage` is read the way the Functions host reads it:
- a connection string (Azurite locally, `UseDevelopmentStorage=true`) → a client from that string;
- identity-based (`AzureWebJobsStorage__blobServiceUri` or `AzureWebJobsStorage__accountName`, with
  `AzureWebJobsStorage__clientId` for a user-assigned identity) → `DefaultAzureCredential`, so the
  deployed app holds no account key.

Every container the building blocks use is named `<prefix>-<purpose>`; the prefix comes from
`STORAGE_CONTAINER_PREFIX` (default `wf`) so that tests sharing one Azurite stay apart.
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


def container_name(purpose: str, environ: Mapping[str, str] | None = None) -> str:
    """`<STORAGE_CONTAINER_PREFIX>-<purpose>`, checked against the container naming rules."""
    env = os.environ if environ is None else environ
    prefix = env.get(CONTAINER_PREFIX_SETTING, "").strip().lower() or DEFAULT_CONTAINER_PREFIX
    name = f"{prefix}-{purpose}"
    if not _CONTAINER_NAME.fullmatch(name):
        raise ValueError(f"invalid container name {name!r}: check {CONTAINER_PREFIX_SETTING}")
    return name


def container_client(
    purpose: str, environ: Mapping[str, str] | None = None, setting: str = STORAGE_SETTING
) -> ContainerClient:
    """A client for the app's container for `purpose` in the `setting` account, created on first use."""
    name = container_name(purpose, environ)
    container = blob_service_client(environ, setting).get_container_client(name)
    marker = (*storage_configuration(environ, setting), name)
    if marker not in _created_containers:
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
        with _lock:
            _created_containers.add(marker)
    return container
