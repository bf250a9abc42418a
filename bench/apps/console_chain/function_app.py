"""Benchmark app for the console's instance timeline: the console plus a chain of `n` steps.

Every 50th step fails its first attempt and is retried (so the timeline has retry groups and retry
delays), then the chain waits for one external event with a durable timer racing it, as the
workflows do. `bench.console_pages --chain` times the console's instance page for n = 3, 300, 1,000.
"""

from datetime import timedelta

import azure.durable_functions as df

from console.routes import bp as console_bp

app = df.DFApp()
app.register_functions(console_bp)

STEP_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=200, max_number_of_attempts=3)
SIGN_OFF_EVENT = "sign_off"
_failed_once: set[tuple[int, int]] = set()  # (chain length, step) that already failed in this process


@app.orchestration_trigger(context_name="context")
def console_bench_chain(context: df.DurableOrchestrationContext):
    """`n` sequential steps (every 50th retried once), then a wait for `sign_off` against a timer."""
    count = context.get_input()["n"]
    for step in range(count):
        yield context.call_activity_with_retry("console_bench_step", STEP_RETRY, [count, step])
    deadline = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    sign_off = context.wait_for_external_event(SIGN_OFF_EVENT)
    winner = yield context.task_any([deadline, sign_off])
    if winner == sign_off:
        deadline.cancel()
    return count


@app.activity_trigger(input_name="work")
def console_bench_step(work: list[int]) -> int:
    count, step = work
    if step % 50 == 49 and (count, step) not in _failed_once:
        _failed_once.add((count, step))
        raise RuntimeError(f"step {step}: first attempt fails (benchmark)")
    return step
