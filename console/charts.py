"""Server-rendered SVG charts of the console: pure functions from data to markup (no script).

Why these choices:
- Inline SVG needs nothing from the Content-Security-Policy beyond what the page already has: the
  shapes use presentation attributes (`fill`, `x`, `width`), never `style` attributes, and the
  patterns are same-document `url(#id)` references, so `default-src 'none'` and the one hashed
  stylesheet stay as they are.
- No viewBox: positions along the data axis are percentages of the chart's width and everything
  else (text, bar heights, minimum bar widths) is in pixels, so a chart fills a 1280 px screen and
  a 390 px phone alike and its text never shrinks below its font size.
- Colour is never the only cue: every series has its own pattern (solid, hatched, dotted, ...)
  from the Okabe–Ito palette, which stays distinguishable with the common colour-vision
  deficiencies, and a text legend; every chart is an `<svg role="img">` whose `aria-label` states
  what it shows in words, followed by the same data as a table (`figure`).
- Hover text comes from SVG `<title>` elements, which browsers show as tooltips without script.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from itertools import count

# Okabe & Ito (2008), "Color Universal Design": eight colours distinguishable by readers with
# protanopia, deuteranopia and tritanopia.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GREY = "#8C959F"
TEXT = "#1B1F24"
GRID = "#D0D7DE"


@dataclass(frozen=True)
class Series:
    """One kind of thing in a chart: a colour, a pattern, and the word for it in the legend."""

    key: str
    label: str
    colour: str
    pattern: str  # one of PATTERNS


# Marks drawn over the colour (in white or black, so the pattern shows on any colour).
PATTERNS = ("solid", "diagonal", "crosshatch", "dots", "horizontal", "vertical", "grid", "backdiagonal")

RUNTIME_SERIES: dict[str, Series] = {
    "Running": Series("Running", "Running", OKABE_ITO["blue"], "solid"),
    "Pending": Series("Pending", "Pending", OKABE_ITO["sky_blue"], "dots"),
    "Suspended": Series("Suspended", "Suspended", OKABE_ITO["orange"], "horizontal"),
    "Completed": Series("Completed", "Completed", OKABE_ITO["bluish_green"], "diagonal"),
    "Failed": Series("Failed", "Failed", OKABE_ITO["vermillion"], "crosshatch"),
    "Terminated": Series("Terminated", "Terminated", OKABE_ITO["reddish_purple"], "vertical"),
    "ContinuedAsNew": Series("ContinuedAsNew", "Continued as new", OKABE_ITO["yellow"], "grid"),
}


def series_for_status(status: str) -> Series:
    """The series of a runtime status (an unknown status gets grey)."""
    return RUNTIME_SERIES.get(status, Series(status, status or "unknown", GREY, "backdiagonal"))


def esc(value: object) -> str:
    """HTML/XML-escaped text, quotes included."""
    return escape("" if value is None else str(value), quote=True)


_chart_numbers = count(1)


def chart_id(prefix: str) -> str:
    """A page-unique id prefix for one chart's patterns (several charts share a page)."""
    return f"{prefix}{next(_chart_numbers)}"


def pattern_defs(chart: str, series: Iterable[Series]) -> str:
    """`<defs>` with one `<pattern>` per series, ids `<chart>-<key>`."""
    parts = []
    for item in series:
        mark = _pattern_mark(item.pattern, item.colour)
        parts.append(
            f'<pattern id="{esc(pattern_id(chart, item))}" patternUnits="userSpaceOnUse" '
            'width="6" height="6">'
            f'<rect width="6" height="6" fill="{item.colour}"/>{mark}</pattern>'
        )
    return "<defs>" + "".join(parts) + "</defs>"


def pattern_id(chart: str, item: Series) -> str:
    """The id of a series' pattern in one chart."""
    return f"{chart}-{''.join(c if c.isalnum() else '-' for c in item.key)}"


def fill(chart: str, item: Series) -> str:
    """The `fill` value of a series' shapes."""
    return f"url(#{pattern_id(chart, item)})"


def _pattern_mark(pattern: str, colour: str) -> str:
    ink = "#000" if colour in (OKABE_ITO["yellow"], OKABE_ITO["sky_blue"], OKABE_ITO["orange"]) else "#fff"
    stroke = f'stroke="{ink}" stroke-width="1.2" stroke-opacity="0.75"'
    return {
        "solid": "",
        "diagonal": f'<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" {stroke}/>',
        "backdiagonal": f'<path d="M-1,5 l2,2 M0,0 l6,6 M5,-1 l2,2" {stroke}/>',
        "crosshatch": f'<path d="M0,0 l6,6 M6,0 l-6,6" {stroke}/>',
        "dots": f'<circle cx="3" cy="3" r="1.2" fill="{ink}" fill-opacity="0.8"/>',
        "horizontal": f'<path d="M0,3 h6" {stroke}/>',
        "vertical": f'<path d="M3,0 v6" {stroke}/>',
        "grid": f'<path d="M3,0 v6 M0,3 h6" {stroke}/>',
    }.get(pattern, "")


