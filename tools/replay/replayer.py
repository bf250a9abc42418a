"""Replays a recorded history through the current orchestrator code and compares the actions.

Steps for one history file:
1. build the orchestration trigger payload from the recorded history (spec §3.1) and call the
   orchestrator through the SDK in-process (spec Appendix B), as the worker would;
2. replay the returned action list against the history with the devhost's `ActionReplay` (the
   extension's shim rules of spec §5.4: sequence ids, host retries, WhenAll/WhenAny, events);
3. compare every id the replay allocates with the scheduling event recorded under that EventId:
   kind, name, input (shape first, then value), entity target and operation, timer time;
4. report recorded scheduling events the code no longer requests, new work the recorded run never
   scheduled, and a run that finished in the recording but would keep waiting now.

Errors fail the check. Warnings (a changed timer time, a changed output, a different failure text)
do not: instances already in flight keep what history recorded, so these change no replay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from devhost.loader import FunctionIndex
from devhost.shim import (
    SCHEDULING_EVENT_OF_KIND,
    ActionReplay,
    NonDeterminismError,
    UnsupportedActionError,
)
from devhost.worker.runner import OUT_OF_PROC_MARKER
from durable_wire import EVENT_TYPE_NAMES, EventType, RuntimeStatus
from tools.camel_case import camel_case_dict, from_camel_case_dict
from tools.replay.history_file import HistoryFileError, HistoryRecord, load

Severity = Literal["error", "warning"]

TRIGGER_CONSTANTS: dict[str, Any] = {
    "upperSchemaVersion": 1,
    "upperSchemaVersionNew": 2,
    "longRunningTimerIntervalDuration": "3.00:00:00",
    "maximumShortTimerDuration": "6.00:00:00",
    "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
}
KIND_WORDS = {
    "activity": "activity",
    "http": "HTTP call",
    "sub_orchestration": "sub-orchestration",
    "timer": "timer",
    "entity_call": "entity call",
    "entity_signal": "entity signal",
}
PREVIEW_CHARS = 80


@dataclass
class Difference:
    """One way the current code departs from the recorded run."""

    severity: Severity
    message: str
    event_id: int | None = None
    event_type: str | None = None
    name: str | None = None

    def describe_event(self) -> str:
        """`EventId 2 TaskScheduled 'hello'`, or '' when the difference is not about one event."""
        parts = []
        if self.event_id is not None:
            parts.append(f"EventId {self.event_id}")
        if self.event_type:
            parts.append(self.event_type)
        if self.name:
            parts.append(repr(self.name))
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for `--json`."""
        return camel_case_dict(self, "severity", "event_id", "event_type", "name", "message")


@dataclass
class ReplayResult:
    """The outcome for one history file."""

    file: str
    instance_id: str
    orchestrator: str
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no difference is an error."""
        return not any(d.severity == "error" for d in self.differences)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for `--json`."""
        return {
            **camel_case_dict(self, "file", "instance_id", "orchestrator", "ok"),
            "differences": [d.to_dict() for d in self.differences],
        }

    @classmethod
    def unreadable(cls, file: str, message: str) -> ReplayResult:
        """A file that could not be read or replayed: one error, no instance."""
        return cls(file, "?", "?", [Difference("error", message)])

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ReplayResult:
        """Inverse of to_dict (results cross a process boundary)."""
        differences = [from_camel_case_dict(Difference, d) for d in document.get("differences") or []]
        return from_camel_case_dict(cls, document, differences=differences)


def load_records(
    files: Sequence[Path], display: Callable[[Path], str] = str
) -> tuple[list[tuple[Path, HistoryRecord]], list[ReplayResult]]:
    """Read the history files: each readable file with its record, and an error result (named by
    `display`) for each file that cannot be read."""
    records: list[tuple[Path, HistoryRecord]] = []
    unreadable: list[ReplayResult] = []
    for path in files:
        try:
            records.append((path, load(path)))
        except HistoryFileError as error:
            unreadable.append(ReplayResult.unreadable(display(path), str(error)))
    return records, unreadable


