"""Session-wide fixtures: Azurite is started once for the whole test run (never skipped), and
emptied between test areas.

One in-memory Azurite holding every blob of ~700 tests stopped answering for 15 s and more in the
last areas of full runs (host start-ups failed there and only there). So when the run moves on to
another area (`tests/<area>/`), the Azurite is replaced by an empty one on the same port; every
fixture of the area before has been torn down by then (areas keep their hosts in module- or
package-scoped fixtures at most).

The durable-devhost pytest plugin (devhost.testing.pytest_plugin) is the one a team gets from the
wheel's `pytest11` entry point; the repository runs from source, so it is loaded here by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.harness import Azurite

pytest_plugins = ["devhost.testing.pytest_plugin"]


# The session's Azurite once started, and the area of the test that ran last.
_session_azurite: list[Azurite] = []
_current_area: list[str] = []


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A real Azurite blob service on a free port, in memory, for this test session."""
    service = Azurite.start()
    _session_azurite.append(service)
    yield service
    _session_azurite.clear()
    service.stop()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first test of a new area, replace the session's Azurite by an empty one."""
    parts = item.path.relative_to(Path(__file__).parent).parts
    area = parts[0] if len(parts) > 1 else ""
    service = _session_azurite[0] if _session_azurite else None
    # (An Azurite the run did not start, AZURITE_BLOB_PORT, is left as it is.)
    if service is not None and service.process is not None and _current_area and _current_area[0] != area:
        service.stop()
        service.restart()  # same port, in memory, empty
    _current_area[:] = [area]


@pytest.fixture(scope="session")
def devhost_azurite(azurite: Azurite) -> Azurite:
    """The plugin's fixtures (devhost, devhost_factory) share the session's Azurite."""
    return azurite
