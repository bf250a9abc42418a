"""The instance timeline: a Gantt chart of one orchestration instance, built from its history.

Input is the status API's JSON with `historyEvents` (what `GET instances/{id}?showHistory=true`
answers on Azure and on the devhost), so the chart is the same wherever the app runs. One lane per
activity call (its attempts side by side, failed ones hatched, the retry delays between them drawn
as thin lines and the whole call boxed, so retries read as one group), per durable timer (a span
from its creation until it fired, or dashed until it is due), per wait for an external event (a
span that ends at the event, labelled with who sent it) and per sub-orchestration (its own lanes
nested and indented below it, when the caller passes the child's status). The time axis is real
UTC time; with more lanes than fit (`MAX_LANES`) calls of the same activity share a lane, so an
instance of 300 or 1,000 steps stays a readable page.

What the history cannot say, and how the chart infers it:
- When a wait for an event began is not recorded. It is drawn from the end of the step the
  orchestration took before it went idle, looking back across what the wait itself did meanwhile
  (reminders or escalations started by a timer, and bookings started by an earlier event of the
  same name), so a maintenance approval's wait spans its reminders.
- Which timer was a retry delay is not recorded either: a timer created after a failed attempt
  that fired before the same call's next attempt was scheduled is drawn as that call's retry delay.
- Activities still running and sub-orchestrations not yet finished are not in the status history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from audit_packets import actor_of, loads_json
from console.charts import (
    GREY,
    OKABE_ITO,
    TEXT,
    Series,
    chart_id,
    duration_text,
    esc,
    figure,
    fill,
    legend,
    parse_time,
    pattern_defs,
    percent,
    plural,
    series_for_status,
    svg_open,
    text,
    time_ticks,
    utc_text,
)
from durable_wire import ACTIVE_STATUSES

MAX_LANES = 40  # beyond this, calls of one activity share a lane and timers share one
MAX_DEPTH = 3  # sub-orchestrations nested at most this deep
LANE_HEIGHT = 34  # px: the lane's text line, then its bars
AXIS_HEIGHT = 24
INDENT = 14  # px per nesting level
PAD = 1.0  # % of the width kept free at both ends
MIN_BAR_PERCENT = 0.5  # narrower bars are drawn 4 px wide so an instant stays visible

SERIES = {
    "completed": Series("completed", "Activity attempt completed", OKABE_ITO["blue"], "solid"),
    "failed": Series("failed", "Activity attempt failed", OKABE_ITO["vermillion"], "crosshatch"),
    "timer": Series("timer", "Durable timer (until it fired)", OKABE_ITO["orange"], "diagonal"),
    "timer-pending": Series("timer-pending", "Timer not fired yet", "#F6D28A", "backdiagonal"),
    "wait": Series("wait", "Waiting for an external event", OKABE_ITO["reddish_purple"], "dots"),
    "suspended": Series("suspended", "Suspended", OKABE_ITO["yellow"], "horizontal"),
}
Redactor = Callable[[Any], Any]


@dataclass(frozen=True)
class Bar:
    """One span on the chart. `end` None: still open at the chart's `now`."""

    kind: str  # orchestration | attempt | retry-delay | timer | wait | suborchestration | suspended
    start: datetime
    end: datetime | None
    outcome: str  # completed, failed, fired, pending, received, waiting, or a runtime status
    title: str  # what a tooltip and the data table say
    event_marker: bool = False  # a wait that ended at an event: a diamond at its end


@dataclass
class Lane:
    """One row of the chart."""

    kind: str  # orchestration | activity | timer | wait | suborchestration
    title: str
    detail: str
    bars: list[Bar]
    depth: int = 0
    instance_id: str = ""
    order: tuple[datetime, int] = (datetime.min, 0)

    @property
    def grouped_retries(self) -> bool:
        """An activity call that took more than one attempt."""
        return self.kind == "activity" and sum(1 for bar in self.bars if bar.kind == "attempt") > 1


@dataclass
class Timeline:
    """Everything the chart shows about one instance."""

    instance_id: str
    name: str
    runtime_status: str
    start: datetime
    end: datetime
    now: datetime
    lanes: list[Lane]
    collapsed: bool = False
    notes: list[str] = field(default_factory=list)

    def bars(self, kind: str) -> list[Bar]:
        """Every bar of one kind."""
        return [bar for lane in self.lanes for bar in lane.bars if bar.kind == kind]


