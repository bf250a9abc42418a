"""Activity execution: run a TaskScheduled's function (or the built-in HTTP activity) and answer.

At most `max_concurrent_activities` run at once. The completion goes back to the orchestration as
a non-durable message: it becomes durable with the episode that consumes it, and a crash before
that runs the activity again on recovery (at-least-once, as activities expect).
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Callable

import aiohttp

from devhost import history as h
from devhost.history import Event, compact_json
from devhost.host_services import HostServices
from devhost.loader import FunctionInfo
from devhost.shim import HTTP_ACTIVITY_NAME
from devhost.worker.pool import UserFunctionError

log = logging.getLogger("devhost.engine")  # the logger name the host's log has always shown


class ActivityRunner:
    """Runs activities through the worker pool, and HTTP calls with its own session."""

    def __init__(self, host: HostServices, *, max_concurrent: int, deliver_twice: bool = False) -> None:
        self._host = host
        self.deliver_twice = deliver_twice
        # The `durableClient` binding string for activities that take one (set by the server, which
        # knows the host's address).
        self.client_binding: Callable[[], str] | None = None
        self._slots = asyncio.Semaphore(max_concurrent)
        self._http_session: aiohttp.ClientSession | None = None
        self.runs = 0
        self.running = 0  # in flight now (the soak crashes the host in the middle of one)

    async def close(self) -> None:
        if self._http_session is not None:
            await self._http_session.close()

    async def run(self, instance_id: str, execution_id: str, event: Event) -> None:
        """Run the activity a TaskScheduled event asks for and deliver its completion."""
        name = str(event.get("Name"))
        event_id = int(event["EventId"])
        input_text = json.loads(event["Input"])[0] if event.get("Input") else None
        async with self._slots:
            self.running += 1
            try:
                if name == HTTP_ACTIVITY_NAME:
                    completion = await self._run_http(event_id, input_text)
                else:
                    completion = await self._invoke(name, event_id, input_text)
            finally:
                self.running -= 1
        await self._host.deliver_result(instance_id, execution_id, completion)

    async def _invoke(self, name: str, event_id: int, input_text: str | None) -> Event:
        function = self._host.index.activity(name)
        if function is None or function.disabled:
            state = (
                "is disabled"
                if function is not None
                else "doesn't exist, is disabled, or is not an activity function"
            )
            message = f" FunctionInvocationException: The function '{name}' {state}."
            return self._failed(event_id, name, message)
        runs = 2 if self.deliver_twice else 1
        completion: Event | None = None
        for _ in range(runs):
            self.runs += 1
            completion = await self._invoke_once(function, event_id, input_text)
        assert completion is not None
        return completion

    async def _invoke_once(self, function: FunctionInfo, event_id: int, input_text: str | None) -> Event:
        try:
            client = self.client_binding() if self.client_binding and function.client_binding_name else None
            result = await self._host.invoker.activity(function, input_text, client)
        except Exception as error:
            # A UserFunctionError carries the user's exception type from the worker process.
            type_name = error.type_name if isinstance(error, UserFunctionError) else type(error).__name__
            message = f" {type_name}: {error}"
            details = error.traceback_text if isinstance(error, UserFunctionError) else ""
            log.info("activity %s failed: %s", function.durable_name, details or traceback.format_exc())
            return self._failed(event_id, function.durable_name, message)
        return h.task_completed(self._host.clock.now(), event_id, result)

    async def _run_http(self, event_id: int, request_text: str | None) -> Event:
        request = json.loads(request_text) if request_text else {}
        if self._http_session is None:
            self._http_session = aiohttp.ClientSession()
        try:
            headers = request.get("headers") or {}
            async with self._http_session.request(
                str(request.get("method") or "GET"),
                str(request.get("uri")),
                data=request.get("content"),
                headers={k: (v if isinstance(v, str) else ",".join(v)) for k, v in headers.items()},
            ) as response:
                content = await response.text()
                result = {
                    "statusCode": response.status,
                    "headers": {k: v for k, v in response.headers.items()},
                    "content": content,
                }
        except (aiohttp.ClientError, OSError, ValueError) as error:
            return self._failed(event_id, HTTP_ACTIVITY_NAME, f" {type(error).__name__}: {error}")
        return h.task_completed(self._host.clock.now(), event_id, compact_json(result))

    def _failed(self, event_id: int, name: str, message: str) -> Event:
        """The TaskFailed event the Functions host writes when activity `name` fails with `message`."""
        return h.task_failed(
            self._host.clock.now(),
            event_id,
            f"Activity function '{name}' failed: {message}",
            h.activity_failure_details(message),
        )
