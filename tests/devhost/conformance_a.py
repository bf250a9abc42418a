"""Helpers shared by the conformance tests (spec §15): history views, starting and finishing runs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import requests

from durable_wire import EventType
from tests.support.durable_http import DurableApi
from tests.support.wire import raw_history

# Events created from actions carry the sequence id in EventId; completions point at it.
SCHEDULING_TYPES = {
    EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    EventType.TIMER_CREATED,
    EventType.EVENT_SENT,
}
COMPLETION_TYPES = {
    EventType.TASK_COMPLETED,
    EventType.TASK_FAILED,
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
    EventType.TIMER_FIRED,
}

T = TypeVar("T")


def unique_id(prefix: str) -> str:
    """A URL-safe instance id / entity key that no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def parse_time(text: str) -> datetime:
    """ISO-8601 with `Z` and up to 7 fractional digits (Python 3.11 truncates beyond 6)."""
    return datetime.fromisoformat(text)


def of_type(history: list[dict[str, Any]], event_type: int) -> list[dict[str, Any]]:
    return [event for event in history if event["EventType"] == event_type]


def one(history: list[dict[str, Any]], event_type: int, **fields: Any) -> dict[str, Any]:
    """The single event of that type whose fields equal `fields`."""
    found = [e for e in of_type(history, event_type) if all(e.get(k) == v for k, v in fields.items())]
    assert len(found) == 1, f"expected one event of type {event_type} with {fields}, got {found}"
    return found[0]


def position(history: list[dict[str, Any]], event: dict[str, Any]) -> int:
    return next(i for i, candidate in enumerate(history) if candidate is event)


def task_id(event: dict[str, Any]) -> int:
    """The sequence id an action or completion event refers to."""
    if event["EventType"] in SCHEDULING_TYPES:
        return int(event["EventId"])
    if event["EventType"] == EventType.TIMER_FIRED:
        return int(event["TimerId"])
    return int(event["TaskScheduledId"])


def id_trail(history: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(EventType, sequence id) of every scheduling and completion event, in history order."""
    return [
        (e["EventType"], task_id(e)) for e in history if e["EventType"] in SCHEDULING_TYPES | COMPLETION_TYPES
    ]


def episodes(history: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The history cut at every OrchestratorStarted (each list starts with one)."""
    result: list[list[dict[str, Any]]] = []
    for event in history:
        if event["EventType"] == EventType.ORCHESTRATOR_STARTED or not result:
            result.append([])
        result[-1].append(event)
    return result


def episode_of(history: list[dict[str, Any]], event: dict[str, Any]) -> list[dict[str, Any]]:
    """The episode (list starting with its OrchestratorStarted) that contains `event`."""
    for episode in episodes(history):
        if any(candidate is event for candidate in episode):
            return episode
    raise AssertionError(f"{event} is not in the history")


def flatten_actions(actions: Any) -> Iterator[dict[str, Any]]:
    """Every action of an OrchestratorState `actions` value, compound children included."""
    if isinstance(actions, list):
        for item in actions:
            yield from flatten_actions(item)
    elif isinstance(actions, dict):
        yield actions
        yield from flatten_actions(actions.get("compoundActions") or [])


def eventually(probe: Callable[[], T | None], timeout: float = 20, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached in {timeout} s (last value: {last!r})")


def started_running(api: DurableApi, name: str, body: Any = None, instance_id: str | None = None) -> str:
    """Start an orchestration over HTTP and wait until it is Running."""
    instance_id = api.start_id(name, body, instance_id)
    api.wait(instance_id, statuses={"Running"})
    return instance_id


def wait_completed(api: DurableApi, instance_id: str) -> dict[str, Any]:
    """Wait until the instance ends and check that it Completed; its final status."""
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    return status


@dataclass(frozen=True)
class CompletedRun:
    """An orchestration that ran to Completed: its id, final status and history as sent to the SDK."""

    instance_id: str
    status: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def output(self) -> Any:
        return self.status["output"]


def run_completed(api: DurableApi, name: str, body: Any = None) -> CompletedRun:
    """Start `name` over HTTP and wait until it Completed; the raw history is a devhost_only view."""
    instance_id = api.start_id(name, body)
    status = wait_completed(api, instance_id)
    return CompletedRun(instance_id, status, raw_history(api.base_url, instance_id))


def start_via_client(base_url: str, name: str, body: Any = None, instance_id: str | None = None) -> str:
    """Start through the app's HTTP starter, i.e. the Python client's `start_new`."""
    params = {"instanceId": instance_id} if instance_id else {}
    response = requests.post(
        f"{base_url}/api/start/{name}",
        data=None if body is None else json.dumps(body),
        params=params,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def client_call(base_url: str, operation: str, **args: Any) -> dict[str, Any]:
    """Run a DurableOrchestrationClient method in the app; {"result": ...} or {"error": "..."}."""
    response = requests.post(f"{base_url}/api/client/{operation}", json=args, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
