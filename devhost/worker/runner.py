"""Calls the app's Python functions the way the Python worker does (spec Appendix B).

Sync functions run on a thread pool of `PYTHON_THREADPOOL_THREAD_COUNT` threads (default: the
Python worker's default for Python 3.9+, `min(32, cores + 4)`); async functions run on the
worker's event loop. Orchestrators run the SDK's replay here, so only the trigger payload and the
SDK's answer cross the process boundary.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.history import compact_json
from devhost.loader import FunctionIndex, FunctionInfo
from devhost.worker.protocol import Header

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
THREAD_COUNT_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"
MAX_THREADS = 32  # the Python worker's upper bound for the setting

log = logging.getLogger("devhost.worker")


@dataclass
class InvocationContext:
    """What a function gets as its `context` parameter."""

    invocation_id: str
    function_name: str
    function_directory: str
    trace_context: Any = None
    retry_context: Any = None


class Out:
    """A named output binding (`res: func.Out[func.HttpResponse]` in v1 apps)."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, value: Any) -> None:
        self._value = value

    def get(self) -> Any:
        return self._value


def thread_count() -> int | None:
    """PYTHON_THREADPOOL_THREAD_COUNT as the Python worker reads it (None: the executor's default)."""
    raw = os.environ.get(THREAD_COUNT_SETTING, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_THREADS:
        log.warning(
            "%s=%r is not a number from 1 to %d; using the default", THREAD_COUNT_SETTING, raw, MAX_THREADS
        )
        return None
    return value


class FunctionRunner:
    """Runs invocations of one loaded app."""

    def __init__(self, index: FunctionIndex, script_root: str, threads: int | None) -> None:
        self.index = index
        self.script_root = script_root
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="invocation")
        self._by_name = {f.function_name: f for f in index.functions}

    def function(self, name: str) -> FunctionInfo:
        return self._by_name[name]

    async def run(self, header: Header, body: bytes) -> tuple[Header, bytes]:
        """One invocation; returns the result header and body (never raises for user errors)."""
        function = self.function(str(header["function"]))
        kind = header["kind"]
        try:
            if kind == "orchestrator":
                return await self._orchestrator(function, body)
            if kind == "activity":
                client = header.get("client")
                return await self._activity(
                    function, body if header.get("hasInput") else None, str(client) if client else None
                )
            if kind == "entity":
                return await self._entity(function, body)
            if kind == "http":
                return await self._http(function, header, body)
        except Exception as error:
            return (
                {
                    "ok": False,
                    "type": type(error).__name__,
                    "message": str(error),
                    "traceback": "".join(traceback.format_exception(error)),
                },
                b"",
            )
        raise ValueError(f"unknown invocation kind {kind!r}")

    async def _call(self, function: FunctionInfo, kwargs: dict[str, Any]) -> Any:
        if function.is_async:
            return await function.user_function(**kwargs)
        loop = asyncio.get_running_loop()
        value = await loop.run_in_executor(self.pool, lambda: function.user_function(**kwargs))
        if asyncio.iscoroutine(value):
            value = await value
        return value

    async def _orchestrator(self, function: FunctionInfo, body: bytes) -> tuple[Header, bytes]:
        payload = body.decode()
        loop = asyncio.get_running_loop()

        def replay() -> tuple[Header, bytes]:
            started = time.perf_counter()
            outcome = _orchestrate(function, payload)
            outcome[0]["sdkSeconds"] = time.perf_counter() - started
            return outcome

        return await loop.run_in_executor(self.pool, replay)

    async def _activity(
        self, function: FunctionInfo, body: bytes | None, client: str | None = None
    ) -> tuple[Header, bytes]:
        input_text = body.decode() if body is not None else None
        argument = ActivityTriggerConverter.decode(
            meta.Datum(type="string", value=input_text if input_text is not None else "null"),
            trigger_metadata=None,
        )
        kwargs: dict[str, Any] = {function.binding_name: argument}
        if function.client_binding_name and client is not None:  # an activity with a durable client
            kwargs[function.client_binding_name] = client
        value = await self._call(function, self._with_context(function, kwargs))
        datum = ActivityTriggerConverter.encode(value, expected_type=None)
        text = datum.value if isinstance(datum.value, str) else json.dumps(datum.value)
        parsed = json.loads(text)
        if parsed is None:
            return {"ok": True, "none": True}, b""
        return {"ok": True}, compact_json(parsed).encode()

    async def _entity(self, function: FunctionInfo, body: bytes) -> tuple[Header, bytes]:
        payload = body.decode()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self.pool, lambda: function.user_function(**{function.binding_name: payload})
        )
        text = result if isinstance(result, str) else compact_json(dict(result))
        return {"ok": True}, text.encode()

    async def _http(self, function: FunctionInfo, header: Header, body: bytes) -> tuple[Header, bytes]:
        request = func.HttpRequest(
            method=str(header["method"]),
            url=str(header["url"]),
            headers=dict(header["headers"]),
            params=dict(header["params"]),
            route_params=dict(header["routeParams"]),
            body=body,
        )
        kwargs: dict[str, Any] = {function.binding_name: request}
        client_binding = function.client_binding_name
        if client_binding and header.get("client") is not None:
            kwargs[client_binding] = header["client"]
        output: Out | None = None
        if function.http_output_name:
            output = Out()
            kwargs[function.http_output_name] = output
        result = await self._call(function, self._with_context(function, kwargs))
        if output is not None and result is None:
            result = output.get()
        return _http_response(result)

    def _with_context(self, function: FunctionInfo, kwargs: dict[str, Any]) -> dict[str, Any]:
        if function.accepts_context:
            kwargs["context"] = InvocationContext(
                invocation_id=str(uuid.uuid4()),
                function_name=function.function_name,
                function_directory=self.script_root,
            )
        return kwargs


