"""Drive the relief routing HTTP API as a client would, and read what the sandboxes recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from durable_wire import TERMINAL_STATUSES
from integrations.sandbox import SandboxSystem
from tests.support.identity import (
    READER,
    SHELTER_STAFF,
    SUBMITTER,
    LocalPrincipal,
    Role,
    Tokens,
    person,
)
from tools.clients import ReliefRequestClient, relief_request_body, shelter_confirmation_body
from tools.harness import VirtualClock, poll_until

TEST_NETWORK = Path(__file__).parent / "network.json"
TEST_APP = Path(__file__).parent / "app"
# Who may confirm which shelter (RELIEF_SHELTER_STAFF_FILE of every relief test host).
SHELTER_STAFF_FILE = Path(__file__).parent / "shelter_staff.json"
Json = dict[str, Any]


def shelter_desk(shelter_id: str) -> LocalPrincipal:
    """The staff principal assigned to `shelter_id` in SHELTER_STAFF_FILE."""
    if shelter_id in SHELTER_STAFF:
        return SHELTER_STAFF[shelter_id]
    return person(f"{shelter_id} desk", Role.RELIEF_SHELTER_STAFF, user_id=f"staff-{shelter_id}")


@dataclass
class ReliefApi:
    """The workflow's HTTP endpoints on one host, each call as the principal it needs: the portal
    starts and changes requests, each shelter's desk confirms its own shelter, a reader reads."""

    base_url: str

    def __post_init__(self) -> None:
        self.tokens = Tokens(self.base_url)
        self.clock = VirtualClock(self.base_url)

    def client(self, principal: LocalPrincipal | None) -> ReliefRequestClient:
        """The workflow's client (tools/clients.py) acting as `principal`."""
        return ReliefRequestClient(self.tokens.app(principal))

    def start(self, body: Any, as_: LocalPrincipal | None = SUBMITTER) -> requests.Response:
        return self.client(as_).start_response(body)

    def change(self, request_id: str, body: Any, as_: LocalPrincipal | None = SUBMITTER) -> requests.Response:
        return self.client(as_).change_response(request_id, body)

    def confirm(
        self,
        request_id: str,
        shelter_id: str,
        received: dict[str, int] | None = None,
        as_: LocalPrincipal | None = None,
    ) -> requests.Response:
        """The shelter's own desk confirms (or `as_`, to try someone else)."""
        body = shelter_confirmation_body(shelter_id, received)
        return self.client(as_ or shelter_desk(shelter_id)).confirmation_response(request_id, body)

    def status(self, request_id: str) -> Json:
        response = self.get(f"relief-requests/{request_id}")
        assert response.status_code == 200, response.text
        body: Json = response.json()
        return body

    def advance(self, seconds: float) -> None:
        """Move the virtual clock (due timers, retries included, fire)."""
        self.clock.advance(seconds)

    def get(self, path: str, as_: LocalPrincipal | None = READER) -> requests.Response:
        """`GET /api/<path>` as a reader."""
        return self.tokens.app(as_).request("GET", path)

    def inventory(self) -> list[Json]:
        response = self.get("inventory")
        assert response.status_code == 200, response.text
        return list(response.json()["levels"])

    def levels(self) -> dict[tuple[str, str], Json]:
        return {(level["depotId"], level["sku"]): level for level in self.inventory()}

    def wait_for(
        self,
        request_id: str,
        predicate: Callable[[Json], bool],
        what: str,
        timeout: float = 30,
        nudge_clock: float = 0,
    ) -> Json:
        """Poll the request's status until `predicate` holds (moving the virtual clock by `nudge_clock`
        seconds between polls, so activity retries waiting on it can run)."""

        def nudge(_: Json) -> None:
            if nudge_clock:
                self.clock.advance(nudge_clock)

        return poll_until(
            lambda: self.status(request_id),
            predicate,
            timeout=timeout,
            what=f"{request_id}: {what}",
            between=nudge,
        )

    def wait_stage(self, request_id: str, stage: str, timeout: float = 30) -> Json:
        return self.wait_for(request_id, lambda body: body.get("stage") == stage, f"stage {stage}", timeout)

    def wait_done(self, request_id: str, timeout: float = 30) -> Json:
        return self.wait_for(
            request_id,
            lambda body: body.get("runtimeStatus") in TERMINAL_STATUSES,
            "the end",
            timeout,
        )


def request_body(request_id: str, shelters: dict[str, dict[str, int]], priority: int = 3) -> Json:
    """A relief request body from {shelter: {sku: pallets}}."""
    return relief_request_body(request_id, shelters, priority)


def assert_inventory_consistent(levels: list[Json]) -> None:
    """stock = available + reserved + delivered, nothing negative, for every depot and SKU."""
    assert levels, "inventory is empty"
    for level in levels:
        assert level["stock"] == level["available"] + level["reserved"] + level["delivered"], level
        assert min(level["available"], level["reserved"], level["delivered"]) >= 0, level


def effects(env: dict[str, str], system: str, operation: str | None = None) -> list[Json]:
    """The effects a sandboxed system recorded (one per idempotency key)."""
    return SandboxSystem.from_settings(system, env).effects(operation)


def calls(env: dict[str, str], system: str) -> list[Json]:
    """Every call a sandboxed system received, duplicates included."""
    return SandboxSystem.from_settings(system, env).calls()
