"""Sealed audit evidence end to end, on the root app (every workflow) on the devhost and Azurite,
driven over HTTP and through `python -m ops` as an operator and an auditor would.

- A finished case is sealed once by its last step: every read returns the same bytes and blob
  version, the audit container holds exactly one packet, sealing again changes nothing.
- `ops audit verify` passes on the original and fails on one changed byte, a wrong key and a
  missing signature, saying what is wrong.
- The report (HTML and PDF) and the business document read as a person needs them.
- A running case gets an interim snapshot that is never stored; purge is refused until the case is
  sealed and harmless afterwards (the packet outlives the history).
- Every packet, report and document is free of the customers' personal data (also inside PDFs).
- With every activity delivered twice, each case still has one sealed packet that verifies.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import html5lib
import pytest
import requests
from azure.storage.blob import BlobServiceClient
from pypdf import PdfReader

from audit_packets.sealed_store import AUDIT_CONTAINER_PURPOSE
from audit_packets.signing import create_key_file
from blob_clients import container_name
from ops.__main__ import main as ops_main
from tests.support.durable_http import DurableApi
from tests.support.identity import APPROVER as APPROVER_PRINCIPAL
from tests.support.identity import OPERATOR, READER, SUBMITTER, SUPERVISOR, LocalPrincipal, Tokens
from tools.clients import (
    AppClient,
    FareDisputeClient,
    MaintenanceOrderClient,
    maintenance_order_body,
    supervised_fare_dispute_body,
)
from tools.harness import REPO_ROOT, Azurite, HostProcess, make_host

CUSTOMER_NAME = "Priya Plantedname"
CUSTOMER_EMAIL = "priya.planted@example.test"
PHONE = "+44 7700 900456"
CARD = "4111 1111 1111 1111"
EVIDENCE = "PLANTED-EVIDENCE the tram doors stayed shut at Central"
NOTE = f"Called {CUSTOMER_EMAIL}, card {CARD} was charged twice"
PLANTED = (CUSTOMER_NAME, CUSTOMER_EMAIL, PHONE, CARD, CARD.replace(" ", ""), EVIDENCE, "Called ")
APPROVER = APPROVER_PRINCIPAL.name  # "Ada Approver", signed in with Maintenance.Approver


def new_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"ev{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def host(azurite: Azurite, prefix: str) -> Iterator[HostProcess]:
    """The root app in its own containers and task hub, real time, behind the emulated Easy Auth."""
    started = make_host(REPO_ROOT, azurite, easy_auth=True, env={"STORAGE_CONTAINER_PREFIX": prefix}).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def tokens(host: HostProcess) -> Tokens:
    return Tokens(host.base_url)


@pytest.fixture(scope="module")
def app(host: HostProcess, tokens: Tokens) -> AppClient:
    """The app as the submitter who starts the cases."""
    return AppClient(host.base_url, token=tokens.token(SUBMITTER))


def as_principal(host: HostProcess, tokens: Tokens, principal: LocalPrincipal) -> AppClient:
    return AppClient(host.base_url, token=tokens.token(principal))


def get(tokens: Tokens, url: str, principal: LocalPrincipal = READER) -> requests.Response:
    """GET as `principal` (an Operations.Reader by default: audit evidence is for them)."""
    return requests.get(url, headers=tokens.headers(principal), timeout=30)


@pytest.fixture(scope="module")
def audit_container(azurite: Azurite, host: HostProcess) -> Any:
    """The host's hub's audit container (`<prefix>-<hub>-audit-packets`, blob_clients.py)."""
    return BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(
        container_name(AUDIT_CONTAINER_PURPOSE, host.env)
    )


@pytest.fixture(scope="module")
def released_order(host: HostProcess, tokens: Tokens, app: AppClient) -> str:
    """An order with planted contact data and a comment, approved by another principal and released."""
    orders = MaintenanceOrderClient(app)
    order_id = new_id("sealed")
    body = maintenance_order_body(order_id)
    body["customer"] = {"name": CUSTOMER_NAME, "email": CUSTOMER_EMAIL}
    orders.start(body)
    orders.wait_for_approval(order_id)
    approver = MaintenanceOrderClient(as_principal(host, tokens, APPROVER_PRINCIPAL))
    approver.approve(order_id, approved=True, comment=f"call me on {PHONE}")
    assert orders.wait_terminal(order_id)["outcome"] == "released"
    return order_id


def run_ops(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = ops_main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def blob_names(container: Any, instance_id: str) -> list[str]:
    return sorted(b.name for b in container.list_blobs(name_starts_with=f"{instance_id}/"))


def test_a_finished_order_is_sealed_once_and_every_read_returns_the_same_bytes(
    host: HostProcess, tokens: Tokens, released_order: str, audit_container: Any
) -> None:
    instance_id = f"maintenance-{released_order}"
    url = f"{host.base_url}/api/maintenance-orders/{released_order}/audit"
    first, second = get(tokens, url), get(tokens, url)
    generic = get(tokens, f"{host.base_url}/api/audit/packets/{instance_id}")
    assert first.status_code == second.status_code == generic.status_code == 200
    assert first.content == second.content == generic.content
    assert first.headers["Audit-Packet-Version"] == second.headers["Audit-Packet-Version"] != ""
    assert first.headers["Audit-Packet-Verification"] == "ok"
    envelope = first.json()
    packet = envelope["packet"]
    assert packet["sealing"]["finalStatus"] == "Completed" and packet["format"] == "durable-audit/2"
    assert packet["app"]["version"] and packet["app"]["commit"] and packet["taskHub"] == host.extra["hub"]
    assert first.headers["Audit-Packet-Digest"] == envelope["seal"]["digest"]
    assert packet["approval"]["approvedBy"] == APPROVER
    assert packet["approval"]["approvedByPrincipal"]["principalId"] == APPROVER_PRINCIPAL.user_id
    assert packet["startedBy"]["principalId"] == SUBMITTER.user_id

    names = blob_names(audit_container, instance_id)
    [packet_blob] = [n for n in names if n.endswith("/audit-packet.json")]
    assert len(names) == 3, names  # the packet and the document as PDF and HTML
    stored = audit_container.get_blob_client(packet_blob).download_blob().readall()
    assert stored == first.content, "the API serves the stored bytes as they are"

    seal_url = f"{host.base_url}/api/audit/packets/{instance_id}/seal"
    reason = {"reason": "test"}
    assert requests.post(seal_url, json=reason, headers=tokens.headers(READER), timeout=30).status_code == 403
    # A write without a declared JSON body (a cross-site form) is refused before anything is read.
    form = requests.post(seal_url, data="reason=test", headers=tokens.headers(OPERATOR), timeout=30)
    assert form.status_code == 415 and form.json()["field"] == "body"
    again = requests.post(seal_url, json=reason, headers=tokens.headers(OPERATOR), timeout=30)
    assert again.status_code == 200 and again.json()["alreadySealed"] is True
    assert again.json()["digest"] == envelope["seal"]["digest"]
    assert blob_names(audit_container, instance_id) == names
    assert get(tokens, url).content == first.content


def test_instance_ids_the_durable_api_cannot_address_are_refused(
    host: HostProcess, tokens: Tokens, released_order: str
) -> None:
    """`#`, `?`, `\\` and `/` would cut or bend the URL the SDK's client builds from the id (a lone `#`
    reached the instance list: a 500; `<id>#x` reached `<id>`): 400 naming instanceId, before any
    read (found by `ops fuzz` on a random seed)."""
    instance_id = f"maintenance-{released_order}"
    for suffix in ("%23", "%23x", "%3Fx%3D1", "%5C", "%2Fx"):
        for url in (f"/api/audit/packets/%23{suffix}", f"/api/audit/packets/{instance_id}{suffix}"):
            response = get(tokens, host.base_url + url)
            assert response.status_code == 400, (url, response.status_code, response.text)
            assert response.json()["field"] == "instanceId"
    sealing = requests.post(
        f"{host.base_url}/api/audit/packets/{instance_id}%23/seal",
        json={"reason": "test"},
        headers=tokens.headers(OPERATOR),
        timeout=30,
    )
    assert sealing.status_code == 400 and sealing.json()["field"] == "instanceId"
    console = get(tokens, f"{host.base_url}/api/console/instance/audit?id={instance_id}%23&format=json")
    assert console.status_code == 404 and "Unknown instance" in console.text


def test_ops_audit_verify_passes_on_the_original_and_says_what_is_wrong_otherwise(
    host: HostProcess,
    tokens: Tokens,
    released_order: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    instance_id = f"maintenance-{released_order}"
    base = ("--base-url", host.base_url, "--token", tokens.token(READER))
    code, out, _ = run_ops(capsys, "audit", "verify", instance_id, *base)
    assert code == 0 and "Verified: the packet is as sealed." in out
    assert "fetched from the app" in out, "the command says when it trusts the app for the key"

    original = get(tokens, f"{host.base_url}/api/audit/packets/{instance_id}").content
    keys = tmp_path / "published-keys.json"
    keys.write_bytes(get(tokens, f"{host.base_url}/api/audit/signing-keys").content)
    packet_file = tmp_path / "packet.json"
    packet_file.write_bytes(original)
    code, out, _ = run_ops(capsys, "audit", "verify", str(packet_file), "--public-key", str(keys))
    assert code == 0 and f"from {keys}" in out

    changed = tmp_path / "changed.json"
    changed.write_bytes(original.replace(APPROVER.encode(), b"Ada Approvex", 1))
    code, out, _ = run_ops(capsys, "audit", "verify", str(changed), "--public-key", str(keys))
    assert code == 1 and "FAIL  the packet's content does not match its sealed digest" in out

    wrong_key = tmp_path / "wrong.pem"
    other = create_key_file(wrong_key)
    wrong_jwks = tmp_path / "wrong.json"
    wrong_jwks.write_text(json.dumps({"keys": [other]}))
    code, out, _ = run_ops(capsys, "audit", "verify", str(packet_file), "--public-key", str(wrong_jwks))
    assert code == 1 and "which is not a trusted key" in out

    envelope = json.loads(original)
    del envelope["seal"]["signature"]
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(json.dumps(envelope))
    code, out, _ = run_ops(capsys, "audit", "verify", str(unsigned), "--public-key", str(keys), "--json")
    result = json.loads(out)
    assert code == 1 and result["problems"] == ["the seal is incomplete: signature missing"]


def test_the_report_and_the_release_certificate_read_as_a_person_needs_them(
    host: HostProcess, tokens: Tokens, released_order: str
) -> None:
    instance_id = f"maintenance-{released_order}"
    base = f"{host.base_url}/api/maintenance-orders/{released_order}"
    page = get(tokens, f"{base}/audit/report")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "style-src 'sha256-" in page.headers["Content-Security-Policy"]
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page.text)
    assert "<pre" not in page.text and '{"' not in page.text
    assert instance_id in page.text and APPROVER in page.text and "sealed and signed" in page.text
    assert f"Maintenance.Approver, id {APPROVER_PRINCIPAL.user_id}" in page.text, "the principal and role"
    assert get(tokens, f"{base}/audit/report", principal=APPROVER_PRINCIPAL).status_code == 403
    timeline = page.text[page.text.index("<h2>Timeline</h2>") : page.text.index("<h2>Decisions</h2>")]
    assert timeline.index("Release certificate issued") < timeline.index("Finished: released to service")
    assert "Customer notified (maintenance.released)" in timeline, "the last step's history is in the packet"
    report = get(tokens, f"{base}/audit/report?format=pdf")
    assert report.headers["Content-Type"].startswith("application/pdf")
    text = pdf_text(report.content)
    assert instance_id in text and APPROVER in text and "Digest (SHA-256)" in text

    packet = get(tokens, f"{base}/audit").json()["packet"]
    listed = {(d["name"], d["format"]): d for d in packet["documents"]}
    certificate = get(tokens, f"{base}/documents/release-certificate.pdf")
    assert certificate.status_code == 200 and certificate.headers["Content-Type"].startswith(
        "application/pdf"
    )
    assert hashlib.sha256(certificate.content).hexdigest() == listed[("release-certificate", "pdf")]["sha256"]
    text = pdf_text(certificate.content)
    assert instance_id in text and APPROVER in text and "released to service" in text
    assert "Maintenance.Approver" in text and APPROVER_PRINCIPAL.user_id in text
    html_copy = get(tokens, f"{base}/documents/release-certificate.html")
    assert hashlib.sha256(html_copy.content).hexdigest() == listed[("release-certificate", "html")]["sha256"]
    assert get(tokens, f"{base}/documents/donor-delivery-report.pdf").status_code == 404
    assert get(tokens, f"{base}/documents/..%2Fsecret.pdf").status_code == 400


def test_a_running_case_is_an_interim_snapshot_and_purge_waits_for_its_seal(
    host: HostProcess,
    tokens: Tokens,
    app: AppClient,
    audit_container: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    orders = MaintenanceOrderClient(app)
    order_id = new_id("interim")
    instance_id = f"maintenance-{order_id}"
    orders.start(maintenance_order_body(order_id))
    orders.wait_for_approval(order_id)
    base = f"{host.base_url}/api/maintenance-orders/{order_id}"
    interim = get(tokens, f"{base}/audit")
    assert interim.status_code == 200 and interim.headers["Audit-Packet-Sealed"] == "false"
    assert interim.json()["interim"] is True and "not the audit record" in interim.json()["notice"]
    assert get(tokens, f"{host.base_url}/api/audit/packets/{instance_id}").status_code == 409
    assert get(tokens, f"{base}/documents/release-certificate.pdf").status_code == 409
    assert "Interim snapshot" in get(tokens, f"{base}/audit/report").text
    assert blob_names(audit_container, instance_id) == [], "reads never store anything"

    api = DurableApi(host.base_url, token=tokens.token(OPERATOR))
    assert api.post(instance_id, "terminate", reason="customer withdrew the order").status_code == 202
    api.wait(instance_id, statuses={"Terminated"})
    common = ("--yes", "--base-url", host.base_url, "--token", tokens.token(OPERATOR))
    code, _, err = run_ops(capsys, "instances", "purge", instance_id, *common)
    assert code == 1 and "has no sealed audit packet" in err
    assert api.status(instance_id).status_code == 200, "nothing was purged"

    code, out, _ = run_ops(
        capsys, "audit", "seal", instance_id, "--reason", "terminated by operator", *common
    )
    assert code == 0 and "sealed:" in out
    sealed = get(tokens, f"{base}/audit")
    packet = sealed.json()["packet"]
    assert (
        packet["sealing"]["finalStatus"] == "Terminated"
        and "terminated by operator" in packet["sealing"]["sealedBy"]
    )
    assert packet["documents"] == [], "a terminated order issues no certificate"
    assert packet["sealing"]["operator"]["principalId"] == OPERATOR.user_id

    code, out, _ = run_ops(capsys, "instances", "purge", instance_id, *common)
    assert code == 0 and "Purged" in out
    assert api.status(instance_id).status_code == 404
    after = get(tokens, f"{base}/audit")
    assert after.status_code == 200 and after.content == sealed.content, "the packet outlives the history"
    console = get(tokens, f"{host.base_url}/api/console/instance?id={instance_id}")
    assert console.status_code == 200 and "(purged)" in console.text and "PDF report" in console.text
    code, _, _ = run_ops(capsys, "audit", "verify", instance_id, *common[1:])
    assert code == 0


def test_no_personal_data_in_any_packet_report_or_document(
    host: HostProcess, tokens: Tokens, app: AppClient, released_order: str, audit_container: Any
) -> None:
    disputes = FareDisputeClient(app)
    dispute_id = new_id("private")
    body = supervised_fare_dispute_body(dispute_id)
    disputes.file(body)
    disputes.wait_waiting_for(dispute_id, "supervisor_decision")
    FareDisputeClient(as_principal(host, tokens, SUPERVISOR)).decide(dispute_id, "approve", note=NOTE)
    assert disputes.wait_terminal(dispute_id)["outcome"] == "refunded"

    texts: list[tuple[str, str]] = []
    for blob in audit_container.list_blobs():
        content = audit_container.get_blob_client(blob.name).download_blob().readall()
        texts.append((blob.name, content.decode("latin-1")))
        if blob.name.endswith(".pdf"):
            texts.append((f"{blob.name} (text)", pdf_text(content)))
    for collection, business_id in (("maintenance-orders", released_order), ("fare-disputes", dispute_id)):
        base = f"{host.base_url}/api/{collection}/{business_id}"
        texts.append((f"{collection} report", get(tokens, f"{base}/audit/report").text))
        pdf = get(tokens, f"{base}/audit/report?format=pdf").content
        texts.append((f"{collection} report PDF", pdf_text(pdf)))
    assert any(name.endswith("resolution-letter.pdf (text)") for name, _ in texts)
    assert any("Dear customer" in text for _, text in texts)
    for name, text in texts:
        for value in PLANTED:
            assert value not in text, f"{value!r} in {name}"


@pytest.fixture(scope="module")
def twice_host(azurite: Azurite) -> Iterator[HostProcess]:
    """The root app with every activity delivered twice."""
    started = make_host(
        REPO_ROOT,
        azurite,
        deliver_twice=True,
        easy_auth=True,
        env={"STORAGE_CONTAINER_PREFIX": f"tw{uuid.uuid4().hex[:8]}"},
    ).start()
    yield started
    started.stop()


def test_an_activity_delivered_twice_still_seals_once(
    twice_host: HostProcess, azurite: Azurite, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = Tokens(twice_host.base_url)
    orders = MaintenanceOrderClient(AppClient(twice_host.base_url, token=tokens.token(SUBMITTER)))
    order_id = new_id("twice")
    orders.start(maintenance_order_body(order_id))
    orders.wait_for_approval(order_id)
    approver = MaintenanceOrderClient(AppClient(twice_host.base_url, token=tokens.token(APPROVER_PRINCIPAL)))
    approver.approve(order_id, approved=True)
    assert orders.wait_terminal(order_id)["outcome"] == "released"
    instance_id = f"maintenance-{order_id}"
    container = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(
        container_name(AUDIT_CONTAINER_PURPOSE, twice_host.env)
    )
    names = blob_names(container, instance_id)
    assert len([n for n in names if "audit-packet" in n]) == 1 and len(names) == 3, names
    history = (
        DurableApi(twice_host.base_url, token=tokens.token(READER))
        .status(instance_id, showHistory="true", showHistoryOutput="true")
        .json()["historyEvents"]
    )
    seals = [
        e
        for e in history
        if e.get("EventType") == "TaskCompleted" and e.get("FunctionName") == "seal_audit_packet"
    ]
    assert len(seals) == 1
    receipt = json.loads(seals[0]["Result"]) if isinstance(seals[0]["Result"], str) else seals[0]["Result"]
    assert receipt["alreadySealed"] is True, "the second delivery found the first one's packet"
    verify = ("--base-url", twice_host.base_url, "--token", tokens.token(READER))
    code, out, _ = run_ops(capsys, "audit", "verify", instance_id, *verify)
    assert code == 0, out