def legend(chart: str, series: Sequence[Series]) -> str:
    """An HTML legend: a swatch drawn with the series' pattern, then its name (text, not colour)."""
    items = "".join(
        f'<li><svg class="swatch" width="14" height="14" aria-hidden="true" focusable="false">'
        f'{pattern_defs(chart + "l", [item])}<rect width="14" height="14" fill="{fill(chart + "l", item)}" '
        f'stroke="{TEXT}" stroke-width="0.5"/></svg>{esc(item.label)}</li>'
        for item in series
    )
    return f'<ul class="legend">{items}</ul>'


def figure(svg: str, caption: str, table: str, *, legend_html: str = "", table_summary: str = "") -> str:
    """A chart with its caption, legend and the same data as a table (in a `<details>` element).

    The table is the screen-reader (and exact-number) form of the chart; `<details>` keeps long
    tables out of the way and is a native disclosure, so it needs no script.
    """
    summary = table_summary or "The same data as a table"
    return (
        f'<figure class="chart">{svg}{legend_html}<figcaption>{esc(caption)}</figcaption>'
        f'<details class="chart-data"><summary>{esc(summary)}</summary>'
        f'<div class="table-scroll" tabindex="0" role="region" aria-label="{esc(summary)}">{table}</div>'
        "</details></figure>"
    )


def svg_open(label: str, height: int, css: str, **data: object) -> str:
    """The start of a chart's `<svg>`: full width, fixed pixel height, role img, its label in words."""
    attributes = "".join(f' data-{esc(k.replace("_", "-"))}="{esc(v)}"' for k, v in data.items())
    return (
        f'<svg class="{esc(css)}" role="img" aria-label="{esc(label)}" width="100%" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"{attributes}>'
    )


def percent(value: float) -> str:
    """A percentage attribute value with two decimals (`12.5%`)."""
    return f"{max(0.0, min(100.0, value)):.2f}%"


def text(x: str, y: float, content: str, *, anchor: str = "start", css: str = "", title: str = "") -> str:
    """An SVG text element (escaped)."""
    cls = f' class="{esc(css)}"' if css else ""
    tip = f"<title>{esc(title)}</title>" if title else ""
    return f'<text x="{x}" y="{y:.0f}" text-anchor="{anchor}"{cls}>{tip}{esc(content)}</text>'


def plural(number: int, word: str, words: str | None = None) -> str:
    """`1 attempt`, `3 attempts`."""
    return f"{number:,} {word if number == 1 else (words or word + 's')}"


# -- time axis ----------------------------------------------------------------------------------------

NICE_STEPS = (
    timedelta(seconds=1),
    timedelta(seconds=2),
    timedelta(seconds=5),
    timedelta(seconds=10),
    timedelta(seconds=15),
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=2),
    timedelta(days=7),
    timedelta(days=14),
    timedelta(days=28),
)


def nice_step(span: timedelta, at_most: int) -> timedelta:
    """The smallest round step that cuts `span` into at most `at_most` pieces."""
    for step in NICE_STEPS:
        if span / step <= at_most:
            return step
    days = math.ceil(span.total_seconds() / 86_400 / at_most)
    return timedelta(days=days)


def floor_time(moment: datetime, step: timedelta) -> datetime:
    """`moment` rounded down to a multiple of `step` since midnight UTC (or since the epoch, for days)."""
    seconds = step.total_seconds()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    if seconds >= 86_400:
        whole = (moment - epoch).total_seconds() // seconds * seconds
        return epoch + timedelta(seconds=whole)
    midnight = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    whole = (moment - midnight).total_seconds() // seconds * seconds
    return midnight + timedelta(seconds=whole)


def tick_label(moment: datetime, step: timedelta) -> str:
    """A tick's text, as short as the step allows (UTC)."""
    moment = moment.astimezone(UTC)
    if step < timedelta(minutes=1):
        return moment.strftime("%H:%M:%S")
    if step < timedelta(days=1):
        return moment.strftime("%H:%M") if moment.hour or moment.minute else moment.strftime("%d %b")
    return moment.strftime("%d %b")


