"""The app's own HTTP API (`/api/...`) as one principal calls it: `AppClient` and its errors.

Used by the operations commands that read a deployment (`ops instances`, `ops audit`) and by the
workflow clients of tools/clients.py. It talks only to the app's routes (never the Durable
management API), so it works against the devhost (`--easy-auth`) or an Azure app. `token` is
sent as `Authorization: Bearer` (an Entra ID access token on Azure, a devhost session token from
`ops.sign_in` locally); no credential ever goes into a URL.

Errors: `WorkflowHostUnreachableError` (nothing answers: "start it with ./scripts/dev"),
`WorkflowApiError` (an unexpected HTTP status; `.status`, `.body`, `.field` from a 400's
`{"error", "field"}`), `WorkflowTimeoutError` and `WorkflowFailedError` (`.last_status`, raised
by the waits of the workflow clients).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from ops.sign_in import LocalPrincipal, bearer, sign_in

Json = dict[str, Any]

DEFAULT_BASE_URL = "http://127.0.0.1:7071"


class WorkflowClientError(Exception):
    """A workflow call failed; the message says what and, where possible, what to do."""


class WorkflowHostUnreachableError(WorkflowClientError):
    """Nothing answers at the base URL (or it did not answer in time)."""


class WorkflowApiError(WorkflowClientError):
    """The app answered with a status the call did not expect."""

    def __init__(self, message: str, status: int, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.field: str | None = body.get("field") if isinstance(body, dict) else None


class WorkflowTimeoutError(WorkflowClientError):
    """A wait ran out before the workflow reached what it waited for."""

    def __init__(self, message: str, last_status: Json) -> None:
        super().__init__(message)
        self.last_status = last_status


class WorkflowFailedError(WorkflowClientError):
    """The instance ended (Failed, Terminated, or finished otherwise) before what a wait expected."""

    def __init__(self, message: str, last_status: Json) -> None:
        super().__init__(message)
        self.last_status = last_status


def _body_of(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


@dataclass
class AppClient:
    """The app's HTTP API at `base_url` (`/api/...`), acting as the principal `token` stands for."""

    base_url: str = DEFAULT_BASE_URL
    token: str | None = None
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers.update(bearer(self.token))

    @classmethod
    def signed_in(cls, base_url: str, principal: LocalPrincipal, timeout: float = 30.0) -> AppClient:
        """A client acting as `principal`, signed in at the devhost's emulated Easy Auth."""
        return cls(base_url, token=sign_in(base_url, principal, timeout), timeout=timeout)

    def as_principal(self, principal: LocalPrincipal) -> AppClient:
        """Another client of the same host, signed in as `principal` (devhost)."""
        return AppClient.signed_in(self.base_url, principal, self.timeout)

    def url(self, path: str) -> str:
        """Absolute URL of an app route (`path` below `/api/`); it carries no credential."""
        return f"{self.base_url}/api/{path.lstrip('/')}"

    def request(
        self, method: str, path: str, body: Any = None, *, raw: str | bytes | None = None
    ) -> requests.Response:
        """One call with `body` as JSON (or `raw` text sent as it is, declared as JSON: how a test
        sends malformed JSON); connection failures and timeouts become WorkflowHostUnreachableError."""
        content: dict[str, Any] = (
            {"json": body} if raw is None else {"data": raw, "headers": {"Content-Type": "application/json"}}
        )
        try:
            return self.session.request(
                method,
                f"{self.base_url}/api/{path.lstrip('/')}",
                timeout=self.timeout,
                **content,
            )
        except requests.ConnectionError as error:
            raise WorkflowHostUnreachableError(
                f"cannot reach {self.base_url} — is the app running? start it with ./scripts/dev"
            ) from error
        except requests.Timeout as error:
            raise WorkflowHostUnreachableError(
                f"{self.base_url} did not answer {method} /api/{path} within {self.timeout:.0f} s"
            ) from error

    def call(self, method: str, path: str, body: Any = None, expected: Iterable[int] = (200,)) -> Json:
        """`request`, then the JSON body; any other status than `expected` is a WorkflowApiError."""
        return self.answer(method, path, self.request(method, path, body), expected)

    @staticmethod
    def answer(method: str, path: str, response: requests.Response, expected: Iterable[int] = (200,)) -> Json:
        """The JSON body of `response` (to `method /api/path`); another status than `expected` is a
        WorkflowApiError."""
        answer = _body_of(response)
        if response.status_code not in set(expected):
            detail = answer.get("error") if isinstance(answer, dict) else answer
            if isinstance(answer, dict) and answer.get("field"):
                detail = f"{answer['field']}: {detail}"
            raise WorkflowApiError(
                f"{method} /api/{path} answered HTTP {response.status_code}: {detail}",
                response.status_code,
                answer,
            )
        return answer if isinstance(answer, dict) else {"body": answer}

    def health(self) -> Json:
        """`GET /api/health`."""
        return self.call("GET", "health")

    def inventory(self) -> Json:
        """`GET /api/inventory`: relief stock per depot and SKU (`levels`)."""
        return self.call("GET", "inventory")

    def sandbox(self, system: str, operation: str | None = None) -> Json:
        """`GET /api/sandbox/{system}`: effects and calls a sandboxed system recorded (sandbox mode only)."""
        path = f"sandbox/{quote(system, safe='')}"
        if operation:
            path += f"?operation={quote(operation, safe='')}"
        return self.call("GET", path)
