"""The audit report of a packet as HTML and PDF (the same document in both formats).

`render_html(envelope, profile)` / `render_pdf(envelope, profile)` take a sealed envelope
(`{"format", "packet", "seal"}`), an interim one, or a bare packet (as `ops audit` builds from raw
history), and the workflow's `CaseProfile` (evidence/); without a profile the report uses the
generic wording. Used by the workflows' report routes, the console and `ops audit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit_packets.case_report import CaseProfile, Decision, case_report, output_of
from audit_packets.document import Document
from audit_packets.render_html import STYLE, STYLE_SHA256, document_html
from audit_packets.render_pdf import document_pdf
from workflow_catalogue import Workflow

__all__ = ["STYLE", "STYLE_SHA256", "generic_profile", "render_html", "render_pdf", "report_document"]


def generic_profile(packet: Mapping[str, Any]) -> CaseProfile:
    """A profile for an orchestration no workflow module describes (test apps, samples)."""
    instance = packet.get("instance") or {}
    name = str(instance.get("name") or "orchestration")

    def outcome(p: dict[str, Any]) -> str:
        output = output_of(p)
        status = str((p.get("outcome") or {}).get("status") or "Running")
        return f"{status}: {output.get('outcome')}" if output.get("outcome") else status

    def no_decisions(p: dict[str, Any]) -> list[Decision]:
        return [
            Decision(
                f"Event '{e.get('name')}'",
                e.get("principal") or e.get("by"),
                e.get("receivedAt"),
                e.get("receivedAt"),
                "received",
            )
            for e in p.get("events") or []
            if e.get("principal") or e.get("by")
        ]

    return CaseProfile(
        workflow=Workflow(
            name=name,
            title=name.replace("_", " ").capitalize(),
            instance_prefix="",
            business_label="instance",
            collection="",
        ),
        extras=lambda p: {},
        outcome_text=outcome,
        people=lambda p: [],
        sla=lambda p: "none defined for this orchestration",
        decisions=no_decisions,
        exceptions=lambda p: [],
        documents=lambda p: [],
    )


def _envelope(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value) if "packet" in value else {"packet": dict(value)}


def report_document(
    value: Mapping[str, Any], profile: CaseProfile | None = None, stored: Mapping[str, Any] | None = None
) -> Document:
    """The report as a `Document`."""
    envelope = _envelope(value)
    return case_report(envelope, profile or generic_profile(envelope["packet"]), stored)


def render_html(
    value: Mapping[str, Any], profile: CaseProfile | None = None, stored: Mapping[str, Any] | None = None
) -> str:
    """The report as one self-contained HTML page."""
    return document_html(report_document(value, profile, stored))


def render_pdf(
    value: Mapping[str, Any], profile: CaseProfile | None = None, stored: Mapping[str, Any] | None = None
) -> bytes:
    """The report as a PDF."""
    return document_pdf(report_document(value, profile, stored))
