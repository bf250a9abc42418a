"""The route-selection algorithm on its own (pure: no host, no storage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from relief_routes import ReliefNetwork, Shipment, candidate_depots, load_network, plan_routes, shortest_paths
from relief_routes.network import DEFAULT_NETWORK_FILE, PROJECT_ROOT
from tests.relief_routing.support import TEST_NETWORK


@pytest.fixture
def network() -> ReliefNetwork:
    return load_network(TEST_NETWORK)


def test_shortest_paths_skip_closed_roads(network: ReliefNetwork) -> None:
    """node-a to node-s4: the closed 3-minute road is ignored; the open way round takes 34 minutes."""
    paths = shortest_paths(network, "node-a")
    assert paths.minutes["node-s4"] == 10 + 12 + 5 + 7  # via node-x; via node-s1 and node-b it is 35
    assert paths.path_to("node-s4") == ["node-a", "node-x", "node-c", "node-s3", "node-s4"]


def test_depot_candidates_rank_nearest_first_and_only_depots_with_the_sku(network: ReliefNetwork) -> None:
    assert candidate_depots(network, "shelter-one", "water") == ["depot-a", "depot-b", "depot-c"]
    assert candidate_depots(network, "shelter-two", "water") == ["depot-b", "depot-c", "depot-a"]
    assert candidate_depots(network, "shelter-one", "blanket") == ["depot-c"]


def test_routes_respect_truck_capacity_and_priority(network: ReliefNetwork) -> None:
    """Routine requests share trucks nearest-neighbour; urgent ones send a truck per shelter."""
    shipments = [
        Shipment(depot_id="depot-c", shelter_id="shelter-three", sku="blanket", pallets=13),
        Shipment(depot_id="depot-c", shelter_id="shelter-four", sku="water", pallets=2),
        Shipment(depot_id="depot-c", shelter_id="shelter-two", sku="water", pallets=4),
    ]
    routine = plan_routes(network, "req", 1, 3, shipments).routes
    assert [[(s.shelter_id, s.pallets) for s in r.stops] for r in routine] == [
        [("shelter-three", {"blanket": 10})],
        [("shelter-three", {"blanket": 3}), ("shelter-four", {"water": 2}), ("shelter-two", {"water": 4})],
    ]
    assert [r.driver_id for r in routine] == ["driver-c1", "driver-c2"]
    assert routine[1].stops[-1].eta_minutes == 5 + 7 + 7 + 5 + 6  # c→s3→s4, then back via s3 and c to s2
    urgent = plan_routes(network, "req", 1, 1, shipments).routes
    assert [len(route.stops) for route in urgent] == [1, 1, 1, 1]
    assert all(route.total_pallets <= 10 for route in [*routine, *urgent])


def test_the_plan_is_the_same_on_every_run(network: ReliefNetwork) -> None:
    shipments = [
        Shipment(depot_id=depot, shelter_id=shelter, sku="water", pallets=3)
        for depot in ("depot-a", "depot-b", "depot-c")
        for shelter in ("shelter-one", "shelter-two", "shelter-three", "shelter-four")
    ]
    first = plan_routes(network, "req", 2, 4, shipments)
    assert plan_routes(network, "req", 2, 4, list(reversed(shipments))) == first


def test_the_sample_network_loads_and_bad_networks_are_refused(tmp_path: Path) -> None:
    sample = load_network(PROJECT_ROOT / DEFAULT_NETWORK_FILE)
    assert {depot.depot_id for depot in sample.depots} == {"depot-north", "depot-harbor", "depot-inland"}
    data = json.loads(TEST_NETWORK.read_text())
    data["roads"][0]["toNode"] = "node-nowhere"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    with pytest.raises(ValidationError, match="unknown node"):
        load_network(broken)