# -- value comparison -----------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def preview(value: Any) -> str:
    """A short JSON rendering of a value for messages."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 3] + "..."


# Keys the SDK serializer writes for custom classes (spec §2.1): a change means the class moved,
# which breaks from_json on replay, so it counts as a shape change.
_CLASS_KEYS = frozenset({"__class__", "__module__"})


def compare_values(recorded: Any, current: Any, path: str = "input") -> tuple[str, str] | None:
    """First difference between two JSON values: ("shape", msg) before ("value", msg), or None."""
    shape: list[str] = []
    value: list[str] = []

    def walk(old: Any, new: Any, where: str) -> None:
        old_type, new_type = _type_name(old), _type_name(new)
        if old_type != new_type:
            shape.append(f"{where}: recorded {old_type} {preview(old)}, now {new_type} {preview(new)}")
            return
        if isinstance(old, dict):
            for key in sorted(set(old) - set(new)):
                shape.append(f"{where}: key {key!r} is missing now (recorded {preview(old[key])})")
            for key in sorted(set(new) - set(old)):
                shape.append(f"{where}: key {key!r} is new (now {preview(new[key])})")
            for key in sorted(set(old) & set(new)):
                if key in _CLASS_KEYS and old[key] != new[key]:
                    shape.append(f"{where}.{key}: recorded {old[key]!r}, now {new[key]!r}")
                else:
                    walk(old[key], new[key], f"{where}.{key}")
            return
        if isinstance(old, list):
            for position, (old_item, new_item) in enumerate(zip(old, new, strict=False)):
                walk(old_item, new_item, f"{where}[{position}]")
            if len(old) != len(new):
                value.append(f"{where}: recorded {len(old)} items, now {len(new)}")
            return
        if old != new:
            value.append(f"{where}: recorded {preview(old)}, now {preview(new)}")

    walk(recorded, current, path)
    if shape:
        return "shape", shape[0]
    if value:
        return "value", value[0]
    return None


def _loads(text: Any) -> Any:
    """Parse JSON text; anything that is not JSON text is returned as it is."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def recorded_input(event: dict[str, Any]) -> Any:
    """The input value a scheduling event recorded (each event wraps the action's text differently)."""
    event_type = event.get("EventType")
    if event_type == EventType.TASK_SCHEDULED:
        wrapped = _loads(event.get("Input"))  # text of a one-element array holding the action text
        return _loads(wrapped[0]) if isinstance(wrapped, list) and wrapped else None
    if event_type == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
        return _loads(_loads(event.get("Input")))  # JSON string token of the action text
    if event_type == EventType.EVENT_SENT:
        request = _loads(event.get("Input"))
        return _loads(_loads(request.get("input"))) if isinstance(request, dict) else None
    return None


def action_input(kind: str, action: dict[str, Any]) -> Any:
    """The input value of an SDK action."""
    if kind == "http":
        return action.get("httpRequest")
    return _loads(action.get("input"))


# -- replay ---------------------------------------------------------------------------------------


def trigger_payload(record: HistoryRecord) -> str:
    """The orchestration trigger JSON for the whole recorded history (spec §3.1)."""
    return json.dumps(
        {
            "history": record.history,
            "input": record.input,
            "instanceId": record.instance_id,
            "isReplaying": True,
            "parentInstanceId": record.parent_instance_id,
            **TRIGGER_CONSTANTS,
        }
    )


def call_orchestrator(
    user_function: Any, binding_name: str, payload: str
) -> tuple[dict[str, Any] | None, str]:
    """Run the SDK handle; returns (OrchestratorState, '') or (None, error text) (spec §4.1)."""
    try:
        result = user_function(**{binding_name: payload})
    except Exception as error:  # user code: any exception is a finding, not a crash
        text = str(error)
        if OUT_OF_PROC_MARKER in text:
            try:
                state = json.loads(text.split(OUT_OF_PROC_MARKER, 1)[1])
            except ValueError:
                return None, text
            return (state, "") if isinstance(state, dict) else (None, text)
        return None, text or type(error).__name__
    state = _loads(result) if isinstance(result, str) else result
    if not isinstance(state, dict):
        return None, "the orchestrator did not return an OrchestratorState JSON object"
    return state, ""


def _event_label(event: dict[str, Any]) -> str:
    return EVENT_TYPE_NAMES.get(int(event.get("EventType", -1)), f"EventType {event.get('EventType')}")


def _action_name(kind: str, action: dict[str, Any]) -> str:
    if kind in ("entity_call", "entity_signal"):
        return f"{action.get('instanceId')}:{action.get('operation')}"
    if kind == "timer":
        return str(action.get("fireAt") or "retry timer")
    return str(action.get("functionName") or "")


