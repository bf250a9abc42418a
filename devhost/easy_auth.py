"""Emulation of App Service Authentication ("Easy Auth") for the devhost (`--easy-auth`).

Modelled on the Azure Static Web Apps CLI's local authentication emulator, so the app's code runs
unchanged on the devhost and on Azure: the app only ever reads the `X-MS-CLIENT-PRINCIPAL*`
headers, and here they come from this module instead of the platform.

- `GET /.auth/login/aad`: a sign-in form (`userId`, `userDetails`, `userRoles` comma-separated,
  optional `claims` as a JSON list of `{"typ", "val"}`), with `post_login_redirect_uri` carried
  through. No password: any identity may be typed, exactly like the SWA CLI; this is a local tool.
- `POST /.auth/login/aad` (form or JSON with those fields): signs in. It sets the session cookie
  `AppServiceAuthSession` and redirects to `post_login_redirect_uri` (a path on this host) when
  given. A JSON body (`Accept: application/json` or a JSON content type) is the emulation's
  stand-in for Azure's client-directed sign-in and for client-credential tokens: the answer is
  `{"authenticationToken", "user": {"userId"}}`, and the token goes in `X-ZUMO-AUTH` or
  `Authorization: Bearer` on later requests (service-to-service test callers use this).
- `GET /.auth/me`: Easy Auth's JSON shape, `[{"provider_name", "user_id", "user_claims", ...}]`.
- `GET /.auth/logout`: clears the cookie; redirects to `post_logout_redirect_uri` when given.

Every request loses the `X-MS-CLIENT-PRINCIPAL*` and `X-MS-TOKEN-*` headers a client sent (as on
Azure). A request with a valid session gets them injected; one without gets 401 (JSON, or an HTML
page linking to the sign-in form for browsers), except the excluded paths (`/api/health`, as in
infra/) and the devhost's own `/admin/*` test routes. The Durable management API
(`/runtime/webhooks/durabletask/*`) needs a session too; the app's own durable client binding
reaches it through a second listener on a random loopback port instead (as on Azure, where
`rpcBaseUrl` is the extension's local endpoint, not the public host name), which serves nothing
else. The devhost sets `WEBSITE_AUTH_ENABLED=True` for the app, as App Service does, and removes a
`WEBSITE_AUTH_ENABLED` that local settings tried to set without `--easy-auth`.

Sessions are signed (HMAC-SHA256), not stored: the key is the app setting
`WEBSITE_AUTH_ENCRYPTION_KEY` (the name App Service uses) when set, so sessions survive a restart,
else a random key per process. A session lasts `SESSION_LIFETIME`.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import os
import re
import secrets
import sys
from collections.abc import Awaitable, Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web
from multidict import CIMultiDict

from devhost.api_http import WEBHOOK_PATH
from devhost.easy_auth_session import (
    NAME_CLAIM_TYPE,
    PROVIDER,
    ROLE_CLAIM_TYPE,
    EmulatedUser,
    SessionSigner,
    SignInError,
    user_from_fields,
)

AUTH_PREFIX = "/.auth"
LOGIN_PATH = "/.auth/login/aad"
LOGIN_DONE_PATH = "/.auth/login/done"
ME_PATH = "/.auth/me"
LOGOUT_PATH = "/.auth/logout"
SESSION_COOKIE = "AppServiceAuthSession"
SESSION_HEADER = "X-ZUMO-AUTH"
AUTH_ENABLED_SETTING = "WEBSITE_AUTH_ENABLED"
ENCRYPTION_KEY_SETTING = "WEBSITE_AUTH_ENCRYPTION_KEY"
EXCLUDED_PATHS = ("/api/health",)
# The devhost's own test interface (readiness, virtual clock, raw history); not part of any app.
UNPROTECTED_PREFIXES = ("/admin/",)
INJECTED_PREFIXES = ("x-ms-client-principal", "x-ms-token-")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class EasyAuthEmulator:
    """The aiohttp middleware and the `/.auth/*` routes of the emulation."""

    def __init__(self, signer: SessionSigner, excluded_paths: tuple[str, ...] = EXCLUDED_PATHS) -> None:
        self.signer = signer
        self.excluded_paths = excluded_paths
        self.internal_port: int | None = None

    @classmethod
    def enable(cls, environ: dict[str, str] | None = None) -> EasyAuthEmulator:
        """Turn authentication on for the app (`WEBSITE_AUTH_ENABLED=True`) and make the emulator."""
        env = os.environ if environ is None else environ
        env[AUTH_ENABLED_SETTING] = "True"
        key_text = env.get(ENCRYPTION_KEY_SETTING, "").strip()
        key = hashlib.sha256(key_text.encode()).digest() if key_text else secrets.token_bytes(32)
        return cls(SessionSigner(key))

    @staticmethod
    def keep_disabled(environ: dict[str, str] | None = None) -> None:
        """Without `--easy-auth`, no setting may claim that authentication runs (it is read-only on Azure)."""
        env = os.environ if environ is None else environ
        if env.pop(AUTH_ENABLED_SETTING, None) is not None:
            print(
                f"devhost: ignoring the {AUTH_ENABLED_SETTING} setting: it is set by the platform, not by "
                "app settings; start with --easy-auth to emulate App Service Authentication",
                file=sys.stderr,
            )

    async def start_internal_rpc(self, runner: web.AppRunner) -> str:
        """Listen on a random loopback port for the app's own durable client; returns its base URL."""
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only through the server's sockets
        sockets = getattr(server, "sockets", None) or []
        self.internal_port = int(sockets[0].getsockname()[1])
        return f"http://127.0.0.1:{self.internal_port}{WEBHOOK_PATH}/"

    # -- the middleware ------------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Strip client-sent identity headers; serve /.auth/*; inject the principal or answer 401."""
        path = request.rel_url.raw_path
        if self.internal_port is not None and _local_port(request) == self.internal_port:
            # The internal listener serves the management API to the app itself, nothing else.
            if path == WEBHOOK_PATH or path.startswith(WEBHOOK_PATH + "/"):
                return await handler(request.clone(headers=_without_identity(request.headers)))
            return web.json_response(
                {"error": "the internal endpoint serves the Durable API only"}, status=404
            )
        if path == AUTH_PREFIX or path.startswith(AUTH_PREFIX + "/"):
            return await self.auth_route(request, path)
        headers = _without_identity(request.headers)
        user, refused = self.session_user(request)
        if user is not None:
            headers.update(_principal_headers(user))
            return await handler(request.clone(headers=headers))
        if path in self.excluded_paths or path.startswith(UNPROTECTED_PREFIXES):
            return await handler(request.clone(headers=headers))
        return self.unauthenticated(request, refused)

    def session_user(self, request: web.Request) -> tuple[EmulatedUser | None, str | None]:
        """The signed-in user (bearer or `X-ZUMO-AUTH` token first, then the cookie), or why not."""
        authorization = request.headers.get("Authorization", "")
        scheme, _, credential = authorization.partition(" ")
        token = request.headers.get(SESSION_HEADER, "")
        if scheme.lower() == "bearer" and credential.strip():
            token = credential
        if not token:
            token = _cookie(request.headers.get("Cookie", ""), SESSION_COOKIE)
        if not token:
            return None, None
        user = self.signer.verify(token)
        return (user, None) if user else (None, "the session or token is invalid or expired; sign in again")

    def unauthenticated(self, request: web.Request, reason: str | None) -> web.StreamResponse:
        """401: JSON for API clients, a page with a sign-in link for browsers."""
        path = request.rel_url.raw_path
        back = request.rel_url.path_qs
        sign_in = f"{LOGIN_PATH}?post_login_redirect_uri={quote(back, safe='')}"
        message = reason or "sign in first: this host runs App Service Authentication (emulated)"
        headers = {"WWW-Authenticate": 'Bearer realm="devhost-easy-auth"'}
        if _wants_html(request) and not path.startswith(WEBHOOK_PATH):
            body = _page(
                "Sign-in required",
                f"<p>{html.escape(message)}.</p><p><a href='{html.escape(sign_in)}'>Sign in</a></p>",
            )
            return web.Response(status=401, text=body, content_type="text/html", headers=headers)
        return web.json_response({"error": message, "signIn": sign_in}, status=401, headers=headers)

    # -- /.auth/* --------------------------------------------------------------------------------

    async def auth_route(self, request: web.Request, path: str) -> web.StreamResponse:
        if path == LOGIN_PATH and request.method == "GET":
            return self.login_form(request.query.get("post_login_redirect_uri", ""), {})
        if path == LOGIN_PATH and request.method == "POST":
            return await self.login(request)
        if path == LOGIN_DONE_PATH and request.method == "GET":
            user, _ = self.session_user(request)
            who = f"Signed in as {user.user_details}." if user else "Not signed in."
            return web.Response(
                text=_page("Signed in", f"<p>{html.escape(who)}</p>"), content_type="text/html"
            )
        if path == ME_PATH and request.method == "GET":
            return self.me(request)
        if path == LOGOUT_PATH and request.method in ("GET", "POST"):
            return self.logout(request)
        return web.json_response(
            {"error": f"no such authentication route: {request.method} {path}"}, status=404
        )

    def login_form(
        self, redirect: str, errors: Mapping[str, str], values: Mapping[str, str] | None = None
    ) -> web.Response:
        values = dict(values or {})
        values.setdefault("userId", secrets.token_hex(16))

        def field(name: str, label: str, hint: str) -> str:
            error = f"<p class='error' role='alert'>{html.escape(errors[name])}</p>" if name in errors else ""
            return (
                f"<p><label for='{name}'>{label}</label><br>"
                f"<input id='{name}' name='{name}' value='{html.escape(values.get(name, ''))}' size='60'>"
                f"<br><small>{hint}</small></p>{error}"
            )

        claims_error = "".join(
            f"<p class='error' role='alert'>{html.escape(k)}: {html.escape(v)}</p>"
            for k, v in errors.items()
            if k.startswith("claims")
        )
        other_errors = "".join(
            f"<p class='error' role='alert'>{html.escape(k)}: {html.escape(v)}</p>"
            for k, v in errors.items()
            if k not in ("userId", "userDetails", "userRoles") and not k.startswith("claims")
        )
        body = (
            "<p>Local emulation of App Service Authentication (Microsoft Entra ID). Type the identity "
            "to use; no password is checked.</p>"
            + other_errors
            + f"<form method='post' action='{LOGIN_PATH}'>"
            f"<input type='hidden' name='post_login_redirect_uri' value='{html.escape(redirect)}'>"
            + field("userId", "User ID", "the principal's stable id (the Entra object id in Azure)")
            + field("userDetails", "User details", "the display name")
            + field("userRoles", "User roles", "app roles, comma-separated, e.g. Maintenance.Approver")
            + "<p><label for='claims'>Claims</label><br>"
            f"<textarea id='claims' name='claims' rows='3' cols='60'>{html.escape(values.get('claims', ''))}"
            '</textarea><br><small>optional JSON list of {"typ": ..., "val": ...}</small></p>'
            + claims_error
            + "<p><button type='submit'>Sign in</button></p></form>"
        )
        return web.Response(
            status=400 if errors else 200, text=_page("Sign in (emulated)", body), content_type="text/html"
        )

    async def login(self, request: web.Request) -> web.StreamResponse:
        wants_json = _is_json(
            request.headers.get("Content-Type", "")
        ) or "application/json" in request.headers.get("Accept", "")
        try:
            if _is_json(request.headers.get("Content-Type", "")):
                fields: dict[str, Any] = await request.json()
                if not isinstance(fields, dict):
                    raise SignInError("body", "must be a JSON object")
            else:
                fields = dict(await request.post())
        except ValueError:
            return web.json_response({"error": "the body is not valid JSON", "field": "body"}, status=400)
        redirect = str(fields.get("post_login_redirect_uri") or fields.get("post_login_redirect_url") or "")
        try:
            user = user_from_fields(fields)
            redirect = _local_redirect(redirect)
        except SignInError as error:
            if wants_json:
                return web.json_response({"error": str(error), "field": error.field}, status=400)
            text_values = {k: v for k, v in fields.items() if isinstance(v, str)}
            return self.login_form(redirect, {error.field: str(error)}, text_values)
        token = self.signer.issue(user)
        if wants_json:
            response: web.StreamResponse = web.json_response(
                {"authenticationToken": token, "user": {"userId": user.user_id}}
            )
        else:
            response = web.HTTPFound(redirect or LOGIN_DONE_PATH)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=request.secure,
            max_age=self.signer.lifetime,
        )
        return response

    def me(self, request: web.Request) -> web.Response:
        user, refused = self.session_user(request)
        if user is None:
            return web.json_response({"error": refused or "not signed in"}, status=401)
        return web.json_response(
            [
                {
                    "provider_name": PROVIDER,
                    "user_id": user.user_id,
                    "user_claims": user.principal_claims(),
                    "typ": NAME_CLAIM_TYPE,
                    "role_typ": ROLE_CLAIM_TYPE,
                }
            ]
        )

    def logout(self, request: web.Request) -> web.StreamResponse:
        try:
            redirect = _local_redirect(request.query.get("post_logout_redirect_uri", ""))
        except SignInError as error:
            return web.json_response({"error": str(error), "field": error.field}, status=400)
        response: web.StreamResponse = (
            web.HTTPFound(redirect)
            if redirect
            else web.Response(
                text=_page("Signed out", "<p>You are signed out.</p>"), content_type="text/html"
            )
        )
        response.del_cookie(SESSION_COOKIE, path="/")
        return response


