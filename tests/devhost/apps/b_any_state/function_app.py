"""Conformance item 64: an app whose host.json sets overridableExistingInstanceStates: AnyState."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def any_wait(context: df.DurableOrchestrationContext):
    """Waits for the event 'Go'; returns {"input": ..., "event": ...}."""
    event = yield context.wait_for_external_event("Go")
    return {"input": context.get_input(), "event": event}


@app.orchestration_trigger(context_name="context")
def any_echo(context: df.DurableOrchestrationContext):
    value = yield context.call_activity("any_identity", context.get_input())
    return value


@app.orchestration_trigger(context_name="context")
def any_fail(context: df.DurableOrchestrationContext):
    value = yield context.call_activity("any_identity", context.get_input())
    raise Exception(f"boom {value['run']}")


@app.activity_trigger(input_name="value")
def any_identity(value):  # untyped on purpose: any JSON value
    return value
