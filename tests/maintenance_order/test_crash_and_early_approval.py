"""Supplier faults hold the order inside the supplier fan-out (retry timers wait on the virtual
clock), so the host can be killed there, and a decision can arrive before the approval wait.

The first attempt of every supplier call fails (`SANDBOX_FAULTS_SUPPLIERS=timeout_after_commit:first`):
a parts lookup before answering, a parts request after the supplier recorded it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from contracts.maintenance_order import APPROVAL_DECISION_EVENT
from tests.support.identity import APPROVER, SUBMITTER, Role, forged_approval, person
from tools.harness import HostProcess

from .conftest import MaintenanceApi, Sandboxes, new_order_id, order_body

SUPPLIER_FAULTS = {"SANDBOX_FAULTS_SUPPLIERS": "timeout_after_commit:first"}
RETRY_SECONDS = 5
EARLY_EVE = person("Early Eve", Role.MAINTENANCE_APPROVER)


def drive_retries_until(api: MaintenanceApi, order_id: str, stage: str, rounds: int = 30) -> None:
    """Advance the clock one retry interval at a time until the order reaches `stage`."""
    for _ in range(rounds):
        time.sleep(0.3)
        if api.order(order_id).json().get("stage") == stage:
            return
        api.advance_clock(RETRY_SECONDS)
    raise AssertionError(f"order {order_id} never reached {stage}: {api.order(order_id).json()}")


def wait_inside_fan_out(api: MaintenanceApi, sandboxes: Sandboxes, order_id: str) -> None:
    """Until a supplier recorded a request whose answer was lost, and its retry waits on the clock."""
    instance_id = f"maintenance-{order_id}"
    for _ in range(60):
        calls = [
            call
            for call in sandboxes.calls("suppliers")
            if call["operation"] == "request_parts"
            and str(call.get("idempotencyKey")).startswith(instance_id)
        ]
        outcomes = Counter(call["outcome"] for call in calls)
        if outcomes["effect"] >= 1 and outcomes["fault:timeout_after_commit"] >= 1:
            assert api.order(order_id).json()["stage"] == "requesting_parts"
            return
        if api.order(order_id).json().get("stage") == "looking_up_parts":
            api.advance_clock(RETRY_SECONDS)
        time.sleep(0.2)
    raise AssertionError("the order never got inside the supplier fan-out")


def order_inside_fan_out(host: HostProcess, sandboxes: Sandboxes, label: str) -> tuple[MaintenanceApi, str]:
    """Start a new order (id from `label`) on `host` (started with SUPPLIER_FAULTS) and hold it
    inside the supplier fan-out: the host's API and the order id."""
    api = MaintenanceApi(host.base_url)
    order_id = new_order_id(label)
    assert api.start(order_body(order_id)).status_code == 202
    wait_inside_fan_out(api, sandboxes, order_id)
    return api, order_id


def test_kill_during_supplier_fan_out_then_restart_requests_each_supplier_once(
    start_host: Callable[..., HostProcess], sandboxes: Sandboxes
) -> None:
    host = start_host(env=SUPPLIER_FAULTS)
    api, order_id = order_inside_fan_out(host, sandboxes, "crash")
    instance_id = f"maintenance-{order_id}"

    host.kill()
    host.start()
    drive_retries_until(api, order_id, "awaiting_approval")
    requests_made = sandboxes.effects("suppliers", instance_id, "request_parts")
    assert Counter(effect["request"]["supplierId"] for effect in requests_made) == {
        "supplier-east": 1,
        "supplier-north": 1,
        "supplier-south": 1,
    }
    assert api.approve(order_id, {"approved": True}).status_code == 202
    assert api.wait_finished(order_id)["outcome"] == "released"


def test_approval_sent_before_the_order_waits_is_taken_when_it_does(
    start_host: Callable[..., HostProcess], sandboxes: Sandboxes
) -> None:
    host = start_host(env=SUPPLIER_FAULTS)
    api, order_id = order_inside_fan_out(host, sandboxes, "early")

    early = api.approve(order_id, {"approved": True}, as_=EARLY_EVE)
    assert early.status_code == 202, early.text
    assert api.order(order_id).json()["stage"] == "requesting_parts", "the decision came before the wait"
    drive_retries_until(api, order_id, "released")
    finished = api.wait_finished(order_id)
    assert finished["outcome"] == "released"
    packet = api.audit(order_id).json()["packet"]
    assert packet["approval"]["approvedBy"] == "Early Eve"
    assert packet["approval"]["approvedByPrincipal"]["principalId"] == EARLY_EVE.user_id
    assert packet["reminders"] == []


def test_a_forged_self_approval_raised_before_the_order_waits_is_refused_once(
    start_host: Callable[..., HostProcess], sandboxes: Sandboxes
) -> None:
    """The starter raises a self-approval past the API while the order is still busy in the supplier
    fan-out. The SDK parks it and would hand it to every later wait; it is refused once, the order
    keeps waiting, and the approver's decision releases it (orchestrators/steps.py, rule 3)."""
    host = start_host(env=SUPPLIER_FAULTS)
    api, order_id = order_inside_fan_out(host, sandboxes, "forged")
    raised = api.management(SUBMITTER).raise_event(
        f"maintenance-{order_id}", APPROVAL_DECISION_EVENT, forged_approval(SUBMITTER)
    )
    assert raised.status_code == 202, raised.text
    drive_retries_until(api, order_id, "awaiting_approval")
    waiting = api.wait_value(order_id, "stage", "awaiting_approval")
    assert api.approve(order_id, {"approved": True}).status_code == 202
    finished = api.wait_finished(order_id)
    assert finished["outcome"] == "released", waiting
    approval = api.audit(order_id).json()["packet"]["approval"]
    assert [r["reason"] for r in approval["refused"]] == [
        "the principal who started the order cannot approve it (maker-checker)"
    ]
    assert approval["approvedByPrincipal"]["principalId"] == APPROVER.user_id