def _recorded_name(event: dict[str, Any]) -> str:
    if event.get("EventType") == EventType.EVENT_SENT:
        request = _loads(event.get("Input"))
        operation = request.get("op") if isinstance(request, dict) else None
        return f"{event.get('InstanceId')}:{operation}"
    if event.get("EventType") == EventType.TIMER_CREATED:
        return str(event.get("FireAt") or "")
    return str(event.get("Name") or "")


class _Comparison:
    """Collects the differences of one replay."""

    def __init__(self, record: HistoryRecord, allow_value_changes: bool) -> None:
        self.record = record
        self.allow_value_changes = allow_value_changes
        self.differences: list[Difference] = []

    def add(self, severity: Severity, message: str, event: dict[str, Any] | None = None) -> None:
        """Record a difference; about the recorded `event` (its EventId, type and name) when given."""
        if event is None:
            self.differences.append(Difference(severity, message))
        else:
            event_id = int(event.get("EventId", -1))
            self.differences.append(
                Difference(severity, message, event_id, _event_label(event), _recorded_name(event))
            )

    def add_at(self, event_id: int, severity: Severity, message: str) -> None:
        """Record a difference at an EventId the recorded run has no event for."""
        self.differences.append(Difference(severity, message, event_id))

    def compare_scheduled(
        self,
        event_id: int,
        kind: str,
        action: dict[str, Any],
        event: dict[str, Any],
        *,
        is_retry_timer: bool,
        requested_at: dict[str, list[int]],
        recorded_names: dict[int, str],
    ) -> None:
        """Compare one allocated action with the scheduling event recorded under its id."""
        wanted_type = SCHEDULING_EVENT_OF_KIND[kind]
        name = _action_name(kind, action)
        if event["EventType"] != wanted_type:
            self.add(
                "error",
                f"recorded {_event_label(event)} {_recorded_name(event)!r}, but the code now requests "
                f"{KIND_WORDS[kind]} {name!r} at this position",
                event,
            )
            return
        if kind in ("activity", "sub_orchestration"):
            recorded = str(event.get("Name") or "")
            if recorded.lower() != name.lower():
                hint = ""
                # Moved: the code asks for the recorded name at an id where history holds another name.
                elsewhere = [
                    i
                    for i in requested_at.get(recorded.lower(), [])
                    if i != event_id and recorded_names.get(i, "").lower() != recorded.lower()
                ]
                if elsewhere:
                    hint = f" (order changed? {recorded!r} is now requested at EventId {elsewhere[0]})"
                elif recorded.lower() not in requested_at:
                    hint = f" ({recorded!r} is no longer requested at all: renamed or removed?)"
                self.add(
                    "error",
                    f"recorded {KIND_WORDS[kind]} {recorded!r}, but the code now requests {name!r}{hint}",
                    event,
                )
                return
        if kind in ("entity_call", "entity_signal"):
            request = _loads(event.get("Input"))
            operation = request.get("op") if isinstance(request, dict) else None
            target = str(event.get("InstanceId") or "")
            if target.lower() != str(action.get("instanceId") or "").lower():
                self.add(
                    "error",
                    f"recorded entity {target!r}, but the code now targets {action.get('instanceId')!r}",
                    event,
                )
                return
            if operation != action.get("operation"):
                self.add(
                    "error",
                    f"recorded operation {operation!r}, but the code now requests "
                    f"{action.get('operation')!r}",
                    event,
                )
                return
        if kind == "timer":
            if not is_retry_timer and str(event.get("FireAt")) != str(action.get("fireAt")):
                recorded_time, new_time = _time_key(event.get("FireAt")), _time_key(action.get("fireAt"))
                if recorded_time != new_time:
                    self.add(
                        "warning",
                        f"timer fires at {action.get('fireAt')} now, recorded {event.get('FireAt')} "
                        "(instances in flight keep the recorded timer)",
                        event,
                    )
            return
        difference = compare_values(recorded_input(event), action_input(kind, action))
        if difference is None:
            return
        what, message = difference
        if what == "shape":
            self.add("error", f"input shape differs: {message}", event)
        else:
            severity: Severity = "warning" if self.allow_value_changes else "error"
            self.add(
                severity,
                f"input value differs: {message} (the recorded result answers the recorded input)",
                event,
            )


def _time_key(text: Any) -> str:
    """Timestamps compared to the microsecond: the SDK writes 6 digits, the history 7."""
    value = str(text or "").rstrip("Z")
    if "." in value:
        head, fraction = value.split(".", 1)
        return f"{head}.{(fraction + '000000')[:6]}"
    return f"{value}.000000"


