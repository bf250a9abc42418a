"""Inventory store: stock per depot and SKU, with atomic reservations that never over-allocate.

The sandbox keeps one blob per depot/SKU (`inventory/state/<depot>/<sku>`) holding the stock, the
pallets delivered and every reservation by its idempotency key. Each change reads the blob, applies
itself, and writes back with `If-Match: <ETag>`; a concurrent change makes the write fail and the
change is re-applied to the fresh state. So:
- reserved + delivered never exceeds stock, however many requests race;
- a reservation is recorded under its key inside the same write that takes the pallets, so a retry
  or re-delivery with the same key returns the first reservation and never decrements twice;
- release and delivery are transitions of that reservation, idempotent the same way.
A key is used once: after release, reserving again needs a new key (e.g. a new plan revision).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from pydantic import Field

from contracts import ContractModel
from integrations.errors import IntegrationRejectedError, ReservationNotFoundError, TransientIntegrationError
from integrations.http_transport import HttpAdapter
from integrations.sandbox import SandboxAdapter

SYSTEM = "inventory"
# Optimistic concurrency: how often a change is re-applied after losing a race before giving up
# (as a transient error, so the activity retry policy tries again later).
MAX_CONFLICT_RETRIES = 200

ReservationStatus = Literal["reserved", "partial", "short", "released", "delivered"]


class StockLevel(ContractModel):
    """Stock of one SKU at one depot: stock = available + reserved + delivered."""

    depot_id: str
    sku: str
    stock: int
    reserved: int
    delivered: int
    available: int


class Reservation(ContractModel):
    """Pallets held for one key: `requested`, and how many were actually `reserved`."""

    reservation_key: str
    depot_id: str
    sku: str
    requested: int
    reserved: int
    status: ReservationStatus


class ReserveRequest(ContractModel):
    """Body of a reservation request."""

    depot_id: Annotated[str, Field(min_length=1, max_length=64)]
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    pallets: Annotated[int, Field(ge=1, le=100_000)]
    allow_partial: bool = True


class InventoryStore(Protocol):
    """What relief routing needs from inventory."""

    def levels(self) -> list[StockLevel]:
        """Every depot/SKU with stock, reserved, delivered and available pallets."""
        ...

    def set_stock(self, depot_id: str, sku: str, stock: int) -> StockLevel:
        """Set a depot's stock of a SKU (loading the network); keeps existing reservations."""
        ...

    def reserve(self, request: ReserveRequest, idempotency_key: str) -> Reservation:
        """Reserve up to `pallets` (all or nothing unless `allow_partial`); once per key."""
        ...

    def release(self, depot_id: str, sku: str, idempotency_key: str) -> Reservation:
        """Give back what the reservation with this key holds (compensation); idempotent."""
        ...

    def deliver(self, depot_id: str, sku: str, idempotency_key: str) -> Reservation:
        """Mark the reservation with this key delivered; idempotent."""
        ...


class HttpInventoryStore(HttpAdapter):
    """The inventory API over HTTP (`INVENTORY_BASE_URL`, `INVENTORY_API_KEY`)."""

    def levels(self) -> list[StockLevel]:
        """GET /stock."""
        return [StockLevel.from_dict(item) for item in self._transport.get("stock").get("levels", [])]

    def set_stock(self, depot_id: str, sku: str, stock: int) -> StockLevel:
        """POST /stock (keyed by depot/SKU/stock, so a repeat is harmless)."""
        body = {"depotId": depot_id, "sku": sku, "stock": stock}
        return StockLevel.from_dict(self._transport.post("stock", body, f"stock:{depot_id}:{sku}:{stock}"))

    def reserve(self, request: ReserveRequest, idempotency_key: str) -> Reservation:
        """POST /reservations with the Idempotency-Key header."""
        return self._transport.post_model("reservations", request, idempotency_key, Reservation)

    def release(self, depot_id: str, sku: str, idempotency_key: str) -> Reservation:
        """POST /reservations/{key}/release."""
        return self._settle("release", depot_id, sku, idempotency_key)

    def deliver(self, depot_id: str, sku: str, idempotency_key: str) -> Reservation:
        """POST /reservations/{key}/deliver."""
        return self._settle("deliver", depot_id, sku, idempotency_key)

    def _settle(self, action: str, depot_id: str, sku: str, idempotency_key: str) -> Reservation:
        """POST /reservations/{key}/{action}, itself keyed `<key>:<action>`."""
        path = f"reservations/{quote(idempotency_key, safe='')}/{action}"
        body = self._transport.post(path, {"depotId": depot_id, "sku": sku}, f"{idempotency_key}:{action}")
        return Reservation.from_dict(body)


