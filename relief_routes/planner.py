"""Route selection: which depots serve a shelter, and which trucks drive which stops.

1. Shortest paths: Dijkstra over open roads by travel minutes. The heap orders by (minutes, node
   id) and a predecessor changes only on a strictly shorter path, so equal-length paths resolve the
   same way on every run.
2. Depot candidates for a shelter and SKU: depots that stock the SKU and can reach the shelter,
   nearest first (ties: depot id). Reservations take pallets in this order, so a shelter is served
   from as close as stock allows and spills over to farther depots only when nearer ones run short.
3. Routes per depot, within the depot's truck capacity:
   - a shelter's load fills whole trucks first (a full truck drives straight to it);
   - urgent requests (priority 1-2) send every remaining load on its own truck, so each shelter
     gets its pallets as early as possible;
   - routine requests (priority 3-5) combine remaining loads nearest-neighbour style (next stop =
     nearest unvisited shelter that fits, ties by shelter id), which saves trucks and drivers.
   Trucks are handed to the depot's drivers in listed order, round robin.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import Field

from contracts import ContractModel
from relief_routes.network import ReliefNetwork

URGENT_PRIORITY = 2  # priorities 1 (most urgent) .. URGENT_PRIORITY get direct trucks


@dataclass(frozen=True)
class ShortestPaths:
    """Minutes and predecessor of every node reachable from `source`."""

    source: str
    minutes: dict[str, int]
    previous: dict[str, str]
    km: dict[str, float]

    def path_to(self, node: str) -> list[str]:
        """The nodes from the source to `node` (empty when unreachable)."""
        if node not in self.minutes:
            return []
        path = [node]
        while path[-1] != self.source:
            path.append(self.previous[path[-1]])
        return path[::-1]


def shortest_paths(network: ReliefNetwork, source: str) -> ShortestPaths:
    """Dijkstra from `source` over open roads (undirected), deterministic on ties."""
    adjacency: dict[str, list[tuple[str, int, float]]] = {node.node_id: [] for node in network.nodes}
    for road in network.roads:
        if road.closed:
            continue
        adjacency[road.from_node].append((road.to_node, road.minutes, road.km))
        adjacency[road.to_node].append((road.from_node, road.minutes, road.km))
    minutes = {source: 0}
    km = {source: 0.0}
    previous: dict[str, str] = {}
    settled: set[str] = set()
    heap = [(0, source)]
    while heap:
        distance, node = heapq.heappop(heap)
        if node in settled:
            continue
        settled.add(node)
        for neighbour, road_minutes, road_km in sorted(adjacency[node]):
            candidate = distance + road_minutes
            if neighbour not in minutes or candidate < minutes[neighbour]:
                minutes[neighbour] = candidate
                km[neighbour] = km[node] + road_km
                previous[neighbour] = node
                heapq.heappush(heap, (candidate, neighbour))
    return ShortestPaths(source, minutes, previous, km)


def candidate_depots(network: ReliefNetwork, shelter_id: str, sku: str) -> list[str]:
    """Depots stocking `sku` that can reach the shelter, nearest first (ties by depot id)."""
    target = network.shelter(shelter_id).node_id
    from_shelter = shortest_paths(network, target)  # roads are undirected: same minutes both ways
    ranked = [
        (from_shelter.minutes[depot.node_id], depot.depot_id)
        for depot in network.depots
        if depot.stock.get(sku, 0) > 0 and depot.node_id in from_shelter.minutes
    ]
    return [depot_id for _, depot_id in sorted(ranked)]


# -- routes ----------------------------------------------------------------------------------------


class Shipment(ContractModel):
    """Pallets of one SKU held at a depot for a shelter."""

    depot_id: str
    shelter_id: str
    sku: str
    pallets: int


class RouteStop(ContractModel):
    """One drop: the shelter, minutes after departure, and pallets per SKU unloaded there."""

    shelter_id: str
    eta_minutes: int
    pallets: dict[str, int]


class RouteSummary(ContractModel):
    """A truck run from a depot: what the workflow keeps and tells the driver."""

    route_id: str
    depot_id: str
    driver_id: str
    stops: list[RouteStop]
    travel_minutes: int
    distance_km: float

    @property
    def total_pallets(self) -> int:
        """Pallets loaded on the truck."""
        return sum(sum(stop.pallets.values()) for stop in self.stops)


class PlannedRoute(RouteSummary):
    """A route with its road path (node ids), as recorded in the route document."""

    path: list[str] = Field(default_factory=list)

    def summary(self) -> RouteSummary:
        """The route without its path."""
        return RouteSummary.model_validate(self.model_dump(exclude={"path"}))


class RoutePlan(ContractModel):
    """Every route of one plan revision, plus the shipments no open road can reach."""

    request_id: str
    revision: int
    priority: int
    network_id: str
    network_revision: int
    routes: list[PlannedRoute]
    unreachable: list[Shipment] = Field(default_factory=list)


@dataclass
class _Truck:
    loads: list[tuple[str, dict[str, int]]] = field(default_factory=list)  # (shelter, pallets per SKU)

    @property
    def pallets(self) -> int:
        return sum(sum(load.values()) for _, load in self.loads)


def _take(load: dict[str, int], count: int) -> dict[str, int]:
    """Remove `count` pallets from `load` (SKUs in name order) and return them."""
    taken: dict[str, int] = {}
    for sku in sorted(load):
        if count == 0:
            break
        moved = min(load[sku], count)
        if moved:
            taken[sku] = moved
            load[sku] -= moved
            count -= moved
    for sku in [sku for sku, left in load.items() if left == 0]:
        del load[sku]
    return taken


def plan_routes(
    network: ReliefNetwork, request_id: str, revision: int, priority: int, shipments: Iterable[Shipment]
) -> RoutePlan:
    """Trucks, stops and paths for the shipments of one plan revision (see the module docstring)."""
    by_depot: dict[str, dict[str, dict[str, int]]] = {}
    for shipment in shipments:
        if shipment.pallets <= 0:
            continue
        shelters = by_depot.setdefault(shipment.depot_id, {})
        load = shelters.setdefault(shipment.shelter_id, {})
        load[shipment.sku] = load.get(shipment.sku, 0) + shipment.pallets
    routes: list[PlannedRoute] = []
    unreachable: list[Shipment] = []
    for depot_id in sorted(by_depot):
        depot = network.depot(depot_id)
        from_depot = shortest_paths(network, depot.node_id)
        reachable: dict[str, dict[str, int]] = {}
        for shelter_id, load in sorted(by_depot[depot_id].items()):
            if network.shelter(shelter_id).node_id in from_depot.minutes:
                reachable[shelter_id] = dict(load)
            else:
                unreachable.extend(
                    Shipment(depot_id=depot_id, shelter_id=shelter_id, sku=sku, pallets=pallets)
                    for sku, pallets in sorted(load.items())
                )
        trucks = _load_trucks(network, depot.node_id, depot.truck_capacity_pallets, priority, reachable)
        for index, truck in enumerate(trucks):
            routes.append(
                _route(
                    network,
                    request_id,
                    depot_id,
                    driver_id=depot.drivers[index % len(depot.drivers)],
                    index=index,
                    truck=truck,
                )
            )
    return RoutePlan(
        request_id=request_id,
        revision=revision,
        priority=priority,
        network_id=network.network_id,
        network_revision=network.revision,
        routes=routes,
        unreachable=unreachable,
    )


def _load_trucks(
    network: ReliefNetwork, depot_node: str, capacity: int, priority: int, loads: dict[str, dict[str, int]]
) -> list[_Truck]:
    trucks: list[_Truck] = []
    remainders: dict[str, dict[str, int]] = {}
    for shelter_id in sorted(loads):
        load = loads[shelter_id]
        while sum(load.values()) >= capacity:
            trucks.append(_Truck([(shelter_id, _take(load, capacity))]))
        if load:
            remainders[shelter_id] = load
    if priority <= URGENT_PRIORITY:
        trucks.extend(_Truck([(shelter_id, load)]) for shelter_id, load in sorted(remainders.items()))
        return trucks
    node_of = {shelter_id: network.shelter(shelter_id).node_id for shelter_id in remainders}
    paths_from: dict[str, ShortestPaths] = {}
    while remainders:
        truck, position = _Truck(), depot_node
        while True:
            if position not in paths_from:
                paths_from[position] = shortest_paths(network, position)
            here = paths_from[position]
            fitting = sorted(
                (here.minutes.get(node_of[shelter_id], 10**9), shelter_id)
                for shelter_id, load in remainders.items()
                if truck.pallets + sum(load.values()) <= capacity
            )
            if not fitting:
                break
            _, chosen = fitting[0]
            truck.loads.append((chosen, remainders.pop(chosen)))
            position = node_of[chosen]
        trucks.append(truck)
    return trucks


def _route(
    network: ReliefNetwork, request_id: str, depot_id: str, *, driver_id: str, index: int, truck: _Truck
) -> PlannedRoute:
    position = network.depot(depot_id).node_id
    elapsed, distance = 0, 0.0
    path = [position]
    stops: list[RouteStop] = []
    for shelter_id, load in truck.loads:
        target = network.shelter(shelter_id).node_id
        leg = shortest_paths(network, position)
        elapsed += leg.minutes[target]
        distance += leg.km[target]
        path.extend(leg.path_to(target)[1:])
        stops.append(
            RouteStop(shelter_id=shelter_id, eta_minutes=elapsed, pallets=dict(sorted(load.items())))
        )
        position = target
    return PlannedRoute(
        route_id=f"{request_id}-{depot_id}-{index + 1}",
        depot_id=depot_id,
        driver_id=driver_id,
        stops=stops,
        travel_minutes=elapsed,
        distance_km=round(distance, 1),
        path=path,
    )
