"""What a relief request proves: pallets reserved, routed and delivered per shelter, who confirmed
receipt and when, changes, escalations and shortfalls; and the donor delivery report donors are
promised (request id, items and pallets per shelter, delivery and confirmation times, exceptions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import workflow_catalogue
from audit_packets.case_report import (
    BusinessDocument,
    Decision,
    Packet,
    activities_named,
    actor_text,
    event_data,
    finished_at,
    input_of,
    last_result,
    output_of,
    sealed_with_packet_section,
    timeline_events,
    when,
)
from audit_packets.document import Document, Facts, Section, Table, bullet_list
from audit_packets.history import decision_records, failure_policy_record
from contracts.relief_routing import (
    CHANGE_EVENT,
    CONFIRMATION_EVENT,
    ESCALATE_RELIEF_CONFIRMATIONS,
    NOTIFY_RELIEF_DRIVERS,
    NOTIFY_RELIEF_SHELTERS,
    PUBLISH_RELIEF_UPDATE,
    RECORD_RELIEF_DELIVERY,
    RELEASE_RELIEF_STOCK,
    RESERVE_RELIEF_STOCK,
    SELECT_RELIEF_ROUTES,
)

SHELTER_STATES = {
    "confirmed": "delivered, receipt confirmed",
    "unconfirmed": "delivered, receipt not confirmed (handed to the operations desk)",
    "nothing_to_deliver": "nothing to deliver (no stock)",
    "removed": "removed by a change",
    "cancelled": "cancelled",
    "awaiting": "on its way, awaiting confirmation",
    "planning": "being planned",
}
# Step and event titles for the report; evidence/__init__.py assembles them into the workflow's
# CaseProfile with the hooks below (and adds the sealing step every workflow ends with).
STEP_TITLES: Mapping[str, str] = {
    RESERVE_RELIEF_STOCK: "Stock reserved",
    SELECT_RELIEF_ROUTES: "Routes selected",
    NOTIFY_RELIEF_DRIVERS: "Drivers told",
    NOTIFY_RELIEF_SHELTERS: "Shelters told",
    PUBLISH_RELIEF_UPDATE: "Donor portal updated",
    RECORD_RELIEF_DELIVERY: "Delivery booked",
    RELEASE_RELIEF_STOCK: "Stock released",
    ESCALATE_RELIEF_CONFIRMATIONS: "Late confirmation escalated",
}
EVENT_TITLES: Mapping[str, str] = {
    CHANGE_EVENT: "Change requested",
    CONFIRMATION_EVENT: "Receipt confirmed by shelter",
}


def audit_extras(packet: Packet) -> dict[str, Any]:
    """The relief part of the packet: routes per plan revision, changes, confirmations, outcome."""
    output = output_of(packet)
    route_records = []
    for activity in activities_named(packet, SELECT_RELIEF_ROUTES):
        if not activity.get("attempts"):
            continue
        result = last_result(activity)
        route_records.append(
            {
                "revision": (activity.get("input") or {}).get("revision"),
                "routes": result.get("routes"),
                "routeDocumentId": result.get("routeDocumentId"),
                "finishedAt": activity["attempts"][-1].get("finishedAt"),
            }
        )
    requested_by = input_of(packet).get("requestedBy")
    return {
        "requestId": workflow_catalogue.RELIEF_ROUTING.business_id(str(packet["instance"]["instanceId"])),
        "requestedBy": requested_by if isinstance(requested_by, dict) else None,
        "routePlans": route_records,
        "changes": decision_records(packet, CHANGE_EVENT, ("changeId", "cancel")),
        "confirmations": decision_records(packet, CONFIRMATION_EVENT, ("shelterId", "receivedItems")),
        "reservation": output.get("reservation"),
        "lines": output.get("lines"),
        "shelters": output.get("shelters"),
        "confirmedBy": output.get("confirmedBy"),
        **failure_policy_record(packet),
        "finalOutcome": output.get("outcome") or packet.get("outcome", {}).get("status"),
    }


def outcome_text(packet: Packet) -> str:
    """The request's outcome in words."""
    output = output_of(packet)
    if not output.get("outcome"):
        stage = ((packet.get("customStatus") or {}).get("current") or {}).get("stage")
        return f"in progress (stage: {str(stage or 'accepted').replace('_', ' ')})"
    shelters = output.get("shelters") or {}
    confirmed = sum(1 for s in shelters.values() if s.get("state") == "confirmed")
    text = (
        f"{output.get('outcome')}: {output.get('palletsDelivered', 0)} pallets delivered to "
        f"{confirmed} of {len(shelters)} shelters with confirmed receipt"
    )
    if output.get("reservation") == "short":
        text += "; stock was short"
    return text


