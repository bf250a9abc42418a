"""Fixtures for the fare dispute tests: devhosts of the fare dispute test app on Azurite.

Hosts are module-scoped (one per test module and configuration); every test files disputes
under its own ids, so tests sharing a host never see each other's refunds or messages. Each host
gets its own container prefix, so its sandboxes, ledger and claim-check blobs start empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fare_dispute.support import DisputeHost
from tools.harness import Azurite, HostProcess, make_host

APP_DIR = Path(__file__).parent / "app"
# Settings every fare dispute host runs with: Amsterdam business days, Christmas holidays.
BASE_SETTINGS = {
    "INTEGRATIONS_MODE": "sandbox",
    "FARE_DISPUTE_AUTO_APPROVE_LIMIT": "15.00",
    "FARE_DISPUTE_SLA_TIME_ZONE": "Europe/Amsterdam",
    "FARE_DISPUTE_HOLIDAYS": "2026-12-25,2026-12-28",
    "FARE_DISPUTE_EVIDENCE_REMINDER_AFTER": "P1D",
    "FARE_DISPUTE_EVIDENCE_WAIT": "P3D",
}
# The first attempt of every refund commits and then times out; about one customer message attempt
# in five fails before sending. Activities retry with the same keys.
FAULTS = {
    "SANDBOX_FAULTS_PAYMENTS": "timeout_after_commit:first",
    "SANDBOX_FAULTS_CUSTOMER_MESSAGING": "transient:1/5",
}


@pytest.fixture(scope="module")
def start_dispute_host(azurite: Azurite) -> Iterator[Callable[..., DisputeHost]]:
    """Start fare dispute hosts (virtual clock, own task hub and containers); stopped after the module."""
    started: list[HostProcess] = []

    def start(app_dir: Path = APP_DIR, env: dict[str, str] | None = None, **options: Any) -> DisputeHost:
        settings = {
            **BASE_SETTINGS,
            "AzureWebJobsStorage": azurite.connection_string,
            "STORAGE_CONTAINER_PREFIX": f"fd{uuid.uuid4().hex[:10]}",
            # The host's task hub: the test reads the sandboxes and the ledger of this hub.
            "TASKHUB_NAME": f"fd{uuid.uuid4().hex[:12]}",
            **(env or {}),
        }
        options.setdefault("virtual_clock", True)
        options.setdefault("easy_auth", True)
        host = make_host(app_dir, azurite, env=settings, **options).start()
        started.append(host)
        return DisputeHost(host, settings)

    yield start
    for host in started:
        host.stop()


@pytest.fixture(scope="module")
def dispute_host(start_dispute_host: Callable[..., DisputeHost]) -> DisputeHost:
    """The module's host with sandbox failure injection on (payments and customer messaging)."""
    return start_dispute_host(env=FAULTS)


@pytest.fixture
def dispute_id() -> str:
    """A dispute id unique to this test."""
    return f"d{uuid.uuid4().hex[:12]}"
