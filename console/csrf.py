"""CSRF protection of the console's forms: a per-browser secret cookie plus a signed form token.

Every page with a form makes sure the browser holds a random `console_csrf` cookie (HttpOnly,
SameSite=Strict, path `/api/console`). A form carries `HMAC(key, cookie value | purpose)`; a POST
is accepted only when the cookie is present and the token matches it for that purpose (the action
and instance it is about), so another site can neither read nor forge a token, and a token for one
instance cannot be replayed on another. A present `Origin` header must also be this host.

Key: the app setting `CONSOLE_CSRF_KEY` (set it in Azure, same value on every instance); else the
App Service's `WEBSITE_AUTH_ENCRYPTION_KEY`; else a random key per process (fine for one host:
a restart only makes open forms ask again).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

COOKIE_NAME = "console_csrf"
COOKIE_PATH = "/api/console"
KEY_SETTING = "CONSOLE_CSRF_KEY"
FALLBACK_KEY_SETTING = "WEBSITE_AUTH_ENCRYPTION_KEY"
_PROCESS_KEY = secrets.token_bytes(32)


class CsrfError(Exception):
    """The form did not prove it came from a console page of this browser."""


def signing_key(environ: Mapping[str, str] | None = None) -> bytes:
    """The key the tokens are signed with (see the module docstring)."""
    env = os.environ if environ is None else environ
    text = env.get(KEY_SETTING, "").strip() or env.get(FALLBACK_KEY_SETTING, "").strip()
    return hashlib.sha256(text.encode()).digest() if text else _PROCESS_KEY


def cookie_secret(headers: Mapping[str, str]) -> str | None:
    """The browser's CSRF cookie value, if it sent one."""
    raw = _header(headers, "cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE_NAME)
    value = morsel.value if morsel is not None else ""
    return value if len(value) >= 32 else None


def new_secret() -> str:
    """A fresh cookie value."""
    return secrets.token_urlsafe(32)


def set_cookie_header(secret: str, secure: bool) -> str:
    """The `Set-Cookie` header value that stores `secret` in the browser."""
    flags = f"; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict"
    return f"{COOKIE_NAME}={secret}{flags}{'; Secure' if secure else ''}"


def form_token(secret: str, purpose: str, key: bytes | None = None) -> str:
    """The token a form for `purpose` carries, bound to the browser's cookie secret."""
    digest = hmac.new(key or signing_key(), f"{secret}|{purpose}".encode(), hashlib.sha256)
    return digest.hexdigest()


def check(headers: Mapping[str, str], url: str, token: str, purpose: str, key: bytes | None = None) -> None:
    """Raise `CsrfError` unless the request's cookie, token and origin fit `purpose`."""
    origin = _header(headers, "origin")
    if origin and origin != "null" and urlsplit(origin).netloc != urlsplit(url).netloc:
        raise CsrfError("the form was posted from another site")
    secret = cookie_secret(headers)
    if secret is None:
        raise CsrfError("the console's form cookie is missing (are cookies blocked?)")
    if not token or not hmac.compare_digest(form_token(secret, purpose, key), token):
        raise CsrfError("the form is stale or was not made by this console; open the page again")


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return ""
