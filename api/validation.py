"""Request parsing at the HTTP edge: JSON body → typed contract, or `InvalidRequest` naming the field."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

import azure.functions as func
from pydantic import ValidationError

from api.errors import FieldError, InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from contracts import ContractModel

ModelT = TypeVar("ModelT", bound=ContractModel)

BODY_FIELD = "body"
# Ids that become part of instance ids, blob names and idempotency keys.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
# No workflow request comes near this; larger bodies are refused before they are parsed.
MAX_BODY_BYTES = 1024 * 1024
# JSON deeper than this is refused before the parser recurses (a deep body would exhaust the stack).
MAX_JSON_DEPTH = 64


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


def _not_json(request: func.HttpRequest) -> str | None:
    """Why the body is not declared as JSON (`application/json` or `*/*+json`), or None when it is.

    A missing Content-Type is refused too: a browser sends a cross-site form or `text/plain` POST
    without a preflight, so only a declared JSON body proves the caller meant to call this API.
    """
    header = next((value for key, value in request.headers.items() if key.lower() == "content-type"), "")
    media_type = header.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or (media_type.endswith("+json") and "/" in media_type):
        return None
    return f"not {media_type}" if media_type else "no Content-Type was sent"


def _nesting_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit` (a linear scan, no recursion)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _unencodable_text(value: Any, path: Sequence[int | str] = ()) -> str | None:
    """The field path of the first string (or key) that is not valid Unicode (a lone surrogate)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return field_path(path)
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unencodable_text(key, path) or _unencodable_text(item, [*path, str(key)])
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _unencodable_text(item, [*path, index])
            if found:
                return found
    return None


def json_body(request: func.HttpRequest) -> Any:
    """The request's JSON body; `InvalidRequest("body", ...)` when it is missing or not JSON.

    Refused before parsing: a body not declared as `application/json` (415, a missing Content-Type
    included), a body over `MAX_BODY_BYTES` (413), nesting deeper than `MAX_JSON_DEPTH` (400).
    Text that cannot be stored (lone surrogates such as `"\\ud800"`) is a 400 naming its field.
    """
    problem = _not_json(request)
    if problem is not None:
        raise UnsupportedMediaType(BODY_FIELD, f"must be application/json ({problem})")
    raw = request.get_body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(BODY_FIELD, f"must be at most {MAX_BODY_BYTES} bytes")
    if not raw or not raw.strip():
        raise InvalidRequest(BODY_FIELD, "a JSON body is required")
    if _nesting_depth_exceeds(raw, MAX_JSON_DEPTH):
        raise InvalidRequest(BODY_FIELD, f"must not nest deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest(BODY_FIELD, "the body is not valid JSON") from None
    bad_text = _unencodable_text(data)
    if bad_text is not None:
        raise InvalidRequest(bad_text, "must be valid Unicode text (no lone surrogates)")
    return data


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
