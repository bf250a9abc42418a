"""The hub's instance records: which instances are in memory, their locks, documents and logs.

The engine's components share one `InstanceRecords`: it looks instances up (reading a finished one
back from storage when asked), keeps only the most recently finished ones in memory, writes an
instance document when what queries and recovery need from it changed, and creates logs lazily.
"""

from __future__ import annotations

import asyncio

from devhost.clock import Clock
from devhost.finished import FinishedInstances, InstanceSummary
from devhost.history import Event
from devhost.instance import Instance, fold_log
from devhost.store import BlobStore
from durable_wire import RuntimeStatus


class InstanceRecords:
    """Every instance of one task hub this host knows, in memory or in storage."""

    def __init__(self, store: BlobStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.instances: dict[str, Instance] = {}  # running ones, and the most recently finished
        self.finished = FinishedInstances()
        self.index_loaded = False
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, key: str) -> asyncio.Lock:
        """The lock of an instance id (or of `log:<name>` for creating a log)."""
        return self._locks.setdefault(key, asyncio.Lock())

    # -- looking instances up -------------------------------------------------------------------

    async def get(self, instance_id: str) -> Instance | None:
        """The instance (a finished one's document read back from storage if need be), or None."""
        instance = self.instances.get(instance_id)
        if instance is not None:
            return instance
        if self.index_loaded and not self.finished.in_storage(instance_id):
            # This host is the hub's only writer: what is neither in memory nor indexed does not exist.
            return None
        document = await self.store.read_instance(instance_id)
        instance = self.instances.get(instance_id)  # read back meanwhile by another caller
        if instance is not None or document is None:
            return instance
        instance = Instance.from_document(document)
        self.instances[instance_id] = instance
        if instance.is_terminal:
            self.finished_in_memory(instance)
        return instance

    def summaries(self) -> list[InstanceSummary]:
        """Id, status and creation time of every instance of the hub, for queries."""
        in_memory = [InstanceSummary(i.instance_id, i.status, i.created) for i in self.instances.values()]
        return in_memory + self.finished.summaries()

    def finished_in_memory(self, instance: Instance) -> None:
        """Keep the most recently finished documents in memory; older ones are read back when asked."""
        self.finished.finished(instance.instance_id)
        self.evict_finished()

    def evict_finished(self) -> None:
        later: list[str] = []
        for instance_id in self.finished.overflow():
            old = self.instances.get(instance_id)
            if old is None or not old.is_terminal:
                continue  # purged, or running again (rewound): it comes back when it finishes
            # An episode still unwinding (its document write in flight) or a start or purge
            # holding the lock: evict it once that is over.
            lock = self._locks.get(instance_id)
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
        history = fold_log(await self.store.read_log(instance.log_name) or []).history
        if not instance.is_terminal:
            instance.keep_history(history)
        return history

    # -- writing --------------------------------------------------------------------------------

    async def ensure_log(self, instance: Instance) -> None:
        """Create the execution's log blob on first use (a start writes only the document)."""
        if instance.log_created:
            return
        async with self.lock(f"log:{instance.log_name}"):
            if not instance.log_created:
                await self.store.create_log(instance.log_name, [])
                instance.log_created = True

    async def save_document(self, instance: Instance, *, force: bool = False) -> None:
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

    def release(self, instance: Instance) -> None:
        """A finished instance keeps its document in memory for a while, never its history."""
        instance.history, instance.history_json = [], []
        instance.played_upto = 0
        instance.history_loaded = False
        self.store.forget(instance.log_name, self.store.instance_name(instance.instance_id))
        for key in (instance.instance_id, f"log:{instance.log_name}"):
            lock = self._locks.get(key)
            if lock is not None and not lock.locked():
                del self._locks[key]
        self.finished_in_memory(instance)

    async def purge(self, instance: Instance) -> None:
        async with self.lock(instance.instance_id):
            await self.store.delete_instance(instance.instance_id, instance.executions)
            self.instances.pop(instance.instance_id, None)
            self.finished.forget(instance.instance_id)
