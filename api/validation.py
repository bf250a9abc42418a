"""Request parsing at the HTTP edge: JSON body → typed contract, or `InvalidRequest` naming the field."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

import azure.functions as func
from pydantic import ValidationError

from api.errors import FieldError, InvalidRequest
from contracts import ContractModel

ModelT = TypeVar("ModelT", bound=ContractModel)

BODY_FIELD = "body"
# Ids that become part of instance ids, blob names and idempotency keys.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def field_path(location: Sequence[int | str]) -> str:
    """pydantic's error location as a path: ('findings', 0, 'code') → findings[0].code."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or BODY_FIELD


def field_errors(error: ValidationError, prefix: str = "") -> list[FieldError]:
    """Each pydantic error as a FieldError. The rejected input itself is never echoed back."""
    errors = []
    for detail in error.errors(include_url=False, include_input=False):
        path = field_path(detail["loc"])
        if prefix:
            path = prefix if path == BODY_FIELD else f"{prefix}.{path}"
        message = str(detail["msg"]).removeprefix("Value error, ")
        errors.append(FieldError(path, message))
    return errors


def json_body(request: func.HttpRequest) -> Any:
    """The request's JSON body; `InvalidRequest("body", ...)` when it is missing or not JSON."""
    raw = request.get_body()
    if not raw or not raw.strip():
        raise InvalidRequest(BODY_FIELD, "a JSON body is required")
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidRequest(BODY_FIELD, "the body is not valid JSON") from None


def validate(model: type[ModelT], data: Any, prefix: str = "") -> ModelT:
    """`model` from `data`, or `InvalidRequest` listing every bad field."""
    if not isinstance(data, dict):
        raise InvalidRequest(prefix or BODY_FIELD, "must be a JSON object")
    try:
        return model.from_dict(data)
    except ValidationError as error:
        raise InvalidRequest.from_errors(field_errors(error, prefix)) from None


def parse_body(request: func.HttpRequest, model: type[ModelT]) -> ModelT:
    """The request body validated into `model`; any problem is an `InvalidRequest` (400)."""
    return validate(model, json_body(request))


def route_identifier(request: func.HttpRequest, name: str) -> str:
    """A route parameter that must be a simple id (letters, digits, `-_.`, at most 64 characters)."""
    value = str(request.route_params.get(name, ""))
    if not _IDENTIFIER.fullmatch(value):
        raise InvalidRequest(name, "must be 1-64 letters, digits, '-', '_' or '.'")
    return value
