"""Azurite (the Azure Storage emulator) for tests: found on PATH or in node_modules, started in memory."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

AZURITE_COMMAND = "azurite-blob"
AZURITE_PATH_SETTING = "DEVHOST_AZURITE"  # an explicit path to azurite-blob
AZURITE_PORT_SETTING = "AZURITE_BLOB_PORT"  # an Azurite blob service that already runs on this port
# The well-known development storage account key (public; Azurite's default account).
DEVSTORE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
INSTALL_ADVICE = (
    "Azurite is needed to run a devhost (it stores the task hub). Install it with npm, either in your "
    "project (`npm install --save-dev azurite`, found in node_modules/.bin) or globally "
    "(`npm install -g azurite`, found on PATH); or set DEVHOST_AZURITE to the azurite-blob executable, "
    "or AZURITE_BLOB_PORT to the port of an Azurite blob service you already run."
)


class AzuriteNotFoundError(RuntimeError):
    """No azurite-blob executable was found; the message says how to install one."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process_group(
    process: subprocess.Popen[bytes] | None, first_signal: signal.Signals, *, grace_seconds: float
) -> None:
    """Send `first_signal` to the process group of a `process` started in its own session (if it still
    runs), and kill -9 the group if it has not ended within `grace_seconds`."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, first_signal)
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port` (fail early if `process` exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def blob_connection_string(port: int) -> str:
    """The connection string of Azurite's development account on 127.0.0.1:`port`."""
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={DEVSTORE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


def find_azurite(*search_from: Path) -> Path:
    """The azurite-blob executable: DEVHOST_AZURITE, then PATH, then node_modules/.bin upwards.

    node_modules/.bin is looked for in each of `search_from` (default: the current directory) and
    their parents. Raises AzuriteNotFoundError saying how to install it.
    """
    explicit = os.environ.get(AZURITE_PATH_SETTING)
    if explicit:
        path = Path(explicit)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise AzuriteNotFoundError(
            f"{AZURITE_PATH_SETTING}={explicit} is not an executable file. {INSTALL_ADVICE}"
        )
    on_path = shutil.which(AZURITE_COMMAND)
    if on_path:
        return Path(on_path)
    for start in search_from or (Path.cwd(),):
        for folder in (start.resolve(), *start.resolve().parents):
            candidate = folder / "node_modules" / ".bin" / AZURITE_COMMAND
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    raise AzuriteNotFoundError(INSTALL_ADVICE)


class Azurite:
    """An Azurite blob service: `Azurite.start()` runs one in memory on a free port.

    Use it as a context manager, or call `stop()`. With AZURITE_BLOB_PORT set, `start()` uses the
    Azurite already listening there and `stop()` leaves it alone.
    """

    def __init__(self, port: int, process: subprocess.Popen[bytes] | None = None) -> None:
        self.port = port
        self.process = process

    @property
    def connection_string(self) -> str:
        return blob_connection_string(self.port)

    @classmethod
    def start(
        cls,
        *,
        executable: Path | None = None,
        search_from: tuple[Path, ...] = (),
        log_path: Path | None = None,
        timeout: float = 30,
    ) -> Azurite:
        """Start Azurite's blob service in memory on a free port (or use AZURITE_BLOB_PORT's)."""
        existing = os.environ.get(AZURITE_PORT_SETTING)
        if existing and executable is None:
            return cls(int(existing), None)
        binary = executable or find_azurite(*search_from)
        port = free_port()
        output = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
        try:
            process = subprocess.Popen(
                [
                    str(binary),
                    "--blobHost",
                    "127.0.0.1",
                    "--blobPort",
                    str(port),
                    "--skipApiVersionCheck",  # newer azure-storage-blob speaks newer API versions
                    "--disableTelemetry",
                    "--inMemoryPersistence",
                    "--silent",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if log_path is not None and not isinstance(output, int):
                output.close()
        try:
            wait_for_port(port, timeout, process)
        except (RuntimeError, TimeoutError):
            cls(port, process).stop()
            raise
        return cls(port, process)

    def stop(self) -> None:
        """Stop the Azurite this object started (everything it stored is gone)."""
        stop_process_group(self.process, signal.SIGTERM, grace_seconds=10)

    def __enter__(self) -> Azurite:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
