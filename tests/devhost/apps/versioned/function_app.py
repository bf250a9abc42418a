"""Orchestration versions: host.json defaultVersion, a version on start and on sub-orchestrations."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start/{version}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_versioned(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("versions_seen", None, None, version=req.route_params["version"])
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def versions_seen(context: df.DurableOrchestrationContext):
    pinned = yield context.call_sub_orchestrator("report_version", version="3.0")
    defaulted = yield context.call_sub_orchestrator("report_version")
    return {"parent": context.version, "pinnedChild": pinned, "defaultChild": defaulted}


@app.orchestration_trigger(context_name="context")
def report_version(context: df.DurableOrchestrationContext):
    return context.version
