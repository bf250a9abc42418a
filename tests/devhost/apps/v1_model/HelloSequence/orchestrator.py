"""A v1 orchestrator in a scriptFile of its own with a custom entryPoint."""

import azure.durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    results = []
    for city in cities:
        results.append((yield context.call_activity("SayHello", {"city": city})))
    return results


run = df.Orchestrator.create(orchestrator_function)
