"""POST /api/approvals/{instance_id}/decision: deliver the approver's decision (v1 programming model)."""

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    decision = req.get_json()
    await client.raise_event(
        req.route_params["instance_id"], "approval_decision", {"approved": bool(decision.get("approved"))}
    )
    return func.HttpResponse(status_code=202)
