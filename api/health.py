"""`GET /api/health`: the platform health check (infra sets `healthCheckPath` to it).

It answers 200 while the worker can serve requests and reach its storage account, and 503 when
storage is unreachable, so the platform replaces an instance that cannot run orchestrations.
It reads nothing sensitive and needs no key (the platform calls it without one).
"""

from __future__ import annotations

import azure.functions as func
from azure.core.exceptions import AzureError

from api.handlers import json_response
from blob_clients import blob_service_client

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """200 when the storage account answers, 503 otherwise."""
    try:
        # One quick attempt: a health probe must answer within the platform's timeout, not retry.
        containers = blob_service_client().list_containers(
            results_per_page=1, timeout=5, retry_total=0, connection_timeout=3
        )
        next(containers.by_page(), None)
    except (AzureError, ValueError) as error:
        return json_response({"status": "unhealthy", "reason": type(error).__name__}, 503)
    return json_response({"status": "healthy"})
