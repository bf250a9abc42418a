"""Sub-orchestrations and continue-as-new: instances that start other executions.

A child is started from its parent's SubOrchestrationInstanceCreated (after the parent's episode is
written, so the child's id is the recorded one) and reports back to the parent when it finishes.
Continue-as-new logs a `continued` record in the old execution's log, then begins the new one.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any, Protocol

from devhost import history as h
from devhost.history import Event, compact_json
from devhost.host_services import HostServices
from devhost.instance import Instance, InstanceExistsError
from durable_wire import RuntimeStatus


class StartOrchestration(Protocol):
    """The engine's start of a new instance (see Engine.start_orchestration)."""

    def __call__(
        self,
        name: str,
        instance_id: str,
        input_text: str | None,
        *,
        version: str | None = None,
        parent: dict[str, Any] | None = None,
        allow_running_override: bool | None = None,
    ) -> Awaitable[Instance]: ...


class SubOrchestrations:
    """Starts children, tells parents their children's outcome, and continues instances as new."""

    def __init__(self, host: HostServices, *, start_orchestration: StartOrchestration) -> None:
        self._host = host
        self._start_orchestration = start_orchestration

    async def start_child(self, parent: Instance, event: Event) -> None:
        """Create the child a SubOrchestrationInstanceCreated asks for (once, also after a restart)."""
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
        if self._host.index.orchestrator(name) is None:
            problem = f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
        elif child_id == parent.instance_id or child_id.startswith("@"):
            problem = f"The instance id '{child_id}' cannot be used for a sub-orchestration."
        if problem is not None:
            await self._refuse_child(parent, event_id, problem)
            return
        existing = await self._host.records.get(child_id)
        if existing is not None and existing.parent == parent_info:
            if existing.is_terminal:
                await self.notify_parent(existing)
            return  # already created before a restart
        try:
            await self._start_orchestration(
                name,
                child_id,
                event.get("Input"),
                version=str(event.get("Version") or ""),
                parent=parent_info,
                allow_running_override=False,
            )
        except InstanceExistsError as error:
            await self._refuse_child(parent, event_id, str(error))

    async def _refuse_child(self, parent: Instance, event_id: int, reason: str) -> None:
        """Answer the parent with the child's failure when the child cannot be started."""
        failure = h.sub_orchestration_failed(self._host.clock.now(), event_id, reason, f"Message: {reason}")
        await self._host.deliver_result(parent.instance_id, parent.execution_id, failure)

    async def notify_parent(self, child: Instance) -> None:
        """A finished child's outcome, delivered to its parent (nothing for a top-level instance)."""
        if not child.parent:
            return
        parent_ref = child.parent["OrchestrationInstance"]
        task_id = int(child.parent["TaskScheduleId"])
        now = self._host.clock.now()
        if child.status == RuntimeStatus.COMPLETED:
            event = h.sub_orchestration_completed(now, task_id, child.output_text)
        else:
            reason = child.output_text or f"Sub-orchestration '{child.instance_id}' {child.status.lower()}"
            event = h.sub_orchestration_failed(now, task_id, reason, child.failure_details)
        await self._host.deliver_result(parent_ref["InstanceId"], parent_ref["ExecutionId"], event)

    # -- continue-as-new --------------------------------------------------------------------

    async def continue_as_new(self, instance: Instance, action: dict[str, Any]) -> None:
        now = self._host.clock.now()
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
        await self._host.store.append(
            instance.log_name, [{"t": "continued", "executionId": execution_id, "event": started}]
        )
        await self.begin_execution(instance, execution_id, new_input, started)

    async def begin_execution(
        self, instance: Instance, execution_id: str, input_text: str | None, started: Event
    ) -> None:
        """Switch the instance to a new execution whose first message is `started`."""
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
        instance.last_updated = self._host.clock.now()
        await self._host.records.save_document(instance, force=True)
