"""Who is calling: the principal App Service Authentication (Easy Auth) vouches for, and nothing else.

Easy Auth validates the session cookie or bearer token in front of the app and injects
`X-MS-CLIENT-PRINCIPAL` (base64 JSON `{"auth_typ", "claims": [{"typ", "val"}], "name_typ",
"role_typ"}`), `X-MS-CLIENT-PRINCIPAL-ID` and `-NAME`; it strips those headers from what clients
send, and App Service sets `WEBSITE_AUTH_ENABLED=True` in the app's environment when it runs. The
headers are trusted only then: without Easy Auth in front, anyone could type them, so every
protected request is refused (401) instead. The devhost emulates both (`--easy-auth`).

- `principal_from_headers(headers)` → `Principal` (or `AuthenticationRequired`, 401).
- `Principal.authorize(permission)` → `Actor` (or `AccessDenied`, 403, naming the roles needed).
- `Actor`: the wire record of who acted (principal id, display name, the role used), carried by
  every decision event, certificate, refund record, confirmation and operator action.

Names are NFC-normalised; text holding Unicode format characters (category Cf: bidi controls,
zero-width characters) or control characters is refused, so an audit record cannot be made to
read differently from what it holds.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, field_validator

from contracts import ContractModel
from identity.roles import Permission, Role, known_role, roles_granting

PRINCIPAL_HEADER = "X-MS-CLIENT-PRINCIPAL"
PRINCIPAL_ID_HEADER = "X-MS-CLIENT-PRINCIPAL-ID"
PRINCIPAL_NAME_HEADER = "X-MS-CLIENT-PRINCIPAL-NAME"
PRINCIPAL_IDP_HEADER = "X-MS-CLIENT-PRINCIPAL-IDP"
# Every header Easy Auth injects (and strips from client requests) starts with one of these.
INJECTED_HEADER_PREFIXES = ("x-ms-client-principal", "x-ms-token-")
# Read-only; App Service injects it into the app's environment when authentication is enabled.
AUTH_ENABLED_SETTING = "WEBSITE_AUTH_ENABLED"
SIGN_IN_PATH = "/.auth/login/aad"
SIGN_OUT_PATH = "/.auth/logout"

# Claim types as Easy Auth presents Microsoft Entra tokens (long URI forms and the JWT short names).
OBJECT_ID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
DISPLAY_NAME_CLAIMS = ("name",)
ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
APPLICATION_ID_CLAIMS = ("appid", "azp")
MAX_ID_LENGTH = 256
MAX_NAME_LENGTH = 256
MAX_PRINCIPAL_HEADER_BYTES = 64 * 1024


class IdentityError(Exception):
    """A request refused for who sent it; `status_code` and `body()` make the JSON answer."""

    status_code = 401

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return {"error": str(self)}


class AuthenticationRequired(IdentityError):  # noqa: N818 (named for the HTTP status it is)
    """401: no authenticated principal (no session, no token, or Easy Auth is not in front)."""

    status_code = 401

    def body(self) -> dict[str, Any]:
        """`{"error", "signIn"}`: where a browser signs in."""
        return {"error": str(self), "signIn": SIGN_IN_PATH}


class AccessDenied(IdentityError):  # noqa: N818
    """403: authenticated, but not allowed to do this (missing role, maker-checker, shelter scope)."""

    status_code = 403

    def __init__(
        self, message: str, *, required_roles: tuple[Role, ...] = (), rule: str | None = None
    ) -> None:
        super().__init__(message)
        self.required_roles = required_roles
        self.rule = rule

    def body(self) -> dict[str, Any]:
        """`{"error"}` plus `requiredRoles` (the roles that grant it) or the `rule` it broke."""
        body: dict[str, Any] = {"error": str(self)}
        if self.required_roles:
            body["requiredRoles"] = [role.value for role in self.required_roles]
        if self.rule:
            body["rule"] = self.rule
        return body


def unsafe_text_reason(text: str) -> str | None:
    """Why `text` may not name anyone in a record (format or control characters), or None if it may."""
    for character in text:
        category = unicodedata.category(character)
        if category == "Cf":
            return f"contains the Unicode format character U+{ord(character):04X} (bidi or invisible)"
        if category == "Cc":
            return f"contains the control character U+{ord(character):04X}"
    return None


def clean_name(text: str) -> str:
    """`text` NFC-normalised and trimmed; ValueError when it is empty, too long or unsafe."""
    value = unicodedata.normalize("NFC", text).strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"must be at most {MAX_NAME_LENGTH} characters")
    reason = unsafe_text_reason(value)
    if reason:
        raise ValueError(reason)
    return value


class Actor(ContractModel):
    """Who did something: the principal's stable id, display name and the role used.

    The wire record in events, orchestration inputs and outputs, documents and logs
    (`{"principalId", "name", "role", "identityProvider"}`).
    """

    principal_id: Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
    role: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")] | None = None
    identity_provider: Annotated[str, Field(max_length=64)] | None = None

    @field_validator("principal_id", "name")
    @classmethod
    def _safe_text(cls, value: str) -> str:
        return clean_name(value)

    def describe(self) -> str:
        """`Ada Approver (id 1234…, Maintenance.Approver)`: for reasons and log lines."""
        role = f", {self.role}" if self.role else ""
        return f"{self.name} (id {self.principal_id}{role})"

    def same_principal(self, other: Actor | None) -> bool:
        """Whether `other` is the same principal (by stable id, never by name)."""
        return other is not None and other.principal_id == self.principal_id


@dataclass(frozen=True)
class Principal:
    """The authenticated caller as Easy Auth presented it."""

    principal_id: str
    name: str
    roles: frozenset[str]
    identity_provider: str
    claims: tuple[tuple[str, str], ...] = ()

    def has_role(self, role: Role) -> bool:
        """Whether the principal holds `role` (exact claim value)."""
        return role.value in self.roles

    def known_roles(self) -> tuple[Role, ...]:
        """The app roles the principal holds, in catalogue order."""
        held = {known_role(value) for value in self.roles}
        return tuple(role for role in Role if role in held)

    def can(self, permission: Permission) -> bool:
        """Whether any of the principal's roles grants `permission`."""
        return any(self.has_role(role) for role in roles_granting(permission))

    def role_for(self, permission: Permission) -> Role:
        """The role the principal uses for `permission`; `AccessDenied` naming the roles needed."""
        granting = roles_granting(permission)
        for role in granting:
            if self.has_role(role):
                return role
        needed = " or ".join(role.value for role in granting)
        raise AccessDenied(
            f"{self.name} is signed in but lacks the role for this: it needs {needed}",
            required_roles=granting,
        )

    def authorize(self, permission: Permission) -> Actor:
        """The `Actor` record for doing `permission` (with the role used); `AccessDenied` otherwise."""
        return self.actor(self.role_for(permission))

    def actor(self, role: Role | None = None) -> Actor:
        """This principal as an `Actor` record, acting in `role`."""
        return Actor(
            principal_id=self.principal_id,
            name=self.name,
            role=role.value if role else None,
            identity_provider=self.identity_provider or None,
        )

    def claim(self, claim_type: str) -> str | None:
        """The first value of a claim type, if present."""
        return next((value for typ, value in self.claims if typ == claim_type), None)


