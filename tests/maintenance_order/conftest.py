"""Fixtures of the maintenance order tests: the test app's hosts on Azurite and an HTTP client.

Each module gets its own container prefix (ledger, sandboxes, claim-check blobs) and task hub, and
each test its own order ids, so tests of one module can share a host.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from durable_wire import TERMINAL_STATUSES
from integrations.sandbox import SandboxSystem
from tests.support.durable_http import DurableApi
from tests.support.identity import APPROVER, READER, SUBMITTER, LocalPrincipal, Tokens
from tools.clients import MaintenanceOrderClient, maintenance_order_body
from tools.harness import Azurite, HostProcess, advance_clock, make_host, poll_until

MAINTENANCE_APP = Path(__file__).parent / "app"
CUSTOMER_EMAIL = "pat.customer@example.com"


def order_body(order_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid order whose two findings need parts from all three sandbox suppliers (the clients'
    sample order, tools/clients.py; test_sample_order.py checks the supplier spread)."""
    return {**maintenance_order_body(order_id), **overrides}


def new_order_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


@dataclass
class MaintenanceApi:
    """The workflow's HTTP API as its callers drive it (each call as a signed-in principal: the
    portal starts, an approver approves, a reader reads the audit), plus the devhost's clock."""

    base_url: str
    tokens: Tokens | None = None

    def __post_init__(self) -> None:
        self.tokens = self.tokens or Tokens(self.base_url)

    def headers(self, principal: LocalPrincipal | None) -> dict[str, str]:
        assert self.tokens is not None
        return self.tokens.headers(principal)

    def client(self, principal: LocalPrincipal | None) -> MaintenanceOrderClient:
        """The workflow's client (tools/clients.py) acting as `principal`."""
        assert self.tokens is not None
        return MaintenanceOrderClient(self.tokens.app(principal))

    def management(self, principal: LocalPrincipal) -> DurableApi:
        """The Durable management API as `principal`: it skips the edge's checks (forged events)."""
        assert self.tokens is not None
        return DurableApi(self.base_url, self.tokens.token(principal))

    def start(self, body: dict[str, Any], as_: LocalPrincipal | None = SUBMITTER) -> requests.Response:
        return self.client(as_).start_response(body)

    def approve(self, order_id: str, body: Any, as_: LocalPrincipal | None = APPROVER) -> requests.Response:
        if isinstance(body, str | bytes):  # raw text, declared as JSON (a malformed body's test)
            return self.client(as_).approval_response(order_id, None, raw=body)
        return self.client(as_).approval_response(order_id, body)

    def order(self, order_id: str, as_: LocalPrincipal | None = SUBMITTER) -> requests.Response:
        return self.client(as_).status_response(order_id)

    def audit(self, order_id: str, as_: LocalPrincipal | None = READER) -> requests.Response:
        return self.client(as_).audit_response(order_id)

    def advance_clock(self, seconds: float) -> None:
        advance_clock(self.base_url, seconds)

    def wait_for(
        self, order_id: str, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30
    ) -> dict[str, Any]:
        """Poll GET /api/maintenance-orders/{id} until `predicate` holds (an answer other than 200
        reads as an empty status)."""

        def read() -> dict[str, Any]:
            response = self.order(order_id)
            body: dict[str, Any] = response.json() if response.status_code == 200 else {}
            return body

        return poll_until(read, predicate, timeout=timeout, what=f"order {order_id}: {what}")

    def wait_value(self, order_id: str, key: str, value: object, timeout: float = 30) -> dict[str, Any]:
        return self.wait_for(order_id, lambda body: body.get(key) == value, f"{key} = {value!r}", timeout)

    def wait_stage(self, order_id: str, stage: str, timeout: float = 30) -> dict[str, Any]:
        return self.wait_for(order_id, lambda body: body.get("stage") == stage, f"stage {stage}", timeout)

    def wait_finished(self, order_id: str, timeout: float = 30) -> dict[str, Any]:
        return self.wait_for(
            order_id,
            lambda body: body.get("runtimeStatus") in TERMINAL_STATUSES,
            "the end",
            timeout,
        )


@dataclass
class Sandboxes:
    """Direct reads of the sandboxed outside systems (what they recorded) of this module's hosts.

    Each host runs on a task hub of its own, and the app keeps its sandboxes per task hub, so the
    reads cover every hub started in the module (`start_host` registers them).
    """

    env: dict[str, str]
    hubs: list[str] = field(default_factory=list)

    def systems(self, name: str) -> list[SandboxSystem]:
        return [SandboxSystem.from_settings(name, {**self.env, "TASKHUB_NAME": hub}) for hub in self.hubs]

    def calls(self, name: str) -> list[dict[str, Any]]:
        """Every call the system received from any of the module's hosts."""
        return [call for system in self.systems(name) for call in system.calls()]

    def effects(self, name: str, instance_id: str, operation: str | None = None) -> list[dict[str, Any]]:
        """Effects of one order (keys start with its instance id)."""
        return [
            effect
            for system in self.systems(name)
            for effect in system.effects(operation)
            if str(effect["idempotencyKey"]).startswith(f"{instance_id}:")
        ]


@pytest.fixture(scope="module")
def storage_env(azurite: Azurite) -> dict[str, str]:
    """App settings for this module's hosts: own containers, sandboxes, a short ledger lease."""
    return {
        "AzureWebJobsStorage": azurite.connection_string,
        "STORAGE_CONTAINER_PREFIX": f"mo{uuid.uuid4().hex[:10]}",
        "INTEGRATIONS_MODE": "sandbox",
        "EFFECT_LEDGER_LEASE": "PT1S",
        "MAINTENANCE_REMINDER_INTERVAL": "PT24H",
        "MAINTENANCE_ESCALATE_AFTER_REMINDERS": "3",
        "MAINTENANCE_APPROVAL_DEADLINE": "P7D",
    }


@pytest.fixture(scope="module")
def sandboxes(storage_env: dict[str, str]) -> Sandboxes:
    return Sandboxes(storage_env)


@pytest.fixture(scope="module")
def start_host(
    azurite: Azurite, storage_env: dict[str, str], sandboxes: Sandboxes
) -> Iterator[Callable[..., HostProcess]]:
    """Start hosts (virtual clock) of an app folder for this module; all stop at its end."""
    started: list[HostProcess] = []

    def start(
        app_dir: Path = MAINTENANCE_APP, env: dict[str, str] | None = None, **options: Any
    ) -> HostProcess:
        options.setdefault("virtual_clock", True)
        options.setdefault("easy_auth", True)
        host = make_host(app_dir, azurite, env={**storage_env, **(env or {})}, **options)
        sandboxes.hubs.append(host.extra["hub"])
        started.append(host.start())
        return host

    yield start
    for host in started:
        host.stop()
