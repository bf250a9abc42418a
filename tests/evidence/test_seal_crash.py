"""kill -9 between writing the sealed packet and the seal activity's completion: the restarted host
runs the seal again, which finds the packet and returns it; the order completes with one packet."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import requests
from azure.storage.blob import BlobServiceClient

from audit_packets.sealed_store import AUDIT_CONTAINER_PURPOSE
from blob_clients import container_name
from tests.support.identity import APPROVER, READER, SUBMITTER, Tokens
from tools.clients import AppClient, MaintenanceOrderClient, maintenance_order_body
from tools.harness import Azurite, make_host

# The maintenance order test app: it can pause right after the packet write (its module docstring).
MAINTENANCE_APP = Path(__file__).resolve().parents[1] / "maintenance_order" / "app"


def test_kill_9_after_the_packet_was_written_seals_once(azurite: Azurite, tmp_path: Path) -> None:
    prefix = f"crash{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "sealed-once"
    host = make_host(
        MAINTENANCE_APP,
        azurite,
        easy_auth=True,
        env={
            "STORAGE_CONTAINER_PREFIX": prefix,
            "AUDIT_SEAL_TEST_PAUSE_MARKER": str(marker),
            "AUDIT_SEAL_TEST_PAUSE_SECONDS": "60",
        },
    ).start()
    try:
        tokens = Tokens(host.base_url)
        orders = MaintenanceOrderClient(AppClient(host.base_url, token=tokens.token(SUBMITTER)))
        order_id = f"crash-{uuid.uuid4().hex[:8]}"
        orders.start(maintenance_order_body(order_id))
        orders.wait_for_approval(order_id)
        approver = MaintenanceOrderClient(AppClient(host.base_url, token=tokens.token(APPROVER)))
        approver.approve(order_id, approved=True)
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline, "the seal never wrote its packet"
            time.sleep(0.05)
        assert orders.status(order_id)["runtimeStatus"] == "Running", "killed before the seal completed"
        host.kill()
        host.start()
        assert orders.wait_terminal(order_id)["outcome"] == "released"
        container = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(
            container_name(AUDIT_CONTAINER_PURPOSE, host.env)
        )
        names = [b.name for b in container.list_blobs(name_starts_with=f"maintenance-{order_id}/")]
        assert len([n for n in names if "audit-packet" in n]) == 1, names
        sealed = requests.get(
            f"{host.base_url}/api/maintenance-orders/{order_id}/audit",
            headers=tokens.headers(READER),
            timeout=30,
        )
        assert sealed.headers["Audit-Packet-Verification"] == "ok"
        stored = (
            container.get_blob_client(next(n for n in names if "audit-packet" in n)).download_blob().readall()
        )
        assert sealed.content == stored
    finally:
        host.stop()
