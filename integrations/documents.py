"""Document store: filing generated documents (compliance packs, audit packets) once per key."""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Protocol

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContentSettings
from pydantic import Field

from contracts import ContractModel
from integrations.errors import IntegrationRejectedError
from integrations.http_transport import HttpAdapter
from integrations.sandbox import SandboxAdapter, stable_id

SYSTEM = "documents"


class DocumentReceipt(ContractModel):
    """Where the store filed a document, and what it holds (size and hash, for the audit)."""

    document_id: str
    name: str
    content_type: str
    size: int
    sha256: str


class DocumentStore(Protocol):
    """What the workflows need from the document store."""

    def store(self, name: str, content: bytes, content_type: str, idempotency_key: str) -> DocumentReceipt:
        """File a document; the same key files it once."""
        ...

    def fetch(self, document_id: str) -> bytes:
        """The content of a filed document."""
        ...


class _StoreRequest(ContractModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    content_type: str
    sha256: str
    size: int


class HttpDocumentStore(HttpAdapter):
    """The document store over HTTP (`DOCUMENTS_BASE_URL`, `DOCUMENTS_API_KEY`)."""

    def store(self, name: str, content: bytes, content_type: str, idempotency_key: str) -> DocumentReceipt:
        """POST /documents (content base64 in JSON) with the Idempotency-Key header."""
        body = {
            **_StoreRequest(
                name=name,
                content_type=content_type,
                sha256=hashlib.sha256(content).hexdigest(),
                size=len(content),
            ).to_dict(),
            "contentBase64": base64.b64encode(content).decode(),
        }
        return DocumentReceipt.from_dict(self._transport.post("documents", body, idempotency_key))

    def fetch(self, document_id: str) -> bytes:
        """GET /documents/{id}."""
        body = self._transport.get(f"documents/{document_id}")
        return base64.b64decode(body["contentBase64"])


class SandboxDocumentStore(SandboxAdapter):
    """Documents in Azurite: content under `documents/state/<document id>`, one filing per key."""

    system = SYSTEM

    def store(self, name: str, content: bytes, content_type: str, idempotency_key: str) -> DocumentReceipt:
        """Write the content under an id derived from the key (so a retry rewrites the same blob)."""
        digest = hashlib.sha256(content).hexdigest()
        request = _StoreRequest(name=name, content_type=content_type, sha256=digest, size=len(content))
        document_id = stable_id("doc", idempotency_key)

        def respond() -> DocumentReceipt:
            self.sandbox.container.get_blob_client(self.sandbox.state_blob(document_id)).upload_blob(
                content, overwrite=True, content_settings=ContentSettings(content_type=content_type)
            )
            return DocumentReceipt(
                document_id=document_id,
                name=name,
                content_type=content_type,
                size=len(content),
                sha256=digest,
            )

        return self.sandbox.record_once("store", idempotency_key, request, DocumentReceipt, respond)

    def fetch(self, document_id: str) -> bytes:
        """The stored content; IntegrationRejectedError (404) for an unknown id."""

        def respond() -> bytes:
            try:
                blob = self.sandbox.container.get_blob_client(self.sandbox.state_blob(document_id))
                return bytes(blob.download_blob().readall())
            except ResourceNotFoundError:
                raise IntegrationRejectedError(SYSTEM, "fetch: no such document", 404) from None

        content: bytes = self.sandbox.read("fetch", document_id, respond)
        return content
