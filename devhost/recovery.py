"""Recovery after a crash, and the legacy rewind: rebuilding instances from their logs.

Recovery rebuilds each unfinished instance from its log (devhost.instance.fold_log) and restarts
whatever was scheduled but never completed (at-least-once). Rewind rewrites failed tasks as
unscheduled and wakes the instance, whose next episode schedules them again.
"""

from __future__ import annotations

from dataclasses import dataclass

from devhost import history as h
from devhost.blob_names import Record
from devhost.entities import EntityHost
from devhost.episodes import EpisodeRunner
from devhost.history import compact_json
from devhost.host_services import HostServices
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
from devhost.sub_orchestrations import SubOrchestrations
from durable_wire import EventType, RuntimeStatus


@dataclass(frozen=True)
class Recovery:
    """Brings instances back from storage, and rewinds failed ones."""

    host: HostServices
    children: SubOrchestrations
    episodes: EpisodeRunner
    entities: EntityHost

    async def recover_instance(self, instance_id: str) -> None:
        """Rebuild an instance from its document and its execution's log."""
        document = await self.host.store.read_instance(instance_id)
        if document is None:
            return
        instance = Instance.from_document(document)
        while True:
            stored = await self.host.store.read_log(instance.log_name)
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
            await self.children.begin_execution(instance, next_execution, started.get("Input"), started)
            self.host.records.instances[instance_id] = instance
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
        await self.host.records.save_document(instance, force=True)
        self.host.records.instances[instance_id] = instance
        if instance.is_terminal:
            await self.children.notify_parent(instance)

    def resume_outstanding_work(self, instance: Instance) -> None:
        """Restart scheduled work with no completion in history or inbox (at-least-once)."""
        if instance.is_terminal:
            return
        for event in outstanding_work(instance.history, instance.inbox):
            if event["EventType"] == EventType.EVENT_SENT:
                self.host.spawn(self.entities.resend_if_unanswered(instance, event))
            else:
                self.host.start_work(instance, event)

    async def rewind(self, instance: Instance, reason: str | None) -> None:
        """Legacy rewind (spec §8.6): failed tasks replay as unscheduled and run again."""
        instance.keep_history(await self.host.records.load_history(instance))
        plan = plan_rewind(instance.history)
        for child_id in plan.children:
            child = await self.host.records.get(child_id)
            if child is not None and child.status == RuntimeStatus.FAILED:
                await self.rewind(child, reason)
        now = self.host.clock.now()
        record: Record = {"t": "rewind", "positions": plan.positions, "reason": reason}
        await self.host.store.append(instance.log_name, [record])
        apply_rewind(instance.history, record)
        instance.history_json = [compact_json(e) for e in instance.history]
        instance.status = RuntimeStatus.RUNNING
        instance.output_text = None
        instance.failure_details = None
        instance.last_updated = now
        await self.host.records.save_document(instance, force=True)
        # A new episode re-dispatches the rewound tasks; rewound children report back when done.
        message_id = instance.next_message_id
        instance.next_message_id += 1
        wake = h.generic_event(now, reason)
        await self.host.store.append(instance.log_name, [message_record(message_id, wake)])
        instance.inbox.append((message_id, wake))
        self.episodes.schedule(instance)
