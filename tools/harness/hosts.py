"""Azurite and a Functions host of an app folder, built on the packaged `devhost.testing`.

The project tests itself through the same library a team installs with the durable-devhost
wheel; this module only adds the repository's defaults: the pinned Azurite from node_modules,
logs under .artifacts/, the test hosts' audit signing key, a pinned virtual-clock start, and
`DURABLE_HOST=func` to run a suite on `func start` instead. Used by the tests (through
tests/support/), the fuzzing, the soak and the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from datetime import datetime
from pathlib import Path

from audit_packets.signing import create_key_file
from devhost.testing import Azurite as _Azurite
from devhost.testing import DevHost, blob_connection_string, free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
ARTIFACTS = REPO_ROOT / ".artifacts"
# Where a virtual clock starts unless a test pins its own calendar case: a plain Wednesday,
# 10:00 in Amsterdam, with no weekend, holiday, DST change or year end within a month of it.
# Virtual-clock tests therefore never take their weekday from the day the suite happens to run.
PLAIN_WEDNESDAY = "2026-11-11T09:00:00Z"

# A running host (devhost or func) serving one app folder.
HostProcess = DevHost

__all__ = [
    "ARTIFACTS",
    "PLAIN_WEDNESDAY",
    "REPO_ROOT",
    "Azurite",
    "HostProcess",
    "blob_connection_string",
    "free_port",
    "host_kind",
    "make_host",
    "wait_for_port",
]


class Azurite(_Azurite):
    """The session's Azurite: the repository's pinned one (npm ci), logging to .artifacts/azurite.log.

    `start(location=...)` runs one on disk instead (the storage-fault tests and the soak kill it with
    `kill()` and bring it back on the same data and port with `restart()`).
    """

    def __init__(
        self, port: int, process: subprocess.Popen[bytes] | None = None, location: Path | None = None
    ):
        super().__init__(port, process)
        self.location = location

    @classmethod
    def start(  # type: ignore[override]  # the project always starts it the same way
        cls, location: Path | None = None, port: int | None = None
    ) -> Azurite:
        if not os.environ.get("AZURITE_BLOB_PORT") and not AZURITE_BIN.exists():
            raise RuntimeError(f"{AZURITE_BIN} is missing: run ./scripts/bootstrap (npm ci) first")
        ARTIFACTS.mkdir(exist_ok=True)
        if location is None and port is None:
            executable = None if os.environ.get("AZURITE_BLOB_PORT") else AZURITE_BIN
            service = _Azurite.start(executable=executable, log_path=ARTIFACTS / "azurite.log")
            return cls(service.port, service.process)
        port = port or free_port()
        storage = ["--location", str(location)] if location is not None else ["--inMemoryPersistence"]
        with (ARTIFACTS / "azurite.log").open("ab") as log:
            process = subprocess.Popen(
                [
                    str(AZURITE_BIN),
                    "--blobHost",
                    "127.0.0.1",
                    "--blobPort",
                    str(port),
                    "--skipApiVersionCheck",
                    "--disableTelemetry",
                    *storage,
                    "--silent",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(port, 30, process)
        return cls(port, process, location)

    def kill(self) -> None:
        """kill -9 Azurite (on disk it keeps its data, minus what it had not saved yet)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def restart(self) -> Azurite:
        """Start Azurite again on the same port and data (after `kill` or `stop`); this object then
        holds the new process (so `stop` stops it)."""
        self.process = Azurite.start(self.location, self.port).process
        return self


# The local audit signing key every test host signs sealed packets with (made on first use, never
# committed: .artifacts/ is ignored). Tests that need another key make their own.
TEST_SIGNING_KEY = ARTIFACTS / "audit-signing-key.pem"


def signing_key_for_tests() -> Path:
    """The test hosts' audit signing key file, created when missing."""
    with contextlib.suppress(FileExistsError):
        create_key_file(TEST_SIGNING_KEY)
    return TEST_SIGNING_KEY


def host_kind() -> str:
    """`devhost` (default) or `func` when DURABLE_HOST=func and Core Tools is on PATH."""
    kind = os.environ.get("DURABLE_HOST", "devhost")
    if kind == "func" and shutil.which("func") is None:
        raise RuntimeError("DURABLE_HOST=func but Azure Functions Core Tools ('func') is not on PATH")
    return kind


def make_host(
    app_dir: Path,
    azurite: _Azurite,
    *,
    virtual_clock: bool = False,
    clock_start: str | datetime | None = None,
    deliver_twice: bool = False,
    trace_payloads: bool = False,
    hub_name: str | None = None,
    env: dict[str, str] | None = None,
    easy_auth: bool = False,
    extra_args: list[str] | None = None,
) -> DevHost:
    """Describe a host for an app folder, isolated by its own task hub; call .start() to run it.

    A virtual clock starts at `clock_start` (ISO-8601 UTC), by default at `PLAIN_WEDNESDAY`.
    `easy_auth`: the devhost emulates App Service Authentication (`--easy-auth`); sessions are
    signed with a key of this host (`WEBSITE_AUTH_ENCRYPTION_KEY`), so they survive its restarts,
    and shelter staff come from data/shelter_staff.local.json unless `env` names another file.
    """
    if clock_start is not None and not virtual_clock:
        raise ValueError("clock_start needs virtual_clock=True")
    if host_kind() == "func" and easy_auth:
        raise RuntimeError(
            "Core Tools (DURABLE_HOST=func) does not emulate App Service Authentication; the tests that "
            "sign in need the devhost's --easy-auth"
        )
    # Sealed audit packets are signed with the test hosts' local key (scripts/dev makes its own).
    settings: dict[str, str] = {"AUDIT_SIGNING_KEY_FILE": str(signing_key_for_tests())}
    if easy_auth:
        settings["RELIEF_SHELTER_STAFF_FILE"] = str(REPO_ROOT / "data" / "shelter_staff.local.json")
    settings.update(env or {})
    ARTIFACTS.mkdir(exist_ok=True)
    host = DevHost(
        app_dir,
        azurite,
        easy_auth=easy_auth,
        settings=settings,
        virtual_clock=virtual_clock,
        clock_start=(clock_start or PLAIN_WEDNESDAY) if virtual_clock else None,
        deliver_twice=deliver_twice,
        trace_payloads=trace_payloads,
        extra_args=extra_args or (),
        # The app names its containers after TASKHUB_NAME: settings that set it choose the hub.
        hub_name=hub_name or settings.get("TASKHUB_NAME"),
    )
    host.log_path = ARTIFACTS / f"host-{app_dir.name}-{host.hub_name}.log"
    if "WEBSITE_AUTH_ENABLED" not in settings:  # platform-set: never inherited from the caller
        host.env.pop("WEBSITE_AUTH_ENABLED", None)
    # The repository's devhost, whatever the test's working directory.
    host.env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [host.env.get("PYTHONPATH")])])
    if host_kind() == "func":
        host.command = ["func", "start", "--port", str(host.port)]
    return host
