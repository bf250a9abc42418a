"""What each workflow proves, for auditors: its part of the audit packet, its report wording and the
business documents the case studies promise.

One module per workflow (like orchestrators/, activities/ and api/), each defining the hooks of
a `CaseProfile` (audit_packets.case_report) under the names `WorkflowEvidence` lists, which this
package assembles into the workflow's profile: the packet extras, the outcome in words, who acted,
the SLA, the decisions, the exceptions, and the documents, plus the titles of its steps and events:
- maintenance order: release certificate / compliance pack (findings, parts and suppliers, approver);
- fare dispute: dispute resolution letter (decision, amount, reason, within SLA or not);
- relief request: donor delivery report (items and pallets per shelter, delivery and confirmation
  times, exception notes).

The seal activity, the HTTP API, the console and `ops audit` find a profile here by orchestrator name
or instance id prefix (the workflow catalogue's `workflow_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import workflow_catalogue
from audit_packets.case_report import BusinessDocument, CaseProfile, Decision, Packet
from audit_packets.seal_step import SEAL_AUDIT_PACKET
from evidence import fare_dispute, maintenance_order, relief_routing
from workflow_catalogue import Workflow, workflow_of


class WorkflowEvidence(Protocol):
    """What a workflow's evidence module defines: its CaseProfile's hooks and titles, by name."""

    STEP_TITLES: Mapping[str, str]
    EVENT_TITLES: Mapping[str, str]

    def audit_extras(self, packet: Packet) -> dict[str, Any]: ...
    def outcome_text(self, packet: Packet) -> str: ...
    def people(self, packet: Packet) -> list[tuple[str, str]]: ...
    def sla(self, packet: Packet) -> str: ...
    def decisions(self, packet: Packet) -> list[Decision]: ...
    def exceptions(self, packet: Packet) -> list[str]: ...
    def documents(self, packet: Packet) -> list[BusinessDocument]: ...


# The step every workflow ends with: sealing its audit packet (activities/audit_seal.py).
SEALING_STEP_TITLE = "Audit packet sealed"


def case_profile(workflow: Workflow, evidence: WorkflowEvidence) -> CaseProfile:
    """A workflow's CaseProfile from its evidence module: its hooks, its titles and the sealing step's."""
    return CaseProfile(
        workflow=workflow,
        step_titles={**evidence.STEP_TITLES, SEAL_AUDIT_PACKET: SEALING_STEP_TITLE},
        event_titles=evidence.EVENT_TITLES,
        extras=evidence.audit_extras,
        outcome_text=evidence.outcome_text,
        people=evidence.people,
        sla=evidence.sla,
        decisions=evidence.decisions,
        exceptions=evidence.exceptions,
        documents=evidence.documents,
    )


MAINTENANCE_ORDER = case_profile(workflow_catalogue.MAINTENANCE_ORDER, maintenance_order)
FARE_DISPUTE = case_profile(workflow_catalogue.FARE_DISPUTE, fare_dispute)
RELIEF_ROUTING = case_profile(workflow_catalogue.RELIEF_ROUTING, relief_routing)
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
    "WorkflowEvidence",
    "case_profile",
    "profile_for",
]
