"""Talking to a running host: the app's routes, the Durable management routes and the devhost admin routes.

`HostClient` works against any Functions host that serves the Durable HTTP API (the devhost or
`func start`); the clock and raw-history calls need the devhost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from durable_wire import TERMINAL_STATUSES, RuntimeStatus

WEBHOOK = "/runtime/webhooks/durabletask"
HISTORY_EVENTS_SHOWN = 12


class DurableHostError(AssertionError):
    """A call to the host failed, or an instance did not get where a test waited for it to be.

    An AssertionError, so pytest shows it as a test failure with the whole message.
    """


def _quoted(instance_id: str) -> str:
    return quote(instance_id, safe="")


def _describe_event(event: dict[str, Any]) -> str:
    kind = str(event.get("EventType", "?"))
    details = [
        f"{key}={event[key]!r}"
        for key in ("Name", "FunctionName", "ScheduledTime", "FireAt", "Reason", "Result", "Input")
        if event.get(key) not in (None, "")
    ]
    text = " ".join(details)
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{event.get('Timestamp', '')} {kind} {text}".rstrip()


class HostClient:
    """A synchronous client of one host, for tests (requests, keep-alive session)."""

    def __init__(
        self,
        base_url: str,
        *,
        log_tail: Callable[[int], str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers or {})  # e.g. an Authorization header for every call
        self._log_tail = log_tail

    # -- Easy Auth emulation (hosts started with easy_auth=True) ----------------------------------

    def sign_in(
        self, user_id: str, name: str, roles: Iterable[str] = (), claims: Mapping[str, str] | None = None
    ) -> str:
        """Sign in through the devhost's emulated App Service Authentication; later calls act as them.

        Returns the session token (send it as `Authorization: Bearer <token>` from other clients).
        """
        response = self.session.post(
            self.url("/.auth/login/aad"),
            json={
                "userId": user_id,
                "userDetails": name,
                "userRoles": ",".join(roles),
                "claims": [{"typ": typ, "val": val} for typ, val in (claims or {}).items()],
            },
            timeout=60,
        )
        if response.status_code != 200:
            raise DurableHostError(
                f"sign-in answered {response.status_code} (is the host started with easy_auth=True?): "
                f"{response.text[:500]}"
            )
        token = str(response.json()["authenticationToken"])
        self.session.headers["Authorization"] = f"Bearer {token}"
        return token

    def sign_out(self) -> None:
        """Later calls are anonymous again."""
        self.session.headers.pop("Authorization", None)
        self.session.cookies.clear()

    # -- the app's own HTTP functions --------------------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of a path on the host (`/api/orders` → `http://127.0.0.1:PORT/api/orders`)."""
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, **options: Any) -> requests.Response:
        """Call any route of the host, e.g. `request("POST", "/api/orders", json={...})`."""
        options.setdefault("timeout", 60)
        return self.session.request(method, self.url(path), **options)

    def get(self, path: str, **options: Any) -> requests.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> requests.Response:
        return self.request("POST", path, **options)

    def put(self, path: str, **options: Any) -> requests.Response:
        return self.request("PUT", path, **options)

    def delete(self, path: str, **options: Any) -> requests.Response:
        return self.request("DELETE", path, **options)

    # -- the Durable management routes -------------------------------------------------------------

    def start_orchestration(self, name: str, input: Any = None, *, instance_id: str | None = None) -> str:
        """Start orchestrator `name` with JSON `input`; returns the instance id."""
        path = f"{WEBHOOK}/orchestrators/{quote(name, safe='')}"
        if instance_id is not None:
            path += f"/{_quoted(instance_id)}"
        response = self.post(
            path,
            data=None if input is None else json.dumps(input),
            headers={"Content-Type": "application/json"},
        )
        if response.status_code != 202:
            raise DurableHostError(
                f"starting orchestration '{name}' answered {response.status_code}: {response.text[:500]}"
            )
        return str(response.json()["id"])

    def status(self, instance_id: str, *, history: bool = False) -> dict[str, Any] | None:
        """The instance's status (with `historyEvents` when `history`), or None if there is none."""
        params = {"showHistory": "true", "showHistoryOutput": "true"} if history else {}
        response = self.get(f"{WEBHOOK}/instances/{_quoted(instance_id)}", params=params)
        if response.status_code == 404:
            return None
        if response.status_code not in (200, 202):
            raise DurableHostError(
                f"status of '{instance_id}' answered {response.status_code}: {response.text[:500]}"
            )
        body: dict[str, Any] = response.json()
        return body

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """The instance's history as the status API shows it (EventType names, inputs and results)."""
        body = self.status(instance_id, history=True)
        if body is None:
            raise DurableHostError(f"no instance '{instance_id}'")
        return list(body.get("historyEvents") or [])

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        """Send external event `name` with JSON `data` to the instance."""
        response = self.post(
            f"{WEBHOOK}/instances/{_quoted(instance_id)}/raiseEvent/{quote(name, safe='')}",
            data=json.dumps(data),
            headers={"Content-Type": "application/json"},
        )
        if response.status_code != 202:
            raise DurableHostError(
                f"raising '{name}' on '{instance_id}' answered {response.status_code}: {response.text[:500]}"
            )

    def _control(self, instance_id: str, operation: str, reason: str) -> None:
        response = self.post(
            f"{WEBHOOK}/instances/{_quoted(instance_id)}/{operation}", params={"reason": reason}
        )
        if response.status_code != 202:
            raise DurableHostError(
                f"{operation} of '{instance_id}' answered {response.status_code}: {response.text[:500]}"
            )

    def terminate(self, instance_id: str, reason: str = "terminated by a test") -> None:
        self._control(instance_id, "terminate", reason)

    def suspend(self, instance_id: str, reason: str = "suspended by a test") -> None:
        self._control(instance_id, "suspend", reason)

    def resume(self, instance_id: str, reason: str = "resumed by a test") -> None:
        self._control(instance_id, "resume", reason)

    def purge(self, instance_id: str) -> None:
        response = self.delete(f"{WEBHOOK}/instances/{_quoted(instance_id)}")
        if response.status_code not in (200, 404):
            raise DurableHostError(f"purge of '{instance_id}' answered {response.status_code}")

    # -- waiting -----------------------------------------------------------------------------------

    def wait_for(
        self,
        instance_id: str,
        status: str | Iterable[str] = "Completed",
        *,
        timeout: float = 30,
        where: Callable[[dict[str, Any]], bool] | None = None,
        interval: float = 0.02,
    ) -> dict[str, Any]:
        """Poll until the instance has `status` (and `where(status_body)` holds); returns the status.

        Fails at once if the instance finishes in another status, and after `timeout` seconds
        otherwise, with the last status, the last history events and the end of the host log.
        """
        wanted = {status} if isinstance(status, str) else set(status)
        unknown = wanted - RuntimeStatus.ALL
        if unknown:
            raise ValueError(
                f"unknown runtime status {sorted(unknown)}; use one of {sorted(RuntimeStatus.ALL)}"
            )
        deadline = time.monotonic() + timeout
        body: dict[str, Any] | None = None
        while True:
            body = self.status(instance_id)
            current = body.get("runtimeStatus") if body else None
            if body is not None and current in wanted and (where is None or where(body)):
                return body
            if current in TERMINAL_STATUSES and current not in wanted:
                raise DurableHostError(
                    self.explain(instance_id, f"finished as {current} while waiting for {_names(wanted)}")
                )
            if time.monotonic() >= deadline:
                condition = " with the condition met" if where is not None and current in wanted else ""
                raise DurableHostError(
                    self.explain(
                        instance_id, f"did not reach {_names(wanted)}{condition} within {timeout:g} s"
                    )
                )
            time.sleep(interval)

    def wait_until(
        self, predicate: Callable[[], bool], *, timeout: float = 30, what: str = "a condition"
    ) -> None:
        """Poll `predicate` until it holds; fail naming `what` (with the host log tail) after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise DurableHostError(f"timed out after {timeout:g} s waiting for {what}\n{self._log_section()}")

    def explain(self, instance_id: str, problem: str) -> str:
        """A failure message: the problem, the last status, the last history events, the host log tail."""
        lines = [f"instance '{instance_id}' {problem}."]
        try:
            body = self.status(instance_id, history=True)
        except (DurableHostError, requests.RequestException) as error:
            body = None
            lines.append(f"(the status could not be read: {error})")
        if body is None:
            lines.append("The host knows no such instance.")
        else:
            summary = {k: body.get(k) for k in ("runtimeStatus", "customStatus", "output", "lastUpdatedTime")}
            lines.append(f"Last status: {json.dumps(summary, default=str)[:1500]}")
            events = list(body.get("historyEvents") or [])
            shown = events[-HISTORY_EVENTS_SHOWN:]
            lines.append(f"Last {len(shown)} of {len(events)} history events:")
            lines.extend(f"  {_describe_event(event)}" for event in shown)
        lines.append(self._log_section())
        return "\n".join(lines)

    def _log_section(self) -> str:
        if self._log_tail is None:
            return "(no host log: the host was not started by devhost.testing)"
        return self._log_tail(40)

    # -- devhost admin routes ----------------------------------------------------------------------

    def advance_clock(
        self, *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> datetime:
        """Move a virtual clock forward (timers that come due fire); returns the new time."""
        total = seconds + 60 * minutes + 3600 * hours + 86400 * days
        response = self.post("/admin/clock/advance", json={"seconds": total})
        if response.status_code != 200:
            raise DurableHostError(
                f"advancing the clock answered {response.status_code}: {response.text[:500]}"
            )
        return _clock_time(response.json())

    def clock(self) -> datetime:
        """The host's current time (virtual or real)."""
        return _clock_time(self.get("/admin/clock").json())

    def raw_history(self, instance_id: str) -> list[dict[str, Any]]:
        """The history exactly as the SDK receives it (numeric EventType, EventId, IsPlayed)."""
        response = self.get(f"/admin/instances/{_quoted(instance_id)}/raw-history")
        if response.status_code != 200:
            raise DurableHostError(f"raw history of '{instance_id}' answered {response.status_code}")
        events: list[dict[str, Any]] = response.json()
        return events

    def metrics(self) -> dict[str, Any]:
        body: dict[str, Any] = self.get("/admin/metrics").json()
        return body

    def workers(self) -> dict[str, Any]:
        """The language-worker processes: their pids and how often one was restarted."""
        body: dict[str, Any] = self.get("/admin/workers").json()
        return body

    def close(self) -> None:
        self.session.close()


def _names(statuses: set[str]) -> str:
    return " or ".join(sorted(statuses))


def _clock_time(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(body["now"]))
