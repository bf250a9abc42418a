"""The event-wait rule of orchestrators/steps.py, proven on the devhost with the real SDK.

The probes (apps/event_waits) nap on a one-hour timer, so that events raised meanwhile find no open
wait, then wait for `signal` round after round with a one-day deadline per round. Each test names
the case of the rule it covers; the bare-SDK and reused-task probes show why the rule is needed
(if an SDK upgrade changes what they show, revisit the rule).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from durable_wire import EventType
from tests.support.durable_http import DurableApi
from tests.support.wire import advance_clock, deliver_in_one_batch, raw_history
from tools.harness import Azurite, HostProcess, make_host
from tools.harness.polling import wait_until

APP = Path(__file__).parent / "apps" / "event_waits"
HOUR, DAY = 3600.0, 86400.0


@pytest.fixture(scope="module")
def host(azurite: Azurite) -> Iterator[HostProcess]:
    started = make_host(APP, azurite, virtual_clock=True).start()
    yield started
    started.stop()


@pytest.fixture
def durable(host: HostProcess) -> DurableApi:
    return DurableApi(host.base_url)


def start(durable: DurableApi, probe: str, rounds: int) -> str:
    return durable.start_id(probe, {"rounds": rounds}, f"{probe}-{uuid4().hex[:10]}")


def rounds(durable: DurableApi, instance_id: str) -> list[Any] | None:
    custom = durable.status(instance_id).json().get("customStatus") or {}
    return custom.get("rounds") if isinstance(custom, dict) else None


def rounds_reach(durable: DurableApi, instance_id: str, count: int) -> list[Any]:
    """Wait until the probe has ended `count` rounds (0: its nap is over and it waits)."""

    def reached() -> bool:
        done = rounds(durable, instance_id)
        return done is not None and len(done) >= count

    wait_until(reached, 20, f"{count} rounds of {instance_id}")
    return rounds(durable, instance_id) or []


def wake_up(host: HostProcess, durable: DurableApi, instance_id: str) -> None:
    """End the nap: from here on a wait is open."""
    advance_clock(host.base_url, HOUR)
    rounds_reach(durable, instance_id, 0)


def after_is_scheduled(host: HostProcess, instance_id: str) -> bool:
    return any(
        e["EventType"] == EventType.TASK_SCHEDULED and e.get("Name") == "after"
        for e in raw_history(host.base_url, instance_id)
    )


def test_an_event_raised_before_the_wait_is_taken_by_it_and_never_again(
    host: HostProcess, durable: DurableApi
) -> None:
    """Events raised before the wait: the first wait takes it; the next round waits for a new one."""
    helper, bare = start(durable, "waits_with_helper", 2), start(durable, "waits_with_bare_sdk", 2)
    for instance_id in (helper, bare):
        assert durable.raise_event(instance_id, "signal", "early").status_code == 202
    advance_clock(host.base_url, HOUR)
    # The SDK alone hands the parked event to every later wait (Azure/azure-functions-durable-python#507)
    # while the host, which delivered one event, still waits for the second round's timer.
    assert rounds_reach(durable, bare, 2) == [{"event": "early"}, {"event": "early"}]
    assert not after_is_scheduled(host, bare)
    assert rounds_reach(durable, helper, 1) == [{"event": "early", "late": False}]
    advance_clock(host.base_url, DAY)
    assert durable.wait(helper)["output"] == [{"event": "early", "late": False}, {"deadline": True}]
    assert durable.wait(bare)["output"] == [{"event": "early"}, {"event": "early"}]


def test_of_several_events_raised_before_the_wait_the_sdk_keeps_only_the_last(
    host: HostProcess, durable: DurableApi
) -> None:
    """Several events of one name and no open wait: the SDK parks one (the last). Workflows that must
    take every such event keep a wait open at every yield (`race_with_events`)."""
    helper = start(durable, "waits_with_helper", 2)
    for payload in ("first", "second"):
        assert durable.raise_event(helper, "signal", payload).status_code == 202
    wait_until(
        lambda: (
            sum(e["EventType"] == EventType.EVENT_RAISED for e in raw_history(host.base_url, helper)) == 2
        ),
        20,
        "both events in the history",
    )
    advance_clock(host.base_url, HOUR)
    assert rounds_reach(durable, helper, 1) == [{"event": "second", "late": False}]
    advance_clock(host.base_url, DAY)
    assert durable.wait(helper)["output"] == [{"event": "second", "late": False}, {"deadline": True}]


def test_several_events_raised_while_a_wait_is_open_are_each_taken_once_in_order(
    host: HostProcess, durable: DurableApi
) -> None:
    """Several events of one name while waiting: each round takes the next, none twice, none lost."""
    helper = start(durable, "waits_with_helper", 3)
    wake_up(host, durable, helper)
    for payload in ("a", "b", "c"):
        assert durable.raise_event(helper, "signal", payload).status_code == 202
    assert durable.wait(helper)["output"] == [
        {"event": "a", "late": False},
        {"event": "b", "late": False},
        {"event": "c", "late": False},
    ]


@pytest.mark.parametrize("event_first", [False, True], ids=["deadline-first", "event-first"])
def test_an_event_and_the_deadline_in_one_batch_are_told_apart_by_the_clock(
    host: HostProcess, durable: DurableApi, event_first: bool
) -> None:
    """An event and the round's timer due together: history order picks the winner, and an event
    that wins says it came at the deadline (`late`), so a caller can apply "deadlines first"."""
    helper = start(durable, "waits_with_helper", 1)
    wake_up(host, durable, helper)
    fire_at = [
        e["FireAt"] for e in raw_history(host.base_url, helper) if e["EventType"] == EventType.TIMER_CREATED
    ]
    deadline = datetime.fromisoformat(fire_at[-1].replace("Z", "+00:00"))
    deliver_in_one_batch(host.base_url, helper, deadline, ("signal", "tie"), event_first=event_first)
    expected = [{"event": "tie", "late": True}] if event_first else [{"deadline": True}]
    assert durable.wait(helper)["output"] == expected


def test_a_fresh_wait_per_round_lets_the_next_step_start_when_the_event_comes(
    host: HostProcess, durable: DurableApi
) -> None:
    """Rule 2: after a round that timed out, an event ends the next round at once. A wait task raced
    again in a second round leaves the host waiting for that round's timer before the next step."""
    helper, reused = start(durable, "waits_with_helper", 2), start(durable, "waits_reusing_one_task", 2)
    advance_clock(host.base_url, HOUR)
    for instance_id in (helper, reused):
        rounds_reach(durable, instance_id, 0)
    advance_clock(host.base_url, DAY)
    for instance_id in (helper, reused):
        rounds_reach(durable, instance_id, 1)
        assert durable.raise_event(instance_id, "signal", "decision").status_code == 202
    assert durable.wait(helper)["output"][-1] == {"event": "decision", "late": False}
    # The SDK saw the event end the round (status written in the same episode) ...
    assert rounds_reach(durable, reused, 2)[-1] == {"event": "decision"}
    # ... but the host, following the actions, still waits for the round's timer.
    assert not after_is_scheduled(host, reused)
    assert durable.status(reused).json()["runtimeStatus"] == "Running"
    advance_clock(host.base_url, DAY)
    assert durable.wait(reused)["runtimeStatus"] == "Completed"
    assert after_is_scheduled(host, reused)


def test_an_event_raised_while_the_caller_is_busy_between_rounds_is_taken_by_the_next_round(
    host: HostProcess, durable: DurableApi
) -> None:
    """Between rounds (a reminder being sent, say) the last round's wait is still open and takes
    the event; the next round hands it over without opening a new wait, and the next step starts."""
    busy = start(durable, "waits_around_a_busy_step", 2)
    wake_up(host, durable, busy)
    advance_clock(host.base_url, DAY)  # round 1 ends at its deadline; the busy nap begins
    rounds_reach(durable, busy, 1)
    assert durable.raise_event(busy, "signal", "meanwhile").status_code == 202
    wait_until(
        lambda: any(e["EventType"] == EventType.EVENT_RAISED for e in raw_history(host.base_url, busy)),
        20,
        "the event in the history",
    )
    advance_clock(host.base_url, HOUR)  # the busy step ends
    assert durable.wait(busy)["output"] == [{"deadline": True}, {"event": "meanwhile"}]
