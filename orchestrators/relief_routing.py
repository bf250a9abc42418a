# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""Relief routing: pallets from depots to storm shelters, reserved atomically, routed, confirmed.

Business steps of one relief request (instance `relief-<requestId>`):
1. Reserve: take the requested pallets per shelter and SKU from the nearest depots that stock them,
   spilling over to farther depots; what no depot has is recorded as short (never over-allocated).
2. Route: pick trucks, stops and road paths for what was reserved (shortest paths, truck capacity,
   request priority) and record the chosen routes as a document.
3. Dispatch: tell each driver about their route, tell each shelter what is coming (or that nothing
   is), and update the donor portal.
4. Confirm: wait for each shelter to confirm receipt; a confirmation moves its pallets to delivered.
   A durable timer escalates a late shelter every `confirmationInterval`; after `maxEscalations`
   steps the shelter is resolved as unconfirmed (the operations desk takes over, and its pallets,
   which left the depot, are booked as delivered).
5. Complete: once every shelter is confirmed or resolved, publish the final donor update.
6. Seal the audit packet (requests started with `sealsAuditPacket`), completed or cancelled: the
   last step writes the signed packet and the donor delivery report once (audit_packets/seal_step.py).
A change (add, remove or re-size shelters) re-plans at any point: it reserves the extra, releases
the surplus, re-routes and tells only the affected drivers and shelters. A cancellation releases
everything still held (compensation) and tells drivers and shelters.

Failure policy (orchestrators/failure_policy.py): messages to drivers, shelters and the operations
desk and donor-portal updates are best effort (the request goes on and records what stayed unsent);
reservations, the route record, delivery booking and releases are strict. When a strict step still
fails, the request releases every pallet it holds, tells the dispatched drivers and shelters and
the donor portal (best effort), records what it undid and what stays done, and ends Failed.

How events are never lost (the wait rule of orchestrators/steps.py, proven in
tests/devhost/test_event_waits.py):
- Every `yield` is a `task_any` of new tasks only: the work (or timer) plus a *fresh* wait for
  each event name (`race_with_events`). So an event always finds an open wait and is never parked:
  of several shelters' confirmations that arrive while an activity runs, the SDK would keep only
  the last parked one (rule 3).
- A task that is already running is never yielded again inside a new `task_any` (the extension's
  replay would not count its completion, and the next step would never be scheduled). When an
  event wins the race, the same activity is simply scheduled again: every activity is idempotent
  by its keys, so the second call returns what the first did.
- Events are queued in the orchestration's state and applied at safe points: after a reservation,
  after routing, between dispatch steps and while waiting for confirmations.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskBase, TaskState
from pydantic import ValidationError

from audit_packets.seal_step import SEAL_STEP, seal_audit_packet
from contracts import ContractModel, parse_duration, parse_event, utc_text
from contracts.failure import StepFailure, failure_reason
from contracts.relief_routing import (
    CHANGE_EVENT,
    CONFIRMATION_EVENT,
    DELIVERED_STATES,
    ESCALATE_RELIEF_CONFIRMATIONS,
    NOTIFY_RELIEF_DRIVERS,
    NOTIFY_RELIEF_SHELTERS,
    PUBLISH_RELIEF_UPDATE,
    RECORD_RELIEF_DELIVERY,
    RELEASE_RELIEF_STOCK,
    RELIEF_ROUTING,
    RESERVE_RELIEF_STOCK,
    RESOLVED_STATES,
    SELECT_RELIEF_ROUTES,
    STRICT_ATTEMPTS,
    WORKFLOW,
    DonorUpdateWork,
    DriverNotice,
    EscalationNotice,
    Holding,
    LineOutcome,
    RejectedChange,
    ReliefChange,
    ReliefLine,
    ReliefOutcome,
    ReliefStatus,
    ReliefWorkflowInput,
    ReservationResult,
    ReservationWork,
    RoutingResult,
    RoutingWork,
    ShelterConfirmation,
    ShelterNotice,
    ShelterNoticeKind,
    ShelterProgress,
    ShelterState,
    StockWork,
)
from idempotency import orchestration_effect_key
from identity import Actor
from orchestrators.failure_policy import (
    BEST_EFFORT_RETRY,
    log_gave_up,
    log_process_failure,
)
from orchestrators.steps import call_task, publish_status, race_with_events
from relief_routes.planner import RouteSummary
from telemetry import orchestration_log

bp = df.Blueprint()


# Every outside call goes through an adapter with a 30 s client timeout; 5 attempts 5 s apart ride
# out a brief outage (503s, throttling) of inventory or the document store. The activities are
# idempotent, so a retry never repeats an effect. Messages and portal updates use the failure
# policy's BEST_EFFORT_RETRY instead.
STRICT_RETRY = df.RetryOptions(
    first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=STRICT_ATTEMPTS
)


