"""Relief routing wire contracts: the orchestrator, its activities and its API all import these.

The request and change bodies, the events' payloads (change, shelter confirmation), the
orchestration input and output, the custom status and each activity's work and result models, plus
the registered activity and event names and the shelter-state and stage values the API reads.
Field names, aliases, literal values and defaults are persisted in running instances' histories
and custom status: add fields with defaults, never rename or reorder them
(`python -m ops replay-check`).
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

import workflow_catalogue
from contracts import ContractModel, WorkflowStatus
from contracts.failure import StepFailure
from identity import Actor
from relief_routes.planner import RouteSummary, Shipment

# The registered name and the instance ids are the workflow catalogue's (function_app.py, the API,
# the console and the clients read the same record).
WORKFLOW = RELIEF_ROUTING = workflow_catalogue.RELIEF_ROUTING_ORCHESTRATOR
instance_id_for = workflow_catalogue.RELIEF_ROUTING.instance_id

# External events (value = wire name, raised by api/relief_routing.py).
CHANGE_EVENT = "relief_request_change"
CONFIRMATION_EVENT = "shelter_confirmation"

# Activities (activities/relief_routing.py).
RESERVE_RELIEF_STOCK = "reserve_relief_stock"
SELECT_RELIEF_ROUTES = "select_relief_routes"
NOTIFY_RELIEF_DRIVERS = "notify_relief_drivers"
NOTIFY_RELIEF_SHELTERS = "notify_relief_shelters"
PUBLISH_RELIEF_UPDATE = "publish_relief_update"
RECORD_RELIEF_DELIVERY = "record_relief_delivery"
RELEASE_RELIEF_STOCK = "release_relief_stock"
ESCALATE_RELIEF_CONFIRMATIONS = "escalate_relief_confirmations"

# The attempts the orchestrator gives each strict call (its RETRY policy). A release inside the
# cancellation's task_all gives up on its own one attempt before (activities/relief_routing.py).
STRICT_ATTEMPTS = 5

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
RequestIdentifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
ShelterState = Literal[
    "planning", "awaiting", "confirmed", "unconfirmed", "nothing_to_deliver", "removed", "cancelled"
]
# Resolved shelters; the first two received pallets, so a change can no longer touch them.
RESOLVED_STATES = frozenset({"confirmed", "unconfirmed", "nothing_to_deliver", "removed", "cancelled"})
DELIVERED_STATES = frozenset({"confirmed", "unconfirmed"})
FINAL_STAGES = frozenset({"completed", "cancelled"})


# -- request, change and confirmation contracts ---------------------------------------------------


class ReliefItem(ContractModel):
    """Pallets of one SKU."""

    sku: Identifier
    pallets: Annotated[int, Field(ge=1, le=1000)]


class ShelterRequest(ContractModel):
    """What one shelter needs."""

    shelter_id: Identifier
    items: Annotated[list[ReliefItem], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> Self:
        skus = [item.sku for item in self.items]
        if len(set(skus)) != len(skus):
            raise ValueError("each SKU may appear once per shelter")
        return self

    def wanted(self) -> dict[str, int]:
        """Pallets per SKU."""
        return {item.sku: item.pallets for item in self.items}


def _unique_shelters(shelters: list[ShelterRequest]) -> None:
    ids = [shelter.shelter_id for shelter in shelters]
    if len(set(ids)) != len(ids):
        raise ValueError("each shelter may appear once")


class ReliefRequest(ContractModel):
    """Body of `POST /api/relief-requests`; priority 1 is the most urgent."""

    request_id: RequestIdentifier
    priority: Annotated[int, Field(ge=1, le=5)]
    shelters: Annotated[list[ShelterRequest], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _shelters_unique(self) -> Self:
        _unique_shelters(self.shelters)
        return self


class ReliefWorkflowInput(ContractModel):
    """The orchestration input: the request plus the escalation policy read from app settings.

    `requestedBy`: the principal who started the request (absent on older instances).
    """

    request: ReliefRequest
    confirmation_interval: str
    max_escalations: Annotated[int, Field(ge=1, le=10)]
    requested_by: Actor | None = None
    # Requests started before the audit seal existed (no value) replay without the final step.
    seals_audit_packet: bool = False
    # Requests started before (no value) replay their failure path as recorded: it released only
    # the holdings it knew, even when the failed step was a re-balance that had reserved more.
    releases_unconfirmed_reservations: bool = False


class ReliefChangeRequest(ContractModel):
    """A change: cancel, or add/replace shelters' items and remove shelters (body of `POST .../changes`)."""

    change_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    cancel: bool = False
    shelters: Annotated[list[ShelterRequest], Field(max_length=20)] = Field(default_factory=list)
    remove_shelter_ids: Annotated[list[Identifier], Field(max_length=20)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind_of_change(self) -> Self:
        _unique_shelters(self.shelters)
        if self.cancel and (self.shelters or self.remove_shelter_ids):
            raise ValueError("a cancellation cannot also change shelters")
        if not self.cancel and not self.shelters and not self.remove_shelter_ids:
            raise ValueError("a change needs cancel, shelters or removeShelterIds")
        both = {shelter.shelter_id for shelter in self.shelters} & set(self.remove_shelter_ids)
        if both:
            raise ValueError(f"shelters both changed and removed: {sorted(both)}")
        return self

    def touched_shelters(self) -> list[str]:
        """Every shelter this change adds, re-sizes or removes."""
        return [shelter.shelter_id for shelter in self.shelters] + list(self.remove_shelter_ids)


class ReliefChange(ReliefChangeRequest):
    """The CHANGE_EVENT payload: the requested change and the principal who asked for it.

    `requestedBy` is set by the HTTP edge from the signed-in principal, never taken from a body.
    """

    requested_by: Actor | None = None


class ReceivedItem(ContractModel):
    """Pallets of one SKU a shelter counted on arrival."""

    sku: Identifier
    pallets: Annotated[int, Field(ge=0, le=1000)]


class ShelterConfirmation(ContractModel):
    """A shelter confirms receipt (the CONFIRMATION_EVENT payload); `confirmedBy`: the staff principal."""

    shelter_id: Identifier
    received_items: Annotated[list[ReceivedItem], Field(max_length=20)] = Field(default_factory=list)
    confirmed_by: Actor | None = None


# -- activity contracts ----------------------------------------------------------------------------


class Holding(ContractModel):
    """Pallets held for a shelter by one inventory reservation (its key releases or delivers it)."""

    reservation_key: str
    depot_id: str
    shelter_id: str
    sku: str
    pallets: int

    def shipment(self) -> Shipment:
        """As input to route planning."""
        return Shipment(
            depot_id=self.depot_id, shelter_id=self.shelter_id, sku=self.sku, pallets=self.pallets
        )


class ReliefLine(ContractModel):
    """Pallets wanted for one shelter and SKU."""

    shelter_id: str
    sku: str
    pallets: int


class LineOutcome(ContractModel):
    """Requested and reserved pallets of one line: reserved in full, or explicitly short."""

    shelter_id: str
    sku: str
    requested: int
    reserved: int
    status: Literal["reserved", "short"]


class ReservationWork(ContractModel):
    """Input of RESERVE_RELIEF_STOCK: bring `holdings` in line with `lines`; keys start with `key_prefix`."""

    key_prefix: str
    lines: list[ReliefLine]
    holdings: list[Holding]


class ReservationResult(ContractModel):
    """What is held afterwards, per line, and what was given back."""

    holdings: list[Holding]
    lines: list[LineOutcome]
    released: list[Holding] = Field(default_factory=list)


class RoutingWork(ContractModel):
    """Input of SELECT_RELIEF_ROUTES."""

    request_id: str
    revision: int
    priority: int
    record_key: str
    holdings: list[Holding]


class RoutingResult(ContractModel):
    """The chosen routes (without road paths) and the document that records them in full."""

    routes: list[RouteSummary]
    route_document_id: str
    unreachable: list[Shipment] = Field(default_factory=list)


class DriverNotice(ContractModel):
    """One driver notification and its idempotency key."""

    key: str
    driver_id: str
    route_id: str
    kind: Literal["assigned", "changed", "cancelled"]
    stops: list[str] = Field(default_factory=list)


ShelterNoticeKind = Literal["dispatched", "changed", "cancelled", "unavailable"]


class ShelterNotice(ContractModel):
    """One message to a shelter (its contact is looked up in the activity, never carried here)."""

    key: str
    request_id: str
    shelter_id: str
    kind: ShelterNoticeKind
    pallets: dict[str, int] = Field(default_factory=dict)
    eta_minutes: int | None = None


class DonorUpdateWork(ContractModel):
    """One donor portal update and its idempotency key."""

    key: str
    request_id: str
    status: str
    pallets_reserved: int = 0
    pallets_delivered: int = 0
    note: str = ""


class EscalationNotice(ContractModel):
    """One escalation step of a shelter's missing confirmation."""

    key: str
    request_id: str
    shelter_id: str
    level: int
    final: bool


class StockWork(ContractModel):
    """Input of RECORD_RELIEF_DELIVERY and RELEASE_RELIEF_STOCK.

    `unconfirmed` (release only): a re-balance that failed for good; the release also gives back
    whatever that re-balance reserved before it failed (its answer never came back).
    """

    holdings: list[Holding]
    unconfirmed: ReservationWork | None = None


# -- status and outcome ----------------------------------------------------------------------------


class ShelterProgress(ContractModel):
    """Confirmation state of one shelter, as shown in the custom status."""

    state: ShelterState
    escalations: int = 0


class ReliefStatus(WorkflowStatus):
    """Custom status: stage, what it waits for, next escalation, plan revision, per-shelter state."""

    revision: int = 0
    reservation: Literal["fully_reserved", "short"] | None = None
    pending_changes: int = 0
    shelters: dict[str, ShelterProgress] = Field(default_factory=dict)
    unsent: list[str] | None = None
    failure: StepFailure | None = None


class RejectedChange(ContractModel):
    """A change the workflow did not apply, and why."""

    change_id: str
    reason: str


class ReliefOutcome(ContractModel):
    """The orchestration output."""

    request_id: str
    outcome: Literal["completed", "cancelled"]
    reservation: Literal["fully_reserved", "short"] | None
    revision: int
    lines: list[LineOutcome]
    routes: list[RouteSummary]
    route_document_id: str | None
    shelters: dict[str, ShelterProgress]
    pallets_delivered: int
    pallets_released: int
    applied_changes: list[str]
    rejected_changes: list[RejectedChange]
    discrepancies: dict[str, dict[str, int]] = Field(default_factory=dict)
    # Who confirmed each shelter's delivery (left out when no confirmation named a principal).
    confirmed_by: dict[str, Actor] | None = None
    requested_by: Actor | None = None
    unsent_notifications: list[str] | None = None
