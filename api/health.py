"""`GET /api/health`: the platform health check (infra sets `healthCheckPath` to it).

It answers 200 while the worker can serve requests and reach its storage account, and 503 when
storage is unreachable, so the platform replaces an instance that cannot run orchestrations.
It reads nothing sensitive and needs no key (the platform calls it without one).

The probe reads the properties of this task hub's own effect-ledger container: the slot's identity
may touch its own containers only (infra/modules/rbac.bicep), so an account-wide call such as
listing containers would be refused on Azure and take a healthy instance out. A container that
does not exist yet still counts: storage answered.
"""

from __future__ import annotations

import azure.functions as func
from azure.core.exceptions import AzureError, ResourceNotFoundError

from api.handlers import json_response
from blob_clients import StorageNotConfiguredError, blob_service_client, container_name
from idempotency.ledger import LEDGER_CONTAINER_PURPOSE

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 when the storage account answers, 503 otherwise."""
    try:
        container = blob_service_client().get_container_client(container_name(LEDGER_CONTAINER_PURPOSE))
        # One quick attempt: a health probe must answer within the platform's timeout, not retry.
        container.get_container_properties(timeout=5, retry_total=0, connection_timeout=3)
    except ResourceNotFoundError:
        pass  # storage answered; the container appears with the first effect
    except (AzureError, ValueError, StorageNotConfiguredError) as error:
        return json_response({"status": "unhealthy", "reason": type(error).__name__}, 503)
    return json_response({"status": "healthy"})
