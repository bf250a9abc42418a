# mypy: disable-error-code="untyped-decorator"
"""Probe orchestrations for the event-wait rule of orchestrators/steps.py (tests/devhost/test_event_waits.py).

Each probe first sleeps on a one-hour durable timer (no wait is open, so events raised meanwhile are
parked by the SDK), then waits for `signal` round after round until `rounds` rounds are done, each
round ending in the event it took or in its one-day deadline. The custom status lists the rounds.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from orchestrators.steps import EventWait

SIGNAL = "signal"
app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _nap(context: df.DurableOrchestrationContext) -> Generator[Any, Any, None]:
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    context.set_custom_status({"rounds": []})


def _bare_sdk_round(
    context: df.DurableOrchestrationContext, timer: Any, wait: Any, rounds: list[Any]
) -> Generator[Any, Any, bool]:
    """One round with the SDK alone: `wait` raced against `timer`; records it, True if the event won."""
    winner = yield context.task_any([timer, wait])
    if winner is timer:
        rounds.append({"deadline": True})
        return False
    timer.cancel()
    rounds.append({"event": wait.result})
    return True


@app.orchestration_trigger(context_name="context")
def waits_with_helper(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[Any]]:
    """The helper's rule: a fresh wait per round; a taken event is never taken again."""
    rounds: list[Any] = []
    yield from _nap(context)
    signals = EventWait(context, SIGNAL)
    for _ in range(int(context.get_input()["rounds"])):
        arrival = yield from signals.until(context.current_utc_datetime + timedelta(days=1))
        if arrival is None:
            rounds.append({"deadline": True})
        else:
            rounds.append({"event": arrival.payload, "late": arrival.at_or_after_deadline})
        context.set_custom_status({"rounds": rounds})
    yield context.call_activity("after", None)
    return rounds


@app.orchestration_trigger(context_name="context")
def waits_around_a_busy_step(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[Any]]:
    """A round that times out, a busy step (another nap), then the next round: an event raised during
    the busy step is taken by the first round's still-open wait and handed over by the next round."""
    rounds: list[Any] = []
    yield from _nap(context)
    signals = EventWait(context, SIGNAL)
    for _ in range(2):
        arrival = yield from signals.until(context.current_utc_datetime + timedelta(days=1))
        rounds.append({"deadline": True} if arrival is None else {"event": arrival.payload})
        context.set_custom_status({"rounds": rounds})
        if arrival is None:
            yield from _nap(context)
            context.set_custom_status({"rounds": rounds, "busy": False})
    yield context.call_activity("after", None)
    return rounds


@app.orchestration_trigger(context_name="context")
def waits_with_bare_sdk(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[Any]]:
    """The SDK alone: a fresh `wait_for_external_event` per round, nothing forgotten."""
    rounds: list[Any] = []
    yield from _nap(context)
    for _ in range(int(context.get_input()["rounds"])):
        timer = context.create_timer(context.current_utc_datetime + timedelta(days=1))
        wait = context.wait_for_external_event(SIGNAL)
        yield from _bare_sdk_round(context, timer, wait, rounds)
        context.set_custom_status({"rounds": rounds})
    yield context.call_activity("after", None)
    return rounds


@app.orchestration_trigger(context_name="context")
def waits_reusing_one_task(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[Any]]:
    """One wait task raced again in every round (what rule 2 forbids)."""
    rounds: list[Any] = []
    yield from _nap(context)
    wait = context.wait_for_external_event(SIGNAL)
    for _ in range(int(context.get_input()["rounds"])):
        timer = context.create_timer(context.current_utc_datetime + timedelta(days=1))
        event_won = yield from _bare_sdk_round(context, timer, wait, rounds)
        if event_won:
            wait = context.wait_for_external_event(SIGNAL)
        context.set_custom_status({"rounds": rounds})
    yield context.call_activity("after", None)
    return rounds


@app.activity_trigger(input_name="nothing")
def after(nothing: None) -> str:
    """The step after the waits: scheduled only once the host sees the last round end."""
    return "done"
