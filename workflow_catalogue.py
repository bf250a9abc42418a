"""The reference workflows, once: what each is called, how its instances are named and where it lives.

One `Workflow` record per workflow: its name (which is also its orchestrator's registered name),
the title people read, the instance-id prefix (`<prefix><business id>`, so the management API's
`instanceIdPrefix` finds a workflow's instances), the business id's label and the API collection
(`/api/<collection>/<business id>`). Each workflow has one module per layer, named after it:
`orchestrators/<name>.py`, `activities/<name>.py`, `api/<name>.py`, each exporting its blueprint
`bp`; `Workflow.blueprints()` returns them in that order.

Read by function_app.py (registration), api/openapi.py (the documented API), the orchestrators and
the API (names and instance ids), evidence/ (audit profiles), the console, and ops (workflow clients,
fuzzing). Plain data on purpose: importing it imports none of the workflow modules (they import it
for their names; `blueprints()` imports them when asked), so ops tools can read it without loading
the app. The registered names are module-level strings so the determinism linter can follow them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

import azure.durable_functions as df

Layer = Literal["orchestrators", "activities", "api"]
LAYERS: tuple[Layer, ...] = ("orchestrators", "activities", "api")

# Registered orchestrator names, which recorded histories and running instances depend on.
MAINTENANCE_ORDER_ORCHESTRATOR = "maintenance_order"
FARE_DISPUTE_ORCHESTRATOR = "fare_dispute"
RELIEF_ROUTING_ORCHESTRATOR = "relief_routing"


@dataclass(frozen=True)
class Workflow:
    """One workflow: its names, its instance ids and its API collection."""

    name: str  # the workflow's name and its orchestrator's registered name; its modules' name
    title: str  # "Maintenance order"
    instance_prefix: str  # instance id = prefix + business id
    business_label: str  # what the business id is: "order"
    collection: str  # API path segment: `maintenance-orders`

    @property
    def orchestrator(self) -> str:
        """The orchestrator's registered name."""
        return self.name

    def instance_id(self, business_id: str) -> str:
        """`<prefix><business id>`; the business id must not be empty."""
        if not business_id:
            raise ValueError(f"the {self.business_label} id must not be empty")
        return self.instance_prefix + business_id

    def business_id(self, instance_id: str) -> str:
        """The order, dispute or request id inside an instance id."""
        return instance_id.removeprefix(self.instance_prefix)

    def blueprint(self, layer: Layer) -> df.Blueprint:
        """The blueprint of one of the workflow's modules (imports the module)."""
        module_name = f"{layer}.{self.name}"
        blueprint = getattr(importlib.import_module(module_name), "bp", None)
        if not isinstance(blueprint, df.Blueprint):
            raise TypeError(f"{module_name} has no durable Blueprint `bp`")
        return blueprint

    def blueprints(self) -> list[df.Blueprint]:
        """Its orchestrator, activities and API blueprints, in that order (what the app registers)."""
        return [self.blueprint(layer) for layer in LAYERS]


MAINTENANCE_ORDER = Workflow(
    name=MAINTENANCE_ORDER_ORCHESTRATOR,
    title="Maintenance order",
    instance_prefix="maintenance-",
    business_label="order",
    collection="maintenance-orders",
)
FARE_DISPUTE = Workflow(
    name=FARE_DISPUTE_ORCHESTRATOR,
    title="Fare dispute",
    instance_prefix="fare-dispute-",
    business_label="dispute",
    collection="fare-disputes",
)
RELIEF_ROUTING = Workflow(
    name=RELIEF_ROUTING_ORCHESTRATOR,
    title="Relief request",
    instance_prefix="relief-",
    business_label="request",
    collection="relief-requests",
)

WORKFLOWS: tuple[Workflow, ...] = (MAINTENANCE_ORDER, FARE_DISPUTE, RELIEF_ROUTING)
WORKFLOWS_BY_NAME = {workflow.name: workflow for workflow in WORKFLOWS}


def workflow_of(instance_id: str, orchestrator: str | None = None) -> Workflow | None:
    """The workflow an instance belongs to: by orchestrator name when known, else by id prefix."""
    if orchestrator:
        return WORKFLOWS_BY_NAME.get(orchestrator)
    for workflow in sorted(WORKFLOWS, key=lambda w: -len(w.instance_prefix)):
        if instance_id.startswith(workflow.instance_prefix):
            return workflow
    return None