def time_ticks(start: datetime, end: datetime, at_most: int = 6) -> list[tuple[datetime, str]]:
    """Round instants between `start` and `end` with their labels."""
    span = max(end - start, timedelta(seconds=1))
    step = nice_step(span, at_most)
    moment = floor_time(start, step)
    if moment < start:
        moment += step
    ticks: list[tuple[datetime, str]] = []
    while moment <= end and len(ticks) <= at_most:
        ticks.append((moment, tick_label(moment, step)))
        moment += step
    return ticks


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime, or None."""
    if not value:
        return None
    cleaned = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def utc_text(moment: datetime | None) -> str:
    """`2026-11-11 09:00:05Z`, or '' for None."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else ""


def duration_text(seconds: float | None) -> str:
    """A duration for people: `850 ms`, `42 s`, `3 min`, `5 h 12 min`, `2 d 4 h`."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def step_text(step: timedelta) -> str:
    """A round step in words: `15 min`, `2 h`, `1 d` (falls back to `duration_text`)."""
    seconds = int(step.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return duration_text(step.total_seconds())


def nice_maximum(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2, 5, 10, 20, 50, ...)."""
    if value <= 1:
        return 1
    magnitude: int = 10 ** int(math.log10(value))
    return next(factor * magnitude for factor in (1, 2, 5, 10) if factor * magnitude >= value)


# -- charts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: how many of a series."""

    series: Series
    value: int


@dataclass(frozen=True)
class StackedBar:
    """One labelled bar made of segments (a workflow's instances by status, a region's by age)."""

    label: str
    segments: tuple[Segment, ...]
    link: str = ""  # an already-escaped URL for the label, if any

    @property
    def total(self) -> int:
        """Sum of the segments."""
        return sum(segment.value for segment in self.segments)


def bars_in_words(bars: Sequence[StackedBar], *, lowercase_series: bool = False) -> str:
    """The bars for a chart's text label: `label total (series value, ...); ...`, empty series left out."""
    return "; ".join(
        f"{bar.label} {bar.total:,} ("
        + ", ".join(
            f"{segment.series.label.lower() if lowercase_series else segment.series.label} {segment.value:,}"
            for segment in bar.segments
            if segment.value
        )
        + ")"
        for bar in bars
    )


BAR_ROW = 38  # px per horizontal bar: a text line, then the bar


def stacked_bars_svg(label: str, bars: Sequence[StackedBar], series: Sequence[Series], css: str) -> str:
    """Horizontal stacked bars, one per item, on a common scale; text above each bar says the numbers."""
    chart = chart_id("hb")
    largest = max((bar.total for bar in bars), default=0) or 1
    height = max(1, len(bars)) * BAR_ROW + 6
    parts = [svg_open(label, height, f"chart-svg {css}", total=sum(b.total for b in bars))]
    parts.append(pattern_defs(chart, series))
    for row, bar in enumerate(bars):
        top = row * BAR_ROW
        words = ", ".join(f"{s.series.label} {s.value:,}" for s in bar.segments if s.value)
        parts.append(text("0", top + 13, f"{bar.label}: {bar.total:,}" + (f" ({words})" if words else "")))
        offset = 0.0
        for segment in bar.segments:
            if not segment.value:
                continue
            width = 100.0 * segment.value / largest
            parts.append(
                f'<rect class="segment" data-series="{esc(segment.series.key)}" data-value="{segment.value}" '
                f'x="{percent(offset)}" y="{top + 18}" width="{percent(width)}" height="14" '
                f'fill="{fill(chart, segment.series)}" stroke="#fff" stroke-width="1">'
                f"<title>{esc(bar.label)}: {esc(segment.series.label)} {segment.value:,}</title></rect>"
            )
            offset += width
    parts.append("</svg>")
    return "".join(parts)


def matrix_table(
    caption: str, row_header: str, bars: Sequence[StackedBar], series: Sequence[Series], *, extra: str = ""
) -> str:
    """The data of stacked bars as a table: one row per bar, one column per series, totals."""
    rows = []
    for bar in bars:
        values = {segment.series.key: segment.value for segment in bar.segments}
        name = f'<a href="{bar.link}">{esc(bar.label)}</a>' if bar.link else esc(bar.label)
        cells = "".join(f'<td class="num">{values.get(s.key, 0):,}</td>' for s in series)
        rows.append(f'<tr><th scope="row">{name}</th>{cells}<td class="num">{bar.total:,}</td></tr>')
    totals = "".join(f'<td class="num">{sum(_value(b, s) for b in bars):,}</td>' for s in series)
    total = sum(bar.total for bar in bars)
    table = _series_table(
        caption,
        series,
        css_class="data",
        row_header=row_header,
        body="".join(rows),
        totals=totals,
        total_cell=f'<td class="num">{total:,}</td>',
    )
    scroll = f'<div class="table-scroll" tabindex="0" role="region" aria-label="{esc(caption)}">'
    return f"{scroll}{table}</div>{extra}"


