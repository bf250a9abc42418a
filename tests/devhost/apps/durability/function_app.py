"""Durability test app: slow chains, timers and events to crash the host in the middle of."""

import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df

app = df.DFApp()

# Where activities record each run (one line per execution), so tests can count real executions.
RUN_LOG = Path(os.environ.get("DURABILITY_RUN_LOG", "/tmp/durability-runs.log"))


@app.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext):
    """`steps` sequential activities of `seconds` each; returns their results in order."""
    settings = context.get_input()
    results = []
    for step in range(settings["steps"]):
        results.append(
            (yield context.call_activity("slow_step", {"step": step, "seconds": settings["seconds"]}))
        )
    return results


@app.orchestration_trigger(context_name="context")
def timer_then_event(context: df.DurableOrchestrationContext):
    """Waits `seconds` on a durable timer, then for the event 'Proceed'; returns both moments."""
    seconds = context.get_input()["seconds"]
    due = context.current_utc_datetime + timedelta(seconds=seconds)
    yield context.create_timer(due)
    fired_at = context.current_utc_datetime.isoformat()
    proceed = yield context.wait_for_external_event("Proceed")
    return {"due": due.isoformat(), "firedAt": fired_at, "proceed": proceed}


@app.orchestration_trigger(context_name="context")
def fan_out_counted(context: df.DurableOrchestrationContext):
    """N parallel `counted_step` activities; returns their results."""
    count = context.get_input()["count"]
    return (yield context.task_all([context.call_activity("counted_step", i) for i in range(count)]))


@app.activity_trigger(input_name="work")
def slow_step(work: dict) -> str:
    with RUN_LOG.open("a") as runs:
        runs.write(f"slow_step {work['step']}\n")
    time.sleep(work["seconds"])
    return f"step {work['step']} done"


@app.activity_trigger(input_name="number")
def counted_step(number: int) -> int:
    with RUN_LOG.open("a") as runs:
        runs.write(f"counted_step {number}\n")
    return number * 10


@app.orchestration_trigger(context_name="context")
def status_then_wait(context: df.DurableOrchestrationContext):
    """Sets a custom status, then waits for 'Proceed'."""
    context.set_custom_status({"stage": "waiting", "step": 1})
    proceed = yield context.wait_for_external_event("Proceed")
    context.set_custom_status({"stage": "done", "step": 2})
    return proceed
