"""Redaction of payloads in audit packets, on top of `telemetry.redact` (one redaction for the project).

`telemetry.redact` knows the project's sensitive keys and finds e-mail addresses, card numbers and
phone numbers inside text. Audits add a configurable list of extra keys (`--redact-key`,
$OPS_AUDIT_REDACT_KEYS), compared like telemetry's: lower-case, without '_' and '-', and also as a
suffix (so `evidence_text` and `supervisorEmail` match `evidencetext` and `email`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from telemetry import REDACTED, redact

REDACT_KEYS_ENV = "OPS_AUDIT_REDACT_KEYS"
DEFAULT_EXTRA_KEYS = ("email", "phone", "card", "iban", "evidence", "evidencetext", "attachment", "notes")


def normalise_key(key: str) -> str:
    """`Evidence_Text` -> `evidencetext`."""
    return key.lower().replace("_", "").replace("-", "")


def configured_keys(extra: Iterable[str] = ()) -> frozenset[str]:
    """Default extra keys, plus $OPS_AUDIT_REDACT_KEYS (comma-separated), plus `extra`."""
    from_env = [k for k in os.environ.get(REDACT_KEYS_ENV, "").split(",") if k.strip()]
    return frozenset(normalise_key(k.strip()) for k in (*DEFAULT_EXTRA_KEYS, *from_env, *extra))


def redact_value(value: Any, keys: frozenset[str]) -> Any:
    """A copy of a payload with sensitive keys and sensitive-looking text replaced by `[redacted]`."""

    def walk(item: Any) -> Any:
        if isinstance(item, Mapping):
            result: dict[Any, Any] = {}
            for key, child in item.items():
                sensitive = isinstance(key, str) and any(
                    normalise_key(key) == k or normalise_key(key).endswith(k) for k in keys
                )
                result[key] = REDACTED if sensitive and child not in (None, "") else walk(child)
            return result
        if isinstance(item, list | tuple):
            return [walk(child) for child in item]
        return item

    return redact(walk(value))
