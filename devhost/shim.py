"""Replays the SDK's action list against history the way the extension's shim does (spec §5.4).

The SDK answers every episode with *all* actions it ever requested. The extension re-issues them
one top-level node at a time against history, allocating sequence ids as it goes, and whatever it
reaches that has no scheduling event yet is new work. Retries are performed here (spec §6.4): each
attempt and each retry timer consumes an id when history says the previous step finished.

This is the devhost's public replay API (the engine and `ops replay-check` both use it):
`ActionReplay(actions, history).run()` returns the new work as `Decision`s; afterwards
`allocations` lists every id the replay handed out, `recorded_scheduling` the scheduling events
history holds by EventId, `waiting_event_names()` the external events still awaited and
`unawaited_event_names()` the raised events nothing consumed. `action_kind(action)` names the work
one action schedules, and `SCHEDULING_EVENT_OF_KIND` the history event that records it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devhost.history import Event, format_history_time, parse_json_or_string, parse_time
from durable_wire import EventType

# actionType numbers (spec §4.4)
CALL_ACTIVITY = 0
CALL_ACTIVITY_WITH_RETRY = 1
CALL_SUB_ORCHESTRATOR = 2
CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
CONTINUE_AS_NEW = 4
CREATE_TIMER = 5
WAIT_FOR_EXTERNAL_EVENT = 6
CALL_ENTITY = 7
CALL_HTTP = 8
SIGNAL_ENTITY = 9
WHEN_ANY = 11
WHEN_ALL = 12

HTTP_ACTIVITY_NAME = "BuiltIn::HttpActivity"
MAX_RETRY_INTERVAL = timedelta(days=6)


class NonDeterminismError(Exception):
    """History holds a scheduling event that the current code maps to a different action."""


class UnsupportedActionError(Exception):
    """The response holds an action this host cannot execute."""


@dataclass
class Decision:
    """New work found by the replay: one scheduling event to append and one thing to start."""

    event_id: int
    kind: str  # activity | http | sub_orchestration | timer | entity_call | entity_signal
    action: dict[str, Any]
    fire_at: str | None = None  # timers
    is_retry_timer: bool = False


@dataclass(frozen=True)
class Allocation:
    """One sequence id the replay allocated, in allocation order (retry timers included)."""

    event_id: int
    action: dict[str, Any]
    is_retry_timer: bool

    @property
    def kind(self) -> str:
        """What the id schedules: a retry timer is a `timer`, anything else its action's kind."""
        return "timer" if self.is_retry_timer else action_kind(self.action)


@dataclass
class _Node:
    action: dict[str, Any]
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)
    started: bool = False
    starting: bool = False  # a compound whose children are still being started
    done: bool = False
    # leaf bookkeeping
    task_id: int | None = None
    # retry bookkeeping
    attempt: int = 0
    retry_timer_id: int | None = None
    last_attempt_failed_for_good: bool = False

    @property
    def action_type(self) -> int:
        return int(self.action.get("actionType", -1))

    @property
    def is_retry(self) -> bool:
        return self.action_type in (CALL_ACTIVITY_WITH_RETRY, CALL_SUB_ORCHESTRATOR_WITH_RETRY)


def _build(action: dict[str, Any], parent: _Node | None) -> _Node:
    node = _Node(action=action, parent=parent)
    if node.action_type in (WHEN_ALL, WHEN_ANY):
        node.children = [_build(child, node) for child in action.get("compoundActions") or []]
    return node


_SCHEDULING_EVENTS = {
    EventType.TASK_SCHEDULED,
    EventType.TIMER_CREATED,
    EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    EventType.EVENT_SENT,
}


def _retry_delay(options: dict[str, Any], attempt: int) -> timedelta:
    first = float(options.get("firstRetryIntervalInMilliseconds") or 0)
    coefficient = float(options.get("backoffCoefficient") or 1.0)
    delay_ms = first * coefficient ** (attempt - 1)
    max_interval = options.get("maxRetryIntervalInMilliseconds")
    delay = timedelta(milliseconds=delay_ms)
    cap = timedelta(milliseconds=float(max_interval)) if max_interval else MAX_RETRY_INTERVAL
    return min(delay, cap)