class ReleaseGaveUpError(Exception):
    """The release of held pallets gave up after its attempts (the request then ends Failed)."""


# -- the orchestration's working state (rebuilt identically on every replay) ----------------------


@dataclass
class _Shelter:
    state: ShelterState = "planning"
    escalations: int = 0
    due: datetime | None = None
    dispatch_revision: int = 0
    confirmed_by: Actor | None = None


@dataclass
class _Run:
    request_id: str
    priority: int
    interval: timedelta
    max_escalations: int
    desired: dict[str, dict[str, int]]
    shelters: dict[str, _Shelter]
    revision: int = 0
    planned_for: dict[str, dict[str, int]] | None = None
    planned_revision: int = 0
    holdings: list[Holding] = field(default_factory=list)
    delivered: list[Holding] = field(default_factory=list)
    lines: list[LineOutcome] = field(default_factory=list)
    planned_routes: list[RouteSummary] = field(default_factory=list)
    dispatched_routes: list[RouteSummary] = field(default_factory=list)
    dispatched_revision: int = 0
    route_document_id: str | None = None
    pending_changes: list[ReliefChange] = field(default_factory=list)
    pending_confirmations: list[ShelterConfirmation] = field(default_factory=list)
    applied_changes: list[str] = field(default_factory=list)
    rejected_changes: list[RejectedChange] = field(default_factory=list)
    discrepancies: dict[str, dict[str, int]] = field(default_factory=dict)
    cancel_requested: bool = False
    pallets_released: int = 0
    requested_by: Actor | None = None
    unsent: list[str] = field(default_factory=list)
    sealing: bool = False
    stage: str = "accepted"
    waiting_for: str | None = None
    deadline: datetime | None = None
    seals_audit_packet: bool = False
    releases_unconfirmed: bool = False
    # The re-balance in progress (set while RESERVE_RELIEF_STOCK runs): what to undo if it fails.
    reserving: ReservationWork | None = None

    @classmethod
    def start(cls, workflow_input: ReliefWorkflowInput) -> _Run:
        request = workflow_input.request
        return cls(
            request_id=request.request_id,
            priority=request.priority,
            interval=parse_duration(workflow_input.confirmation_interval),
            max_escalations=workflow_input.max_escalations,
            desired={shelter.shelter_id: shelter.wanted() for shelter in request.shelters},
            shelters={shelter.shelter_id: _Shelter() for shelter in request.shelters},
            requested_by=workflow_input.requested_by,
            seals_audit_packet=workflow_input.seals_audit_packet,
            releases_unconfirmed=workflow_input.releases_unconfirmed_reservations,
        )

    def open_desired(self) -> dict[str, dict[str, int]]:
        """What is wanted for shelters that have not received their pallets yet."""
        return {
            shelter_id: dict(items)
            for shelter_id, items in self.desired.items()
            if self.shelters[shelter_id].state not in DELIVERED_STATES
        }

    def needs_plan(self) -> bool:
        """Whether what is wanted differs from what the last reservation was made for."""
        if self.planned_for is None:
            return True
        planned = {
            shelter_id: items
            for shelter_id, items in self.planned_for.items()
            if self.shelters[shelter_id].state not in DELIVERED_STATES
        }
        return planned != self.open_desired()

    def has_new_changes(self) -> bool:
        """Whether a queued change is one not applied or rejected yet (a client's retry of an applied
        change is a duplicate: it must not hold up routing)."""
        seen = set(self.applied_changes) | {rejected.change_id for rejected in self.rejected_changes}
        return any(change.change_id not in seen for change in self.pending_changes)

    def reservation_state(self) -> Literal["fully_reserved", "short"] | None:
        if not self.lines:
            return None
        return "fully_reserved" if all(line.status == "reserved" for line in self.lines) else "short"

    def shelter_progress(self) -> dict[str, ShelterProgress]:
        return {
            shelter_id: ShelterProgress(state=shelter.state, escalations=shelter.escalations)
            for shelter_id, shelter in self.shelters.items()
        }

    def held_pallets(self) -> int:
        return sum(holding.pallets for holding in self.holdings)

    def delivered_pallets(self) -> int:
        return sum(holding.pallets for holding in self.delivered)

    def awaiting(self) -> list[str]:
        return [shelter_id for shelter_id, shelter in self.shelters.items() if shelter.state == "awaiting"]

    def all_resolved(self) -> bool:
        return all(shelter.state in RESOLVED_STATES for shelter in self.shelters.values())


# -- the orchestrator -----------------------------------------------------------------------------