# -- reading the history ------------------------------------------------------------------------------


@dataclass
class _Attempt:
    scheduled: datetime
    finished: datetime
    outcome: str
    index: int  # position of its completion in the history
    failure: str = ""


@dataclass
class _Call:
    name: str
    input_key: str
    attempts: list[_Attempt] = field(default_factory=list)
    retry_delays: list[_Timer] = field(default_factory=list)

    @property
    def first_index(self) -> int:
        return self.attempts[0].index


@dataclass
class _Timer:
    created: datetime
    fire_at: datetime | None
    index: int
    fired: datetime | None = None
    fired_index: int = -1
    retry_of: _Call | None = None


@dataclass
class _Event:
    name: str
    at: datetime
    index: int
    data: Any


@dataclass
class _Child:
    name: str
    instance_id: str
    created: datetime
    finished: datetime
    outcome: str
    index: int


@dataclass
class _History:
    started: datetime | None = None
    finished: datetime | None = None
    final_status: str = ""
    calls: list[_Call] = field(default_factory=list)
    timers: list[_Timer] = field(default_factory=list)
    events: list[_Event] = field(default_factory=list)
    children: list[_Child] = field(default_factory=list)
    suspensions: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    # (index, kind, time) of every event, for looking back from a moment
    points: list[tuple[int, str, datetime]] = field(default_factory=list)
    call_of_index: dict[int, _Call] = field(default_factory=dict)
    timer_of_fired_index: dict[int, _Timer] = field(default_factory=dict)
    event_of_index: dict[int, _Event] = field(default_factory=dict)
    failed_calls: dict[tuple[str, str], list[_Call]] = field(default_factory=dict)  # awaiting a retry


def _read(history: Sequence[Mapping[str, Any]]) -> _History:
    read = _History()
    for index, event in enumerate(history):
        kind = str(event.get("EventType") or "")
        at = parse_time(event.get("Timestamp"))
        if at is None:
            continue
        read.points.append((index, kind, at))
        if kind == "ExecutionStarted":
            read.started = read.started or at
        elif kind in ("TaskCompleted", "TaskFailed"):
            name = str(event.get("FunctionName") or "?")
            input_key = str(event.get("Input") or "")
            attempt = _Attempt(
                scheduled=parse_time(event.get("ScheduledTime")) or at,
                finished=at,
                outcome="completed" if kind == "TaskCompleted" else "failed",
                index=index,
                failure=str(event.get("Reason") or "") if kind == "TaskFailed" else "",
            )
            # A retry is the next attempt of the latest call with this name and input whose last
            # attempt failed (the audit packet groups attempts the same way).
            retrying = read.failed_calls.get((name, input_key))
            call = retrying[-1] if retrying else None
            if call is None:
                call = _Call(name, input_key)
                read.calls.append(call)
            elif retrying is not None:
                retrying.pop()
            call.attempts.append(attempt)
            if attempt.outcome == "failed":
                read.failed_calls.setdefault((name, input_key), []).append(call)
            read.call_of_index[index] = call
        elif kind == "TimerCreated":
            read.timers.append(_Timer(created=at, fire_at=parse_time(event.get("FireAt")), index=index))
        elif kind == "TimerFired":
            fire_at = parse_time(event.get("FireAt"))
            timer = next((t for t in read.timers if t.fired is None and t.fire_at == fire_at), None)
            if timer is not None:
                timer.fired, timer.fired_index = at, index
                read.timer_of_fired_index[index] = timer
        elif kind == "EventRaised":
            raised = _Event(str(event.get("Name") or "?"), at, index, loads_json(event.get("Input")))
            read.events.append(raised)
            read.event_of_index[index] = raised
        elif kind in ("SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed"):
            read.children.append(
                _Child(
                    name=str(event.get("FunctionName") or "?"),
                    instance_id=str(event.get("InstanceId") or ""),
                    created=parse_time(event.get("ScheduledTime")) or at,
                    finished=at,
                    outcome="Completed" if kind.endswith("Completed") else "Failed",
                    index=index,
                )
            )
        elif kind == "ExecutionSuspended":
            read.suspensions.append((at, None))
        elif kind == "ExecutionResumed" and read.suspensions and read.suspensions[-1][1] is None:
            read.suspensions[-1] = (read.suspensions[-1][0], at)
        elif kind == "ExecutionCompleted":
            read.finished, read.final_status = at, str(event.get("OrchestrationStatus") or "")
        elif kind == "ExecutionTerminated":
            read.finished, read.final_status = at, "Terminated"
    _link_retry_delays(read)
    return read