def people(packet: Packet) -> list[tuple[str, str]]:
    """Who requested and who confirmed."""
    request = input_of(packet)
    rows = []
    if request.get("requestedBy"):
        rows.append(("Requested by", actor_text(request["requestedBy"])))
    confirmers = {
        actor_text(e.get("principal") or e.get("by"))
        for e in timeline_events(packet, CONFIRMATION_EVENT)
        if e.get("principal") or e.get("by")
    }
    rows.append(("Confirmed by", ", ".join(sorted(confirmers)) or "shelters (no principal recorded)"))
    return rows


def sla(packet: Packet) -> str:
    """Confirmation deadlines: how often shelters were chased."""
    request = input_of(packet)
    shelters = output_of(packet).get("shelters") or {}
    escalations = sum(int(s.get("escalations") or 0) for s in shelters.values())
    interval = request.get("confirmationInterval") or "—"
    if not shelters:
        return f"Each shelter confirms within {interval} of dispatch, else it is escalated."
    late = sum(1 for s in shelters.values() if s.get("escalations"))
    verdict = (
        "met: every shelter confirmed in time"
        if not escalations
        else (f"missed by {late} shelter(s): {escalations} escalation(s)")
    )
    return f"Confirmation within {interval} of dispatch: {verdict}."


def decisions(packet: Packet) -> list[Decision]:
    """Changes and confirmations, with who sent them and whether the request took them."""
    output = output_of(packet)
    applied = set(output.get("appliedChanges") or [])
    rejected = {r.get("changeId"): r.get("reason") for r in output.get("rejectedChanges") or []}
    rows: list[Decision] = []
    for event in timeline_events(packet, CHANGE_EVENT):
        data = event_data(event)
        change_id = data.get("changeId")
        what = f"Cancel request ({change_id})" if data.get("cancel") else f"Change request ({change_id})"
        if change_id in applied:
            result = "applied"
        elif change_id in rejected:
            result = f"rejected: {rejected[change_id]}"
        else:
            result = "not applied" if output.get("outcome") else "pending"
        by = event.get("principal") or data.get("requestedBy") or event.get("by")
        rows.append(Decision(what, by, event.get("receivedAt"), event.get("receivedAt"), result))
    for event in timeline_events(packet, CONFIRMATION_EVENT):
        data = event_data(event)
        shelter = data.get("shelterId")
        state = ((output.get("shelters") or {}).get(shelter) or {}).get("state")
        by = event.get("principal") or data.get("confirmedBy") or event.get("by")
        result = "taken" if state == "confirmed" else f"not taken (shelter {state or 'unknown'})"
        rows.append(
            Decision(
                f"Receipt confirmed: {shelter}", by, event.get("receivedAt"), event.get("receivedAt"), result
            )
        )
    return rows


def exceptions(packet: Packet) -> list[str]:
    """Changes, escalations, shortfalls, discrepancies, unconfirmed shelters, released stock."""
    output = output_of(packet)
    notes: list[str] = []
    for change_id in output.get("appliedChanges") or []:
        notes.append(
            f"Change {change_id} applied: the plan was revised (final revision {output.get('revision')})."
        )
    for rejected in output.get("rejectedChanges") or []:
        notes.append(f"Change {rejected.get('changeId')} rejected: {rejected.get('reason')}.")
    for line in output.get("lines") or []:
        if line.get("status") == "short":
            notes.append(
                f"Shortfall at {line.get('shelterId')}: {line.get('reserved')} of "
                f"{line.get('requested')} pallets "
                f"of {line.get('sku')} could be reserved."
            )
    for activity in activities_named(packet, ESCALATE_RELIEF_CONFIRMATIONS):
        attempts = activity.get("attempts") or []
        for notice in (activity.get("input") or {}).get("notices") or []:
            final = " (final: handed to the operations desk)" if notice.get("final") else ""
            notes.append(
                f"Escalation level {notice.get('level')} for {notice.get('shelterId')} at "
                f"{when(attempts[-1].get('finishedAt')) if attempts else '—'}{final}."
            )
    for shelter, difference in (output.get("discrepancies") or {}).items():
        counted = ", ".join(f"{sku} {delta:+d}" for sku, delta in sorted(difference.items()))
        notes.append(f"{shelter} counted a different delivery than shipped: {counted} pallets.")
    if output.get("palletsReleased"):
        notes.append(f"{output.get('palletsReleased')} reserved pallets were released back to the depots.")
    return notes


def _dispatch_times(packet: Packet) -> dict[str, str]:
    times: dict[str, str] = {}
    for activity in activities_named(packet, NOTIFY_RELIEF_SHELTERS):
        attempts = activity.get("attempts") or []
        for notice in (activity.get("input") or {}).get("notices") or []:
            if notice.get("kind") == "dispatched" and attempts:
                times[str(notice.get("shelterId"))] = str(attempts[-1].get("finishedAt"))
    return times


