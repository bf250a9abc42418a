"""Who an Easy Auth emulation session is, and its signed token (devhost.easy_auth uses both).

The sign-in fields become an `EmulatedUser` (each bad field named in a `SignInError`), presented to
the app as Easy Auth's Entra claims; a session is that user in an HMAC-SHA256-signed token, not a
stored record, so it survives a restart when the key is the app setting.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROVIDER = "aad"
SESSION_LIFETIME_SECONDS = 8 * 3600
# Claim types as Easy Auth presents a Microsoft Entra principal.
OBJECT_ID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
NAME_CLAIM_TYPE = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
ROLE_CLAIM_TYPE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
ROLES_CLAIM = "roles"
MAX_FIELD = 256
MAX_CLAIMS = 100
_ROLE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")


class SignInError(ValueError):
    """A sign-in field is missing or malformed (`field` names it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class EmulatedUser:
    """Who a session is: what the sign-in form said."""

    user_id: str
    user_details: str
    user_roles: tuple[str, ...]
    claims: tuple[tuple[str, str], ...] = ()

    def principal_claims(self) -> list[dict[str, str]]:
        """The claims Easy Auth would present for this Entra user: id, name, roles, then the extras."""
        claims = [
            {"typ": OBJECT_ID_CLAIM, "val": self.user_id},
            {"typ": "name", "val": self.user_details},
            {"typ": NAME_CLAIM_TYPE, "val": self.user_details},
        ]
        claims += [{"typ": ROLES_CLAIM, "val": role} for role in self.user_roles]
        claims += [{"typ": typ, "val": val} for typ, val in self.claims]
        return claims

    def principal_header(self) -> str:
        """`X-MS-CLIENT-PRINCIPAL`: base64 of `{"auth_typ", "claims", "name_typ", "role_typ"}`."""
        document = {
            "auth_typ": PROVIDER,
            "claims": self.principal_claims(),
            "name_typ": NAME_CLAIM_TYPE,
            "role_typ": ROLE_CLAIM_TYPE,
        }
        return base64.b64encode(json.dumps(document, ensure_ascii=False).encode("utf-8")).decode("ascii")

    def to_token_payload(self, issued_at: int, lifetime: int) -> dict[str, Any]:
        return {
            "v": 1,
            "userId": self.user_id,
            "userDetails": self.user_details,
            "userRoles": list(self.user_roles),
            "claims": [list(claim) for claim in self.claims],
            "iat": issued_at,
            "exp": issued_at + lifetime,
        }

    @classmethod
    def from_token_payload(cls, payload: Mapping[str, Any]) -> EmulatedUser:
        claims = payload.get("claims") or []
        return cls(
            user_id=str(payload["userId"]),
            user_details=str(payload["userDetails"]),
            user_roles=tuple(str(role) for role in payload.get("userRoles") or []),
            claims=tuple((str(typ), str(val)) for typ, val in claims),
        )


def user_from_fields(fields: Mapping[str, Any]) -> EmulatedUser:
    """An `EmulatedUser` from sign-in fields (form strings or JSON); `SignInError` naming a bad field."""
    user_id = _text_field(fields, "userId")
    user_details = _text_field(fields, "userDetails")
    raw_roles = fields.get("userRoles", "")
    if isinstance(raw_roles, list):
        roles = [str(role).strip() for role in raw_roles]
    elif isinstance(raw_roles, str):
        roles = [role.strip() for role in raw_roles.split(",")]
    else:
        raise SignInError("userRoles", "must be a comma-separated list of role names")
    roles = [role for role in dict.fromkeys(roles) if role]
    for role in roles:
        if not _ROLE.fullmatch(role):
            raise SignInError("userRoles", f"{role!r} is not a role name (letters, digits, '.', '_', '-')")
    return EmulatedUser(user_id, user_details, tuple(roles), _claims_field(fields.get("claims")))


def _text_field(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise SignInError(name, "is required")
    value = value.strip()
    if len(value) > MAX_FIELD:
        raise SignInError(name, f"must be at most {MAX_FIELD} characters")
    return value


def _claims_field(raw: Any) -> tuple[tuple[str, str], ...]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SignInError("claims", 'must be a JSON list of {"typ": ..., "val": ...}') from None
    if not isinstance(raw, list) or len(raw) > MAX_CLAIMS:
        raise SignInError("claims", f'must be a JSON list of at most {MAX_CLAIMS} {{"typ", "val"}} objects')
    claims = []
    for index, claim in enumerate(raw):
        if not (isinstance(claim, dict) and isinstance(claim.get("typ"), str) and claim.get("typ")):
            raise SignInError(f"claims[{index}]", 'must be an object with a "typ" text and a "val"')
        value = claim.get("val")
        if isinstance(value, dict | list) or value is None:
            raise SignInError(f"claims[{index}].val", "must be text, a number or a boolean")
        claims.append((str(claim["typ"])[:MAX_FIELD], str(value)[:4096]))
    return tuple(claims)


class SessionSigner:
    """Makes and checks session tokens: `base64url(payload).base64url(HMAC-SHA256(key, payload))`."""

    def __init__(self, key: bytes, lifetime: int = SESSION_LIFETIME_SECONDS) -> None:
        self.key = key
        self.lifetime = lifetime

    def issue(self, user: EmulatedUser, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        body = _b64(json.dumps(user.to_token_payload(issued, self.lifetime), ensure_ascii=False).encode())
        return f"{body}.{self._signature(body)}"

    def verify(self, token: str, now: float | None = None) -> EmulatedUser | None:
        """The session's user, or None for a forged, malformed or expired token."""
        body, _, signature = token.strip().partition(".")
        if not body or not signature or not hmac.compare_digest(signature, self._signature(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            expires = int(payload["exp"])
            user = EmulatedUser.from_token_payload(payload)
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if (time.time() if now is None else now) >= expires:
            return None
        return user

    def _signature(self, body: str) -> str:
        return _b64(hmac.new(self.key, body.encode("ascii"), hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
