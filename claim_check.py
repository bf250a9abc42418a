"""Claim-check: large payloads and generated documents live in blobs; histories hold a reference.

What passes through orchestration inputs, outputs and events is either the value itself (small) or
`{"$claimCheck": {"container", "blob", "size", "sha256", "contentType"}}` (a `PayloadReference`).
The orchestrator never opens a reference (no I/O there): it hands it to the next activity, which
calls `ClaimCheck.load`. HTTP starters and event endpoints call `offload` before `start_new` and
`raise_event`; activities call it on what they return.

Blob names are `<scope>/<sha256 of the content>`, with the scope an idempotency key or instance id:
a retried or re-delivered activity writes the same bytes to the same name, so retries are harmless,
and everything of one instance sits under one prefix (for retention and purge).

The containers belong to this task hub (`<prefix>-<hub>-payloads`, `<prefix>-<hub>-documents`,
blob_clients.py), so another slot's or hub's blobs are never read. References recorded before the
containers were namespaced name the shared `<prefix>-payloads` / `<prefix>-documents`; they still
resolve (read-only), so instances started before the change finish normally.

Generated documents (compliance packs, audit packets) are always blobs (`store_document`), named by
scope + file name, and contact details or evidence text can be kept out of history the same way
with `offload(value, scope, always=True)`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from blob_clients import container_client, existing_container_client, legacy_container_name

CLAIM_CHECK_MARKER = "$claimCheck"
THRESHOLD_SETTING = "CLAIM_CHECK_THRESHOLD_BYTES"
DEFAULT_THRESHOLD_BYTES = 32 * 1024
PAYLOADS_CONTAINER_PURPOSE = "payloads"
DOCUMENTS_CONTAINER_PURPOSE = "documents"
JSON_CONTENT_TYPE = "application/json"


class ClaimCheckError(Exception):
    """A reference that cannot be resolved: missing blob or content that does not match its hash."""


@dataclass(frozen=True)
class PayloadReference:
    """Where a payload or document lives; small enough for any history."""

    container: str
    blob: str
    size: int
    sha256: str
    content_type: str = JSON_CONTENT_TYPE

    def to_dict(self) -> dict[str, Any]:
        """The wire form, `{"$claimCheck": {...}}`."""
        return {
            CLAIM_CHECK_MARKER: {
                "container": self.container,
                "blob": self.blob,
                "size": self.size,
                "sha256": self.sha256,
                "contentType": self.content_type,
            }
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Parse the wire form."""
        inner = data[CLAIM_CHECK_MARKER]
        return cls(
            container=str(inner["container"]),
            blob=str(inner["blob"]),
            size=int(inner["size"]),
            sha256=str(inner["sha256"]),
            content_type=str(inner.get("contentType") or JSON_CONTENT_TYPE),
        )


def is_reference(value: Any) -> bool:
    """True for a claim-check reference (`{"$claimCheck": {...}}` and nothing else)."""
    return isinstance(value, dict) and set(value) == {CLAIM_CHECK_MARKER}


def encoded_size(value: Any) -> int:
    """The size of `value` as compact UTF-8 JSON, as it would sit in history."""
    return len(_encode_json(value))


