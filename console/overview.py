"""The overview charts: where the filtered instances stand, and what is late.

Pure functions from instance rows (console.management.InstanceRow) and pending decisions to HTML:
- `starts_histogram`: instance starts over the filtered created range, stacked by runtime status;
- `counts_by_workflow`: instances per workflow, stacked by runtime status, with the matrix table;
- `relief_ages_by_region`: relief requests still running, per region, by how long they have run;
- `sla_overview`: pending decisions per kind by SLA state (overdue, due soon, on time).
Every chart's totals are the totals of the rows it was given, so a chart and the list agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from console.charts import (
    OKABE_ITO,
    RUNTIME_SERIES,
    HistogramBucket,
    Segment,
    Series,
    StackedBar,
    bars_in_words,
    chart_id,
    duration_text,
    esc,
    figure,
    floor_time,
    histogram_svg,
    histogram_table,
    legend,
    matrix_table,
    nice_step,
    parse_time,
    plural,
    series_for_status,
    stacked_bars_svg,
    step_text,
    utc_text,
)
from console.decisions import PendingDecision
from console.management import RUNTIME_STATUSES, InstanceRow
from console.sla import SLA_SERIES, SlaClock
from durable_wire import ACTIVE_STATUSES
from workflow_catalogue import RELIEF_ROUTING

MAX_BUCKETS = 48
RELIEF_WORKFLOW = RELIEF_ROUTING.name
AGE_BANDS: tuple[tuple[str, timedelta | None], ...] = (
    ("under 1 h", timedelta(hours=1)),
    ("1–6 h", timedelta(hours=6)),
    ("6–24 h", timedelta(hours=24)),
    ("1 day or more", None),
)
AGE_SERIES = (
    Series("under 1 h", "under 1 h", OKABE_ITO["sky_blue"], "dots"),
    Series("1–6 h", "1–6 h", OKABE_ITO["blue"], "solid"),
    Series("6–24 h", "6–24 h", OKABE_ITO["orange"], "diagonal"),
    Series("1 day or more", "1 day or more", OKABE_ITO["vermillion"], "crosshatch"),
)
LONG_RUNNING = timedelta(hours=6)  # relief requests normally finish their confirmations within hours
LONG_BANDS = ("6–24 h", "1 day or more")  # the bands at or beyond LONG_RUNNING
DECISION_KIND_TITLES = {
    "maintenance_approval": "Maintenance approvals",
    "supervisor_decision": "Supervisor decisions",
    "shelter_confirmation": "Shelter confirmations",
}


@dataclass(frozen=True)
class Overview:
    """The rows an overview counts, and whether the scan stopped before the end."""

    rows: Sequence[InstanceRow]
    truncated: bool
    created_from: datetime | None
    created_to: datetime | None
    now: datetime


def _status_series(rows: Iterable[InstanceRow]) -> list[Series]:
    present = {row.runtime_status for row in rows}
    known = [RUNTIME_SERIES[s] for s in RUNTIME_STATUSES if s in present]
    return known + [series_for_status(s) for s in sorted(present - set(RUNTIME_STATUSES))]


def histogram_buckets(
    rows: Sequence[InstanceRow], created_from: datetime | None, created_to: datetime | None
) -> list[HistogramBucket]:
    """Buckets of a round size (at most `MAX_BUCKETS`) over the range; every row lands in one."""
    times = [(parse_time(row.created_time), row.runtime_status) for row in rows]
    stamped = [(t, s) for t, s in times if t is not None]
    if not stamped:
        return []
    first = created_from or min(t for t, _ in stamped)
    last = created_to or max(t for t, _ in stamped)
    first, last = min(first, *(t for t, _ in stamped)), max(last, *(t for t, _ in stamped))
    step = nice_step(max(last - first, timedelta(minutes=1)), MAX_BUCKETS)
    origin = floor_time(first, step)
    count = int((last - origin) / step) + 1
    buckets = [HistogramBucket(origin + i * step, origin + (i + 1) * step, Counter()) for i in range(count)]
    for moment, status in stamped:
        buckets[min(int((moment - origin) / step), count - 1)].counts[status] += 1
    return buckets


def starts_histogram(overview: Overview) -> str:
    """Instance starts over time by runtime status: chart, legend, table."""
    rows = overview.rows
    buckets = histogram_buckets(rows, overview.created_from, overview.created_to)
    if not buckets:
        return ""
    series = _status_series(rows)
    step = buckets[0].end - buckets[0].start
    total = sum(b.total for b in buckets)
    by_status = Counter(row.runtime_status for row in rows)
    busiest = max(buckets, key=lambda b: b.total)
    words = ", ".join(f"{s.label} {by_status[s.key]:,}" for s in series)
    label = (
        f"Instance starts per {step_text(step)} by runtime status from "
        f"{utc_text(buckets[0].start)} to {utc_text(buckets[-1].end)}: {plural(total, 'instance')} "
        f"({words}); the most, {busiest.total:,}, started between {utc_text(busiest.start)} and "
        f"{utc_text(busiest.end)}."
    )
    chart = chart_id("hs")
    return figure(
        histogram_svg(label, buckets, series, "histogram"),
        f"Instances started per {step_text(step)} (UTC), stacked by runtime status.",
        histogram_table("Instance starts by runtime status", buckets, series),
        legend_html=legend(chart, series),
        table_summary=f"Instance starts as a table ({plural(total, 'instance')})",
    )


def counts_by_workflow(overview: Overview, workflow_links: Callable[[str], str]) -> str:
    """Instances per workflow by runtime status: bars and the matrix table (always visible)."""
    rows = overview.rows
    if not rows:
        return ""
    series = _status_series(rows)
    grouped: dict[str, Counter[str]] = {}
    keys: dict[str, str] = {}
    for row in rows:
        title = row.workflow.title if row.workflow else (row.name or "other")
        grouped.setdefault(title, Counter())[row.runtime_status] += 1
        keys[title] = row.workflow.name if row.workflow else ""
    bars = [
        StackedBar(
            title,
            tuple(Segment(s, counts[s.key]) for s in series),
            workflow_links(keys[title]) if keys[title] else "",
        )
        for title, counts in sorted(grouped.items())
    ]
    label = f"Instances by workflow and runtime status: {bars_in_words(bars)}."
    return chart_pair(
        stacked_bars_svg(label, bars, series, "by-workflow"),
        legend(chart_id("wc"), series),
        "Instances by workflow, stacked by runtime status.",
        matrix_table("Instances by workflow and runtime status", "workflow", bars, series),
    )


def chart_pair(svg: str, legend_html: str, caption: str, table: str) -> str:
    """A chart beside its table (the table always shown: small matrices read best as they are)."""
    return (
        f'<div class="chart-pair"><figure class="chart">{svg}{legend_html}'
        f"<figcaption>{esc(caption)}</figcaption></figure>{table}</div>"
    )


def _age_band(age: timedelta) -> str:
    for name, limit in AGE_BANDS:
        if limit is None or age < limit:
            return name
    return AGE_BANDS[-1][0]


def relief_ages_by_region(overview: Overview, instance_link: Callable[[str], str]) -> str:
    """Relief requests still running, per region (a request counts in each of its regions), by age."""
    active = [
        row
        for row in overview.rows
        if row.workflow is not None
        and row.workflow.name == RELIEF_WORKFLOW
        and row.runtime_status in ACTIVE_STATUSES
    ]
    if not active:
        return (
            '<h3>Relief requests running, by region</h3><p class="note">No relief request among these '
            "instances is running.</p>"
        )
    by_region: dict[str, Counter[str]] = {}
    oldest: dict[str, tuple[timedelta, InstanceRow]] = {}
    for row in active:
        created = parse_time(row.created_time)
        age = overview.now - created if created else timedelta(0)
        for region in row.regions or ["no region"]:
            by_region.setdefault(region, Counter())[_age_band(age)] += 1
            if region not in oldest or age > oldest[region][0]:
                oldest[region] = (age, row)
    bars = [
        StackedBar(region, tuple(Segment(s, counts[s.key]) for s in AGE_SERIES))
        for region, counts in sorted(by_region.items())
    ]
    long_running = {region: sum(counts[band] for band in LONG_BANDS) for region, counts in by_region.items()}
    words = "; ".join(
        f"{bar.label}: {bar.total:,} running, {long_running[bar.label]:,} longer than "
        f"{step_text(LONG_RUNNING)}, the oldest for "
        f"{duration_text(oldest[bar.label][0].total_seconds())}"
        for bar in bars
    )
    label = f"Relief requests still running, by region and how long they have run: {words}."
    oldest_rows = "".join(
        f'<tr><th scope="row">{esc(region)}</th><td><a href="{instance_link(row.instance_id)}">'
        f"{esc(row.business_id)}</a></td><td>{esc(duration_text(age.total_seconds()))}</td>"
        f'<td class="num">{long_running[region]:,}</td></tr>'
        for region, (age, row) in sorted(oldest.items())
    )
    oldest_table = (
        '<div class="table-scroll" tabindex="0" role="region" aria-label="Longest-running relief requests">'
        '<table class="data"><caption>Longest-running relief request per region</caption><thead><tr>'
        '<th scope="col">region</th><th scope="col">oldest request</th><th scope="col">running for</th>'
        f'<th scope="col">running longer than {esc(step_text(LONG_RUNNING))}</th>'
        "</tr></thead>"
        f"<tbody>{oldest_rows}</tbody></table></div>"
    )
    return "<h3>Relief requests running, by region</h3>" + chart_pair(
        stacked_bars_svg(label, bars, AGE_SERIES, "relief-regions"),
        legend(chart_id("ra"), AGE_SERIES),
        "Running relief requests per region (a request with shelters in two regions counts in both), "
        "by how long they have run.",
        matrix_table(
            "Running relief requests by region and age", "region", bars, AGE_SERIES, extra=oldest_table
        ),
    )


def overview_section(
    overview: Overview,
    *,
    workflow_link: Callable[[str], str],
    instance_link: Callable[[str], str],
    show_relief: bool,
) -> str:
    """The list page's overview: how many match, the starts histogram, counts, relief by region."""
    rows = overview.rows
    count = len(rows)
    truncated = (
        f" <strong>Only the first {count:,} the task hub returned are counted</strong>: narrow the created "
        "range to count them all."
        if overview.truncated
        else ""
    )
    parts = [
        '<section class="overview" aria-labelledby="overview-heading">'
        '<h2 id="overview-heading">Overview</h2>',
        f'<p class="match-count" data-count="{count}"><strong>{plural(count, "instance")}</strong> '
        "match these "
        f"filters.{truncated}</p>",
    ]
    if rows:
        parts.append("<h3>Starts over time</h3>" + starts_histogram(overview))
        parts.append("<h3>By workflow and status</h3>" + counts_by_workflow(overview, workflow_link))
    if show_relief:
        parts.append(relief_ages_by_region(overview, instance_link))
    parts.append("</section>")
    return "".join(parts)


