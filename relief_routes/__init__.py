"""Relief network data and the route-selection algorithm (pure: no storage, no clock, no settings
reads except `network_file_setting` in network.py, which only activities and HTTP functions call).

- `network.py`: the road network, depots (stock, trucks, drivers) and shelters, loaded from JSON.
- `regions.py`: a shelter's region (its nearest depot), for the console and telemetry.
- `planner.py`: shortest paths (Dijkstra), depot candidates per shelter, and route building with
  truck capacity and request priority; every choice breaks ties by id, so a plan is reproducible.
- `stock.py`: seeding the inventory with the network's stock once per revision, through the
  inventory and effect ledger it is handed (read by the reservation activity and the HTTP edge).
"""

from relief_routes.network import ReliefNetwork, load_network, network_from_settings
from relief_routes.planner import (
    PlannedRoute,
    RoutePlan,
    RouteStop,
    RouteSummary,
    Shipment,
    candidate_depots,
    plan_routes,
    shortest_paths,
)
from relief_routes.regions import service_regions, shelter_service_depot

__all__ = [
    "PlannedRoute",
    "ReliefNetwork",
    "RoutePlan",
    "RouteStop",
    "RouteSummary",
    "Shipment",
    "candidate_depots",
    "load_network",
    "network_from_settings",
    "plan_routes",
    "service_regions",
    "shelter_service_depot",
    "shortest_paths",
]
