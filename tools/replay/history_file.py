"""Recorded histories: the file format, and recording one from a running devhost (with its children).

A history file holds one orchestration execution exactly as the SDK saw it: the orchestrator's
durable name, the instance id, the input token, the parent id and the raw wire history (EventType
ints, EventId, IsPlayed, Timestamp, ...). Sub-orchestrations are recorded as files of their own,
named after the parent file and the EventId that created them, so every file replays on its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from durable_wire import EventType
from ops.durable_client import DurableClient, OpsError

FORMAT = "durable-history/1"


class HistoryFileError(Exception):
    """A history file that cannot be read or does not have the expected shape."""


@dataclass
class HistoryRecord:
    """One recorded execution of one orchestration instance."""

    orchestrator: str
    instance_id: str
    input: Any
    history: list[dict[str, Any]]
    app_root: str = "."
    parent_instance_id: str | None = None
    runtime_status: str | None = None
    recorded_from: str | None = None
    recorded_at: str | None = None
    children: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document written to disk."""
        return {
            "format": FORMAT,
            "orchestrator": self.orchestrator,
            "instanceId": self.instance_id,
            "parentInstanceId": self.parent_instance_id,
            "appRoot": self.app_root,
            "runtimeStatus": self.runtime_status,
            "recordedFrom": self.recorded_from,
            "recordedAt": self.recorded_at,
            "children": self.children,
            "input": self.input,
            "history": self.history,
        }

    @classmethod
    def from_dict(cls, document: Any, source: str = "<memory>") -> HistoryRecord:
        """Parse and validate a history document; raises HistoryFileError naming the problem."""
        if not isinstance(document, dict):
            raise HistoryFileError(f"{source}: expected a JSON object")
        if document.get("format") != FORMAT:
            raise HistoryFileError(f"{source}: 'format' must be {FORMAT!r}, got {document.get('format')!r}")
        for key in ("orchestrator", "instanceId"):
            if not isinstance(document.get(key), str) or not document[key]:
                raise HistoryFileError(f"{source}: '{key}' must be a non-empty string")
        history = document.get("history")
        if not isinstance(history, list) or len(history) < 2 or not all(isinstance(e, dict) for e in history):
            raise HistoryFileError(f"{source}: 'history' must be a list of at least two events")
        if history[1].get("EventType") != EventType.EXECUTION_STARTED:
            raise HistoryFileError(f"{source}: history[1] must be ExecutionStarted (EventType 0)")
        return cls(
            orchestrator=document["orchestrator"],
            instance_id=document["instanceId"],
            input=document.get("input"),
            history=history,
            app_root=str(document.get("appRoot") or "."),
            parent_instance_id=document.get("parentInstanceId"),
            runtime_status=document.get("runtimeStatus"),
            recorded_from=document.get("recordedFrom"),
            recorded_at=document.get("recordedAt"),
            children=[str(c) for c in document.get("children") or []],
        )


def load(path: Path) -> HistoryRecord:
    """Read one history file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise HistoryFileError(f"{path}: {error}") from error
    return HistoryRecord.from_dict(document, str(path))


def save(record: HistoryRecord, path: Path) -> None:
    """Write one history file (stable key order and indentation, so diffs stay readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def find_history_files(root: Path) -> list[Path]:
    """Every `*.json` history file under `root` (or `root` itself), sorted."""
    if root.is_file():
        return [root]
    return sorted(path for path in root.rglob("*.json") if path.is_file())


def input_token(history: list[dict[str, Any]]) -> Any:
    """The trigger `input` token: ExecutionStarted.Input is its stored JSON text (spec §2.2)."""
    text = history[1].get("Input")
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def parent_instance_id(history: list[dict[str, Any]]) -> str | None:
    """The parent's instance id of a sub-orchestration, from ExecutionStarted.ParentInstance."""
    parent = history[1].get("ParentInstance")
    if not isinstance(parent, dict):
        return None
    instance = parent.get("OrchestrationInstance") or {}
    value = instance.get("InstanceId") if isinstance(instance, dict) else None
    return str(value) if value else None


def _child_file_name(out: Path, event: dict[str, Any]) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(event.get("Name") or "child"))
    return out.with_name(f"{out.stem}--sub{event.get('EventId')}-{name}.json")


def record_instance(
    client: DurableClient,
    instance_id: str,
    out: Path,
    *,
    app_root: str = ".",
    now: datetime | None = None,
) -> list[Path]:
    """Record an instance and, recursively, its sub-orchestrations; returns the files written."""
    status = client.status(instance_id, show_input=False)
    history = client.raw_history(instance_id)
    if len(history) < 2:
        raise OpsError(f"instance '{instance_id}' has no history yet (status {status.get('runtimeStatus')})")
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    written: list[Path] = []
    children: list[str] = []
    for event in history:
        if event.get("EventType") == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED and event.get("InstanceId"):
            child_path = _child_file_name(out, event)
            written.extend(
                record_instance(client, str(event["InstanceId"]), child_path, app_root=app_root, now=now)
            )
            children.append(child_path.name)
    record = HistoryRecord(
        orchestrator=str(history[1].get("Name") or status.get("name")),
        instance_id=instance_id,
        input=input_token(history),
        history=history,
        app_root=app_root,
        parent_instance_id=parent_instance_id(history),
        runtime_status=status.get("runtimeStatus"),
        recorded_from=client.base_url,
        recorded_at=moment,
        children=children,
    )
    save(record, out)
    return [out, *written]
