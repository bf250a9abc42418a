"""SLA clocks: how much time a pending decision has left, in words, a bar and a state.

A clock runs from when the case started (the instance's creation: a fare dispute's SLA is counted
from filing, a maintenance approval's deadline and a shelter's next escalation from moments shortly
after it) to the due time the workflow publishes in its custom status (`pending_decisions`). "Now"
is the task hub's clock (console.management), so the clock is right on a host with a virtual clock.

States: `overdue` (past due: red, hatched, the word OVERDUE), `due_soon` (less than a quarter of
the window left: orange, striped, DUE SOON), `on_time` (blue, solid, ON TIME), `no_due` (the
workflow published no due time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from console.charts import OKABE_ITO, Series, duration_text, esc, fill, pattern_defs, percent, utc_text

SlaState = Literal["overdue", "due_soon", "on_time", "no_due"]
DUE_SOON_FRACTION = 0.25  # less than this share of the window left: due soon
SLA_SERIES: dict[SlaState, Series] = {
    "overdue": Series("overdue", "Overdue", OKABE_ITO["vermillion"], "crosshatch"),
    "due_soon": Series("due_soon", "Due soon", OKABE_ITO["orange"], "diagonal"),
    "on_time": Series("on_time", "On time", OKABE_ITO["blue"], "solid"),
    "no_due": Series("no_due", "No due time", "#8C959F", "dots"),
}
STATE_WORDS: dict[SlaState, str] = {
    "overdue": "OVERDUE",
    "due_soon": "DUE SOON",
    "on_time": "ON TIME",
    "no_due": "NO DUE TIME",
}


@dataclass(frozen=True)
class SlaClock:
    """A due time seen at `now`, with the start of its window when known."""

    due: datetime | None
    started: datetime | None
    now: datetime

    @property
    def left(self) -> timedelta | None:
        """Time until due (negative when overdue); None without a due time."""
        return self.due - self.now if self.due else None

    @property
    def used(self) -> float | None:
        """Share of the window used (1.0 = due now, above 1 = overdue); None if the window is unknown."""
        if self.due is None or self.started is None or self.due <= self.started:
            return None
        return (self.now - self.started) / (self.due - self.started)

    @property
    def state(self) -> SlaState:
        """overdue, due soon, on time, or no due time."""
        left = self.left
        if left is None:
            return "no_due"
        if left <= timedelta(0):
            return "overdue"
        used = self.used
        if used is not None and used >= 1 - DUE_SOON_FRACTION:
            return "due_soon"
        if used is None and left < timedelta(hours=1):
            return "due_soon"
        return "on_time"

    def words(self) -> str:
        """`overdue by 3 h 5 min`, `12 h 5 min left`, `no due time published`."""
        left = self.left
        if left is None:
            return "no due time published"
        if left <= timedelta(0):
            return f"overdue by {duration_text(-left.total_seconds())}"
        return f"{duration_text(left.total_seconds())} left"

    def sentence(self) -> str:
        """The clock in one sentence, for the chart's label."""
        if self.due is None:
            return "SLA clock: the workflow published no due time."
        used = self.used
        share = f"; {used:.0%} of the time since the case started is used" if used is not None else ""
        return (
            f"SLA clock: {STATE_WORDS[self.state].lower()}, {self.words()}; due {utc_text(self.due)}{share}."
        )


def sla_clock_html(clock: SlaClock, chart: str) -> str:
    """A small bar (share of the window used, hatched past due) with the state and time left in words."""
    state = clock.state
    series = SLA_SERIES[state]
    used = clock.used
    if used is None:
        used = 1.0 if state == "overdue" else 0.0
    bar = (
        f'<svg class="sla-bar" role="img" aria-label="{esc(clock.sentence())}" width="100%" height="10" '
        f'xmlns="http://www.w3.org/2000/svg">{pattern_defs(chart, [series])}'
        f'<rect width="100%" height="10" fill="#EAEEF2"/>'
        f'<rect class="sla-used" x="0" y="0" width="{percent(100 * min(used, 1.0))}" height="10" '
        f'fill="{fill(chart, series)}"/></svg>'
    )
    due = f'<span class="note">due {esc(utc_text(clock.due))}</span>' if clock.due else ""
    return (
        f'<div class="sla sla-{state}" data-sla="{state}">{bar}'
        f'<span class="sla-text"><strong>{STATE_WORDS[state]}</strong> {esc(clock.words())}</span>{due}</div>'
    )
