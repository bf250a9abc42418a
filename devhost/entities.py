"""Durable entities (legacy out-of-proc protocol, spec §9): one FIFO batch at a time per entity.

Each operation is appended to the entity's log before it is queued, each processed batch is
appended with the new state and the replies; a request id that was already processed is never
applied twice (its stored reply is sent again), so re-sends after a crash are harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from devhost import history as h
from devhost.history import Event, compact_json
from devhost.host_services import HostServices
from devhost.instance import Instance
from durable_wire import EventType

log = logging.getLogger("devhost.entities")

REMEMBERED_REQUESTS = 10_000
_FORBIDDEN_KEY_CHARACTERS = set("/\\#?")


def entity_scheduler_id(name: str, key: str) -> str:
    """`@<lowercased name>@<key>` (spec §9.1)."""
    return f"@{name.lower()}@{key}"


def parse_entity_id(scheduler_id: str) -> tuple[str, str] | None:
    if not scheduler_id.startswith("@"):
        return None
    name, separator, key = scheduler_id[1:].partition("@")
    return (name, key) if separator else None


def entity_key_problem(key: str) -> str | None:
    """Why an entity key is invalid, or None."""
    if any(c in _FORBIDDEN_KEY_CHARACTERS or ord(c) < 32 for c in key):
        return "Entity keys must not contain '/', '\\', '#', '?' or control characters."
    return None


@dataclass
class EntityRecord:
    """One entity's state, queue and remembered replies."""

    scheduler_id: str
    name: str
    key: str
    state_text: str | None = None
    exists: bool = False
    last_operation: datetime | None = None
    queue: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    processed: OrderedDict[str, str | None] = field(default_factory=OrderedDict)
    next_message_id: int = 0
    busy: bool = False
    log_created: bool = False


