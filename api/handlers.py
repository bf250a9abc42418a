"""The one error-mapping wrapper for HTTP functions, and JSON responses.

`json_errors` decides the status of every failure in one place: `InvalidRequest` → 400,
`AuthenticationRequired` → 401, `AccessDenied` → 403 (naming the roles needed),
`InstanceNotFound` → 404, `Conflict` → 409 (each with its JSON body), storage or the Durable
runtime's store out of reach → 503 with `Retry-After` (`unavailable`), anything else → 500 with a
generic body while the traceback goes to the `workflows` log, redacted by its filter (see
telemetry.py). Internals never reach the caller.

It also keeps requests from hanging during a storage outage: storage clients made while a request
runs use the `INTERACTIVE` profile (blob_clients.py: short timeouts, one retry), and a sync
function runs in a worker thread, never on the event loop that async functions and the health
probe share. Async functions hand their blocking storage work to `in_worker_thread`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import aiohttp
import azure.functions as func
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from api.errors import ApiError, ServiceUnavailable
from blob_clients import INTERACTIVE, storage_profile
from claim_check import ClaimCheck
from identity import AuthenticationRequired, IdentityError
from telemetry import configure_telemetry

P = ParamSpec("P")
T = TypeVar("T")
# How the Durable client reports a runtime that answered 503 (SDK 1.7 raises a bare Exception whose
# text carries the status: "unexpected status code 503", "unrecognized status code 503", or the
# devhost's 503 body, which says "status code 503" too).
_RUNTIME_UNAVAILABLE_TEXT = "status code 503"


# Every JSON answer of the API: never sniffed as another type (a JSON body echoing a user's text
# must not become HTML), never cached by a browser or a proxy (bodies carry case data).
JSON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """A JSON HTTP response (with `JSON_HEADERS`)."""
    return json_text_response(json.dumps(body), status_code, headers)


def json_text_response(
    text: str, status_code: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """A response whose body is already JSON text (with `JSON_HEADERS`)."""
    return func.HttpResponse(
        text,
        status_code=status_code,
        mimetype="application/json",
        headers={**JSON_HEADERS, **(headers or {})},
    )


# A 401 says how to authenticate (RFC 9110 §11.6.1): an Entra bearer token or an Easy Auth session.
WWW_AUTHENTICATE = 'Bearer realm="workflows"'


def error_response(error: ApiError | IdentityError) -> func.HttpResponse:
    """The response for a deliberate API error or a refused identity (401/403)."""
    headers = error.headers() if isinstance(error, ApiError) else {}
    if isinstance(error, AuthenticationRequired):
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return json_response(error.body(), error.status_code, headers)


def unavailable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) means storage or the Durable runtime is out of reach."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(
            current,
            ServiceRequestError | ServiceResponseError | aiohttp.ClientConnectionError | TimeoutError,
        ):
            return True
        if isinstance(current, HttpResponseError) and current.status_code in (500, 502, 503, 504):
            return True
        if _RUNTIME_UNAVAILABLE_TEXT in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


async def in_worker_thread(call: Callable[..., T], *args: Any) -> T:
    """Run blocking storage work off the event loop (the current storage profile goes along)."""
    return await asyncio.to_thread(call, *args)


async def seal(value: Any, scope: str) -> Any:
    """Claim-check `value` into a blob (always, off the event loop); the reference for history."""
    return await in_worker_thread(lambda: ClaimCheck.from_settings().offload(value, scope, always=True))


def json_errors(
    function: Callable[P, Awaitable[func.HttpResponse]] | Callable[P, func.HttpResponse],
) -> Callable[P, Awaitable[func.HttpResponse]]:
    """Wrap an HTTP function (sync or async) so that every failure becomes a JSON error response.

    Put it under the route decorator: `@bp.route(...)` then `@json_errors`. The wrapper keeps the
    signature (`functools.wraps`), which is what the Functions host reads for the bindings.
    """

    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> func.HttpResponse:
        try:
            with storage_profile(INTERACTIVE):
                if inspect.iscoroutinefunction(function):
                    result = await function(*args, **kwargs)
                else:
                    result = await asyncio.to_thread(function, *args, **kwargs)
                    if inspect.isawaitable(result):
                        result = await result
            assert isinstance(result, func.HttpResponse)
            return result
        except (ApiError, IdentityError) as error:
            return error_response(error)
        except Exception as error:
            if unavailable(error):
                configure_telemetry().warning(
                    "storage unavailable in HTTP function %s: %s",
                    getattr(function, "__name__", "?"),
                    type(error).__name__,
                )
                return error_response(ServiceUnavailable())
            configure_telemetry().exception(
                "unhandled error in HTTP function %s", getattr(function, "__name__", "?")
            )
            return json_response({"error": "internal error"}, 500)

    return wrapper
