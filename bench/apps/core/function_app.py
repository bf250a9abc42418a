"""Benchmark app: the shapes the performance goals name (chain, fan-out, burst, scheduling latency).

Activities are no-ops with small payloads, as in the measured SDK floor
(shared notes, performance.md §1): the benchmark measures the host, not the work.
"""

import time

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def bench_chain(context: df.DurableOrchestrationContext):
    """`n` sequential no-op activities; returns how many ran."""
    count = context.get_input()["n"]
    done = 0
    for step in range(count):
        done += 1 if (yield context.call_activity("bench_noop", step)) == step else 0
    return done


@app.orchestration_trigger(context_name="context")
def bench_fan_out(context: df.DurableOrchestrationContext):
    """`n` parallel no-op activities gathered with task_all; returns the sum of their results."""
    count = context.get_input()["n"]
    results = yield context.task_all([context.call_activity("bench_noop", i) for i in range(count)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def bench_stamp(context: df.DurableOrchestrationContext):
    """One activity that returns the wall-clock time at its first line (scheduling latency)."""
    started_at = yield context.call_activity("bench_stamp_activity", None)
    return started_at


@app.activity_trigger(input_name="value")
def bench_noop(value: int) -> int:
    return value


@app.activity_trigger(input_name="ignored")
def bench_stamp_activity(ignored: None) -> float:
    return time.time()
