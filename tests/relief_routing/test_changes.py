"""Mid-flight changes and cancellation: re-plan (reserve the extra, release the surplus, re-route,
tell only the affected drivers and shelters); nothing raised during reservation or routing is lost."""

from __future__ import annotations

import time
from collections.abc import Callable

from contracts.relief_routing import CHANGE_EVENT
from durable_wire import EventType
from tests.relief_routing.support import ReliefApi, calls, effects, request_body
from tests.support.wire import raw_history
from tools.harness import HostProcess
from tools.harness.polling import wait_until


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


# -- a change that arrives while the re-plan's reservation is being retried -------------------------


# The change that makes revision 2: one pallet of water for shelter-two.
ADD_1 = {
    "changeId": "add-1",
    "shelters": [{"shelterId": "shelter-two", "items": [{"sku": "water", "pallets": 1}]}],
}


def _reserving_revision_2(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str], request_id: str
) -> ReliefApi:
    """On a host where every reservation's first attempt fails: start a request, dispatch revision 1,
    send change `add-1`, and stop while revision 2's reservation waits for its retry (the virtual
    clock holds the retry until the test moves it). The API of that host."""
    host = start_relief_host(env={"SANDBOX_FAULTS_INVENTORY": "transient:first"})
    api = ReliefApi(host.base_url)
    assert api.start(request_body(request_id, {"shelter-one": {"water": 2}})).status_code == 202
    api.wait_for(
        request_id, lambda s: s.get("stage") == "awaiting_confirmations", "revision 1", nudge_clock=2
    )
    assert api.change(request_id, ADD_1).status_code == 202
    api.wait_for(request_id, lambda s: s.get("stage") == "reserving" and s["revision"] == 2, "revision 2")
    instance_id = f"relief-{request_id}"
    for _ in range(200):
        failed = [
            c
            for c in calls(relief_env, "inventory")
            if c["outcome"] == "fault:transient"
            and c["idempotencyKey"].startswith(f"{instance_id}:reserve_stock:r2")
        ]
        if failed:
            return api
        time.sleep(0.05)
    raise AssertionError("revision 2's reservation never failed its first attempt")


def changes_received(api: ReliefApi, request_id: str) -> int:
    """How many change events the request's history holds."""
    return sum(
        event["EventType"] == EventType.EVENT_RAISED and event.get("Name") == CHANGE_EVENT
        for event in raw_history(api.base_url, f"relief-{request_id}")
    )


def test_a_change_retried_while_its_reservation_is_retried_is_routed_and_dispatched(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """The client retries change `add-1` (same id, the documented idempotent retry) while the
    re-plan it caused is still reserving. The repeat is a duplicate, not a newer change: revision 2
    is routed and dispatched once, and the request completes (it used to stay Running forever)."""
    api = _reserving_revision_2(start_relief_host, relief_env, "dup-1")
    assert api.change("dup-1", ADD_1).status_code == 202
    # The repeat reaches the case while revision 2 still reserves (the clock holds the retry). Its
    # `pendingChanges: 1` shows only until the reservation, scheduled afresh, answers: the history
    # is the lasting sign that it arrived.
    wait_until(
        lambda: changes_received(api, "dup-1") == 2, 30, "the repeat to reach the case during the reservation"
    )
    planned = api.wait_for(
        "dup-1",
        lambda s: (
            s.get("stage") == "awaiting_confirmations"
            and {shelter["state"] for shelter in s["shelters"].values()} == {"awaiting"}
        ),
        "revision 2 dispatched",
        nudge_clock=2,
    )
    assert planned["revision"] == 2 and set(planned["shelters"]) == {"shelter-one", "shelter-two"}
    routed = [e["idempotencyKey"] for e in effects(relief_env, "documents", "store")]
    assert sorted(key.rsplit(":", 1)[-1] for key in routed) == ["r1", "r2"], "each revision routed once"
    assert ("dup-1-depot-b-1", "assigned", "r2") in driver_notes(relief_env)
    for shelter in ("shelter-one", "shelter-two"):
        assert api.confirm("dup-1", shelter).status_code == 202
    done = api.wait_for("dup-1", lambda s: s["runtimeStatus"] == "Completed", "the end", nudge_clock=2)
    assert done["outcome"]["appliedChanges"] == ["add-1"] and done["outcome"]["palletsDelivered"] == 3
    assert sum(level["reserved"] for level in api.inventory()) == 0


def test_a_newer_change_during_the_reservation_is_reserved_first_and_routed_once(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """A genuinely newer change (`add-2`) arriving at the same point still holds routing back:
    revision 2 is reserved but never routed, revision 3 takes both changes and is routed once."""
    api = _reserving_revision_2(start_relief_host, relief_env, "new-1")
    newer = {
        "changeId": "add-2",
        "shelters": [{"shelterId": "shelter-three", "items": [{"sku": "blanket", "pallets": 2}]}],
    }
    assert api.change("new-1", newer).status_code == 202
    planned = api.wait_for(
        "new-1",
        lambda s: s.get("stage") == "awaiting_confirmations" and s["revision"] == 3,
        "revision 3 dispatched",
        nudge_clock=2,
    )
    assert set(planned["shelters"]) == {"shelter-one", "shelter-two", "shelter-three"}
    routed = [e["idempotencyKey"] for e in effects(relief_env, "documents", "store")]
    assert sorted(key.rsplit(":", 1)[-1] for key in routed) == ["r1", "r3"], "revision 2 was never routed"
    assert {suffix for _, _, suffix in driver_notes(relief_env)} == {"r1", "r3"}
    for shelter in ("shelter-one", "shelter-two", "shelter-three"):
        assert api.confirm("new-1", shelter).status_code == 202
    done = api.wait_for("new-1", lambda s: s["runtimeStatus"] == "Completed", "the end", nudge_clock=2)
    assert (
        done["outcome"]["appliedChanges"] == ["add-1", "add-2"] and done["outcome"]["palletsDelivered"] == 5
    )
    assert sum(level["reserved"] for level in api.inventory()) == 0
