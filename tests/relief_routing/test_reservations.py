"""Reservations: spill-over across depots, explicit shortage, many requests racing for scarce
stock, and a host killed mid-reservation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from activities.relief_routing import InventoryCalls, deliver_holding
from contracts.relief_routing import Holding
from idempotency import EffectLedger
from integrations.inventory import SandboxInventoryStore
from tests.relief_routing.support import ReliefApi, calls, request_body
from tests.support.wire import advance_clock
from tools.harness import HostProcess

GENERATOR_STOCK = 15  # depot-a 4, depot-b 3, depot-c 8 in tests/relief_routing/network.json


def test_partial_stock_spills_over_to_farther_depots_and_the_rest_is_short(
    start_relief_host: Callable[..., HostProcess],
) -> None:
    """25 water come from a (10), b (6) and c (9), nearest first; 16 generators find only 15."""
    api = ReliefApi(start_relief_host().base_url)
    body = request_body("partial-1", {"shelter-one": {"water": 25, "generator": 16}}, priority=1)
    assert api.start(body).status_code == 202
    waiting = api.wait_stage("partial-1", "awaiting_confirmations")
    assert waiting["reservation"] == "short"
    levels = api.levels()
    assert [levels[depot, "water"]["reserved"] for depot in ("depot-a", "depot-b", "depot-c")] == [10, 6, 9]
    assert [levels[depot, "generator"]["available"] for depot in ("depot-a", "depot-b", "depot-c")] == [
        0,
        0,
        0,
    ]

    assert api.confirm("partial-1", "shelter-one").status_code == 202
    outcome = api.wait_done("partial-1")["outcome"]
    assert outcome["reservation"] == "short"
    assert outcome["lines"] == [
        {"shelterId": "shelter-one", "sku": "water", "requested": 25, "reserved": 25, "status": "reserved"},
        {"shelterId": "shelter-one", "sku": "generator", "requested": 16, "reserved": 15, "status": "short"},
    ]
    routes = outcome["routes"]
    assert {route["depotId"] for route in routes} == {"depot-a", "depot-b", "depot-c"}
    assert all(sum(sum(stop["pallets"].values()) for stop in route["stops"]) <= 10 for route in routes)
    assert all(len(route["stops"]) == 1 for route in routes), "priority 1: direct trucks only"
    assert sum(sum(stop["pallets"].values()) for route in routes for stop in route["stops"]) == 40
    assert outcome["palletsDelivered"] == 40


def test_fifty_concurrent_requests_never_over_allocate_scarce_stock(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """50 requests of 2 generators race for 15: every request ends fully reserved or explicitly short."""
    api = ReliefApi(start_relief_host().base_url)
    shelters = ["shelter-one", "shelter-two", "shelter-three", "shelter-four"]
    request_ids = [f"rush-{number:02d}" for number in range(50)]

    def start(number: int) -> int:
        body = request_body(request_ids[number], {shelters[number % 4]: {"generator": 2}})
        return api.start(body).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(start, range(50))) == {202}

    def settled(request_id: str) -> dict[str, object]:
        return api.wait_for(
            request_id,
            lambda s: s.get("stage") in ("awaiting_confirmations", "completed"),
            "reserved or short",
            timeout=90,
        )

    statuses = [settled(request_id) for request_id in request_ids]
    reserved_now = sum(level["reserved"] for level in api.inventory() if level["sku"] == "generator")
    assert reserved_now <= GENERATOR_STOCK
    for request_id, status in zip(request_ids, statuses, strict=True):
        shelter_states = status["shelters"]
        assert isinstance(shelter_states, dict)
        for shelter_id, progress in shelter_states.items():
            if progress["state"] == "awaiting":
                assert api.confirm(request_id, shelter_id).status_code == 202

    outcomes = [api.wait_done(request_id, timeout=90)["outcome"] for request_id in request_ids]
    reserved = [line["reserved"] for outcome in outcomes for line in outcome["lines"]]
    assert sum(reserved) == GENERATOR_STOCK, "all stock was handed out, none twice"
    for outcome in outcomes:
        (line,) = outcome["lines"]
        if outcome["reservation"] == "fully_reserved":
            assert line["reserved"] == line["requested"] == 2 and line["status"] == "reserved"
        else:
            assert outcome["reservation"] == "short" and line["status"] == "short" and line["reserved"] < 2
        assert outcome["palletsDelivered"] == line["reserved"]
    assert Counter(o["reservation"] for o in outcomes)["fully_reserved"] >= 6
    generator = [level for level in api.inventory() if level["sku"] == "generator"]
    assert sum(level["delivered"] for level in generator) == GENERATOR_STOCK
    assert sum(level["reserved"] + level["available"] for level in generator) == 0
    reserve_effects = [c for c in calls(relief_env, "inventory") if c["operation"] == "reserve"]
    assert len({c["idempotencyKey"] for c in reserve_effects if c["outcome"] == "effect"}) == len(
        [c for c in reserve_effects if c["outcome"] == "effect"]
    ), "no reservation key acted twice"


def test_kill_9_during_reservation_never_decrements_twice(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """Inventory commits depot-a's 10 pallets, the answer is lost, the host dies; after the restart
    the retried reservation meets the recorded one and only depot-b's 2 are added."""
    host = start_relief_host(env={"SANDBOX_FAULTS_INVENTORY": "timeout_after_commit:first"})
    api = ReliefApi(host.base_url)
    assert api.start(request_body("crash-1", {"shelter-one": {"water": 12}})).status_code == 202
    api.wait_for(
        "crash-1",
        lambda s: s.get("stage") == "reserving" and api.levels()["depot-a", "water"]["reserved"] == 10,
        "depot-a committed while the activity failed",
    )
    host.kill()
    host.start()
    assert api.levels()["depot-a", "water"]["reserved"] == 10
    for _ in range(10):  # retry timers run on the virtual clock; depot-b's first attempt fails too
        advance_clock(host.base_url, 10)
        if api.status("crash-1").get("stage") == "awaiting_confirmations":
            break
    api.wait_stage("crash-1", "awaiting_confirmations")
    levels = api.levels()
    assert levels["depot-a", "water"]["reserved"] == 10 and levels["depot-b", "water"]["reserved"] == 2
    reserve_calls = [c for c in calls(relief_env, "inventory") if c["operation"] == "reserve"]
    depot_a = [c["outcome"] for c in reserve_calls if c["idempotencyKey"].endswith(":depot-a")]
    assert depot_a.count("effect") == 1 and "duplicate" in depot_a
    assert api.confirm("crash-1", "shelter-one").status_code == 202
    # Booking the delivery is a transition of each reservation: its first attempt times out too.
    done = api.wait_for("crash-1", lambda s: s.get("runtimeStatus") == "Completed", "the end", nudge_clock=5)
    assert done["outcome"]["palletsDelivered"] == 12


def test_a_reservation_the_inventory_lost_is_made_again_before_delivery_and_releasing_it_is_a_no_op(
    relief_env: dict[str, str],
) -> None:
    """Inventory's storage lost a reservation after the request took it (Azurite on disk loses up to
    5 s of acknowledged writes when it is killed): releasing it gives nothing back, and delivering it
    reserves it again under the same key first, so stock = available + reserved + delivered holds."""
    inventory = SandboxInventoryStore.from_settings(relief_env)
    inventory.set_stock("depot-a", "water", 10)
    lost = Holding(
        reservation_key="relief-lost-1:reserve_stock:r1:shelter-one:water:depot-a",
        depot_id="depot-a",
        shelter_id="shelter-one",
        sku="water",
        pallets=4,
    )
    calls = InventoryCalls(inventory, EffectLedger.from_settings(relief_env))
    assert calls.release(lost.depot_id, lost.sku, lost.reservation_key) == 0, "nothing to give back"
    assert inventory.levels()[0].available == 10
    deliver_holding(inventory, lost)
    deliver_holding(inventory, lost)  # a repeat changes nothing
    [level] = inventory.levels()
    assert (level.delivered, level.reserved, level.available) == (4, 0, 6)
