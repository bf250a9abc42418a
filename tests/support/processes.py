"""Start and stop Azurite and a Functions host as child processes, the way a developer would."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
ARTIFACTS = REPO_ROOT / ".artifacts"
DEVSTORE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# Where a virtual clock starts unless a test pins its own calendar case: a plain Wednesday,
# 10:00 in Amsterdam, with no weekend, holiday, DST change or year end within a month of it.
# Virtual-clock tests therefore never take their weekday from the day the suite happens to run.
PLAIN_WEDNESDAY = "2026-11-11T09:00:00Z"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def blob_connection_string(port: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={DEVSTORE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@dataclass
class Azurite:
    """An Azurite blob service started for the test session (in-memory)."""

    port: int
    process: subprocess.Popen[bytes] | None

    @property
    def connection_string(self) -> str:
        return blob_connection_string(self.port)

    @classmethod
    def start(cls) -> Azurite:
        existing = os.environ.get("AZURITE_BLOB_PORT")
        if existing:  # an Azurite the caller already runs (e.g. the README's run command)
            return cls(int(existing), None)
        if not AZURITE_BIN.exists():
            raise RuntimeError(f"{AZURITE_BIN} is missing: run ./scripts/bootstrap (npm ci) first")
        port = free_port()
        ARTIFACTS.mkdir(exist_ok=True)
        log = (ARTIFACTS / "azurite.log").open("ab")
        process = subprocess.Popen(
            [
                str(AZURITE_BIN),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--inMemoryPersistence",
                "--silent",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(port, 30, process)
        return cls(port, process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class HostProcess:
    """A running Functions host (devhost or func) serving one app folder."""

    app_dir: Path
    port: int
    env: dict[str, str]
    command: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> HostProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.app_dir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill()  # a host that never became ready must not outlive the test
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"host exited with {self.process.returncode}; log:\n{self.log_path.read_text()[-4000:]}"
                )
            with (
                contextlib.suppress(OSError, urllib.error.URLError, ValueError),
                urllib.request.urlopen(f"{self.base_url}/admin/host/status", timeout=2) as response,
            ):
                if json.loads(response.read()).get("state") == "Running":
                    return
            time.sleep(0.1)
        raise TimeoutError(f"host not ready after {timeout} s; log:\n{self.log_path.read_text()[-4000:]}")

    def kill(self) -> None:
        """kill -9 the host (and its process group), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self, timeout: float = 60) -> HostProcess:
        self.stop()
        return self.start(timeout)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


# The local audit signing key every test host signs sealed packets with (made on first use, never
# committed: .artifacts/ is ignored). Tests that need another key make their own.
TEST_SIGNING_KEY = ARTIFACTS / "audit-signing-key.pem"


def signing_key_for_tests() -> Path:
    """The test hosts' audit signing key file, created when missing."""
    from audit_packets.signing import create_key_file

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
    azurite: Azurite,
    *,
    virtual_clock: bool = False,
    clock_start: str | None = None,
    deliver_twice: bool = False,
    trace_payloads: bool = False,
    hub_name: str | None = None,
    env: dict[str, str] | None = None,
    easy_auth: bool = False,
) -> HostProcess:
    """Describe a host for an app folder, isolated by its own task hub; call .start() to run it.

    A virtual clock starts at `clock_start` (ISO-8601 UTC), by default at `PLAIN_WEDNESDAY`.
    `easy_auth`: the devhost emulates App Service Authentication (`--easy-auth`); sessions are
    signed with a key of this host (`WEBSITE_AUTH_ENCRYPTION_KEY`), so they survive its restarts,
    and shelter staff come from data/shelter_staff.local.json unless `env` names another file.
    """
    port = free_port()
    hub = hub_name or f"t{uuid.uuid4().hex[:12]}"
    process_env = dict(os.environ)
    process_env.pop("WEBSITE_AUTH_ENABLED", None)  # platform-set: never inherited from the caller
    process_env.update(
        {
            "AzureWebJobsStorage": azurite.connection_string,
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "TASKHUB_NAME": hub,
            "PYTHONUNBUFFERED": "1",
            "AUDIT_SIGNING_KEY_FILE": str(signing_key_for_tests()),
        }
    )
    if easy_auth:
        process_env["WEBSITE_AUTH_ENCRYPTION_KEY"] = uuid.uuid4().hex
        process_env["RELIEF_SHELTER_STAFF_FILE"] = str(REPO_ROOT / "data" / "shelter_staff.local.json")
    process_env.update(env or {})
    kind = host_kind()
    if kind == "func" and easy_auth:
        raise RuntimeError(
            "Core Tools (DURABLE_HOST=func) does not emulate App Service Authentication; the tests that "
            "sign in need the devhost's --easy-auth"
        )
    if kind == "func":
        command = ["func", "start", "--port", str(port)]
    else:
        command = [
            sys.executable,
            "-m",
            "devhost",
            "start",
            "--script-root",
            str(app_dir),
            "--port",
            str(port),
        ]
        if virtual_clock:
            command += ["--virtual-clock", "--clock-start", clock_start or PLAIN_WEDNESDAY]
        elif clock_start is not None:
            raise ValueError("clock_start needs virtual_clock=True")
        if deliver_twice:
            command.append("--deliver-activities-twice")
        if trace_payloads:
            command.append("--trace-payloads")
        if easy_auth:
            command.append("--easy-auth")
        process_env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [process_env.get("PYTHONPATH")])]
        )
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"host-{app_dir.name}-{hub}.log"
    return HostProcess(app_dir, port, process_env, command, log_path, extra={"hub": hub, "kind": kind})
