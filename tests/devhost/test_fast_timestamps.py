"""The fast timestamp parse (the default; `--dateutil-timestamps` opts out) changes nothing the SDK does.

Why it is safe: the SDK parses only one thing with dateutil, each history event's `Timestamp`, and
every timestamp in a devhost history is written by `devhost.history.format_history_time` (all event
builders go through it; logs replay what it wrote). So the proof has two parts:

1. over every shape `format_history_time` produces (edges of the calendar and of the fraction, plus
   seeded and random instants), the fast parse returns exactly what dateutil returns: equal values,
   equal tzinfo, equal repr and str, also through the SDK's own HistoryEvent;
2. end to end: real trigger payloads recorded from devhost runs (real clock, and a virtual clock
   whose instants have zero microseconds) replayed through the SDK with dateutil and with the fast
   parse give byte-identical answers.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from dateutil.parser import parse as dateutil_parse  # type: ignore[import-untyped]

from devhost import fast_timestamps
from devhost.history import format_history_time
from tests.support.durable_http import DurableApi
from tests.support.wire import advance_clock, devhost_only, trace
from tools.harness import REPO_ROOT, HostProcess

SAMPLES = Path(__file__).parent / "apps" / "samples"
HISTORY_EVENT_MODULE = "azure.durable_functions.models.history.HistoryEvent"

EDGE_INSTANTS = [
    datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC),  # a virtual clock's start: no fraction at all
    datetime(2026, 3, 2, 9, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 3, 2, 9, 0, 0, 999_999, tzinfo=UTC),
    datetime(2026, 3, 2, 9, 0, 0, 500_000, tzinfo=UTC),
    datetime(2028, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),  # strftime writes year 1 as '1': both parsers must agree anyway
    datetime(999, 12, 31, 12, tzinfo=UTC),
    datetime(1000, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 6, 1, 12, tzinfo=UTC) + timedelta(microseconds=123_456),
]
RANDOM_SEED = random.randrange(2**32)


def instants(seed: int, count: int) -> Iterator[datetime]:
    rng = random.Random(seed)
    low, high = datetime(1, 1, 1, tzinfo=UTC).timestamp(), datetime(9999, 12, 31, tzinfo=UTC).timestamp()
    for _ in range(count):
        yield datetime.fromtimestamp(rng.uniform(low, high), UTC).replace(
            microsecond=rng.randrange(1_000_000)
        )


@pytest.fixture
def restore_parse() -> Iterator[None]:
    was_enabled = fast_timestamps.enabled()
    yield
    (fast_timestamps.enable if was_enabled else fast_timestamps.disable)()


def outcome(parse: Callable[[str], datetime], text: str) -> tuple[str, ...]:
    """What a parse gives, errors included (years before 1000 are not zero-padded by strftime)."""
    try:
        moment = parse(text)
    except (ValueError, OverflowError) as error:
        return ("error", type(error).__name__, str(error))
    return ("ok", repr(moment), str(moment), repr(moment.tzinfo), moment.isoformat())


@pytest.mark.parametrize(
    "seed", [19, 2026, RANDOM_SEED], ids=["seed-19", "seed-2026", f"random-{RANDOM_SEED}"]
)
def test_every_shape_the_host_writes_parses_exactly_as_dateutil_parses_it(seed: int) -> None:
    for moment in [*EDGE_INSTANTS, *instants(seed, 3000)]:
        text = format_history_time(moment)
        assert outcome(fast_timestamps.parse_timestamp, text) == outcome(dateutil_parse, text), (
            f"{text} (seed {seed})"
        )


def test_the_sdk_history_event_reads_the_same_time_either_way(restore_parse: None) -> None:
    import importlib

    module = importlib.import_module(HISTORY_EVENT_MODULE)
    for moment in EDGE_INSTANTS:
        text = format_history_time(moment)
        readings = []
        for switch in (fast_timestamps.disable, fast_timestamps.enable):
            switch()
            event = module.HistoryEvent(EventType=12, EventId=-1, IsPlayed=False, Timestamp=text)
            readings.append(repr(event.timestamp))
        assert readings[0] == readings[1], text


def test_the_host_writes_timestamps_only_through_format_history_time() -> None:
    """Every `"Timestamp": ...` the devhost writes is format_history_time(...) or a copy of one."""
    allowed = re.compile(r'"Timestamp": (h\.)?format_history_time\(|"Timestamp": event\["Timestamp"\]')
    writes = []
    for path in sorted((REPO_ROOT / "devhost").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if '"Timestamp": ' in line:
                writes.append((f"{path.name}:{number}", bool(allowed.search(line))))
    assert writes and all(ok for _, ok in writes), [where for where, ok in writes if not ok]


REPLAY_BOTH_WAYS = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import function_app
from devhost import fast_timestamps
functions = {f.get_function_name(): f for f in function_app.myApp.get_functions()}
cases = json.load(sys.stdin)
answers = []
for name, payload in cases:
    handle = functions[name].get_user_function()
    fast_timestamps.disable()
    slow = handle(context=payload)
    fast_timestamps.enable()
    fast = handle(context=payload)
    answers.append([slow, fast])
json.dump(answers, sys.stdout)
"""


