"""Regressions found by the fuzzing, fixed in the shared HTTP edge (`api.validation.json_body`).

Before the fix a body nested 100,000 levels deep raised RecursionError in `json.loads` (a 500), and
a lone surrogate (`"\\ud800"`) in free text passed validation and failed when the claim-check
encoded it as UTF-8 (a 500 on the maintenance start, the approval comment, evidence and notes).
"""

from __future__ import annotations

import json

import azure.functions as func
import pytest
import requests

from api.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from api.handlers import json_response
from api.validation import MAX_BODY_BYTES, json_body
from tools.fuzz_checks import management_url_problem, strings_sent


def request(body: bytes, content_type: str | None = "application/json") -> func.HttpRequest:
    headers = {"Content-Type": content_type} if content_type else {}
    return func.HttpRequest(method="POST", url="http://h/api/x", headers=headers, params={}, body=body)


def rejected(body: bytes, content_type: str | None = "application/json") -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        json_body(request(body, content_type))
    return caught.value


def test_deep_nesting_is_a_400_on_the_body_not_a_recursion_error() -> None:
    error = rejected(b"[" * 100_000 + b"]" * 100_000)
    assert (error.status_code, error.field) == (400, "body")
    assert json_body(request(b'{"a": [[["ok"]]], "b": "[[[[[[[[[[[["}')) == {
        "a": [[["ok"]]],
        "b": "[[[[[[[[[[[[",
    }


def test_a_lone_surrogate_is_a_400_naming_its_field() -> None:
    body = json.dumps({"customer": {"name": "x\ud800"}, "items": ["ok", "\udfff"]}).encode()
    error = rejected(body)
    assert (error.status_code, error.field) == (400, "customer.name")
    assert rejected(json.dumps({"items": ["ok", "\udfff"]}).encode()).field == "items[1]"
    assert json_body(request(json.dumps({"name": "Zoë 🚀"}).encode())) == {"name": "Zoë 🚀"}


def test_a_body_over_one_mebibyte_is_a_413_on_the_body() -> None:
    error = rejected(b'{"a": "' + b"x" * MAX_BODY_BYTES + b'"}')
    assert isinstance(error, PayloadTooLarge)
    assert (error.status_code, error.field) == (413, "body")
    assert error.body()["fields"] == [{"field": "body", "error": f"must be at most {MAX_BODY_BYTES} bytes"}]


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "application/x-www-form-urlencoded", "application/xml", "+json"]
)
def test_a_body_not_declared_as_json_is_a_415_on_the_body(content_type: str | None) -> None:
    """A missing Content-Type too: a cross-site form or text/plain POST needs no CORS preflight."""
    error = rejected(b'{"a": 1}', content_type)
    assert isinstance(error, UnsupportedMediaType)
    assert (error.status_code, error.field) == (415, "body")
    assert "application/json" in str(error)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ],
)
def test_a_body_declared_as_json_is_read(content_type: str) -> None:
    assert json_body(request(b'{"a": 1}', content_type)) == {"a": 1}


def test_json_responses_are_neither_sniffed_nor_cached() -> None:
    response = json_response({"a": 1}, 201, {"Location": "/api/x"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Location"] == "/api/x"
    assert response.mimetype == "application/json"


def test_the_fuzz_check_finds_management_urls_in_bodies_and_headers() -> None:
    url = "https://app.example/runtime/webhooks/durabletask/instances/x?code=secret"
    assert management_url_problem('{"statusUrl": "/api/maintenance-orders/x"}', {}) is None
    assert management_url_problem(json.dumps({"statusQueryGetUri": url}), {}) is not None
    assert management_url_problem("{}", {"Location": url}) == "header Location carries a management URL"


def test_the_fuzz_check_tells_an_echo_of_the_clients_own_field_from_a_management_url() -> None:
    """A 400 naming the client's own field `.../runtime/webhooks/` repeats what it sent: no leak. A
    URL of ours in the same answer, even one starting with the echoed text, still is one."""
    sent = ["/api/relief-requests/r/changes", "/runtime/webhooks/", "pallets"]
    echo = json.dumps(
        {
            "error": "invalid request",
            "field": "/runtime/webhooks/",
            "fields": [{"field": "shelters[6].items[8]./runtime/webhooks/", "error": "Extra inputs"}],
        }
    )
    assert management_url_problem(echo, {}, sent) is None
    assert management_url_problem(echo, {}) is not None, "without the request it is not an echo"
    url = "https://app.example/runtime/webhooks/durabletask/instances/x?code=secret"
    leak = json.dumps({"field": "/runtime/webhooks/", "statusQueryGetUri": url})
    assert management_url_problem(leak, {}, sent) is not None
    own_path = json.dumps({"field": "/runtime/webhooks/", "next": "/runtime/webhooks/durabletask/x"})
    assert management_url_problem(own_path, {}, sent) is not None
    assert management_url_problem("{}", {"Location": url}, sent) == "header Location carries a management URL"


def test_the_fuzz_check_reads_every_string_a_request_sent() -> None:
    request = requests.Request(
        "POST",
        "http://h/api/relief-requests/r%2Fx/changes?a=%2Fruntime%2Fwebhooks%2F",
        json={"shelters": [{"/runtime/webhooks/": [True, "v"]}], "k": "w"},
    ).prepare()
    assert set(strings_sent(request)) >= {
        "/api/relief-requests/r/x/changes",
        "a",
        "/runtime/webhooks/",
        "shelters",
        "v",
        "k",
        "w",
    }
