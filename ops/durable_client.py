"""A synchronous client of the Durable HTTP management API for the ops commands (spec §11).

One place knows the routes, the credentials, the status codes and what each failure means to an
operator, so `instances`, `audit` and `replay-record` print the same errors. Works against the
devhost and an Azure app. Credentials travel in headers, never in the URL: `token` (a bearer token
for App Service Authentication in front of the app: an Entra ID access token on Azure, a session
token of the devhost's `--easy-auth` emulation from `python -m ops sign-in`; default
`$WORKFLOWS_TOKEN`) and, on Azure, `code` (the `durabletask_extension` system key, sent as
`x-functions-key`). The system key is read from `$DURABLETASK_EXTENSION_KEY` only: a key on a command
line is visible to every user of the machine and lands in shell history and CI logs, and the app
itself never hands it out (its starters answer with their own status resources).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from ops.sign_in import TOKEN_ENV, bearer, token_from_args

DEFAULT_BASE_URL = "http://127.0.0.1:7071"
BASE_URL_ENV = "OPS_BASE_URL"
SYSTEM_KEY_ENV = "DURABLETASK_EXTENSION_KEY"
WEBHOOK_PATH = "/runtime/webhooks/durabletask"


class OpsError(Exception):
    """An operational failure the command reports as `Error: <message>` and exit code 1."""


class HostUnreachableError(OpsError):
    """Nothing answers at the base URL."""


class InstanceNotFoundError(OpsError):
    """The host does not know the instance id."""


class ApiError(OpsError):
    """The management API answered with an unexpected status code."""

    def __init__(self, message: str, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


# Shown when a command line carries the system key (`--code`), which the commands refuse.
KEY_ON_COMMAND_LINE = (
    "the system key is never taken from the command line (other users see it in ps, and it lands in "
    f"shell history and CI logs): export {SYSTEM_KEY_ENV} instead, e.g. "
    f"`read -rs {SYSTEM_KEY_ENV} && export {SYSTEM_KEY_ENV}`"
)


def add_refused_key_option(parser: Any) -> None:
    """A hidden `--code`: given, the command stops with `KEY_ON_COMMAND_LINE` (exit 2)."""
    parser.add_argument("--code", dest="key_on_command_line", help=argparse.SUPPRESS)


def refused_key_given(args: argparse.Namespace) -> bool:
    """Whether the command line carried the refused `--code`; if so, says why on stderr (exit 2)."""
    if not getattr(args, "key_on_command_line", None):
        return False
    print(f"Error: {KEY_ON_COMMAND_LINE}", file=sys.stderr)
    return True


def system_key() -> str | None:
    """The durabletask_extension system key from `$DURABLETASK_EXTENSION_KEY` (None when unset)."""
    return os.environ.get(SYSTEM_KEY_ENV) or None


def default_base_url() -> str:
    """`OPS_BASE_URL` when set, else the devhost's default address."""
    return os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL


