"""A devhost serving one app folder, as a child process of the test: start, call, stop, kill."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import site
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import devhost
from devhost.testing.azurite import Azurite, free_port, stop_process_group
from devhost.testing.client import HostClient

_PACKAGE_PARENT = str(Path(devhost.__file__).resolve().parent.parent)
_SITE_PACKAGES = {str(Path(p).resolve()) for p in site.getsitepackages()}


class DevHostStartError(RuntimeError):
    """The host exited or did not become ready; the message holds the end of its log."""


def _iso_instant(value: str | datetime) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("clock_start must be timezone-aware (UTC), e.g. datetime(2026, 3, 2, 9, tzinfo=UTC)")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DevHost(HostClient):
    """`python -m devhost start` on an app folder, with its own task hub, on Azurite.

    Options:
    - `settings`: app settings (environment variables), over the app's local.settings.json Values.
    - `virtual_clock` / `clock_start`: time moves only through `advance_clock`, from this instant.
    - `deliver_twice`: run every activity twice with the same input (proves idempotency).
    - `easy_auth`: the devhost's Easy Auth emulation (`--easy-auth`), for apps behind App Service auth.
    - `extra_args`: any other `devhost start` flags, passed through as they are.
    - `hub_name`: the task hub (default: a fresh one, so hosts sharing an Azurite never see each
      other's instances).

    Without `azurite`, entering the context starts a private Azurite and stops it afterwards.
    """

    def __init__(
        self,
        app_dir: str | Path,
        azurite: Azurite | None = None,
        *,
        settings: Mapping[str, str] | None = None,
        virtual_clock: bool = False,
        clock_start: str | datetime | None = None,
        deliver_twice: bool = False,
        easy_auth: bool = False,
        trace_payloads: bool = False,
        extra_args: Iterable[str] = (),
        hub_name: str | None = None,
        port: int | None = None,
        log_path: Path | None = None,
        python: str = sys.executable,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.port = port or free_port()
        super().__init__(f"http://127.0.0.1:{self.port}", log_tail=self.log_tail)
        self.azurite = azurite
        self._own_azurite = False
        self.hub_name = hub_name or f"t{uuid.uuid4().hex[:12]}"
        self.settings = dict(settings or {})
        if log_path is None:
            log_dir = Path(tempfile.gettempdir()) / "devhost-logs"
            log_dir.mkdir(exist_ok=True)
            log_path = log_dir / f"{self.app_dir.name}-{self.hub_name}.log"
        self.log_path = log_path
        self.command = [
            python,
            "-m",
            "devhost",
            "start",
            "--script-root",
            str(self.app_dir),
            "--port",
            str(self.port),
            "--task-hub",
            self.hub_name,
        ]
        if virtual_clock or clock_start is not None:
            self.command.append("--virtual-clock")
        if clock_start is not None:
            self.command += ["--clock-start", _iso_instant(clock_start)]
        if deliver_twice:
            self.command.append("--deliver-activities-twice")
        if easy_auth:
            self.command.append("--easy-auth")
        if trace_payloads:
            self.command.append("--trace-payloads")
        self.command += list(extra_args)
        # The host's environment: the test's, then the storage connection, then the settings.
        # App settings set here win over the app's local.settings.json Values, as with `func start`.
        self.env: dict[str, str] = dict(os.environ)
        self.env.update({"FUNCTIONS_WORKER_RUNTIME": "python", "TASKHUB_NAME": self.hub_name})
        self.env["PYTHONUNBUFFERED"] = "1"
        if azurite is not None:
            self.env["AzureWebJobsStorage"] = azurite.connection_string
        if easy_auth:  # sessions signed with this host's key survive its restarts
            self.env["WEBSITE_AUTH_ENCRYPTION_KEY"] = uuid.uuid4().hex
        self.env.update(self.settings)
        if _PACKAGE_PARENT not in _SITE_PACKAGES:  # devhost runs from a source tree, not installed
            self.env["PYTHONPATH"] = os.pathsep.join(
                [_PACKAGE_PARENT, *filter(None, [self.env.get("PYTHONPATH")])]
            )
        self.process: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> DevHost:
        """Start the host and wait until it serves; raises DevHostStartError with its log."""
        if self.azurite is None:
            self.azurite = Azurite.start(search_from=(Path.cwd(), self.app_dir))
            self._own_azurite = True
            if "AzureWebJobsStorage" not in self.settings:
                self.env["AzureWebJobsStorage"] = self.azurite.connection_string
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.app_dir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() and kill() reach its workers
            )
        try:
            self.wait_ready(timeout)
        except BaseException:
            # A host that never became ready must not outlive the test, nor the Azurite it started
            # (the caller has no object to stop when start() raises).
            self.kill()
            self._stop_own_azurite()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise DevHostStartError(
                    f"the host exited with {self.process.returncode}; {self.log_tail(60)}"
                )
            with (
                contextlib.suppress(OSError, urllib.error.URLError, ValueError),
                urllib.request.urlopen(f"{self.base_url}/admin/host/status", timeout=2) as response,
            ):
                if json.loads(response.read()).get("state") == "Running":
                    return
            time.sleep(0.05)
        raise DevHostStartError(f"the host was not ready after {timeout:g} s; {self.log_tail(60)}")

    def stop(self) -> None:
        """Stop the host politely (SIGINT, as Ctrl-C), then its private Azurite if it started one."""
        self._interrupt()
        self.close()
        self._stop_own_azurite()

    def _interrupt(self) -> None:
        """SIGINT the running host (as Ctrl-C) and wait for it; kill -9 if it has not ended in 15 s."""
        stop_process_group(self.process, signal.SIGINT, grace_seconds=15)

    def _stop_own_azurite(self) -> None:
        if self._own_azurite and self.azurite is not None:
            self.azurite.stop()
            self.azurite = None
            self._own_azurite = False

    def kill(self) -> None:
        """kill -9 the host and its workers, as a crash would (storage survives)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def restart(self, timeout: float = 60) -> DevHost:
        """Stop (if running) and start again on the same task hub and port: recovery from storage."""
        self._interrupt()
        return self.start(timeout)

    def __enter__(self) -> DevHost:
        if self.process is None or self.process.poll() is not None:
            self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # -- the log and the workers ---------------------------------------------------------------

    def log_text(self) -> str:
        """Everything the host (and its workers, and the app's prints and logs) wrote."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_text().splitlines()
        shown = text[-lines:]
        return f"host log ({len(shown)} last lines of {self.log_path}):\n" + "\n".join(
            f"  | {line}" for line in shown
        )

    def worker_pids(self) -> list[int]:
        """The process ids of the host's language workers (where the app's code runs)."""
        return [int(w["pid"]) for w in self.workers()["workers"] if w.get("ready")]

    @property
    def extra(self) -> dict[str, Any]:
        """Compatibility view for older harness code: the task hub and the host kind."""
        return {"hub": self.hub_name, "kind": "devhost"}
