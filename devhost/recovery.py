"""Recovery after a crash, and the legacy rewind: rebuilding instances from their logs.

Recovery rebuilds each unfinished instance from its log (devhost.instance.fold_log) and restarts
whatever was scheduled but never completed (at-least-once). Rewind rewrites failed tasks as
unscheduled and wakes the instance, whose next episode schedules them again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from devhost import history as h
from devhost.blob_names import Record
from devhost.clock import Clock
from devhost.history import Event, compact_json
from devhost.instance import (
    Instance,
    apply_rewind,
    consumed_ids,
    fold_log,
    message_record,
    outstanding_work,
    plan_rewind,
    status_from_history,
)
from devhost.records import InstanceRecords
from devhost.store import BlobStore
from durable_wire import EventType, RuntimeStatus

BeginExecution = Callable[[Instance, str, str | None, Event], Awaitable[None]]
InstanceStep = Callable[[Instance], Awaitable[None]]


class Recovery:
    """Brings instances back from storage, and rewinds failed ones."""

    def __init__(
        self,
        records: InstanceRecords,
        store: BlobStore,
        clock: Clock,
        *,
        begin_execution: BeginExecution,
        notify_parent: InstanceStep,
        schedule_episode: Callable[[Instance], None],
        start_work: Callable[[Instance, Event], None],
        resend_entity_request: Callable[[Instance, Event], None],
    ) -> None:
        self._records = records
        self._store = store
        self._clock = clock
        self._begin_execution = begin_execution
        self._notify_parent = notify_parent
        self._schedule_episode = schedule_episode
        self._start_work = start_work
        self._resend_entity_request = resend_entity_request

    async def recover_instance(self, instance_id: str) -> None:
        """Rebuild an instance from its document and its execution's log."""
        document = await self._store.read_instance(instance_id)
        if document is None:
            return
        instance = Instance.from_document(document)
        while True:
            stored = await self._store.read_log(instance.log_name)
            instance.log_created = stored is not None
            records = stored or []
            folded = fold_log(records)
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
            self._records.instances[instance_id] = instance
            return
        instance.keep_history(history)
        instance.inbox = inbox
        if folded.custom_status_logged:
            instance.custom_status_text = folded.custom_status
        instance.logged_custom_status = instance.custom_status_text
        if folded.failure_details:
            instance.failure_details = folded.failure_details
        if history:
            instance.last_updated = max(instance.last_updated, h.parse_time(history[-1]["Timestamp"]))
        instance.next_message_id = 1 + max([m[0] for m in inbox] + consumed_ids(records), default=-1)
        instance.status, completed = status_from_history(history, instance.status)
        if completed is not None:
            instance.output_text = completed.get("Result")
            instance.inbox = []
        await self._records.save_document(instance, force=True)
        self._records.instances[instance_id] = instance
        if instance.is_terminal:
            await self._notify_parent(instance)

    def resume_outstanding_work(self, instance: Instance) -> None:
        """Restart scheduled work with no completion in history or inbox (at-least-once)."""
        if instance.is_terminal:
            return
        for event in outstanding_work(instance.history, instance.inbox):
            if event["EventType"] == EventType.EVENT_SENT:
                self._resend_entity_request(instance, event)
            else:
                self._start_work(instance, event)

    async def rewind(self, instance: Instance, reason: str | None) -> None:
        """Legacy rewind (spec §8.6): failed tasks replay as unscheduled and run again."""
        instance.keep_history(await self._records.load_history(instance))
        plan = plan_rewind(instance.history)
        for child_id in plan.children:
            child = await self._records.get(child_id)
            if child is not None and child.status == RuntimeStatus.FAILED:
                await self.rewind(child, reason)
        now = self._clock.now()
        record: Record = {"t": "rewind", "positions": plan.positions, "reason": reason}
        await self._store.append(instance.log_name, [record])
        apply_rewind(instance.history, record)
        instance.history_json = [compact_json(e) for e in instance.history]
        instance.status = RuntimeStatus.RUNNING
        instance.output_text = None
        instance.failure_details = None
        instance.last_updated = now
        await self._records.save_document(instance, force=True)
        # A new episode re-dispatches the rewound tasks; rewound children report back when done.
        message_id = instance.next_message_id
        instance.next_message_id += 1
        wake = h.generic_event(now, reason)
        await self._store.append(instance.log_name, [message_record(message_id, wake)])
        instance.inbox.append((message_id, wake))
        self._schedule_episode(instance)