def _link_retry_delays(read: _History) -> None:
    """A timer created after a failed attempt and fired by the call's next attempt is its retry delay."""
    for call in read.calls:
        for before, after in zip(call.attempts, call.attempts[1:], strict=False):
            timer = next(
                (
                    t
                    for t in read.timers
                    if t.retry_of is None
                    and t.index > before.index
                    and t.created >= before.finished
                    and t.fired is not None
                    and t.fired <= after.scheduled
                    and t.fired_index < after.index
                ),
                None,
            )
            if timer is not None:
                timer.retry_of = call
                call.retry_delays.append(timer)
        last = call.attempts[-1]
        if last.outcome == "failed":  # a retry that is still due
            timer = next(
                (t for t in read.timers if t.retry_of is None and t.fired is None and t.index > last.index),
                None,
            )
            if timer is not None and timer.created >= last.finished:
                timer.retry_of = call
                call.retry_delays.append(timer)


def _trigger(read: _History, call: _Call) -> tuple[str, int]:
    """What started a call: the last history event at or before its first attempt was scheduled."""
    first = call.attempts[0]
    for index, kind, at in reversed(read.points):
        if index >= first.index or kind == "TimerCreated":
            continue
        if at <= first.scheduled:
            return kind, index
    return "", -1


def wait_started(read: _History, event_name: str, before_index: int) -> datetime | None:
    """When the wait that `event_name` ended (or still ends) began: see the module docstring."""
    index = before_index
    while True:
        point = next(
            (
                p
                for p in reversed(read.points)
                if p[0] < index
                and p[1] not in ("TimerCreated", "TimerFired", "ExecutionSuspended")
                and p[1] != "ExecutionResumed"
            ),
            None,
        )
        if point is None:
            return read.started
        position, kind, at = point
        if kind == "EventRaised":
            if read.event_of_index[position].name == event_name:
                index = position  # an earlier event of the same name: the wait goes on before it
                continue
            return at
        if kind in ("TaskCompleted", "TaskFailed"):
            call = read.call_of_index[position]
            cause, cause_index = _trigger(read, call)
            fired = read.timer_of_fired_index.get(cause_index) if cause == "TimerFired" else None
            same_event = cause == "EventRaised" and read.event_of_index[cause_index].name == event_name
            if (fired is not None and fired.retry_of is None) or same_event:
                index = cause_index  # a reminder or booking inside the wait: look further back
                continue
            return at
        return at  # the start, a sub-orchestration's end


# -- building the timeline -----------------------------------------------------------------------------


