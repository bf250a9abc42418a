"""Schemathesis hooks of `python -m ops fuzz` (loaded through `SCHEMATHESIS_HOOKS=tools.fuzz_checks`).

Two checks beyond Schemathesis' own:
- `documented_error_body`: every 4xx answer carries the documented JSON error body, and the
  field-naming statuses (400, 413, 415) name a field. The one exception is the host's own 404 for a
  request that matches no route (an undocumented method, or a path parameter holding `/` or a dot
  segment), which has no body.
- `no_management_urls`: no answer, whatever its status, carries a Durable management URL
  (`/runtime/webhooks/`) in its body or headers: on Azure those URLs hold the system key. A string
  the request itself sent that the answer repeats at the end of one of its own (a 400 naming the
  client's field `shelters[0]./runtime/webhooks/`) is the client's echo and does not count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import schemathesis

FIELD_NAMING_STATUSES = frozenset({400, 413, 415})
MANAGEMENT_PATH = "/runtime/webhooks/"


def management_url_problem(body: str, headers: Any, sent: Iterable[str] = ()) -> str | None:
    """Where an answer carries a Durable management URL (None when it carries none).

    `sent`: the strings the request carried (its JSON keys and values, its path and query). Where
    the answer ends a JSON string with one of them (an error naming the client's own field
    `shelters[0]./runtime/webhooks/`), that text is the client's echo, not a URL of ours; a URL that
    merely starts like it (`/runtime/webhooks/durabletask/...`) still counts.
    """
    for echoed in {text for text in sent if MANAGEMENT_PATH in text}:
        body = body.replace(json.dumps(echoed)[1:-1] + '"', '"')
    if MANAGEMENT_PATH in body:
        start = body.index(MANAGEMENT_PATH)
        return f"the body carries a management URL: ...{body[max(0, start - 40) : start + 60]}..."
    for name, value in dict(headers or {}).items():
        text = value if isinstance(value, str) else " ".join(str(item) for item in value)
        if MANAGEMENT_PATH in text:
            return f"header {name} carries a management URL"
    return None


def strings_sent(request: Any) -> list[str]:
    """Every string a request carried: its decoded path and query, its JSON body's keys and values."""
    url = urlsplit(str(request.url))
    found = [unquote(url.path), *(value for pair in parse_qsl(url.query) for value in pair)]
    raw = request.body or b""
    try:
        document = json.loads(raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw))
    except ValueError:
        return found
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found.extend(str(key) for key in item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def error_body_problem(
    status: int, body: Any, path_parameters: dict[str, Any] | None = None, *, documented_method: bool = True
) -> str | None:
    """What is wrong with a 4xx answer's body (None when it is as documented)."""
    if not 400 <= status < 500:
        return None
    if body is None:
        values = [str(value) for value in (path_parameters or {}).values()]
        unrouted = not documented_method or any("/" in value or value in (".", "..") for value in values)
        if status in (404, 405) and unrouted:
            return None  # the host's answer: the method or the decoded path matches no route
        return f"{status} without a JSON body"
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
        return f"{status} body has no 'error' text: {str(body)[:200]}"
    if status in FIELD_NAMING_STATUSES:
        field = body.get("field")
        fields = body.get("fields")
        if not isinstance(field, str) or not field:
            return f"{status} body names no 'field': {str(body)[:200]}"
        if not isinstance(fields, list) or not fields or not all(isinstance(f, dict) for f in fields):
            return f"{status} body has no 'fields' list: {str(body)[:200]}"
    return None


def _json_or_none(response: schemathesis.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"not json": bytes(response.content[:200]).decode(errors="replace")}


@schemathesis.check
def documented_error_body(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any) -> None:
    """Every 4xx has the documented error body; 400/413/415 name the field."""
    documented = str(case.method).upper() == str(case.operation.method).upper()
    problem = error_body_problem(
        response.status_code, _json_or_none(response), case.path_parameters, documented_method=documented
    )
    if problem is not None:
        raise AssertionError(problem)


@schemathesis.check
def no_management_urls(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any) -> None:
    """No answer carries a Durable management URL (the system key travels in them on Azure)."""
    problem = management_url_problem(
        bytes(response.content or b"").decode(errors="replace"),
        response.headers,
        strings_sent(response.request),
    )
    if problem is not None:
        raise AssertionError(problem)
