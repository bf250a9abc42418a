"""Episodes: drain an instance's inbox through one SDK replay and commit the outcome.

An episode drains the whole inbox at once (one SDK replay per batch, never one per completion),
turns each new decision into its scheduling event (devhost.decisions), appends the episode to the
execution's log in one call, and only then starts the work that needs the recorded identities.
Terminate, suspend and resume are handled here too, since they decide what an episode may consume.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from devhost import history as h
from devhost.blob_names import Record
from devhost.decisions import EpisodeContext, scheduling_event
from devhost.history import Event, compact_json
from devhost.host_services import HostServices
from devhost.instance import Instance, Message, mark_played
from devhost.shim import ActionReplay, NonDeterminismError, UnsupportedActionError
from devhost.sub_orchestrations import SubOrchestrations
from durable_wire import EventType, RuntimeStatus

CUSTOM_STATUS_LIMIT_KB = 16
_TRIGGER_CONSTANTS = (
    '"upperSchemaVersion":1,"upperSchemaVersionNew":2,'
    '"longRunningTimerIntervalDuration":"3.00:00:00","maximumShortTimerDuration":"6.00:00:00",'
    '"defaultHttpAsyncRequestSleepTimeMillseconds":30000'
)
_CONTINUE_AS_NEW = 4  # actionType (spec §4.4)
# Activities and timers start while the episode is being written: if the write never lands,
# recovery schedules them again, which is the at-least-once contract activities have anyway.
# Children and entity messages wait for the write: their identities must be the recorded ones.
_START_BEFORE_COMMIT = {EventType.TASK_SCHEDULED, EventType.TIMER_CREATED}
_CONTROLS = {EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED}


def trigger_payload(instance: Instance, new_events: list[Event]) -> str:
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


class EpisodeRunner:
    """Runs one instance's episodes, one at a time, for as long as its inbox has deliverable work."""

    def __init__(self, host: HostServices, *, children: SubOrchestrations, default_version: str) -> None:
        self._host = host
        self._children = children
        self._default_version = default_version
        # Opt-in wire trace (devhost --trace-payloads): every trigger payload and SDK answer per instance.
        self.trace: dict[str, list[dict[str, Any]]] | None = None

    def schedule(self, instance: Instance) -> None:
        """Start the instance's episode loop unless one runs or there is nothing to do."""
        if instance.busy or not instance.inbox:
            return
        instance.busy = True
        self._host.spawn(self._loop(instance))

    async def _loop(self, instance: Instance) -> None:
        try:
            while instance.inbox and self._host.records.instances.get(instance.instance_id) is instance:
                progressed = await self._run_episode(instance)
                if not progressed:
                    break
        finally:
            instance.busy = False
            if instance.is_terminal:
                self._host.records.evict_finished()

    async def _run_episode(self, instance: Instance) -> bool:
        """Process the inbox once; returns False when everything left must wait (suspension)."""
        await self._host.records.load_history(instance)
        pending = list(instance.inbox)
        terminate = next((m for m in pending if m[1]["EventType"] == EventType.EXECUTION_TERMINATED), None)
        if terminate is not None:
            await self._terminate_now(instance, pending, terminate[1])
            return True
        if instance.status == RuntimeStatus.SUSPENDED:
            resume_at = next(
                (i for i, m in enumerate(pending) if m[1]["EventType"] == EventType.EXECUTION_RESUMED), None
            )
            if resume_at is None:
                return False
            resumed = pending[resume_at]
            consumed = pending
            held = [m for m in pending if m[1]["EventType"] not in _CONTROLS]
            suspend_again = next(
                (m for m in pending[resume_at + 1 :] if m[1]["EventType"] == EventType.EXECUTION_SUSPENDED),
                None,
            )
            if suspend_again is not None:
                consumed = pending[: pending.index(suspend_again)]
                held = [m for m in consumed if m[1]["EventType"] not in _CONTROLS]
            await self._orchestrate(instance, consumed, [resumed[1], *(m[1] for m in held)])
            return True
        suspend_at = next(
            (i for i, m in enumerate(pending) if m[1]["EventType"] == EventType.EXECUTION_SUSPENDED), None
        )
        if suspend_at is not None:
            before = pending[:suspend_at]
            deliverable = [m for m in before if m[1]["EventType"] not in _CONTROLS]
            if deliverable:
                await self._orchestrate(instance, before, [m[1] for m in deliverable])
                if instance.is_terminal:
                    return True
            await self._record_suspension(instance, pending[suspend_at])
            return True
        deliverable = [m for m in pending if m[1]["EventType"] not in _CONTROLS]
        await self._orchestrate(instance, pending, [m[1] for m in deliverable])
        return True

    def _episode_start_time(self, instance: Instance) -> datetime:
        now = self._host.clock.now()
        if instance.history:
            last = h.parse_time(instance.history[-1]["Timestamp"])
            if last > now:
                return last
        return now

    async def _record_suspension(self, instance: Instance, message: Message) -> None:
        now = self._episode_start_time(instance)
        events = [h.orchestrator_started(now), message[1], h.orchestrator_completed(now)]
        await self._commit(instance, [message], events, RuntimeStatus.SUSPENDED)

    async def _terminate_now(self, instance: Instance, pending: list[Message], message: Event) -> None:
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
        await self._children.notify_parent(instance)

    async def _orchestrate(
        self, instance: Instance, consumed: list[Message], new_messages: list[Event]
    ) -> None:
        """One episode: replay through the SDK, append the outcome, then start the new work."""
        function = self._host.index.orchestrator(instance.name)
        now = self._episode_start_time(instance)
        new_events: list[Event] = [h.orchestrator_started(now), *new_messages]
        if function is None or function.disabled:
            problem = "disabled" if function is not None else "not registered"
            await self._fail(instance, consumed, new_events, f"The orchestrator function is {problem}.")
            return
        payload = trigger_payload(instance, new_events)
        outcome = await self._host.invoker.orchestrator(function, payload)
        if self.trace is not None:
            self.trace.setdefault(instance.instance_id, []).append(
                {"payload": json.loads(payload), "response": outcome.state, "error": outcome.error}
            )
        if outcome.state is None:
            await self._fail(instance, consumed, new_events, outcome.error or "unknown error")
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
            )
            return
        if custom_status_text is not None:
            instance.staged_custom_status = custom_status_text
        if state.get("error"):
            await self._fail(instance, consumed, new_events, str(state["error"]))
            return
        actions_outer = state.get("actions") or [[]]
        if not isinstance(actions_outer, list) or len(actions_outer) > 1:
            await self._fail(instance, consumed, new_events, "Unsupported replay schema (V1) in response.")
            return
        actions: list[dict[str, Any]] = actions_outer[0] if actions_outer else []
        try:
            decisions = ActionReplay(actions, [*instance.history, *new_events]).run()
        except (NonDeterminismError, UnsupportedActionError) as error:
            await self._fail(instance, consumed, new_events, str(error))
            return
        decisions.sort(key=lambda decision: decision.event_id)
        context = EpisodeContext(instance, now, self._default_version)
        scheduled = [scheduling_event(decision, context) for decision in decisions]
        new_events.extend(scheduled)
        continue_as_new = next((a for a in actions if a.get("actionType") == _CONTINUE_AS_NEW), None)
        status = RuntimeStatus.RUNNING
        if state.get("isDone"):
            if continue_as_new is not None:
                await self._commit(instance, consumed, new_events, RuntimeStatus.RUNNING)
                self._dispatch(instance, scheduled)
                await self._children.continue_as_new(instance, continue_as_new)
                return
            output = state.get("output")
            result_text = compact_json(output) if output is not None else None
            new_events.append(h.execution_completed(now, -1, RuntimeStatus.COMPLETED, result_text))
            instance.output_text = result_text
            status = RuntimeStatus.COMPLETED
        new_events.append(h.orchestrator_completed(now))
        self._dispatch(instance, [e for e in scheduled if e["EventType"] in _START_BEFORE_COMMIT])
        await self._commit(instance, consumed, new_events, status)
        self._dispatch(instance, [e for e in scheduled if e["EventType"] not in _START_BEFORE_COMMIT])
        if status == RuntimeStatus.COMPLETED:
            await self._children.notify_parent(instance)

    def _dispatch(self, instance: Instance, scheduled: list[Event]) -> None:
        for event in scheduled:
            self._host.start_work(instance, event)

    async def _fail(
        self, instance: Instance, consumed: list[Message], new_events: list[Event], error: str
    ) -> None:
        now = h.parse_time(new_events[0]["Timestamp"])
        message = f"Orchestrator function '{instance.name}' failed: {error}"
        new_events.append(h.execution_completed(now, -1, RuntimeStatus.FAILED, message))
        new_events.append(h.orchestrator_completed(now))
        instance.output_text = message
        instance.failure_details = f"Message: {error}, StackTrace: "
        await self._commit(instance, consumed, new_events, RuntimeStatus.FAILED)
        await self._children.notify_parent(instance)

    async def _commit(
        self, instance: Instance, consumed: list[Message], new_events: list[Event], status: str
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
        await self._host.records.ensure_log(instance)
        await self._host.store.append(instance.log_name, [record])
        # Status and history change together (no await between): a reader sees both or neither.
        instance.custom_status_text = custom_status
        instance.logged_custom_status = custom_status
        instance.pending_start = None
        consumed_ids = {m[0] for m in consumed}
        instance.inbox = [m for m in instance.inbox if m[0] not in consumed_ids]
        instance.history.extend(new_events)
        instance.history_json.extend(compact_json(event) for event in new_events)
        mark_played(instance)
        instance.status = status
        instance.last_updated = max(h.parse_time(new_events[-1]["Timestamp"]), self._host.clock.now())
        await self._host.records.save_document(instance)
        if instance.is_terminal:
            instance.inbox.clear()
            self._host.records.release(instance)
