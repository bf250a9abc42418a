"""The pure history -> audit packet builder (no I/O): one walk over an instance's history.

Two sources: the raw history (devhost `/admin/instances/{id}/raw-history`, which keeps EventIds, so
every attempt is matched to its scheduling event exactly) and the status API's `historyEvents`
(Azure, or the SDK client's `get_status(..., show_history=True)`), where attempts are matched by
activity name and input. Every payload (inputs, results, event data, custom status, failure texts)
goes through the caller's redactor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from durable_wire import EventType, RuntimeStatus

FORMAT = "durable-audit/1"
CUSTOM_STATUS_NOTE = (
    "History keeps only the current custom status: earlier values are not recorded unless the "
    "workflow records them itself (for example in an activity or its output)."
)
# Payload fields that name who acted, in the order they are looked for.
ACTOR_KEYS = (
    "approver",
    "supervisor",
    "decidedBy",
    "approvedBy",
    "reviewer",
    "by",
    "actor",
    "user",
    "requestedBy",
    "operator",
)
# Payload fields holding an authenticated principal (identity.Actor), most specific first.
PRINCIPAL_KEYS = ("decidedBy", "confirmedBy", "submittedBy", "requestedBy", "startedBy", "filedBy")

Redactor = Callable[[Any], Any]


def loads_json(value: Any) -> Any:
    """Parse JSON text, repeatedly (payloads are often JSON text inside a JSON string)."""
    for _ in range(3):
        if not isinstance(value, str):
            return value
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return value


def principal_of(data: Any) -> dict[str, Any] | None:
    """The authenticated principal an event payload records (`decidedBy`, `confirmedBy`, ...), if any.

    These are `identity.Actor` records (`principalId`, `name`, `role`) the HTTP edge wrote from
    the Easy Auth principal, unlike the older free-text fields (`approver`), which a caller typed.
    """
    if not isinstance(data, dict):
        return None
    for key in PRINCIPAL_KEYS:
        value = data.get(key)
        if isinstance(value, dict) and value.get("principalId"):
            return value
    return None


def actor_of(data: Any) -> str | None:
    """Who raised an event: the recorded principal's name, else a payload field (`approver`, ...)."""
    principal = principal_of(data)
    if principal is not None:
        return str(principal.get("name") or principal.get("principalId"))
    if not isinstance(data, dict):
        return None
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in ACTOR_KEYS:
        value = lowered.get(key.lower())
        if value not in (None, ""):
            return value if isinstance(value, str) else json.dumps(value)
    return None


