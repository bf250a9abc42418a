"""tools.harness.poll_until: the one polling loop of the harness, the clients, the fuzzing and the soak."""

from __future__ import annotations

import itertools

import pytest

from tools.harness import PollTimeoutError, poll_until


def test_returns_the_first_value_that_is_done_and_runs_between_after_each_other_read() -> None:
    counter = itertools.count()
    seen: list[int] = []
    value = poll_until(
        lambda: next(counter), lambda n: n >= 3, timeout=5, what="three", interval=0.001, between=seen.append
    )
    assert value == 3
    assert seen == [0, 1, 2]


def test_a_wait_that_runs_out_names_what_it_waited_for_and_keeps_the_last_value() -> None:
    with pytest.raises(PollTimeoutError, match="waiting for the impossible; last: 'still no'") as raised:
        poll_until(lambda: "still no", lambda _: False, timeout=0.05, what="the impossible", interval=0.01)
    assert raised.value.last == "still no"
    assert isinstance(raised.value, AssertionError)  # pytest shows it as a test failure


def test_between_may_stop_the_wait_early() -> None:
    def ended(value: str) -> None:
        raise RuntimeError(f"ended as {value}")

    with pytest.raises(RuntimeError, match="ended as Failed"):
        poll_until(
            lambda: "Failed", lambda status: status == "Completed", timeout=5, what="done", between=ended
        )
