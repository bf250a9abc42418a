"""No duplicated effect on a real host: activity retries, re-delivery, and kill -9 between call and record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from idempotency import EffectLedger
from integrations.sandbox import SandboxSystem
from tests.support.durable_http import DurableApi
from tools.harness import HostProcess
from tools.harness.polling import wait_until


def outcomes(sandbox: SandboxSystem) -> Counter[str]:
    return Counter(call["outcome"] for call in sandbox.calls())


def test_retries_after_a_timeout_that_committed_refund_once(
    start_host: Callable[..., HostProcess], storage_env: dict[str, str]
) -> None:
    """The gateway takes the refund, then times out; the retry gets the same refund back."""
    host = start_host(env={"SANDBOX_FAULTS_PAYMENTS": "timeout_after_commit:first"})
    api = DurableApi(host.base_url)
    instance_id = api.start_id("refund_once", {"paymentReference": "trip-7", "amount": "9.99"})
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status

    payments = SandboxSystem.from_settings("payments", storage_env)
    effects = payments.effects("refund")
    assert len(effects) == 1
    assert status["output"]["refundId"] == effects[0]["response"]["refundId"]
    assert outcomes(payments) == Counter({"effect": 1, "fault:timeout_after_commit": 1, "duplicate": 1})
    failed = [event for event in status["historyEvents"] if event["EventType"] == "TaskFailed"]
    assert len(failed) == 1, "the first attempt failed (timeout) and was retried"
    record = EffectLedger.from_settings(storage_env).lookup(f"{instance_id}:issue_refund")
    assert record is not None and record.state == "done"


def test_transient_failures_are_retried_without_duplicates(
    start_host: Callable[..., HostProcess], storage_env: dict[str, str]
) -> None:
    host = start_host(env={"SANDBOX_FAULTS_CUSTOMER_MESSAGING": "transient:first"})
    api = DurableApi(host.base_url)
    instance_id = api.start_id("notify_many", {"count": 4})
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    messaging = SandboxSystem.from_settings("customer_messaging", storage_env)
    assert sorted(effect["idempotencyKey"] for effect in messaging.effects()) == [
        f"{instance_id}:notify_customer:{item}" for item in range(4)
    ]
    assert outcomes(messaging)["effect"] == 4
    assert outcomes(messaging)["fault:transient"] >= 1


def test_deliver_twice_produces_each_effect_once(
    start_host: Callable[..., HostProcess], storage_env: dict[str, str]
) -> None:
    """Every activity runs twice with the same input: the second run returns the recorded outcome."""
    host = start_host(deliver_twice=True)
    api = DurableApi(host.base_url)
    fan_out = api.start_id("notify_many", {"count": 5})
    refund = api.start_id("refund_once", {"paymentReference": "trip-8"})
    fan_out_status, refund_status = api.wait(fan_out), api.wait(refund)
    assert fan_out_status["runtimeStatus"] == refund_status["runtimeStatus"] == "Completed"

    messaging = SandboxSystem.from_settings("customer_messaging", storage_env)
    payments = SandboxSystem.from_settings("payments", storage_env)
    assert len(messaging.effects()) == 5 and len(payments.effects()) == 1
    # The ledger answered the second delivery: the outside systems were called once per key.
    assert outcomes(messaging) == Counter({"effect": 5})
    assert outcomes(payments) == Counter({"effect": 1})
    assert len(set(fan_out_status["output"])) == 5


def test_kill_9_between_the_outside_call_and_the_ledger_record_refunds_once(
    start_host: Callable[..., HostProcess], storage_env: dict[str, str], tmp_path: Path
) -> None:
    """The host dies after the gateway took the refund and before the ledger recorded it.

    After the restart the activity runs again, finds the dead claim, takes it over once the lease
    (1 s here) has passed, and calls the gateway with the same key, which answers with the first
    refund instead of paying again.
    """
    host = start_host(env={"EFFECT_LEDGER_LEASE": "PT1S"})
    api = DurableApi(host.base_url)
    instance_id = api.start_id(
        "refund_once",
        {"paymentReference": "trip-9", "pauseAfterCallSeconds": 30, "pauseMarker": str(tmp_path / "paused")},
    )
    payments = SandboxSystem.from_settings("payments", storage_env)
    wait_until(lambda: len(payments.effects()) == 1, 20, "the gateway to take the refund")
    ledger = EffectLedger.from_settings(storage_env)
    pending = ledger.lookup(f"{instance_id}:issue_refund")
    assert pending is not None and pending.state == "pending", "killed before the record"
    host.kill()
    host.start()

    status = api.wait(instance_id, timeout=30)
    assert status["runtimeStatus"] == "Completed", status
    effects = payments.effects("refund")
    assert len(effects) == 1
    assert status["output"]["refundId"] == effects[0]["response"]["refundId"]
    assert outcomes(payments) == Counter({"effect": 1, "duplicate": 1})
    record = ledger.lookup(f"{instance_id}:issue_refund")
    assert record is not None and record.state == "done" and record.takeovers == 1