def build_timeline(
    status: Mapping[str, Any],
    now: datetime,
    *,
    children: Mapping[str, Mapping[str, Any]] | None = None,
    redact: Redactor = lambda value: value,
    depth: int = 0,
) -> Timeline:
    """The timeline of one instance from its status JSON (`historyEvents` included).

    `children` maps sub-orchestration instance ids to their own status JSON, nested below their lane.
    """
    read = _read(list(status.get("historyEvents") or []))
    runtime_status = str(status.get("runtimeStatus") or read.final_status or "")
    created = parse_time(status.get("createdTime"))
    start = read.started or created or now
    active = runtime_status in ACTIVE_STATUSES
    last_point = max((p[2] for p in read.points), default=start)
    end = max(now, last_point) if active else (read.finished or last_point)
    lanes: list[Lane] = []
    instance_id = str(status.get("instanceId") or "")
    name = str(status.get("name") or "")

    for call in read.calls:
        lanes.append(_call_lane(call, depth))
    for timer in read.timers:
        if timer.retry_of is None:
            lanes.append(_timer_lane(timer, active, depth))
    lanes.extend(_wait_lanes(read, status, active, depth, redact))
    for child in read.children:
        lanes.append(
            Lane(
                kind="suborchestration",
                title=f"sub-orchestration {child.name}",
                detail=f"{child.outcome.lower()} after "
                + duration_text(_seconds(child.created, child.finished)),
                bars=[
                    Bar(
                        "suborchestration",
                        child.created,
                        child.finished,
                        child.outcome,
                        f"{child.name} ({child.instance_id}): {child.outcome.lower()}",
                    )
                ],
                depth=depth,
                instance_id=child.instance_id,
                order=(child.created, child.index),
            )
        )
    lanes.sort(key=lambda lane: lane.order)
    if children and depth < MAX_DEPTH:
        lanes = _nest(lanes, children, now, redact, depth)

    orchestration = Lane(
        kind="orchestration",
        title=f"orchestration {name}",
        detail=f"{runtime_status}, {duration_text(_seconds(start, end))}" + (" so far" if active else ""),
        bars=[
            Bar(
                "orchestration",
                start,
                None if active else end,
                runtime_status,
                f"{name} {runtime_status.lower()}",
            ),
            *[
                Bar("suspended", since, until, "suspended", "suspended by an operator")
                for since, until in read.suspensions
            ],
        ],
        depth=depth,
        instance_id=instance_id,
    )
    timeline = Timeline(instance_id, name, runtime_status, start, end, now, [orchestration, *lanes])
    if len(timeline.lanes) > MAX_LANES and depth == 0:
        timeline.lanes = _collapsed(timeline.lanes)
        timeline.collapsed = True
        timeline.notes.append(
            f"{len(read.calls):,} activity calls: calls of the same activity share a lane, "
            "and so do the timers."
        )
    return timeline


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _call_lane(call: _Call, depth: int) -> Lane:
    attempts = call.attempts
    failed = sum(1 for a in attempts if a.outcome == "failed")
    bars: list[Bar] = []
    for number, attempt in enumerate(attempts, start=1):
        words = f"{call.name} attempt {number} of {len(attempts)}: {attempt.outcome}"
        if attempt.failure:
            words += f" ({attempt.failure[:200]})"
        bars.append(Bar("attempt", attempt.scheduled, attempt.finished, attempt.outcome, words))
    for timer in call.retry_delays:
        bars.append(
            Bar(
                "retry-delay",
                timer.created,
                timer.fired or timer.fire_at,
                "fired" if timer.fired else "pending",
                f"retry delay of {call.name} until {utc_text(timer.fire_at)}",
            )
        )
    total = _seconds(attempts[0].scheduled, attempts[-1].finished)
    outcome = attempts[-1].outcome
    detail = (
        f"{plural(len(attempts), 'attempt')}"
        + (f", {failed} failed" if failed else "")
        + f", {outcome}, {duration_text(total)}"
    )
    return Lane("activity", call.name, detail, bars, depth, order=(attempts[0].scheduled, call.first_index))


def _timer_lane(timer: _Timer, active: bool, depth: int) -> Lane:
    if timer.fired is not None:
        outcome, words = "fired", f"fired at {utc_text(timer.fired)}"
    elif active:
        outcome, words = "pending", f"due {utc_text(timer.fire_at)}"
    else:
        outcome, words = "not-fired", f"was due {utc_text(timer.fire_at)}; never fired (the instance ended)"
    end = timer.fired or timer.fire_at
    bar = Bar("timer", timer.created, end, outcome, f"timer created {utc_text(timer.created)}, {words}")
    return Lane("timer", "durable timer", words, [bar], depth, order=(timer.created, timer.index))


def _wait_lanes(
    read: _History, status: Mapping[str, Any], active: bool, depth: int, redact: Redactor
) -> list[Lane]:
    lanes = []
    for event in read.events:
        began = wait_started(read, event.name, event.index) or event.at
        began = min(began, event.at)
        who = actor_of(event.data)
        about = event.data.get("shelterId") if isinstance(event.data, dict) else None
        sender = f" from {redact(who)}" if who else ""
        subject = f" for {about}" if about else ""
        words = f"'{event.name}' received{sender}{subject} at {utc_text(event.at)}"
        waited = duration_text(_seconds(began, event.at))
        lanes.append(
            Lane(
                "wait",
                f"wait for {event.name}",
                f"{waited}, received{sender}{subject}",
                [Bar("wait", began, event.at, "received", f"waited {waited}; {words}", event_marker=True)],
                depth,
                order=(began, event.index),
            )
        )
    custom = loads_json(status.get("customStatus"))
    waiting_for = custom.get("waitingFor") if isinstance(custom, dict) else None
    if active and waiting_for:
        since = wait_started(read, str(waiting_for), len(read.points) + 10**9) or read.started
        if since is not None:
            began = since
            awaited = _awaited_subjects(custom)
            subject = f" ({', '.join(awaited)})" if awaited else ""
            lanes.append(
                Lane(
                    "wait",
                    f"wait for {waiting_for}",
                    f"still waiting{subject}",
                    [
                        Bar(
                            "wait",
                            began,
                            None,
                            "waiting",
                            f"waiting for '{waiting_for}'{subject} since {utc_text(began)}",
                        )
                    ],
                    depth,
                    order=(began, 10**9),
                )
            )
    return lanes


