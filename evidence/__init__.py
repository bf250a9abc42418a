"""What each workflow proves, for auditors: its part of the audit packet, its report wording and the
business documents the case studies promise.

One module per workflow (like orchestrators/, activities/ and api/), each exporting a
`CaseProfile` (audit_packets.case_report): the packet extras, the outcome in words, who acted, the
SLA, the decisions, the exceptions, and the documents:
- maintenance order: release certificate / compliance pack (findings, parts and suppliers, approver);
- fare dispute: dispute resolution letter (decision, amount, reason, within SLA or not);
- relief request: donor delivery report (items and pallets per shelter, delivery and confirmation
  times, exception notes).

The seal activity, the HTTP API, the console and `ops audit` find a profile here by orchestrator name
or instance id prefix (the workflow catalogue's `workflow_of`).
"""

from __future__ import annotations

from audit_packets.case_report import CaseProfile
from evidence.fare_dispute import PROFILE as FARE_DISPUTE
from evidence.maintenance_order import PROFILE as MAINTENANCE_ORDER
from evidence.relief_routing import PROFILE as RELIEF_ROUTING
from workflow_catalogue import workflow_of

PROFILES: tuple[CaseProfile, ...] = (MAINTENANCE_ORDER, FARE_DISPUTE, RELIEF_ROUTING)
PROFILES_BY_WORKFLOW = {profile.workflow.name: profile for profile in PROFILES}


def profile_for(instance_id: str, orchestrator: str | None = None) -> CaseProfile | None:
    """The profile of an instance: by orchestrator name when known, else by instance id prefix."""
    workflow = workflow_of(instance_id, orchestrator)
    return PROFILES_BY_WORKFLOW.get(workflow.name) if workflow else None


__all__ = [
    "FARE_DISPUTE",
    "MAINTENANCE_ORDER",
    "PROFILES",
    "PROFILES_BY_WORKFLOW",
    "RELIEF_ROUTING",
    "profile_for",
]