class ClaimCheck:
    """Moves values above the threshold to blobs and resolves references back."""

    def __init__(
        self,
        payloads: ContainerClient,
        documents: ContainerClient,
        threshold_bytes: int = DEFAULT_THRESHOLD_BYTES,
        *,
        legacy_payloads: ContainerClient | None = None,
        legacy_documents: ContainerClient | None = None,
    ) -> None:
        if threshold_bytes < 0:
            raise ValueError("threshold_bytes must not be negative")
        self._payloads = payloads
        self._documents = documents
        # Read-only: where references recorded before the containers were namespaced point.
        self._legacy = {
            self._payloads.container_name: legacy_payloads,
            self._documents.container_name: legacy_documents,
        }
        self.threshold_bytes = threshold_bytes

    @property
    def payloads_container(self) -> ContainerClient:
        """This hub's payload container (personal data lives here; see retention.py)."""
        return self._payloads

    @classmethod
    def from_settings(cls, environ: Mapping[str, str] | None = None) -> ClaimCheck:
        """Containers `<prefix>-payloads` / `<prefix>-documents`, threshold `CLAIM_CHECK_THRESHOLD_BYTES`."""
        env = os.environ if environ is None else environ
        text = env.get(THRESHOLD_SETTING, "").strip()
        try:
            threshold = int(text) if text else DEFAULT_THRESHOLD_BYTES
        except ValueError:
            raise ValueError(f"app setting {THRESHOLD_SETTING} must be a number of bytes") from None
        return cls(
            container_client(PAYLOADS_CONTAINER_PURPOSE, env),
            container_client(DOCUMENTS_CONTAINER_PURPOSE, env),
            threshold,
            legacy_payloads=existing_container_client(
                legacy_container_name(PAYLOADS_CONTAINER_PURPOSE, env), env
            ),
            legacy_documents=existing_container_client(
                legacy_container_name(DOCUMENTS_CONTAINER_PURPOSE, env), env
            ),
        )

    def offload(self, value: Any, scope: str, *, always: bool = False) -> Any:
        """`value` itself when small, else (or when `always`) a reference to a blob holding it."""
        data = _encode_json(value)
        if not always and len(data) <= self.threshold_bytes:
            return value
        digest = hashlib.sha256(data).hexdigest()
        name = f"{_scope_path(scope)}/{digest}.json"
        self._payloads.get_blob_client(name).upload_blob(
            data, overwrite=True, content_settings=ContentSettings(content_type=JSON_CONTENT_TYPE)
        )
        return PayloadReference(self._payloads.container_name, name, len(data), digest).to_dict()

    def load(self, value: Any) -> Any:
        """`value` with every reference in it (at any depth) replaced by the stored payload."""
        if is_reference(value):
            reference = PayloadReference.from_dict(value)
            return json.loads(self._read(self._payloads, reference))
        if isinstance(value, dict):
            return {key: self.load(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.load(item) for item in value]
        return value

    def store_document(
        self, scope: str, file_name: str, content: bytes, content_type: str
    ) -> PayloadReference:
        """Store a generated document (always a blob) as `<scope>/<file_name>`; retries overwrite it."""
        if not file_name or "/" in file_name:
            raise ValueError("file_name must be a plain file name")
        name = f"{_scope_path(scope)}/{quote(file_name, safe='.-_')}"
        self._documents.get_blob_client(name).upload_blob(
            content, overwrite=True, content_settings=ContentSettings(content_type=content_type)
        )
        digest = hashlib.sha256(content).hexdigest()
        return PayloadReference(self._documents.container_name, name, len(content), digest, content_type)

    def read_document(self, reference: PayloadReference | Mapping[str, Any]) -> bytes:
        """The bytes of a stored document (checked against its hash)."""
        if not isinstance(reference, PayloadReference):
            reference = PayloadReference.from_dict(reference)
        return self._read(self._documents, reference)

    def _read(self, container: ContainerClient, reference: PayloadReference) -> bytes:
        if reference.container != container.container_name:
            legacy = self._legacy.get(container.container_name)
            if legacy is None or reference.container != legacy.container_name:
                raise ClaimCheckError(f"reference points at container {reference.container!r}")
            container = legacy
        try:
            data = container.get_blob_client(reference.blob).download_blob().readall()
        except ResourceNotFoundError:
            raise ClaimCheckError(f"claim-check blob {reference.blob!r} is missing") from None
        if hashlib.sha256(data).hexdigest() != reference.sha256:
            raise ClaimCheckError(f"claim-check blob {reference.blob!r} does not match its hash")
        return data


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _scope_path(scope: str) -> str:
    if not scope:
        raise ValueError("a scope (idempotency key or instance id) is required")
    return quote(scope, safe="")
