"""Ask an approver, wait up to three days for the decision, else escalate (v1 programming model)."""

import json
from datetime import timedelta

import azure.durable_functions as df

DECISION_EVENT = "approval_decision"
DECISION_DEADLINE = timedelta(days=3)


def decision_of(value):
    """The event's data: the SDK client sends it as JSON text, the management API as JSON."""
    return json.loads(value) if isinstance(value, str) else value


def orchestrator_function(context: df.DurableOrchestrationContext):
    request = context.get_input()
    deadline = context.current_utc_datetime + DECISION_DEADLINE
    yield context.call_activity("notify_approver", request)
    context.set_custom_status({"stage": "awaiting_decision", "deadline": deadline.isoformat()})

    decision = context.wait_for_external_event(DECISION_EVENT)
    timeout = context.create_timer(deadline)
    winner = yield context.task_any([decision, timeout])
    if winner == decision:
        timeout.cancel()
        outcome = "approved" if decision_of(decision.result).get("approved") else "rejected"
    else:
        outcome = "escalated"
    yield context.call_activity("record_outcome", {"request": request, "outcome": outcome})
    context.set_custom_status({"stage": "done"})
    return outcome


main = df.Orchestrator.create(orchestrator_function)
