"""Donor portal: status updates on relief requests, published once per key."""

from __future__ import annotations

from typing import Annotated, Protocol

from pydantic import Field

from contracts import ContractModel
from integrations.http_transport import HttpAdapter
from integrations.sandbox import SandboxAdapter, stable_id

SYSTEM = "donor_portal"


class DonorUpdate(ContractModel):
    """What donors see about a request: a status and counts, never shelter contacts."""

    request_id: Annotated[str, Field(min_length=1, max_length=64)]
    status: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]
    pallets_reserved: int = 0
    pallets_delivered: int = 0
    note: Annotated[str, Field(max_length=500)] = ""


class DonorUpdateReceipt(ContractModel):
    """The portal's id for the update."""

    update_id: str
    request_id: str
    status: str


class DonorPortal(Protocol):
    """What relief routing publishes to donors."""

    def publish(self, update: DonorUpdate, idempotency_key: str) -> DonorUpdateReceipt:
        """Publish once per key."""
        ...


class HttpDonorPortal(HttpAdapter):
    """The portal over HTTP (`DONOR_PORTAL_BASE_URL`, `DONOR_PORTAL_API_KEY`)."""

    def publish(self, update: DonorUpdate, idempotency_key: str) -> DonorUpdateReceipt:
        """POST /updates with the Idempotency-Key header."""
        return self._transport.post_model("updates", update, idempotency_key, DonorUpdateReceipt)


class SandboxDonorPortal(SandboxAdapter):
    """Portal updates recorded in Azurite (`SANDBOX_FAULTS_DONOR_PORTAL`), once per key."""

    system = SYSTEM

    def publish(self, update: DonorUpdate, idempotency_key: str) -> DonorUpdateReceipt:
        """Record the update once per key."""

        def respond() -> DonorUpdateReceipt:
            return DonorUpdateReceipt(
                update_id=stable_id("du", idempotency_key), request_id=update.request_id, status=update.status
            )

        return self.sandbox.record_once("publish", idempotency_key, update, DonorUpdateReceipt, respond)
