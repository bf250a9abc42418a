"""A v1 HTTP function with a named output binding and the older orchestrationClient binding."""

import json

import azure.durable_functions as df
import azure.functions as func


async def read(request: func.HttpRequest, client: str, res: func.Out[func.HttpResponse]) -> None:
    durable = df.DurableOrchestrationClient(client)
    state = await durable.read_entity_state(df.EntityId("Counter", request.route_params["key"]))
    body = {"exists": state.entity_exists, "value": state.entity_state}
    res.set(func.HttpResponse(json.dumps(body), mimetype="application/json"))