def authentication_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether Easy Auth runs in front of this app (`WEBSITE_AUTH_ENABLED`, set by the platform)."""
    env = os.environ if environ is None else environ
    return env.get(AUTH_ENABLED_SETTING, "").strip().lower() in ("true", "1")


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value, matched case-insensitively ('' when absent)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return str(value)
    return ""


def principal_from_headers(headers: Mapping[str, str], environ: Mapping[str, str] | None = None) -> Principal:
    """The authenticated principal of a request; `AuthenticationRequired` (401) when there is none.

    `AccessDenied` (403) when Easy Auth vouches for a principal whose id or name cannot be recorded
    (format or control characters): the identity is real, but no record may hold it.
    """
    if not authentication_enabled(environ):
        raise AuthenticationRequired(
            "authentication is not available: this host does not run App Service Authentication "
            "(Easy Auth); in Azure turn it on (infra/ does), locally start the devhost with --easy-auth"
        )
    encoded = header(headers, PRINCIPAL_HEADER).strip()
    if not encoded:
        raise AuthenticationRequired("sign in first: the request carries no authenticated principal")
    document = _decode_principal(encoded)
    claims = _claims_of(document)
    name_type = str(document.get("name_typ") or "")
    role_type = str(document.get("role_typ") or "")

    def first(types: tuple[str, ...]) -> str:
        return next((value for typ, value in claims if typ in types and value.strip()), "")

    principal_id = first(OBJECT_ID_CLAIMS) or header(headers, PRINCIPAL_ID_HEADER).strip()
    if not principal_id:
        raise AuthenticationRequired("the authenticated principal has no id; sign in again")
    name = (
        first(DISPLAY_NAME_CLAIMS)
        or (first((name_type,)) if name_type else "")
        or header(headers, PRINCIPAL_NAME_HEADER).strip()
        or first(APPLICATION_ID_CLAIMS)
        or principal_id
    )
    try:
        principal_id = clean_name(principal_id)
    except ValueError as error:
        raise AccessDenied(f"the signed-in principal's id {error}; it cannot be recorded") from None
    try:
        name = clean_name(name)
    except ValueError as error:
        raise AccessDenied(
            f"the signed-in principal's display name {error}; an audit record cannot hold it. "
            "Correct the name in Microsoft Entra ID"
        ) from None
    role_types = {*ROLE_CLAIMS, *([role_type] if role_type else [])}
    roles = frozenset(value.strip() for typ, value in claims if typ in role_types and value.strip())
    provider = str(document.get("auth_typ") or header(headers, PRINCIPAL_IDP_HEADER) or "")
    return Principal(principal_id, name, roles, provider[:64], tuple(claims))


def _decode_principal(encoded: str) -> dict[str, Any]:
    if len(encoded) > MAX_PRINCIPAL_HEADER_BYTES:
        raise AuthenticationRequired("the principal header is too large; sign in again")
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=False)
        document = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise AuthenticationRequired("the principal header cannot be read; sign in again") from None
    if not isinstance(document, dict):
        raise AuthenticationRequired("the principal header cannot be read; sign in again")
    return document


def _claims_of(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    claims = document.get("claims")
    if not isinstance(claims, list):
        return []
    found: list[tuple[str, str]] = []
    for claim in claims:
        if isinstance(claim, dict) and isinstance(claim.get("typ"), str) and claim.get("val") is not None:
            found.append((claim["typ"], str(claim["val"])))
    return found
