"""The SDK-only replay floor for the devhost's exact histories, host overhead over it, replay memory.

Method (shared notes, performance.md §1): call the function the worker calls, the orchestrator's
`get_user_function()` (here through the devhost's own loader), with the trigger JSON string.

A recorded raw history (`GET /admin/instances/{id}/raw-history`) is cut into episodes at each
OrchestratorStarted; episode k's trigger payload is the history before it plus its
OrchestratorStarted and the messages it consumed (IsPlayed false). Each episode is replayed once
in-process and split into:

- SDK time: the `handle()` call alone (the floor no host using the SDK can go below);
- host time: what the devhost does per replay around it, with its own code: the trigger payload
  from cached event JSON (`devhost.episodes.trigger_payload`), parsing the OrchestratorState, the action
  replay (`devhost.shim.ActionReplay`), and caching the new events' JSON (including the IsPlayed
  re-serialisation). Storage and HTTP are not part of it: they are counted separately.

Host overhead = host time / SDK time.
"""

from __future__ import annotations

import copy
import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.stats import Metrics
from devhost import history as h
from devhost.episodes import trigger_payload
from devhost.history import MESSAGE_EVENT_TYPES, compact_json
from devhost.instance import Instance
from devhost.loader import FunctionIndex, load_app
from devhost.shim import ActionReplay
from durable_wire import EventType

Event = dict[str, Any]
TRIGGER_CONSTANTS = (
    '"upperSchemaVersion":1,"upperSchemaVersionNew":2,'
    '"longRunningTimerIntervalDuration":"3.00:00:00","maximumShortTimerDuration":"6.00:00:00",'
    '"defaultHttpAsyncRequestSleepTimeMillseconds":30000'
)


class FloorError(RuntimeError):
    """The in-process replay disagreed with what the devhost recorded."""


@dataclass
class Episode:
    """One episode of a recorded history: [start, new_end) is the payload's new events."""

    start: int
    new_end: int
    end: int


def split_episodes(events: list[Event]) -> list[Episode]:
    starts = [i for i, e in enumerate(events) if e["EventType"] == EventType.ORCHESTRATOR_STARTED]
    episodes = []
    for position, start in enumerate(starts):
        end = starts[position + 1] if position + 1 < len(starts) else len(events)
        new_end = start + 1
        while new_end < end and events[new_end]["EventType"] in MESSAGE_EVENT_TYPES:
            new_end += 1
        episodes.append(Episode(start, new_end, end))
    return episodes


def _unplayed(event: Event) -> Event:
    fresh = copy.deepcopy(event)
    fresh["IsPlayed"] = False
    return fresh


class PayloadBuilder:
    """The devhost's trigger payload builder when its signature is as expected, else a mirror."""

    def __init__(self) -> None:
        self.method = "devhost.episodes.trigger_payload"

    def build(self, instance: Instance, new_events: list[Event]) -> str:
        if self.method.startswith("devhost"):
            try:
                return trigger_payload(instance, new_events)
            except (AttributeError, TypeError):
                self.method = "mirror of the devhost's payload rules (its builder changed signature)"
        return mirror_payload(instance, new_events)


def mirror_payload(instance: Instance, new_events: list[Event]) -> str:
    """The devhost's rules: cached compact JSON per event, joined, with the trigger constants."""
    parts = list(instance.history_json)
    parts.extend(compact_json(event) for event in new_events)
    return (
        '{"history":['
        + ",".join(parts)
        + '],"input":'
        + (instance.input_text if instance.input_text is not None else "null")
        + ',"instanceId":'
        + compact_json(instance.instance_id)
        + ',"isReplaying":'
        + ("true" if instance.history else "false")
        + ',"parentInstanceId":null,'
        + TRIGGER_CONSTANTS
        + "}"
    )


def _new_instance(events: list[Event]) -> Instance:
    started = next(e for e in events if e["EventType"] == EventType.EXECUTION_STARTED)
    now = datetime.now(UTC)
    return Instance(
        instance_id=started["OrchestrationInstance"]["InstanceId"],
        name=started["Name"],
        version=started.get("Version") or "",
        execution_id=started["OrchestrationInstance"]["ExecutionId"],
        input_text=started.get("Input"),
        parent=None,
        created=now,
        last_updated=now,
    )


class SdkCaller:
    """Calls an orchestrator of the bench app exactly like the devhost's invoker does."""

    def __init__(self, app_dir: Path) -> None:
        self.index: FunctionIndex = load_app(app_dir)

    def caller(self, name: str) -> Callable[[str], dict[str, Any]]:
        function = self.index.orchestrator(name)
        if function is None:
            raise FloorError(f"orchestrator {name} is not in the bench app")

        def call(payload: str) -> dict[str, Any]:
            result = function.user_function(**{function.binding_name: payload})
            state: dict[str, Any] = json.loads(result) if isinstance(result, str) else dict(result)
            return state

        return call

    def raw_call(self, name: str) -> Callable[[str], Any]:
        function = self.index.orchestrator(name)
        if function is None:
            raise FloorError(f"orchestrator {name} is not in the bench app")
        return lambda payload: function.user_function(**{function.binding_name: payload})


