"""Two slots on one storage account: the same business ids, different decisions, separate effects.

Reproduces the staging-pre-empts-production report: two devhosts of the root app on one Azurite,
with the same container prefix and different task hubs (as the production and staging slots run,
TASKHUB_NAME being sticky per slot). The same dispute and the same maintenance order are filed on
both and decided differently. Each hub must perform and record its own effects: its own refund
amount, its own ledger record, its own customer messages and documents, and neither may see the
other's containers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from blob_clients import container_name
from contracts.fare_dispute import instance_id_for
from idempotency.ledger import LEDGER_CONTAINER_PURPOSE
from tests.fare_dispute.support import DisputeHost, claim
from tests.maintenance_order.conftest import MaintenanceApi, order_body
from tools.harness import Azurite, make_host

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFIX = f"th{uuid.uuid4().hex[:8]}"  # one prefix for both slots, as on Azure (default `wf`)
PRODUCTION_HUB = f"prod{uuid.uuid4().hex[:8]}"
STAGING_HUB = f"staging{uuid.uuid4().hex[:8]}"


def start(azurite: Azurite, hub: str) -> DisputeHost:
    settings = {
        "AzureWebJobsStorage": azurite.connection_string,
        "STORAGE_CONTAINER_PREFIX": PREFIX,
        "TASKHUB_NAME": hub,
        "INTEGRATIONS_MODE": "sandbox",
        "FARE_DISPUTE_AUTO_APPROVE_LIMIT": "15.00",
    }
    host = make_host(REPO_ROOT, azurite, env=settings, virtual_clock=True, easy_auth=True).start()
    return DisputeHost(host, settings)


@pytest.fixture(scope="module")
def slots(azurite: Azurite) -> Iterator[tuple[DisputeHost, DisputeHost]]:
    production, staging = start(azurite, PRODUCTION_HUB), start(azurite, STAGING_HUB)
    yield production, staging
    production.process.stop()
    staging.process.stop()


def test_the_same_dispute_on_two_hubs_is_refunded_by_each_hubs_own_decision(
    slots: tuple[DisputeHost, DisputeHost],
) -> None:
    production, staging = slots
    dispute_id = f"same-{uuid.uuid4().hex[:8]}"
    body = claim(dispute_id, "trip-airport", "cancelled_trip", "42.50", customer_id="cust-ben")

    # Staging goes first (a smoke test with a real-looking id), and its supervisor pays 1.00.
    staging.file_ok(body)
    staging.waiting_for(dispute_id, "supervisor_decision")
    partial = {"decision": "partial", "refundAmount": {"amount": "1.00", "currency": "EUR"}}
    assert staging.decide(dispute_id, partial).status_code == 202
    assert staging.resolved(dispute_id)["result"]["outcome"] == "partially_refunded"

    # Production's supervisor approves the full 42.50 for the same dispute id.
    production.file_ok(body)
    production.waiting_for(dispute_id, "supervisor_decision")
    assert production.decide(dispute_id, {"decision": "approve"}).status_code == 202
    result = production.resolved(dispute_id)["result"]
    assert result["outcome"] == "refunded"
    assert Decimal(result["refund"]["amount"]["amount"]) == Decimal("42.50")

    # Each gateway (sandbox of its hub) refunded once, its own amount.
    assert [Decimal(r["request"]["amount"]["amount"]) for r in production.refunds(dispute_id)] == [
        Decimal("42.50")
    ]
    assert [Decimal(r["request"]["amount"]["amount"]) for r in staging.refunds(dispute_id)] == [
        Decimal("1.00")
    ]

    # Each ledger holds its own record, performed by its own hub (not `performed=False` with the
    # other hub's outcome, which is what the shared ledger produced).
    key = f"{instance_id_for(dispute_id)}:issue_refund"
    for host, amount in ((production, "42.50"), (staging, "1.00")):
        record = host.ledger().lookup(key)
        assert record is not None and record.state == "done", key
        assert record.outcome is not None and Decimal(record.outcome["amount"]["amount"]) == Decimal(amount)
        assert record.request_fingerprint is not None

    # The audit packet and the customer's last message tell each hub's own outcome.
    audit = production.audit(dispute_id).json()["packet"]
    assert Decimal(audit["refund"]["amount"]["amount"]) == Decimal("42.50")
    for host, outcome in ((production, "refunded"), (staging, "partially_refunded")):
        resolved = [
            effect["request"]["parameters"]
            for effect in host.sandbox("customer_messaging").effects("send")
            if effect["idempotencyKey"].startswith(instance_id_for(dispute_id) + ":")
            and effect["request"]["template"] == "fare_dispute.resolved"
        ]
        assert [message["outcome"] for message in resolved] == [outcome]
    refund_lines = [
        line
        for line in production.process.log_text().splitlines()
        if "refund recorded" in line and instance_id_for(dispute_id) in line
    ]
    assert refund_lines and all("performed=True" in line for line in refund_lines), refund_lines


def test_the_same_maintenance_order_on_two_hubs_follows_each_hubs_own_approval(
    slots: tuple[DisputeHost, DisputeHost],
) -> None:
    production, staging = (MaintenanceApi(host.base_url) for host in slots)
    order_id = f"same-{uuid.uuid4().hex[:8]}"
    for api, approved in ((staging, False), (production, True)):
        assert api.start(order_body(order_id)).status_code == 202
        api.wait_for(
            order_id,
            lambda body: body.get("stage") == "awaiting_approval" or body.get("runtimeStatus") == "Failed",
            "the approval wait",
        )
        assert api.approve(order_id, {"approved": approved}).status_code == 202
        api.wait_for(order_id, lambda body: body.get("runtimeStatus") == "Completed", "the end")
    assert production.order(order_id).json()["outcome"] == "released"
    assert staging.order(order_id).json()["outcome"] == "rejected"

    instance_id = f"maintenance-{order_id}"
    for host, expected in (
        (slots[0], ["compliance-pack.json", "release-certificate.json"]),
        (slots[1], ["compliance-pack.json"]),
    ):
        filed = sorted(
            effect["request"]["name"]
            for effect in host.sandbox("documents").effects()
            if effect["idempotencyKey"].startswith(instance_id + ":")
        )
        assert filed == expected, host.settings["TASKHUB_NAME"]


def test_each_hub_writes_only_its_own_containers(
    slots: tuple[DisputeHost, DisputeHost], azurite: Azurite
) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    names = {container.name for container in service.list_containers(name_starts_with=f"{PREFIX}-")}
    for hub in (PRODUCTION_HUB, STAGING_HUB):
        assert (
            container_name(
                LEDGER_CONTAINER_PURPOSE, {"TASKHUB_NAME": hub, "STORAGE_CONTAINER_PREFIX": PREFIX}
            )
            in names
        )
        assert {f"{PREFIX}-{hub.lower()}-payloads", f"{PREFIX}-{hub.lower()}-sandbox"} <= names
    shared = sorted(
        name
        for name in names
        if not name.startswith((f"{PREFIX}-{PRODUCTION_HUB}-", f"{PREFIX}-{STAGING_HUB}-"))
    )
    assert shared == [], f"containers no hub owns: {shared}"