class _Builder:
    """Walks one history and fills the packet sections."""

    def __init__(self, redactor: Redactor) -> None:
        self.redact = redactor
        self.activities: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.timers: list[dict[str, Any]] = []
        self.children: list[dict[str, Any]] = []
        self.entity_operations: list[dict[str, Any]] = []
        self.timeline: list[dict[str, Any]] = []
        self.outcome: dict[str, Any] = {}
        self.notes: list[str] = []

    def line(self, at: Any, kind: str, summary: str, event_id: int | None = None) -> None:
        self.timeline.append({"at": at, "kind": kind, "summary": summary, "eventId": event_id})

    def attempt(self, name: str, input_value: Any, attempt: dict[str, Any], event_id: int | None) -> None:
        """Add an attempt to the activity it retries (same name and input, last attempt failed)."""
        for activity in reversed(self.activities):
            if (
                activity["name"] == name
                and activity["input"] == input_value
                and activity["attempts"][-1]["outcome"] == "failed"
            ):
                break
        else:
            activity = {"name": name, "input": input_value, "attempts": []}
            self.activities.append(activity)
        attempt["attempt"] = len(activity["attempts"]) + 1
        attempt["eventId"] = event_id
        activity["attempts"].append(attempt)
        activity["outcome"] = attempt["outcome"]
        activity["retried"] = len(activity["attempts"]) > 1

    # -- raw history (EventIds known) ------------------------------------------------------------

    def from_raw(self, history: list[dict[str, Any]]) -> None:
        scheduled: dict[int, dict[str, Any]] = {}
        entity_requests: dict[str, dict[str, Any]] = {}
        failure_in_episode: str | None = None
        for event in history:
            kind = event.get("EventType")
            at = event.get("Timestamp")
            event_id = event.get("EventId")
            if kind == EventType.ORCHESTRATOR_STARTED:  # a new episode
                failure_in_episode = None
            elif kind == EventType.EXECUTION_STARTED:
                generation = event.get("Generation") or 0
                self.line(at, "started", f"orchestration {event.get('Name')} started")
                if generation:
                    self.notes.append(
                        f"This is execution {generation + 1} of the instance (continue-as-new); history "
                        "covers the latest execution only."
                    )
            elif kind in (
                EventType.TASK_SCHEDULED,
                EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
                EventType.TIMER_CREATED,
                EventType.EVENT_SENT,
            ) and isinstance(event_id, int):
                scheduled[event_id] = event
                if kind == EventType.TIMER_CREATED:
                    purpose = (
                        f"retry delay after '{failure_in_episode}' failed" if failure_in_episode else "timer"
                    )
                    self.timers.append(
                        {
                            "eventId": event_id,
                            "createdAt": at,
                            "fireAt": event.get("FireAt"),
                            "firedAt": None,
                            "purpose": purpose,
                        }
                    )
                    self.line(at, "timer", f"{purpose}: fires at {event.get('FireAt')}", event_id)
                elif kind == EventType.EVENT_SENT:
                    request = loads_json(event.get("Input"))
                    request = request if isinstance(request, dict) else {}
                    operation = {
                        "eventId": event_id,
                        "entity": event.get("InstanceId"),
                        "operation": request.get("op"),
                        "signal": bool(request.get("signal")),
                        "input": self.redact(loads_json(request.get("input"))),
                        "sentAt": at,
                        "result": None,
                        "answeredAt": None,
                    }
                    self.entity_operations.append(operation)
                    if request.get("id"):
                        entity_requests[str(request["id"])] = operation
                    verb = "signalled" if operation["signal"] else "called"
                    self.line(
                        at, "entity", f"{verb} {operation['entity']} '{operation['operation']}'", event_id
                    )
                elif kind == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
                    self.children.append(
                        {
                            "eventId": event_id,
                            "name": event.get("Name"),
                            "instanceId": event.get("InstanceId"),
                            "input": self.redact(loads_json(event.get("Input"))),
                            "createdAt": at,
                            "outcome": "running",
                        }
                    )
                    self.line(
                        at,
                        "sub-orchestration",
                        f"started {event.get('Name')} ({event.get('InstanceId')})",
                        event_id,
                    )
            elif kind in (EventType.TASK_COMPLETED, EventType.TASK_FAILED):
                source = scheduled.get(int(event.get("TaskScheduledId", -1)), {})
                name = str(source.get("Name") or "?")
                wrapped = loads_json(source.get("Input"))
                input_value = self.redact(
                    loads_json(wrapped[0]) if isinstance(wrapped, list) and wrapped else None
                )
                attempt: dict[str, Any] = {"scheduledAt": source.get("Timestamp"), "finishedAt": at}
                if kind == EventType.TASK_COMPLETED:
                    attempt.update(outcome="completed", result=self.redact(loads_json(event.get("Result"))))
                    self.line(at, "activity", f"{name} completed", source.get("EventId"))
                else:
                    attempt.update(outcome="failed", failure=self.redact(event.get("Reason")))
                    failure_in_episode = name
                    self.line(at, "activity", f"{name} failed: {attempt['failure']}", source.get("EventId"))
                self.attempt(name, input_value, attempt, source.get("EventId"))
            elif kind in (
                EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
                EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
            ):
                child = next((c for c in self.children if c["eventId"] == event.get("TaskScheduledId")), None)
                if child is not None:
                    child["outcome"] = (
                        "completed" if kind == EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED else "failed"
                    )
                    child["finishedAt"] = at
                    self.line(
                        at, "sub-orchestration", f"{child['name']} {child['outcome']}", child["eventId"]
                    )
            elif kind == EventType.TIMER_FIRED:
                timer = next((t for t in self.timers if t["eventId"] == event.get("TimerId")), None)
                if timer is not None:
                    timer["firedAt"] = at
                self.line(at, "timer", f"timer fired (due {event.get('FireAt')})", event.get("TimerId"))
            elif kind == EventType.EVENT_RAISED:
                self.raised(event, entity_requests)
            elif kind == EventType.EXECUTION_TERMINATED:
                reason = self.redact(loads_json(event.get("Input")))
                self.outcome.update(status="Terminated", reason=reason, at=at)
                self.line(at, "terminated", f"terminated: {reason}")
            elif kind in (EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED):
                verb = "suspended" if kind == EventType.EXECUTION_SUSPENDED else "resumed"
                self.line(
                    at,
                    verb,
                    f"{verb}" + (f": {self.redact(event.get('Reason'))}" if event.get("Reason") else ""),
                )
            elif kind == EventType.EXECUTION_COMPLETED:
                self.completed(
                    at,
                    RuntimeStatus.NAMES.get(int(event.get("OrchestrationStatus", -1)), "?"),
                    event.get("Result"),
                )

    def raised(self, event: dict[str, Any], entity_requests: dict[str, dict[str, Any]]) -> None:
        at = event.get("Timestamp")
        name = str(event.get("Name"))
        data = loads_json(event.get("Input"))
        if name in entity_requests:  # an entity's reply to a call, not an external event
            operation = entity_requests[name]
            reply = data if isinstance(data, dict) else {}
            operation["result"] = self.redact(loads_json(reply.get("result")))
            operation["answeredAt"] = at
            return
        actor = actor_of(data)
        principal = principal_of(data)
        self.events.append(
            {
                "name": name,
                "receivedAt": at,
                "by": self.redact(actor),
                # The authenticated principal (id, name, role) when the event records one; None for
                # events raised before principals were recorded.
                "principal": self.redact(principal),
                "data": self.redact(data),
            }
        )
        who = f" from {self.redact(actor)}" if actor else ""
        self.line(at, "event", f"event '{name}' received{who}")

    def completed(self, at: Any, status: str, result: Any) -> None:
        value = self.redact(loads_json(result))
        if status == "Failed":
            self.outcome.update(status="Failed", failure=value, at=at)
        else:
            self.outcome.update(status=status, output=value, at=at)
        self.line(at, "finished", f"orchestration {status.lower()}")

    # -- status API history (an Azure app: no EventIds) ---------------------------------------

    def from_status(self, events: list[dict[str, Any]]) -> None:
        self.notes.append(
            "Built from the status API history (no raw history on this host): attempts are matched "
            "by activity name and input, and timers are not linked to retries."
        )
        for event in events:
            kind = event.get("EventType")
            at = event.get("Timestamp")
            if kind == "ExecutionStarted":
                self.line(at, "started", f"orchestration {event.get('FunctionName')} started")
            elif kind in ("TaskCompleted", "TaskFailed"):
                name = str(event.get("FunctionName") or "?")
                wrapped = loads_json(event.get("Input"))
                input_value = self.redact(
                    loads_json(wrapped[0]) if isinstance(wrapped, list) and wrapped else wrapped
                )
                attempt: dict[str, Any] = {"scheduledAt": event.get("ScheduledTime"), "finishedAt": at}
                if kind == "TaskCompleted":
                    attempt.update(outcome="completed", result=self.redact(loads_json(event.get("Result"))))
                else:
                    attempt.update(outcome="failed", failure=self.redact(event.get("Reason")))
                self.attempt(name, input_value, attempt, None)
                self.line(at, "activity", f"{name} {attempt['outcome']}")
            elif kind == "TimerCreated":
                self.timers.append(
                    {
                        "eventId": None,
                        "createdAt": at,
                        "fireAt": event.get("FireAt"),
                        "firedAt": None,
                        "purpose": "timer",
                    }
                )
                self.line(at, "timer", f"timer: fires at {event.get('FireAt')}")
            elif kind == "TimerFired":
                self.line(at, "timer", f"timer fired (due {event.get('FireAt')})")
                timer = next(
                    (t for t in self.timers if t["fireAt"] == event.get("FireAt") and not t["firedAt"]), None
                )
                if timer is not None:
                    timer["firedAt"] = at
            elif kind == "EventRaised":
                self.raised({"Timestamp": at, "Name": event.get("Name"), "Input": event.get("Input")}, {})
            elif kind in ("SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed"):
                outcome = "completed" if kind.endswith("Completed") else "failed"
                self.children.append(
                    {
                        "eventId": None,
                        "name": event.get("FunctionName"),
                        "instanceId": event.get("InstanceId"),
                        "input": self.redact(loads_json(event.get("Input"))),
                        "createdAt": event.get("ScheduledTime"),
                        "finishedAt": at,
                        "outcome": outcome,
                    }
                )
                self.line(at, "sub-orchestration", f"{event.get('FunctionName')} {outcome}")
            elif kind == "ExecutionTerminated":
                self.outcome.update(status="Terminated", reason=self.redact(event.get("Input")), at=at)
                self.line(at, "terminated", "terminated")
            elif kind == "ExecutionCompleted":
                self.completed(at, str(event.get("OrchestrationStatus")), event.get("Result"))


