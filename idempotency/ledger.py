"""The effect ledger: one blob per idempotency key, claimed before acting, holding the outcome after.

Protocol for `EffectLedger.run_once(key, effect, request=...)`:
1. Claim: create `effects/<key>` with `If-None-Match: *` (state `pending`, a random claim id, the
   fingerprint of `request`). Exactly one caller's create succeeds; that caller runs `effect()`.
2. Record: the claimant overwrites its claim with the outcome (state `done`) under `If-Match: <the
   claim's ETag>`, so a claimant that lost its claim to a takeover cannot overwrite the newer one.
3. Everyone else reads the blob: `done` → the recorded outcome is returned and nothing is called;
   `pending` → wait (poll) for the claimant. If the same claim stays pending for the lease (its
   claimant died, e.g. kill -9 between the outside call and step 2), take the claim over with an
   ETag-conditional write (one winner) and run `effect()` again with the same key: the outside
   system dedupes by that key and answers with the original result.
4. If `effect()` raises, the claim is released (ETag-conditional delete) and the error propagates,
   so the activity's retry policy tries again under the same key. Only returned values are
   recorded; an adapter reports a business refusal (declined, out of stock) as a returned value.
5. A key names one request: a record whose request fingerprint differs from the caller's raises
   `EffectKeyReusedError` instead of returning someone else's outcome (records written before
   fingerprints existed have none and are trusted as before).

The ledger lives in this task hub's container (`<prefix>-<hub>-effect-ledger`, blob_clients.py), so
a staging slot that runs the same business ids never finds production's records, nor the reverse.

The guarantee and its limits are in docs/decisions/effect-ledger.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from blob_clients import container_client
from contracts import duration_setting

JsonDict = dict[str, Any]

LEDGER_CONTAINER_PURPOSE = "effect-ledger"
LEASE_SETTING = "EFFECT_LEDGER_LEASE"
# Longer than any single outside call with its client timeout (30 s) plus slack: a live claimant
# is never overtaken in normal operation, and a dead one delays its re-delivery by at most this.
DEFAULT_LEASE = "PT2M"
POLL_INTERVAL_SECONDS = 0.2

EffectState = Literal["pending", "done"]


class EffectKeyReusedError(ValueError):
    """The key's record was made for a different request: a key names one request, never two."""

    def __init__(self, key: str, recorded: str, requested: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was already used for a different request (recorded fingerprint "
            f"{recorded[:16]}, this request {requested[:16]}): a key must always carry the same request"
        )
        self.key = key


def request_fingerprint(request: Any) -> str:
    """SHA-256 of `request` as canonical JSON (sorted keys, no spaces): equal requests, equal prints."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class EffectRecord:
    """What the ledger holds for one key."""

    key: str
    state: EffectState
    claim_id: str
    claimed_at: str
    takeovers: int = 0
    outcome: JsonDict | None = None
    completed_at: str | None = None
    request_fingerprint: str | None = None  # None only in records written before fingerprints

    def to_dict(self) -> JsonDict:
        """The stored JSON form."""
        return {
            "key": self.key,
            "state": self.state,
            "claimId": self.claim_id,
            "claimedAt": self.claimed_at,
            "takeovers": self.takeovers,
            "outcome": self.outcome,
            "completedAt": self.completed_at,
            "requestFingerprint": self.request_fingerprint,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EffectRecord:
        """Parse the stored JSON form."""
        state = data["state"]
        if state not in ("pending", "done"):
            raise ValueError(f"unknown ledger state {state!r}")
        return cls(
            key=str(data["key"]),
            state=state,
            claim_id=str(data["claimId"]),
            claimed_at=str(data["claimedAt"]),
            takeovers=int(data.get("takeovers") or 0),
            outcome=data.get("outcome"),
            completed_at=data.get("completedAt"),
            request_fingerprint=data.get("requestFingerprint"),
        )


@dataclass(frozen=True)
class EffectOutcome:
    """The result of `run_once`: the effect's outcome, and whether this call ran the effect."""

    key: str
    result: JsonDict
    performed: bool


class EffectLedger:
    """Runs each keyed side effect at most once per key, recording its outcome in Blob Storage."""

    def __init__(
        self,
        container: ContainerClient,
        *,
        lease: timedelta = timedelta(minutes=2),
        poll_interval: float = POLL_INTERVAL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._container = container
        self._lease_seconds = lease.total_seconds()
        self._poll_interval = poll_interval
        self._monotonic = monotonic
        self._sleep = sleep

    @classmethod
    def from_settings(cls, environ: Mapping[str, str] | None = None) -> EffectLedger:
        """The ledger in `<prefix>-effect-ledger`, lease from `EFFECT_LEDGER_LEASE` (ISO 8601)."""
        env = os.environ if environ is None else environ
        return cls(
            container_client(LEDGER_CONTAINER_PURPOSE, env),
            lease=duration_setting(LEASE_SETTING, DEFAULT_LEASE, env),
        )

    @staticmethod
    def blob_name(key: str) -> str:
        """Where the record of `key` lives (percent-encoded, so any key is a valid blob name)."""
        return "effects/" + quote(key, safe="")

    def count_failed_attempt(self, key: str) -> int:
        """Record one failed attempt of the work identified by `key`; how many have failed so far.

        Kept beside the records (`attempts/<key>`, one append block per failure), so the count
        survives restarts and re-deliveries: a best-effort activity gives up once it is high enough.
        """
        blob = self._container.get_blob_client("attempts/" + quote(key, safe=""))
        try:
            result = blob.append_block(b".")
        except ResourceNotFoundError:
            with contextlib.suppress(ResourceExistsError):
                blob.create_append_blob(match_condition=MatchConditions.IfMissing)
            result = blob.append_block(b".")
        count: Any = result["blob_committed_block_count"]
        return int(count)

    def lookup(self, key: str) -> EffectRecord | None:
        """The current record of `key`, or None when the key was never claimed."""
        found = self._read(key)
        return None if found is None else found[0]

    def run_once(self, key: str, effect: Callable[[], JsonDict], *, request: Any) -> EffectOutcome:
        """Run `effect` unless `key` already has a recorded outcome; return that outcome either way.

        `request` is what the effect asks the outside world for (JSON, usually the activity's work
        item): its fingerprint is recorded with the claim, and a key that arrives again with a
        different request raises `EffectKeyReusedError` instead of returning the other outcome.
        """
        if not key:
            raise ValueError("an idempotency key is required")
        fingerprint = request_fingerprint(request)
        claim_id = uuid.uuid4().hex
        watched: tuple[str, float] | None = None  # (ETag of a pending claim, when first seen)
        while True:
            etag = self._claim(key, claim_id, fingerprint)
            if etag is not None:
                return self._perform(key, claim_id, etag, effect, fingerprint)
            found = self._read(key)
            if found is None:
                continue  # released between our create and our read: claim again
            record, current_etag = found
            if record.request_fingerprint is not None and record.request_fingerprint != fingerprint:
                raise EffectKeyReusedError(key, record.request_fingerprint, fingerprint)
            if record.state == "done":
                assert record.outcome is not None
                return EffectOutcome(key, record.outcome, performed=False)
            now = self._monotonic()
            if watched is None or watched[0] != current_etag:
                watched = (current_etag, now)
            elif now - watched[1] >= self._lease_seconds:
                taken = self._take_over(record, current_etag, claim_id, fingerprint)
                if taken is not None:
                    return self._perform(
                        key, claim_id, taken, effect, fingerprint, takeovers=record.takeovers + 1
                    )
                watched = None
                continue
            self._sleep(self._poll_interval)

    # -- storage steps -------------------------------------------------------------------------

    def _claim(self, key: str, claim_id: str, fingerprint: str) -> str | None:
        record = EffectRecord(key, "pending", claim_id, _now(), request_fingerprint=fingerprint)
        try:
            # overwrite=False sends If-None-Match: * — the create fails if anyone claimed first.
            result = self._container.get_blob_client(self.blob_name(key)).upload_blob(
                _encode(record), overwrite=False
            )
        except ResourceExistsError:
            return None
        return str(result["etag"])

    def _take_over(self, stale: EffectRecord, etag: str, claim_id: str, fingerprint: str) -> str | None:
        record = EffectRecord(
            stale.key,
            "pending",
            claim_id,
            _now(),
            takeovers=stale.takeovers + 1,
            request_fingerprint=fingerprint,
        )
        try:
            result = self._container.get_blob_client(self.blob_name(stale.key)).upload_blob(
                _encode(record), overwrite=True, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return None  # another waiter took it over first, or the claimant released it
        return str(result["etag"])

    def _perform(  # noqa: PLR0917 (the claim's parts, passed along from run_once)
        self,
        key: str,
        claim_id: str,
        etag: str,
        effect: Callable[[], JsonDict],
        fingerprint: str,
        takeovers: int = 0,
    ) -> EffectOutcome:
        blob = self._container.get_blob_client(self.blob_name(key))
        claimed_at = _now()
        try:
            result = effect()
            json.dumps(result)  # an outcome that cannot be recorded must not be returned either
        except Exception:
            # Taken over meanwhile (modified) or gone: the new claimant owns the key now.
            with contextlib.suppress(ResourceModifiedError, ResourceNotFoundError):
                blob.delete_blob(etag=etag, match_condition=MatchConditions.IfNotModified)
            raise
        done = EffectRecord(key, "done", claim_id, claimed_at, takeovers, result, _now(), fingerprint)
        # If this fails, we outlived our lease and another delivery took the claim over. It calls
        # the outside system with the same key, which answers with this same result; its record stands.
        with contextlib.suppress(ResourceModifiedError, ResourceNotFoundError):
            blob.upload_blob(
                _encode(done), overwrite=True, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        return EffectOutcome(key, result, performed=True)

    def _read(self, key: str) -> tuple[EffectRecord, str] | None:
        try:
            download = self._container.get_blob_client(self.blob_name(key)).download_blob()
        except ResourceNotFoundError:
            return None
        return EffectRecord.from_dict(json.loads(download.readall())), str(download.properties.etag)


def _encode(record: EffectRecord) -> bytes:
    return json.dumps(record.to_dict(), separators=(",", ":")).encode()


def _now() -> str:
    return datetime.now(UTC).isoformat()
