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


# When each bench_stamp orchestrator yielded its activity (first execution only), as the peer
# measures it: orchestrator and activity share the one worker process. Benchmark code only: an
# orchestrator must never read the clock like this.
YIELDED_AT: dict[str, float] = {}


@app.orchestration_trigger(context_name="context")
def bench_stamp(context: df.DurableOrchestrationContext):
    """One activity; returns [its first line's wall-clock time, when the orchestrator yielded it]."""
    if not context.is_replaying:
        YIELDED_AT[context.instance_id] = time.time()
    stamps = yield context.call_activity("bench_stamp_activity", context.instance_id)
    return stamps


@app.activity_trigger(input_name="value")
def bench_noop(value: int) -> int:
    return value


@app.activity_trigger(input_name="instance_id")
def bench_stamp_activity(instance_id: str) -> list:
    started = time.time()
    return [started, YIELDED_AT.pop(instance_id, None)]
