"""Fixtures for the building-blocks tests: hosts of the test app, and direct access to Azurite.

Each test gets its own container prefix (`STORAGE_CONTAINER_PREFIX`), so ledgers, sandboxes and
claim-check blobs of different tests never meet, though they share one Azurite. Code called in the
test process names its containers after `TASKHUB_NAME` from `storage_env` (the task hub), and the
hosts started here run on that hub, so the test reads exactly the containers its host wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tools.harness import Azurite, HostProcess, make_host

EFFECTS_APP = Path(__file__).parent / "apps" / "effects"


@pytest.fixture
def prefix() -> str:
    """A container prefix unique to this test."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def storage_env(azurite: Azurite, prefix: str) -> dict[str, str]:
    """App settings that point the building blocks at this test's containers in Azurite."""
    return {
        "AzureWebJobsStorage": azurite.connection_string,
        "STORAGE_CONTAINER_PREFIX": prefix,
        "TASKHUB_NAME": f"bb{prefix}",
        "INTEGRATIONS_MODE": "sandbox",
    }


@pytest.fixture
def start_host(azurite: Azurite, storage_env: dict[str, str]) -> Iterator[Callable[..., HostProcess]]:
    """Start hosts of an app folder (own task hub, this test's containers); all stop after the test."""
    started: list[HostProcess] = []

    def start(app_dir: Path = EFFECTS_APP, env: dict[str, str] | None = None, **options: Any) -> HostProcess:
        host = make_host(app_dir, azurite, env={**storage_env, **(env or {})}, **options).start()
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()