class ActionReplay:
    """One replay of `actions[0]` over a history; `decisions` holds the new work afterwards."""

    def __init__(self, actions: list[dict[str, Any]], history: list[Event]) -> None:
        self._top = [_build(action, None) for action in actions]
        self._history = history
        self._cursor = 0
        self._advancing = False
        self._next_id = 0
        self._by_id: dict[int, _Node] = {}
        self._allocations: list[tuple[int, _Node, bool]] = []  # (id, node, is_retry_timer)
        self._retry_timer_fire_at: dict[int, str] = {}
        self._event_waiters: dict[str, list[_Node]] = {}
        self._buffered_events: dict[str, deque[Event]] = {}
        self._entity_waiters: dict[str, _Node] = {}
        self._scheduled: dict[int, Event] = {}
        self._entity_request_ids: dict[int, str] = {}
        for event in history:
            if event["EventType"] in _SCHEDULING_EVENTS and event["EventId"] >= 0:
                self._scheduled[event["EventId"]] = event
                if event["EventType"] == EventType.EVENT_SENT and event.get("Name") == "op":
                    request_id = _request_id(event.get("Input"))
                    if request_id:
                        self._entity_request_ids[event["EventId"]] = request_id
        self._episode_time: datetime | None = None
        self.decisions: list[Decision] = []

    def run(self) -> list[Decision]:
        """Walk the history, then collect every allocated id that history has not scheduled."""
        if self._history and self._history[0]["EventType"] == EventType.ORCHESTRATOR_STARTED:
            self._episode_time = parse_time(self._history[0]["Timestamp"])
        self._advance_top_level()
        for event in self._history[1:]:
            self._apply(event)
        for event_id, node, is_retry_timer in self._allocations:
            existing = self._scheduled.get(event_id)
            kind = "timer" if is_retry_timer else _leaf_kind(node)
            if existing is not None:
                _check_determinism(event_id, kind, node, existing)
                continue
            fire_at: str | None = None
            if is_retry_timer:
                fire_at = self._retry_timer_fire_at[event_id]
            elif kind == "timer":
                fire_at = format_history_time(parse_time(str(node.action["fireAt"])))
            self.decisions.append(Decision(event_id, kind, node.action, fire_at, is_retry_timer))
        return self.decisions

    # -- what the replay found (read after `run`) ----------------------------------------------

    @property
    def allocations(self) -> list[Allocation]:
        """Every id the replay allocated, in order, with the action it belongs to."""
        return [Allocation(event_id, node.action, retry) for event_id, node, retry in self._allocations]

    @property
    def recorded_scheduling(self) -> dict[int, Event]:
        """The scheduling events (TaskScheduled, TimerCreated, ...) history holds, by EventId."""
        return dict(self._scheduled)

    def waiting_event_names(self) -> list[str]:
        """Names of the external events the code still waits for, sorted."""
        return sorted(
            {
                str(node.action.get("externalEventName"))
                for nodes in self._event_waiters.values()
                for node in nodes
                if not node.done
            }
        )

    def unawaited_event_names(self) -> list[str]:
        """Names of raised events in history that no wait consumed, sorted."""
        return sorted({str(e.get("Name")) for queue in self._buffered_events.values() for e in queue})

    # -- walking ------------------------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        event_type = event["EventType"]
        if event_type == EventType.ORCHESTRATOR_STARTED:
            self._episode_time = parse_time(event["Timestamp"])
        elif event_type in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED):
            self._on_task_result(event.get("TaskScheduledId"), succeeded=True)
        elif event_type in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
            self._on_task_result(event.get("TaskScheduledId"), succeeded=False)
        elif event_type == EventType.TIMER_FIRED:
            self._on_timer_fired(event.get("TimerId"))
        elif event_type == EventType.EVENT_RAISED:
            self._on_event_raised(event)

    def _on_task_result(self, task_id: Any, *, succeeded: bool) -> None:
        node = self._by_id.get(task_id) if isinstance(task_id, int) else None
        if node is None or node.done:
            return
        if not node.is_retry:
            self._complete(node)
            return
        if task_id != node.task_id:
            return
        if succeeded:
            self._complete(node)
            return
        options = node.action.get("retryOptions") or {}
        max_attempts = int(options.get("maxNumberOfAttempts") or 1)
        assert self._episode_time is not None
        if node.attempt >= max_attempts:
            # The extension's back-compat extra timer: fires at once, then the task fails (spec §6.4).
            fire_at = self._episode_time
            node.last_attempt_failed_for_good = True
        else:
            fire_at = self._episode_time + _retry_delay(options, node.attempt)
        timer_id = self._allocate(node, is_retry_timer=True)
        node.retry_timer_id = timer_id
        self._retry_timer_fire_at[timer_id] = format_history_time(fire_at)

    def _on_timer_fired(self, timer_id: Any) -> None:
        node = self._by_id.get(timer_id) if isinstance(timer_id, int) else None
        if node is None or node.done:
            return
        if node.is_retry:
            if timer_id != node.retry_timer_id:
                return
            node.retry_timer_id = None
            if node.last_attempt_failed_for_good:
                self._complete(node)
            else:
                node.attempt += 1
                node.task_id = self._allocate(node)
            return
        self._complete(node)

    def _on_event_raised(self, event: Event) -> None:
        name = str(event.get("Name") or "")
        entity_node = self._entity_waiters.pop(name, None)
        if entity_node is not None:
            self._complete(entity_node)
            return
        key = name.lower()
        waiters = self._event_waiters.get(key)
        while waiters:
            waiter = waiters.pop()  # the most recently started waiter wins
            if not waiter.done:
                self._complete(waiter)
                return
        self._buffered_events.setdefault(key, deque()).append(event)

    # -- starting and completing nodes -----------------------------------------------------

    def _allocate(self, node: _Node, *, is_retry_timer: bool = False) -> int:
        event_id = self._next_id
        self._next_id += 1
        self._by_id[event_id] = node
        self._allocations.append((event_id, node, is_retry_timer))
        return event_id

    def _start(self, node: _Node) -> None:
        node.started = True
        action_type = node.action_type
        if action_type in (WHEN_ALL, WHEN_ANY):
            # Every child gets its ids before the compound may complete (a child can complete at
            # once, e.g. a wait for an event that arrived early): ids are allocated depth-first.
            node.starting = True
            for child in node.children:
                self._start(child)
            node.starting = False
            if self._compound_finished(node):
                self._complete(node)
            return
        if action_type in (CALL_ACTIVITY, CALL_HTTP, CALL_SUB_ORCHESTRATOR, CREATE_TIMER):
            node.task_id = self._allocate(node)
        elif node.is_retry:
            node.attempt = 1
            node.task_id = self._allocate(node)
        elif action_type == CALL_ENTITY:
            node.task_id = self._allocate(node)
            request_id = self._entity_request_ids.get(node.task_id)
            if request_id:
                self._entity_waiters[request_id] = node
        elif action_type == SIGNAL_ENTITY:
            node.task_id = self._allocate(node)
            self._complete(node)
        elif action_type == WAIT_FOR_EXTERNAL_EVENT:
            key = str(node.action.get("externalEventName") or "").lower()
            buffered = self._buffered_events.get(key)
            if buffered:
                buffered.popleft()
                self._complete(node)
            else:
                self._event_waiters.setdefault(key, []).append(node)
        elif action_type == CONTINUE_AS_NEW:
            self._complete(node)
        else:
            raise UnsupportedActionError(f"Unsupported action type {action_type}")

    def _complete(self, node: _Node) -> None:
        if node.done:
            return
        node.done = True
        parent = node.parent
        if parent is None:
            self._advance_top_level()
            return
        if parent.done or parent.starting:
            return
        if self._compound_finished(parent):
            self._complete(parent)

    @staticmethod
    def _compound_finished(node: _Node) -> bool:
        if not node.children:
            return True
        if node.action_type == WHEN_ANY:
            return any(child.done for child in node.children)
        return all(child.done for child in node.children)

    def _advance_top_level(self) -> None:
        """Start top-level nodes one after another, as long as the current one is finished."""
        if self._advancing:
            return  # a node finished while being started: the running loop moves on
        self._advancing = True
        try:
            while self._cursor < len(self._top):
                node = self._top[self._cursor]
                if not node.started:
                    self._start(node)
                if not node.done:
                    return
                self._cursor += 1
        finally:
            self._advancing = False


