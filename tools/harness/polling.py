"""The one polling loop: read something until it is what a caller waits for, or give up in time.

Every wait of the harness, the workflow clients, the fuzzing, the soak and the tests goes through
`poll_until`, so a wait always has a deadline, an interval and a failure that says what it waited
for and what it saw last.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_INTERVAL_SECONDS = 0.05


class PollTimeoutError(AssertionError):
    """A wait ran out; `last` is the last value read (None when nothing was read).

    An AssertionError, so pytest shows it as a test failure with its message.
    """

    def __init__(self, message: str, last: Any = None) -> None:
        super().__init__(message)
        self.last: Any = last


def poll_until(
    read: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    interval: float = DEFAULT_INTERVAL_SECONDS,
    between: Callable[[T], object] | None = None,
) -> T:
    """Call `read` until `done(value)`; return that value.

    `between(value)` runs after each read that is not done yet (and may raise to stop early: an
    instance that ended, say) or move things along (nudge a virtual clock). After `timeout`
    seconds, raises PollTimeoutError naming `what` and the last value read.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if between is not None:
            between(value)
        if time.monotonic() >= deadline:
            raise PollTimeoutError(
                f"timed out after {timeout:g} s waiting for {what}; last: {value!r}", value
            )
        time.sleep(interval)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` until it holds; fail naming `what` after `timeout` seconds."""
    poll_until(predicate, bool, timeout=timeout, what=what)
