"""The reports and business documents a person reads, built from recorded real runs (tests/histories):
valid HTML5 with tables and no JSON dumps, PDFs whose text a reader extracts, redaction stated once."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import html5lib
import pytest
from pypdf import PdfReader

from audit_packets import packet_from_history, packet_redactor, render_html, render_pdf
from audit_packets.case_report import CaseProfile
from audit_packets.render_html import document_html
from audit_packets.render_pdf import document_pdf
from audit_packets.sealing import PACKET_FORMAT, redaction_record
from evidence import FARE_DISPUTE, MAINTENANCE_ORDER, RELIEF_ROUTING

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def recorded_packet(relative: str, profile: CaseProfile) -> dict[str, Any]:
    """The packet of a recorded run, as the seal builds it (history walk, extras, redaction)."""
    data = json.loads((HISTORIES / relative).read_text())
    history = data["history"]
    status = {
        "instanceId": data["instanceId"],
        "name": data["orchestrator"],
        "runtimeStatus": data["runtimeStatus"],
        "createdTime": history[0]["Timestamp"],
        "lastUpdatedTime": history[-1]["Timestamp"],
        "input": json.loads(data["input"]) if isinstance(data["input"], str) else data["input"],
        "customStatus": None,
    }
    packet = packet_from_history(status, packet_redactor(), raw_history=history)
    packet.update(format=PACKET_FORMAT, workflow=profile.workflow.name, redaction=redaction_record())
    packet.update(profile.extras(packet))
    return packet


def pdf_text(content: bytes) -> str:
    """The text a PDF reader extracts, whitespace collapsed."""
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def assert_readable_html(page: str) -> None:
    """Strict HTML5 parse (any parse error fails), tables present, no JSON dump."""
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    assert "<table" in page and "<pre" not in page and "<script" not in page
    assert '{"' not in page and "$claimCheck" not in page, "no raw JSON in a page meant for people"


def issued_document(packet: dict[str, Any], profile: CaseProfile, name: str) -> tuple[str, str]:
    """The one document `profile` issues for `packet`, named `name`: its page (strict HTML5, readable)
    and its PDF's text (the PDF bytes are the same on every render)."""
    [issued] = profile.documents(packet)
    assert issued.name == name
    page = document_html(issued.document)
    assert_readable_html(page)
    pdf = document_pdf(issued.document)
    assert pdf == document_pdf(issued.document), "PDF bytes are invariant"
    return page, pdf_text(pdf)


CASES = [
    ("maintenance_order/released_sealed.json", MAINTENANCE_ORDER, "Ada Approver"),
    ("fare_dispute/auto_refunded_sealed.json", FARE_DISPUTE, "Fare rules"),
    ("relief_routing/completed_sealed.json", RELIEF_ROUTING, "shelter-bayview-school"),
]


@pytest.mark.parametrize(("recording", "profile", "who"), CASES, ids=[c[1].workflow.name for c in CASES])
def test_the_audit_report_reads_as_tables_in_html_and_pdf(
    recording: str, profile: CaseProfile, who: str
) -> None:
    packet = recorded_packet(recording, profile)
    instance_id = packet["instance"]["instanceId"]
    page = render_html(packet, profile)
    assert_readable_html(page)
    for heading in (
        "Summary",
        "Timeline",
        "Decisions",
        "Side effects",
        "Exceptions and notes",
        "Verification",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert instance_id in page and who in page
    assert page.count("Personal data is kept out of this record") == 1
    assert "redacted keys: and" not in page and "from ." not in page, "the old empty redaction line is gone"
    assert "email" in page and "comment" in page, "the redaction statement names the keys"
    text = pdf_text(render_pdf(packet, profile))
    assert instance_id in text and who in text and "Timeline" in text
    assert "Interim snapshot" in text, "a packet without a seal says it is not the record"


def test_the_release_certificate_names_findings_parts_suppliers_approver_and_time() -> None:
    packet = recorded_packet("maintenance_order/released_sealed.json", MAINTENANCE_ORDER)
    page, text = issued_document(packet, MAINTENANCE_ORDER, "release-certificate")
    requests = [
        a["attempts"][-1]["result"]["supplierRequestId"]
        for a in packet["activities"]
        if a["name"] == "request_parts_from_supplier"
    ]
    assert len(requests) >= 2
    for expected in (
        packet["instance"]["instanceId"],
        "Ada Approver",
        "CORR-12",
        "WEAR-3",
        "Ines Inspector",
        *requests,
    ):
        assert expected in text and expected in page, expected
    assert "released to service" in text


def test_the_resolution_letter_gives_decision_amount_reason_and_sla() -> None:
    packet = recorded_packet("fare_dispute/auto_refunded_sealed.json", FARE_DISPUTE)
    _, text = issued_document(packet, FARE_DISPUTE, "resolution-letter")
    refund = packet["outcome"]["output"]["refund"]
    for expected in (
        "Dear customer",
        "refunded in full",
        f"{refund['amount']['amount']} {refund['amount']['currency']}",
        refund["refundId"],
        "Within SLA yes",
        "Fare rules (automatic)",
    ):
        assert expected in text, expected


def test_the_donor_report_lists_pallets_per_shelter_deliveries_and_confirmations() -> None:
    packet = recorded_packet("relief_routing/completed_sealed.json", RELIEF_ROUTING)
    _, text = issued_document(packet, RELIEF_ROUTING, "donor-delivery-report")
    output = packet["outcome"]["output"]
    for line in output["lines"]:
        assert line["shelterId"] in text and line["sku"] in text
    for route in output["routes"]:
        assert route["routeId"] in text and route["driverId"] in text
    assert "delivered, receipt confirmed" in text and "Receipt confirmed" in text
    assert "Exception notes" in text


def test_a_decision_names_the_authenticated_principal_and_role_when_the_event_carries_one() -> None:
    """Events that carry `decidedBy` (the signed-in principal) are shown with name, role and id;
    a name typed into a request (older events) is marked as not a signed-in principal."""
    packet = recorded_packet("maintenance_order/released_sealed.json", MAINTENANCE_ORDER)
    [event] = [e for e in packet["events"] if e["name"] == "approval_decision"]
    assert event["principal"]["name"] == "Ada Approver", "the recorded run names its principal"
    # The same decision as an order from before principals were recorded: a typed name only.
    for record in (event, event["data"], packet["outcome"]["output"]["approval"]):
        record.pop("principal", None)
        record.pop("decidedBy", None)
    typed = render_html(packet, MAINTENANCE_ORDER)
    assert "Ada Approver (name as given; not a signed-in principal)" in typed
    principal = {"principalId": "0f3c-77aa", "name": "Ada Approver", "role": "Maintenance.Approver"}
    event["data"]["decidedBy"] = principal
    event["principal"] = principal
    packet["outcome"]["output"]["approval"]["decidedBy"] = principal
    page = render_html(packet, MAINTENANCE_ORDER)
    decisions = page[page.index("<h2>Decisions</h2>") : page.index("<h2>Side effects</h2>")]
    for value in ("Ada Approver", "Maintenance.Approver", "0f3c-77aa", "taken"):
        assert value in decisions, value
    assert "Ada Approver (Maintenance.Approver, id 0f3c-77aa)" in page
    [certificate] = MAINTENANCE_ORDER.documents(packet)
    text = pdf_text(document_pdf(certificate.document))
    assert "Maintenance.Approver" in text and "0f3c-77aa" in text