def packet_from_history(
    status: Mapping[str, Any],
    redactor: Redactor,
    *,
    raw_history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The packet of one instance from its status (status API JSON shape) and optional raw history.

    `status` holds `instanceId`, `name`, `runtimeStatus`, `createdTime`, `lastUpdatedTime`,
    `input`, `customStatus` and, when `raw_history` is None, `historyEvents`. Sub-orchestrations are
    listed (`subOrchestrations`) but not opened: the caller nests their packets if it can read them.
    """
    builder = _Builder(redactor)
    if raw_history is not None:
        builder.from_raw(raw_history)
        source = "raw-history"
    else:
        builder.from_status(list(status.get("historyEvents") or []))
        source = "status-history"
    runtime_status = str(status.get("runtimeStatus"))
    if not builder.outcome:
        builder.outcome = {"status": runtime_status}
    builder.outcome["status"] = runtime_status
    return {
        "format": FORMAT,
        "instance": {
            "instanceId": status.get("instanceId"),
            "name": status.get("name"),
            "runtimeStatus": runtime_status,
            "createdTime": status.get("createdTime"),
            "lastUpdatedTime": status.get("lastUpdatedTime"),
            "input": redactor(loads_json(status.get("input"))),
        },
        "outcome": builder.outcome,
        "customStatus": {"current": redactor(status.get("customStatus")), "note": CUSTOM_STATUS_NOTE},
        "activities": builder.activities,
        "events": builder.events,
        "timers": builder.timers,
        "entityOperations": builder.entity_operations,
        "subOrchestrations": builder.children,
        "timeline": builder.timeline,
        "historySource": source,
        "notes": builder.notes,
    }


def decision_records(
    packet: Mapping[str, Any], event_name: str, fields: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The external events named `event_name`: who (`by`, `principal`), when (`receivedAt`), `fields`.

    Duplicates are kept in arrival order; the orchestration consumes only the first one it waits
    for, so a workflow's extras normally pair this with what its output says it decided.
    """
    records: list[dict[str, Any]] = []
    for event in packet.get("events") or []:
        if event.get("name") != event_name:
            continue
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        record = {
            "by": event.get("by"),
            "principal": event.get("principal"),
            "receivedAt": event.get("receivedAt"),
        }
        record.update({field: data.get(field) for field in fields})
        records.append(record)
    return records


def failure_policy_record(packet: Mapping[str, Any]) -> dict[str, Any]:
    """What the workflow's failure policy recorded (orchestrators/failure_policy.py).

    `unsentNotifications`: best-effort messages and updates whose retries ran out (the process went
    on); `failure`: for a process that ended Failed, the step, the reason, what it undid and what
    stays done. Both come from the output or, while running or after a failure, the custom status.
    """
    outcome = packet.get("outcome") or {}
    output = outcome.get("output")
    output = output if isinstance(output, dict) else {}
    custom = (packet.get("customStatus") or {}).get("current")
    custom = custom if isinstance(custom, dict) else {}
    return {
        "unsentNotifications": list(output.get("unsentNotifications") or custom.get("unsent") or []),
        "failure": custom.get("failure"),
    }
