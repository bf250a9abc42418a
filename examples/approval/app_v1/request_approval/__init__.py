"""POST /api/approvals: start the approval workflow (v1 programming model)."""

import json

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    try:
        body = req.get_json()
    except ValueError:
        return func.HttpResponse(
            '{"error": "body must be JSON"}', status_code=400, mimetype="application/json"
        )
    if not isinstance(body, dict) or not isinstance(body.get("amount"), int | float):
        return func.HttpResponse(
            '{"error": "amount must be a number"}', status_code=400, mimetype="application/json"
        )
    instance_id = await client.start_new("approval_workflow", None, body)
    return func.HttpResponse(json.dumps({"id": instance_id}), status_code=202, mimetype="application/json")
