"""The durable engine: a small facade that wires the host's components for one task hub.

Every message an instance accepts is first appended to the execution's log in storage (so a 202
means durable), then queued in its inbox; the components do the rest, each handed the one bundle of
shared collaborators (devhost.host_services) plus what is its own:

- devhost.instance      the instance record, and folding a log back into history and inbox (pure)
- devhost.records       instances in memory and in storage, documents, locks, lazily created logs
- devhost.episodes      one SDK replay per inbox batch, commit, then start the new work
- devhost.decisions     decision → scheduling event, one builder per kind of work
- devhost.activity_runner   activities and the built-in HTTP activity
- devhost.sub_orchestrations  children reporting to parents, and continue-as-new
- devhost.recovery      rebuilding unfinished instances after a crash, and rewind
- devhost.entities      durable entities
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from devhost import history as h
from devhost.activity_runner import ActivityRunner
from devhost.clock import Clock, TimerService
from devhost.config import HostSettings
from devhost.entities import EntityHost
from devhost.episodes import EpisodeRunner
from devhost.finished import InstanceSummary
from devhost.history import Event
from devhost.host_services import HostServices
from devhost.instance import (
    Instance,
    InstanceExistsError,
    InvalidOperationError,
    message_record,
    pending_control,
)
from devhost.loader import FunctionIndex
from devhost.records import InstanceRecords
from devhost.recovery import Recovery
from devhost.store import BlobStore
from devhost.sub_orchestrations import SubOrchestrations
from devhost.worker.pool import WorkerPool
from durable_wire import EventType, RuntimeStatus

log = logging.getLogger("devhost.engine")


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
        self.timers = TimerService(clock)
        self._background: set[asyncio.Task[Any]] = set()
        self.records = InstanceRecords(store, clock)
        self.instances = self.records.instances  # running ones, and the most recently finished
        self.finished = self.records.finished
        host = HostServices(
            index,
            store,
            clock,
            invoker,
            self.records,
            spawn=self.spawn,
            deliver_result=self._deliver_work_result,
            start_work=self._start_work,
        )
        self.activities = ActivityRunner(
            host, max_concurrent=settings.max_concurrent_activities, deliver_twice=deliver_activities_twice
        )
        self.entities = EntityHost(host, max_batch_size=settings.max_entity_batch_size)
        self.children = SubOrchestrations(host, start_orchestration=self.start_orchestration)
        self.episodes = EpisodeRunner(host, children=self.children, default_version=settings.default_version)
        self.recovery = Recovery(host, children=self.children, episodes=self.episodes, entities=self.entities)
        # What each scheduling event starts (also on recovery).
        self._starters: dict[int, Callable[[Instance, Event], None]] = {
            EventType.TIMER_CREATED: self._start_timer,
            EventType.TASK_SCHEDULED: lambda instance, event: self.spawn(
                self.activities.run(instance.instance_id, instance.execution_id, event)
            ),
            EventType.SUB_ORCHESTRATION_INSTANCE_CREATED: lambda instance, event: self.spawn(
                self.children.start_child(instance, event)
            ),
            EventType.EVENT_SENT: lambda _instance, event: self.spawn(
                self.entities.send_from_orchestration(event)
            ),
        }

    # -- what the server and the CLI read and set ------------------------------------------------

    @property
    def client_binding(self) -> Callable[[], str] | None:
        """The `durableClient` binding string for activities that take one (set by the server)."""
        return self.activities.client_binding

    @client_binding.setter
    def client_binding(self, binding: Callable[[], str] | None) -> None:
        self.activities.client_binding = binding

    @property
    def trace(self) -> dict[str, list[dict[str, Any]]] | None:
        """Opt-in wire trace (devhost --trace-payloads): trigger payloads and SDK answers per instance."""
        return self.episodes.trace

    @trace.setter
    def trace(self, trace: dict[str, list[dict[str, Any]]] | None) -> None:
        self.episodes.trace = trace

    @property
    def activity_runs(self) -> int:
        return self.activities.runs

    @property
    def activities_running(self) -> int:
        """Activities in flight now (the soak crashes the host in the middle of one)."""
        return self.activities.running

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
            await self.recovery.recover_instance(instance_id)
        await self.entities.recover()
        self.records.index_loaded = True
        for instance_id in unfinished:
            instance = self.instances.get(instance_id)
            if instance is not None:
                self.recovery.resume_outstanding_work(instance)
                self.episodes.schedule(instance)

    async def stop(self) -> None:
        await self.timers.stop()
        for task in list(self._background):
            task.cancel()
        await self.activities.close()

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

    # -- looking instances up -------------------------------------------------------------------

    async def get_instance(self, instance_id: str) -> Instance | None:
        """The instance (a finished one's document read back from storage if need be), or None."""
        return await self.records.get(instance_id)

    def instance_summaries(self) -> list[InstanceSummary]:
        """Id, status and creation time of every instance of the hub, for queries."""
        return self.records.summaries()

    async def load_history(self, instance: Instance) -> list[Event]:
        """The execution's history; a finished instance's is read from its log and not kept."""
        return await self.records.load_history(instance)

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
        async with self.records.lock(instance_id):
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
            await self.records.save_document(instance, force=True)
            self.instances[instance_id] = instance
        self.episodes.schedule(instance)
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
            await self.records.ensure_log(instance)
            await self.store.append(instance.log_name, [message_record(message_id, event)])
            if instance.execution_id != (execution_id or instance.execution_id) or instance.is_terminal:
                return False
        instance.inbox.append((message_id, event))
        self.episodes.schedule(instance)
        return True

    async def _deliver_work_result(self, instance_id: str, execution_id: str | None, event: Event) -> bool:
        return await self.deliver(instance_id, execution_id, event, durable=False)

    async def raise_event(self, instance: Instance, name: str, input_text: str | None) -> None:
        await self.deliver(
            instance.instance_id, instance.execution_id, h.event_raised(self.clock.now(), name, input_text)
        )

    async def terminate(self, instance: Instance, reason: str | None) -> None:
        await self.deliver(
            instance.instance_id, instance.execution_id, h.execution_terminated(self.clock.now(), reason)
        )

    async def suspend(self, instance: Instance, reason: str | None) -> None:
        if instance.status == RuntimeStatus.SUSPENDED or pending_control(instance.inbox) == "suspend":
            raise InvalidOperationError(
                f"Cannot suspend the orchestration instance {instance.instance_id} because instance is in "
                f"the {RuntimeStatus.SUSPENDED} state."
            )
        await self.deliver(
            instance.instance_id, instance.execution_id, h.execution_suspended(self.clock.now(), reason)
        )

    async def resume(self, instance: Instance, reason: str | None) -> None:
        if instance.status != RuntimeStatus.SUSPENDED and pending_control(instance.inbox) != "suspend":
            raise InvalidOperationError(
                f"Cannot resume the orchestration instance {instance.instance_id} because instance is in "
                f"the {instance.status} state."
            )
        await self.deliver(
            instance.instance_id, instance.execution_id, h.execution_resumed(self.clock.now(), reason)
        )

    # -- management operations ---------------------------------------------------------------

    async def purge(self, instance: Instance) -> None:
        await self.records.purge(instance)

    async def rewind(self, instance: Instance, reason: str | None) -> None:
        """Legacy rewind (spec §8.6): failed tasks replay as unscheduled and run again."""
        await self.recovery.rewind(instance, reason)

    # -- starting new work ----------------------------------------------------------------------

    def _start_work(self, instance: Instance, event: Event) -> None:
        """Start what a scheduling event asks for (from an episode, or on recovery)."""
        starter = self._starters.get(event["EventType"])
        if starter is not None:
            starter(instance, event)

    def _start_timer(self, instance: Instance, event: Event) -> None:
        instance_id, execution_id, event_id = instance.instance_id, instance.execution_id, event["EventId"]
        fire_at = str(event["FireAt"])

        async def fire() -> None:
            fired = h.timer_fired(self.clock.now(), event_id, fire_at)
            await self.deliver(instance_id, execution_id, fired, durable=False)

        self.timers.schedule(h.parse_time(fire_at), fire)


__all__ = ["Engine", "Instance", "InstanceExistsError", "InvalidOperationError"]
