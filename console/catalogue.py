"""The workflows the console knows: names, instance-id prefixes, business ids, evidence, regions.

A workflow's instance id is `<prefix><business id>` (`maintenance-<orderId>`, `fare-dispute-<disputeId>`,
`relief-<requestId>`), so the console filters by workflow with the management API's
`instanceIdPrefix` and shows the business id without asking the workflow.

Region: the relief network has depots and shelters but no region field, so the console's region of a
relief request is the set of *service depots* of its shelters (for each shelter the depot nearest by
travel time, `relief_routes.shelter_service_depot`); the same value is logged as the `region`
dimension by the relief reservation activity, so the console and the Application Insights queries
agree. Maintenance orders and fare disputes have no region.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from audit_packets import CaseProfile
from evidence import FARE_DISPUTE, MAINTENANCE_ORDER, RELIEF_ROUTING
from orchestrators import fare_dispute, maintenance_order, relief_routing
from relief_routes import network_from_settings, service_regions


@dataclass(frozen=True)
class Workflow:
    """One workflow as the console shows it."""

    name: str
    title: str
    orchestrator: str
    prefix: str
    business_id_label: str
    evidence: CaseProfile  # its audit packet extras, report wording and business documents
    regions: Callable[[Any], list[str]]

    def business_id(self, instance_id: str) -> str:
        """The order, dispute or request id inside an instance id."""
        return instance_id.removeprefix(self.prefix)


def no_regions(_input: Any) -> list[str]:
    """Workflows without a region."""
    return []


def relief_request_regions(orchestration_input: Any) -> list[str]:
    """Service depots of the request's shelters (from the orchestration input), sorted."""
    if not isinstance(orchestration_input, Mapping):
        return []
    request = orchestration_input.get("request")
    shelters = request.get("shelters") if isinstance(request, Mapping) else None
    if not isinstance(shelters, list):
        return []
    shelter_ids = [str(s.get("shelterId")) for s in shelters if isinstance(s, Mapping) and s.get("shelterId")]
    try:
        return service_regions(network_from_settings(), shelter_ids)
    except (OSError, ValueError):  # network file unreadable: show no region rather than fail the page
        return []


WORKFLOWS: tuple[Workflow, ...] = (
    Workflow(
        name=maintenance_order.WORKFLOW,
        title="Maintenance order",
        orchestrator=maintenance_order.MAINTENANCE_ORDER,
        prefix=maintenance_order.INSTANCE_ID_PREFIX,
        business_id_label="order",
        evidence=MAINTENANCE_ORDER,
        regions=no_regions,
    ),
    Workflow(
        name=fare_dispute.WORKFLOW,
        title="Fare dispute",
        orchestrator=fare_dispute.FARE_DISPUTE_ORCHESTRATOR,
        prefix=fare_dispute.INSTANCE_ID_PREFIX,
        business_id_label="dispute",
        evidence=FARE_DISPUTE,
        regions=no_regions,
    ),
    Workflow(
        name=relief_routing.WORKFLOW,
        title="Relief request",
        orchestrator=relief_routing.RELIEF_ROUTING,
        prefix=relief_routing.INSTANCE_ID_PREFIX,
        business_id_label="request",
        evidence=RELIEF_ROUTING,
        regions=relief_request_regions,
    ),
)
WORKFLOWS_BY_NAME = {workflow.name: workflow for workflow in WORKFLOWS}


def workflow_of(instance_id: str, orchestrator: str | None = None) -> Workflow | None:
    """The workflow an instance belongs to (by orchestrator name, else by id prefix), if known."""
    for workflow in WORKFLOWS:
        if orchestrator is not None and orchestrator == workflow.orchestrator:
            return workflow
    for workflow in sorted(WORKFLOWS, key=lambda w: -len(w.prefix)):
        if orchestrator is None and instance_id.startswith(workflow.prefix):
            return workflow
    return None


def known_regions() -> list[str]:
    """Every region a relief request can have (the network's depots), for the filter's choices."""
    try:
        return sorted(depot.depot_id for depot in network_from_settings().depots)
    except (OSError, ValueError):
        return []
