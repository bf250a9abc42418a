"""The effect ledger against real Azurite: one effect per key under repeats, races, failures and crashes."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from blob_clients import container_client
from idempotency import EffectLedger, effect_key
from idempotency.ledger import LEDGER_CONTAINER_PURPOSE
from integrations.payments import RefundRequest, SandboxPaymentGateway
from integrations.sandbox import SandboxSystem


def make_ledger(storage_env: dict[str, str], lease: str = "PT30S") -> EffectLedger:
    return EffectLedger.from_settings({**storage_env, "EFFECT_LEDGER_LEASE": lease})


class CountingEffect:
    """An effect that counts its executions (thread-safe) and can be slow or fail."""

    def __init__(self, result: dict[str, Any] | None = None, seconds: float = 0.0, failures: int = 0) -> None:
        self.calls = 0
        self.result = result or {"done": True}
        self._seconds = seconds
        self._failures = failures
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
            failing = self.calls <= self._failures
        time.sleep(self._seconds)
        if failing:
            raise ConnectionError("outside system unavailable")
        return self.result


def test_effect_keys_are_derived_from_instance_step_and_item() -> None:
    assert effect_key("fare-dispute-42", "issue_refund") == "fare-dispute-42:issue_refund"
    assert effect_key("relief-7", "reserve_stock", "depot-a") == "relief-7:reserve_stock:depot-a"
    assert effect_key("relief-7", "reserve_stock", 3) == "relief-7:reserve_stock:3"
    for bad in [
        ("", "step", None),
        ("id with space", "step", None),
        ("id", "Bad Step", None),
        ("id", "s", ""),
    ]:
        with pytest.raises(ValueError):
            effect_key(*bad)


def test_a_repeated_key_returns_the_recorded_outcome_without_acting_again(
    storage_env: dict[str, str],
) -> None:
    ledger = make_ledger(storage_env)
    effect = CountingEffect({"refundId": "re_1"})
    first = ledger.run_once("order-1:issue_refund", effect)
    second = ledger.run_once("order-1:issue_refund", effect)
    assert effect.calls == 1
    assert first.performed and not second.performed
    assert first.result == second.result == {"refundId": "re_1"}
    record = ledger.lookup("order-1:issue_refund")
    assert record is not None and record.state == "done" and record.outcome == {"refundId": "re_1"}
    assert ledger.lookup("order-2:issue_refund") is None


def test_concurrent_duplicates_act_once_and_all_return_the_outcome(storage_env: dict[str, str]) -> None:
    ledger = make_ledger(storage_env)
    effect = CountingEffect({"messageId": "m-1"}, seconds=0.4)
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(lambda _: ledger.run_once("order-1:notify", effect), range(12)))
    assert effect.calls == 1, "only the claimant acts; the others wait for its record"
    assert [outcome.result for outcome in outcomes] == [{"messageId": "m-1"}] * 12
    assert sum(outcome.performed for outcome in outcomes) == 1


def test_a_failed_effect_releases_its_claim_so_the_retry_acts(storage_env: dict[str, str]) -> None:
    ledger = make_ledger(storage_env)
    effect = CountingEffect({"ok": 1}, failures=1)
    with pytest.raises(ConnectionError):
        ledger.run_once("order-1:request_parts", effect)
    assert ledger.lookup("order-1:request_parts") is None, "the claim is released, not left pending"
    assert ledger.run_once("order-1:request_parts", effect).result == {"ok": 1}
    assert effect.calls == 2


def test_an_outcome_that_is_not_json_is_refused_and_not_recorded(storage_env: dict[str, str]) -> None:
    ledger = make_ledger(storage_env)
    with pytest.raises(TypeError):
        ledger.run_once("order-1:bad", lambda: {"when": object()})
    assert ledger.lookup("order-1:bad") is None


def test_a_crashed_claimant_is_taken_over_and_the_outside_system_dedupes(storage_env: dict[str, str]) -> None:
    """kill -9 after the outside call, before the record: the next delivery re-sends the same key."""
    gateway = SandboxPaymentGateway.from_settings(storage_env)
    key = "fare-dispute-9:issue_refund"
    request = RefundRequest.from_dict(
        {"paymentReference": "p-9", "amount": {"amount": "5.00", "currency": "EUR"}, "reason": "overcharge"}
    )
    original = gateway.refund(request, key)  # the call that went through before the crash
    # The crashed delivery's claim: pending, never completed.
    container = container_client(LEDGER_CONTAINER_PURPOSE, storage_env)
    pending = {"key": key, "state": "pending", "claimId": "dead", "claimedAt": "2026-01-01T00:00:00+00:00"}
    container.get_blob_client(EffectLedger.blob_name(key)).upload_blob(json.dumps(pending).encode())

    ledger = EffectLedger(container, lease=timedelta(seconds=0.5), poll_interval=0.05)
    outcome = ledger.run_once(key, lambda: gateway.refund(request, key).to_dict())
    assert outcome.performed
    assert outcome.result["refundId"] == original.refund_id
    record = ledger.lookup(key)
    assert record is not None and record.state == "done" and record.takeovers == 1
    sandbox = SandboxSystem.from_settings("payments", storage_env)
    assert len(sandbox.effects("refund")) == 1
    assert [call["outcome"] for call in sandbox.calls()] == ["effect", "duplicate"]


def test_a_live_claim_is_waited_for_not_taken_over(storage_env: dict[str, str]) -> None:
    ledger = make_ledger(storage_env, lease="PT5S")
    slow = CountingEffect({"n": 1}, seconds=1.0)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(ledger.run_once, "k-1:slow", slow)
        time.sleep(0.2)
        second = pool.submit(ledger.run_once, "k-1:slow", slow)
        assert first.result().result == second.result().result == {"n": 1}
    assert slow.calls == 1
    record = ledger.lookup("k-1:slow")
    assert record is not None and record.takeovers == 0