def _series_table(
    caption: str,
    series: Sequence[Series],
    *,
    css_class: str,
    row_header: str,
    body: str,
    totals: str,
    total_cell: str,
) -> str:
    """A chart's data table: a header row naming the series, the body rows, a footer row of totals."""
    head = "".join(f'<th scope="col">{esc(s.label)}</th>' for s in series)
    return (
        f'<table class="{css_class}"><caption>{esc(caption)}</caption><thead><tr>'
        f'<th scope="col">{esc(row_header)}</th>{head}<th scope="col">total</th></tr></thead>'
        f'<tbody>{body}</tbody><tfoot><tr><th scope="row">all</th>{totals}{total_cell}</tr></tfoot></table>'
    )


def _value(bar: StackedBar, series: Series) -> int:
    return sum(segment.value for segment in bar.segments if segment.series.key == series.key)


@dataclass(frozen=True)
class HistogramBucket:
    """Instances started in [start, end), by series key."""

    start: datetime
    end: datetime
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """All starts in the bucket."""
        return sum(self.counts.values())


def histogram_svg(label: str, buckets: Sequence[HistogramBucket], series: Sequence[Series], css: str) -> str:
    """Vertical stacked columns over a time axis, one per bucket; gridlines labelled with counts."""
    chart = chart_id("hg")
    plot_top, plot_height = 18, 150
    axis_y = plot_top + plot_height
    height = axis_y + 22
    tallest = max((bucket.total for bucket in buckets), default=0)
    top_value = nice_maximum(tallest)
    parts = [svg_open(label, height, f"chart-svg {css}", total=sum(b.total for b in buckets))]
    parts.append(pattern_defs(chart, series))
    for fraction in (0.5, 1.0):
        value = top_value * fraction
        y = axis_y - plot_height * fraction
        parts.append(f'<line x1="0" x2="100%" y1="{y:.0f}" y2="{y:.0f}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(text("2", y - 3, f"{value:g}", css="tick"))
    parts.append(f'<line x1="0" x2="100%" y1="{axis_y}" y2="{axis_y}" stroke="{TEXT}" stroke-width="1"/>')
    if buckets:
        width = 100.0 / len(buckets)
        for index, bucket in enumerate(buckets):
            x = index * width
            stacked = 0
            for item in series:
                value = bucket.counts.get(item.key, 0)
                if not value:
                    continue
                bar_height = plot_height * value / top_value
                y = axis_y - plot_height * (stacked + value) / top_value
                parts.append(
                    f'<rect class="column" data-series="{esc(item.key)}" data-value="{value}" '
                    f'x="{percent(x + width * 0.1)}" y="{y:.1f}" width="{percent(width * 0.8)}" '
                    f'height="{bar_height:.1f}" fill="{fill(chart, item)}" stroke="#fff" stroke-width="0.5">'
                    f"<title>{esc(utc_text(bucket.start))} to {esc(utc_text(bucket.end))}: "
                    f"{esc(item.label)} {value:,}</title></rect>"
                )
                stacked += value
        start, end = buckets[0].start, buckets[-1].end
        span = (end - start).total_seconds() or 1.0
        for moment, words in time_ticks(start, end, 5):
            position = 100.0 * (moment - start).total_seconds() / span
            anchor = "start" if position < 4 else "end" if position > 96 else "middle"
            parts.append(
                f'<line x1="{percent(position)}" x2="{percent(position)}" y1="{axis_y}" y2="{axis_y + 4}" '
                f'stroke="{TEXT}"/>'
            )
            parts.append(text(percent(position), axis_y + 16, words, anchor=anchor, css="tick"))
    parts.append("</svg>")
    return "".join(parts)


def histogram_table(caption: str, buckets: Sequence[HistogramBucket], series: Sequence[Series]) -> str:
    """The histogram's data: one row per bucket that has starts, a column per series, totals."""
    rows = "".join(
        f'<tr><th scope="row">{esc(utc_text(b.start))} – {esc(utc_text(b.end))}</th>'
        + "".join(f'<td class="num">{b.counts.get(s.key, 0):,}</td>' for s in series)
        + f'<td class="num">{b.total:,}</td></tr>'
        for b in buckets
        if b.total
    )
    totals = "".join(f'<td class="num">{sum(b.counts.get(s.key, 0) for b in buckets):,}</td>' for s in series)
    total = sum(b.total for b in buckets)
    total_cell = f'<td class="num" data-total="{total}">{total:,}</td>'
    return _series_table(
        caption,
        series,
        css_class="data histogram-data",
        row_header="started (UTC)",
        body=rows,
        totals=totals,
        total_cell=total_cell,
    )
