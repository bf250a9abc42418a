"""A v1 orchestrator that signals and calls the v1 entity."""

import azure.durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    request = context.get_input()
    entity = df.EntityId("Counter", request["key"])
    for _ in range(request["times"]):
        context.signal_entity(entity, "add", 1)
    total = yield context.call_entity(entity, "get")
    return total


main = df.Orchestrator.create(orchestrator_function)
