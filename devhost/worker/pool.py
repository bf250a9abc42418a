"""The host's side of the language workers: start them, send invocations, restart the dead.

`FUNCTIONS_WORKER_PROCESS_COUNT` processes (default 1, at most 10, as on Azure) each run the
whole app. An invocation goes to the live worker with the fewest in flight. When a worker dies
(`os._exit`, a segfault, `kill -9`), a new one is started and what was in flight on the dead one
is sent again: orchestrator episodes (a replay is deterministic), activities (at-least-once, as
with a lost queue-message lease) and entity batches (nothing was committed). HTTP invocations
fail with 500 like on Azure, because the caller, not the host, decides whether to repeat them.
After `MAX_CRASH_RETRIES` crashes of one invocation it fails with a message naming the crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import devhost
from devhost.loader import AppLoadError, FunctionIndex, FunctionInfo, index_from_metadata
from devhost.worker.protocol import Header, read_frame, write_frame

log = logging.getLogger("devhost.worker")

PROCESS_COUNT_SETTING = "FUNCTIONS_WORKER_PROCESS_COUNT"
MAX_PROCESS_COUNT = 10
MAX_CRASH_RETRIES = 5
WORKER_START_TIMEOUT = 120.0
_PACKAGE_PARENT = str(Path(devhost.__file__).resolve().parent.parent)


class WorkerSettingError(Exception):
    """A worker app setting has a value the host cannot use; the message says which."""


class UserFunctionError(Exception):
    """The user function raised in the worker: its exception type name, message and traceback."""

    def __init__(self, type_name: str, message: str, traceback_text: str = "") -> None:
        super().__init__(message)
        self.type_name = type_name
        self.traceback_text = traceback_text


class WorkerCrashedError(Exception):
    """The worker process died while running the invocation, more often than retries allow."""


@dataclass
class OrchestratorOutcome:
    """The orchestrator's answer: a parsed OrchestratorState, or a failure before the SDK answered."""

    state: dict[str, Any] | None
    error: str | None = None