def _error_text(response: requests.Response) -> str:
    """The most useful line of an error body (the extension's `ExceptionMessage`/`Message`)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(body, dict):
        return str(body.get("ExceptionMessage") or body.get("Message") or body.get("error") or body)[:300]
    return str(body)[:300]


@dataclass
class DurableClient:
    """The management API of one host (devhost or Azure) at `base_url`."""

    base_url: str = DEFAULT_BASE_URL
    code: str | None = None
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session)
    token: str | None = field(default_factory=lambda: os.environ.get(TOKEN_ENV) or None)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers.update(bearer(self.token))
        if self.code:
            self.session.headers["x-functions-key"] = self.code

    # -- plumbing -------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        data: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        query = dict(params or {})
        url = f"{self.base_url}{path}"
        try:
            return self.session.request(
                method, url, params=query, data=data, headers=headers, timeout=self.timeout
            )
        except requests.ConnectionError as error:
            raise HostUnreachableError(
                f"cannot reach {self.base_url} — is the app running? start it with ./scripts/dev"
            ) from error
        except requests.Timeout as error:
            raise HostUnreachableError(
                f"{self.base_url} did not answer within {self.timeout:.0f} s ({method} {path})"
            ) from error

    def _instance_path(self, instance_id: str, operation: str = "") -> str:
        path = f"{WEBHOOK_PATH}/instances/{quote(instance_id, safe='')}"
        return f"{path}/{operation}" if operation else path

    def _unexpected(self, what: str, response: requests.Response) -> ApiError:
        detail = _error_text(response)
        if response.status_code == 401:
            detail = (
                f"{detail or 'unauthorized'}; sign in: --token (or ${TOKEN_ENV}) with an Entra ID token on "
                "Azure, or `python -m ops sign-in` on the devhost (--easy-auth); on Azure also the "
                f"durabletask_extension system key in ${SYSTEM_KEY_ENV}"
            )
        elif response.status_code == 403:
            detail = (
                f"{detail or 'forbidden'}; export the durabletask_extension system key as ${SYSTEM_KEY_ENV}"
            )
        return ApiError(
            f"{what} failed: HTTP {response.status_code}{': ' + detail if detail else ''}",
            response.status_code,
            response.text,
        )

    def _not_found(self, instance_id: str) -> InstanceNotFoundError:
        return InstanceNotFoundError(f"no instance with ID '{instance_id}' on {self.base_url}")

    # -- reads ----------------------------------------------------------------------------------

    def status(
        self,
        instance_id: str,
        *,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = True,
    ) -> dict[str, Any]:
        """`GET instances/{id}`: the status document (with `historyEvents` when asked)."""
        params = {
            "showHistory": str(show_history).lower(),
            "showHistoryOutput": str(show_history_output).lower(),
            "showInput": str(show_input).lower(),
        }
        response = self._request("GET", self._instance_path(instance_id), params)
        if response.status_code == 404:
            raise self._not_found(instance_id)
        if response.status_code not in (200, 202, 500) or not response.content:
            raise self._unexpected(f"status of '{instance_id}'", response)
        body: dict[str, Any] = response.json()
        return body

    def query(
        self,
        *,
        statuses: list[str] | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
        prefix: str | None = None,
        top: int | None = None,
        all_pages: bool = False,
        show_input: bool = False,
    ) -> list[dict[str, Any]]:
        """`GET instances`: one page (or every page with `all_pages`), following continuation tokens."""
        filters = {
            "runtimeStatus": ",".join(statuses or []),
            "createdTimeFrom": created_from,
            "createdTimeTo": created_to,
            "instanceIdPrefix": prefix,
            "top": str(top) if top else None,
        }
        given = {key: value for key, value in filters.items() if value}  # no empty filters in the URL
        params = {"showInput": str(show_input).lower(), **given}
        results: list[dict[str, Any]] = []
        headers: dict[str, str] = {}
        while True:
            response = self._request("GET", f"{WEBHOOK_PATH}/instances", params, headers=headers)
            if response.status_code != 200:
                raise self._unexpected("query of instances", response)
            page = response.json()
            results.extend(item for item in page if isinstance(item, dict))
            token = response.headers.get("x-ms-continuation-token")
            if not all_pages or not token:
                return results
            headers = {"x-ms-continuation-token": token}

    def raw_history(self, instance_id: str) -> list[dict[str, Any]]:
        """The history exactly as sent to the SDK (devhost `GET /admin/instances/{id}/raw-history`)."""
        response = self._request("GET", f"/admin/instances/{quote(instance_id, safe='')}/raw-history")
        if response.status_code == 404:
            if "No instance" in response.text:
                raise self._not_found(instance_id)
            raise OpsError(
                f"{self.base_url} has no raw-history route: record histories from the devhost "
                "(./scripts/dev or python -m devhost start), which keeps EventIds as the SDK sees them"
            )
        if response.status_code != 200:
            raise self._unexpected(f"raw history of '{instance_id}'", response)
        body: list[dict[str, Any]] = response.json()
        return body

    # -- writes ---------------------------------------------------------------------------------

    def raise_event(self, instance_id: str, event_name: str, data: Any) -> None:
        """`POST instances/{id}/raiseEvent/{name}` with a JSON body."""
        response = self._request(
            "POST",
            self._instance_path(instance_id, f"raiseEvent/{quote(event_name, safe='')}"),
            data=json.dumps(data),
            headers={"Content-Type": "application/json"},
        )
        if response.status_code == 202:
            return
        if response.status_code == 404:
            raise self._not_found(instance_id)
        if response.status_code == 410:
            raise OpsError(f"instance '{instance_id}' has finished; it no longer accepts events")
        raise self._unexpected(f"raise event '{event_name}' on '{instance_id}'", response)

    def control(self, instance_id: str, operation: str, reason: str) -> int:
        """terminate/suspend/resume/rewind: returns the status code (202, or 410 when already finished)."""
        response = self._request("POST", self._instance_path(instance_id, operation), {"reason": reason})
        if response.status_code in (200, 202, 410):
            return response.status_code
        if response.status_code == 404:
            raise self._not_found(instance_id)
        raise self._unexpected(f"{operation} of '{instance_id}'", response)

    def restart(self, instance_id: str, *, new_instance_id: bool) -> dict[str, Any]:
        """`POST instances/{id}/restart`: the new instance's check-status body."""
        response = self._request(
            "POST",
            self._instance_path(instance_id, "restart"),
            {"restartWithNewInstanceId": str(new_instance_id).lower()},
        )
        if response.status_code == 400 and "does not match" in response.text:
            raise self._not_found(instance_id)
        if response.status_code not in (200, 202):
            raise self._unexpected(f"restart of '{instance_id}'", response)
        body: dict[str, Any] = response.json() if response.content else {"id": instance_id}
        return body

    def purge(self, instance_id: str) -> int:
        """`DELETE instances/{id}`: the number of instances deleted."""
        response = self._request("DELETE", self._instance_path(instance_id))
        if response.status_code == 404:
            raise self._not_found(instance_id)
        if response.status_code != 200:
            raise self._unexpected(f"purge of '{instance_id}'", response)
        return int(response.json().get("instancesDeleted", 0))


def client_from_args(args: argparse.Namespace) -> DurableClient:
    """The management API client for --base-url/--token and $DURABLETASK_EXTENSION_KEY."""
    return DurableClient(args.base_url, code=system_key(), token=token_from_args(args))
