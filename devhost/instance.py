"""An orchestration instance's record, and the pure rules that fold its log back into state.

Nothing here does I/O: the engine's components read and write storage and call these to decide what
the log, the history and the inbox say (recovery, rewind, IsPlayed marking, pending controls).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devhost import history as h
from devhost.blob_names import Record, log_name
from devhost.history import Event, compact_json
from durable_wire import EVENT_TYPE_NAMES, EventType, RuntimeStatus

# The events that ask the host to start work; each carries the EventId its completion refers to.
SCHEDULING_TYPES = frozenset(
    {
        EventType.TASK_SCHEDULED,
        EventType.TIMER_CREATED,
        EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        EventType.EVENT_SENT,
    }
)
_TASK_RESULT_TYPES = frozenset(
    {
        EventType.TASK_COMPLETED,
        EventType.TASK_FAILED,
        EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
        EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
    }
)

Message = tuple[int, Event]  # (message id in the execution's log, the event)


class InstanceExistsError(Exception):
    """Start refused: an instance with this id is still running (spec §11.2)."""


class InvalidOperationError(Exception):
    """The operation does not fit the instance's state (answered 500 like the extension)."""


@dataclass(slots=True)  # one per instance the hub ever had: keep each small
class Instance:
    """An orchestration instance: its current execution, history and inbox."""

    instance_id: str
    name: str
    version: str
    execution_id: str
    input_text: str | None
    parent: dict[str, Any] | None
    created: datetime
    last_updated: datetime
    status: str = RuntimeStatus.PENDING
    output_text: str | None = None
    custom_status_text: str | None = None
    # The custom status an episode set, shown only once the episode is committed (with its history),
    # as on Azure Storage, where the Instances row is written after the History table.
    staged_custom_status: str | None = None
    failure_details: str | None = None
    executions: list[str] = field(default_factory=list)
    history: list[Event] = field(default_factory=list)
    history_json: list[str] = field(default_factory=list)
    inbox: list[Message] = field(default_factory=list)
    next_message_id: int = 0
    busy: bool = False
    history_loaded: bool = True
    played_upto: int = 0
    log_created: bool = False
    logged_custom_status: str | None = None
    pending_start: Event | None = None
    saved_signature: tuple[Any, ...] | None = None

    @property
    def log_name(self) -> str:
        return log_name(self.instance_id, self.execution_id)

    @property
    def is_terminal(self) -> bool:
        return self.status in RuntimeStatus.TERMINAL

    def keep_history(self, history: list[Event]) -> None:
        """Hold `history` in memory with its cached JSON, all of it already played."""
        self.history = history
        self.history_json = [compact_json(e) for e in history]
        self.played_upto = len(history)
        self.history_loaded = True

    def document(self) -> dict[str, Any]:
        return {
            "instanceId": self.instance_id,
            "name": self.name,
            "version": self.version,
            "executionId": self.execution_id,
            "executions": self.executions,
            "input": self.input_text,
            "parent": self.parent,
            "createdTime": self.created.isoformat(),
            "lastUpdatedTime": self.last_updated.isoformat(),
            "runtimeStatus": self.status,
            "output": self.output_text,
            "customStatus": self.custom_status_text,
            "failureDetails": self.failure_details,
            "pendingStart": self.pending_start,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Instance:
        return cls(
            instance_id=document["instanceId"],
            name=document["name"],
            version=document.get("version") or "",
            execution_id=document["executionId"],
            executions=list(document.get("executions") or [document["executionId"]]),
            input_text=document.get("input"),
            parent=document.get("parent"),
            created=h.parse_time(document["createdTime"]),
            last_updated=h.parse_time(document["lastUpdatedTime"]),
            status=document["runtimeStatus"],
            output_text=document.get("output"),
            custom_status_text=document.get("customStatus"),
            failure_details=document.get("failureDetails"),
            pending_start=document.get("pendingStart"),
            history_loaded=False,
            log_created=True,
        )


def message_record(message_id: int, event: Event) -> Record:
    """The log record that makes an accepted message durable."""
    return {"t": "msg", "id": message_id, "event": event}


def mark_played(instance: Instance) -> None:
    """Message events consumed in earlier episodes are replayed with IsPlayed true (spec §3.6)."""
    history, texts = instance.history, instance.history_json
    for position in range(instance.played_upto, len(history)):
        event = history[position]
        if not event["IsPlayed"] and event["EventType"] in h.MESSAGE_EVENT_TYPES:
            event["IsPlayed"] = True
            texts[position] = compact_json(event)
    instance.played_upto = len(history)


def pending_control(inbox: list[Message]) -> str | None:
    """The last suspend/resume still waiting in the inbox, so back-to-back calls see it."""
    for _, event in reversed(inbox):
        if event["EventType"] == EventType.EXECUTION_SUSPENDED:
            return "suspend"
        if event["EventType"] == EventType.EXECUTION_RESUMED:
            return "resume"
    return None


def consumed_ids(records: list[Record]) -> list[int]:
    """Ids of every message an episode consumed, as the log records them."""
    return [int(i) for r in records if r.get("t") == "ep" for i in r.get("consumed", [])]


# -- rewind ---------------------------------------------------------------------------------------


@dataclass
class RewindPlan:
    """What a legacy rewind rewrites: history positions, and the failed children to rewind too."""

    positions: list[int]
    children: list[str]


def plan_rewind(history: list[Event]) -> RewindPlan:
    """Failed tasks, their scheduling events and the completion become unscheduled (spec §8.6)."""
    failed_ids: set[int] = set()
    rewritten: list[int] = []
    children: list[str] = []
    for position, event in enumerate(history):
        if event["EventType"] in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
            failed_ids.add(int(event["TaskScheduledId"]))
            rewritten.append(position)
        elif event["EventType"] == EventType.EXECUTION_COMPLETED:
            rewritten.append(position)
    for position, event in enumerate(history):
        if event["EventType"] == EventType.TASK_SCHEDULED and event["EventId"] in failed_ids:
            rewritten.append(position)
        if (
            event["EventType"] == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED
            and event["EventId"] in failed_ids
        ):
            children.append(str(event["InstanceId"]))
            rewritten.append(position)
    return RewindPlan(sorted(set(rewritten)), children)


def apply_rewind(history: list[Event], record: Record) -> None:
    """Rewrite the positions a rewind record names as GenericEvents (children keep their event)."""
    for position in record.get("positions", []):
        if position >= len(history):
            continue
        event = history[position]
        original = EVENT_TYPE_NAMES.get(int(event["EventType"]), str(event["EventType"]))
        if event["EventType"] == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
            event["Reason"] = f"Rewound: {original}"
            continue
        history[position] = {
            "EventType": int(EventType.GENERIC_EVENT),
            "EventId": event["EventId"] if event["EventType"] == EventType.TASK_SCHEDULED else -1,
            "IsPlayed": event["IsPlayed"],
            "Timestamp": event["Timestamp"],
            "Data": None,
            "Reason": f"Rewound: {original}",
        }


# -- folding the log ------------------------------------------------------------------------------


@dataclass
class FoldedLog:
    """What an execution's log says: history, unconsumed messages, and what lives beside history."""

    history: list[Event]
    inbox: list[Message]
    continued: Record | None = None
    custom_status: str | None = None
    custom_status_logged: bool = False
    failure_details: str | None = None


def fold_log(records: list[Record]) -> FoldedLog:
    """Rebuild an execution's state from its log records."""
    folded = FoldedLog(history=[], inbox=[])
    messages: dict[int, Event] = {}
    consumed: set[int] = set()
    for record in records:
        kind = record.get("t")
        if kind == "msg":
            messages[int(record["id"])] = record["event"]
        elif kind == "ep":
            consumed.update(int(i) for i in record.get("consumed", []))
            folded.history.extend(record.get("events", []))
            if "customStatus" in record:
                folded.custom_status = record["customStatus"]
                folded.custom_status_logged = True
            if "failureDetails" in record:
                folded.failure_details = record["failureDetails"]
        elif kind == "rewind":
            apply_rewind(folded.history, record)
            folded.failure_details = None
        elif kind == "continued":
            folded.continued = record
    for event in folded.history:
        if event["EventType"] in h.MESSAGE_EVENT_TYPES:
            event["IsPlayed"] = True
    folded.inbox = sorted(((i, e) for i, e in messages.items() if i not in consumed), key=lambda m: m[0])
    return folded


def status_from_history(history: list[Event], current: str) -> tuple[str, Event | None]:
    """The runtime status a recovered history shows, and its ExecutionCompleted event if any."""
    completed = next((e for e in history if e["EventType"] == EventType.EXECUTION_COMPLETED), None)
    if completed is not None:
        return RuntimeStatus.NAMES.get(int(completed["OrchestrationStatus"]), current), completed
    if not history:
        return current, None
    status = RuntimeStatus.RUNNING
    for event in history:
        if event["EventType"] == EventType.EXECUTION_SUSPENDED:
            status = RuntimeStatus.SUSPENDED
        elif event["EventType"] == EventType.EXECUTION_RESUMED:
            status = RuntimeStatus.RUNNING
    return status, None


def outstanding_work(history: list[Event], inbox: list[Message]) -> list[Event]:
    """Scheduling events with no completion in history or inbox, in history order (at-least-once).

    Every EventSent is listed: whether the entity answered is known only from the request id.
    """
    done_tasks: set[int] = set()
    done_timers: set[int] = set()
    for event in [*history, *(m[1] for m in inbox)]:
        if event["EventType"] in _TASK_RESULT_TYPES:
            done_tasks.add(int(event["TaskScheduledId"]))
        elif event["EventType"] == EventType.TIMER_FIRED:
            done_timers.add(int(event["TimerId"]))
    outstanding: list[Event] = []
    for event in history:
        event_type = event["EventType"]
        if event_type == EventType.TIMER_CREATED and event["EventId"] not in done_timers:
            outstanding.append(event)
        elif event_type in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED):
            if event["EventId"] not in done_tasks:
                outstanding.append(event)
        elif event_type == EventType.EVENT_SENT:
            outstanding.append(event)
    return outstanding