def replay_recorded(sdk: SdkCaller, events: list[Event], builder: PayloadBuilder) -> Metrics:
    """Replay a recorded history episode by episode: SDK floor and the host's per-replay CPU."""
    instance = _new_instance(events)
    raw_call = sdk.raw_call(instance.name)
    sdk_seconds = host_seconds = 0.0
    replayed_events = 0
    episodes = split_episodes(events)
    state: dict[str, Any] = {}
    gc.collect()
    for number, episode in enumerate(episodes):
        new_events = [_unplayed(e) for e in events[episode.start : episode.new_end]]
        t0 = time.perf_counter()
        payload = builder.build(instance, new_events)
        t1 = time.perf_counter()
        result = raw_call(payload)
        t2 = time.perf_counter()
        state = json.loads(result) if isinstance(result, str) else dict(result)
        actions = (state.get("actions") or [[]])[0]
        decisions = ActionReplay(actions, [*instance.history, *new_events]).run()
        t3 = time.perf_counter()
        recorded_new_work = [
            e
            for e in events[episode.new_end : episode.end]
            if e["EventType"] not in (EventType.ORCHESTRATOR_COMPLETED, EventType.EXECUTION_COMPLETED)
        ]
        if len(decisions) != len(recorded_new_work):
            raise FloorError(
                f"episode {number}: the SDK asked for {len(decisions)} new actions, the devhost recorded "
                f"{len(recorded_new_work)}"
            )
        committed = [_unplayed(e) for e in events[episode.start : episode.end]]
        t4 = time.perf_counter()
        instance.history.extend(committed)
        instance.history_json.extend(compact_json(e) for e in committed)
        for position in range(instance.played_upto, len(instance.history)):
            event = instance.history[position]
            if not event["IsPlayed"] and event["EventType"] in MESSAGE_EVENT_TYPES:
                event["IsPlayed"] = True
                instance.history_json[position] = compact_json(event)
        instance.played_upto = len(instance.history)
        t5 = time.perf_counter()
        sdk_seconds += t2 - t1
        host_seconds += (t1 - t0) + (t3 - t2) + (t5 - t4)
        replayed_events += episode.new_end
    completed = [e for e in events if e["EventType"] == EventType.EXECUTION_COMPLETED]
    if not state.get("isDone") or not completed:
        raise FloorError("the last episode's replay did not complete the orchestration")
    if compact_json(state.get("output")) != completed[0].get("Result"):
        raise FloorError(
            f"SDK output {compact_json(state.get('output'))} differs from the recorded "
            f"{completed[0].get('Result')}"
        )
    return {
        "episodes": float(len(episodes)),
        "historyEvents": float(len(events)),
        "eventsReplayed": float(replayed_events),
        "sdkSeconds": sdk_seconds,
        "sdkMicrosPerEvent": sdk_seconds / replayed_events * 1e6,
        "hostSeconds": host_seconds,
        "hostOverhead": host_seconds / sdk_seconds,
    }


def synthetic_chain(count: int) -> list[Event]:
    """A completed chain history of `count` bench_noop activities in the devhost's event shapes."""
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    instance_id = "bench-memory-chain"
    events: list[Event] = [
        h.orchestrator_started(moment),
        h.execution_started(
            moment,
            name="bench_chain",
            version="",
            input_text=compact_json({"n": count}),
            instance_id=instance_id,
            execution_id="0" * 32,
            parent=None,
        ),
    ]
    for step in range(count):
        events.append(h.task_scheduled(moment, step, "bench_noop", compact_json(step)))
        events.append(h.orchestrator_completed(moment))
        moment += timedelta(milliseconds=5)
        events.append(h.orchestrator_started(moment))
        events.append(h.task_completed(moment, step, compact_json(step)))
    events.append(h.execution_completed(moment, -1, "Completed", compact_json(count)))
    events.append(h.orchestrator_completed(moment))
    for event in events:
        if event["EventType"] in MESSAGE_EVENT_TYPES:
            event["IsPlayed"] = True
    return events


def _traced_peak(action: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _traced_current(action: Callable[[], object]) -> int:
    """Bytes still held by what `action` returns (the devhost's resident history and JSON cache)."""
    gc.collect()
    tracemalloc.start()
    try:
        kept = action()
        size = tracemalloc.get_traced_memory()[0]
        del kept
        return size
    finally:
        tracemalloc.stop()


def replay_memory(sdk: SdkCaller, events: list[Event], builder: PayloadBuilder) -> Metrics:
    """tracemalloc peak of the last episode's replay: SDK alone vs payload building + SDK.

    SDK alone gets the finished payload string; the devhost path starts from what it keeps in memory
    (history events and their cached JSON) and builds the payload, then calls the SDK.
    """
    last = split_episodes(events)[-1]
    instance = _new_instance(events)
    instance.history = [copy.deepcopy(e) for e in events[: last.start]]
    instance.history_json = [compact_json(e) for e in instance.history]
    new_events = [_unplayed(e) for e in events[last.start : last.new_end]]
    payload = builder.build(instance, new_events)
    call = sdk.caller(instance.name)
    if not call(payload).get("isDone"):  # warm-up and a check that the history is complete
        raise FloorError("memory history does not complete the orchestration")
    sdk_peak = _traced_peak(lambda: call(payload))
    host_peak = _traced_peak(lambda: call(builder.build(instance, new_events)))
    payload_events = last.new_end
    resident = _traced_current(
        lambda: (
            [json.loads(text) for text in instance.history_json],
            [compact_json(e) for e in instance.history],
        )
    )
    return {
        "events": float(payload_events),
        "payloadKiB": len(payload.encode()) / 1024,
        "sdkPeakKiB": sdk_peak / 1024,
        "sdkKiBPerEvent": sdk_peak / 1024 / payload_events,
        "hostPeakKiB": host_peak / 1024,
        "hostKiBPerEvent": host_peak / 1024 / payload_events,
        "ratio": host_peak / sdk_peak,
        "residentHistoryKiBPerEvent": resident / 1024 / payload_events,
    }
