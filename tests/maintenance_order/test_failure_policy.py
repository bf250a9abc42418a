"""The failure policy (orchestrators/failure_policy.py) with sandboxes failing for longer than the
retry budget: customer messages are best effort (the order goes on and records what stayed
unsent), supplier calls are strict (the order ends Failed and records what stays done)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from durable_wire import TERMINAL_STATUSES
from orchestrators.failure_policy import BEST_EFFORT_RETRY
from tools.harness import HostProcess

from .conftest import MaintenanceApi, Sandboxes, new_order_id, order_body

# Retries wait on the virtual clock: one step lets the next attempt run.
RETRY_STEP_SECONDS = 300


def drive_until(
    api: MaintenanceApi, order_id: str, predicate: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """Move the virtual clock a retry interval at a time until `predicate` holds."""
    for _ in range(80):
        body = api.order(order_id).json()
        if predicate(body):
            return dict(body)
        api.advance_clock(RETRY_STEP_SECONDS)
        time.sleep(0.1)  # the retry the clock released runs before the next step
    raise AssertionError(f"order {order_id}: {what} never happened: {api.order(order_id).json()}")


def test_messages_failing_past_the_retry_budget_are_recorded_and_the_order_is_released(
    start_host: Callable[..., HostProcess], sandboxes: Sandboxes
) -> None:
    """Every customer message fails for good: both notices give up after all their attempts, the
    order still waits for, takes and completes its approval, and the custom status, the audit
    packet and an error log say which messages stayed unsent."""
    host = start_host(env={"SANDBOX_FAULTS_CUSTOMER_MESSAGING": "transient"})
    api = MaintenanceApi(host.base_url)
    order_id = new_order_id("unsent")
    instance_id = f"maintenance-{order_id}"
    assert api.start(order_body(order_id)).status_code == 202
    waiting = drive_until(api, order_id, lambda b: b.get("stage") == "awaiting_approval", "the approval wait")
    assert waiting["unsent"] == ["notify_customer:awaiting_approval"]
    assert api.approve(order_id, {"approved": True, "approver": "Ada Approver"}).status_code == 202
    done = drive_until(api, order_id, lambda b: b.get("runtimeStatus") in TERMINAL_STATUSES, "the end")
    assert (done["runtimeStatus"], done["outcome"], done["stage"]) == ("Completed", "released", "released")
    assert done["unsent"] == ["notify_customer:awaiting_approval", "notify_customer:released"]

    assert sandboxes.effects("customer_messaging", instance_id) == []
    sends = Counter(
        call["outcome"]
        for call in sandboxes.calls("customer_messaging")
        if str(call["idempotencyKey"]).startswith(f"{instance_id}:")
    )
    assert sends == Counter({"fault:transient": 2 * BEST_EFFORT_RETRY.max_number_of_attempts})
    assert len(sandboxes.effects("documents", instance_id)) == 2, "compliance pack and certificate filed"

    packet = api.audit(order_id).json()["packet"]
    assert packet["finalOutcome"] == "released" and packet["failure"] is None
    assert packet["unsentNotifications"] == done["unsent"]
    notices = [a for a in packet["activities"] if a["name"] == "notify_customer"]
    assert [(a["outcome"], len(a["attempts"])) for a in notices] == [("failed", 12), ("failed", 12)]
    log = host.log_text()
    assert "best-effort step gave up" in log and "gave_up=notify_customer" in log


def test_a_supplier_outage_past_the_retry_budget_fails_the_order_and_records_what_stays_done(
    start_host: Callable[..., HostProcess], sandboxes: Sandboxes
) -> None:
    """Suppliers fail for good: the parts look-up (strict) gives up, the order ends Failed, and its
    status names the step, the reason and what cannot be undone (the filed inspection record)."""
    host = start_host(env={"SANDBOX_FAULTS_SUPPLIERS": "transient"})
    api = MaintenanceApi(host.base_url)
    order_id = new_order_id("outage")
    instance_id = f"maintenance-{order_id}"
    assert api.start(order_body(order_id)).status_code == 202
    failed = drive_until(api, order_id, lambda b: b.get("runtimeStatus") in TERMINAL_STATUSES, "the end")
    assert (failed["runtimeStatus"], failed["stage"]) == ("Failed", "failed")
    failure = failed["failure"]
    assert failure["step"] == "look_up_parts" and "injected 503" in failure["reason"]
    assert failure["kept"] == ["inspection record filed"]
    assert sandboxes.effects("suppliers", instance_id) == [], "no supplier request was placed"
    assert api.approve(order_id, {"approved": True, "approver": "Ada Approver"}).status_code == 409
    packet = api.audit(order_id).json()["packet"]
    assert packet["finalOutcome"] == "Failed" and packet["failure"] == failure
    assert "process failed" in host.log_text()
