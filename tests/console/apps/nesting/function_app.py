"""Test app: the operations console plus an orchestration with sub-orchestrations (the reference
workflows have none), so the console's timeline nests a child's lanes below its parent's."""

import azure.durable_functions as df

from console.routes import bp as console_bp

app = df.DFApp()
app.register_functions(console_bp)


@app.orchestration_trigger(context_name="context")
def parent_flow(context: df.DurableOrchestrationContext):
    """One step, then two child flows one after the other."""
    yield context.call_activity("nesting_step", "parent")
    for number in range(2):
        yield context.call_sub_orchestrator("child_flow", number, f"{context.instance_id}:child-{number}")
    return "done"


@app.orchestration_trigger(context_name="context")
def child_flow(context: df.DurableOrchestrationContext):
    """Two steps."""
    number = context.get_input()
    yield context.call_activity("nesting_step", f"child {number} first")
    yield context.call_activity("nesting_step", f"child {number} second")
    return number


@app.activity_trigger(input_name="label")
def nesting_step(label: str) -> str:
    return label