def decision_clock(decision: PendingDecision, now: datetime) -> SlaClock:
    """The SLA clock of a pending decision: from the case's start to its published due time."""
    return SlaClock(due=parse_time(decision.due), started=parse_time(decision.row.created_time), now=now)


def sla_overview(decisions: Sequence[PendingDecision], now: datetime) -> str:
    """Pending decisions per kind, stacked by SLA state: what is late, at a glance."""
    if not decisions:
        return ""
    states = list(SLA_SERIES.values())
    grouped: dict[str, Counter[str]] = {kind: Counter() for kind in DECISION_KIND_TITLES}
    for decision in decisions:
        grouped.setdefault(decision.kind, Counter())[decision_clock(decision, now).state] += 1
    bars = [
        StackedBar(DECISION_KIND_TITLES.get(kind, kind), tuple(Segment(s, counts[s.key]) for s in states))
        for kind, counts in grouped.items()
    ]
    overdue = sum(counts["overdue"] for counts in grouped.values())
    soon = sum(counts["due_soon"] for counts in grouped.values())
    words = bars_in_words(bars, lowercase_series=True)
    label = f"Pending decisions by SLA state: {overdue:,} overdue, {soon:,} due soon. {words}."
    return (
        f'<p class="sla-summary"><strong>{overdue:,} overdue</strong>, {soon:,} due soon, '
        f"{len(decisions) - overdue - soon:,} on time or without a due time.</p>"
    ) + chart_pair(
        stacked_bars_svg(label, bars, states, "sla-states"),
        legend(chart_id("sl"), states),
        "Pending decisions per kind by SLA state (now is the task hub's clock).",
        matrix_table("Pending decisions by kind and SLA state", "kind", bars, states),
    )