def _leaf_kind(node: _Node) -> str:
    return action_kind(node.action)


def action_kind(action: dict[str, Any]) -> str:
    """The kind of work an action schedules (`activity`, `http`, `sub_orchestration`, `timer`,
    `entity_call`, `entity_signal`); UnsupportedActionError for an action that schedules nothing."""
    action_type = int(action.get("actionType", -1))
    if action_type in (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY):
        return "activity"
    if action_type == CALL_HTTP:
        return "http"
    if action_type in (CALL_SUB_ORCHESTRATOR, CALL_SUB_ORCHESTRATOR_WITH_RETRY):
        return "sub_orchestration"
    if action_type == CREATE_TIMER:
        return "timer"
    if action_type == CALL_ENTITY:
        return "entity_call"
    if action_type == SIGNAL_ENTITY:
        return "entity_signal"
    raise UnsupportedActionError(f"Action type {action_type} does not schedule work")


# The history event that records each kind of scheduled work (the replay check compares against it).
SCHEDULING_EVENT_OF_KIND = {
    "activity": EventType.TASK_SCHEDULED,
    "http": EventType.TASK_SCHEDULED,
    "sub_orchestration": EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    "timer": EventType.TIMER_CREATED,
    "entity_call": EventType.EVENT_SENT,
    "entity_signal": EventType.EVENT_SENT,
}


def _check_determinism(event_id: int, kind: str, node: _Node, existing: Event) -> None:
    expected = SCHEDULING_EVENT_OF_KIND[kind]
    if existing["EventType"] != expected:
        raise NonDeterminismError(
            f"Non-Deterministic workflow detected: A previous execution of this orchestration scheduled "
            f"a {EventType(existing['EventType']).name} with sequence ID {event_id}, but the current "
            f"replay execution requested a {expected.name} at that position."
        )
    if kind in ("activity", "sub_orchestration"):
        wanted = str(node.action.get("functionName") or "")
        recorded = str(existing.get("Name") or "")
        if wanted.lower() != recorded.lower():
            raise NonDeterminismError(
                f"Non-Deterministic workflow detected: A previous execution of this orchestration "
                f"scheduled '{recorded}' with sequence ID {event_id}, but the current replay execution "
                f"requested '{wanted}'."
            )


def _request_id(input_text: Any) -> str | None:
    message = parse_json_or_string(input_text) if isinstance(input_text, str) else None
    request_id = message.get("id") if isinstance(message, dict) else None
    return str(request_id) if request_id else None
