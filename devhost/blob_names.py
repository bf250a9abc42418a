"""The task hub's blob layout: which blob holds an instance document, an execution's log, an entity.

Pure naming, shared by the store (which reads and writes the blobs) and the instance record.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

HUB_MARKER = "hub.json"

Record = dict[str, Any]  # one JSON record of an append-only log


def blob_safe(identifier: str) -> str:
    """Percent-encode an id for a blob name; per-character, so prefixes stay prefixes."""
    return quote(identifier, safe="")


def instance_name(instance_id: str) -> str:
    return f"instances/{blob_safe(instance_id)}"


def log_name(instance_id: str, execution_id: str) -> str:
    return f"logs/{blob_safe(instance_id)}/{execution_id}"


def entity_log_name(entity_id: str) -> str:
    return f"entities/{blob_safe(entity_id)}"