def _awaited_subjects(custom: Mapping[str, Any]) -> list[str]:
    """Subjects a workflow's custom status says are still awaited (relief: shelters `awaiting`)."""
    shelters = custom.get("shelters")
    if not isinstance(shelters, dict):
        return []
    return sorted(str(k) for k, v in shelters.items() if isinstance(v, dict) and v.get("state") == "awaiting")


def _nest(
    lanes: list[Lane],
    children: Mapping[str, Mapping[str, Any]],
    now: datetime,
    redact: Redactor,
    depth: int,
) -> list[Lane]:
    nested: list[Lane] = []
    for lane in lanes:
        nested.append(lane)
        child_status = children.get(lane.instance_id) if lane.kind == "suborchestration" else None
        if child_status is not None:
            child = build_timeline(child_status, now, children=children, redact=redact, depth=depth + 1)
            nested.extend(child.lanes[1:])  # the child's own lane is the sub-orchestration lane above
    return nested


def _collapsed(lanes: list[Lane]) -> list[Lane]:
    """Calls of one activity in one lane, all timers in one, waits per event name."""
    kept: list[Lane] = []
    merged: dict[tuple[str, str, int], Lane] = {}
    for lane in lanes:
        if lane.kind == "activity":
            key = ("activity", lane.title, lane.depth)
        elif lane.kind == "timer":
            key = ("timer", "", lane.depth)
        elif lane.kind == "wait":
            key = ("wait", lane.title, lane.depth)
        else:
            kept.append(lane)
            continue
        if key not in merged:
            merged[key] = Lane(lane.kind, lane.title, "", [], lane.depth, order=lane.order)
            kept.append(merged[key])
        merged[key].bars.extend(lane.bars)
    for lane in merged.values():
        lane.detail = _collapsed_detail(lane)
        if lane.kind == "timer":
            lane.title = "durable timers"
    return kept


def _collapsed_detail(lane: Lane) -> str:
    attempts = [bar for bar in lane.bars if bar.kind == "attempt"]
    if lane.kind == "activity":
        failed = sum(1 for bar in attempts if bar.outcome == "failed")
        busy = sum((_seconds(bar.start, bar.end) or 0.0) for bar in attempts)
        return (
            f"{plural(len(attempts), 'attempt')}"
            + (f", {failed} failed" if failed else "")
            + (f", {duration_text(busy)} in all")
        )
    if lane.kind == "timer":
        pending = sum(1 for bar in lane.bars if bar.outcome == "pending")
        return plural(len(lane.bars), "timer") + (f", {pending} pending" if pending else "")
    return plural(len(lane.bars), "wait")


# -- rendering -----------------------------------------------------------------------------------------


def summary_sentence(timeline: Timeline) -> str:
    """What the chart shows, in words (its aria-label)."""
    attempts = timeline.bars("attempt")
    failed = sum(1 for bar in attempts if bar.outcome == "failed")
    calls = [lane for lane in timeline.lanes if lane.kind == "activity"]
    retried = sum(1 for lane in calls if lane.grouped_retries)
    timers = timeline.bars("timer")
    pending = sum(1 for bar in timers if bar.outcome == "pending")
    waits = timeline.bars("wait")
    open_waits = [bar for bar in waits if bar.end is None]
    children = timeline.bars("suborchestration")
    parts = [
        f"Timeline of {timeline.name} {timeline.instance_id} from {utc_text(timeline.start)} "
        f"to {utc_text(timeline.end)}",
        f"{plural(len(attempts), 'activity attempt')}"
        + (f" ({failed} failed)" if failed else "")
        + (f", {plural(retried, 'call')} retried" if retried else ""),
        plural(len(timers), "durable timer") + (f" ({pending} not fired yet)" if pending else ""),
        plural(len(waits) - len(open_waits), "external event") + " received",
    ]
    if children:
        parts.append(plural(len(children), "sub-orchestration"))
    sentence = ": ".join([parts[0], "; ".join(parts[1:])])
    state = f" It is {timeline.runtime_status}" if timeline.runtime_status else ""
    if open_waits:
        state += ", " + "; ".join(bar.title for bar in open_waits)
    return sentence + "." + (state + "." if state else "")


