"""Starting a workflow instance exactly once per business id, and looking instances up for events."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from api.errors import Conflict, InstanceNotFound
from audit_packets import PacketExtras, publish_audit_packet


async def start_once(  # noqa: PLR0917 (mirrors client.start_new plus the request)
    client: df.DurableOrchestrationClient,
    request: func.HttpRequest,
    orchestrator: str,
    instance_id: str,
    orchestration_input: dict[str, Any],
    resource: str,
) -> func.HttpResponse:
    """Start `orchestrator` as `instance_id` and answer 202 with the status URLs; 409 if it exists.

    Two starts racing for the same new id can both pass the check; the task hub then keeps one
    instance (the id is the key), so the business effect still happens once.
    """
    existing = await client.get_status(instance_id)
    if existing.runtime_status is not None:
        urls = client.create_http_management_payload(instance_id)
        raise Conflict(
            f"{resource} already exists",
            status_url=urls["statusQueryGetUri"],
            state=existing.runtime_status.value,
        )
    await client.start_new(orchestrator, instance_id, orchestration_input)
    response: func.HttpResponse = client.create_check_status_response(request, instance_id)
    return response


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


async def audit_packet_of(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    *,
    workflow: str,
    extras: PacketExtras,
    resource: str,
    identifier: str,
) -> dict[str, Any]:
    """The workflow's audit packet (built, stored as a blob, returned), or `InstanceNotFound` (404)."""
    packet = await publish_audit_packet(client, instance_id, workflow=workflow, extras=extras)
    if packet is None:
        raise InstanceNotFound(resource, identifier)
    return packet
