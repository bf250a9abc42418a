"""Calls the app's Python functions in-process the way the Python worker does (spec Appendix B)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.history import compact_json
from devhost.loader import FunctionInfo

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


@dataclass
class OrchestratorOutcome:
    """The orchestrator's answer: a parsed OrchestratorState, or a failure before the SDK answered."""

    state: dict[str, Any] | None
    error: str | None = None


class Invoker:
    """Runs sync functions on a thread pool and async ones on the host's single event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, activity_threads: int, orchestrator_threads: int):
        self._loop = loop
        self._activity_pool = ThreadPoolExecutor(activity_threads, thread_name_prefix="activity")
        self._orchestrator_pool = ThreadPoolExecutor(orchestrator_threads, thread_name_prefix="orchestrator")
        self.orchestrator_seconds = 0.0  # time inside the SDK's orchestrator handle, for benchmarks
        self.episodes = 0

    def shutdown(self) -> None:
        self._activity_pool.shutdown(wait=False, cancel_futures=True)
        self._orchestrator_pool.shutdown(wait=False, cancel_futures=True)

    async def orchestrator(self, function: FunctionInfo, payload: str) -> OrchestratorOutcome:
        """Run one episode: the SDK replays `payload` and returns its OrchestratorState."""

        def call() -> OrchestratorOutcome:
            started = time.perf_counter()
            try:
                return self._orchestrate(function, payload)
            finally:
                self.orchestrator_seconds += time.perf_counter() - started
                self.episodes += 1

        return await self._loop.run_in_executor(self._orchestrator_pool, call)

    @staticmethod
    def _orchestrate(function: FunctionInfo, payload: str) -> OrchestratorOutcome:
        try:
            result = function.user_function(**{function.binding_name: payload})
        except Exception as error:
            text = str(error)
            if OUT_OF_PROC_MARKER in text:
                state_text = text.split(OUT_OF_PROC_MARKER, 1)[1]
                try:
                    return OrchestratorOutcome(json.loads(state_text))
                except ValueError:
                    pass
            return OrchestratorOutcome(None, text or type(error).__name__)
        return _parse_state(result)

    async def activity(
        self, function: FunctionInfo, input_text: str | None, client_binding: str | None = None
    ) -> str | None:
        """Run an activity; returns the compact result text (None for a None result); raises on failure.

        An activity with a `durableClient` input binding gets the binding string, as on Azure.
        """
        argument = ActivityTriggerConverter.decode(
            meta.Datum(type="string", value=input_text if input_text is not None else "null"),
            trigger_metadata=None,
        )
        kwargs: dict[str, Any] = {function.binding_name: argument}
        if function.client_binding_name and client_binding is not None:
            kwargs[function.client_binding_name] = client_binding
        if function.is_async:
            value = await function.user_function(**kwargs)
        else:
            value = await self._loop.run_in_executor(
                self._activity_pool, lambda: function.user_function(**kwargs)
            )
            if asyncio.iscoroutine(value):
                value = await value
        datum = ActivityTriggerConverter.encode(value, expected_type=None)
        text = datum.value if isinstance(datum.value, str) else json.dumps(datum.value)
        parsed = json.loads(text)
        return None if parsed is None else compact_json(parsed)

    async def entity(self, function: FunctionInfo, payload: str) -> dict[str, Any]:
        """Run one entity batch; returns the parsed entity response (spec §9.3)."""

        def call() -> Any:
            return function.user_function(**{function.binding_name: payload})

        result = await self._loop.run_in_executor(self._orchestrator_pool, call)
        if isinstance(result, str):
            parsed: dict[str, Any] = json.loads(result)
            return parsed
        return dict(result)

    async def http(self, function: FunctionInfo, kwargs: dict[str, Any]) -> Any:
        """Run an HTTP-triggered function; async ones on the loop, sync ones on the pool."""
        if function.is_async:
            return await function.user_function(**kwargs)
        call: Callable[[], Any] = lambda: function.user_function(**kwargs)  # noqa: E731
        value = await self._loop.run_in_executor(self._activity_pool, call)
        if asyncio.iscoroutine(value):
            value = await value
        return value


def _parse_state(result: Any) -> OrchestratorOutcome:
    if isinstance(result, func.OrchestrationContext):  # never happens; keeps mypy honest about types
        result = result.body
    if isinstance(result, str):
        try:
            state = json.loads(result)
        except ValueError:
            return OrchestratorOutcome(None, "Out of proc orchestrators must return a valid JSON schema.")
    elif isinstance(result, dict):
        state = result
    else:
        return OrchestratorOutcome(None, "Out of proc orchestrators must return a valid JSON schema.")
    if not isinstance(state, dict):
        return OrchestratorOutcome(None, "Out of proc orchestrators must return a valid JSON schema.")
    return OrchestratorOutcome(state)
