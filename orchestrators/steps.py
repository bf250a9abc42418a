"""The three things every orchestrator here does, done one way: call, wait, publish.

- `call` / `call_all`: an activity call with retry whose work and result are typed contract models
  (`result = yield from call(context, ACTIVITY, work, ResultModel, RETRY)`).
- `EventWait`: wait for an external event until a deadline, by the rule below.
- `publish_status`: the custom status, with every instant in the app's one UTC text format
  (`contracts.utc_text`).

How an external event reaches an orchestrator (azure-functions-durable 1.7, checked against the SDK
source and proven end to end on the devhost by tests/devhost/test_event_waits.py):
1. The SDK hands an event to the newest *open* wait of its name (a wait is open from the moment it
   is yielded until it takes an event). So a wait left over from an earlier round never steals an
   event from the current one; it only takes events that arrive while nothing newer is open.
2. A wait task is yielded in one `task_any` only. The Durable extension follows the orchestration
   by its actions, and a task already yielded is not listed again: a reused wait's event would
   complete the old race on the host's side, and the next step would not be scheduled until the
   round's timer fired. Every round therefore opens a fresh wait, listed after its timer.
3. An event raised while no wait of its name is open (while an activity runs, say) is parked. The
   SDK keeps only the *last* parked event of a name (Azure/azure-functions-durable-python#507) and
   hands it to the next wait, and again to every later wait of that name in the same replay. After
   a wait takes an event, `EventWait` forgets the parked copy, so each event is taken at most once.
   A workflow that must not lose any of several events of one name (relief's confirmations) keeps a
   wait open at every yield (`race_with_events`), so nothing is ever parked.
4. An event and the deadline's timer that arrive in one batch: the one earlier in history wins the
   race. Callers that must not depend on that order compare `context.current_utc_datetime` with
   the deadline after either wins ("deadlines first"); `Arrival.at_or_after` says it directly.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskBase, TimerTask

from contracts import ContractModel

ResultT = TypeVar("ResultT", bound=ContractModel)


# -- activity calls ---------------------------------------------------------------------------------


def call_task(
    context: df.DurableOrchestrationContext,
    activity: str,
    work: ContractModel | dict[str, Any],
    retry: df.RetryOptions,
) -> TaskBase:
    """The task of one activity call with retry (for a fan-out or a race); `work` as its wire dict."""
    payload = work.to_dict() if isinstance(work, ContractModel) else work
    task: TaskBase = context.call_activity_with_retry(activity, retry, payload)
    return task


def call(
    context: df.DurableOrchestrationContext,
    activity: str,
    work: ContractModel,
    result: type[ResultT],
    retry: df.RetryOptions,
) -> Generator[Any, Any, ResultT]:
    """Call `activity` with `work` and retry; its answer as a `result` model."""
    answer = yield call_task(context, activity, work, retry)
    return result.from_dict(answer)


def call_all(
    context: df.DurableOrchestrationContext,
    activity: str,
    works: Sequence[ContractModel],
    result: type[ResultT],
    retry: df.RetryOptions,
) -> Generator[Any, Any, list[ResultT]]:
    """Call `activity` once per work item in parallel (fan-out/fan-in); answers in `works` order."""
    if not works:
        return []  # nothing is yielded: an empty fan-out schedules no action
    answers = yield context.task_all([call_task(context, activity, work, retry) for work in works])
    return [result.from_dict(answer) for answer in answers]


# -- waiting for external events --------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """An event a wait took: its raw payload (parse it with `contracts.parse_event`) and when."""

    payload: Any
    received_at: datetime
    deadline: datetime | None  # None: taken by a wait without a deadline

    @property
    def at_or_after_deadline(self) -> bool:
        """Taken in at or after the deadline (it arrived with, or after, the deadline's timer)."""
        return self.deadline is not None and self.received_at >= self.deadline


class EventWait:
    """Waits for one event name, round after round, by the rule of this module's docstring.

    `until(deadline)` returns the next event, or None when the deadline's timer fired first. An
    event that a previous round's wait took while the caller was busy (sending a reminder, say)
    is returned at once by the next `until`, before a new wait is opened.
    """

    def __init__(self, context: df.DurableOrchestrationContext, name: str) -> None:
        self._context = context
        self.name = name
        self._open: list[TaskBase] = []  # waits of earlier rounds that took nothing yet, oldest first

    def until(self, deadline: datetime) -> Generator[Any, Any, Arrival | None]:
        """The next event of this name, or None if the deadline passes first."""
        taken = self.taken_meanwhile(deadline)
        if taken is not None:
            return taken
        timer = cast(TimerTask, self._context.create_timer(deadline))
        wait = self._context.wait_for_external_event(self.name)
        winner = yield self._context.task_any([timer, wait])
        if winner is timer:
            self._open.append(wait)  # open until an event comes; checked by the next round
            return None
        timer.cancel()  # type: ignore[no-untyped-call]
        return self._take(wait, deadline)

    def next(self) -> Generator[Any, Any, Arrival]:
        """The next event of this name, however long it takes (no deadline left)."""
        taken = self.taken_meanwhile(None)
        if taken is not None:
            return taken
        wait = self._context.wait_for_external_event(self.name)
        yield wait
        return self._take(wait, None)

    def taken_meanwhile(self, deadline: datetime | None = None) -> Arrival | None:
        """An event that an earlier round's wait took while the caller was busy, or None."""
        # Rule 1: of several open waits the newest takes an event first, so the newest completed
        # one holds the earliest event.
        for wait in reversed(self._open):
            if wait.is_completed:
                self._open.remove(wait)
                return self._take(wait, deadline)
        return None

    def _take(self, wait: TaskBase, deadline: datetime | None) -> Arrival:
        forget_parked_event(self._context, self.name)
        return Arrival(payload=wait.result, received_at=self._context.current_utc_datetime, deadline=deadline)


def forget_parked_event(context: df.DurableOrchestrationContext, name: str) -> None:
    """Rule 3: drop the SDK's parked copy of an event a wait has taken, so no later wait retakes it.

    `deferred_tasks` is the SDK context's table of parked events by name (a public attribute,
    without documentation). Dropping it is deterministic: every replay takes the same event at the
    same point and drops the same entry.
    """
    parked: dict[Any, Any] | None = getattr(context, "deferred_tasks", None)
    if parked is not None:
        parked.pop(name, None)


def race_with_events(
    context: df.DurableOrchestrationContext, tasks: Sequence[TaskBase], event_names: Sequence[str]
) -> Generator[Any, Any, tuple[TaskBase, str | None]]:
    """Yield `tasks` raced against a fresh wait per event name; the winner and its event name.

    For workflows that must take every event of a name: a wait of each name is open at every yield
    made through this function, so no event is ever parked (rule 3). The tasks must be new (rule 2).
    """
    waits = {name: context.wait_for_external_event(name) for name in event_names}
    winner: TaskBase = yield context.task_any([*tasks, *waits.values()])
    for name, wait in waits.items():
        if winner is wait:
            forget_parked_event(context, name)
            return winner, name
    return winner, None


# -- custom status ----------------------------------------------------------------------------------


def publish_status(context: df.DurableOrchestrationContext, status: ContractModel) -> None:
    """Set the custom status: each workflow's small typed status model, instants in `contracts.utc_text`."""
    context.set_custom_status(status.to_dict())
