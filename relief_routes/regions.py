"""Regions of the relief network: a shelter belongs to the region of its service depot.

The network file has no region field; operators think in depots ("the north yard's shelters"), so
a shelter's region is the depot nearest to it by travel time over open roads (any SKU; ties by depot
id). A request's regions are those of its shelters. The operations console filters by it and the
reservation activity logs it as the `region` telemetry dimension, so both use this one definition.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from relief_routes.network import ReliefNetwork
from relief_routes.planner import shortest_paths

_cache: dict[tuple[str, int, str], str | None] = {}
_cache_lock = threading.Lock()


def shelter_service_depot(network: ReliefNetwork, shelter_id: str) -> str | None:
    """The depot nearest to the shelter by travel time, or None (unknown or unreachable shelter)."""
    key = (network.network_id, network.revision, shelter_id)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    depot_id: str | None = None
    if network.has_shelter(shelter_id):
        from_shelter = shortest_paths(network, network.shelter(shelter_id).node_id)
        ranked = sorted(
            (from_shelter.minutes[depot.node_id], depot.depot_id)
            for depot in network.depots
            if depot.node_id in from_shelter.minutes
        )
        depot_id = ranked[0][1] if ranked else None
    with _cache_lock:
        _cache[key] = depot_id
    return depot_id


def service_regions(network: ReliefNetwork, shelter_ids: Iterable[str]) -> list[str]:
    """The sorted, distinct service depots of these shelters (unknown shelters are left out)."""
    found = {shelter_service_depot(network, shelter_id) for shelter_id in shelter_ids}
    return sorted(depot for depot in found if depot)