@bp.orchestration_trigger(context_name="context", orchestration=RELIEF_ROUTING)
def relief_routing(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run one relief request; input is `ReliefWorkflowInput` as a dict, output `ReliefOutcome`.

    Each pass of the loop first applies what arrived (changes, then confirmations), then does
    the next piece of work; a wait happens only when nothing is left but confirmations.
    """
    run = _Run.start(ReliefWorkflowInput.from_dict(context.get_input()))
    journal = orchestration_log(context, WORKFLOW)
    journal.info("relief request accepted", request_id=run.request_id, priority=str(run.priority))
    try:
        while True:
            _apply_changes(run)
            if run.cancel_requested:
                return (yield from _cancel(context, run))
            if run.needs_plan():
                yield from _plan(context, run)
            elif run.planned_revision != run.revision:
                # Reserved for this revision, routing skipped for a change that then changed nothing.
                yield from _route(context, run)
            elif run.dispatched_revision != run.planned_revision:
                yield from _dispatch(context, run)
            elif run.pending_confirmations:
                yield from _record_confirmations(context, run)
            elif run.all_resolved():
                return (yield from _complete(context, run))
            else:
                yield from _wait_for_confirmations(context, run)
    except Exception as error:
        yield from _fail(context, run, error)
        raise


# -- steps ------------------------------------------------------------------------------------------


def _plan(context: df.DurableOrchestrationContext, run: _Run) -> Generator[Any, Any, None]:
    """Steps 1-2 for a new plan revision: reserve (or re-balance), then route unless changes wait."""
    run.revision += 1
    target = run.open_desired()
    _publish_status(context, run, "reserving")
    lines = [
        ReliefLine(shelter_id=shelter_id, sku=sku, pallets=pallets)
        for shelter_id, items in target.items()
        for sku, pallets in items.items()
    ]
    open_holdings = [h for h in run.holdings if run.shelters[h.shelter_id].state not in DELIVERED_STATES]
    run.reserving = ReservationWork(
        key_prefix=orchestration_effect_key(context, "reserve_stock", f"r{run.revision}"),
        lines=lines,
        holdings=open_holdings,
    )
    reservation_work = run.reserving.to_dict()
    reserved = ReservationResult.from_dict(
        (
            yield from _until_done(
                context,
                run,
                lambda: call_task(context, RESERVE_RELIEF_STOCK, reservation_work, STRICT_RETRY),
            )
        )
    )
    run.reserving = None
    run.holdings = reserved.holdings
    run.lines = reserved.lines
    run.pallets_released += sum(holding.pallets for holding in reserved.released)
    run.planned_for = target
    orchestration_log(context, WORKFLOW, "reserve").info(
        "stock reserved", revision=str(run.revision), reservation=str(run.reservation_state())
    )
    if run.has_new_changes():
        return  # a newer change is waiting: re-balance first, route once
    yield from _route(context, run)


def _route(context: df.DurableOrchestrationContext, run: _Run) -> Generator[Any, Any, None]:
    """Step 2 for the reserved revision: choose and record the routes (none when nothing is held)."""
    if not run.holdings:  # nothing to drive anywhere
        run.planned_routes, run.route_document_id = [], None
        run.planned_revision = run.revision
        return
    _publish_status(context, run, "routing")
    routing_work = RoutingWork(
        request_id=run.request_id,
        revision=run.revision,
        priority=run.priority,
        record_key=orchestration_effect_key(context, "record_routes", f"r{run.revision}"),
        holdings=run.holdings,
    ).to_dict()
    routed = RoutingResult.from_dict(
        (
            yield from _until_done(
                context,
                run,
                lambda: call_task(context, SELECT_RELIEF_ROUTES, routing_work, STRICT_RETRY),
            )
        )
    )
    run.planned_routes = routed.routes
    run.route_document_id = routed.route_document_id
    run.planned_revision = run.revision


def _dispatch(context: df.DurableOrchestrationContext, run: _Run) -> Generator[Any, Any, None]:
    """Step 3: tell the drivers and shelters whose part of the plan changed; update donors."""
    _publish_status(context, run, "dispatching")
    revision = run.planned_revision
    now = context.current_utc_datetime
    old_routes = {route.route_id: route for route in run.dispatched_routes}
    new_routes = {route.route_id: route for route in run.planned_routes}
    driver_notices = [
        _driver_notice(
            context, run, route, "assigned" if route_id not in old_routes else "changed", f"r{revision}"
        )
        for route_id, route in new_routes.items()
        if old_routes.get(route_id) != route
    ] + [
        _driver_notice(context, run, route, "cancelled", f"r{revision}")
        for route_id, route in old_routes.items()
        if route_id not in new_routes
    ]
    old_loads, new_loads = _loads(run.dispatched_routes), _loads(run.planned_routes)
    shelter_notices: list[dict[str, Any]] = []
    for shelter_id, shelter in run.shelters.items():
        if shelter.state in DELIVERED_STATES or shelter.state in ("removed", "cancelled"):
            continue
        old, new = old_loads.get(shelter_id), new_loads.get(shelter_id)
        if shelter_id not in run.desired or new is None:
            if old is not None:
                shelter_notices.append(_shelter_notice(context, run, shelter_id, "cancelled"))
            elif shelter_id in run.desired and shelter.state != "nothing_to_deliver":
                shelter_notices.append(_shelter_notice(context, run, shelter_id, "unavailable"))
            shelter.state = "removed" if shelter_id not in run.desired else "nothing_to_deliver"
            shelter.due = None
            continue
        if new == old and shelter.state == "awaiting":
            continue  # untouched by this revision: its deadline stands
        kind: ShelterNoticeKind = "changed" if old is not None else "dispatched"
        shelter_notices.append(
            _shelter_notice(context, run, shelter_id, kind, pallets=new[0], eta_minutes=new[1])
        )
        shelter.state, shelter.escalations = "awaiting", 0
        shelter.due, shelter.dispatch_revision = now + run.interval, revision
    donor_update = _donor_update(
        context,
        run,
        "dispatched" if revision == 1 else "replanned",
        item=f"dispatched:r{revision}",
        note=_shortfall_note(run),
    )
    yield from _until_calls_done(
        context,
        run,
        [
            *_notices_call(NOTIFY_RELIEF_DRIVERS, driver_notices, f"notify_drivers:r{revision}"),
            *_notices_call(NOTIFY_RELIEF_SHELTERS, shelter_notices, f"notify_shelters:r{revision}"),
            _Call(PUBLISH_RELIEF_UPDATE, donor_update, unsent_label=f"publish_update:dispatched:r{revision}"),
        ],
        all_of=True,
    )
    run.dispatched_routes = run.planned_routes
    run.dispatched_revision = revision
    orchestration_log(context, WORKFLOW, "dispatch").info(
        "routes dispatched",
        revision=str(revision),
        drivers_notified=str(len(driver_notices)),
        shelters_notified=str(len(shelter_notices)),
    )


def _record_confirmations(context: df.DurableOrchestrationContext, run: _Run) -> Generator[Any, Any, None]:
    """Step 4: book the pallets of every confirmed shelter as delivered."""
    confirmations, run.pending_confirmations = run.pending_confirmations, []
    confirmed: list[str] = []
    for confirmation in confirmations:
        shelter = run.shelters.get(confirmation.shelter_id)
        if shelter is None or shelter.state != "awaiting" or confirmation.shelter_id in confirmed:
            orchestration_log(context, WORKFLOW, "confirm").warning(
                "confirmation ignored", shelter_id=confirmation.shelter_id
            )
            continue
        confirmed.append(confirmation.shelter_id)
        shelter.confirmed_by = confirmation.confirmed_by
        shipped = _loads(run.dispatched_routes).get(confirmation.shelter_id, ({}, None))[0]
        received = {item.sku: item.pallets for item in confirmation.received_items}
        if received and received != shipped:
            run.discrepancies[confirmation.shelter_id] = {
                sku: received.get(sku, 0) - shipped.get(sku, 0)
                for sku in sorted(set(shipped) | set(received))
            }
    if confirmed:
        yield from _deliver(context, run, confirmed, "confirmed")


def _wait_for_confirmations(context: df.DurableOrchestrationContext, run: _Run) -> Generator[Any, Any, None]:
    """Step 4: wait until the next escalation deadline or the next event; escalate late shelters."""
    awaiting = run.awaiting()
    if not awaiting:  # nothing to time: only an event (a change) can move the request on
        _publish_status(context, run, "awaiting_changes", CHANGE_EVENT)
        yield from _race(context, run, [])
        return
    due = min(run.shelters[shelter_id].due or context.current_utc_datetime for shelter_id in awaiting)
    _publish_status(context, run, "awaiting_confirmations", CONFIRMATION_EVENT, due)
    timer = context.create_timer(due)
    winner = yield from _race(context, run, [timer])
    if winner is not timer:
        return
    now = context.current_utc_datetime
    late = [shelter_id for shelter_id in run.awaiting() if (run.shelters[shelter_id].due or now) <= now]
    notices = []
    for shelter_id in late:
        shelter = run.shelters[shelter_id]
        shelter.escalations += 1
        shelter.due = now + run.interval
        notices.append(
            EscalationNotice(
                key=orchestration_effect_key(
                    context,
                    "escalate_confirmation",
                    f"{shelter_id}:r{shelter.dispatch_revision}:{shelter.escalations}",
                ),
                request_id=run.request_id,
                shelter_id=shelter_id,
                level=shelter.escalations,
                final=shelter.escalations >= run.max_escalations,
            ).to_dict()
        )
    if not notices:
        return
    _publish_status(context, run, "escalating")
    label = "escalate_confirmations:" + ",".join(f"{s}:{run.shelters[s].escalations}" for s in late)
    yield from _until_calls_done(
        context,
        run,
        [_Call(ESCALATE_RELIEF_CONFIRMATIONS, {"notices": notices}, unsent_label=label)],
        all_of=False,
    )
    unresolved = [
        shelter_id for shelter_id in late if run.shelters[shelter_id].escalations >= run.max_escalations
    ]
    orchestration_log(context, WORKFLOW, "escalate").info(
        "confirmations escalated", late=",".join(late), unresolved=",".join(unresolved)
    )
    if unresolved:
        yield from _deliver(context, run, unresolved, "unconfirmed")


def _deliver(
    context: df.DurableOrchestrationContext, run: _Run, shelter_ids: list[str], state: ShelterState
) -> Generator[Any, Any, None]:
    """Move the shelters' reservations to delivered and mark the shelters resolved."""
    holdings = [holding for holding in run.holdings if holding.shelter_id in shelter_ids]
    work = StockWork(holdings=holdings).to_dict()
    if holdings:
        yield from _until_done(
            context, run, lambda: call_task(context, RECORD_RELIEF_DELIVERY, work, STRICT_RETRY)
        )
    run.holdings = [holding for holding in run.holdings if holding.shelter_id not in shelter_ids]
    run.delivered.extend(holdings)
    for shelter_id in shelter_ids:
        run.shelters[shelter_id].state = state
        run.shelters[shelter_id].due = None


def _complete(context: df.DurableOrchestrationContext, run: _Run) -> Generator[Any, Any, dict[str, Any]]:
    """Step 5: the final donor update, then the outcome."""
    _publish_status(context, run, "completing")
    unconfirmed = sorted(s for s, shelter in run.shelters.items() if shelter.state == "unconfirmed")
    note = "; ".join(
        part
        for part in (_shortfall_note(run), f"unconfirmed: {', '.join(unconfirmed)}" if unconfirmed else "")
        if part
    )
    update = _donor_update(context, run, "completed", note=note)
    yield from _until_calls_done(
        context,
        run,
        [_Call(PUBLISH_RELIEF_UPDATE, update, unsent_label="publish_update:completed")],
        all_of=False,
    )
    _publish_status(context, run, "completed")
    orchestration_log(context, WORKFLOW, "complete").info(
        "relief request completed", delivered=str(run.delivered_pallets())
    )
    return (yield from _sealed(context, run, _outcome(run, "completed")))


def _cancel(context: df.DurableOrchestrationContext, run: _Run) -> Generator[Any, Any, dict[str, Any]]:
    """Compensation: release every pallet still held and tell drivers and shelters still waiting."""
    _publish_status(context, run, "cancelling")
    open_shelters = [s for s, shelter in run.shelters.items() if shelter.state not in RESOLVED_STATES]
    driver_notices, shelter_notices = _cancellation_notices(context, run, open_shelters)
    released = StockWork(holdings=run.holdings).to_dict()
    # The pallets are released in this same batch: the update reports none reserved.
    update = _donor_update(context, run, "cancelled", reserved=False)
    results = yield from _until_calls_done(
        context,
        run,
        [
            *([_Call(RELEASE_RELIEF_STOCK, released, strict=True)] if run.holdings else []),
            *_notices_call(NOTIFY_RELIEF_DRIVERS, driver_notices, "notify_drivers:cancel"),
            *_notices_call(NOTIFY_RELIEF_SHELTERS, shelter_notices, "notify_shelters:cancel"),
            _Call(PUBLISH_RELIEF_UPDATE, update, unsent_label="publish_update:cancelled"),
        ],
        all_of=True,
    )
    if run.holdings and results[0].get("gaveUp"):
        raise ReleaseGaveUpError(str(results[0].get("reason")))
    run.pallets_released += run.held_pallets()
    run.holdings = []
    for shelter_id in open_shelters:
        run.shelters[shelter_id].state = "cancelled"
        run.shelters[shelter_id].due = None
    _publish_status(context, run, "cancelled")
    orchestration_log(context, WORKFLOW, "cancel").info(
        "relief request cancelled", released=str(run.pallets_released)
    )
    return (yield from _sealed(context, run, _outcome(run, "cancelled")))


def _sealed(
    context: df.DurableOrchestrationContext, run: _Run, outcome: dict[str, Any]
) -> Generator[Any, Any, dict[str, Any]]:
    """Step 6: seal the audit packet (the final stage just published tells it the history is stored)."""
    if run.seals_audit_packet:
        run.sealing = True
        yield from _until_done(
            context,
            run,
            lambda: seal_audit_packet(context, workflow=WORKFLOW, final_stage=run.stage, output=outcome),
        )
    return outcome


def _fail(
    context: df.DurableOrchestrationContext, run: _Run, error: BaseException
) -> Generator[Any, Any, None]:
    """A strict step ran out of retries: undo what can be undone (release every pallet held, tell the
    dispatched drivers and shelters and the donor portal), record what cannot, before ending Failed."""
    if run.sealing:  # every effect is done: nothing to undo, and donors already have the outcome
        failure = StepFailure(
            step=SEAL_STEP, reason=failure_reason(error), kept=[f"the request was {run.stage}"]
        )
        _publish_status(context, run, "failed", failure=failure)
        log_process_failure(orchestration_log(context, WORKFLOW), failure)
        return
    failure = StepFailure(step=run.stage, reason=failure_reason(error))
    _publish_status(context, run, "failing")
    undone: list[str] = []
    kept: list[str] = []
    held = list(run.holdings)
    # A re-balance that failed for good may have reserved part of its lines before it failed.
    unconfirmed = run.reserving if run.releases_unconfirmed else None
    if held or unconfirmed is not None:
        release = StockWork(holdings=held, unconfirmed=unconfirmed).to_dict()
        pallets = sum(holding.pallets for holding in held)
        try:
            answer = yield from _until_done(
                context, run, lambda: call_task(context, RELEASE_RELIEF_STOCK, release, STRICT_RETRY)
            )
        except Exception as release_error:
            answer = {
                "gaveUp": True,
                "unsent": [h.reservation_key for h in held],
                "reason": failure_reason(release_error),
            }
        if answer.get("gaveUp"):  # the release itself failed: say what stays reserved
            still = [holding for holding in held if holding.reservation_key in answer.get("unsent", [])]
            keys = ", ".join(holding.reservation_key for holding in still)
            kept.append(
                f"{sum(h.pallets for h in still)} pallets still reserved ({keys}): {answer.get('reason')}"
            )
            pallets -= sum(h.pallets for h in still)
            run.holdings = still
            if unconfirmed is not None:
                listed = {holding.reservation_key for holding in held}
                others = ", ".join(key for key in answer.get("unsent", []) if key not in listed)
                kept.append(
                    "what the failed re-balance reserved may stay reserved"
                    f" ({others or 'not checked'}): {answer.get('reason')}"
                )
        else:
            run.holdings = []
        if unconfirmed is not None and "released" in answer:  # it counts what it found, too
            pallets = int(answer["released"])
        run.reserving = None
        if pallets:
            undone.append(f"released {pallets} reserved pallets")
            run.pallets_released += pallets
    open_shelters = [s for s, shelter in run.shelters.items() if shelter.state not in RESOLVED_STATES]
    # The same keys as a cancellation's notices: a failure during a cancellation tells no one twice.
    driver_notices, shelter_notices = _cancellation_notices(context, run, open_shelters)
    update = _donor_update(context, run, "failed")
    yield from _until_calls_done(
        context,
        run,
        [
            *_notices_call(NOTIFY_RELIEF_DRIVERS, driver_notices, "notify_drivers:failed"),
            *_notices_call(NOTIFY_RELIEF_SHELTERS, shelter_notices, "notify_shelters:failed"),
            _Call(PUBLISH_RELIEF_UPDATE, update, unsent_label="publish_update:failed"),
        ],
        all_of=True,
    )
    undone += [f"told the driver of route {n['routeId']}" for n in driver_notices]
    if run.delivered:
        kept.append(f"{run.delivered_pallets()} pallets delivered")
    for shelter_id in open_shelters:
        run.shelters[shelter_id].state = "cancelled"
        run.shelters[shelter_id].due = None
    failure = failure.model_copy(update={"undone": undone or None, "kept": kept or None})
    _publish_status(context, run, "failed", failure=failure)
    log_process_failure(orchestration_log(context, WORKFLOW), failure)


# -- waiting without losing events ---------------------------------------------------------------


def _until_done(
    context: df.DurableOrchestrationContext, run: _Run, schedule: Callable[[], TaskBase]
) -> Generator[Any, Any, Any]:
    """Run the work `schedule()` creates to its end while taking in events (module docstring)."""
    while True:
        work = schedule()
        winner = yield from _race(context, run, [work])
        if winner is work:
            if work.state is TaskState.FAILED:
                # The race is decided. SDK 1.7 fails a task_all as soon as one call fails and then
                # completes it a second time once its other calls succeed; reporting that to the
                # task_any it raced in raises "Task ... completed twice" and fails the orchestration
                # (in the middle of `_fail`'s compensation). Nothing waits for it any more.
                work.parent = None
                raise work.result
            return work.result
        # An event won: the work runs on, but may not be yielded again in a new task_any, so the
        # loop schedules it afresh; its activities' keys make the repeat return the same result.


def _until_calls_done(
    context: df.DurableOrchestrationContext, run: _Run, calls: list[_Call], *, all_of: bool
) -> Generator[Any, Any, list[Any]]:
    """`_until_done` over `calls` (one `task_all`, or the single call when not `all_of`), then the
    failure policy: a best-effort call whose activity gave up is logged and recorded in `run.unsent`.

    Best-effort relief activities give up on their own (they return `gaveUp` after their last
    counted attempt, activities/relief_routing.py) instead of failing: a `task_all` that failed
    while sitting in `_race`'s `task_any` would be completed a second time by the SDK once its
    other calls succeed ("Task ... completed twice"), failing the orchestration.
    """

    def schedule() -> TaskBase:
        tasks = [call.task(context) for call in calls]
        return context.task_all(tasks) if all_of else tasks[0]

    answer = yield from _until_done(context, run, schedule)
    results = list(answer) if all_of else [answer]
    gave_up = False
    for call, result in zip(calls, results, strict=True):
        if not call.strict and isinstance(result, dict) and result.get("gaveUp"):
            log_gave_up(
                orchestration_log(context, WORKFLOW), call.unsent_label, str(result.get("reason", ""))
            )
            run.unsent.append(call.unsent_label)
            gave_up = True
    if gave_up:
        _publish_status(context, run, run.stage, run.waiting_for, run.deadline)
    return results


def _race(
    context: df.DurableOrchestrationContext, run: _Run, tasks: list[TaskBase]
) -> Generator[Any, Any, TaskBase]:
    """Yield `tasks` with fresh event waiters; queue an event that wins; return the winner."""
    winner, event = yield from race_with_events(context, tasks, [CHANGE_EVENT, CONFIRMATION_EVENT])
    if event == CHANGE_EVENT:
        _accept_change(context, run, winner.result)
    elif event == CONFIRMATION_EVENT:
        _accept_confirmation(context, run, winner.result)
    return winner


def _accept_change(context: df.DurableOrchestrationContext, run: _Run, payload: Any) -> None:
    change: ReliefChange | None = _parse_or_ignore(context, payload, ReliefChange, "change", "change")
    if change is None:
        return
    run.pending_changes.append(change)
    _publish_status(context, run, run.stage, run.waiting_for, run.deadline)  # shows pendingChanges


def _accept_confirmation(context: df.DurableOrchestrationContext, run: _Run, payload: Any) -> None:
    confirmation: ShelterConfirmation | None = _parse_or_ignore(
        context, payload, ShelterConfirmation, "confirm", "confirmation"
    )
    if confirmation is not None:
        run.pending_confirmations.append(confirmation)


def _parse_or_ignore(
    context: df.DurableOrchestrationContext, payload: Any, model: type[ContractModel], step: str, what: str
) -> Any:
    """The event payload as `model`, or None (logged) when it is malformed: the run goes on without it."""
    try:
        return parse_event(payload, model)
    except ValidationError:
        orchestration_log(context, WORKFLOW, step).warning(f"malformed {what} ignored")
        return None


def _apply_changes(run: _Run) -> None:
    """Fold queued changes into what is wanted (a shelter that received its pallets stays as it is)."""
    changes, run.pending_changes = run.pending_changes, []
    for change in changes:
        if change.change_id in run.applied_changes or any(
            rejected.change_id == change.change_id for rejected in run.rejected_changes
        ):
            continue  # the same change sent twice
        if change.cancel:
            run.cancel_requested = True
            run.applied_changes.append(change.change_id)
            continue
        frozen = [
            s
            for s in change.touched_shelters()
            if s in run.shelters and run.shelters[s].state in DELIVERED_STATES
        ]
        if frozen:
            run.rejected_changes.append(
                RejectedChange(change_id=change.change_id, reason=f"already delivered: {', '.join(frozen)}")
            )
            continue
        for shelter in change.shelters:
            run.desired[shelter.shelter_id] = shelter.wanted()
            progress = run.shelters.setdefault(shelter.shelter_id, _Shelter())
            if progress.state in ("removed", "nothing_to_deliver"):
                progress.state = "planning"
        for shelter_id in change.remove_shelter_ids:
            run.desired.pop(shelter_id, None)
        run.applied_changes.append(change.change_id)


# -- small pieces ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """One activity call of a step: strict (its failure fails the request) or best effort."""

    activity: str
    work: dict[str, Any]
    strict: bool = False
    unsent_label: str = ""

    def task(self, context: df.DurableOrchestrationContext) -> TaskBase:
        return call_task(
            context, self.activity, self.work, STRICT_RETRY if self.strict else BEST_EFFORT_RETRY
        )


def _notices_call(activity: str, notices: list[dict[str, Any]], unsent_label: str) -> list[_Call]:
    """The best-effort notification call as a one-element list, or nothing when nobody is told."""
    return [_Call(activity, {"notices": notices}, unsent_label=unsent_label)] if notices else []


def _loads(routes: list[RouteSummary]) -> dict[str, tuple[dict[str, int], int]]:
    """Pallets per SKU and the latest ETA for each shelter across routes."""
    loads: dict[str, tuple[dict[str, int], int]] = {}
    for route in routes:
        for stop in route.stops:
            pallets, eta = loads.get(stop.shelter_id, ({}, 0))
            merged = dict(pallets)
            for sku, count in stop.pallets.items():
                merged[sku] = merged.get(sku, 0) + count
            loads[stop.shelter_id] = (dict(sorted(merged.items())), max(eta, stop.eta_minutes))
    return loads


def _driver_notice(
    context: df.DurableOrchestrationContext,
    run: _Run,
    route: RouteSummary,
    kind: Literal["assigned", "changed", "cancelled"],
    item_suffix: str,
) -> dict[str, Any]:
    local_route_id = route.route_id.removeprefix(f"{run.request_id}-")
    return DriverNotice(
        key=orchestration_effect_key(context, "notify_driver", f"{local_route_id}:{item_suffix}"),
        driver_id=route.driver_id,
        route_id=route.route_id,
        kind=kind,
        stops=[stop.shelter_id for stop in route.stops] if kind != "cancelled" else [],
    ).to_dict()


def _shelter_notice(
    context: df.DurableOrchestrationContext,
    run: _Run,
    shelter_id: str,
    kind: ShelterNoticeKind,
    *,
    pallets: dict[str, int] | None = None,
    eta_minutes: int | None = None,
    item_suffix: str | None = None,
) -> dict[str, Any]:
    item = f"{shelter_id}:{kind}:{item_suffix or f'r{run.planned_revision}'}"
    return ShelterNotice(
        key=orchestration_effect_key(context, "notify_shelter", item),
        request_id=run.request_id,
        shelter_id=shelter_id,
        kind=kind,
        pallets=pallets or {},
        eta_minutes=eta_minutes,
    ).to_dict()


def _cancellation_notices(
    context: df.DurableOrchestrationContext, run: _Run, open_shelters: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The drivers' and the open shelters' 'cancelled' notices (one set of keys for cancel and fail)."""
    dispatched_to = _loads(run.dispatched_routes)
    driver_notices = [
        _driver_notice(context, run, route, "cancelled", "cancel")
        for route in run.dispatched_routes
        if any(stop.shelter_id in open_shelters for stop in route.stops)
    ]
    shelter_notices = [
        _shelter_notice(context, run, shelter_id, "cancelled", item_suffix="cancel")
        for shelter_id in open_shelters
        if shelter_id in dispatched_to
    ]
    return driver_notices, shelter_notices


def _donor_update(
    context: df.DurableOrchestrationContext,
    run: _Run,
    status: str,
    *,
    item: str | None = None,
    note: str = "",
    reserved: bool = True,
) -> dict[str, Any]:
    """The donor portal update for `status`, keyed by the step and `item` (the status by default)."""
    return DonorUpdateWork(
        key=orchestration_effect_key(context, "publish_update", item or status),
        request_id=run.request_id,
        status=status,
        pallets_reserved=run.held_pallets() if reserved else 0,
        pallets_delivered=run.delivered_pallets(),
        note=note,
    ).to_dict()


def _shortfall_note(run: _Run) -> str:
    short = [line for line in run.lines if line.status == "short"]
    if not short:
        return ""
    return "short: " + ", ".join(
        f"{line.shelter_id}/{line.sku} {line.reserved}/{line.requested}" for line in short
    )


def _publish_status(
    context: df.DurableOrchestrationContext,
    run: _Run,
    stage: str,
    waiting_for: str | None = None,
    deadline: datetime | None = None,
    *,
    failure: StepFailure | None = None,
) -> None:
    run.stage, run.waiting_for, run.deadline = stage, waiting_for, deadline
    status = ReliefStatus(
        stage=stage,
        waiting_for=waiting_for,
        deadline_utc=utc_text(deadline) if deadline else None,
        revision=run.revision,
        reservation=run.reservation_state(),
        pending_changes=len(run.pending_changes),
        shelters=run.shelter_progress(),
        unsent=list(run.unsent) or None,
        failure=failure,
    )
    publish_status(context, status)


def _outcome(run: _Run, outcome: Literal["completed", "cancelled"]) -> dict[str, Any]:
    return ReliefOutcome(
        request_id=run.request_id,
        outcome=outcome,
        reservation=run.reservation_state(),
        revision=run.revision,
        lines=run.lines,
        routes=run.dispatched_routes,
        route_document_id=run.route_document_id,
        shelters=run.shelter_progress(),
        pallets_delivered=run.delivered_pallets(),
        pallets_released=run.pallets_released,
        applied_changes=run.applied_changes,
        rejected_changes=run.rejected_changes,
        discrepancies=run.discrepancies,
        confirmed_by={
            shelter_id: shelter.confirmed_by
            for shelter_id, shelter in run.shelters.items()
            if shelter.confirmed_by is not None
        }
        or None,
        requested_by=run.requested_by,
        unsent_notifications=list(run.unsent) or None,
    ).to_dict()
