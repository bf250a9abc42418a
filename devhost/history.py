"""History events in the extension's wire shape (spec §3), and the JSON helpers every part shares.

Events are plain dicts with PascalCase keys exactly as the SDK reads them. Builders here are the
only place that knows each event's fields, so the engine, the store and the management API agree.
The event-type numbers and runtime statuses are the shared wire vocabulary (`durable_wire`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from durable_wire import EventType, RuntimeStatus

Event = dict[str, Any]


# Events that are delivered as messages (their IsPlayed flips to true once an episode consumed them).
MESSAGE_EVENT_TYPES = frozenset(
    {
        EventType.EXECUTION_STARTED,
        EventType.TASK_COMPLETED,
        EventType.TASK_FAILED,
        EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
        EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
        EventType.TIMER_FIRED,
        EventType.EVENT_RAISED,
        EventType.EXECUTION_TERMINATED,
        EventType.EXECUTION_SUSPENDED,
        EventType.EXECUTION_RESUMED,
    }
)


# ---------------------------------------------------------------------------------------------------
# JSON and time formats


def compact_json(value: Any) -> str:
    """Compact JSON text as the extension writes it (Newtonsoft Formatting.None, spec §2.3)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_json_or_string(text: str | None) -> Any:
    """How the status API shows stored text: parsed JSON, else the raw string; None stays None."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def utc_now() -> datetime:
    """The real clock, timezone-aware."""
    return datetime.now(UTC)


def format_history_time(moment: datetime) -> str:
    """History timestamp: ISO-8601 UTC with 7 fractional digits and `Z` (spec §2.4)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def format_status_time(moment: datetime) -> str:
    """Status API time: whole seconds, `yyyy-MM-ddTHH:mm:ssZ`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse any ISO-8601 form the SDK or a client sends; naive values are taken as UTC."""
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    # Python's fromisoformat takes at most 6 fractional digits before 3.11 and 7 since; trim longer.
    head, dot, rest = cleaned.partition(".")
    if dot:
        digits = ""
        index = 0
        while index < len(rest) and rest[index].isdigit():
            digits += rest[index]
            index += 1
        cleaned = f"{head}.{digits[:6] or '0'}{rest[index:]}"
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# ---------------------------------------------------------------------------------------------------
# Event builders


def _event(event_type: EventType, moment: datetime, event_id: int = -1, **fields: Any) -> Event:
    event: Event = {
        "EventType": int(event_type),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_history_time(moment),
    }
    event.update(fields)
    return event


def orchestrator_started(moment: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_STARTED, moment)


def orchestrator_completed(moment: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_COMPLETED, moment)


def execution_started(
    moment: datetime,
    *,
    name: str,
    version: str,
    input_text: str | None,
    instance_id: str,
    execution_id: str,
    parent: dict[str, Any] | None,
    generation: int = 0,
) -> Event:
    return _event(
        EventType.EXECUTION_STARTED,
        moment,
        Name=name,
        Version=version,
        Input=input_text,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
        Tags=None,
        Correlation=None,
        ParentTraceContext=None,
        ScheduledStartTime=None,
        Generation=generation,
    )


def execution_completed(moment: datetime, event_id: int, status: str, result: str | None) -> Event:
    return _event(
        EventType.EXECUTION_COMPLETED,
        moment,
        event_id,
        OrchestrationStatus=RuntimeStatus.NUMBERS[status],
        Result=result,
        FailureDetails=None,
    )


def task_scheduled(moment: datetime, event_id: int, name: str, input_text: str | None) -> Event:
    return _event(
        EventType.TASK_SCHEDULED,
        moment,
        event_id,
        Name=name,
        Version="",
        Input=compact_json([input_text]),
        Tags=None,
        ParentTraceContext=None,
    )


def task_completed(moment: datetime, scheduled_id: int, result: str | None) -> Event:
    return _event(EventType.TASK_COMPLETED, moment, TaskScheduledId=scheduled_id, Result=result)


