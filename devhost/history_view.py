"""The status API's `historyEvents` (spec §11.3): history as the extension shows it to clients."""

from __future__ import annotations

from typing import Any

from devhost.history import Event, parse_json_or_string
from durable_wire import EVENT_TYPE_NAMES, EventType, RuntimeStatus


def history_for_api(history: list[Event], *, show_input: bool, show_output: bool) -> list[dict[str, Any]]:
    """The status API's `historyEvents` transformation (spec §11.3)."""
    scheduled: dict[int, Event] = {
        e["EventId"]: e
        for e in history
        if e["EventType"] in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)
    }
    result: list[dict[str, Any]] = []
    for event in history:
        event_type = event["EventType"]
        if event_type in (
            EventType.ORCHESTRATOR_STARTED,
            EventType.ORCHESTRATOR_COMPLETED,
            EventType.TASK_SCHEDULED,
            EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        ):
            continue
        item = {k: v for k, v in event.items() if k not in ("EventId", "IsPlayed")}
        item["EventType"] = EVENT_TYPE_NAMES.get(event_type, str(event_type))
        if event_type in (
            EventType.TASK_COMPLETED,
            EventType.TASK_FAILED,
            EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
            EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
        ):
            origin = scheduled.get(item.pop("TaskScheduledId", -1))
            if origin is not None:
                item["FunctionName"] = origin.get("Name")
                item["ScheduledTime"] = origin.get("Timestamp")
                if origin["EventType"] == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
                    item["InstanceId"] = origin.get("InstanceId")
                if show_input:
                    item["Input"] = origin.get("Input")
        if event_type == EventType.TIMER_FIRED:
            item.pop("TimerId", None)
        if event_type == EventType.EXECUTION_STARTED:
            item["FunctionName"] = item.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                item.pop(key, None)
        if event_type == EventType.EXECUTION_COMPLETED:
            item["OrchestrationStatus"] = RuntimeStatus.NAMES.get(
                int(event["OrchestrationStatus"]), "Unknown"
            )
        if event_type in (
            EventType.TASK_COMPLETED,
            EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
            EventType.EXECUTION_COMPLETED,
        ):
            if show_output:
                item["Result"] = parse_json_or_string(event.get("Result"))
            else:
                item.pop("Result", None)
        if not show_input:
            item.pop("Input", None)
        result.append(item)
    return result
