"""Fixtures for the devhost conformance suite: the conformance app on a host, and host factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.durable_http import DurableApi
from tools.harness import Azurite, HostProcess, make_host

CONFORMANCE_APP = Path(__file__).parent / "apps" / "conformance"


@pytest.fixture(scope="package")
def conformance_host(azurite: Azurite) -> Iterator[HostProcess]:
    """The conformance app on the devhost (or `func start` with DURABLE_HOST=func), payloads traced."""
    host = make_host(CONFORMANCE_APP, azurite, trace_payloads=True).start()
    yield host
    host.stop()


@pytest.fixture(scope="package")
def base_url(conformance_host: HostProcess) -> str:
    return conformance_host.base_url


@pytest.fixture
def api(conformance_host: HostProcess) -> DurableApi:
    return DurableApi(conformance_host.base_url)


@pytest.fixture
def start_host(azurite: Azurite) -> Iterator[Callable[..., HostProcess]]:
    """Start extra hosts (own task hub) with special flags; all are stopped after the test."""
    started: list[HostProcess] = []

    def start(app_dir: Path = CONFORMANCE_APP, **options: Any) -> HostProcess:
        host = make_host(app_dir, azurite, **options).start()
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()