def _delivery_times(packet: Packet) -> dict[str, str]:
    times: dict[str, str] = {}
    for activity in activities_named(packet, RECORD_RELIEF_DELIVERY):
        attempts = activity.get("attempts") or []
        for holding in (activity.get("input") or {}).get("holdings") or []:
            if attempts and attempts[-1].get("outcome") == "completed":
                times.setdefault(str(holding.get("shelterId")), str(attempts[-1].get("finishedAt")))
    return times


def documents(packet: Packet) -> list[BusinessDocument]:
    """The donor delivery report (one per relief request)."""
    instance_id = str(packet["instance"]["instanceId"])
    request = input_of(packet).get("request") or {}
    output = output_of(packet)
    shelters = output.get("shelters") or {}
    dispatched, delivered = _dispatch_times(packet), _delivery_times(packet)
    confirmations: dict[str, dict[str, Any]] = {}
    for event in timeline_events(packet, CONFIRMATION_EVENT):
        data = event_data(event)
        confirmations.setdefault(str(data.get("shelterId")), event)
    items = tuple(
        (
            str(line.get("shelterId")),
            str(line.get("sku")),
            str(line.get("requested")),
            str(line.get("reserved")),
            "short" if line.get("status") == "short" else "in full",
        )
        for line in output.get("lines") or []
    )
    deliveries = []
    for shelter_id, state in sorted(shelters.items()):
        confirmation = confirmations.get(shelter_id) or {}
        recorded = (output.get("confirmedBy") or {}).get(shelter_id)
        confirmer = recorded or confirmation.get("principal") or confirmation.get("by")
        who = actor_text(confirmer) if confirmer else "—"
        deliveries.append(
            (
                shelter_id,
                SHELTER_STATES.get(str(state.get("state")), str(state.get("state"))),
                when(dispatched.get(shelter_id)) if shelter_id in dispatched else "—",
                when(confirmation.get("receivedAt")) if confirmation else "—",
                who,
                when(delivered.get(shelter_id)) if shelter_id in delivered else "—",
            )
        )
    routes = tuple(
        (
            str(route.get("routeId")),
            str(route.get("depotId")),
            str(route.get("driverId")),
            ", ".join(str(stop.get("shelterId")) for stop in route.get("stops") or []),
            str(sum(sum((stop.get("pallets") or {}).values()) for stop in route.get("stops") or [])),
        )
        for route in output.get("routes") or []
    )
    document = Document(
        title="Donor delivery report",
        subtitle=f"Relief request {request.get('requestId')} · instance {instance_id}",
        sections=(
            Section(
                "Summary",
                (
                    Facts(
                        (
                            ("Request id", str(request.get("requestId"))),
                            ("Priority", str(request.get("priority"))),
                            ("Outcome", outcome_text(packet)),
                            ("Pallets delivered", str(output.get("palletsDelivered", 0))),
                            ("Pallets released back to stock", str(output.get("palletsReleased", 0))),
                            ("Plan revision", str(output.get("revision"))),
                            ("Received", when(packet["instance"].get("createdTime"))),
                            ("Finished", when(finished_at(packet))),
                        )
                    ),
                ),
            ),
            Section(
                "Items and pallets per shelter",
                (
                    Table(
                        ("Shelter", "Item", "Requested", "Reserved", "Supplied"),
                        items,
                        "No items.",
                        (0.32, 0.16, 0.14, 0.14, 0.24),
                    ),
                ),
            ),
            Section(
                "Delivery and confirmation",
                (
                    Table(
                        (
                            "Shelter",
                            "Status",
                            "Dispatched",
                            "Receipt confirmed",
                            "Confirmed by",
                            "Delivery booked",
                        ),
                        tuple(deliveries),
                        "No shelters.",
                        (0.2, 0.2, 0.15, 0.15, 0.15, 0.15),
                    ),
                ),
            ),
            Section(
                "Routes",
                (
                    Table(
                        ("Route", "Depot", "Driver", "Stops", "Pallets"),
                        routes,
                        "No routes.",
                        (0.3, 0.16, 0.16, 0.28, 0.1),
                    ),
                ),
            ),
            Section(
                "Exception notes",
                bullet_list(exceptions(packet), "None: no changes, escalations or shortfalls."),
            ),
            sealed_with_packet_section(instance_id, "report"),
        ),
        footer="Shelter contacts and driver phone numbers are not part of this report.",
        keywords=(instance_id, "relief", "donor report"),
    )
    return [BusinessDocument("donor-delivery-report", "Donor delivery report", document)]
