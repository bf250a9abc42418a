"""The whole happy path with every activity delivered twice (`--deliver-activities-twice`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from tools.harness import HostProcess

from .conftest import MaintenanceApi, Sandboxes, new_order_id, order_body


def run_happy_path(api: MaintenanceApi, order_id: str) -> dict[str, object]:
    assert api.start(order_body(order_id)).status_code == 202
    api.wait_stage(order_id, "awaiting_approval")
    assert api.approve(order_id, {"approved": True}).status_code == 202
    return api.wait_finished(order_id)


def test_deliver_twice_makes_one_request_document_and_notification_per_step(
    start_host: Callable[..., HostProcess], sandboxes: Sandboxes
) -> None:
    api = MaintenanceApi(start_host(deliver_twice=True).base_url)
    order_id = new_order_id("twice")
    instance_id = f"maintenance-{order_id}"
    assert run_happy_path(api, order_id)["outcome"] == "released"

    supplier_requests = sandboxes.effects("suppliers", instance_id, "request_parts")
    assert Counter(effect["request"]["supplierId"] for effect in supplier_requests) == {
        "supplier-east": 1,
        "supplier-north": 1,
        "supplier-south": 1,
    }
    documents = sandboxes.effects("documents", instance_id)
    assert sorted(effect["request"]["name"] for effect in documents) == [
        "compliance-pack.json",
        "release-certificate.json",
    ]
    messages = sandboxes.effects("customer_messaging", instance_id)
    assert sorted(effect["request"]["template"] for effect in messages) == [
        "maintenance.awaiting_approval",
        "maintenance.released",
    ]
    # Each outside system was called once per key: the second delivery got the ledger's record.
    for system in ("suppliers", "documents", "customer_messaging"):
        effect_calls = [
            call
            for call in sandboxes.calls(system)
            if str(call.get("idempotencyKey")).startswith(f"{instance_id}:") and call["outcome"] == "effect"
        ]
        assert len(effect_calls) == len(sandboxes.effects(system, instance_id)), system
