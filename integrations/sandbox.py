"""The local stand-in for an outside system: state in Azurite, dedupe by key, injected faults.

Each system has, in the `<prefix>-sandbox` container:
- `<system>/effects/<key>`: one blob per idempotency key holding the request and the response.
  Created with `If-None-Match: *`, so a repeated key returns the first response and never acts
  again, as payment gateways do with `Idempotency-Key`. The same key with a different request is
  refused (`IdempotencyKeyReusedError`).
- `<system>/calls`: an append blob with one line per call (operation, key, outcome: `effect`,
  `duplicate`, or the injected fault), so tests can count attempts as well as effects.
- `<system>/state/...`: whatever else the system keeps (documents' content, stock levels).

- `<system>/attempts/<identity>`: (only when faults are configured) an append blob with one block per
  attempt of one call identity, so the attempt number survives a restart of the caller.

Faults come from the app setting `SANDBOX_FAULTS_<SYSTEM>` (e.g. `SANDBOX_FAULTS_PAYMENTS`): a comma
list of `mode` (every call), `mode:1/N` (about one attempt in N, at most `TRANSIENT_RUN_LIMIT`
attempts of one call identity) or `mode:first` (the first attempt of every call identity), each
optionally limited to one operation with `@operation` (`transient@release`), with modes
- `transient`: fails before acting (like a 503);
- `timeout`: times out before acting;
- `timeout_after_commit`: acts and records, then times out, so the caller cannot know it worked.

The schedule is keyed by call identity, never by a counter of this process: a call is identified
by its operation and idempotency key (a read by its operation and arguments), and whether attempt
k of it fails is decided by a hash of (`SANDBOX_FAULTS_SEED`, system, identity, k). The attempt
number is counted in storage, so a host that is killed and restarted continues each call's
schedule instead of failing its first calls by construction, and retries of different calls do
not fail in lockstep.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self, TypeVar
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from blob_clients import container_client
from contracts import ContractModel
from integrations.errors import IdempotencyKeyReusedError, IntegrationTimeoutError, TransientIntegrationError

SANDBOX_CONTAINER_PURPOSE = "sandbox"
FAULTS_SETTING_PREFIX = "SANDBOX_FAULTS_"
FAULTS_SEED_SETTING = "SANDBOX_FAULTS_SEED"
# `1/N` faults fail at most this many attempts of one call identity (the workflows' strict retry
# policies make 4 to 6 attempts).
TRANSIENT_RUN_LIMIT = 3
FaultMode = Literal["transient", "timeout", "timeout_after_commit"]
FAULT_MODES: tuple[FaultMode, ...] = ("transient", "timeout", "timeout_after_commit")
JsonDict = dict[str, Any]
ReceiptT = TypeVar("ReceiptT", bound=ContractModel)


@dataclass(frozen=True)
class FaultRule:
    """Fail an attempt with `mode`: every attempt (`one_in` 1), about one in `one_in`, or the first."""

    mode: FaultMode
    one_in: int = 1
    first_only: bool = False
    operation: str | None = None

    def applies_to(self, draw: int, attempt: int, operation: str | None = None) -> bool:
        """Whether attempt `attempt` (1-based) of a call whose identity hashed to `draw` fails."""
        if self.operation is not None and operation != self.operation:
            return False
        if self.first_only:
            return attempt == 1
        return draw % self.one_in == 0


def parse_faults(text: str) -> tuple[FaultRule, ...]:
    """Parse `transient:1/3,timeout_after_commit:first` into rules; raise ValueError naming the bad part."""
    rules = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        rule_text, at, operation = part.partition("@")
        if at and not operation:
            raise ValueError(f"sandbox fault {part!r}: name the operation after '@'")
        mode, _, ratio = rule_text.partition(":")
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown sandbox fault {mode!r}; use one of {', '.join(FAULT_MODES)}")
        if ratio == "first":
            rules.append(FaultRule(mode, first_only=True, operation=operation or None))
            continue
        one_in = 1
        if ratio:
            numerator, _, denominator = ratio.partition("/")
            if numerator != "1" or not denominator.isdigit() or int(denominator) < 1:
                raise ValueError(f"sandbox fault ratio {ratio!r} must look like 1/N or be 'first'")
            one_in = int(denominator)
        rules.append(FaultRule(mode, one_in, operation=operation or None))
    return tuple(rules)


def fault_draw(seed: str, system: str, identity: str, attempt: int, rule_index: int) -> int:
    """A number fixed by the call's identity and attempt (and the seed), never by process state."""
    text = f"{seed}\n{system}\n{identity}\n{attempt}\n{rule_index}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def scheduled_fault(
    rules: tuple[FaultRule, ...], *, seed: str, system: str, operation: str, identity: str, attempt: int
) -> FaultMode | None:
    """The fault (or None) of attempt `attempt` of a call; a function of its identity and number only.

    `mode` and `mode:first` rules apply as they say. `1/N` rules are transient faults: they fail at
    most `TRANSIENT_RUN_LIMIT` attempts of one call identity in all, so a retry policy of more
    attempts than that always rides them out (a longer run is an outage, which `mode`, every
    attempt, models). The cap counts all attempts of the identity, not only one caller's: a read
    (identified by its arguments) can be shared by many callers, whose attempts interleave.
    """
    faults = 0
    for number in range(1, attempt + 1):
        fault: FaultMode | None = None
        for index, rule in enumerate(rules):
            if rule.operation is not None and rule.operation != operation:
                continue
            if rule.one_in == 1 and not rule.first_only:
                return rule.mode  # every attempt: an outage, never capped
            if rule.applies_to(fault_draw(seed, system, identity, number, index), number, operation):
                fault = rule.mode
                break
        if fault is not None and faults >= TRANSIENT_RUN_LIMIT:
            fault = None  # (a `first` fault has no attempt before it, so it is never capped)
        faults += fault is not None
        if number == attempt:
            return fault
    return None


