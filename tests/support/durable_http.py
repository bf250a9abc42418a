"""A small synchronous client of the Durable HTTP management API, for tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from devhost.testing import HostClient
from durable_wire import TERMINAL_STATUSES
from tools.harness.instances import list_all_instances

WEBHOOK = "/runtime/webhooks/durabletask"


@dataclass
class DurableApi:
    """Calls the host's `/runtime/webhooks/durabletask` routes (as `token`'s principal, when the host
    emulates Easy Auth and so needs a session there too)."""

    base_url: str
    token: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def webhook(self) -> str:
        return f"{self.base_url}{WEBHOOK}"

    def start(
        self, name: str, body: Any = None, instance_id: str | None = None, **params: str
    ) -> requests.Response:
        url = f"{self.webhook}/orchestrators/{name}" + (
            f"/{quote(instance_id, safe='')}" if instance_id else ""
        )
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json", **self.auth} if data is not None else self.auth
        return requests.post(url, data=data, headers=headers, params=params, timeout=30)

    def start_id(self, name: str, body: Any = None, instance_id: str | None = None) -> str:
        response = self.start(name, body, instance_id)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def status(self, instance_id: str, **params: str) -> requests.Response:
        return requests.get(
            f"{self.webhook}/instances/{quote(instance_id, safe='')}",
            params=params,
            headers=self.auth,
            timeout=30,
        )

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> requests.Response:
        return requests.post(
            f"{self.webhook}/instances/{quote(instance_id, safe='')}/raiseEvent/{name}",
            data=json.dumps(data),
            headers={"Content-Type": "application/json", **self.auth},
            timeout=30,
        )

    def post(self, instance_id: str, operation: str, **params: str) -> requests.Response:
        return requests.post(
            f"{self.webhook}/instances/{quote(instance_id, safe='')}/{operation}",
            params=params,
            headers=self.auth,
            timeout=30,
        )

    def wait(self, instance_id: str, timeout: float = 30, statuses: set[str] | None = None) -> dict[str, Any]:
        """Poll until the instance reaches one of `statuses` (default: any terminal one).

        Returns the status with its history; fails like devhost.testing's `wait_for` (last status,
        last history events) when it does not get there.
        """
        client = HostClient(self.base_url, headers=self.auth)
        try:
            client.wait_for(instance_id, statuses or TERMINAL_STATUSES, timeout=timeout, interval=0.05)
        finally:
            client.close()
        body: dict[str, Any] = self.status(instance_id, showHistory="true", showHistoryOutput="true").json()
        return body

    def query(self, **params: str) -> list[dict[str, Any]]:
        """Every status `GET instances` lists for `params`, following continuation tokens."""
        return list_all_instances(self.base_url, self.auth, params, page_size=200)

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        body = self.status(instance_id, showHistory="true", showHistoryOutput="true").json()
        return list(body.get("historyEvents") or [])