class SandboxInventoryStore(SandboxAdapter):
    """Inventory in Azurite (`SANDBOX_FAULTS_INVENTORY`) with ETag-conditional writes."""

    system = SYSTEM

    def levels(self) -> list[StockLevel]:
        """Read every depot/SKU blob (no faults: this is the operator's view)."""
        prefix = self.sandbox.state_blob("")
        levels = []
        for blob in self.sandbox.container.list_blobs(name_starts_with=prefix):
            data = json.loads(self.sandbox.container.get_blob_client(blob.name).download_blob().readall())
            levels.append(_level(data))
        return sorted(levels, key=lambda level: (level.depot_id, level.sku))

    def set_stock(self, depot_id: str, sku: str, stock: int) -> StockLevel:
        """Create or update the stock; refused below what is already reserved and delivered."""
        if stock < 0:
            raise ValueError("stock must not be negative")

        def change(data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            committed = _reserved(data) + int(data["delivered"])
            if stock < committed:
                raise IntegrationRejectedError(SYSTEM, "set_stock: below reserved + delivered", 409)
            data["stock"] = stock
            return data, True

        return _level(self._update(depot_id, sku, change, create=True)[0])

    def reserve(self, request: ReserveRequest, idempotency_key: str) -> Reservation:
        """Take up to `pallets` from what is available, recorded under the key in the same write."""

        def change(data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            if idempotency_key in data["reservations"]:
                return data, False
            available = int(data["stock"]) - _reserved(data) - int(data["delivered"])
            granted = min(request.pallets, max(available, 0))
            if granted < request.pallets and not request.allow_partial:
                granted = 0
            status: ReservationStatus = (
                "reserved" if granted == request.pallets else "partial" if granted > 0 else "short"
            )
            data["reservations"][idempotency_key] = {
                "requested": request.pallets,
                "pallets": granted,
                "status": status,
            }
            return data, True

        return self._transition("reserve", request.depot_id, request.sku, idempotency_key, change)

    def release(self, depot_id: str, sku: str, idempotency_key: str) -> Reservation:
        """Return the reservation's pallets to available; a second release changes nothing."""
        return self._settle("release", "released", depot_id, sku, idempotency_key)

    def deliver(self, depot_id: str, sku: str, idempotency_key: str) -> Reservation:
        """Move the reservation's pallets to delivered; a second delivery changes nothing."""
        return self._settle("deliver", "delivered", depot_id, sku, idempotency_key)

    # -- internals ----------------------------------------------------------------------------

    def _settle(
        self,
        operation: str,
        outcome: Literal["released", "delivered"],
        depot_id: str,
        sku: str,
        key: str,
    ) -> Reservation:
        """End a held reservation as `outcome`; an ended one (either way) is left as it is."""

        def change(data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            entry = _entry(data, key)
            if entry["status"] in ("released", "delivered"):
                return data, False
            entry["status"] = outcome
            if outcome == "delivered":
                data["delivered"] = int(data["delivered"]) + int(entry["pallets"])
            return data, True

        return self._transition(operation, depot_id, sku, key, change)

    def _transition(
        self,
        operation: str,
        depot_id: str,
        sku: str,
        key: str,
        change: Callable[[dict[str, Any]], tuple[dict[str, Any], bool]],
    ) -> Reservation:
        def apply() -> tuple[dict[str, Any], bool]:
            data, acted = self._update(depot_id, sku, change, create=False)
            return _reservation(data, key).to_dict(), acted

        return Reservation.from_dict(self.sandbox.transition(operation, key, apply))

    def _update(
        self,
        depot_id: str,
        sku: str,
        change: Callable[[dict[str, Any]], tuple[dict[str, Any], bool]],
        *,
        create: bool,
    ) -> tuple[dict[str, Any], bool]:
        blob = self.sandbox.container.get_blob_client(
            self.sandbox.state_blob(f"{quote(depot_id, safe='')}/{quote(sku, safe='')}")
        )
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                download = blob.download_blob()
                data, etag = json.loads(download.readall()), str(download.properties.etag)
            except ResourceNotFoundError:
                if not create:
                    raise IntegrationRejectedError(
                        SYSTEM, "no stock of that SKU at that depot", 404
                    ) from None
                data, etag = (
                    {"depotId": depot_id, "sku": sku, "stock": 0, "delivered": 0, "reservations": {}},
                    "",
                )
            data, acted = change(data)
            if not acted:
                return data, False
            try:
                encoded = json.dumps(data).encode()
                if etag:
                    blob.upload_blob(
                        encoded, overwrite=True, etag=etag, match_condition=MatchConditions.IfNotModified
                    )
                else:
                    blob.upload_blob(encoded, overwrite=False)  # If-None-Match: *
                return data, True
            except (ResourceModifiedError, ResourceExistsError):
                time.sleep(random.uniform(0.005, 0.05))  # jitter, not security
        raise TransientIntegrationError(SYSTEM, "too many concurrent changes; try again")


def _reserved(data: Mapping[str, Any]) -> int:
    return sum(
        int(entry["pallets"])
        for entry in data["reservations"].values()
        if entry["status"] in ("reserved", "partial")
    )


def _entry(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    entry = data["reservations"].get(key)
    if entry is None:
        raise ReservationNotFoundError(SYSTEM, "no reservation with that key", 404)
    result: dict[str, Any] = entry
    return result


def _reservation(data: Mapping[str, Any], key: str) -> Reservation:
    entry = _entry(data, key)
    return Reservation(
        reservation_key=key,
        depot_id=str(data["depotId"]),
        sku=str(data["sku"]),
        requested=int(entry["requested"]),
        reserved=int(entry["pallets"]),
        status=entry["status"],
    )


def _level(data: Mapping[str, Any]) -> StockLevel:
    stock, reserved, delivered = int(data["stock"]), _reserved(data), int(data["delivered"])
    return StockLevel(
        depot_id=str(data["depotId"]),
        sku=str(data["sku"]),
        stock=stock,
        reserved=reserved,
        delivered=delivered,
        available=stock - reserved - delivered,
    )
