"""What keeps other web pages away from a devhost on this machine: DNS rebinding and cross-site writes.

A devhost listens on loopback and its Durable management API has no keys, so two browser tricks
would otherwise reach it from any web page the developer opens:
- **DNS rebinding**: a page on `evil.example` re-points its name at 127.0.0.1 and then reads and
  writes the devhost as "same origin". Its requests still say `Host: evil.example`, so only
  loopback names are accepted: `localhost`, `127.0.0.1` (any 127.x.y.z), `[::1]`, with any port,
  plus the names given with `--allow-host` (e.g. a container's host name). Anything else is a 403
  naming the option. A request without a `Host` header (not a browser) is let through.
- **Cross-site writes**: a page may send a "simple" POST (`text/plain`, a form) to any address
  without asking first; the management API would terminate, raise or purge on its say-so. Every
  request to `/runtime/webhooks/durabletask` other than GET/HEAD/OPTIONS that a browser marks as
  coming from another site (`Origin` not this host, or `null`; `Sec-Fetch-Site: cross-site` or
  `same-site`) is a 403. The app's own routes refuse bodies that are not `application/json`
  themselves (api/validation.py), and a JSON POST from another site needs a CORS preflight,
  which the devhost never grants.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

from devhost.api_http import WEBHOOK_PATH

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CROSS_SITE_FETCH = frozenset({"cross-site", "same-site"})


def host_name(value: str) -> str:
    """The name part of a `Host` header (`[::1]:7071` → `::1`, `Localhost:7071` → `localhost`)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_loopback(name: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1."""
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class LocalRequestGuard:
    """The aiohttp middleware that applies both rules (see the module docstring)."""

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        self.allowed_hosts = frozenset(host_name(name) for name in allowed_hosts if name.strip())

    def host_allowed(self, host: str) -> bool:
        name = host_name(host)
        return is_loopback(name) or name in self.allowed_hosts

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host")
        if host is not None and not self.host_allowed(host):
            return web.json_response(
                {
                    "error": f"Host {host!r} is not this devhost's (DNS rebinding protection): use "
                    "localhost or 127.0.0.1, or start the devhost with --allow-host NAME"
                },
                status=403,
            )
        path = request.rel_url.raw_path
        management = path == WEBHOOK_PATH or path.startswith(WEBHOOK_PATH + "/")
        if management and request.method not in SAFE_METHODS:
            refusal = cross_site_refusal(request)
            if refusal is not None:
                return web.json_response({"error": refusal}, status=403)
        return await handler(request)


def cross_site_refusal(request: web.Request) -> str | None:
    """Why a browser-sent request comes from another site (None when it does not)."""
    fetch_site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    if fetch_site in CROSS_SITE_FETCH:
        return f"the management API refuses writes from another site (Sec-Fetch-Site: {fetch_site})"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    own = (request.headers.get("Host") or "").strip().lower()
    if origin.strip().lower() == "null" or urlsplit(origin.strip()).netloc.lower() != own:
        return f"the management API refuses writes from another origin ({origin})"
    return None