class EntityHost:
    """Runs entity operations with the host's shared collaborators (it never imports the engine)."""

    def __init__(self, host: HostServices, *, max_batch_size: int) -> None:
        self._host = host
        self._max_batch_size = max_batch_size
        self.entities: dict[str, EntityRecord] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- lookups ----------------------------------------------------------------------------

    async def get(self, scheduler_id: str) -> EntityRecord | None:
        record = self.entities.get(scheduler_id)
        if record is None:
            record = await self._load(scheduler_id)
        return record

    async def _load(self, scheduler_id: str) -> EntityRecord | None:
        parsed = parse_entity_id(scheduler_id)
        if parsed is None:
            return None
        records = await self._host.store.read_log(self._host.store.entity_log_name(scheduler_id))
        if records is None:
            return None
        entity = EntityRecord(scheduler_id, parsed[0], parsed[1], log_created=True)
        operations: dict[int, dict[str, Any]] = {}
        consumed: set[int] = set()
        for record in records:
            if record.get("t") == "op":
                operations[int(record["id"])] = record["request"]
            elif record.get("t") == "batch":
                consumed.update(int(i) for i in record["consumed"])
                entity.state_text = record.get("state")
                entity.exists = bool(record.get("exists"))
                entity.last_operation = h.parse_time(record["time"])
                for request_id, reply in (record.get("replies") or {}).items():
                    _remember(entity, request_id, reply)
            elif record.get("t") == "purged":
                entity.state_text, entity.exists = None, False
        entity.queue = sorted(
            ((i, r) for i, r in operations.items() if i not in consumed), key=lambda m: m[0]
        )
        entity.next_message_id = 1 + max([*operations, -1])
        self.entities[scheduler_id] = entity
        return entity

    async def recover(self) -> None:
        """Load every entity with a log and run operations accepted before a crash."""
        for name in await self._host.store.list_names("entities/"):
            entity = await self.get(unquote(name[len("entities/") :]))
            if entity is not None and entity.queue:
                self._schedule(entity)

    # -- sending operations -----------------------------------------------------------------

    async def send_from_orchestration(self, event: Event) -> None:
        """Deliver an EventSent (`call_entity` / `signal_entity`) to its entity."""
        await self.enqueue(str(event["InstanceId"]), json.loads(event["Input"]))

    async def resend_if_unanswered(self, instance: Instance, event: Event) -> None:
        """Recovery: a request whose reply never reached the orchestration is sent again."""
        request = json.loads(event["Input"])
        answered = any(
            e["EventType"] == EventType.EVENT_RAISED and e.get("Name") == request.get("id")
            for e in [*instance.history, *(m[1] for m in instance.inbox)]
        )
        if not answered:
            await self.enqueue(str(event["InstanceId"]), request)

    async def signal(self, name: str, key: str, operation: str, input_text: str | None) -> None:
        """A client signal (HTTP `POST entities/{name}/{key}?op=`)."""
        request = {
            "op": operation,
            "signal": True,
            "input": input_text,
            "id": str(uuid.uuid4()),
            "Timestamp": h.format_history_time(self._host.clock.now()),
        }
        await self.enqueue(entity_scheduler_id(name, key), request)

    async def enqueue(self, scheduler_id: str, request: dict[str, Any]) -> None:
        parsed = parse_entity_id(scheduler_id)
        if parsed is None:
            return
        async with self._locks.setdefault(scheduler_id, asyncio.Lock()):
            entity = await self.get(scheduler_id)
            if entity is None:
                entity = EntityRecord(scheduler_id, parsed[0], parsed[1])
                self.entities[scheduler_id] = entity
            request_id = str(request.get("id"))
            if request_id in entity.processed:
                await self._reply(request, entity.processed[request_id])
                return
            if any(str(r.get("id")) == request_id for _, r in entity.queue):
                return
            message_id = entity.next_message_id
            entity.next_message_id += 1
            record = {"t": "op", "id": message_id, "request": request}
            log_name = self._host.store.entity_log_name(scheduler_id)
            if not entity.log_created:
                await self._host.store.create_log(log_name, [record])
                entity.log_created = True
            else:
                await self._host.store.append(log_name, [record])
            entity.queue.append((message_id, request))
        self._schedule(entity)

    # -- processing -----------------------------------------------------------------------------

    def _schedule(self, entity: EntityRecord) -> None:
        if entity.busy or not entity.queue:
            return
        entity.busy = True
        self._host.spawn(self._process(entity))

    async def _process(self, entity: EntityRecord) -> None:
        try:
            while entity.queue:
                batch = entity.queue[: self._max_batch_size]
                await self._run_batch(entity, batch)
        finally:
            entity.busy = False

    async def _run_batch(self, entity: EntityRecord, batch: list[tuple[int, dict[str, Any]]]) -> None:
        function = self._host.index.entity(entity.name)
        replies: dict[str, str | None] = {}
        if function is None or function.disabled:
            problem = "is disabled" if function is not None else "doesn't exist or is not an entity function"
            error_text = compact_json(f"The function '{entity.name}' {problem}.")
            for _, request in batch:
                replies[str(request.get("id"))] = (
                    None
                    if request.get("signal")
                    else compact_json({"result": error_text, "exceptionType": "Error"})
                )
        else:
            payload = compact_json(
                {
                    "self": {"name": entity.name, "key": entity.key},
                    "exists": entity.exists,
                    "state": entity.state_text,
                    "batch": [
                        {"name": r.get("op"), "input": r.get("input"), "isSignal": bool(r.get("signal"))}
                        for _, r in batch
                    ],
                }
            )
            try:
                response = await self._host.invoker.entity(function, payload)
            except Exception as error:
                log.exception("entity %s failed", entity.scheduler_id)
                response = {
                    "entityExists": entity.exists,
                    "entityState": entity.state_text,
                    "results": [{"isError": True, "result": compact_json(str(error))} for _ in batch],
                }
            results = response.get("results") or []
            entity.exists = bool(response.get("entityExists"))
            entity.state_text = response.get("entityState") if entity.exists else None
            for position, (_, request) in enumerate(batch):
                result = results[position] if position < len(results) else {"isError": True, "result": "null"}
                reply: dict[str, Any] = {"result": result.get("result")}
                if result.get("isError"):
                    reply["exceptionType"] = "Error"
                replies[str(request.get("id"))] = None if request.get("signal") else compact_json(reply)
        entity.last_operation = self._host.clock.now()
        record = {
            "t": "batch",
            "consumed": [m[0] for m in batch],
            "state": entity.state_text,
            "exists": entity.exists,
            "time": entity.last_operation.isoformat(),
            "replies": replies,
        }
        await self._host.store.append(self._host.store.entity_log_name(entity.scheduler_id), [record])
        consumed = {m[0] for m in batch}
        entity.queue = [m for m in entity.queue if m[0] not in consumed]
        for request_id, stored_reply in replies.items():
            _remember(entity, request_id, stored_reply)
        for _, request in batch:
            await self._reply(request, replies[str(request.get("id"))])

    async def _reply(self, request: dict[str, Any], reply: str | None) -> None:
        if reply is None or request.get("signal") or not request.get("parent"):
            return
        event = h.event_raised(self._host.clock.now(), str(request["id"]), reply)
        await self._host.deliver_result(str(request["parent"]), request.get("parentExecution"), event)

    async def purge(self, entity: EntityRecord) -> None:
        await self._host.store.delete_blob(self._host.store.entity_log_name(entity.scheduler_id))
        self.entities.pop(entity.scheduler_id, None)


def _remember(entity: EntityRecord, request_id: str, reply: str | None) -> None:
    entity.processed[request_id] = reply
    while len(entity.processed) > REMEMBERED_REQUESTS:
        entity.processed.popitem(last=False)