Window = tuple[datetime, datetime]


def busy_periods(timeline: Timeline, at_most: int = 5) -> list[tuple[datetime, datetime, int]]:
    """Stretches of activity separated by idle gaps, worth zooming into: (from, until, attempts).

    Attempts closer than 0.2 % of the chart's span (at least a second) belong to one stretch; only
    stretches shorter than a third of the span are offered, the first and last ones first.
    """
    attempts = sorted(timeline.bars("attempt"), key=lambda bar: bar.start)
    span = timeline.end - timeline.start
    gap = max(span * 0.002, timedelta(seconds=1))
    stretches: list[list[Any]] = []
    for bar in attempts:
        end = bar.end or bar.start
        if stretches and bar.start - stretches[-1][1] <= gap:
            stretches[-1][1] = max(stretches[-1][1], end)
            stretches[-1][2] += 1
        else:
            stretches.append([bar.start, end, 1])
    worth = [(s, e, n) for s, e, n in stretches if (e - s) < span / 3]
    if len(worth) > at_most:
        worth = worth[: at_most - 2] + worth[-2:]
    padded = []
    for start, end, count in worth:
        margin = max((end - start) * 0.05, timedelta(seconds=1))
        padded.append((start - margin, end + margin, count))
    return padded


def zoom_links(timeline: Timeline, window: Window | None, link: Callable[[Window | None], str]) -> str:
    """Links that redraw the timeline over a busy stretch, or the whole instance (no script needed)."""
    periods = busy_periods(timeline)
    if not periods and window is None:
        return ""
    items = [
        '<strong aria-current="true">whole instance</strong>'
        if window is None
        else f'<a href="{link(None)}">whole instance</a>'
    ]
    for start, end, count in periods:
        words = f"{utc_text(start)} – {utc_text(end)[11:]} ({plural(count, 'attempt')})"
        if window == (start, end):
            items.append(f'<strong aria-current="true">{esc(words)}</strong>')
        else:
            items.append(f'<a href="{link((start, end))}">{esc(words)}</a>')
    return f'<p class="zoom">Zoom the timeline: {" · ".join(items)}</p>'


