"""The console's chart builders as pure functions: histories in, bars and SVG out (no host needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from console.charts import histogram_svg, nice_step, time_ticks
from console.management import http_date, row_from_status
from console.overview import Overview, histogram_buckets, overview_section
from console.pages import Links, PageContext, auto_refresh_seconds, layout
from console.sla import SlaClock
from console.timeline import (
    MAX_LANES,
    build_timeline,
    busy_periods,
    render_timeline,
    summary_sentence,
    zoom_links,
)

T0 = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def task(kind: str, name: str, scheduled: float, finished: float, value: str = "1") -> dict[str, Any]:
    return {
        "EventType": kind,
        "FunctionName": name,
        "ScheduledTime": at(scheduled),
        "Timestamp": at(finished),
        "Input": f'["{value}"]',
    }


def timer(created: float, fire: float) -> dict[str, Any]:
    return {"EventType": "TimerCreated", "Timestamp": at(created), "FireAt": at(fire)}


def fired(when: float, fire: float) -> dict[str, Any]:
    return {"EventType": "TimerFired", "Timestamp": at(when), "FireAt": at(fire)}


def raised(when: float, name: str, data: str) -> dict[str, Any]:
    return {"EventType": "EventRaised", "Timestamp": at(when), "Name": name, "Input": data}


def status(events: list[dict[str, Any]], runtime: str = "Completed", custom: Any = None) -> dict[str, Any]:
    return {
        "instanceId": "maintenance-o-1",
        "name": "maintenance_order",
        "runtimeStatus": runtime,
        "createdTime": at(0),
        "customStatus": custom,
        "historyEvents": [
            {"EventType": "ExecutionStarted", "Timestamp": at(0), "FunctionName": "x"},
            *events,
        ],
    }


APPROVAL_WITH_RETRIES_AND_A_REMINDER = [
    task("TaskCompleted", "capture_inspection", 0, 1),
    task("TaskFailed", "request_parts_from_supplier", 1, 2, "s1"),
    timer(2, 7),
    fired(7, 7),
    task("TaskFailed", "request_parts_from_supplier", 7, 8, "s1"),
    timer(8, 13),
    fired(13, 13),
    task("TaskCompleted", "request_parts_from_supplier", 13, 14, "s1"),
    task("TaskCompleted", "notify_customer", 14, 15),
    timer(15, 86_415),  # the approval wait begins: a reminder in 24 h
    fired(86_415, 86_415),
    task("TaskCompleted", "send_approval_reminder", 86_415, 86_416),
    timer(86_416, 172_816),
    raised(90_000, "approval_decision", '{"approved": true, "approver": "Ada Approver"}'),
    task("TaskCompleted", "issue_release_certificate", 90_000, 90_001),
    {"EventType": "ExecutionCompleted", "Timestamp": at(90_002), "OrchestrationStatus": "Completed"},
]


def test_every_attempt_is_a_bar_and_a_calls_retries_share_its_lane_with_their_delays() -> None:
    timeline = build_timeline(status(APPROVAL_WITH_RETRIES_AND_A_REMINDER), T0 + timedelta(days=2))
    supplier = [lane for lane in timeline.lanes if lane.title == "request_parts_from_supplier"]
    assert len(supplier) == 1 and supplier[0].grouped_retries
    outcomes = [bar.outcome for bar in supplier[0].bars if bar.kind == "attempt"]
    assert outcomes == ["failed", "failed", "completed"]
    delays = [bar for bar in supplier[0].bars if bar.kind == "retry-delay"]
    assert [(bar.start, bar.end) for bar in delays] == [
        (T0 + timedelta(seconds=2), T0 + timedelta(seconds=7)),
        (T0 + timedelta(seconds=8), T0 + timedelta(seconds=13)),
    ]
    assert len(timeline.bars("attempt")) == 7
    assert len(timeline.bars("timer")) == 2  # the reminder timers; retry delays are not timer lanes
    svg = render_timeline(timeline)
    assert svg.count('class="bar attempt') == 7 and svg.count("bar attempt failed") == 2
    assert svg.count('class="retry-group"') == 1


def test_a_wait_spans_its_reminders_and_ends_at_the_event_with_its_sender() -> None:
    timeline = build_timeline(status(APPROVAL_WITH_RETRIES_AND_A_REMINDER), T0 + timedelta(days=2))
    (wait,) = timeline.bars("wait")
    assert wait.start == T0 + timedelta(seconds=15)  # after notify_customer, not after the reminder
    assert wait.end == T0 + timedelta(seconds=90_000) and wait.event_marker
    assert "from Ada Approver" in wait.title
    assert "1 external event received" in summary_sentence(timeline)


def test_an_open_wait_runs_to_now_and_a_pending_timer_is_marked() -> None:
    events = APPROVAL_WITH_RETRIES_AND_A_REMINDER[:13]
    now = T0 + timedelta(seconds=100_000)
    timeline = build_timeline(
        status(events, "Running", {"waitingFor": "approval_decision"}),
        now,
    )
    (wait,) = timeline.bars("wait")
    assert wait.end is None and wait.start == T0 + timedelta(seconds=15)
    assert timeline.end == now
    assert [bar.outcome for bar in timeline.bars("timer")] == ["fired", "pending"]
    assert "waiting for 'approval_decision'" in summary_sentence(timeline)


def test_later_events_of_the_same_name_wait_from_the_same_start() -> None:
    events = [
        task("TaskCompleted", "notify_relief_drivers", 0, 1),
        timer(1, 21_600),
        raised(3600, "shelter_confirmation", '{"shelterId": "shelter-a"}'),
        task("TaskCompleted", "record_relief_delivery", 3600, 3601),
        raised(7200, "shelter_confirmation", '{"shelterId": "shelter-b"}'),
    ]
    timeline = build_timeline(status(events, "Running"), T0 + timedelta(hours=3))
    starts = {bar.title.split("for ")[-1].split(" ")[0]: bar.start for bar in timeline.bars("wait")}
    assert starts == {"shelter-a": T0 + timedelta(seconds=1), "shelter-b": T0 + timedelta(seconds=1)}


def test_sub_orchestrations_are_nested_below_their_lane() -> None:
    parent = status(
        [
            {
                "EventType": "SubOrchestrationInstanceCompleted",
                "FunctionName": "child_flow",
                "InstanceId": "child-1",
                "ScheduledTime": at(1),
                "Timestamp": at(10),
            }
        ]
    )
    child = status([task("TaskCompleted", "child_step", 2, 9)])
    child["instanceId"] = "child-1"
    timeline = build_timeline(parent, T0 + timedelta(seconds=20), children={"child-1": child})
    kinds = [(lane.kind, lane.depth) for lane in timeline.lanes]
    assert kinds == [("orchestration", 0), ("suborchestration", 0), ("activity", 1)]
    assert "1 sub-orchestration" in summary_sentence(timeline)


def test_a_thousand_step_chain_collapses_to_one_lane_per_activity_and_keeps_every_bar() -> None:
    events = [task("TaskCompleted", "bench_noop", i * 0.01, i * 0.01 + 0.005, str(i)) for i in range(1000)]
    timeline = build_timeline(status(events), T0 + timedelta(seconds=20))
    assert timeline.collapsed and len(timeline.lanes) == 2 < MAX_LANES
    svg = render_timeline(timeline)
    assert svg.count('class="bar attempt completed"') == 1000
    assert 'data-attempts="1000"' in svg


def test_names_from_the_history_are_escaped_in_the_chart() -> None:
    events = [task("TaskCompleted", '<script>alert("x")</script>', 0, 1)]
    svg = render_timeline(build_timeline(status(events), T0 + timedelta(seconds=5)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_histogram_buckets_hold_every_row_once() -> None:
    rows = [
        row_from_status(
            {
                "instanceId": f"maintenance-{n}",
                "name": "maintenance_order",
                "runtimeStatus": "Running" if n % 3 else "Failed",
                "createdTime": at(n * 997),
            }
        )
        for n in range(300)
    ]
    buckets = histogram_buckets(rows, None, None)
    assert sum(bucket.total for bucket in buckets) == 300 and len(buckets) <= 48
    assert sum(bucket.counts["Failed"] for bucket in buckets) == 100
    assert buckets[0].start <= T0 and buckets[-1].end > T0 + timedelta(seconds=299 * 997)
    html = overview_section(
        Overview(rows, False, None, None, T0 + timedelta(days=4)),
        workflow_link=lambda name: name,
        instance_link=lambda name: name,
        show_relief=True,
    )
    assert 'data-count="300"' in html and html.count('data-total="300"') >= 2
    assert "No relief request among these instances is running" in html


def test_an_empty_histogram_is_an_empty_chart() -> None:
    assert 'data-total="0"' in histogram_svg("nothing", [], [], "histogram")


def test_time_axes_use_round_steps() -> None:
    assert nice_step(timedelta(hours=5), 6) == timedelta(hours=1)
    ticks = time_ticks(T0 + timedelta(minutes=7), T0 + timedelta(hours=3), 6)
    assert [label for _, label in ticks] == ["09:30", "10:00", "10:30", "11:00", "11:30", "12:00"]


def test_sla_clock_states() -> None:
    due = T0 + timedelta(hours=48)
    assert SlaClock(due, T0, T0 + timedelta(hours=1)).state == "on_time"
    assert SlaClock(due, T0, T0 + timedelta(hours=40)).state == "due_soon"
    overdue = SlaClock(due, T0, T0 + timedelta(hours=51))
    assert overdue.state == "overdue" and overdue.words() == "overdue by 3 h 0 min"
    assert "overdue" in overdue.sentence() and "106%" in overdue.sentence()
    assert SlaClock(None, T0, T0).state == "no_due"


def test_host_time_comes_from_the_date_header() -> None:
    assert http_date("Wed, 11 Nov 2026 09:00:00 GMT") == T0
    assert http_date("yesterday") is None and http_date("") is None


def test_auto_refresh_is_opt_in_and_only_at_offered_intervals() -> None:
    assert (
        auto_refresh_seconds("30") == 30 and auto_refresh_seconds("1") == 0 and auto_refresh_seconds("x") == 0
    )
    context = PageContext(Links("/api/console"), now=T0, view=("decisions", {}), auto_refresh=30)
    page = layout(context, "Pending decisions", "")
    assert '<meta http-equiv="refresh" content="30">' in page
    assert 'datetime="2026-11-11T09:00:00Z"' in page and "updated" in page
    quiet = layout(PageContext(Links("/api/console"), now=T0), "Form refused", "")
    assert "http-equiv" not in quiet and "Data read at" not in quiet


def test_busy_stretches_can_be_zoomed_into_without_script() -> None:
    timeline = build_timeline(status(APPROVAL_WITH_RETRIES_AND_A_REMINDER), T0 + timedelta(days=2))
    periods = busy_periods(timeline)
    assert [count for _, _, count in periods] == [5, 1, 1]
    first = periods[0]
    assert first[0] < T0 and T0 + timedelta(seconds=15) < first[1] < T0 + timedelta(seconds=20)
    zoomed = render_timeline(timeline, (first[0], first[1]))
    assert zoomed.count('class="bar attempt') == 5
    assert 'width="4"' not in zoomed.split("bar attempt failed", 1)[1].split("</rect>", 1)[0]
    links = zoom_links(timeline, None, lambda window: "whole" if window is None else window[0].isoformat())
    assert '<strong aria-current="true">whole instance</strong>' in links and links.count("<a href=") == 3
    assert "(5 attempts)" in links
