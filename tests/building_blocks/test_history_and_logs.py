"""What a full run leaves behind: no large payloads in history, no sensitive values anywhere stored or
logged, one log line per orchestrator step however often it replays."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests
from azure.storage.blob import BlobServiceClient

from blob_clients import container_name
from claim_check import ClaimCheck, is_reference
from idempotency.ledger import LEDGER_CONTAINER_PURPOSE
from integrations.sandbox import SandboxSystem
from tests.support.durable_http import DurableApi
from tools.harness import Azurite, HostProcess

EMAIL = "jane.planted@example.test"
PHONE = "+44 7700 900123"
CARD = "4111 1111 1111 1111"
EVIDENCE = "PLANTED-EVIDENCE the driver took a detour past Elm Street"
NAME = "Janet Plantedname"
PLANTED = [EMAIL, PHONE, CARD, CARD.replace(" ", ""), EVIDENCE, NAME]


def stored_text(azurite: Azurite, container: str) -> str:
    """Every blob of a container, concatenated (the devhost's instance documents and logs)."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.get_container_client(container)
    return "\n".join(
        client.get_blob_client(blob.name).download_blob().readall().decode(errors="replace")
        for blob in client.list_blobs()
    )


def test_large_payloads_travel_by_reference_and_never_enter_history(
    start_host: Callable[..., HostProcess], storage_env: dict[str, str], azurite: Azurite
) -> None:
    host = start_host()
    api = DurableApi(host.base_url)
    instance_id = api.start_id("large_payload_flow")
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    output = status["output"]
    assert is_reference(output["report"]) and output["report"]["$claimCheck"]["size"] > 300_000
    assert output["summary"] == {"rows": 4000, "last": 3999}, "the next activity read the report by reference"

    history_text = json.dumps(status)
    assert "inspection line" not in history_text
    assert len(history_text) < 16 * 1024, "history with inputs and outputs stays small"
    assert "inspection line" not in stored_text(azurite, f"dh-{host.extra['hub']}")

    claim_check = ClaimCheck.from_settings(storage_env)
    assert len(claim_check.load(output["report"])) == 4000
    assert claim_check.read_document(output["document"]).startswith(b"compliance pack\n")


def test_a_full_run_stores_and_logs_none_of_the_planted_sensitive_values(
    start_host: Callable[..., HostProcess], storage_env: dict[str, str], azurite: Azurite
) -> None:
    host = start_host()
    api = DurableApi(host.base_url)
    order: dict[str, Any] = {
        "orderId": "o-77",
        "priority": 2,
        "customer": {"name": NAME, "email": EMAIL, "phone": PHONE},
        "cardNumber": CARD,
        "refund": {"amount": "15.00", "currency": "EUR"},
    }
    started = requests.post(f"{host.base_url}/api/test-orders", json=order, timeout=30)
    assert started.status_code == 202, started.text
    instance_id = started.json()["id"]
    # Raise the event once the orchestrator waits for it. (An event that arrived in an earlier
    # episode resolves the wait as replayed history, and the SDK then reports is_replaying for
    # the step after it, so its log line would be skipped: lines go missing, never double.)
    deadline = time.monotonic() + 20
    while (api.status(instance_id).json().get("customStatus") or {}).get("waitingFor") != "evidence_added":
        assert time.monotonic() < deadline, "the orchestrator never waited for evidence"
        time.sleep(0.05)
    evidence_url = f"{host.base_url}/api/test-orders/o-77/evidence"
    assert requests.post(evidence_url, json={"description": EVIDENCE}, timeout=30).status_code == 202
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status

    # The values did flow: the customer's e-mail reached the (sandboxed) messaging provider.
    messages = SandboxSystem.from_settings("customer_messaging", storage_env).effects()
    assert [message["request"]["to"] for message in messages] == [EMAIL]

    full_status = api.status(instance_id, showHistory="true", showHistoryOutput="true", showInput="true").text
    history = stored_text(azurite, f"dh-{host.extra['hub']}")
    ledger = stored_text(azurite, container_name(LEDGER_CONTAINER_PURPOSE, storage_env))
    host.stop()
    log = host.log_text()
    for value in PLANTED:
        assert value not in full_status, (
            f"{value!r} in the status API (input, output, custom status, history)"
        )
        assert value not in history, f"{value!r} in the stored history"
        assert value not in ledger, f"{value!r} in the effect ledger"
        assert value not in log, f"{value!r} in the host log"

    # Logging happened, correlated and redacted, and the orchestrator's lines appear once each
    # although it replayed at every step.
    assert "[redacted]" in log
    assert f"instance_id={instance_id} workflow=building_blocks_test step=notify_customer" in log
    for line in ["order accepted", "customer notified", "evidence received", "refund issued"]:
        assert log.count(f"{line} | instance_id={instance_id}") == 1, line
    # Each result or event starts a new episode, which replays the orchestrator from the top.
    resumptions = [e for e in status["historyEvents"] if e["EventType"] in ("TaskCompleted", "EventRaised")]
    assert len(resumptions) >= 3, "the orchestrator replayed; the single lines above are not luck"
