"""Supplier API: which supplier stocks a part, and requesting parts from a supplier."""

from __future__ import annotations

import hashlib
from typing import Annotated, Protocol

from pydantic import Field

from contracts import ContractModel
from integrations.http_transport import HttpAdapter
from integrations.sandbox import SandboxAdapter, stable_id

SYSTEM = "suppliers"
SANDBOX_SUPPLIERS = ("supplier-north", "supplier-east", "supplier-south")


class PartOffer(ContractModel):
    """A supplier that can deliver a part, and how soon."""

    part_number: str
    supplier_id: str
    lead_time_days: int


class PartLine(ContractModel):
    """One part and how many."""

    part_number: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=10_000)]


class PartsRequest(ContractModel):
    """A request to one supplier for the parts of one order."""

    supplier_id: str
    order_reference: str
    parts: Annotated[list[PartLine], Field(min_length=1)]


class PartsRequestReceipt(ContractModel):
    """The supplier's acknowledgement."""

    supplier_request_id: str
    supplier_id: str
    status: str
    parts_count: int


class SupplierApi(Protocol):
    """What the workflows need from suppliers."""

    def find_parts(self, part_numbers: list[str]) -> list[PartOffer]:
        """An offer for each part number (the supplier catalogue)."""
        ...

    def request_parts(self, request: PartsRequest, idempotency_key: str) -> PartsRequestReceipt:
        """Ask a supplier for parts; the same key never creates a second request."""
        ...


class HttpSupplierApi(HttpAdapter):
    """The supplier API over HTTP (`SUPPLIERS_BASE_URL`, `SUPPLIERS_API_KEY`)."""

    def find_parts(self, part_numbers: list[str]) -> list[PartOffer]:
        """GET /parts?partNumber=..."""
        body = self._transport.get("parts", {"partNumber": part_numbers})
        return [PartOffer.from_dict(item) for item in body.get("offers", [])]

    def request_parts(self, request: PartsRequest, idempotency_key: str) -> PartsRequestReceipt:
        """POST /part-requests with the Idempotency-Key header."""
        return self._transport.post_model("part-requests", request, idempotency_key, PartsRequestReceipt)


class SandboxSupplierApi(SandboxAdapter):
    """Suppliers in Azurite (`SANDBOX_FAULTS_SUPPLIERS`): a fixed catalogue and deduped part requests."""

    system = SYSTEM

    def find_parts(self, part_numbers: list[str]) -> list[PartOffer]:
        """Each part goes to one of three suppliers, chosen by a hash of its number."""

        def respond() -> list[PartOffer]:
            offers = []
            for part_number in part_numbers:
                digest = hashlib.sha256(part_number.encode()).digest()
                supplier = SANDBOX_SUPPLIERS[digest[0] % len(SANDBOX_SUPPLIERS)]
                offers.append(
                    PartOffer(
                        part_number=part_number, supplier_id=supplier, lead_time_days=1 + digest[1] % 10
                    )
                )
            return offers

        result: list[PartOffer] = self.sandbox.read("find_parts", part_numbers, respond)
        return result

    def request_parts(self, request: PartsRequest, idempotency_key: str) -> PartsRequestReceipt:
        """Record the request once per key."""

        def respond() -> PartsRequestReceipt:
            return PartsRequestReceipt(
                supplier_request_id=stable_id("sr", idempotency_key),
                supplier_id=request.supplier_id,
                status="accepted",
                parts_count=sum(line.quantity for line in request.parts),
            )

        return self.sandbox.record_once(
            "request_parts", idempotency_key, request, PartsRequestReceipt, respond
        )
