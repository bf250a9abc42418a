"""The effect ledger against real Azurite: one effect per key under repeats, races, failures and crashes."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from blob_clients import container_client, container_name
from idempotency import EffectKeyReusedError, EffectLedger, effect_key
from idempotency.ledger import LEDGER_CONTAINER_PURPOSE, request_fingerprint
from integrations.payments import RefundRequest, SandboxPaymentGateway
from integrations.sandbox import SandboxSystem

# What the tests' effects ask the outside world for (its fingerprint is recorded with each claim).
REQUEST = {"orderId": "order-1", "amount": "5.00"}


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
    first = ledger.run_once("order-1:issue_refund", effect, request=REQUEST)
    second = ledger.run_once("order-1:issue_refund", effect, request=REQUEST)
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
        outcomes = list(
            pool.map(lambda _: ledger.run_once("order-1:notify", effect, request=REQUEST), range(12))
        )
    assert effect.calls == 1, "only the claimant acts; the others wait for its record"
    assert [outcome.result for outcome in outcomes] == [{"messageId": "m-1"}] * 12
    assert sum(outcome.performed for outcome in outcomes) == 1


def test_a_failed_effect_releases_its_claim_so_the_retry_acts(storage_env: dict[str, str]) -> None:
    ledger = make_ledger(storage_env)
    effect = CountingEffect({"ok": 1}, failures=1)
    with pytest.raises(ConnectionError):
        ledger.run_once("order-1:request_parts", effect, request=REQUEST)
    assert ledger.lookup("order-1:request_parts") is None, "the claim is released, not left pending"
    assert ledger.run_once("order-1:request_parts", effect, request=REQUEST).result == {"ok": 1}
    assert effect.calls == 2


def test_an_outcome_that_is_not_json_is_refused_and_not_recorded(storage_env: dict[str, str]) -> None:
    ledger = make_ledger(storage_env)
    with pytest.raises(TypeError):
        ledger.run_once("order-1:bad", lambda: {"when": object()}, request=REQUEST)
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
    outcome = ledger.run_once(key, lambda: gateway.refund(request, key).to_dict(), request=request.to_dict())
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
        first = pool.submit(ledger.run_once, "k-1:slow", slow, request=REQUEST)
        time.sleep(0.2)
        second = pool.submit(ledger.run_once, "k-1:slow", slow, request=REQUEST)
        assert first.result().result == second.result().result == {"n": 1}
    assert slow.calls == 1
    record = ledger.lookup("k-1:slow")
    assert record is not None and record.takeovers == 0


def test_the_record_holds_the_request_fingerprint_and_a_different_request_fails_loudly(
    storage_env: dict[str, str],
) -> None:
    ledger = make_ledger(storage_env)
    effect = CountingEffect({"refundId": "re_7"})
    ledger.run_once("order-7:issue_refund", effect, request={"amount": "42.50"})
    record = ledger.lookup("order-7:issue_refund")
    assert record is not None and record.request_fingerprint == request_fingerprint({"amount": "42.50"})
    # Key order and spacing do not matter: the same request is the same fingerprint.
    again = ledger.run_once("order-7:issue_refund", effect, request=json.loads('{ "amount" : "42.50" }'))
    assert not again.performed and again.result == {"refundId": "re_7"}
    with pytest.raises(EffectKeyReusedError, match="order-7:issue_refund"):
        ledger.run_once("order-7:issue_refund", effect, request={"amount": "1.00"})
    assert effect.calls == 1, "the other request's outcome is never returned, nor is anything done"


def test_a_pending_claim_for_a_different_request_fails_loudly_instead_of_waiting(
    storage_env: dict[str, str],
) -> None:
    ledger = make_ledger(storage_env, lease="PT30S")
    slow = CountingEffect({"n": 1}, seconds=1.0)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(ledger.run_once, "k-2:slow", slow, request={"n": 1})
        time.sleep(0.3)
        started = time.monotonic()
        with pytest.raises(EffectKeyReusedError):
            ledger.run_once("k-2:slow", slow, request={"n": 2})
        assert time.monotonic() - started < 5, "refused at once, not after the lease"
        assert first.result().performed
    assert slow.calls == 1


def test_records_written_before_fingerprints_are_trusted_as_before(storage_env: dict[str, str]) -> None:
    container = container_client(LEDGER_CONTAINER_PURPOSE, storage_env)
    old = {
        "key": "order-8:notify",
        "state": "done",
        "claimId": "c",
        "claimedAt": "2026-01-01T00:00:00+00:00",
        "takeovers": 0,
        "outcome": {"messageId": "m-8"},
        "completedAt": "2026-01-01T00:00:01+00:00",
    }
    container.get_blob_client(EffectLedger.blob_name("order-8:notify")).upload_blob(json.dumps(old).encode())
    effect = CountingEffect()
    outcome = make_ledger(storage_env).run_once("order-8:notify", effect, request=REQUEST)
    assert outcome.result == {"messageId": "m-8"} and not outcome.performed and effect.calls == 0


def test_the_ledger_lives_in_the_task_hubs_own_container(storage_env: dict[str, str]) -> None:
    """Two hubs on one account: the same key is two separate records, each hub acts once."""
    production = make_ledger({**storage_env, "TASKHUB_NAME": "wfprod"})
    staging = make_ledger({**storage_env, "TASKHUB_NAME": "wfstaging"})
    refund = CountingEffect({"refundId": "prod"})
    trial = CountingEffect({"refundId": "staging"})
    assert staging.run_once("fare-dispute-1:issue_refund", trial, request={"amount": "1.00"}).performed
    outcome = production.run_once("fare-dispute-1:issue_refund", refund, request={"amount": "42.50"})
    assert outcome.performed and outcome.result == {"refundId": "prod"}
    assert refund.calls == trial.calls == 1
    prefix = storage_env["STORAGE_CONTAINER_PREFIX"]
    assert container_name(LEDGER_CONTAINER_PURPOSE, {**storage_env, "TASKHUB_NAME": "wfprod"}) == (
        f"{prefix}-wfprod-effect-ledger"
    )
