"""Who may call an HTTP function: the Easy Auth principal and the role a permission needs.

Every function except `GET /api/health` starts with `authorize(req, Permission.X)` (or
`authenticate(req)` where any signed-in principal may read), before it looks at the body, so an
unauthenticated caller learns nothing but 401 and a caller without the role nothing but 403. The
returned `Actor` is what the function records as the decider; names typed into a body never are.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import azure.functions as func
from pydantic import Field

from api.errors import InvalidRequest
from audit_packets import loads_json
from identity import Actor, Permission, Principal, principal_from_headers


def authenticate(req: func.HttpRequest) -> Principal:
    """The request's authenticated principal; `AuthenticationRequired` (401) when there is none."""
    return principal_from_headers(req.headers)


def authorize(req: func.HttpRequest, permission: Permission) -> Actor:
    """The `Actor` for `permission`: 401 without a principal, 403 naming the roles without the role."""
    return authenticate(req).authorize(permission)


def recorded_actor(orchestration_input: Any, field: str) -> Actor | None:
    """The principal an instance's input records under `field` (`startedBy`, `filedBy`); None for
    instances started before the principal was recorded."""
    data = loads_json(orchestration_input)
    recorded = data.get(field) if isinstance(data, dict) else None
    return Actor.from_dict(recorded) if isinstance(recorded, dict) else None


def deprecated_decider_field(decider: str) -> Any:
    """The pydantic field of a deprecated body field naming the `decider` (`approver`, `supervisor`):
    optional, and accepted only when it names the signed-in principal (`refuse_named_decider`)."""
    return Field(
        default=None,
        min_length=1,
        max_length=256,
        description=f"Deprecated: the {decider} is the signed-in principal; leave it out. A value that "
        "names anyone else is a 400.",
        json_schema_extra={"deprecated": True},
    )


def refuse_named_decider(value: str | None, actor: Actor, field: str) -> None:
    """400 naming `field` when a (deprecated) body field names someone other than the signed-in principal.

    Old clients may still send `approver`/`supervisor`; it is accepted only when it names the caller
    (display name or principal id, compared NFC-normalised and case-insensitively) and is never
    recorded: the decider is the authenticated principal.
    """
    if value is None:
        return
    named = unicodedata.normalize("NFC", value).strip().casefold()
    if named in (actor.name.casefold(), actor.principal_id.casefold()):
        return
    raise InvalidRequest(
        field,
        "names someone other than the signed-in principal; the decider is whoever is signed in, "
        "so leave this field out",
    )