def _orchestrate(function: FunctionInfo, payload: str) -> tuple[Header, bytes]:
    """The SDK's answer (OrchestratorState JSON) or why there is none."""
    try:
        result = function.user_function(**{function.binding_name: payload})
    except Exception as error:
        text = str(error)
        if OUT_OF_PROC_MARKER in text:
            return {"ok": True}, text.split(OUT_OF_PROC_MARKER, 1)[1].encode()
        return {"ok": False, "message": text or type(error).__name__}, b""
    if isinstance(result, func.OrchestrationContext):  # never happens; keeps mypy honest about types
        result = result.body
    if isinstance(result, str):
        return {"ok": True}, result.encode()
    if isinstance(result, dict):
        return {"ok": True}, compact_json(result).encode()
    return {"ok": False, "message": "Out of proc orchestrators must return a valid JSON schema."}, b""


def _http_response(result: Any) -> tuple[Header, bytes]:
    """The HTTP answer as the host will send it: status, headers, body."""
    if isinstance(result, func.HttpResponse):
        headers = [[k, v] for k, v in result.headers.items() if k.lower() != "content-length"]
        if result.mimetype and not any(k.lower() == "content-type" for k, _ in headers):
            charset = f"; charset={result.charset}" if result.charset else ""
            headers.append(["Content-Type", f"{result.mimetype}{charset}"])
        return {"ok": True, "status": result.status_code, "headers": headers}, result.get_body()
    if result is None:
        return {"ok": True, "status": 204, "headers": []}, b""
    if isinstance(result, bytes):
        return {"ok": True, "status": 200, "headers": [["Content-Type", "application/octet-stream"]]}, result
    if isinstance(result, str):
        return {"ok": True, "status": 200, "headers": [["Content-Type", "text/plain; charset=utf-8"]]}, (
            result.encode()
        )
    return (
        {"ok": True, "status": 200, "headers": [["Content-Type", "application/json; charset=utf-8"]]},
        compact_json(result).encode(),
    )