def replay_record(
    record: HistoryRecord, index: FunctionIndex, *, allow_value_changes: bool = False
) -> list[Difference]:
    """Replay one recorded execution through the current code; returns the differences found."""
    comparison = _Comparison(record, allow_value_changes)
    function = index.orchestrator(record.orchestrator)
    if function is None:
        comparison.add(
            "error",
            f"orchestrator {record.orchestrator!r} is not registered in the app (renamed or removed?)",
        )
        return comparison.differences
    state, error = call_orchestrator(function.user_function, function.binding_name, trigger_payload(record))
    completed = next((e for e in record.history if e.get("EventType") == EventType.EXECUTION_COMPLETED), None)
    recorded_failed = (
        completed is not None
        and completed.get("OrchestrationStatus") == RuntimeStatus.NUMBERS[RuntimeStatus.FAILED]
    )
    if state is None:
        comparison.add("error", f"the orchestrator failed before answering the SDK: {error}")
        return comparison.differences
    code_error = str(state.get("error") or "")
    if code_error and not recorded_failed:
        comparison.add(
            "error",
            f"the orchestrator raises during replay of the recorded history: {code_error.splitlines()[0]}",
        )
    elif code_error and completed is not None:
        recorded_reason = str(_loads(completed.get("Result")) or "")
        if code_error.splitlines()[0] not in recorded_reason:
            comparison.add(
                "warning",
                f"the recorded run failed with {recorded_reason[:200]!r}; the code now fails with "
                f"{code_error.splitlines()[0][:200]!r}",
                completed,
            )
    outer = state.get("actions") or [[]]
    if not isinstance(outer, list) or len(outer) != 1:
        comparison.add(
            "error", "the orchestrator answered with replay schema V1 (one list per yield); expected V2/V3"
        )
        return comparison.differences
    actions: list[dict[str, Any]] = outer[0]
    replay = ActionReplay(actions, record.history)
    try:
        replay.run()
    except NonDeterminismError:
        pass  # the comparison below reports the same mismatch with the event and the difference
    except UnsupportedActionError as unsupported:
        comparison.add("error", str(unsupported))
        return comparison.differences
    allocations = replay.allocations
    scheduled: dict[int, dict[str, Any]] = replay.recorded_scheduling
    requested_at: dict[str, list[int]] = {}
    recorded_names = {event_id: str(event.get("Name") or "") for event_id, event in scheduled.items()}
    for allocation in allocations:
        requested_at.setdefault(str(allocation.action.get("functionName") or "").lower(), []).append(
            allocation.event_id
        )
    allocated_ids = set()
    for allocation in allocations:
        event_id, action, is_retry_timer = allocation.event_id, allocation.action, allocation.is_retry_timer
        allocated_ids.add(event_id)
        kind = allocation.kind
        event = scheduled.get(event_id)
        if event is None:
            if code_error:
                continue  # the failing episode's new actions are never scheduled (spec §4.5)
            comparison.add_at(
                event_id,
                "error",
                f"the code now requests {KIND_WORDS[kind]} {_action_name(kind, action)!r} at EventId "
                f"{event_id}, which the recorded run never scheduled",
            )
            continue
        comparison.compare_scheduled(
            event_id,
            kind,
            action,
            event,
            is_retry_timer=is_retry_timer,
            requested_at=requested_at,
            recorded_names=recorded_names,
        )
    for event_id in sorted(set(scheduled) - allocated_ids):
        event = scheduled[event_id]
        comparison.add(
            "error",
            f"the recorded run scheduled {_event_label(event)} {_recorded_name(event)!r} here, "
            "but the code no longer reaches it",
            event,
        )
    if completed is not None and not state.get("isDone") and not code_error:
        waiting = replay.waiting_event_names()
        unused = replay.unawaited_event_names()
        detail = f"; it waits for event(s) {', '.join(map(repr, waiting))}" if waiting else ""
        if unused:
            detail += f"; recorded event(s) {', '.join(map(repr, unused))} are never awaited"
        comparison.add(
            "error", f"the recorded run finished, but the code would keep waiting{detail}", completed
        )
    if completed is not None and state.get("isDone") and not code_error and not recorded_failed:
        recorded_output = _loads(completed.get("Result"))
        if recorded_output != state.get("output"):
            comparison.add(
                "warning",
                f"output differs: recorded {preview(recorded_output)}, now {preview(state.get('output'))}",
                completed,
            )
    return comparison.differences
