"""The durable engine: instances, episodes, activities, timers, sub-orchestrations and entities.

Each instance keeps its history in memory; every message it accepts is first appended to the
execution's log in storage (so a 202 means durable), then queued in its inbox. An episode drains the
whole inbox at once (one SDK replay per batch, never one per completion), appends its events to
the log in one call, and only then starts the new work. Recovery after a crash rebuilds each
unfinished instance from its log and restarts whatever was scheduled but never completed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from devhost import history as h
from devhost.clock import Clock, TimerService
from devhost.config import HostSettings
from devhost.entities import EntityHost, entity_scheduler_id, parse_entity_id
from devhost.finished import FinishedInstances, InstanceSummary
from devhost.history import Event, compact_json
from devhost.loader import FunctionIndex, FunctionInfo
from devhost.shim import (
    HTTP_ACTIVITY_NAME,
    ActionReplay,
    Decision,
    NonDeterminismError,
    UnsupportedActionError,
)
from devhost.store import BlobStore, Record
from devhost.worker.pool import UserFunctionError, WorkerPool
from durable_wire import EVENT_TYPE_NAMES, EventType, RuntimeStatus

log = logging.getLogger("devhost.engine")

CUSTOM_STATUS_LIMIT_KB = 16
_TRIGGER_CONSTANTS = (
    '"upperSchemaVersion":1,"upperSchemaVersionNew":2,'
    '"longRunningTimerIntervalDuration":"3.00:00:00","maximumShortTimerDuration":"6.00:00:00",'
    '"defaultHttpAsyncRequestSleepTimeMillseconds":30000'
)


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
    inbox: list[tuple[int, Event]] = field(default_factory=list)
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
        return BlobStore.log_name(self.instance_id, self.execution_id)

    @property
    def is_terminal(self) -> bool:
        return self.status in RuntimeStatus.TERMINAL

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


class Engine:
    """Owns every instance of one task hub and runs them."""

    def __init__(
        self,
        settings: HostSettings,
        index: FunctionIndex,
        store: BlobStore,
        clock: Clock,
        invoker: WorkerPool,
        *,
        deliver_activities_twice: bool = False,
    ) -> None:
        self.settings = settings
        self.index = index
        self.store = store
        self.clock = clock
        self.invoker = invoker
        self.timers = TimerService(clock)
        self.deliver_activities_twice = deliver_activities_twice
        # The `durableClient` binding string for activities that take one (set by the server, which
        # knows the host's address).
        self.client_binding: Callable[[], str] | None = None
        self.instances: dict[str, Instance] = {}  # running ones, and the most recently finished
        self.finished = FinishedInstances()
        self.entities = EntityHost(self)
        self._activity_slots = asyncio.Semaphore(settings.max_concurrent_activities)
        self._background: set[asyncio.Task[Any]] = set()
        self._instance_locks: dict[str, asyncio.Lock] = {}
        self._http_session: aiohttp.ClientSession | None = None
        self.activity_runs = 0
        self.activities_running = 0  # in flight now (the soak crashes the host in the middle of one)
        self._index_loaded = False
        # Opt-in wire trace (devhost --trace-payloads): every trigger payload and SDK answer per instance.
        self.trace: dict[str, list[dict[str, Any]]] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the index of instances and resume every unfinished one."""
        self.timers.start()
        clock_state = await self.store.read_document("clock")
        if self.clock.virtual and clock_state and clock_state.get("now"):
            self.clock.set_virtual(h.parse_time(clock_state["now"]))
        unfinished: list[str] = []
        finished: list[tuple[str, str, str]] = []
        async for instance_id, metadata in self.store.list_instances():
            if metadata.get("runtimestatus") in RuntimeStatus.TERMINAL and metadata.get("createdtime"):
                finished.append((instance_id, metadata["runtimestatus"], metadata["createdtime"]))
            else:
                unfinished.append(instance_id)
        for instance_id, status, created in finished:
            self.finished.stored(instance_id, status, h.parse_time(created))
        for instance_id in unfinished:
            await self._recover_instance(instance_id)
        await self.entities.recover()
        self._index_loaded = True
        for instance_id in unfinished:
            instance = self.instances.get(instance_id)
            if instance is not None:
                self._resume_outstanding_work(instance)
                self._schedule_episode(instance)

    async def stop(self) -> None:
        await self.timers.stop()
        for task in list(self._background):
            task.cancel()
        if self._http_session is not None:
            await self._http_session.close()

    def spawn(self, awaitable: Awaitable[Any]) -> None:
        """Run work in the background, logging (not losing) its failure."""

        async def guarded() -> None:
            try:
                await awaitable
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background work failed")

        task = asyncio.get_running_loop().create_task(guarded())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _lock(self, instance_id: str) -> asyncio.Lock:
        return self._instance_locks.setdefault(instance_id, asyncio.Lock())

    # -- looking instances up -------------------------------------------------------------------

    async def get_instance(self, instance_id: str) -> Instance | None:
        """The instance (a finished one's document read back from storage if need be), or None."""
        instance = self.instances.get(instance_id)
        if instance is not None:
            return instance
        if self._index_loaded and not self.finished.in_storage(instance_id):
            # This host is the hub's only writer: what is neither in memory nor indexed does not exist.
            return None
        document = await self.store.read_instance(instance_id)
        instance = self.instances.get(instance_id)  # read back meanwhile by another caller
        if instance is not None or document is None:
            return instance
        instance = Instance.from_document(document)
        self.instances[instance_id] = instance
        if instance.is_terminal:
            self._finished_in_memory(instance)
        return instance

    def instance_summaries(self) -> list[InstanceSummary]:
        """Id, status and creation time of every instance of the hub, for queries."""
        in_memory = [InstanceSummary(i.instance_id, i.status, i.created) for i in self.instances.values()]
        return in_memory + self.finished.summaries()

    def _finished_in_memory(self, instance: Instance) -> None:
        """Keep the most recently finished documents in memory; older ones are read back when asked."""
        self.finished.finished(instance.instance_id)
        self._evict_finished()

    def _evict_finished(self) -> None:
        later: list[str] = []
        for instance_id in self.finished.overflow():
            old = self.instances.get(instance_id)
            if old is None or not old.is_terminal:
                continue  # purged, or running again (rewound): it comes back when it finishes
            # An episode still unwinding (its document write in flight) or a start or purge
            # holding the lock: evict it once that is over.
            lock = self._instance_locks.get(instance_id)
            if old.busy or (lock is not None and lock.locked()):
                later.append(instance_id)
                continue
            del self.instances[instance_id]
            self.finished.stored(instance_id, old.status, old.created)
        for instance_id in later:
            self.finished.keep(instance_id)

    async def load_history(self, instance: Instance) -> list[Event]:
        """The execution's history; a finished instance's is read from its log and not kept."""
        if instance.history_loaded:
            return instance.history
        history = _fold_log(await self.store.read_log(instance.log_name) or []).history
        if not instance.is_terminal:
            self._keep_history(instance, history)
        return history

    @staticmethod
    def _keep_history(instance: Instance, history: list[Event]) -> None:
        instance.history = history
        instance.history_json = [compact_json(e) for e in history]
        instance.played_upto = len(history)
        instance.history_loaded = True

    # -- starting --------------------------------------------------------------------------------

    async def start_orchestration(
        self,
        name: str,
        instance_id: str,
        input_text: str | None,
        *,
        version: str | None = None,
        parent: dict[str, Any] | None = None,
        allow_running_override: bool | None = None,
    ) -> Instance:
        """Create (or replace) an instance and queue its first episode."""
        function = self.index.orchestrator(name)
        assert function is not None
        override_running = (
            allow_running_override
            if allow_running_override is not None
            else self.settings.overridable_existing_instance_states.lower() == "anystate"
        )
        async with self._lock(instance_id):
            existing = await self.get_instance(instance_id)
            if existing is not None and not existing.is_terminal and not override_running:
                raise InstanceExistsError(
                    f"An Orchestration instance with the status {existing.status} already exists."
                )
            now = self.clock.now()
            execution_id = uuid.uuid4().hex
            instance = Instance(
                instance_id=instance_id,
                name=function.durable_name,
                version=version if version is not None else self.settings.default_version,
                execution_id=execution_id,
                input_text=input_text,
                parent=parent,
                created=now,
                last_updated=now,
                executions=[*(existing.executions if existing else []), execution_id],
            )
            self.finished.forget(instance_id)
            started = h.execution_started(
                now,
                name=instance.name,
                version=instance.version,
                input_text=input_text,
                instance_id=instance_id,
                execution_id=execution_id,
                parent=parent,
            )
            # One write makes the start durable: the document carries the start event until the
            # first episode creates the execution's log.
            instance.pending_start = started
            instance.inbox.append((0, started))
            instance.next_message_id = 1
            await self._save_document(instance, force=True)
            self.instances[instance_id] = instance
        self._schedule_episode(instance)
        return instance

    # -- messages -------------------------------------------------------------------------------

    async def deliver(
        self, instance_id: str, execution_id: str | None, event: Event, *, durable: bool = True
    ) -> bool:
        """Accept a message for an instance; False when the target is gone or finished.

        Messages from outside (events, terminate, suspend, resume) are `durable`: appended to the
        log before the caller is answered. Results of the host's own work (activity results, timer
        firings, child and entity replies) become durable with the episode that consumes them: a
        crash before that re-runs the work on recovery (at-least-once), so they need no write of
        their own.
        """
        instance = await self.get_instance(instance_id)
        if instance is None or instance.is_terminal:
            return False
        if execution_id is not None and execution_id != instance.execution_id:
            return False
        message_id = instance.next_message_id
        instance.next_message_id += 1
        if durable:
            await self._ensure_log(instance)
            await self.store.append(instance.log_name, [_message_record(message_id, event)])
            if instance.execution_id != (execution_id or instance.execution_id) or instance.is_terminal:
                return False
        instance.inbox.append((message_id, event))
        self._schedule_episode(instance)
        return True

    async def _ensure_log(self, instance: Instance) -> None:
        """Create the execution's log blob on first use (a start writes only the document)."""
        if instance.log_created:
            return
        async with self._lock(f"log:{instance.log_name}"):
            if not instance.log_created:
                await self.store.create_log(instance.log_name, [])
                instance.log_created = True

    async def raise_event(self, instance: Instance, name: str, input_text: str | None) -> None:
        await self.deliver(
            instance.instance_id, instance.execution_id, h.event_raised(self.clock.now(), name, input_text)
        )

    async def terminate(self, instance: Instance, reason: str | None) -> None:
        await self.deliver(
            instance.instance_id, instance.execution_id, h.execution_terminated(self.clock.now(), reason)
        )

    async def suspend(self, instance: Instance, reason: str | None) -> None:
        if instance.status == RuntimeStatus.SUSPENDED or self._pending_control(instance) == "suspend":
            raise InvalidOperationError(
                f"Cannot suspend the orchestration instance {instance.instance_id} because instance is in "
                f"the {RuntimeStatus.SUSPENDED} state."
            )
        await self.deliver(
            instance.instance_id, instance.execution_id, h.execution_suspended(self.clock.now(), reason)
        )

    async def resume(self, instance: Instance, reason: str | None) -> None:
        if instance.status != RuntimeStatus.SUSPENDED and self._pending_control(instance) != "suspend":
            raise InvalidOperationError(
                f"Cannot resume the orchestration instance {instance.instance_id} because instance is in "
                f"the {instance.status} state."
            )
        await self.deliver(
            instance.instance_id, instance.execution_id, h.execution_resumed(self.clock.now(), reason)
        )

    @staticmethod
    def _pending_control(instance: Instance) -> str | None:
        """The last suspend/resume still waiting in the inbox, so back-to-back calls see it."""
        for _, event in reversed(instance.inbox):
            if event["EventType"] == EventType.EXECUTION_SUSPENDED:
                return "suspend"
            if event["EventType"] == EventType.EXECUTION_RESUMED:
                return "resume"
        return None

    # -- episodes -------------------------------------------------------------------------------

    def _schedule_episode(self, instance: Instance) -> None:
        if instance.busy or not instance.inbox:
            return
        instance.busy = True
        self.spawn(self._episode_loop(instance))

    async def _episode_loop(self, instance: Instance) -> None:
        try:
            while instance.inbox and self.instances.get(instance.instance_id) is instance:
                progressed = await self._run_episode(instance)
                if not progressed:
                    break
        finally:
            instance.busy = False
            if instance.is_terminal:
                self._evict_finished()

    async def _run_episode(self, instance: Instance) -> bool:
        """Process the inbox once; returns False when everything left must wait (suspension)."""
        await self.load_history(instance)
        pending = list(instance.inbox)
        terminate = next((m for m in pending if m[1]["EventType"] == EventType.EXECUTION_TERMINATED), None)
        if terminate is not None:
            await self._terminate_now(instance, pending, terminate[1])
            return True
        controls = {EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED}
        if instance.status == RuntimeStatus.SUSPENDED:
            resume_at = next(
                (i for i, m in enumerate(pending) if m[1]["EventType"] == EventType.EXECUTION_RESUMED), None
            )
            if resume_at is None:
                return False
            resumed = pending[resume_at]
            consumed = pending
            held = [m for m in pending if m[1]["EventType"] not in controls]
            suspend_again = next(
                (m for m in pending[resume_at + 1 :] if m[1]["EventType"] == EventType.EXECUTION_SUSPENDED),
                None,
            )
            if suspend_again is not None:
                consumed = pending[: pending.index(suspend_again)]
                held = [m for m in consumed if m[1]["EventType"] not in controls]
            await self._orchestrate(instance, consumed, [resumed[1], *(m[1] for m in held)])
            return True
        suspend_at = next(
            (i for i, m in enumerate(pending) if m[1]["EventType"] == EventType.EXECUTION_SUSPENDED), None
        )
        if suspend_at is not None:
            before = pending[:suspend_at]
            deliverable = [m for m in before if m[1]["EventType"] not in controls]
            if deliverable:
                await self._orchestrate(instance, before, [m[1] for m in deliverable])
                if instance.is_terminal:
                    return True
            await self._record_suspension(instance, pending[suspend_at])
            return True
        deliverable = [m for m in pending if m[1]["EventType"] not in controls]
        await self._orchestrate(instance, pending, [m[1] for m in deliverable])
        return True

    def _episode_start_time(self, instance: Instance) -> datetime:
        now = self.clock.now()
        if instance.history:
            last = h.parse_time(instance.history[-1]["Timestamp"])
            if last > now:
                return last
        return now

    async def _record_suspension(self, instance: Instance, message: tuple[int, Event]) -> None:
        now = self._episode_start_time(instance)
        events = [h.orchestrator_started(now), message[1], h.orchestrator_completed(now)]
        await self._commit(instance, [message], events, RuntimeStatus.SUSPENDED)

    async def _terminate_now(
        self, instance: Instance, pending: list[tuple[int, Event]], message: Event
    ) -> None:
        now = self._episode_start_time(instance)
        reason = message.get("Input")
        events = [
            h.orchestrator_started(now),
            message,
            h.execution_completed(now, -1, RuntimeStatus.TERMINATED, reason),
            h.orchestrator_completed(now),
        ]
        instance.output_text = reason
        await self._commit(instance, pending, events, RuntimeStatus.TERMINATED)
        await self._notify_parent(instance)

    async def _orchestrate(
        self, instance: Instance, consumed: list[tuple[int, Event]], new_messages: list[Event]
    ) -> None:
        """One episode: replay through the SDK, append the outcome, then start the new work."""
        function = self.index.orchestrator(instance.name)
        now = self._episode_start_time(instance)
        new_events: list[Event] = [h.orchestrator_started(now), *new_messages]
        if function is None or function.disabled:
            problem = "disabled" if function is not None else "not registered"
            await self._fail(instance, consumed, new_events, f"The orchestrator function is {problem}.", None)
            return
        payload = self._trigger_payload(instance, new_events)
        outcome = await self.invoker.orchestrator(function, payload)
        if self.trace is not None:
            self.trace.setdefault(instance.instance_id, []).append(
                {"payload": json.loads(payload), "response": outcome.state, "error": outcome.error}
            )
        if outcome.state is None:
            await self._fail(instance, consumed, new_events, outcome.error or "unknown error", None)
            return
        state = outcome.state
        custom_status = state.get("customStatus")
        custom_status_text = compact_json(custom_status) if custom_status is not None else None
        if custom_status_text is not None and len(custom_status_text.encode("utf-16-le")) // 1024 > (
            CUSTOM_STATUS_LIMIT_KB
        ):
            await self._fail(
                instance,
                consumed,
                new_events,
                "The UTF-16 size of the JSON-serialized payload must not exceed 16 KB. The current payload "
                f"size is {len(custom_status_text.encode('utf-16-le')) // 1024} KB.",
                None,
            )
            return
        if custom_status_text is not None:
            instance.staged_custom_status = custom_status_text
        if state.get("error"):
            await self._fail(instance, consumed, new_events, str(state["error"]), None)
            return
        actions_outer = state.get("actions") or [[]]
        if not isinstance(actions_outer, list) or len(actions_outer) > 1:
            await self._fail(
                instance, consumed, new_events, "Unsupported replay schema (V1) in response.", None
            )
            return
        actions: list[dict[str, Any]] = actions_outer[0] if actions_outer else []
        try:
            decisions = ActionReplay(actions, [*instance.history, *new_events]).run()
        except (NonDeterminismError, UnsupportedActionError) as error:
            await self._fail(instance, consumed, new_events, str(error), None)
            return
        decisions.sort(key=lambda decision: decision.event_id)
        scheduled = [self._scheduling_event(instance, decision, now) for decision in decisions]
        new_events.extend(scheduled)
        continue_as_new = next((a for a in actions if a.get("actionType") == 4), None)
        status = RuntimeStatus.RUNNING
        if state.get("isDone"):
            if continue_as_new is not None:
                await self._commit(instance, consumed, new_events, RuntimeStatus.RUNNING)
                self._dispatch(instance, scheduled)
                await self._continue_as_new(instance, continue_as_new)
                return
            output = state.get("output")
            result_text = compact_json(output) if output is not None else None
            new_events.append(h.execution_completed(now, -1, RuntimeStatus.COMPLETED, result_text))
            instance.output_text = result_text
            status = RuntimeStatus.COMPLETED
        new_events.append(h.orchestrator_completed(now))
        # Activities and timers start while the episode is being written: if the write never lands,
        # recovery schedules them again, which is the at-least-once contract activities have anyway.
        # Children and entity messages wait for the write: their identities must be the recorded ones.
        early = [e for e in scheduled if e["EventType"] in _START_BEFORE_COMMIT]
        self._dispatch(instance, early)
        await self._commit(instance, consumed, new_events, status)
        self._dispatch(instance, [e for e in scheduled if e["EventType"] not in _START_BEFORE_COMMIT])
        if status == RuntimeStatus.COMPLETED:
            await self._notify_parent(instance)

    def _trigger_payload(self, instance: Instance, new_events: list[Event]) -> str:
        """The orchestration trigger JSON (spec §3.1), built from cached event JSON."""
        history_parts = list(instance.history_json)
        history_parts.extend(compact_json(event) for event in new_events)
        first_played = bool(instance.history)  # ExecutionStarted was consumed in an earlier episode
        parent_id = (
            instance.parent.get("OrchestrationInstance", {}).get("InstanceId") if instance.parent else None
        )
        input_token = instance.input_text if instance.input_text is not None else "null"
        return (
            '{"history":['
            + ",".join(history_parts)
            + '],"input":'
            + input_token
            + ',"instanceId":'
            + compact_json(instance.instance_id)
            + ',"isReplaying":'
            + ("true" if first_played else "false")
            + ',"parentInstanceId":'
            + compact_json(parent_id)
            + ","
            + _TRIGGER_CONSTANTS
            + "}"
        )

    async def _fail(
        self,
        instance: Instance,
        consumed: list[tuple[int, Event]],
        new_events: list[Event],
        error: str,
        details: str | None,
    ) -> None:
        now = h.parse_time(new_events[0]["Timestamp"])
        message = f"Orchestrator function '{instance.name}' failed: {error}"
        new_events.append(h.execution_completed(now, -1, RuntimeStatus.FAILED, message))
        new_events.append(h.orchestrator_completed(now))
        instance.output_text = message
        instance.failure_details = details or f"Message: {error}, StackTrace: "
        await self._commit(instance, consumed, new_events, RuntimeStatus.FAILED)
        await self._notify_parent(instance)

    async def _commit(
        self,
        instance: Instance,
        consumed: list[tuple[int, Event]],
        new_events: list[Event],
        status: str,
    ) -> None:
        """Append the episode to the log, then apply it in memory (and to the document if it changed)."""
        record: Record = {"t": "ep", "consumed": [m[0] for m in consumed], "events": new_events}
        custom_status = (
            instance.staged_custom_status
            if instance.staged_custom_status is not None
            else instance.custom_status_text
        )
        instance.staged_custom_status = None
        # Custom status and failure details live outside history: the episode record carries them
        # so recovery restores what the episode set, even if the document write never happened.
        if custom_status != instance.logged_custom_status:
            record["customStatus"] = custom_status
        if status == RuntimeStatus.FAILED and instance.failure_details:
            record["failureDetails"] = instance.failure_details
        await self._ensure_log(instance)
        await self.store.append(instance.log_name, [record])
        # Status and history change together (no await between): a reader sees both or neither.
        instance.custom_status_text = custom_status
        instance.logged_custom_status = custom_status
        instance.pending_start = None
        consumed_ids = {m[0] for m in consumed}
        instance.inbox = [m for m in instance.inbox if m[0] not in consumed_ids]
        instance.history.extend(new_events)
        instance.history_json.extend(compact_json(event) for event in new_events)
        _mark_played(instance)
        instance.status = status
        instance.last_updated = max(h.parse_time(new_events[-1]["Timestamp"]), self.clock.now())
        await self._save_document(instance)
        if instance.is_terminal:
            instance.inbox.clear()
            self._release(instance)

    def _release(self, instance: Instance) -> None:
        """A finished instance keeps its document in memory for a while, never its history."""
        instance.history, instance.history_json = [], []
        instance.played_upto = 0
        instance.history_loaded = False
        self.store.forget(instance.log_name, self.store.instance_name(instance.instance_id))
        for key in (instance.instance_id, f"log:{instance.log_name}"):
            lock = self._instance_locks.get(key)
            if lock is not None and not lock.locked():
                del self._instance_locks[key]
        self._finished_in_memory(instance)

    async def _save_document(self, instance: Instance, *, force: bool = False) -> None:
        """Write the instance document when what queries and recovery need from it changed.

        lastUpdatedTime alone is not worth a write: recovery takes it from the log's last event.
        """
        # Pending, Running and ContinuedAsNew look alike on disk: recovery tells them apart from the log.
        active = instance.status in (
            RuntimeStatus.PENDING,
            RuntimeStatus.RUNNING,
            RuntimeStatus.CONTINUED_AS_NEW,
        )
        signature = (
            "active" if active else instance.status,
            instance.execution_id,
            instance.custom_status_text,
            instance.output_text,
        )
        if force or signature != instance.saved_signature:
            await self.store.write_instance(instance.instance_id, instance.document())
            instance.saved_signature = signature

    def _scheduling_event(self, instance: Instance, decision: Decision, now: datetime) -> Event:
        """The history event that records a new decision (spec §5.5)."""
        action = decision.action
        if decision.kind == "timer":
            assert decision.fire_at is not None
            return h.timer_created(now, decision.event_id, decision.fire_at)
        if decision.kind == "activity":
            name = str(action.get("functionName"))
            return h.task_scheduled(now, decision.event_id, name, action.get("input"))
        if decision.kind == "http":
            http_request = compact_json(action.get("httpRequest") or {})
            return h.task_scheduled(now, decision.event_id, HTTP_ACTIVITY_NAME, http_request)
        if decision.kind == "sub_orchestration":
            requested = action.get("instanceId")
            child_id = (
                str(requested)
                if requested and str(requested).strip()
                else f"{instance.execution_id}:{decision.event_id}"
            )
            version = action.get("version")
            child_input = action.get("input")
            return h.sub_orchestration_created(
                now,
                decision.event_id,
                str(action.get("functionName")),
                version if version is not None else self.settings.default_version,
                child_id,
                compact_json(child_input) if child_input is not None else None,
            )
        # Entity call or signal: the request message the entity receives (spec §9.4).
        input_text = action.get("input")
        request: dict[str, Any] = {"op": action.get("operation")}
        if decision.kind == "entity_signal":
            request["signal"] = True
        request.update(
            {
                "input": compact_json(input_text) if input_text is not None else None,
                "id": str(uuid.uuid4()),
                "parent": instance.instance_id,
                "parentExecution": instance.execution_id,
                "Timestamp": h.format_history_time(now),
                "Predecessor": "0001-01-01T00:00:00",
            }
        )
        return h.event_sent(
            now, decision.event_id, str(action.get("instanceId")), "op", compact_json(request)
        )

    # -- dispatching new work ---------------------------------------------------------------

    def _dispatch(self, instance: Instance, scheduled: list[Event]) -> None:
        for event in scheduled:
            self._start_work(instance, event)

    def _start_work(self, instance: Instance, event: Event) -> None:
        """Start what a scheduling event asks for (also used on recovery)."""
        event_type = event["EventType"]
        instance_id, execution_id, event_id = instance.instance_id, instance.execution_id, event["EventId"]
        if event_type == EventType.TIMER_CREATED:
            fire_at = str(event["FireAt"])

            async def fire() -> None:
                fired = h.timer_fired(self.clock.now(), event_id, fire_at)
                await self.deliver(instance_id, execution_id, fired, durable=False)

            self.timers.schedule(h.parse_time(fire_at), fire)
        elif event_type == EventType.TASK_SCHEDULED:
            self.spawn(self._run_activity(instance_id, execution_id, event))
        elif event_type == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
            self.spawn(self._start_child(instance, event))
        elif event_type == EventType.EVENT_SENT:
            self.spawn(self.entities.send_from_orchestration(event))

    async def _run_activity(self, instance_id: str, execution_id: str, event: Event) -> None:
        name = str(event.get("Name"))
        event_id = int(event["EventId"])
        input_text = json.loads(event["Input"])[0] if event.get("Input") else None
        async with self._activity_slots:
            self.activities_running += 1
            try:
                if name == HTTP_ACTIVITY_NAME:
                    completion = await self._run_http_activity(event_id, input_text)
                else:
                    completion = await self._invoke_activity(name, event_id, input_text)
            finally:
                self.activities_running -= 1
        await self.deliver(instance_id, execution_id, completion, durable=False)

    async def _invoke_activity(self, name: str, event_id: int, input_text: str | None) -> Event:
        function = self.index.activity(name)
        if function is None or function.disabled:
            state = (
                "is disabled"
                if function is not None
                else "doesn't exist, is disabled, or is not an activity function"
            )
            message = f" FunctionInvocationException: The function '{name}' {state}."
            return h.task_failed(
                self.clock.now(),
                event_id,
                f"Activity function '{name}' failed: {message}",
                h.activity_failure_details(message),
            )
        runs = 2 if self.deliver_activities_twice else 1
        completion: Event | None = None
        for _ in range(runs):
            self.activity_runs += 1
            completion = await self._invoke_activity_once(function, event_id, input_text)
        assert completion is not None
        return completion

    async def _invoke_activity_once(
        self, function: FunctionInfo, event_id: int, input_text: str | None
    ) -> Event:
        try:
            client = self.client_binding() if self.client_binding and function.client_binding_name else None
            result = await self.invoker.activity(function, input_text, client)
        except Exception as error:
            # A UserFunctionError carries the user's exception type from the worker process.
            type_name = error.type_name if isinstance(error, UserFunctionError) else type(error).__name__
            message = f" {type_name}: {error}"
            details = error.traceback_text if isinstance(error, UserFunctionError) else ""
            log.info("activity %s failed: %s", function.durable_name, details or traceback.format_exc())
            return h.task_failed(
                self.clock.now(),
                event_id,
                f"Activity function '{function.durable_name}' failed: {message}",
                h.activity_failure_details(message),
            )
        return h.task_completed(self.clock.now(), event_id, result)

    async def _run_http_activity(self, event_id: int, request_text: str | None) -> Event:
        request = json.loads(request_text) if request_text else {}
        if self._http_session is None:
            self._http_session = aiohttp.ClientSession()
        try:
            headers = request.get("headers") or {}
            async with self._http_session.request(
                str(request.get("method") or "GET"),
                str(request.get("uri")),
                data=request.get("content"),
                headers={k: (v if isinstance(v, str) else ",".join(v)) for k, v in headers.items()},
            ) as response:
                content = await response.text()
                result = {
                    "statusCode": response.status,
                    "headers": {k: v for k, v in response.headers.items()},
                    "content": content,
                }
        except (aiohttp.ClientError, OSError, ValueError) as error:
            message = f" {type(error).__name__}: {error}"
            return h.task_failed(
                self.clock.now(),
                event_id,
                f"Activity function '{HTTP_ACTIVITY_NAME}' failed: {message}",
                h.activity_failure_details(message),
            )
        return h.task_completed(self.clock.now(), event_id, compact_json(result))

    # -- sub-orchestrations -------------------------------------------------------------------

    async def _start_child(self, parent: Instance, event: Event) -> None:
        child_id = str(event["InstanceId"])
        name = str(event["Name"])
        event_id = int(event["EventId"])
        parent_info = {
            "Name": parent.name,
            "Version": parent.version,
            "OrchestrationInstance": {"InstanceId": parent.instance_id, "ExecutionId": parent.execution_id},
            "TaskScheduleId": event_id,
        }
        problem = None
        if self.index.orchestrator(name) is None:
            problem = f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
        elif child_id == parent.instance_id or child_id.startswith("@"):
            problem = f"The instance id '{child_id}' cannot be used for a sub-orchestration."
        if problem is not None:
            failure = h.sub_orchestration_failed(self.clock.now(), event_id, problem, f"Message: {problem}")
            await self.deliver(parent.instance_id, parent.execution_id, failure, durable=False)
            return
        existing = await self.get_instance(child_id)
        if existing is not None and existing.parent == parent_info:
            if existing.is_terminal:
                await self._notify_parent(existing)
            return  # already created before a restart
        try:
            await self.start_orchestration(
                name,
                child_id,
                event.get("Input"),
                version=str(event.get("Version") or ""),
                parent=parent_info,
                allow_running_override=False,
            )
        except InstanceExistsError as error:
            failure = h.sub_orchestration_failed(self.clock.now(), event_id, str(error), f"Message: {error}")
            await self.deliver(parent.instance_id, parent.execution_id, failure, durable=False)

    async def _notify_parent(self, child: Instance) -> None:
        if not child.parent:
            return
        parent_ref = child.parent["OrchestrationInstance"]
        task_id = int(child.parent["TaskScheduleId"])
        now = self.clock.now()
        if child.status == RuntimeStatus.COMPLETED:
            event = h.sub_orchestration_completed(now, task_id, child.output_text)
        else:
            reason = child.output_text or f"Sub-orchestration '{child.instance_id}' {child.status.lower()}"
            event = h.sub_orchestration_failed(now, task_id, reason, child.failure_details)
        await self.deliver(parent_ref["InstanceId"], parent_ref["ExecutionId"], event, durable=False)

    # -- continue-as-new --------------------------------------------------------------------

    async def _continue_as_new(self, instance: Instance, action: dict[str, Any]) -> None:
        now = self.clock.now()
        input_action_text = action.get("input")
        new_input = compact_json(input_action_text) if input_action_text is not None else None
        execution_id = uuid.uuid4().hex
        generation = len(instance.executions)
        started = h.execution_started(
            now,
            name=instance.name,
            version=instance.version,
            input_text=new_input,
            instance_id=instance.instance_id,
            execution_id=execution_id,
            parent=instance.parent,
            generation=generation,
        )
        await self.store.append(
            instance.log_name, [{"t": "continued", "executionId": execution_id, "event": started}]
        )
        await self._begin_execution(instance, execution_id, new_input, started)

    async def _begin_execution(
        self, instance: Instance, execution_id: str, input_text: str | None, started: Event
    ) -> None:
        instance.execution_id = execution_id
        instance.executions.append(execution_id)
        instance.input_text = input_text
        instance.history = []
        instance.history_json = []
        instance.played_upto = 0
        instance.inbox = []
        instance.output_text = None
        instance.log_created = False
        instance.pending_start = started
        instance.inbox.append((0, started))
        instance.next_message_id = 1
        instance.status = RuntimeStatus.RUNNING
        instance.last_updated = self.clock.now()
        await self._save_document(instance, force=True)

    # -- management operations ---------------------------------------------------------------

    async def purge(self, instance: Instance) -> None:
        async with self._lock(instance.instance_id):
            await self.store.delete_instance(instance.instance_id, instance.executions)
            self.instances.pop(instance.instance_id, None)
            self.finished.forget(instance.instance_id)

    async def rewind(self, instance: Instance, reason: str | None) -> None:
        """Legacy rewind (spec §8.6): failed tasks replay as unscheduled and run again."""
        self._keep_history(instance, await self.load_history(instance))
        failed_ids: set[int] = set()
        rewritten: list[int] = []
        children: list[str] = []
        for position, event in enumerate(instance.history):
            if event["EventType"] in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
                failed_ids.add(int(event["TaskScheduledId"]))
                rewritten.append(position)
            elif event["EventType"] == EventType.EXECUTION_COMPLETED:
                rewritten.append(position)
        for position, event in enumerate(instance.history):
            if event["EventType"] == EventType.TASK_SCHEDULED and event["EventId"] in failed_ids:
                rewritten.append(position)
            if (
                event["EventType"] == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED
                and event["EventId"] in failed_ids
            ):
                children.append(str(event["InstanceId"]))
                rewritten.append(position)
        for child_id in children:
            child = await self.get_instance(child_id)
            if child is not None and child.status == RuntimeStatus.FAILED:
                await self.rewind(child, reason)
        now = self.clock.now()
        record: Record = {"t": "rewind", "positions": sorted(set(rewritten)), "reason": reason}
        await self.store.append(instance.log_name, [record])
        _apply_rewind(instance.history, record)
        instance.history_json = [compact_json(e) for e in instance.history]
        instance.status = RuntimeStatus.RUNNING
        instance.output_text = None
        instance.failure_details = None
        instance.last_updated = now
        await self._save_document(instance, force=True)
        # A new episode re-dispatches the rewound tasks; rewound children report back when done.
        message_id = instance.next_message_id
        instance.next_message_id += 1
        wake = h.generic_event(now, reason)
        await self.store.append(instance.log_name, [_message_record(message_id, wake)])
        instance.inbox.append((message_id, wake))
        self._schedule_episode(instance)

    # -- recovery -----------------------------------------------------------------------------

    async def _recover_instance(self, instance_id: str) -> None:
        document = await self.store.read_instance(instance_id)
        if document is None:
            return
        instance = Instance.from_document(document)
        while True:
            stored = await self.store.read_log(instance.log_name)
            instance.log_created = stored is not None
            records = stored or []
            folded = _fold_log(records)
            history, inbox = folded.history, folded.inbox
            if not history and instance.pending_start is not None and all(m[0] != 0 for m in inbox):
                # Started, but the first episode never reached the log before the crash.
                inbox = [(0, instance.pending_start), *inbox]
            if folded.continued is None:
                break
            # Crashed during continue-as-new: carry on in the new execution.
            next_execution = str(folded.continued["executionId"])
            if next_execution in instance.executions and next_execution != instance.execution_id:
                instance.execution_id = next_execution
                continue
            instance.history, instance.inbox = history, inbox
            started = folded.continued["event"]
            await self._begin_execution(instance, next_execution, started.get("Input"), started)
            self.instances[instance_id] = instance
            return
        instance.history = history
        instance.history_json = [compact_json(e) for e in history]
        instance.played_upto = len(history)
        instance.inbox = inbox
        instance.history_loaded = True
        if folded.custom_status_logged:
            instance.custom_status_text = folded.custom_status
        instance.logged_custom_status = instance.custom_status_text
        if folded.failure_details:
            instance.failure_details = folded.failure_details
        if history:
            instance.last_updated = max(instance.last_updated, h.parse_time(history[-1]["Timestamp"]))
        instance.next_message_id = 1 + max([m[0] for m in inbox] + _consumed_ids(records), default=-1)
        completed = next((e for e in history if e["EventType"] == EventType.EXECUTION_COMPLETED), None)
        if completed is not None:
            instance.status = RuntimeStatus.NAMES.get(int(completed["OrchestrationStatus"]), instance.status)
            instance.output_text = completed.get("Result")
            instance.inbox = []
        elif history:
            suspended = RuntimeStatus.RUNNING
            for event in history:
                if event["EventType"] == EventType.EXECUTION_SUSPENDED:
                    suspended = RuntimeStatus.SUSPENDED
                elif event["EventType"] == EventType.EXECUTION_RESUMED:
                    suspended = RuntimeStatus.RUNNING
            instance.status = suspended
        await self._save_document(instance, force=True)
        self.instances[instance_id] = instance
        if instance.is_terminal:
            await self._notify_parent(instance)

    def _resume_outstanding_work(self, instance: Instance) -> None:
        """Restart scheduled work with no completion in history or inbox (at-least-once)."""
        if instance.is_terminal:
            return
        done_tasks: set[int] = set()
        done_timers: set[int] = set()
        events = [*instance.history, *(m[1] for m in instance.inbox)]
        for event in events:
            event_type = event["EventType"]
            if event_type in (
                EventType.TASK_COMPLETED,
                EventType.TASK_FAILED,
                EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
                EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
            ):
                done_tasks.add(int(event["TaskScheduledId"]))
            elif event_type == EventType.TIMER_FIRED:
                done_timers.add(int(event["TimerId"]))
        for event in instance.history:
            event_type = event["EventType"]
            if event_type == EventType.TIMER_CREATED and event["EventId"] not in done_timers:
                self._start_work(instance, event)
            elif event_type in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED):
                if event["EventId"] not in done_tasks:
                    self._start_work(instance, event)
            elif event_type == EventType.EVENT_SENT:
                self.spawn(self.entities.resend_if_unanswered(instance, event))