@dataclass
class HttpResult:
    """What an HTTP function answered."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _Invocation:
    header: Header
    body: bytes
    done: asyncio.Future[tuple[Header, bytes]]
    crashes: int = 0


@dataclass
class _Worker:
    number: int
    process: asyncio.subprocess.Process
    writer: asyncio.StreamWriter
    reader: asyncio.StreamReader
    pid: int = 0
    ready: bool = False
    in_flight: dict[int, _Invocation] = field(default_factory=dict)


def process_count() -> int:
    """FUNCTIONS_WORKER_PROCESS_COUNT (default 1), validated like the Functions host (1 to 10)."""
    raw = os.environ.get(PROCESS_COUNT_SETTING, "").strip()
    if not raw:
        return 1
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PROCESS_COUNT:
        raise WorkerSettingError(
            f"{PROCESS_COUNT_SETTING}={raw!r}: use a whole number from 1 to {MAX_PROCESS_COUNT}"
        )
    return value


def _exit_description(code: int | None) -> str:
    if code is None:
        return "closed its connection"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


class WorkerPool:
    """Runs the app's functions in worker processes (the `invoker` the engine and server use)."""

    def __init__(
        self, script_root: Path, *, count: int = 1, dateutil_timestamps: bool = False, verbose: bool = False
    ) -> None:
        self.script_root = script_root
        self.count = count
        self.dateutil_timestamps = dateutil_timestamps
        self.verbose = verbose
        self.index: FunctionIndex | None = None
        self.orchestrator_seconds = 0.0  # time inside the SDK's orchestrator handle, for benchmarks
        self.episodes = 0
        self.restarts = 0
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._numbers = itertools.count(1)
        self._available = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._queued: list[_Invocation] = []

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> FunctionIndex:
        """Start the workers; the first to load the app gives the index. Raises AppLoadError."""
        first = await asyncio.gather(*(self._spawn() for _ in range(self.count)), return_exceptions=True)
        for outcome in first:
            if isinstance(outcome, BaseException):
                await self.stop()
                raise outcome
        assert self.index is not None
        return self.index

    def stopping(self) -> None:
        """The host is shutting down: a worker ending now (e.g. SIGTERM to the group) is not restarted."""
        self._stopping = True

    async def stop(self) -> None:
        self._stopping = True
        for worker in list(self._workers):
            with contextlib.suppress(Exception):
                write_frame(worker.writer, {"op": "stop"})
                worker.writer.close()
        for worker in list(self._workers):
            try:
                await asyncio.wait_for(worker.process.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
                await worker.process.wait()
        for task in list(self._tasks):
            task.cancel()

    def describe(self) -> list[dict[str, Any]]:
        """The workers for /admin/workers: number, pid, ready, in flight."""
        return [
            {"number": w.number, "pid": w.pid, "ready": w.ready, "inFlight": len(w.in_flight)}
            for w in self._workers
        ]

    async def _spawn(self) -> None:
        host_end, worker_end = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_PARENT, *filter(None, [env.get("PYTHONPATH")])])
        env.setdefault("PYTHONUNBUFFERED", "1")
        command = [
            sys.executable,
            "-m",
            "devhost.worker",
            "--script-root",
            str(self.script_root),
            "--fd",
            str(worker_end.fileno()),
        ]
        if self.dateutil_timestamps:
            command.append("--dateutil-timestamps")
        if self.verbose:
            command.append("--verbose")
        try:
            process = await asyncio.create_subprocess_exec(
                *command, cwd=str(self.script_root), env=env, pass_fds=(worker_end.fileno(),)
            )
        finally:
            worker_end.close()
        reader, writer = await asyncio.open_connection(sock=host_end)
        worker = _Worker(next(self._numbers), process, writer, reader)
        self._workers.append(worker)
        try:
            header, _ = await asyncio.wait_for(read_frame(reader), WORKER_START_TIMEOUT)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError) as error:
            self._workers.remove(worker)
            writer.close()
            code = await _exit_code(process)
            what = _exit_description(code)
            raise AppLoadError(
                f"the worker process {what} before loading the app ({type(error).__name__})"
            ) from error
        if header.get("op") != "ready":
            self._workers.remove(worker)
            writer.close()
            await process.wait()
            raise AppLoadError(str(header.get("message") or "the worker could not load the app"))
        worker.pid = int(header["pid"])
        if self.index is None:
            self.index = index_from_metadata(header["index"])
        worker.ready = True
        self._track(self._read_results(worker))
        self._available.set()
        self._send_queued()

    def _track(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read_results(self, worker: _Worker) -> None:
        try:
            while True:
                header, body = await read_frame(worker.reader)
                invocation = worker.in_flight.pop(int(header["id"]), None)
                if invocation is not None and not invocation.done.done():
                    invocation.done.set_result((header, body))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        await self._on_worker_exit(worker)

    async def _on_worker_exit(self, worker: _Worker) -> None:
        worker.ready = False
        with contextlib.suppress(ValueError):
            self._workers.remove(worker)
        worker.writer.close()
        code = await _exit_code(worker.process)
        if self._stopping:
            return
        what = _exit_description(code)
        lost = list(worker.in_flight.values())
        worker.in_flight.clear()
        log.warning(
            "worker %d (pid %d) %s with %d invocation(s) in flight; starting a new worker",
            worker.number,
            worker.pid,
            what,
            len(lost),
        )
        print(f"devhost: worker process {worker.pid} {what}; restarting it", file=sys.stderr, flush=True)
        for invocation in lost:
            invocation.crashes += 1
            kind = invocation.header["kind"]
            if kind == "http" or invocation.crashes > MAX_CRASH_RETRIES:
                suffix = "" if kind == "http" else f" ({invocation.crashes} times)"
                invocation.done.set_exception(
                    WorkerCrashedError(
                        f"The worker process {what} while running '{invocation.header['function']}'{suffix}."
                    )
                )
            else:
                self._queued.append(invocation)
        self._send_queued()  # other live workers take them at once
        if not any(w.ready for w in self._workers):
            self._available.clear()
        self.restarts += 1
        delay = 0.0
        while not self._stopping:
            try:
                await self._spawn()
                return
            except AppLoadError as error:  # e.g. the app changed on disk and no longer imports
                delay = min(max(delay * 2, 0.5), 10.0)
                log.error("a new worker could not start (%s); retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)

    # -- sending --------------------------------------------------------------------------------

    def _pick(self) -> _Worker | None:
        ready = [w for w in self._workers if w.ready]
        return min(ready, key=lambda w: len(w.in_flight)) if ready else None

    def _send(self, worker: _Worker, invocation: _Invocation) -> None:
        invocation_id = next(self._ids)
        invocation.header["id"] = invocation_id
        worker.in_flight[invocation_id] = invocation
        write_frame(worker.writer, invocation.header, invocation.body)

    def _send_queued(self) -> None:
        while self._queued:
            worker = self._pick()
            if worker is None:
                return
            self._send(worker, self._queued.pop(0))

    async def _invoke(self, header: Header, body: bytes) -> tuple[Header, bytes]:
        invocation = _Invocation(header, body, asyncio.get_running_loop().create_future())
        worker = self._pick()
        if worker is None:
            self._queued.append(invocation)
        else:
            self._send(worker, invocation)
        return await invocation.done

    # -- the invoker interface ------------------------------------------------------------------

    async def orchestrator(self, function: FunctionInfo, payload: str) -> OrchestratorOutcome:
        """Run one episode: the SDK replays `payload` in the worker and returns its OrchestratorState."""
        try:
            header, body = await self._invoke(
                {"op": "invoke", "kind": "orchestrator", "function": function.function_name}, payload.encode()
            )
        except WorkerCrashedError as error:
            return OrchestratorOutcome(None, str(error))
        self.episodes += 1
        self.orchestrator_seconds += float(header.get("sdkSeconds") or 0.0)
        if not header.get("ok"):
            return OrchestratorOutcome(None, str(header.get("message") or "unknown error"))
        try:
            state = json.loads(body)
        except ValueError:
            state = None
        if not isinstance(state, dict):
            return OrchestratorOutcome(None, "Out of proc orchestrators must return a valid JSON schema.")
        return OrchestratorOutcome(state)

    async def activity(
        self, function: FunctionInfo, input_text: str | None, client_binding: str | None = None
    ) -> str | None:
        """Run an activity; returns the compact result text (None for a None result).

        An activity with a `durableClient` input binding gets `client_binding`, as on Azure.
        Raises UserFunctionError when the activity raised, WorkerCrashedError when it kept crashing.
        """
        header, body = await self._invoke(
            {
                "op": "invoke",
                "kind": "activity",
                "function": function.function_name,
                "hasInput": input_text is not None,
                "client": client_binding,
            },
            input_text.encode() if input_text is not None else b"",
        )
        if not header.get("ok"):
            raise UserFunctionError(
                str(header.get("type")), str(header.get("message")), str(header.get("traceback") or "")
            )
        return None if header.get("none") else body.decode()

    async def entity(self, function: FunctionInfo, payload: str) -> dict[str, Any]:
        """Run one entity batch; returns the parsed entity response (spec §9.3)."""
        header, body = await self._invoke(
            {"op": "invoke", "kind": "entity", "function": function.function_name}, payload.encode()
        )
        if not header.get("ok"):
            raise UserFunctionError(str(header.get("type")), str(header.get("message")))
        parsed: dict[str, Any] = json.loads(body)
        return parsed

    async def http(self, function: FunctionInfo, request: Header, body: bytes) -> HttpResult:
        """Run an HTTP-triggered function with the request described by `request` and `body`."""
        header = {"op": "invoke", "kind": "http", "function": function.function_name, **request}
        result, result_body = await self._invoke(header, body)
        if not result.get("ok"):
            raise UserFunctionError(
                str(result.get("type")), str(result.get("message")), str(result.get("traceback") or "")
            )
        return HttpResult(
            int(result["status"]), [(str(k), str(v)) for k, v in result["headers"]], result_body
        )


async def _exit_code(process: asyncio.subprocess.Process) -> int | None:
    try:
        return await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        return await process.wait()