def task_failed(moment: datetime, scheduled_id: int, reason: str, details: str | None) -> Event:
    return _failure(EventType.TASK_FAILED, moment, scheduled_id, reason, details)


def sub_orchestration_created(  # noqa: PLR0917 - mirrors the event's fields
    moment: datetime, event_id: int, name: str, version: str, instance_id: str, input_text: str | None
) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        moment,
        event_id,
        Name=name,
        Version=version,
        InstanceId=instance_id,
        Input=input_text,
    )


def sub_orchestration_completed(moment: datetime, scheduled_id: int, result: str | None) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED, moment, TaskScheduledId=scheduled_id, Result=result
    )


def sub_orchestration_failed(moment: datetime, scheduled_id: int, reason: str, details: str | None) -> Event:
    return _failure(EventType.SUB_ORCHESTRATION_INSTANCE_FAILED, moment, scheduled_id, reason, details)


def _failure(
    event_type: EventType, moment: datetime, scheduled_id: int, reason: str, details: str | None
) -> Event:
    """TaskFailed and SubOrchestrationInstanceFailed carry the same fields."""
    return _event(
        event_type,
        moment,
        TaskScheduledId=scheduled_id,
        Reason=reason,
        Details=details,
        FailureDetails=None,
    )


def timer_created(moment: datetime, event_id: int, fire_at: str) -> Event:
    return _event(EventType.TIMER_CREATED, moment, event_id, FireAt=fire_at)


def timer_fired(moment: datetime, timer_id: int, fire_at: str) -> Event:
    return _event(EventType.TIMER_FIRED, moment, TimerId=timer_id, FireAt=fire_at)


def event_sent(moment: datetime, event_id: int, target: str, name: str, input_text: str) -> Event:
    return _event(EventType.EVENT_SENT, moment, event_id, InstanceId=target, Name=name, Input=input_text)


def event_raised(moment: datetime, name: str, input_text: str | None) -> Event:
    return _event(EventType.EVENT_RAISED, moment, Name=name, Input=input_text)


def generic_event(moment: datetime, data: str | None) -> Event:
    """A message the SDK ignores; rewind uses one to wake the instance for a new episode."""
    return _event(EventType.GENERIC_EVENT, moment, Data=data)


def execution_terminated(moment: datetime, reason: str | None) -> Event:
    return _event(EventType.EXECUTION_TERMINATED, moment, Input=reason)


def execution_suspended(moment: datetime, reason: str | None) -> Event:
    return _event(EventType.EXECUTION_SUSPENDED, moment, Reason=reason)


def execution_resumed(moment: datetime, reason: str | None) -> Event:
    return _event(EventType.EXECUTION_RESUMED, moment, Reason=reason)


def activity_failure_details(message: str) -> str:
    """`TaskFailed.Details` shaped like the extension's serialized .NET exception (spec §6.1)."""
    inner = {
        "$type": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, Microsoft.Azure.WebJobs.Script",
        "ClassName": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException",
        "Message": f"Result: Failure\nException:{message}",
        "Data": None,
        "InnerException": None,
        "HelpURL": None,
        "StackTraceString": None,
        "RemoteStackTraceString": None,
        "RemoteStackIndex": 0,
        "ExceptionMethod": None,
        "HResult": -2146233088,
        "Source": None,
        "WatsonBuckets": None,
    }
    outer = {
        "$type": "System.Exception, System.Private.CoreLib",
        "ClassName": "System.Exception",
        "Message": message,
        "Data": None,
        "InnerException": inner,
        "HelpURL": None,
        "StackTraceString": None,
        "RemoteStackTraceString": None,
        "RemoteStackIndex": 0,
        "ExceptionMethod": None,
        "HResult": -2146233088,
        "Source": None,
        "WatsonBuckets": None,
    }
    return compact_json(outer)
