# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""Side effects of relief routing: inventory, route records, drivers, shelters, donor portal.

Every activity is safe to run twice with the same input (retries, re-delivery, kill -9, the
devhost's --deliver-activities-twice), and returns the same result when it does:
- inventory changes are keyed by reservation key inside the inventory's own ETag-conditional
  write (a repeated reserve returns the recorded reservation; release and deliver are transitions
  of it), so stock is never taken or given back twice;
- messages, portal updates and the route document go through the effect ledger with the key the
  orchestrator derived (instance id + step + item + plan revision), and the outside system
  dedupes by the same key.
Shelter and operations-desk contacts are read from the network data here and never enter
orchestration history.

Messages and portal updates are best effort (orchestrators/failure_policy.py). These activities, and
the release, run inside the orchestrator's `task_all`s, so they give up on their own rather than
fail: each failed attempt is counted in the ledger (`count_failed_attempt`), and at the give-up
attempt the activity returns what it did plus `gaveUp`, `unsent` (the keys it could not handle) and
a reason. (A `task_all` that fails leaves its other calls' retries running with nobody waiting, and
SDK 1.7 then mismatches later completions with new tasks.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

import azure.durable_functions as df

from contracts import ContractModel
from contracts.failure import BEST_EFFORT_GIVE_UP_AT_ATTEMPT, failure_reason
from contracts.relief_routing import (
    ESCALATE_RELIEF_CONFIRMATIONS,
    NOTIFY_RELIEF_DRIVERS,
    NOTIFY_RELIEF_SHELTERS,
    PUBLISH_RELIEF_UPDATE,
    RECORD_RELIEF_DELIVERY,
    RELEASE_RELIEF_STOCK,
    RESERVE_RELIEF_STOCK,
    SELECT_RELIEF_ROUTES,
    STRICT_ATTEMPTS,
    WORKFLOW,
    DonorUpdateWork,
    DriverNotice,
    EscalationNotice,
    Holding,
    LineOutcome,
    ReservationResult,
    ReservationWork,
    RoutingResult,
    RoutingWork,
    ShelterNotice,
    StockWork,
)
from idempotency import EffectLedger
from integrations import ReservationNotFoundError, integrations_from_settings
from integrations.customer_messaging import CustomerMessage
from integrations.donor_portal import DonorUpdate
from integrations.driver_messaging import DriverNotification
from integrations.inventory import InventoryStore, Reservation, ReserveRequest
from relief_routes import ReliefNetwork, candidate_depots, network_from_settings, plan_routes, service_regions
from relief_routes.network import ContactPoint, Shelter
from relief_routes.stock import load_network_stock
from telemetry import activity_log, instance_id_from_key

bp = df.Blueprint()

JsonDict = dict[str, Any]
# A release inside the cancellation's task_all reports instead of failing at its strict policy's last
# attempt but one (the request then ends Failed and names the pallets that stay reserved).
STRICT_GIVE_UP_AT_ATTEMPT = STRICT_ATTEMPTS - 1


# -- reservations ----------------------------------------------------------------------------------


def reservation_key(prefix: str, shelter_id: str, sku: str, depot_id: str) -> str:
    """The key of a line's reservation at one depot: `<prefix>:<shelter>:<sku>:<depot>`."""
    return f"{prefix}:{shelter_id}:{sku}:{depot_id}"


def kept_part_key(prefix: str, holding: Holding) -> str:
    """The key of the part of `holding` a re-balance keeps when it splits it (`...:keep`)."""
    return f"{reservation_key(prefix, holding.shelter_id, holding.sku, holding.depot_id)}:keep"


def possible_reservations(network: ReliefNetwork, work: ReservationWork) -> list[tuple[str, str, str]]:
    """(depot, sku, key) of every reservation `work` may have made, whether or not its answer came back.

    The keys are a function of the work and the network (see `rebalance_reservations`), so a
    re-balance that failed for good can be undone without knowing how far it got.
    """
    possible = [
        (depot_id, line.sku, reservation_key(work.key_prefix, line.shelter_id, line.sku, depot_id))
        for line in work.lines
        for depot_id in candidate_depots(network, line.shelter_id, line.sku)
    ]
    possible += [(h.depot_id, h.sku, kept_part_key(work.key_prefix, h)) for h in work.holdings]
    return possible


class InventoryCalls:
    """Inventory calls whose answers are kept in the effect ledger (`<reservation key>:<operation>`).

    An activity that makes many calls runs all of them again when it is retried; with the answers
    kept, the retry asks only what is still open, so a transient fault of one call costs one call,
    not the whole list again (each repeated call could meet its own fault). The inventory itself
    dedupes by reservation key, so a lost answer costs a repeat, never a second reservation.
    """

    def __init__(self, inventory: InventoryStore, ledger: EffectLedger) -> None:
        self.inventory = inventory
        self.ledger = ledger

    def reserve(self, request: ReserveRequest, key: str) -> Reservation:
        def call() -> JsonDict:
            return self.inventory.reserve(request, key).to_dict()

        identity = {"operation": "reserve", "depotId": request.depot_id, "sku": request.sku}
        return Reservation.from_dict(self.ledger.run_once(f"{key}:reserve", call, request=identity).result)

    def release(self, depot_id: str, sku: str, key: str) -> int:
        """Give the reservation back; the pallets it held (0 when the inventory does not know it)."""

        def call() -> JsonDict:
            try:
                return {"found": True, "pallets": self.inventory.release(depot_id, sku, key).reserved}
            except ReservationNotFoundError:
                return {"found": False, "pallets": 0}

        identity = {"operation": "release", "depotId": depot_id, "sku": sku}
        answer = self.ledger.run_once(f"{key}:release", call, request=identity).result
        return int(answer["pallets"])

    def deliver(self, holding: Holding) -> None:
        def call() -> JsonDict:
            deliver_holding(self.inventory, holding)
            return {"delivered": holding.pallets}

        identity = {"operation": "deliver", "depotId": holding.depot_id, "sku": holding.sku}
        self.ledger.run_once(f"{holding.reservation_key}:deliver", call, request=identity)


def rebalance_reservations(
    network: ReliefNetwork, inventory: InventoryCalls, work: ReservationWork
) -> ReservationResult:
    """Bring the holdings in line with the wanted lines: release surplus, then reserve what is missing.

    Deterministic for a given input and inventory history: depots are tried in the planner's fixed
    order and every reservation key is `<prefix>:<shelter>:<sku>:<depot>[:keep]`, so a repeated run
    meets its own recorded reservations and takes nothing twice.
    1. Surplus (a line asks for fewer pallets, or is gone): whole reservations are released, farthest
       depot first; one that is larger than the surplus is split by reserving the part to keep at
       the same depot (key `...:keep`) before releasing it, so the shelter does not lose its place.
    2. Shortfall: reserve from the candidate depots nearest first, partial grants allowed; what no
       depot has is left short and reported.
    """
    wanted = {(line.shelter_id, line.sku): line.pallets for line in work.lines}
    order = {
        (line.shelter_id, line.sku): candidate_depots(network, line.shelter_id, line.sku)
        for line in work.lines
    }
    kept: list[Holding] = []
    released: list[Holding] = []
    by_line: dict[tuple[str, str], list[Holding]] = {}
    for holding in work.holdings:
        by_line.setdefault((holding.shelter_id, holding.sku), []).append(holding)
    for line_key, holdings in sorted(by_line.items()):
        surplus = sum(h.pallets for h in holdings) - wanted.get(line_key, 0)
        rank = {depot_id: index for index, depot_id in enumerate(order.get(line_key, []))}
        for holding in sorted(
            holdings, key=lambda h: (rank.get(h.depot_id, len(rank)), h.reservation_key), reverse=True
        ):
            if surplus <= 0:
                kept.append(holding)
                continue
            if holding.pallets > surplus:
                keep = holding.pallets - surplus
                key = kept_part_key(work.key_prefix, holding)
                reservation = inventory.reserve(
                    ReserveRequest(depot_id=holding.depot_id, sku=holding.sku, pallets=keep), key
                )
                if reservation.reserved > 0:
                    kept.append(
                        holding.model_copy(update={"reservation_key": key, "pallets": reservation.reserved})
                    )
            inventory.release(holding.depot_id, holding.sku, holding.reservation_key)
            released.append(holding)
            surplus -= holding.pallets
    outcomes: list[LineOutcome] = []
    for line in work.lines:
        line_key = (line.shelter_id, line.sku)
        held = sum(h.pallets for h in kept if (h.shelter_id, h.sku) == line_key)
        for depot_id in order[line_key]:
            if held >= line.pallets:
                break
            key = reservation_key(work.key_prefix, line.shelter_id, line.sku, depot_id)
            reservation = inventory.reserve(
                ReserveRequest(depot_id=depot_id, sku=line.sku, pallets=line.pallets - held), key
            )
            if reservation.reserved > 0:
                kept.append(
                    Holding(
                        reservation_key=key,
                        depot_id=depot_id,
                        shelter_id=line.shelter_id,
                        sku=line.sku,
                        pallets=reservation.reserved,
                    )
                )
                held += reservation.reserved
        outcomes.append(
            LineOutcome(
                shelter_id=line.shelter_id,
                sku=line.sku,
                requested=line.pallets,
                reserved=held,
                status="reserved" if held >= line.pallets else "short",
            )
        )
    kept.sort(key=lambda h: (h.shelter_id, h.sku, h.depot_id, h.reservation_key))
    return ReservationResult(holdings=kept, lines=outcomes, released=released)


@bp.activity_trigger(input_name="work", activity=RESERVE_RELIEF_STOCK)
def reserve_relief_stock(work: JsonDict) -> JsonDict:
    """Reserve (and release surplus) so the request's holdings match its current lines."""
    request = ReservationWork.from_dict(work)
    inventory = integrations_from_settings().inventory
    network = network_from_settings()
    ledger = EffectLedger.from_settings()
    load_network_stock(network, inventory, ledger)
    result = rebalance_reservations(network, InventoryCalls(inventory, ledger), request)
    # `region` (the shelters' service depots) is the dimension the workbook groups relief requests by.
    region = ",".join(service_regions(network, {line.shelter_id for line in request.lines}))
    activity_log(WORKFLOW, "reserve", instance_id_from_key(request.key_prefix), region=region).info(
        "reservations balanced",
        held=sum(h.pallets for h in result.holdings),
        released=sum(h.pallets for h in result.released),
    )
    return result.to_dict()


@bp.activity_trigger(input_name="work", activity=RELEASE_RELIEF_STOCK)
def release_relief_stock(work: JsonDict) -> JsonDict:
    """Give every listed reservation back (compensation); a second release changes nothing.

    With `unconfirmed` (a re-balance that failed for good), also every reservation that re-balance
    may have made before it failed: its keys follow from its work, and one the inventory does not
    know was never made.
    """
    request = StockWork.from_dict(work)
    ledger = EffectLedger.from_settings()
    calls = InventoryCalls(integrations_from_settings().inventory, ledger)
    # (depot, sku, key, pallets held: known for listed holdings, counted from the answer otherwise)
    targets: list[tuple[str, str, str, int | None]] = [
        (h.depot_id, h.sku, h.reservation_key, h.pallets) for h in request.holdings
    ]
    if request.unconfirmed is not None:
        listed = {h.reservation_key for h in request.holdings}
        targets += [
            (depot_id, sku, key, None)
            for depot_id, sku, key in possible_reservations(network_from_settings(), request.unconfirmed)
            if key not in listed
        ]
    released = 0
    done = 0
    try:
        for depot_id, sku, key, pallets in targets:
            found = calls.release(depot_id, sku, key)
            if pallets is not None and not found:
                activity_log(WORKFLOW, "release", instance_id_from_key(key)).warning(
                    "inventory does not know the reservation: nothing to release", key=key
                )
            released += pallets if pallets is not None else found
            done += 1
    except Exception as error:
        # Runs inside the cancellation's task_all: at its last counted attempt it reports what it
        # could not release instead of failing (see the module docstring); the request then fails.
        unsent = [key for _, _, key, _ in targets[done:]]
        return _give_up_or_raise(ledger, error, unsent, {"released": released}, STRICT_GIVE_UP_AT_ATTEMPT)
    return {"released": released}


@bp.activity_trigger(input_name="work", activity=RECORD_RELIEF_DELIVERY)
def record_relief_delivery(work: JsonDict) -> JsonDict:
    """Move every listed reservation to delivered; a second delivery changes nothing."""
    request = StockWork.from_dict(work)
    calls = InventoryCalls(integrations_from_settings().inventory, EffectLedger.from_settings())
    for holding in request.holdings:
        calls.deliver(holding)
    return {"delivered": sum(holding.pallets for holding in request.holdings)}


def deliver_holding(inventory: InventoryStore, holding: Holding) -> None:
    """Book a reservation as delivered. One the inventory no longer knows (its storage lost the
    write) is made again under the same key first, so stock = available + reserved + delivered holds."""
    try:
        inventory.deliver(holding.depot_id, holding.sku, holding.reservation_key)
        return
    except ReservationNotFoundError:
        pass
    activity_log(WORKFLOW, "deliver", instance_id_from_key(holding.reservation_key)).warning(
        "inventory lost the reservation: reserved again under its key before delivery",
        key=holding.reservation_key,
    )
    request = ReserveRequest(depot_id=holding.depot_id, sku=holding.sku, pallets=holding.pallets)
    inventory.reserve(request, holding.reservation_key)
    inventory.deliver(holding.depot_id, holding.sku, holding.reservation_key)


# -- routes ----------------------------------------------------------------------------------------


@bp.activity_trigger(input_name="work", activity=SELECT_RELIEF_ROUTES)
def select_relief_routes(work: JsonDict) -> JsonDict:
    """Plan the routes for the held pallets and record the full plan (with road paths) as a document."""
    request = RoutingWork.from_dict(work)
    network = network_from_settings()
    plan = plan_routes(
        network,
        request.request_id,
        request.revision,
        request.priority,
        [holding.shipment() for holding in request.holdings],
    )
    content = json.dumps(plan.to_dict(), sort_keys=True, separators=(",", ":")).encode()
    documents = integrations_from_settings().documents
    name = f"relief-routes-{request.request_id}-r{request.revision}.json"
    receipt = (
        EffectLedger.from_settings()
        .run_once(
            request.record_key,
            lambda: documents.store(name, content, "application/json", request.record_key).to_dict(),
            request=work,
        )
        .result
    )
    return RoutingResult(
        routes=[route.summary() for route in plan.routes],
        route_document_id=str(receipt["documentId"]),
        unreachable=plan.unreachable,
    ).to_dict()


# -- messages --------------------------------------------------------------------------------------


@bp.activity_trigger(input_name="work", activity=NOTIFY_RELIEF_DRIVERS)
def notify_relief_drivers(work: JsonDict) -> JsonDict:
    """Tell drivers about assigned, changed or cancelled routes, once per key."""
    notices = [DriverNotice.from_dict(item) for item in work["notices"]]
    dispatch = integrations_from_settings().driver_messaging
    ledger = EffectLedger.from_settings()

    def notify(notice: DriverNotice) -> Iterator[str]:
        notification = DriverNotification(
            driver_id=notice.driver_id, route_id=notice.route_id, kind=notice.kind, stops=notice.stops
        )
        effect = _bind(dispatch.notify, notification, notice.key)
        yield ledger.run_once(notice.key, effect, request=notice.to_dict()).result["notificationId"]

    return _each_notice_once(ledger, notices, notify, "notified")


@bp.activity_trigger(input_name="work", activity=NOTIFY_RELIEF_SHELTERS)
def notify_relief_shelters(work: JsonDict) -> JsonDict:
    """Message each shelter about what is coming (or changed, cancelled, unavailable), once per key."""
    shelters = _ShelterMessages()

    def send(notice: ShelterNotice, shelter: Shelter) -> Iterator[str]:
        parameters = {
            "requestId": notice.request_id,
            "shelter": shelter.name,
            "pallets": _pallets_text(notice),
        }
        if notice.eta_minutes is not None:
            parameters["etaMinutes"] = str(notice.eta_minutes)
        yield shelters.send_once(shelter.contact, f"relief_{notice.kind}", parameters, notice.key, notice)

    return shelters.send_each(work, ShelterNotice.from_dict, send)


@bp.activity_trigger(input_name="work", activity=ESCALATE_RELIEF_CONFIRMATIONS)
def escalate_relief_confirmations(work: JsonDict) -> JsonDict:
    """Remind late shelters; at the last step also hand the shelter to the operations desk."""
    shelters = _ShelterMessages()

    def escalate(notice: EscalationNotice, shelter: Shelter) -> Iterator[str]:
        parameters = {"requestId": notice.request_id, "shelter": shelter.name, "level": str(notice.level)}
        yield shelters.send_once(
            shelter.contact, "relief_confirmation_reminder", parameters, f"{notice.key}:shelter", notice
        )
        if notice.final:
            desk = shelters.network.operations_contact
            yield shelters.send_once(
                desk, "relief_confirmation_unresolved", parameters, f"{notice.key}:desk", notice
            )
        activity_log(WORKFLOW, "escalate", instance_id_from_key(notice.key)).info(
            "confirmation escalated", shelter_id=notice.shelter_id, level=notice.level, final=notice.final
        )

    return shelters.send_each(work, EscalationNotice.from_dict, escalate)


@bp.activity_trigger(input_name="work", activity=PUBLISH_RELIEF_UPDATE)
def publish_relief_update(work: JsonDict) -> JsonDict:
    """Publish the request's status to the donor portal, once per key."""
    request = DonorUpdateWork.from_dict(work)
    portal = integrations_from_settings().donor_portal
    update = DonorUpdate(
        request_id=request.request_id,
        status=request.status,
        pallets_reserved=request.pallets_reserved,
        pallets_delivered=request.pallets_delivered,
        note=request.note[:500],
    )
    ledger = EffectLedger.from_settings()
    try:
        return ledger.run_once(request.key, _bind(portal.publish, update, request.key), request=work).result
    except Exception as error:
        return _give_up_or_raise(ledger, error, [request.key], {})


# -- helpers ---------------------------------------------------------------------------------------


class _KeyedNotice(Protocol):
    """A notice whose effects run once under its `key`."""

    @property
    def key(self) -> str: ...


_Notice = TypeVar("_Notice", bound=_KeyedNotice)


def _each_notice_once(
    ledger: EffectLedger,
    notices: Sequence[_Notice],
    send: Callable[[_Notice], Iterator[str]],
    receipts_name: str,
) -> JsonDict:
    """Send the notices in order (`send` yields each receipt); `{receipts_name: [...]}`.

    A failure stops the batch: what was sent stays sent (the ledger keeps each effect to once),
    and `_give_up_or_raise` either retries the activity or, at the give-up attempt, returns the
    receipts so far with the keys of the notices not finished.
    """
    receipts: list[str] = []
    finished = 0
    try:
        for notice in notices:
            for receipt in send(notice):
                receipts.append(receipt)
            finished += 1
    except Exception as error:
        unsent = [notice.key for notice in notices[finished:]]
        return _give_up_or_raise(ledger, error, unsent, {receipts_name: receipts})
    return {receipts_name: receipts}


def _give_up_or_raise(
    ledger: EffectLedger,
    error: Exception,
    unsent: list[str],
    sent: JsonDict,
    give_up_at: int = BEST_EFFORT_GIVE_UP_AT_ATTEMPT,
) -> JsonDict:
    """Count the failed attempt; at the give-up attempt return what was done and what was not, else raise.

    The count is keyed by the first unsent key (what the retry starts with), so it survives restarts
    and re-deliveries; when storage itself is down the count fails and the activity is retried.
    """
    attempts = ledger.count_failed_attempt(f"{unsent[0]}:attempts") if unsent else 0
    if attempts < give_up_at:
        raise error
    reason = f"gave up after {attempts} attempts: {failure_reason(error)}"
    activity_log(WORKFLOW, "give_up", instance_id_from_key(unsent[0])).warning(
        "activity gave up after its attempts", unsent=str(len(unsent)), reason=reason
    )
    return {**sent, "gaveUp": True, "unsent": unsent, "reason": reason}


def _bind(call: Callable[[Any, str], Any], request: Any, key: str) -> Callable[[], JsonDict]:
    """`call(request, key).to_dict()` as a ledger effect (binds the loop's current values)."""

    def effect() -> JsonDict:
        result: JsonDict = call(request, key).to_dict()
        return result

    return effect


class _ShelterNotice(_KeyedNotice, Protocol):
    """A notice to one shelter."""

    @property
    def shelter_id(self) -> str: ...


_ToShelter = TypeVar("_ToShelter", bound=_ShelterNotice)


class _ShelterMessages:
    """Messages to shelters (and the operations desk) through customer messaging, each once per key:
    the contacts come from the relief network, the effects go through the ledger."""

    def __init__(self) -> None:
        self.network = network_from_settings()
        self.messaging = integrations_from_settings().customer_messaging
        self.ledger = EffectLedger.from_settings()

    def send_each(
        self,
        work: JsonDict,
        parse: Callable[[JsonDict], _ToShelter],
        send: Callable[[_ToShelter, Shelter], Iterator[str]],
    ) -> JsonDict:
        """`send(notice, its shelter)` for each of `work["notices"]`, in order (`_each_notice_once`)."""
        notices = [parse(item) for item in work["notices"]]

        def to_shelter(notice: _ToShelter) -> Iterator[str]:
            return send(notice, self.network.shelter(notice.shelter_id))

        return _each_notice_once(self.ledger, notices, to_shelter, "sent")

    def send_once(
        self,
        contact: ContactPoint,
        template: str,
        parameters: dict[str, str],
        key: str,
        notice: ContractModel,
    ) -> str:
        """Send the message under `key` (the ledger records `notice` as its request); the message id."""
        message = CustomerMessage(
            channel=contact.channel, to=contact.to, template=template, parameters=parameters
        )
        effect = _bind(self.messaging.send, message, key)
        return str(self.ledger.run_once(key, effect, request=notice.to_dict()).result["messageId"])


def _pallets_text(notice: ShelterNotice) -> str:
    return ", ".join(f"{sku}: {count}" for sku, count in sorted(notice.pallets.items())) or "none"