def render_timeline(timeline: Timeline, window: Window | None = None) -> str:
    """The Gantt chart (inline SVG), its legend, and the same data as a table; `window`: a zoom."""
    chart = chart_id("tl")
    axis_start, axis_end = window or (timeline.start, timeline.end)
    span = max((axis_end - axis_start).total_seconds(), 1.0)

    def position(moment: datetime) -> float:
        seconds = (moment - axis_start).total_seconds()
        return PAD + (100 - 2 * PAD) * max(0.0, min(seconds, span)) / span

    def shown(bar: Bar) -> bool:
        return (bar.end or timeline.end) >= axis_start and bar.start <= axis_end

    series = [*SERIES.values(), *(series_for_status(s) for s in _statuses(timeline))]
    height = AXIS_HEIGHT + len(timeline.lanes) * LANE_HEIGHT + 8
    parts = [
        svg_open(
            summary_sentence(timeline),
            height,
            "chart-svg gantt",
            attempts=len(timeline.bars("attempt")),
            lanes=len(timeline.lanes),
        ),
        pattern_defs(chart, series),
    ]
    bottom = height - 4
    for moment, words in time_ticks(axis_start, axis_end, 6):
        x = percent(position(moment))
        anchor = "start" if position(moment) < 6 else "end" if position(moment) > 94 else "middle"
        parts.append(f'<line x1="{x}" x2="{x}" y1="{AXIS_HEIGHT - 6}" y2="{bottom}" stroke="#EAEEF2"/>')
        parts.append(text(x, 14, words, anchor=anchor, css="tick"))
    if timeline.runtime_status in ACTIVE_STATUSES and axis_start <= timeline.now <= axis_end:
        x = percent(position(timeline.now))
        parts.append(
            f'<line class="now" x1="{x}" x2="{x}" y1="{AXIS_HEIGHT - 6}" y2="{bottom}" stroke="{TEXT}" '
            'stroke-dasharray="3 3"/>'
        )
    for row, lane in enumerate(timeline.lanes):
        top = AXIS_HEIGHT + row * LANE_HEIGHT
        if row % 2:
            parts.append(f'<rect x="0" y="{top}" width="100%" height="{LANE_HEIGHT}" fill="#F6F8FA"/>')
        label = f"{lane.title} · {lane.detail}" if lane.detail else lane.title
        parts.append(
            text(
                str(2 + lane.depth * INDENT),
                top + 12,
                label,
                css=f"lane-label lane-{lane.kind} depth-{lane.depth}",
            )
        )
        visible = [bar for bar in lane.bars if shown(bar)]
        if lane.grouped_retries and visible:
            first = min(bar.start for bar in visible)
            last = max((bar.end or timeline.end) for bar in visible)
            parts.append(
                f'<rect class="retry-group" x="{percent(position(first) - 0.3)}" y="{top + 15}" '
                f'width="{percent(position(last) - position(first) + 0.6)}" height="18" fill="none" '
                f'stroke="{GREY}" stroke-dasharray="2 2" rx="3"><title>{esc(lane.title)}: '
                f"{esc(lane.detail)}</title></rect>"
            )
        for bar in visible:
            parts.append(_bar(chart, bar, position, timeline, top, axis_end))
    parts.append("</svg>")
    caption = (
        f"Each lane is an activity call (attempts side by side, retries boxed), a durable timer, a wait for "
        f"an external event (ending at the event) or a sub-orchestration; time runs left to right in UTC "
        f"from {utc_text(axis_start)} to {utc_text(axis_end)}"
        + (f" (zoomed in; the instance runs from {utc_text(timeline.start)})." if window else ".")
        + (" " + " ".join(timeline.notes) if timeline.notes else "")
    )
    used = [SERIES[key] for key in ("completed", "failed", "timer", "timer-pending", "wait", "suspended")]
    return figure(
        "".join(parts),
        caption,
        timeline_table(timeline),
        legend_html=legend(chart, used) + '<p class="note legend-note">◆ an external event arrived · '
        "dashed box: one call's retries · thin line: retry delay · dashed line: now</p>",
        table_summary="The timeline as a table "
        f"({plural(sum(len(lane.bars) for lane in timeline.lanes), 'row')})",
    )


def _statuses(timeline: Timeline) -> list[str]:
    found = {
        bar.outcome
        for lane in timeline.lanes
        for bar in lane.bars
        if bar.kind in ("orchestration", "suborchestration")
    }
    return sorted(found)


def _bar(  # noqa: PLR0917 (the chart's drawing context, each named at the call)
    chart: str,
    bar: Bar,
    position: Callable[[datetime], float],
    timeline: Timeline,
    top: int,
    axis_end: datetime,
) -> str:
    start = position(bar.start)
    open_end = bar.end is None
    end = position(
        bar.end
        if bar.end is not None
        else timeline.now
        if timeline.runtime_status in ACTIVE_STATUSES
        else timeline.end
    )
    clipped = bar.end is not None and bar.end > axis_end
    width = max(end - start, 0.0)
    wide = f'width="{percent(width)}"' if width >= MIN_BAR_PERCENT else 'width="4"'
    tip = f"<title>{esc(bar.title)}</title>"
    y, height = top + 18, 12
    css = f"bar {bar.kind} {bar.outcome}"
    if bar.kind == "attempt":
        item = SERIES["failed" if bar.outcome == "failed" else "completed"]
        return (
            f'<rect class="{esc(css)}" x="{percent(start)}" y="{y}" {wide} height="{height}" '
            f'fill="{fill(chart, item)}">{tip}</rect>'
        )
    if bar.kind == "retry-delay":
        return (
            f'<rect class="{esc(css)}" x="{percent(start)}" y="{y + 5}" {wide} height="2" '
            f'fill="{GREY}">{tip}</rect>'
        )
    if bar.kind == "timer":
        pending = bar.outcome != "fired"
        item = SERIES["timer-pending" if pending else "timer"]
        dashes = ' stroke-dasharray="4 2"' if pending else ""
        arrow = _marker(percent(100 - PAD), y + height / 2, "arrow") if clipped else ""
        return (
            f'<rect class="{esc(css)}" x="{percent(start)}" y="{y}" {wide} height="{height}" '
            f'fill="{fill(chart, item)}" stroke="{OKABE_ITO["orange"]}"{dashes}>{tip}</rect>{arrow}'
        )
    if bar.kind == "wait":
        marker = (
            _marker(percent(end), y + height / 2, "diamond")
            if bar.event_marker and bar.end is not None and bar.end <= axis_end
            else ""
        )
        arrow = _marker(percent(end), y + height / 2, "arrow") if open_end else ""
        return (
            f'<rect class="{esc(css)}" x="{percent(start)}" y="{y + 2}" {wide} height="{height - 4}" '
            f'fill="{fill(chart, SERIES["wait"])}">{tip}</rect>{marker}{arrow}'
        )
    if bar.kind == "suspended":
        return (
            f'<rect class="{esc(css)}" x="{percent(start)}" y="{y}" {wide} height="{height}" '
            f'fill="{fill(chart, SERIES["suspended"])}">{tip}</rect>'
        )
    item = series_for_status(bar.outcome)
    return (
        f'<rect class="{esc(css)}" x="{percent(start)}" y="{y + 3}" {wide} height="{height - 6}" '
        f'fill="{fill(chart, item)}" stroke="{TEXT}" stroke-width="0.5">{tip}</rect>'
        + (_marker(percent(end), y + height / 2, "arrow") if open_end else "")
    )


