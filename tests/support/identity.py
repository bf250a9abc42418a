"""Signing test callers in to a devhost that emulates Easy Auth (`make_host(..., easy_auth=True)`).

Tests act as people and services through the emulation's sign-in, exactly as a client would: a
token per principal (`Authorization: Bearer`), cached per host. The local principals of
`ops.sign_in` cover the usual cast; `person()` makes more (a second approver, an outsider).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from identity import Role
from ops.app_client import AppClient
from ops.sign_in import LOCAL_APPROVER as APPROVER
from ops.sign_in import LOCAL_OPERATOR as OPERATOR
from ops.sign_in import LOCAL_READER as READER
from ops.sign_in import LOCAL_SHELTER_STAFF as SHELTER_STAFF
from ops.sign_in import LOCAL_SUBMITTER as SUBMITTER
from ops.sign_in import LOCAL_SUPERVISOR as SUPERVISOR
from ops.sign_in import LocalPrincipal, bearer, sign_in

__all__ = [
    "APPROVER",
    "OPERATOR",
    "READER",
    "SHELTER_STAFF",
    "SUBMITTER",
    "SUPERVISOR",
    "LocalPrincipal",
    "Role",
    "Tokens",
    "actor_record",
    "forged_approval",
    "person",
]


def person(name: str, *roles: Role | str, user_id: str | None = None) -> LocalPrincipal:
    """A principal named `name` holding `roles` (id derived from the name unless given)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "someone"
    return LocalPrincipal(user_id or f"test-{slug}", name, tuple(roles))


def actor_record(principal: LocalPrincipal, role: Role) -> dict[str, str]:
    """The `identity.Actor` record the HTTP edge writes for `principal` acting in `role`."""
    return {
        "principalId": principal.user_id,
        "name": principal.name,
        "role": role.value,
        "identityProvider": "aad",
    }


def forged_approval(principal: LocalPrincipal) -> dict[str, Any]:
    """An `approval_decision` body as `principal` would forge it, raised past the API: approving and
    naming themself as an authenticated approver (the orchestration must refuse it from the starter)."""
    return {
        "approved": True,
        "approver": principal.name,
        "decidedAt": "2026-11-11T09:00:00Z",
        "decidedBy": actor_record(principal, Role.MAINTENANCE_APPROVER),
    }


@dataclass
class Tokens:
    """Session tokens of principals on one host (signed in on first use)."""

    base_url: str
    cache: dict[LocalPrincipal, str] = field(default_factory=dict)
    apps: dict[str, AppClient] = field(default_factory=dict)

    def token(self, principal: LocalPrincipal) -> str:
        """`principal`'s token on this host."""
        if principal not in self.cache:
            self.cache[principal] = sign_in(self.base_url, principal)
        return self.cache[principal]

    def headers(self, principal: LocalPrincipal | None) -> dict[str, str]:
        """The `Authorization` header of `principal` (none for None: an anonymous call)."""
        return bearer(self.token(principal)) if principal is not None else {}

    def app(self, principal: LocalPrincipal | None) -> AppClient:
        """A client of the app's API acting as `principal` (None: anonymous), one per principal."""
        key = principal.user_id if principal is not None else ""
        if key not in self.apps:
            token = self.token(principal) if principal is not None else None
            self.apps[key] = AppClient(self.base_url, token=token)
        return self.apps[key]
