"""The host's clock and durable-timer service: real time, or a virtual clock advanced over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from devhost.history import utc_now

TimerCallback = Callable[[], Coroutine[Any, Any, None]]


class Clock:
    """`now()` for every timestamp the host writes; virtual time moves only through `advance`.

    A virtual clock starts at `start` (`--clock-start`), or at the real time when none is given;
    `started_at` keeps that instant so tests and `GET /admin/clock` can say which calendar they run on.
    """

    def __init__(self, virtual: bool, start: datetime | None = None) -> None:
        if start is not None and not virtual:
            raise ValueError("a clock start needs the virtual clock")
        self.virtual = virtual
        self._virtual_now = start or utc_now()
        self.started_at = self._virtual_now

    def now(self) -> datetime:
        return self._virtual_now if self.virtual else utc_now()

    def set_virtual(self, moment: datetime) -> None:
        """Resume from a persisted instant; the clock never goes backwards."""
        self._virtual_now = max(self._virtual_now, moment)

    def advance(self, seconds: float) -> datetime:
        self._virtual_now += timedelta(seconds=seconds)
        return self._virtual_now


def parse_clock_start(text: str) -> datetime:
    """`--clock-start`: an ISO-8601 instant with `Z` or an offset (a naive time is ambiguous)."""
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO-8601 instant; write it like 2026-12-05T13:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError(f"'{text}' has no time zone; end it with Z (UTC), e.g. 2026-12-05T13:00:00Z")
    return moment.astimezone(UTC)


class TimerService:
    """Fires callbacks at their due time on the host's clock; never before it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[datetime, int, TimerCallback]] = []
        self._sequence = itertools.count()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def schedule(self, due: datetime, callback: TimerCallback) -> None:
        heapq.heappush(self._heap, (due, next(self._sequence), callback))
        self._wakeup.set()

    def pending(self) -> int:
        return len(self._heap)

    def next_due(self) -> datetime | None:
        return self._heap[0][0] if self._heap else None

    def fire_due(self) -> int:
        """Start every callback whose time has come; returns how many fired."""
        now = self._clock.now()
        fired = 0
        while self._heap and self._heap[0][0] <= now:
            _, _, callback = heapq.heappop(self._heap)
            task = asyncio.get_running_loop().create_task(callback())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            fired += 1
        return fired

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            self.fire_due()
            timeout: float | None = None
            if self._heap and not self._clock.virtual:
                timeout = max(0.0, (self._heap[0][0] - self._clock.now()).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=timeout)
