"""Session-wide fixtures: Azurite is started once for the whole test run (never skipped)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.processes import Azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A real Azurite blob service on a free port, in memory, for this test session."""
    service = Azurite.start()
    yield service
    service.stop()