_START_BEFORE_COMMIT = {EventType.TASK_SCHEDULED, EventType.TIMER_CREATED}
_SCHEDULING_TYPES = {
    EventType.TASK_SCHEDULED,
    EventType.TIMER_CREATED,
    EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    EventType.EVENT_SENT,
}


def _message_record(message_id: int, event: Event) -> Record:
    return {"t": "msg", "id": message_id, "event": event}


def _mark_played(instance: Instance) -> None:
    """Message events consumed in earlier episodes are replayed with IsPlayed true (spec §3.6)."""
    history, texts = instance.history, instance.history_json
    for position in range(instance.played_upto, len(history)):
        event = history[position]
        if not event["IsPlayed"] and event["EventType"] in h.MESSAGE_EVENT_TYPES:
            event["IsPlayed"] = True
            texts[position] = compact_json(event)
    instance.played_upto = len(history)


def _consumed_ids(records: list[Record]) -> list[int]:
    return [int(i) for r in records if r.get("t") == "ep" for i in r.get("consumed", [])]


def _apply_rewind(history: list[Event], record: Record) -> None:
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


@dataclass
class FoldedLog:
    """What an execution's log says: history, unconsumed messages, and what lives beside history."""

    history: list[Event]
    inbox: list[tuple[int, Event]]
    continued: Record | None = None
    custom_status: str | None = None
    custom_status_logged: bool = False
    failure_details: str | None = None


def _fold_log(records: list[Record]) -> FoldedLog:
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
            _apply_rewind(folded.history, record)
            folded.failure_details = None
        elif kind == "continued":
            folded.continued = record
    for event in folded.history:
        if event["EventType"] in h.MESSAGE_EVENT_TYPES:
            event["IsPlayed"] = True
    folded.inbox = sorted(((i, e) for i, e in messages.items() if i not in consumed), key=lambda m: m[0])
    return folded


__all__ = [
    "Engine",
    "InstanceExistsError",
    "InvalidOperationError",
    "entity_scheduler_id",
    "parse_entity_id",
]
