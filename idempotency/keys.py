"""Idempotency keys: derived from the orchestration, never from time or randomness.

A key is `<instance id>:<step>` or `<instance id>:<step>:<item>`. The orchestrator builds it (an
activity in azure-functions-durable 1.x does not receive the instance id) and passes it in the
activity input; every retry and re-delivery of that activity therefore carries the same key, and
the ledger and the outside system both dedupe by it.
"""

from __future__ import annotations

import re
from typing import Protocol

KEY_SEPARATOR = ":"
# Real providers cap Idempotency-Key lengths (255 is common); keep well inside it.
MAX_KEY_LENGTH = 255
_STEP = re.compile(r"^[a-z][a-z0-9_\-]*$")
_PRINTABLE_ASCII = re.compile(r"^[\x21-\x7e]+$")


class _HasInstanceId(Protocol):
    @property
    def instance_id(self) -> str: ...


def effect_key(instance_id: str, step: str, item: str | int | None = None) -> str:
    """The idempotency key of one side effect: instance id + step name (+ item for fan-outs)."""
    if not instance_id or not _PRINTABLE_ASCII.fullmatch(instance_id):
        raise ValueError("instance_id must be non-empty printable ASCII without spaces")
    if not _STEP.fullmatch(step):
        raise ValueError(f"step {step!r} must be lower_snake or kebab case, e.g. 'issue_refund'")
    parts = [instance_id, step]
    if item is not None:
        item_text = str(item)
        if not item_text or not _PRINTABLE_ASCII.fullmatch(item_text):
            raise ValueError("item must be non-empty printable ASCII without spaces")
        parts.append(item_text)
    key = KEY_SEPARATOR.join(parts)
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency key longer than {MAX_KEY_LENGTH} characters: shorten the item")
    return key


def orchestration_effect_key(context: _HasInstanceId, step: str, item: str | int | None = None) -> str:
    """`effect_key` for the running orchestration; replay-safe (uses only the instance id)."""
    return effect_key(context.instance_id, step, item)