def replay_both_ways(cases: list[tuple[str, str]]) -> list[list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", REPLAY_BOTH_WAYS, str(SAMPLES), str(REPO_ROOT)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answers: list[list[str]] = json.loads(result.stdout)
    assert len(answers) == len(cases)
    return answers


@devhost_only
def test_sdk_answers_are_byte_identical_with_fast_timestamps(start_host: Callable[..., HostProcess]) -> None:
    host = start_host(SAMPLES, trace_payloads=True)
    api = DurableApi(host.base_url)
    cases: list[tuple[str, str]] = []
    for name, body in [("clock_and_ids", None), ("flaky_work", None), ("backup_site_content", 5)]:
        started = requests.post(f"{host.base_url}/api/orchestrators/{name}", json=body, timeout=30)
        instance_id = started.json()["id"]
        assert api.wait(instance_id)["runtimeStatus"] == "Completed"
        cases += [(name, json.dumps(entry["payload"])) for entry in trace(host.base_url, instance_id)]
    assert len(cases) >= 10

    answers = replay_both_ways(cases)
    for (name, _), (slow, fast) in zip(cases, answers, strict=True):
        assert fast == slow, f"{name}: answers differ"
    clock_answers = [json.loads(slow) for (name, _), (slow, _) in zip(cases, answers, strict=True)]
    finished = [
        a
        for (name, _), a in zip(cases, clock_answers, strict=True)
        if name == "clock_and_ids" and a["isDone"]
    ]
    assert finished, "the clock orchestration completed in the replays"
    assert "datetime.datetime(" in finished[0]["output"][0], "reprs with tzinfo were compared too"


@devhost_only
def test_sdk_answers_are_byte_identical_on_a_virtual_clock(start_host: Callable[..., HostProcess]) -> None:
    """Virtual instants have no fraction (`.0000000Z`), and a timer's FireAt is the clock's time."""
    host = start_host(SAMPLES, trace_payloads=True, virtual_clock=True, clock_start="2026-03-02T09:00:00Z")
    api = DurableApi(host.base_url)
    ids = [
        requests.post(f"{host.base_url}/api/orchestrators/{name}", json=body, timeout=30).json()["id"]
        for name, body in [("approval_workflow", {"timeoutSeconds": 86400}), ("clock_and_ids", None)]
    ]
    for _ in range(20):  # each advance fires what is due; the next timers are created meanwhile
        advance_clock(host.base_url, 86400)
        time.sleep(0.1)
        if all(api.status(i).json()["runtimeStatus"] == "Completed" for i in ids):
            break
    cases: list[tuple[str, str]] = []
    for name, instance_id in zip(["approval_workflow", "clock_and_ids"], ids, strict=True):
        assert api.wait(instance_id)["runtimeStatus"] == "Completed"
        cases += [(name, json.dumps(entry["payload"])) for entry in trace(host.base_url, instance_id)]
    stamps = {e["Timestamp"] for _, payload in cases for e in json.loads(payload)["history"]}
    assert "2026-03-02T09:00:00.0000000Z" in stamps
    for (name, _), (slow, fast) in zip(cases, replay_both_ways(cases), strict=True):
        assert fast == slow, f"{name}: answers differ"