def _principal_headers(user: EmulatedUser) -> dict[str, str]:
    return {
        "X-MS-CLIENT-PRINCIPAL": user.principal_header(),
        "X-MS-CLIENT-PRINCIPAL-ID": user.user_id,
        # Header values cannot carry line breaks; the full name is in the principal's claims.
        "X-MS-CLIENT-PRINCIPAL-NAME": re.sub(r"[\r\n\x00]", " ", user.user_details),
        "X-MS-CLIENT-PRINCIPAL-IDP": PROVIDER,
    }


def _without_identity(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """The request headers minus every identity header a client may not set itself."""
    kept: CIMultiDict[str] = CIMultiDict()
    for key, value in headers.items():
        if not key.lower().startswith(INJECTED_PREFIXES):
            kept.add(key, value)
    return kept


def _local_port(request: web.Request) -> int | None:
    transport = request.transport
    sockname: Any = transport.get_extra_info("sockname") if transport is not None else None
    with contextlib.suppress(TypeError, IndexError, ValueError):
        return int(sockname[1])
    return None


def _cookie(raw: str, name: str) -> str:
    if not raw:
        return ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel is not None else ""


def _local_redirect(target: str) -> str:
    """`target` when it is a path on this host ('' when empty); `SignInError` for anything else."""
    target = target.strip()
    if not target:
        return ""
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        raise SignInError("post_login_redirect_uri", "must be a path on this host, such as /api/console")
    return target


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}"
        "<p><small>devhost: App Service Authentication emulation (--easy-auth)</small></p></body></html>"
    )
