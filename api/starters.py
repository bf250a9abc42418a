"""Starting a workflow instance exactly once per business id, and looking instances up for events."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from api.errors import Conflict, InstanceNotFound


async def start_once(  # noqa: PLR0917 (mirrors client.start_new plus the request)
    client: df.DurableOrchestrationClient,
    request: func.HttpRequest,
    orchestrator: str,
    instance_id: str,
    orchestration_input: dict[str, Any],
    resource: str,
) -> func.HttpResponse:
    """Start `orchestrator` as `instance_id` and answer 202 with the status URLs; 409 if it exists.

    Two starts racing for the same new id can both pass the check (a client's retry of a start
    that was answered 503 but landed meanwhile, for one); the runtime then refuses the second, which
    is answered 409 as well, so the business effect still happens once.
    """
    existing = await client.get_status(instance_id)
    if existing.runtime_status is not None:
        raise _exists(client, instance_id, resource, existing.runtime_status.value)
    try:
        await client.start_new(orchestrator, instance_id, orchestration_input)
    except Exception as error:
        # SDK 1.7 raises a bare Exception carrying the runtime's error body.
        if _ALREADY_EXISTS not in str(error):
            raise
        raise _exists(client, instance_id, resource, None) from error
    response: func.HttpResponse = client.create_check_status_response(request, instance_id)
    return response


# The runtime's exception type for a start whose id is taken (spec §11.2).
_ALREADY_EXISTS = "OrchestrationAlreadyExistsException"


def _exists(
    client: df.DurableOrchestrationClient, instance_id: str, resource: str, state: str | None
) -> Conflict:
    urls = client.create_http_management_payload(instance_id)
    return Conflict(f"{resource} already exists", status_url=urls["statusQueryGetUri"], state=state)


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
