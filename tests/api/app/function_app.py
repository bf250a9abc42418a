# mypy: disable-error-code="untyped-decorator"
"""The health endpoint without the workflows, plus activities that hold every worker thread."""

import time
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from api.health import bp as health_bp

app = df.DFApp()
app.register_functions(health_bp)


@app.orchestration_trigger(context_name="context")
def hold_every_thread(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    """`count` activities that each sleep `seconds`: more than the host runs at once (host.json)."""
    work: dict[str, Any] = context.get_input() or {}
    yield context.task_all(
        [context.call_activity("hold_a_thread", work["seconds"]) for _ in range(work["count"])]
    )
    return "done"


@app.activity_trigger(input_name="seconds")
def hold_a_thread(seconds: float) -> str:
    """Sleep in a worker thread."""
    time.sleep(seconds)
    return "held"
