"""What the console adds to the workflow catalogue (workflow_catalogue.py): each workflow's regions.

A workflow's instance id is `<prefix><business id>` (`maintenance-<orderId>`, `fare-dispute-<disputeId>`,
`relief-<requestId>`), so the console filters by workflow with the management API's
`instanceIdPrefix` and shows the business id without asking the workflow; the catalogue has both.

Region: the relief network has depots and shelters but no region field, so the console's region of a
relief request is the set of *service depots* of its shelters (for each shelter the depot nearest by
travel time, `relief_routes.shelter_service_depot`); the same value is logged as the `region`
dimension by the relief reservation activity, so the console and the Application Insights queries
agree. Maintenance orders and fare disputes have no region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relief_routes import network_from_settings, service_regions
from workflow_catalogue import RELIEF_ROUTING, Workflow


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


def regions_of(workflow: Workflow | None, orchestration_input: Any) -> list[str]:
    """The regions of an instance of `workflow` (only relief requests have any)."""
    if workflow != RELIEF_ROUTING:
        return []
    return relief_request_regions(orchestration_input)


def known_regions() -> list[str]:
    """Every region a relief request can have (the network's depots), for the filter's choices."""
    try:
        return sorted(depot.depot_id for depot in network_from_settings().depots)
    except (OSError, ValueError):
        return []
