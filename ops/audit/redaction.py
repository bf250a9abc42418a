"""Redaction for `ops audit`: the product's audit redaction (`audit_packets.redaction`, built on
`telemetry.redact`) plus keys configured for the command (`--redact-key`, $OPS_AUDIT_REDACT_KEYS).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from audit_packets.redaction import DEFAULT_EXTRA_KEYS, normalise_key, redact_value, redaction_keys

REDACT_KEYS_ENV = "OPS_AUDIT_REDACT_KEYS"

__all__ = ["DEFAULT_EXTRA_KEYS", "REDACT_KEYS_ENV", "configured_keys", "normalise_key", "redact_value"]


def configured_keys(extra: Iterable[str] = ()) -> frozenset[str]:
    """Default extra keys, plus $OPS_AUDIT_REDACT_KEYS (comma-separated), plus `extra`."""
    from_env = [k for k in os.environ.get(REDACT_KEYS_ENV, "").split(",") if k.strip()]
    return redaction_keys((*from_env, *extra))
