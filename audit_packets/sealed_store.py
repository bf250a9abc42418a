"""The audit container: sealed packets and their documents, written once, read as written.

Layout, one folder per instance and execution (an instance id can be used again after a purge):

    <instance id, URL-quoted>/<execution: created time as yyyymmddThhmmssZ>/
        audit-packet.json            the sealed envelope (packet + seal); a later final state of the
        audit-packet.2.json          same execution (e.g. sealed Failed, then rewound and completed)
        documents/<name>.pdf|.html   the business documents whose digests the packet carries

Every write is create-only (`If-None-Match: *`): an existing blob is never replaced, and a second
writer gets `AlreadySealedError` and reads what is there. On Azure the container also sits in a
storage account with version-level immutability (WORM, time-based retention) and blob versioning
(infra/modules/audit-evidence.bicep), so not even an identity with write access can change or
delete a sealed version before its retention ends; an overwrite there would only add a newer
version, so reads take the *oldest* version of a blob, the one written at sealing, and say when
later versions exist. Azurite has neither feature: locally the create-only write is the guard and
the signature the proof.

Storage: `AUDIT_STORAGE` (connection string) or `AUDIT_STORAGE__blobServiceUri` /
`AUDIT_STORAGE__accountName` with `AUDIT_STORAGE__clientId` (managed identity); when none is set,
the app's own `AzureWebJobsStorage` (local runs and tests). Container `<prefix>-<task hub>-audit-packets`
(blob_clients.py): each slot and hub seals into its own, written by its own identity only.

Packets sealed before the containers were per hub sit in `<prefix>-audit-packets`; reads fall back to
it (never writes), so they are still served and never sealed twice. Where that container does not
exist or the identity may not read it, the fallback is skipped for the life of the process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from blob_clients import STORAGE_SETTING, container_client, existing_container_client, legacy_container_name

T = TypeVar("T")
AUDIT_STORAGE_SETTING = "AUDIT_STORAGE"
AUDIT_CONTAINER_PURPOSE = "audit-packets"
PACKET_FILE = "audit-packet.json"
DOCUMENTS_FOLDER = "documents"
_PACKET_NAME = re.compile(r"^audit-packet(?:\.(\d+))?\.json$")
_EXECUTION = re.compile(r"^\d{8}T\d{6}Z$")


class AlreadySealedError(Exception):
    """The blob exists: it was sealed before (by a retry, a second delivery or another writer)."""


@dataclass(frozen=True)
class StoredBlob:
    """Bytes read from (or written to) the audit container, with the identity of that version."""

    name: str
    content: bytes
    version: str  # the blob version id on Azure; `etag:<etag>` where versioning is absent (Azurite)
    later_versions: int = 0  # versions written after the sealed one (never by the app)
    content_type: str = "application/json"


def execution_label(created_time: str) -> str:
    """`2026-11-11T09:00:00Z` → `20261111T090000Z` (the execution's folder)."""
    digits = re.sub(r"[^0-9]", "", created_time)[:14]
    if len(digits) != 14:
        raise ValueError(f"not an ISO-8601 UTC time: {created_time!r}")
    return f"{digits[:8]}T{digits[8:]}Z"


def packet_file_name(sequence: int) -> str:
    """`audit-packet.json` for the first seal of an execution, `audit-packet.<n>.json` after."""
    return PACKET_FILE if sequence <= 1 else f"audit-packet.{sequence}.json"


class SealedStore:
    """Create-only writes and as-written reads in the audit container."""

    def __init__(self, container: ContainerClient, legacy: ContainerClient | None = None) -> None:
        self.container = container
        self.legacy = legacy  # read-only: the shared container of packets sealed before per-hub ones

    @classmethod
    def from_settings(cls, environ: Mapping[str, str] | None = None) -> SealedStore:
        """The audit account (`AUDIT_STORAGE*`), else the app's own storage."""
        env = os.environ if environ is None else environ
        configured = any(
            env.get(f"{AUDIT_STORAGE_SETTING}{suffix}", "").strip()
            for suffix in ("", "__blobServiceUri", "__accountName")
        )
        setting = AUDIT_STORAGE_SETTING if configured else STORAGE_SETTING
        legacy = existing_container_client(legacy_container_name(AUDIT_CONTAINER_PURPOSE, env), env, setting)
        return cls(container_client(AUDIT_CONTAINER_PURPOSE, env, setting), legacy)

    @property
    def container_name(self) -> str:
        """The audit container's name."""
        return str(self.container.container_name)

    @staticmethod
    def folder(instance_id: str, execution: str) -> str:
        """`<quoted instance id>/<execution>`."""
        if not instance_id:
            raise ValueError("an instance id is required")
        return f"{quote(instance_id, safe='')}/{execution}"

    def create(self, name: str, content: bytes, content_type: str) -> StoredBlob:
        """Write `name` once; AlreadySealedError when it exists."""
        try:
            answer: dict[str, Any] = self.container.get_blob_client(name).upload_blob(
                content, overwrite=False, content_settings=ContentSettings(content_type=content_type)
            )
        except ResourceExistsError:
            raise AlreadySealedError(name) from None
        return StoredBlob(
            name, content, _version_of(answer.get("version_id"), answer.get("etag")), 0, content_type
        )

    def read(self, name: str) -> StoredBlob | None:
        """The sealed (oldest) version of `name` (in this hub's container, else the legacy one), or None."""
        found = self._read_from(self.container, name)
        if found is None and self._legacy_readable():
            found = self._from_legacy(lambda legacy: self._read_from(legacy, name), None)
        return found

    @staticmethod
    def _read_from(container: ContainerClient, name: str) -> StoredBlob | None:
        versions = [
            blob
            for blob in container.list_blobs(name_starts_with=name, include=["versions"])
            if blob.name == name
        ]
        if not versions:
            return None
        with_ids = sorted((v for v in versions if v.version_id), key=lambda v: str(v.version_id))
        client = container.get_blob_client(name)
        try:
            if with_ids:
                first = with_ids[0]
                downloader = client.download_blob(version_id=first.version_id)
                later = len(with_ids) - 1
            else:
                downloader = client.download_blob()
                later = 0
            content = downloader.readall()
        except ResourceNotFoundError:
            return None
        properties = downloader.properties
        return StoredBlob(
            name,
            bytes(content),
            _version_of(properties.version_id, properties.etag),
            later,
            str(properties.content_settings.content_type or "application/octet-stream"),
        )

    def packet_names(self, instance_id: str) -> list[tuple[str, int, str]]:
        """Every sealed packet of an instance as (execution, sequence, blob name), oldest first
        (this hub's container and the legacy one together)."""
        found = self._names_in(self.container, instance_id)
        if self._legacy_readable():
            found |= self._from_legacy(lambda legacy: self._names_in(legacy, instance_id), set())
        return sorted(found)

    @staticmethod
    def _names_in(container: ContainerClient, instance_id: str) -> set[tuple[str, int, str]]:
        prefix = f"{quote(instance_id, safe='')}/"
        found: set[tuple[str, int, str]] = set()
        for blob in container.list_blobs(name_starts_with=prefix):
            parts = str(blob.name)[len(prefix) :].split("/")
            if len(parts) != 2 or not _EXECUTION.fullmatch(parts[0]):
                continue
            match = _PACKET_NAME.fullmatch(parts[1])
            if match is None:
                continue
            found.add((parts[0], int(match.group(1) or 1), str(blob.name)))
        return found

    def _legacy_readable(self) -> bool:
        return self.legacy is not None and _container_key(self.legacy) not in _UNREADABLE_LEGACY

    def _from_legacy(self, read: Callable[[ContainerClient], T], nothing: T) -> T:
        """`read(legacy)`; `nothing` (and no more tries in this process) when the legacy container is
        absent or this identity may not read it."""
        assert self.legacy is not None
        try:
            return read(self.legacy)
        except ResourceNotFoundError:  # ContainerNotFound: no packet was ever sealed before
            _UNREADABLE_LEGACY.add(_container_key(self.legacy))
        except HttpResponseError as error:
            if error.status_code != 403:
                raise
            _UNREADABLE_LEGACY.add(_container_key(self.legacy))
        return nothing

    def latest_packet_name(self, instance_id: str, execution: str | None = None) -> tuple[int, str] | None:
        """(sequence, blob name) of the newest seal of `execution` (or of the newest execution)."""
        names = [item for item in self.packet_names(instance_id) if execution in (None, item[0])]
        if not names:
            return None
        latest = max(names, key=lambda item: (item[0], item[1]))
        return latest[1], latest[2]

    @staticmethod
    def instance_of(blob_name: str) -> str:
        """The instance id a blob belongs to."""
        return unquote(blob_name.split("/", 1)[0])


# Legacy containers found absent or unreadable (by URL): not asked again in this process.
_UNREADABLE_LEGACY: set[str] = set()


def _container_key(container: ContainerClient) -> str:
    return str(container.url)


def _version_of(version_id: Any, etag: Any) -> str:
    if version_id:
        return str(version_id)
    return f"etag:{str(etag or '').strip(chr(34))}"
