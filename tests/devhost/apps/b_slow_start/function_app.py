"""Conformance item 67: an app that takes a few seconds to import, so readiness is observable."""

import time

import azure.durable_functions as df
import azure.functions as func

IMPORT_SECONDS = 3.0
time.sleep(IMPORT_SECONDS)  # e.g. heavy imports or model loading at module level

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def slow_hello(context: df.DurableOrchestrationContext):
    greeting = yield context.call_activity("slow_greet", "Oslo")
    return greeting


@app.activity_trigger(input_name="city")
def slow_greet(city: str) -> str:
    return f"Hello {city}"


@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")
