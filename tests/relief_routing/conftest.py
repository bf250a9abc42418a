"""Fixtures for the relief routing tests: hosts of the isolated test app on Azurite.

Each test gets its own container prefix, so its inventory starts from the test network's stock,
and its own task hub. After every test, each host it started must show a consistent inventory
(stock = available + reserved + delivered for every depot and SKU) through `GET /api/inventory`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.relief_routing.support import (
    SHELTER_STAFF_FILE,
    TEST_APP,
    TEST_NETWORK,
    ReliefApi,
    assert_inventory_consistent,
)
from tools.harness import Azurite, HostProcess, make_host


@pytest.fixture
def relief_env(azurite: Azurite) -> dict[str, str]:
    """App settings: this test's containers, the sandboxes, the test network, a 1 h escalation interval."""
    return {
        "AzureWebJobsStorage": azurite.connection_string,
        "STORAGE_CONTAINER_PREFIX": f"t{uuid.uuid4().hex[:10]}",
        # The host's task hub (one host per test): the test reads this hub's sandboxes.
        "TASKHUB_NAME": f"rr{uuid.uuid4().hex[:12]}",
        "INTEGRATIONS_MODE": "sandbox",
        "RELIEF_NETWORK_FILE": str(TEST_NETWORK),
        "RELIEF_CONFIRMATION_INTERVAL": "PT1H",
        "RELIEF_MAX_ESCALATIONS": "2",
        "EFFECT_LEDGER_LEASE": "PT2S",
        "RELIEF_SHELTER_STAFF_FILE": str(SHELTER_STAFF_FILE),
    }


@pytest.fixture
def start_relief_host(azurite: Azurite, relief_env: dict[str, str]) -> Iterator[Callable[..., HostProcess]]:
    """Start a host (virtual clock by default); afterwards check its inventory, then stop it."""
    started: list[HostProcess] = []

    def start(app_dir: Path = TEST_APP, env: dict[str, str] | None = None, **options: Any) -> HostProcess:
        options.setdefault("virtual_clock", True)
        options.setdefault("easy_auth", True)
        host = make_host(app_dir, azurite, env={**relief_env, **(env or {})}, **options).start()
        started.append(host)
        return host

    yield start
    try:
        for host in started:
            if host.process is not None and host.process.poll() is None:
                assert_inventory_consistent(ReliefApi(host.base_url).inventory())
    finally:
        for host in started:
            host.stop()
