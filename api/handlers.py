"""The one error-mapping wrapper for HTTP functions, and JSON responses.

`json_errors` decides the status of every failure in one place: `InvalidRequest` → 400,
`AuthenticationRequired` → 401, `AccessDenied` → 403 (naming the roles needed),
`InstanceNotFound` → 404, `Conflict` → 409 (each with its JSON body), anything else → 500 with a
generic body while the traceback goes to the `workflows` log, redacted by its filter (see
telemetry.py). Internals never reach the caller.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

import azure.functions as func

from api.errors import ApiError
from identity import AuthenticationRequired, IdentityError
from telemetry import configure_telemetry

P = ParamSpec("P")


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
            result = function(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            assert isinstance(result, func.HttpResponse)
            return result
        except (ApiError, IdentityError) as error:
            return error_response(error)
        except Exception:
            configure_telemetry().exception(
                "unhandled error in HTTP function %s", getattr(function, "__name__", "?")
            )
            return json_response({"error": "internal error"}, 500)

    return wrapper
