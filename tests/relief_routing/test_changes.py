"""Mid-flight changes and cancellation: re-plan (reserve the extra, release the surplus, re-route,
tell only the affected drivers and shelters); nothing raised during reservation or routing is lost."""

from __future__ import annotations

from collections.abc import Callable

from tests.relief_routing.support import ReliefApi, effects, request_body
from tests.support.processes import HostProcess


def driver_notes(env: dict[str, str]) -> list[tuple[str, str, str]]:
    """(route id, kind, key suffix) of every driver notification, in key order."""
    return sorted(
        (e["request"]["routeId"], e["request"]["kind"], e["idempotencyKey"].rsplit(":", 1)[-1])
        for e in effects(env, "driver_messaging", "notify")
    )


def shelter_templates(env: dict[str, str]) -> list[tuple[str, str]]:
    """(shelter name, template) of every shelter message."""
    return sorted(
        (e["request"]["parameters"].get("shelter", ""), e["request"]["template"])
        for e in effects(env, "customer_messaging", "send")
    )


def test_a_change_during_routing_is_applied_before_dispatch_and_a_later_change_replans(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """Routing is held up (the route record's first write fails, its retry waits on the virtual
    clock); a change raised then is queued, re-planned as revision 2, and only revision 2 is
    dispatched (its own record's first write fails too: the clock moves until it is retried). A
    change after dispatch re-sizes, removes and adds shelters."""
    host = start_relief_host(env={"SANDBOX_FAULTS_DOCUMENTS": "transient:first"})
    api = ReliefApi(host.base_url)
    assert api.start(request_body("chg-1", {"shelter-one": {"water": 4}})).status_code == 202
    api.wait_stage("chg-1", "routing")
    change = {
        "changeId": "more-water",
        "shelters": [
            {"shelterId": "shelter-one", "items": [{"sku": "water", "pallets": 7}]},
            {"shelterId": "shelter-two", "items": [{"sku": "water", "pallets": 3}]},
        ],
    }
    assert api.change("chg-1", change).status_code == 202
    waiting = api.wait_for(
        "chg-1", lambda s: s.get("stage") == "awaiting_confirmations", "revision 2 dispatched", nudge_clock=2
    )
    assert waiting["revision"] == 2 and waiting["reservation"] == "fully_reserved"
    assert set(waiting["shelters"]) == {"shelter-one", "shelter-two"}
    levels = api.levels()
    assert levels["depot-a", "water"]["reserved"] == 7 and levels["depot-b", "water"]["reserved"] == 3
    assert driver_notes(relief_env) == [
        ("chg-1-depot-a-1", "assigned", "r2"),
        ("chg-1-depot-b-1", "assigned", "r2"),
    ], "revision 1 was never dispatched"

    later = {
        "changeId": "rebalance",
        "shelters": [
            {"shelterId": "shelter-one", "items": [{"sku": "water", "pallets": 2}]},
            {"shelterId": "shelter-three", "items": [{"sku": "blanket", "pallets": 2}]},
        ],
        "removeShelterIds": ["shelter-two"],
    }
    assert api.change("chg-1", later).status_code == 202
    replanned = api.wait_for(
        "chg-1",
        lambda s: s["revision"] == 3 and s["stage"] == "awaiting_confirmations",
        "revision 3",
        nudge_clock=2,
    )
    assert replanned["shelters"]["shelter-two"]["state"] == "removed"
    levels = api.levels()
    assert levels["depot-a", "water"]["reserved"] == 2, "surplus released, the kept part re-reserved"
    assert levels["depot-b", "water"]["reserved"] == 0 and levels["depot-c", "blanket"]["reserved"] == 2
    assert driver_notes(relief_env) == [
        ("chg-1-depot-a-1", "assigned", "r2"),
        ("chg-1-depot-a-1", "changed", "r3"),
        ("chg-1-depot-b-1", "assigned", "r2"),
        ("chg-1-depot-b-1", "cancelled", "r3"),
        ("chg-1-depot-c-1", "assigned", "r3"),
    ]
    assert shelter_templates(relief_env) == [
        ("Shelter One", "relief_changed"),
        ("Shelter One", "relief_dispatched"),
        ("Shelter Three", "relief_dispatched"),
        ("Shelter Two", "relief_cancelled"),
        ("Shelter Two", "relief_dispatched"),
    ]
    assert api.change("chg-1", {"removeShelterIds": ["shelter-four"]}).status_code == 409

    assert api.confirm("chg-1", "shelter-one").status_code == 202
    api.wait_for(
        "chg-1", lambda s: s["shelters"]["shelter-one"]["state"] == "confirmed", "shelter-one confirmed"
    )
    too_late = {"shelters": [{"shelterId": "shelter-one", "items": [{"sku": "water", "pallets": 9}]}]}
    assert api.change("chg-1", too_late).status_code == 409, "delivered shelters cannot change"
    assert api.confirm("chg-1", "shelter-three").status_code == 202
    outcome = api.wait_done("chg-1")["outcome"]
    assert outcome["appliedChanges"] == ["more-water", "rebalance"] and outcome["revision"] == 3
    assert outcome["palletsDelivered"] == 4
    assert sum(level["reserved"] for level in api.inventory()) == 0


def test_cancellation_releases_everything_still_held(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """Cancel after one shelter confirmed: the rest is released and its driver and shelter told;
    a request cancelled right after its start (during reservation) ends holding nothing."""
    api = ReliefApi(start_relief_host().base_url)
    body = request_body("cancel-1", {"shelter-one": {"water": 12}, "shelter-three": {"blanket": 3}})
    assert api.start(body).status_code == 202
    api.wait_stage("cancel-1", "awaiting_confirmations")
    assert api.confirm("cancel-1", "shelter-three").status_code == 202
    api.wait_for("cancel-1", lambda s: s["shelters"]["shelter-three"]["state"] == "confirmed", "confirmed")
    assert api.change("cancel-1", {"cancel": True}).status_code == 202
    done = api.wait_done("cancel-1")
    assert done["stage"] == "cancelled"
    outcome = done["outcome"]
    assert outcome["outcome"] == "cancelled" and outcome["palletsReleased"] == 12
    assert outcome["shelters"]["shelter-one"]["state"] == "cancelled"
    assert outcome["shelters"]["shelter-three"]["state"] == "confirmed"
    levels = api.levels()
    assert all(levels[depot, "water"]["reserved"] == 0 for depot in ("depot-a", "depot-b", "depot-c"))
    assert levels["depot-a", "water"]["available"] == 10 and levels["depot-b", "water"]["available"] == 6
    assert levels["depot-c", "blanket"]["delivered"] == 3
    cancelled = [n for n in driver_notes(relief_env) if n[1] == "cancelled"]
    assert {route for route, _, _ in cancelled} == {"cancel-1-depot-a-1", "cancel-1-depot-b-1"}
    assert ("Shelter One", "relief_cancelled") in shelter_templates(relief_env)
    assert ("Shelter Three", "relief_cancelled") not in shelter_templates(relief_env)
    assert api.confirm("cancel-1", "shelter-one").status_code == 409

    assert api.start(request_body("cancel-2", {"shelter-two": {"water": 5}})).status_code == 202
    assert api.change("cancel-2", {"cancel": True}).status_code == 202
    early = api.wait_done("cancel-2")["outcome"]
    assert early["outcome"] == "cancelled" and early["routes"] == []
    assert sum(level["reserved"] for level in api.inventory()) == 0
