"""Redaction of audit payloads, on top of `telemetry.redact` (one redaction for the project).

`telemetry.redact` knows the project's sensitive keys and finds e-mail addresses, card numbers and
phone numbers inside text. Audit packets also redact a list of extra keys, compared like
telemetry's: lower-case, without '_' and '-', and also as a suffix (so `evidence_text` and
`supervisorEmail` match `evidencetext` and `email`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from telemetry import REDACTED, redact

DEFAULT_EXTRA_KEYS = ("email", "phone", "card", "iban", "evidence", "evidencetext", "attachment", "notes")


def normalise_key(key: str) -> str:
    """`Evidence_Text` -> `evidencetext`."""
    return key.lower().replace("_", "").replace("-", "")


def redaction_keys(extra: Iterable[str] = ()) -> frozenset[str]:
    """The default extra keys plus `extra`, normalised."""
    return frozenset(normalise_key(k.strip()) for k in (*DEFAULT_EXTRA_KEYS, *extra) if k.strip())


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


def packet_redactor(extra_keys: Iterable[str] = ()) -> Callable[[Any], Any]:
    """The redactor product packets use: defaults plus a workflow's extra keys."""
    return partial(redact_value, keys=redaction_keys(extra_keys))
