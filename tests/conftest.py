"""Session-wide fixtures: Azurite is started once for the whole test run (never skipped).

The durable-devhost pytest plugin (devhost.testing.pytest_plugin) is the one a team gets from the
wheel's `pytest11` entry point; the repository runs from source, so it is loaded here by name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.processes import Azurite

pytest_plugins = ["devhost.testing.pytest_plugin"]


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A real Azurite blob service on a free port, in memory, for this test session."""
    service = Azurite.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def devhost_azurite(azurite: Azurite) -> Azurite:
    """The plugin's fixtures (devhost, devhost_factory) share the session's Azurite."""
    return azurite
