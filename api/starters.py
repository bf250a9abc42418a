"""Starting a workflow instance exactly once per business id, and looking instances up for events.

`CaseResource` puts these together for one workflow's API module: its start, its lookups (404),
its 409s (naming the status resource) and its `GET <collection>/{id}` status resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from api.endpoints import Call, workflow_route
from api.errors import Conflict, InstanceNotFound
from api.handlers import json_response
from audit_packets import loads_json
from identity import Permission
from workflow_catalogue import Workflow

# host.json `extensions.http.routePrefix`: where the app's own routes live.
ROUTE_PREFIX = "/api"
# The app's view of one instance, built from its Durable status (each workflow's GET resource).
StatusView = Callable[[DurableOrchestrationStatus], dict[str, Any]]


def resource_location(path: str) -> str:
    """`/api/<path>`: the app's own URL of a resource (relative, so it fits whatever host serves it)."""
    return f"{ROUTE_PREFIX}/{path.strip('/')}"


async def start_once(
    client: df.DurableOrchestrationClient,
    orchestrator: str,
    instance_id: str,
    orchestration_input: dict[str, Any],
    resource: str,
    *,
    status_path: str,
    view: StatusView,
) -> func.HttpResponse:
    """Start `orchestrator` as `instance_id`: 202, `Location: /api/<status_path>` and the app's own
    status resource of the new instance as the body; 409 (with that location) if it exists.

    Never the Durable management URLs (`create_check_status_response`,
    `create_http_management_payload`): on Azure they carry the `durabletask_extension` system key,
    which opens terminate, purge, raise-any-event and every instance's input to whoever holds it.
    Operators reach the management API through `python -m ops` instead (docs/operations-cli.md).

    Two starts racing for the same new id can both pass the check (a client's retry of a start
    that was answered 503 but landed meanwhile, for one); the runtime then refuses the second, which
    is answered 409 as well, so the business effect still happens once.
    """
    location = resource_location(status_path)
    existing = await client.get_status(instance_id)
    if existing.runtime_status is not None:
        raise Conflict(f"{resource} already exists", location=location, state=existing.runtime_status.value)
    try:
        await client.start_new(orchestrator, instance_id, orchestration_input)
    except Exception as error:
        # SDK 1.7 raises a bare Exception carrying the runtime's error body.
        if _ALREADY_EXISTS not in str(error):
            raise
        raise Conflict(f"{resource} already exists", location=location) from error
    status = await client.get_status(instance_id)
    return json_response(view(status), 202, {"Location": location})


# The runtime's exception type for a start whose id is taken (spec §11.2).
_ALREADY_EXISTS = "OrchestrationAlreadyExistsException"


def status_resource_fields(
    id_field: str, business_id: str, instance_id: str, status: DurableOrchestrationStatus
) -> dict[str, Any]:
    """The head of a status resource: the business and instance ids, the runtime status, then the
    fields of the custom status the orchestrator publishes (stage, what it waits for, deadlines)."""
    custom = loads_json(status.custom_status) or {}
    return {
        id_field: business_id,
        "instanceId": instance_id,
        "runtimeStatus": status.runtime_status.value if status.runtime_status is not None else None,
        **(custom if isinstance(custom, dict) else {}),
    }


async def existing_instance(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    resource: str,
    identifier: str,
    *,
    show_input: bool = False,
) -> DurableOrchestrationStatus:
    """The status of `instance_id` (with its input when asked), or `InstanceNotFound` (404)."""
    status = await client.get_status(instance_id, show_input=show_input)
    if status.runtime_status is None:
        raise InstanceNotFound(resource, identifier)
    return status


@dataclass(frozen=True)
class CaseResource:
    """One workflow's cases as its API shows them: the noun its 404/409 messages use, and the status
    resource of a case (`/api/<collection>/<business id>`, built by `view`)."""

    workflow: Workflow
    noun: str  # "fare dispute"
    id_parameter: str  # the business id in routes: "disputeId"
    view: Callable[[str, DurableOrchestrationStatus], dict[str, Any]]

    def status_path(self, business_id: str) -> str:
        """The case's status resource under the route prefix."""
        return f"{self.workflow.collection}/{business_id}"

    async def start(
        self, client: df.DurableOrchestrationClient, business_id: str, orchestration_input: dict[str, Any]
    ) -> func.HttpResponse:
        """Start the case once (`start_once`): 202 with its status resource, or 409 naming it."""
        return await start_once(
            client,
            self.workflow.orchestrator,
            self.workflow.instance_id(business_id),
            orchestration_input,
            self.noun,
            status_path=self.status_path(business_id),
            view=partial(self.view, business_id),
        )

    async def existing(
        self, client: df.DurableOrchestrationClient, business_id: str, *, show_input: bool = False
    ) -> DurableOrchestrationStatus:
        """The case's Durable status (with its input when asked), or `InstanceNotFound` (404)."""
        instance_id = self.workflow.instance_id(business_id)
        return await existing_instance(client, instance_id, self.noun, business_id, show_input=show_input)

    def conflict(self, business_id: str, message: str, state: str | None = None) -> Conflict:
        """409: the case does not take this request now (`Location`: its status resource)."""
        return Conflict(message, location=resource_location(self.status_path(business_id)), state=state)

    def serve_status(self, blueprint: df.Blueprint, name: str, summary: str) -> None:
        """Register `GET <collection>/{<id_parameter>}` as `name` (any role that reads status): the
        case's status resource, or 404."""

        async def status_resource(call: Call) -> func.HttpResponse:
            return json_response(
                self.view(call.business_id, await self.existing(call.client, call.business_id))
            )

        status_resource.__name__, status_resource.__doc__ = name, summary
        route = f"{self.workflow.collection}/{{{self.id_parameter}}}"
        workflow_route(blueprint, "GET", route, Permission.READ_WORKFLOW_STATUS)(status_resource)
