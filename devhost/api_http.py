"""The HTTP vocabulary of the Durable management API (spec §11): errors, responses, query values.

Shared by the orchestration routes (devhost.management), the entity routes (devhost.entity_api),
the server and the guards in front of them; nothing here knows the engine.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import unquote

from aiohttp import web

from devhost import history as h
from devhost.history import compact_json
from devhost.storage_calls import RETRY_AFTER_SECONDS

NumberT = TypeVar("NumberT", int, float)

WEBHOOK_PATH = "/runtime/webhooks/durabletask"

JSON_TYPE = "application/json; charset=utf-8"

CONTINUATION_HEADER = "x-ms-continuation-token"


class ApiError(Exception):
    """An error answered with the extension's error body (spec §11.1)."""

    def __init__(
        self,
        status: int,
        message: str,
        exception_message: str | None = None,
        exception_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.exception_message = exception_message
        self.exception_type = exception_type

    def response(self) -> web.Response:
        body: dict[str, Any] = {"Message": self.message}
        if self.exception_message is not None:
            body.update(
                ExceptionMessage=self.exception_message,
                ExceptionType=self.exception_type or "System.ArgumentException",
                StackTrace=None,
            )
        return json_response(body, self.status)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=compact_json(body),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def storage_unavailable_response(error: Exception) -> web.Response:
    """503 + Retry-After; the text carries "status code 503", which the SDK client's errors repeat."""
    return json_response(
        {"Message": str(error), "ExceptionType": "StorageUnavailable"},
        503,
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def empty_response(status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, headers=headers)


def bool_query(request: web.Request, name: str, default: bool) -> bool:
    """Case-insensitive boolean query values; unparseable ones fall back to the default."""
    value = request.query.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return default


def float_query(request: web.Request, name: str) -> float | None:
    return _number_query(request, name, float, "a number", blank_is_absent=False)


def int_query(request: web.Request, name: str) -> int | None:
    return _number_query(request, name, int, "an integer", blank_is_absent=True)


def _number_query(
    request: web.Request, name: str, parse: Callable[[str], NumberT], what: str, *, blank_is_absent: bool
) -> NumberT | None:
    value = request.query.get(name)
    if value is None or (blank_is_absent and value == ""):
        return None
    try:
        return parse(value)
    except ValueError as error:
        raise ApiError(
            400, "One or more of the arguments submitted is incorrect", f"'{name}' must be {what}"
        ) from error


def time_query(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return h.parse_time(unquote(value))
    except ValueError as error:
        raise ApiError(
            400,
            "One or more of the arguments submitted is incorrect",
            f"'{name}' is not a valid ISO-8601 time",
        ) from error


async def body_token(request: web.Request) -> str | None:
    """The request body as compact JSON text; an empty body is no input; bad JSON is a 400."""
    body = await request.read()
    if not body.strip():
        return None
    try:
        return compact_json(json.loads(body))
    except ValueError as error:
        raise ApiError(
            400, "Invalid JSON content", str(error), "Newtonsoft.Json.JsonReaderException"
        ) from error


def instance_id_problem(instance_id: str) -> str | None:
    """Why an instance id is invalid (spec §12.5), or None."""
    if not instance_id:
        return "Instance ID must not be empty."
    if len(instance_id) > 256:
        return "Instance ID must not be longer than 256 characters."
    if instance_id.startswith("@"):
        return "Instance ID must not start with '@'."
    if any(c in "/\\?#" or ord(c) < 32 or ord(c) == 127 for c in instance_id):
        return "Instance ID must not contain '/', '\\', '?', '#' or control characters."
    return None


def request_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def not_found() -> ApiError:
    return ApiError(404, "Not found")


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError) as error:
        raise ApiError(400, "The continuation token is not valid.") from error