# Call logs and attempt counters this process has created (an append blob must exist before the
# first append).
_created_append_blobs: set[str] = set()
_created_lock = threading.Lock()


class SandboxSystem:
    """Storage, dedupe, fault injection and the call log of one sandboxed system."""

    def __init__(
        self,
        system: str,
        container: ContainerClient,
        faults: tuple[FaultRule, ...] = (),
        fault_seed: str = "",
    ) -> None:
        self.system = system
        self.container = container
        self.faults = faults
        self.fault_seed = fault_seed

    @classmethod
    def from_settings(cls, system: str, environ: Mapping[str, str] | None = None) -> SandboxSystem:
        """The sandbox of `system` with faults from `SANDBOX_FAULTS_<SYSTEM>`."""
        env = os.environ if environ is None else environ
        setting = FAULTS_SETTING_PREFIX + system.upper()
        try:
            faults = parse_faults(env.get(setting, ""))
        except ValueError as error:
            raise ValueError(f"app setting {setting}: {error}") from None
        return cls(
            system,
            container_client(SANDBOX_CONTAINER_PURPOSE, env),
            faults,
            env.get(FAULTS_SEED_SETTING, "").strip(),
        )

    # -- calls --------------------------------------------------------------------------------

    def read(self, operation: str, arguments: Any, respond: Callable[[], Any]) -> Any:
        """A read-only call: faults apply (keyed by operation and `arguments`), no effect is recorded."""
        fault = self._fault(operation, f"{operation}:{_fingerprint(operation, {'arguments': arguments})}")
        self._log_call(operation, None, f"fault:{fault}" if fault else "read")
        if fault in ("transient", "timeout", "timeout_after_commit"):
            self._raise_fault(fault, operation)
        return respond()

    def mutate(
        self, operation: str, idempotency_key: str, request: JsonDict, respond: Callable[[], JsonDict]
    ) -> JsonDict:
        """A mutating call, deduped by `idempotency_key`. `respond` must be safe to run twice."""
        if not idempotency_key:
            raise ValueError(f"{self.system}.{operation}: an idempotency key is required")
        fault = self._fault(operation, f"{operation}:{idempotency_key}")
        if fault in ("transient", "timeout"):
            self._log_call(operation, idempotency_key, f"fault:{fault}")
            self._raise_fault(fault, operation)
        response, first = self._record_effect(operation, idempotency_key, request, respond)
        self._log_call(operation, idempotency_key, "effect" if first else "duplicate")
        if fault == "timeout_after_commit":
            self._log_call(operation, idempotency_key, "fault:timeout_after_commit")
            self._raise_fault(fault, operation)
        return response

    def record_once(
        self,
        operation: str,
        idempotency_key: str,
        request: ContractModel,
        receipt_type: type[ReceiptT],
        respond: Callable[[], ReceiptT],
    ) -> ReceiptT:
        """`mutate` with typed models: a repeated key returns the first receipt, parsed again."""
        response = self.mutate(operation, idempotency_key, request.to_dict(), lambda: respond().to_dict())
        return receipt_type.from_dict(response)

    def transition(
        self, operation: str, idempotency_key: str, apply: Callable[[], tuple[JsonDict, bool]]
    ) -> JsonDict:
        """A mutating call whose dedupe lives in the system's own state (`apply` → response, acted?)."""
        fault = self._fault(operation, f"{operation}:{idempotency_key}")
        if fault in ("transient", "timeout"):
            self._log_call(operation, idempotency_key, f"fault:{fault}")
            self._raise_fault(fault, operation)
        response, acted = apply()
        self._log_call(operation, idempotency_key, "effect" if acted else "duplicate")
        if fault == "timeout_after_commit":
            self._log_call(operation, idempotency_key, "fault:timeout_after_commit")
            self._raise_fault(fault, operation)
        return response

    # -- what tests and the read-only view see ------------------------------------------------

    def effects(self, operation: str | None = None) -> list[JsonDict]:
        """Every recorded effect (request, response, key), oldest first."""
        found = []
        for blob in self.container.list_blobs(name_starts_with=f"{self.system}/effects/"):
            effect = json.loads(self.container.get_blob_client(blob.name).download_blob().readall())
            if operation is None or effect["operation"] == operation:
                found.append(effect)
        return sorted(found, key=lambda effect: str(effect["recordedAt"]))

    def calls(self) -> list[JsonDict]:
        """Every call made to this system (including duplicates and injected faults), in order."""
        try:
            data = self.container.get_blob_client(f"{self.system}/calls").download_blob().readall()
        except ResourceNotFoundError:
            return []
        return [json.loads(line) for line in data.decode().splitlines() if line.strip()]

    def state_blob(self, name: str) -> str:
        """The blob name of a piece of this system's own state."""
        return f"{self.system}/state/{name}"

    # -- internals ----------------------------------------------------------------------------

    def _fault(self, operation: str, identity: str) -> FaultMode | None:
        if not any(rule.operation in (None, operation) for rule in self.faults):
            return None
        return scheduled_fault(
            self.faults,
            seed=self.fault_seed,
            system=self.system,
            operation=operation,
            identity=identity,
            attempt=self._next_attempt(identity),
        )

    def _next_attempt(self, identity: str) -> int:
        """Count this attempt of `identity` in storage; the answer is its 1-based number."""
        blob = self.container.get_blob_client(
            f"{self.system}/attempts/{hashlib.sha256(identity.encode()).hexdigest()}"
        )
        result = self._append(blob, b".")
        return int(result["blob_committed_block_count"])

    def _raise_fault(self, fault: FaultMode, operation: str) -> None:
        if fault == "transient":
            raise TransientIntegrationError(self.system, f"{operation}: injected 503 (sandbox)")
        raise IntegrationTimeoutError(self.system, f"{operation}: injected timeout (sandbox)")

    def _record_effect(
        self, operation: str, key: str, request: JsonDict, respond: Callable[[], JsonDict]
    ) -> tuple[JsonDict, bool]:
        blob = self.container.get_blob_client(f"{self.system}/effects/{quote(key, safe='')}")
        fingerprint = _fingerprint(operation, request)
        existing = _download_json(blob)
        if existing is None:
            record: JsonDict = {
                "system": self.system,
                "operation": operation,
                "idempotencyKey": key,
                "fingerprint": fingerprint,
                "request": request,
                "response": respond(),
                "recordedAt": datetime.now(UTC).isoformat(),
            }
            try:
                blob.upload_blob(json.dumps(record).encode(), overwrite=False)  # If-None-Match: *
                return record["response"], True
            except ResourceExistsError:
                existing = _download_json(blob)  # a concurrent duplicate recorded first
            assert existing is not None
        if existing["fingerprint"] != fingerprint:
            raise IdempotencyKeyReusedError(
                self.system, f"{operation}: key already used for another request", 422
            )
        return existing["response"], False

    def _log_call(self, operation: str, key: str | None, outcome: str) -> None:
        blob = self.container.get_blob_client(f"{self.system}/calls")
        line = {
            "operation": operation,
            "idempotencyKey": key,
            "outcome": outcome,
            "at": datetime.now(UTC).isoformat(),
        }
        self._append(blob, (json.dumps(line) + "\n").encode())

    @staticmethod
    def _append(blob: Any, data: bytes) -> dict[str, Any]:
        """Append to an append blob, creating it on first use (again if storage lost it)."""
        with _created_lock:
            known = blob.url in _created_append_blobs
        if known:
            try:
                return dict(blob.append_block(data))
            except ResourceNotFoundError:
                with _created_lock:
                    _created_append_blobs.discard(blob.url)
        with contextlib.suppress(ResourceExistsError):
            blob.create_append_blob(match_condition=MatchConditions.IfMissing)
        with _created_lock:
            _created_append_blobs.add(blob.url)
        return dict(blob.append_block(data))


class SandboxAdapter:
    """Base of each system's sandbox implementation: its `SandboxSystem`, built from app settings."""

    system: ClassVar[str]

    def __init__(self, sandbox: SandboxSystem) -> None:
        self.sandbox = sandbox

    @classmethod
    def from_settings(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The sandbox of `cls.system` with faults from `SANDBOX_FAULTS_<SYSTEM>`."""
        return cls(SandboxSystem.from_settings(cls.system, environ))


def _fingerprint(operation: str, request: JsonDict) -> str:
    canonical = json.dumps([operation, request], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _download_json(blob: Any) -> Any:
    try:
        return json.loads(blob.download_blob().readall())
    except ResourceNotFoundError:
        return None


def stable_id(prefix: str, key: str) -> str:
    """A provider-style id derived from the idempotency key, so `respond` is safe to run twice."""
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:20]}"
