"""pytest plugin of durable-devhost (registered through the `pytest11` entry point).

Fixtures:
- `devhost_azurite` (session): one in-memory Azurite for the run (or the one at AZURITE_BLOB_PORT).
- `devhost_factory`: start hosts with any options; each is stopped after the test.
- `devhost_session_factory` (session): the same, stopped at the end of the run; share a host
  between tests to save its start-up (each host has its own task hub).
- `devhost`: a host on the configured app (`--devhost-app` or the `devhost_app` ini option),
  with options from the test's `@pytest.mark.devhost(...)` marker.

Options: `--devhost-app PATH`, `--devhost-deliver-twice` (every host runs each activity twice),
`--devhost-arg=ARG` (repeatable; passed to every `devhost start`), `--devhost-logs DIR`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.testing.azurite import Azurite
from devhost.testing.host import DevHost

HostFactory = Callable[..., DevHost]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("devhost", "durable-devhost (local Durable Functions host)")
    group.addoption("--devhost-app", help="the Functions app folder the `devhost` fixture serves")
    group.addoption(
        "--devhost-deliver-twice",
        action="store_true",
        help="start every devhost with --deliver-activities-twice (each activity runs twice)",
    )
    group.addoption(
        "--devhost-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra `devhost start` argument for every host (repeatable), e.g. --devhost-arg=--verbose",
    )
    group.addoption("--devhost-logs", help="folder for the hosts' and Azurite's logs (default: pytest's tmp)")
    parser.addini(
        "devhost_app", "the Functions app folder the `devhost` fixture serves (relative to rootdir)"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "devhost(**options): options for the `devhost` fixture's host, as DevHost takes them "
        "(virtual_clock=True, clock_start='2026-03-02T09:00:00Z', settings={...}, deliver_twice=True, ...)",
    )


def _log_dir(config: pytest.Config, factory: pytest.TempPathFactory) -> Path:
    option = config.getoption("--devhost-logs")
    folder = Path(option) if option else factory.getbasetemp() / "devhost-logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _app_dir(config: pytest.Config) -> Path | None:
    option = config.getoption("--devhost-app")
    if option:
        return Path(option).resolve()
    value = config.getini("devhost_app")
    if value:
        return (config.rootpath / str(value)).resolve()
    return None


class _Factory:
    """Starts hosts with the run's defaults; `stop_all` ends them."""

    def __init__(self, config: pytest.Config, azurite: Azurite, log_dir: Path) -> None:
        self._config = config
        self._azurite = azurite
        self._log_dir = log_dir
        self.started: list[DevHost] = []

    def __call__(self, app_dir: str | Path | None = None, **options: Any) -> DevHost:
        folder = Path(app_dir).resolve() if app_dir is not None else _app_dir(self._config)
        if folder is None:
            raise pytest.UsageError(
                "no app folder: pass one (devhost_factory('path/to/app')), or set --devhost-app or the "
                "devhost_app ini option"
            )
        if self._config.getoption("--devhost-deliver-twice"):
            options.setdefault("deliver_twice", True)
        extra = [*self._config.getoption("--devhost-arg"), *options.pop("extra_args", ())]
        host = DevHost(folder, self._azurite, extra_args=extra, **options)
        if "log_path" not in options:
            host.log_path = self._log_dir / f"{folder.name}-{host.hub_name}.log"
        self.started.append(host)
        return host.start()

    def stop_all(self) -> None:
        while self.started:
            self.started.pop().stop()


@pytest.fixture(scope="session")
def devhost_azurite(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Azurite]:
    """An in-memory Azurite blob service for the whole run (AZURITE_BLOB_PORT: use a running one)."""
    log_dir = _log_dir(pytestconfig, tmp_path_factory)
    app = _app_dir(pytestconfig)
    search = (pytestconfig.rootpath, *((app,) if app else ()))
    service = Azurite.start(search_from=search, log_path=log_dir / "azurite.log")
    yield service
    service.stop()


@pytest.fixture(scope="session")
def devhost_session_factory(
    pytestconfig: pytest.Config, devhost_azurite: Azurite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostFactory]:
    """Start hosts that live until the end of the run: `devhost_session_factory(app_dir, **options)`."""
    yield from _hosts_until_done(pytestconfig, devhost_azurite, tmp_path_factory)


@pytest.fixture
def devhost_factory(
    pytestconfig: pytest.Config, devhost_azurite: Azurite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostFactory]:
    """Start hosts for this test: `devhost_factory(app_dir, virtual_clock=True, ...)`; stopped after it."""
    yield from _hosts_until_done(pytestconfig, devhost_azurite, tmp_path_factory)


def _hosts_until_done(
    pytestconfig: pytest.Config, azurite: Azurite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostFactory]:
    """A host factory for the fixture's scope; every host it started is stopped at the scope's end."""
    factory = _Factory(pytestconfig, azurite, _log_dir(pytestconfig, tmp_path_factory))
    yield factory
    factory.stop_all()


@pytest.fixture
def devhost(request: pytest.FixtureRequest, devhost_factory: HostFactory) -> DevHost:
    """A host on the configured app, with the options of the test's `devhost` marker."""
    marker = request.node.get_closest_marker("devhost")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    app_dir = options.pop("app_dir", None)
    return devhost_factory(app_dir, **options)
