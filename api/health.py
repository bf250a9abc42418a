"""`GET /api/health`: the platform health check (infra sets `healthCheckPath` to it).

It answers 200 while the worker can serve requests and reach its storage account, and 503 (with
`Retry-After`) when storage is unreachable, so the platform replaces an instance that cannot run
orchestrations. It answers within `HEALTH_DEADLINE_SECONDS` whatever storage does, and runs on its
own: an async function on the worker's event loop, never queued behind activities or sync HTTP
functions in the thread pool (it used to wait 40 s behind activities stuck in storage retries).
It reads nothing sensitive and needs no key (the platform calls it without one).

The probe reads the properties of this task hub's own effect-ledger container: the slot's identity
may touch its own containers only (infra/modules/rbac.bicep), so an account-wide call such as
listing containers would be refused on Azure and take a healthy instance out. A container that
does not exist yet still counts: storage answered.
"""

from __future__ import annotations

import asyncio
import contextlib

import azure.functions as func
from azure.core.exceptions import AzureError, ResourceNotFoundError

from api.errors import ServiceUnavailable
from api.handlers import json_response
from blob_clients import StorageNotConfiguredError, async_blob_service_client, container_name
from idempotency.ledger import LEDGER_CONTAINER_PURPOSE

bp = func.Blueprint()  # type: ignore[no-untyped-call]

HEALTH_DEADLINE_SECONDS = 3.0


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 when the storage account answers in time, 503 otherwise."""
    try:
        await asyncio.wait_for(_probe_storage(), HEALTH_DEADLINE_SECONDS)
    except (AzureError, OSError, TimeoutError, ValueError, StorageNotConfiguredError) as error:
        return json_response(
            {"status": "unhealthy", "reason": type(error).__name__},
            503,
            headers={"Retry-After": str(ServiceUnavailable.retry_after_seconds)},
        )
    return json_response({"status": "healthy"})


async def _probe_storage() -> None:
    """One read of this hub's ledger container: proves the account answers and the identity works."""
    async with async_blob_service_client() as client:
        container = client.get_container_client(container_name(LEDGER_CONTAINER_PURPOSE))
        # A missing container still means storage answered: it appears with the first effect.
        with contextlib.suppress(ResourceNotFoundError):
            await container.get_container_properties()