def _marker(x: str, y: float, shape: str) -> str:
    """A small shape centred at a percentage x (a nested svg gives it its own pixel origin)."""
    path = "M0,-6 L6,0 L0,6 L-6,0 Z" if shape == "diamond" else "M-6,-5 L0,0 L-6,5"
    paint = f'fill="{TEXT}"' if shape == "diamond" else f'fill="none" stroke="{TEXT}" stroke-width="1.5"'
    return (
        f'<svg class="marker {shape}" x="{x}" y="{y:.0f}" width="1" height="1" overflow="visible" '
        f'aria-hidden="true"><path d="{path}" {paint}/></svg>'
    )


def timeline_table(timeline: Timeline) -> str:
    """Every bar of the chart as a table row: lane, what, from, until, how long, outcome."""
    rows = []
    for lane in timeline.lanes:
        for bar in lane.bars:
            until = utc_text(bar.end) if bar.end else "still open"
            seconds = _seconds(bar.start, bar.end or timeline.now)
            rows.append(
                f"<tr><td>{'&nbsp;' * 2 * lane.depth}{esc(lane.title)}</td>"
                f"<td>{esc(bar.kind.replace('-', ' '))}</td>"
                f"<td>{esc(utc_text(bar.start))}</td><td>{esc(until)}</td><td>{esc(duration_text(seconds))}</td>"
                f"<td>{esc(bar.title)}</td></tr>"
            )
    return (
        '<table class="data timeline-data"><caption>Timeline of the instance</caption><thead><tr>'
        '<th scope="col">lane</th><th scope="col">what</th><th scope="col">from (UTC)</th>'
        '<th scope="col">until (UTC)</th><th scope="col">how long</th><th scope="col">detail</th>'
        "</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def timeline_section(
    status: Mapping[str, Any],
    now: datetime,
    *,
    children: Mapping[str, Mapping[str, Any]] | None = None,
    redact: Redactor = lambda value: value,
    window: Window | None = None,
    zoom_link: Callable[[Window | None], str] | None = None,
) -> str:
    """The instance page's timeline section (heading, zoom links, chart, table), or a note without history."""
    if not status.get("historyEvents"):
        return '<h2>Timeline</h2><p class="note">No history yet: the instance has not started running.</p>'
    timeline = build_timeline(status, now, children=children, redact=redact)
    zoom = zoom_links(timeline, window, zoom_link) if zoom_link else ""
    return "<h2>Timeline</h2>" + zoom + render_timeline(timeline, window)


def sub_orchestration_ids(status: Mapping[str, Any]) -> list[str]:
    """Instance ids of the finished sub-orchestrations in a status's history (to read and nest)."""
    return [
        str(event.get("InstanceId"))
        for event in status.get("historyEvents") or []
        if event.get("EventType") in ("SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed")
        and event.get("InstanceId")
    ]
