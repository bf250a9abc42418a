"""Read-only HTTP view of sandbox state: `GET /api/sandbox/{system}`, for tests and demos.

An HTTP endpoint, so it lives in the API (it uses the API's error handling and access check);
function_app.py registers this blueprint only when `sandbox_selected()`; a deployment that talks
to real systems never serves it. It shows the sandbox's own records (what the outside system would
hold, contact details included), so it must never be registered where real data flows. Like the
audit packets, it needs `Operations.Reader` or `Operations.Operator`.
"""

from __future__ import annotations

import azure.functions as func

from api import InvalidRequest, json_errors, json_response
from api.access import authorize
from identity import Permission
from integrations.inventory import SandboxInventoryStore
from integrations.selection import SYSTEMS, sandbox_system

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.route(route="sandbox/{system}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
def sandbox_state(req: func.HttpRequest) -> func.HttpResponse:
    """Effects, calls (and stock levels for inventory) recorded by one sandboxed system."""
    authorize(req, Permission.READ_OPERATIONS)
    system = req.route_params.get("system", "")
    if system not in SYSTEMS:
        raise InvalidRequest("system", f"must be one of {', '.join(SYSTEMS)}")
    sandbox = sandbox_system(system)
    operation = req.params.get("operation") or None
    body: dict[str, object] = {
        "system": system,
        "effects": sandbox.effects(operation),
        "calls": sandbox.calls(),
    }
    if system == "inventory":
        body["levels"] = [level.to_dict() for level in SandboxInventoryStore(sandbox).levels()]
    return json_response(body)
