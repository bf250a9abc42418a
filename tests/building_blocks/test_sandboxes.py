"""Sandboxes and HTTP adapters: dedupe by key, fault injection, atomic inventory, real HTTP calls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from integrations import (
    IdempotencyKeyReusedError,
    IntegrationNotConfiguredError,
    IntegrationRejectedError,
    IntegrationTimeoutError,
    TransientIntegrationError,
    integrations_from_settings,
    sandbox_selected,
)
from integrations.documents import SandboxDocumentStore
from integrations.http_transport import HttpTransport
from integrations.inventory import HttpInventoryStore, ReserveRequest, SandboxInventoryStore
from integrations.payments import HttpPaymentGateway, RefundRequest, SandboxPaymentGateway
from integrations.sandbox import TRANSIENT_RUN_LIMIT, FaultRule, SandboxSystem, parse_faults, scheduled_fault
from integrations.selection import integration_mode
from integrations.suppliers import SandboxSupplierApi

REFUND = RefundRequest.from_dict(
    {"paymentReference": "trip-1", "amount": {"amount": "7.20", "currency": "EUR"}, "reason": "overcharge"}
)


def test_the_same_key_is_one_effect_and_returns_the_first_response(storage_env: dict[str, str]) -> None:
    gateway = SandboxPaymentGateway.from_settings(storage_env)
    first = gateway.refund(REFUND, "d-1:issue_refund")
    again = gateway.refund(REFUND, "d-1:issue_refund")
    other = gateway.refund(REFUND, "d-2:issue_refund")
    assert first == again and first.refund_id != other.refund_id
    sandbox = SandboxSystem.from_settings("payments", storage_env)
    assert [effect["idempotencyKey"] for effect in sandbox.effects("refund")] == [
        "d-1:issue_refund",
        "d-2:issue_refund",
    ]
    assert [call["outcome"] for call in sandbox.calls()] == ["effect", "duplicate", "effect"]


def test_a_key_reused_for_another_request_is_refused(storage_env: dict[str, str]) -> None:
    gateway = SandboxPaymentGateway.from_settings(storage_env)
    gateway.refund(REFUND, "d-1:issue_refund")
    bigger = REFUND.model_copy(
        update={"amount": REFUND.amount.model_copy(update={"amount": REFUND.amount.amount * 2})}
    )
    with pytest.raises(IdempotencyKeyReusedError):
        gateway.refund(bigger, "d-1:issue_refund")


def test_concurrent_calls_with_one_key_record_one_effect(storage_env: dict[str, str]) -> None:
    gateway = SandboxPaymentGateway.from_settings(storage_env)
    with ThreadPoolExecutor(10) as pool:
        receipts = list(pool.map(lambda _: gateway.refund(REFUND, "d-3:issue_refund"), range(10)))
    assert len({receipt.refund_id for receipt in receipts}) == 1
    assert len(SandboxSystem.from_settings("payments", storage_env).effects()) == 1


def test_fault_settings_are_parsed_and_validated() -> None:
    assert parse_faults("transient:1/3, timeout_after_commit, timeout:first, transient@release") == (
        FaultRule("transient", 3),
        FaultRule("timeout_after_commit", 1),
        FaultRule("timeout", first_only=True),
        FaultRule("transient", operation="release"),
    )
    assert parse_faults("") == ()
    for bad in ["flaky", "transient:2/3", "timeout:1/0", "timeout:last", "transient@"]:
        with pytest.raises(ValueError):
            parse_faults(bad)


def test_transient_faults_fail_before_acting(storage_env: dict[str, str]) -> None:
    env = {**storage_env, "SANDBOX_FAULTS_DONOR_PORTAL": "transient:first"}
    portal = integrations_from_settings(env).donor_portal
    from integrations.donor_portal import DonorUpdate

    update = DonorUpdate(request_id="r-1", status="reserved", pallets_reserved=4)
    with pytest.raises(TransientIntegrationError):
        portal.publish(update, "relief-1:publish")
    assert SandboxSystem.from_settings("donor_portal", storage_env).effects() == []
    receipt = portal.publish(update, "relief-1:publish")
    assert receipt.status == "reserved"


def test_timeout_after_commit_acts_then_the_retry_gets_the_same_answer(storage_env: dict[str, str]) -> None:
    env = {**storage_env, "SANDBOX_FAULTS_PAYMENTS": "timeout_after_commit:first"}
    gateway = SandboxPaymentGateway.from_settings(env)
    with pytest.raises(IntegrationTimeoutError):
        gateway.refund(REFUND, "d-4:issue_refund")
    sandbox = SandboxSystem.from_settings("payments", storage_env)
    assert len(sandbox.effects()) == 1, "the refund went through although the caller saw a timeout"
    retry = gateway.refund(REFUND, "d-4:issue_refund")
    assert retry.refund_id == sandbox.effects()[0]["response"]["refundId"]
    assert [call["outcome"] for call in sandbox.calls()] == [
        "effect",
        "fault:timeout_after_commit",
        "duplicate",
    ]


def test_inventory_never_over_allocates_under_concurrent_reservations(storage_env: dict[str, str]) -> None:
    inventory = SandboxInventoryStore.from_settings(storage_env)
    inventory.set_stock("depot-a", "water", 10)

    def reserve(number: int) -> Any:
        key = f"relief-{number % 15}:reserve:depot-a:water"  # 30 calls, 15 distinct keys: each key twice
        return inventory.reserve(
            ReserveRequest(depot_id="depot-a", sku="water", pallets=2, allow_partial=False), key
        )

    with ThreadPoolExecutor(10) as pool:
        reservations = list(pool.map(reserve, range(30)))
    level = inventory.levels()[0]
    by_key = {reservation.reservation_key: reservation for reservation in reservations}
    assert level.reserved == sum(r.reserved for r in by_key.values()) == 10
    assert sorted(r.status for r in by_key.values()).count("reserved") == 5
    assert all(r.status in ("reserved", "short") for r in by_key.values())
    assert level.stock == level.available + level.reserved + level.delivered

    winner = next(r for r in by_key.values() if r.status == "reserved")
    assert inventory.release("depot-a", "water", winner.reservation_key).status == "released"
    assert inventory.release("depot-a", "water", winner.reservation_key).status == "released"
    delivered = next(r for r in by_key.values() if r.status == "reserved" and r is not winner)
    inventory.deliver("depot-a", "water", delivered.reservation_key)
    inventory.deliver("depot-a", "water", delivered.reservation_key)
    level = inventory.levels()[0]
    assert (level.reserved, level.delivered, level.available) == (6, 2, 2)
    partial = inventory.reserve(
        ReserveRequest(depot_id="depot-a", sku="water", pallets=5), "relief-99:reserve"
    )
    assert (partial.status, partial.reserved) == ("partial", 2)
    with pytest.raises(IntegrationRejectedError):
        inventory.set_stock("depot-a", "water", 3)


def test_documents_and_supplier_catalogue(storage_env: dict[str, str]) -> None:
    documents = SandboxDocumentStore.from_settings(storage_env)
    receipt = documents.store("pack.pdf", b"%PDF-1.7 ...", "application/pdf", "m-1:compliance_pack")
    assert documents.store("pack.pdf", b"%PDF-1.7 ...", "application/pdf", "m-1:compliance_pack") == receipt
    assert documents.fetch(receipt.document_id) == b"%PDF-1.7 ..."
    with pytest.raises(IntegrationRejectedError):
        documents.fetch("doc_unknown")
    suppliers = SandboxSupplierApi.from_settings(storage_env)
    offers = suppliers.find_parts(["PN-1", "PN-2"])
    assert offers == suppliers.find_parts(["PN-1", "PN-2"]) and {o.part_number for o in offers} == {
        "PN-1",
        "PN-2",
    }


def test_selection_defaults_to_sandbox_locally_and_never_in_azure(storage_env: dict[str, str]) -> None:
    local = {k: v for k, v in storage_env.items() if k != "INTEGRATIONS_MODE"}
    assert integration_mode(local) == "sandbox" and sandbox_selected(local)
    in_azure = {**local, "WEBSITE_INSTANCE_ID": "abc"}
    assert not sandbox_selected(in_azure)
    with pytest.raises(IntegrationNotConfiguredError):
        integrations_from_settings(in_azure)
    with pytest.raises(IntegrationNotConfiguredError):
        integrations_from_settings({**local, "INTEGRATIONS_MODE": "http"})  # no base URLs or secrets
    with pytest.raises(IntegrationNotConfiguredError):
        integration_mode({"INTEGRATIONS_MODE": "mock"})


# -- the HTTP implementations, against a real local HTTP server ---------------------------------------


class Provider(BaseHTTPRequestHandler):
    """A payment provider that records requests and answers by path: /ok, /busy, /bad, /slow."""

    seen: list[dict[str, Any]] = []  # noqa: RUF012 (class-level on purpose: shared with the test)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        Provider.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path.startswith("/slow/"):
            time.sleep(1.0)
        status = 503 if self.path.startswith("/busy/") else 400 if self.path.startswith("/bad/") else 200
        answer: dict[str, Any] = {
            "refundId": "re_x",
            "paymentReference": "trip-1",
            "amount": body.get("amount"),
            "status": "succeeded",
        }
        if self.path.endswith("/reservations"):
            answer = {
                "reservationKey": self.headers["Idempotency-Key"],
                "depotId": body["depotId"],
                "sku": body["sku"],
                "requested": body["pallets"],
                "reserved": body["pallets"],
                "status": "reserved",
            }
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def provider() -> Iterator[str]:
    Provider.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_gateway_sends_the_key_and_the_secret_and_maps_errors(provider: str) -> None:
    env = {"PAYMENTS_BASE_URL": f"{provider}/ok", "PAYMENTS_API_KEY": "s3cret", "PAYMENTS_TIMEOUT": "PT0.5S"}
    receipt = HttpPaymentGateway(HttpTransport.from_settings("payments", env)).refund(
        REFUND, "d-1:issue_refund"
    )
    assert receipt.refund_id == "re_x"
    sent = Provider.seen[-1]
    assert sent["path"] == "/ok/refunds"
    assert sent["headers"]["Idempotency-Key"] == "d-1:issue_refund"
    assert sent["headers"]["Authorization"] == "Bearer s3cret"
    assert sent["body"]["amount"] == {"amount": "7.20", "currency": "EUR"}

    for base, error in [
        ("busy", TransientIntegrationError),
        ("bad", IntegrationRejectedError),
        ("slow", IntegrationTimeoutError),
    ]:
        gateway = HttpPaymentGateway(
            HttpTransport.from_settings("payments", {**env, "PAYMENTS_BASE_URL": f"{provider}/{base}"})
        )
        with pytest.raises(error) as raised:
            gateway.refund(REFUND, "d-1:issue_refund")
        assert "7.20" not in str(raised.value) and "s3cret" not in str(raised.value)


def test_http_inventory_uses_the_key_on_every_mutation(provider: str) -> None:
    transport = HttpTransport("inventory", f"{provider}/ok", "k")
    store = HttpInventoryStore(transport)
    reservation = store.reserve(ReserveRequest(depot_id="d", sku="s", pallets=1), "relief-1:reserve:d:s")
    assert reservation.status == "reserved"
    assert Provider.seen[-1]["headers"]["Idempotency-Key"] == "relief-1:reserve:d:s"


def test_fault_schedule_depends_on_the_call_and_its_attempt_only_and_transient_runs_end() -> None:
    """`1/N` faults are drawn per call identity and attempt (not per process), hit about one attempt
    in N, and fail at most TRANSIENT_RUN_LIMIT attempts of one identity; `mode` fails every attempt
    and `mode:first` exactly the first."""
    ratio = parse_faults("transient:1/5,timeout_after_commit:1/7")

    def schedule(
        rules: tuple[FaultRule, ...], identity: str, attempts: int, seed: str = "7"
    ) -> list[str | None]:
        return [
            scheduled_fault(
                rules, seed=seed, system="suppliers", operation="request", identity=identity, attempt=n
            )
            for n in range(1, attempts + 1)
        ]

    first_attempts = [schedule(ratio, f"key-{i}", 1)[0] for i in range(3000)]
    assert 0.25 < sum(1 for fault in first_attempts if fault) / 3000 < 0.37  # 1 - 4/5 * 6/7 ≈ 0.31
    assert schedule(ratio, "key-1", 8) == schedule(ratio, "key-1", 8), "the same call, the same schedule"
    assert any(schedule(ratio, f"key-{i}", 8) != schedule(ratio, f"key-{i}", 8, seed="8") for i in range(20))
    most = max(sum(1 for fault in schedule(ratio, f"key-{i}", 12) if fault) for i in range(3000))
    assert most == TRANSIENT_RUN_LIMIT, "transient faults end: a call identity fails at most this often"
    assert schedule(parse_faults("timeout"), "key-1", 5) == ["timeout"] * 5
    assert schedule(parse_faults("transient:first"), "key-1", 3) == ["transient", None, None]
