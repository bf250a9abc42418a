"""Driving fare disputes over HTTP the way a client would, and reading what the sandboxes hold."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from contracts.fare_dispute import instance_id_for
from idempotency import EffectLedger
from integrations.sandbox import SandboxSystem
from tests.support.durable_http import DurableApi
from tests.support.identity import READER, SUBMITTER, SUPERVISOR, LocalPrincipal, Tokens
from tools.clients import FareDisputeClient, fare_dispute_body
from tools.harness import HostProcess, VirtualClock, poll_until

# Retry timers (5 s) and host work follow the virtual clock: `settle` nudges it by this much.
CLOCK_NUDGE_SECONDS = 6
JsonDict = dict[str, Any]


def claim(
    dispute_id: str,
    trip_id: str,
    reason: str,
    amount: str,
    *,
    customer_id: str = "cust-ana",
    currency: str = "EUR",
) -> JsonDict:
    """A `POST /api/fare-disputes` body (the portal's customer is cust-ana unless named)."""
    return fare_dispute_body(dispute_id, trip_id, reason, amount, customer_id=customer_id, currency=currency)


@dataclass
class DisputeHost:
    """A started host of the fare dispute app plus the settings it runs with.

    Calls act as signed-in principals (Easy Auth emulated): the portal files and sends evidence, a
    supervisor decides, a reader reads the management API.
    """

    process: HostProcess
    settings: dict[str, str]

    def __post_init__(self) -> None:
        self.tokens = Tokens(self.process.base_url)
        self.clock = VirtualClock(self.process)

    @property
    def base_url(self) -> str:
        return self.process.base_url

    @property
    def durable(self) -> DurableApi:
        return DurableApi(self.base_url, self.tokens.token(READER))

    # -- the HTTP API ---------------------------------------------------------------------------

    def client(self, principal: LocalPrincipal | None) -> FareDisputeClient:
        """The workflow's client (tools/clients.py) acting as `principal`."""
        return FareDisputeClient(self.tokens.app(principal))

    def file(self, body: Any, as_: LocalPrincipal | None = SUBMITTER) -> requests.Response:
        return self.client(as_).start_response(body)

    def file_ok(self, body: JsonDict, as_: LocalPrincipal | None = SUBMITTER) -> str:
        response = self.file(body, as_)
        assert response.status_code == 202, response.text
        return instance_id_for(body["disputeId"])

    def evidence(
        self, dispute_id: str, body: Any, as_: LocalPrincipal | None = SUBMITTER
    ) -> requests.Response:
        return self.client(as_).evidence_response(dispute_id, body)

    def decide(
        self, dispute_id: str, body: Any, as_: LocalPrincipal | None = SUPERVISOR
    ) -> requests.Response:
        return self.client(as_).decision_response(dispute_id, body)

    def view(self, dispute_id: str, as_: LocalPrincipal | None = SUBMITTER) -> requests.Response:
        return self.client(as_).status_response(dispute_id)

    def audit(self, dispute_id: str, as_: LocalPrincipal | None = READER) -> requests.Response:
        return self.client(as_).audit_response(dispute_id)

    def audit_ok(self, dispute_id: str) -> JsonDict:
        """The audit packet (inside its sealed envelope, or the interim snapshot's), read as a reader."""
        response = self.audit(dispute_id)
        assert response.status_code == 200, response.text
        packet: JsonDict = response.json()["packet"]
        return packet

    def view_ok(self, dispute_id: str) -> JsonDict:
        response = self.view(dispute_id)
        assert response.status_code == 200, response.text
        body: JsonDict = response.json()
        return body

    # -- time -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta.total_seconds())

    def advance_to(self, moment: datetime) -> None:
        """Move the virtual clock to `moment` (never backwards)."""
        self.clock.advance_to(moment)

    def settle(
        self, dispute_id: str, done: Callable[[JsonDict], bool], timeout: float = 40, nudge: bool = True
    ) -> JsonDict:
        """Poll the dispute's view until `done`; nudge the clock so retry timers can fire."""
        last_nudge = [time.monotonic()]

        def ended_or_nudge(view: JsonDict) -> None:
            if view["runtimeStatus"] in ("Failed", "Terminated"):
                status = self.durable.status(instance_id_for(dispute_id)).json()
                raise AssertionError(
                    f"dispute {dispute_id} ended {view['runtimeStatus']}: {status.get('output')}"
                )
            if nudge and time.monotonic() - last_nudge[0] > 0.5:
                self.clock.advance(CLOCK_NUDGE_SECONDS)
                last_nudge[0] = time.monotonic()

        return poll_until(
            lambda: self.view_ok(dispute_id),
            done,
            timeout=timeout,
            what=f"dispute {dispute_id} to settle",
            between=ended_or_nudge,
        )

    def resolved(self, dispute_id: str, timeout: float = 40) -> JsonDict:
        """Wait for the dispute to complete; its view (with `result`)."""
        return self.settle(dispute_id, lambda view: view["runtimeStatus"] == "Completed", timeout)

    def waiting_for(self, dispute_id: str, what: str, timeout: float = 40) -> JsonDict:
        """Wait until the dispute waits for `what` (evidence | supervisor_decision)."""
        return self.settle(dispute_id, lambda view: view.get("waitingFor") == what, timeout)

    # -- what the outside systems saw -----------------------------------------------------------

    def sandbox(self, system: str) -> SandboxSystem:
        return SandboxSystem.from_settings(system, self.settings)

    def refunds(self, dispute_id: str) -> list[JsonDict]:
        """Refund effects the sandbox gateway recorded for this dispute."""
        prefix = instance_id_for(dispute_id) + ":"
        return [
            effect
            for effect in self.sandbox("payments").effects("refund")
            if effect["idempotencyKey"].startswith(prefix)
        ]

    def refund_calls(self, dispute_id: str) -> Counter[str]:
        """Outcomes of every gateway call for this dispute (effect, duplicate, faults)."""
        prefix = instance_id_for(dispute_id) + ":"
        return Counter(
            call["outcome"]
            for call in self.sandbox("payments").calls()
            if (call["idempotencyKey"] or "").startswith(prefix)
        )

    def messages(self, dispute_id: str) -> list[str]:
        """Templates of the customer messages sent for this dispute, in order."""
        prefix = instance_id_for(dispute_id) + ":"
        return [
            effect["request"]["template"]
            for effect in self.sandbox("customer_messaging").effects("send")
            if effect["idempotencyKey"].startswith(prefix)
        ]

    def ledger(self) -> EffectLedger:
        return EffectLedger.from_settings(self.settings)

    def history(self, dispute_id: str) -> list[JsonDict]:
        return self.durable.history(instance_id_for(dispute_id))
