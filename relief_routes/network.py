"""The relief network as data: road nodes and roads (travel minutes, km), depots and shelters.

A network file (JSON, camelCase) ships with the project (`data/relief_network.json`); the app
setting `RELIEF_NETWORK_FILE` names another one (absolute, or relative to the project root). The
file is validated on load: every road, depot and shelter must point at a known node, ids are
unique, stock and capacities are positive.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from contracts import ContractModel, setting_files
from contracts.setting_files import SettingFile

NETWORK_FILE_SETTING = "RELIEF_NETWORK_FILE"
PROJECT_ROOT = setting_files.PROJECT_ROOT
DEFAULT_NETWORK_FILE = "data/relief_network.json"

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]


class GeoPoint(ContractModel):
    """WGS84 coordinates of a road node."""

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class RoadNode(ContractModel):
    """An intersection or site on the road network."""

    node_id: Identifier
    location: GeoPoint


class Road(ContractModel):
    """An undirected road segment; closed roads (flooded, blocked) are never routed over."""

    road_id: Identifier
    from_node: Identifier
    to_node: Identifier
    minutes: Annotated[int, Field(ge=1, le=24 * 60)]
    km: Annotated[float, Field(gt=0, le=1000)]
    closed: bool = False


class ContactPoint(ContractModel):
    """Where a shelter or the operations desk is reached (sensitive: stays in this file and activities)."""

    channel: Literal["email", "sms"]
    to: Annotated[str, Field(min_length=3, max_length=320)]


class Depot(ContractModel):
    """A warehouse: where it is, how many pallets a truck carries, its drivers and its stock per SKU."""

    depot_id: Identifier
    name: str
    node_id: Identifier
    truck_capacity_pallets: Annotated[int, Field(ge=1, le=100)]
    drivers: Annotated[list[Identifier], Field(min_length=1)]
    stock: dict[str, Annotated[int, Field(ge=0)]]


class Shelter(ContractModel):
    """A shelter that receives pallets."""

    shelter_id: Identifier
    name: str
    node_id: Identifier
    contact: ContactPoint


class ReliefNetwork(ContractModel):
    """The whole network; `revision` changes whenever the file's stock or roads change."""

    network_id: Identifier
    revision: Annotated[int, Field(ge=1)]
    description: str = ""
    skus: Annotated[list[Identifier], Field(min_length=1)]
    operations_contact: ContactPoint
    nodes: list[RoadNode]
    roads: list[Road]
    depots: Annotated[list[Depot], Field(min_length=1)]
    shelters: Annotated[list[Shelter], Field(min_length=1)]

    @model_validator(mode="after")
    def _references_are_known(self) -> Self:
        node_ids = [node.node_id for node in self.nodes]
        _unique("nodes", node_ids)
        _unique("roads", [road.road_id for road in self.roads])
        _unique("depots", [depot.depot_id for depot in self.depots])
        _unique("shelters", [shelter.shelter_id for shelter in self.shelters])
        _unique("skus", self.skus)
        known = set(node_ids)
        for road in self.roads:
            if road.from_node not in known or road.to_node not in known:
                raise ValueError(f"road {road.road_id} joins an unknown node")
        sites = [(depot.depot_id, depot.node_id) for depot in self.depots]
        sites += [(shelter.shelter_id, shelter.node_id) for shelter in self.shelters]
        for site_id, node_id in sites:
            if node_id not in known:
                raise ValueError(f"{site_id} sits on unknown node {node_id}")
        for depot in self.depots:
            unknown = sorted(set(depot.stock) - set(self.skus))
            if unknown:
                raise ValueError(f"depot {depot.depot_id} stocks unknown SKUs {unknown}")
        return self

    def depot(self, depot_id: str) -> Depot:
        """The depot with this id (KeyError when unknown)."""
        for depot in self.depots:
            if depot.depot_id == depot_id:
                return depot
        raise KeyError(depot_id)

    def shelter(self, shelter_id: str) -> Shelter:
        """The shelter with this id (KeyError when unknown)."""
        for shelter in self.shelters:
            if shelter.shelter_id == shelter_id:
                return shelter
        raise KeyError(shelter_id)

    def has_shelter(self, shelter_id: str) -> bool:
        """Whether the network knows this shelter."""
        return any(shelter.shelter_id == shelter_id for shelter in self.shelters)

    @property
    def load_key(self) -> str:
        """Names one loading of this network's stock into inventory (the effect ledger key)."""
        return f"relief-network:{self.network_id}:r{self.revision}"


def _unique(what: str, ids: list[str]) -> None:
    duplicates = sorted({item for item in ids if ids.count(item) > 1})
    if duplicates:
        raise ValueError(f"duplicate {what}: {duplicates}")


# The network file: `network_file_setting()` (its path), `load_network(path)`, and
# `network_from_settings()` (the file the app settings name, validated).
NETWORK_FILE = SettingFile(NETWORK_FILE_SETTING, DEFAULT_NETWORK_FILE, ReliefNetwork)
network_file_setting = NETWORK_FILE.path
load_network = NETWORK_FILE.load
network_from_settings = NETWORK_FILE.from_settings
