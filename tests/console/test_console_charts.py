"""The console's charts in a real browser (headless Debian Chromium) over a few hundred real instances.

The module's own host and Azurite (virtual clock from a plain Wednesday, suppliers failing every third call so
maintenance orders retry) gets ~250 instances started hour by hour over eight virtual hours: most
orders wait for approval, some are approved, rejected, terminated or suspended; fare disputes wait
for a supervisor, the earliest past their SLA; relief requests wait for shelters in three regions.
Each test checks a chart against what the management API itself says, and each page at 1280 px and
390 px; screenshots land in `.artifacts/console/` (docs/images holds a copy of them).

Accessibility: axe-core (npm, pinned in package.json) is injected into the page with Playwright's
`add_script_tag`. The console's Content-Security-Policy forbids every script, so only that test's
browser context is opened with `bypass_csp=True`; the pages and their CSP stay exactly as served
(another test checks the header).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page

from audit_packets import loads_json
from console.catalogue import relief_request_regions
from identity import Role
from ops.sign_in import LocalPrincipal, bearer
from ops.sign_in import sign_in as sign_in_token
from personal_data.erasure_step import RETENTION_INSTANCE_ID
from tests.support.durable_http import DurableApi
from tests.support.wire import advance_clock, advance_clock_to, clock_now
from tools.clients import (
    Cast,
    FareDisputeClient,
    MaintenanceOrderClient,
    ReliefRequestClient,
    maintenance_order_body,
    relief_request_body,
    supervised_fare_dispute_body,
)
from tools.harness import REPO_ROOT, Azurite, HostProcess, make_host

from .conftest import SCREENSHOTS, sign_in

AXE_SCRIPT = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
HOURS = 8
ORDERS_PER_HOUR = 24
DISPUTES_PER_HOUR = 6
RELIEF_SHELTERS = ("shelter-hilltop-center", "shelter-bayview-school", "shelter-riverside-arena")
RELIEF_REQUESTS = 12
RETRY_SECONDS = 5  # SUPPLIER_RETRY's interval (orchestrators/maintenance_order.py)
STEP_RETRY_SECONDS = 2
WIDTHS = (1280, 390)
OVERDUE_RED = "rgb(180, 35, 24)"  # .sla-overdue .sla-text in console/pages.py


@dataclass
class Population:
    """What the module started and did, by business id."""

    host: HostProcess
    durable: DurableApi  # the management API, signed in as an operator
    token: str  # the duty supervisor's session, for pages read without a browser
    orders: list[str] = field(default_factory=list)
    disputes: list[str] = field(default_factory=list)
    relief: list[str] = field(default_factory=list)
    approved: dict[str, str] = field(default_factory=dict)  # order id -> approver

    @property
    def console(self) -> str:
        return f"{self.host.base_url}/api/console"


# The person the pages are opened as: reads the console, approves orders and decides disputes.
DUTY_SUPERVISOR = LocalPrincipal(
    "local-duty-supervisor-dana",
    "Dana Duty",
    (Role.OPERATIONS_READER, Role.MAINTENANCE_APPROVER, Role.FARE_DISPUTE_SUPERVISOR),
)


def settle(durable: DurableApi, timeout: float = 240) -> None:
    """Advance the clock in retry steps until no instance is still working towards a wait.

    Steps of one retry interval: an activity still running when the clock moves finishes a few
    seconds later on the virtual clock, never an hour later. The hub's personal data retention
    orchestration sleeps between sweeps by design and is not waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [
            s["instanceId"]
            for s in durable.query(showInput="false")
            if s["runtimeStatus"] in ("Pending", "Running")
            and not (s.get("customStatus") or {}).get("waitingFor")
            and s["instanceId"] != RETENTION_INSTANCE_ID
        ]
        if not busy:
            return
        advance_clock(durable.base_url, RETRY_SECONDS)
        time.sleep(0.5)
    raise AssertionError(f"instances still working after {timeout} s: {busy[:5]}")


@pytest.fixture(scope="module")
def population() -> Iterator[Population]:
    """The module's host on an Azurite of its own: ~250 instances' histories stay out of the
    session's Azurite (in memory) and are gone when the module ends."""
    azurite = Azurite.start()
    env = {
        "STORAGE_CONTAINER_PREFIX": f"cc{uuid.uuid4().hex[:10]}",
        "INTEGRATIONS_MODE": "sandbox",
        "SANDBOX_FAULTS_SUPPLIERS": "transient:1/3",
    }
    try:
        host = make_host(REPO_ROOT, azurite, virtual_clock=True, env=env, easy_auth=True).start()
        try:
            cast = Cast.sign_in(host.base_url, timeout=60)
            durable = DurableApi(host.base_url, token=cast.operator.token)
            token = sign_in_token(host.base_url, DUTY_SUPERVISOR)
            yield populate(Population(host, durable, token), cast)
        finally:
            host.stop()
    finally:
        azurite.stop()


def populate(world: Population, cast: Cast) -> Population:
    """~250 instances over eight virtual hours, then decisions, operator actions and a jump past SLAs."""
    base = world.host.base_url
    durable = world.durable
    app = cast.submitter
    orders, disputes, relief = MaintenanceOrderClient(app), FareDisputeClient(app), ReliefRequestClient(app)
    started = clock_now(base)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for hour in range(HOURS):
            batch = [f"o{hour}-{n:02d}-{uuid.uuid4().hex[:4]}" for n in range(ORDERS_PER_HOUR)]
            cases = [f"d{hour}-{n}-{uuid.uuid4().hex[:4]}" for n in range(DISPUTES_PER_HOUR)]
            list(pool.map(lambda order: orders.start(maintenance_order_body(order)), batch))
            list(pool.map(lambda case: disputes.file(supervised_fare_dispute_body(case)), cases))
            world.orders += batch
            world.disputes += cases
            settle(durable)  # this hour's supplier retries run before the clock moves on
            advance_clock_to(base, started + timedelta(hours=hour + 1))
        settle(durable)
        awaiting = [
            s["instanceId"].removeprefix("maintenance-")
            for s in durable.query(instanceIdPrefix="maintenance-", showInput="false")
            if (s.get("customStatus") or {}).get("waitingFor") == "approval_decision"
        ]
        # Each approval by a different approver, so the chart must name the right one.
        approvers = {
            order: LocalPrincipal(
                f"local-approver-{number}", f"Approver {number}", (Role.MAINTENANCE_APPROVER,)
            )
            for number, order in enumerate(awaiting[:20])
        }
        world.approved = {order: principal.name for order, principal in approvers.items()}

        def approve(order: str) -> None:
            MaintenanceOrderClient(app.as_principal(approvers[order])).approve(order, approved=True)

        list(pool.map(approve, approvers))
        rejecting = MaintenanceOrderClient(cast.approver)
        list(pool.map(lambda o: rejecting.approve(o, approved=False), awaiting[20:30]))
        for order in awaiting[30:35]:
            durable.post(f"maintenance-{order}", "terminate", reason="test: withdrawn")
        for order in awaiting[35:38]:
            durable.post(f"maintenance-{order}", "suspend", reason="test: on hold")
        deciding = FareDisputeClient(cast.supervisor)
        list(pool.map(lambda d: deciding.decide(d, "approve"), world.disputes[:6]))
        settle(durable)
        # Wed 17:00 -> Fri 12:00: the disputes filed Wednesday morning pass their 2-business-day SLA.
        advance_clock(base, 43 * 3600)
        time.sleep(2)
        settle(durable)
        for number in range(RELIEF_REQUESTS):
            request = f"r{number:02d}-{uuid.uuid4().hex[:4]}"
            shelter = RELIEF_SHELTERS[number % len(RELIEF_SHELTERS)]
            relief.start(relief_request_body(request, {shelter: {"blanket": 1}}))
            world.relief.append(request)
        for request in world.relief:
            relief.wait_stage(request, "awaiting_confirmations", timeout=120)
        advance_clock(base, 2 * 3600)  # two hours old: under the 6 h escalation interval
        time.sleep(1)
        settle(durable)
    return world


@pytest.fixture(scope="module")
def browser_contexts(browser: Browser, population: Population) -> Iterator[dict[int, Page]]:
    """One page per width, kept for the module (the CSP is enforced in these)."""
    contexts = {width: browser.new_context(viewport={"width": width, "height": 900}) for width in WIDTHS}
    pages = {width: context.new_page() for width, context in contexts.items()}
    for page in pages.values():
        page.set_default_timeout(20_000)
        sign_in(page, population.host.base_url, DUTY_SUPERVISOR)
    yield pages
    for context in contexts.values():
        context.close()


def shoot(page: Page, name: str) -> None:
    """The whole page, and its first 1,600 px (`-top`, the copies in docs/images)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    height = min(1600, page.evaluate("document.documentElement.scrollHeight"))
    width = page.viewport_size["width"] if page.viewport_size else 1280
    page.screenshot(
        path=str(SCREENSHOTS / f"{name}-top.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": height},
    )


def fits(page: Page, width: int) -> None:
    """Nothing makes the page wider than the screen (wide tables scroll inside themselves)."""
    widest = page.evaluate(
        "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, widest


# -- instance timeline --------------------------------------------------------------------------------


def test_the_timeline_draws_every_attempt_groups_retries_and_ends_waits_at_the_event(
    population: Population, browser_contexts: dict[int, Page]
) -> None:
    """An approved order that retried: one bar per attempt, failed ones marked, retry delays, the wait."""
    chosen = None
    for order, approver in population.approved.items():
        events = population.durable.history(f"maintenance-{order}")
        late = [  # a retry timer fires late when the populating loop moved the clock on by an hour
            e
            for e in events
            if e["EventType"] == "TimerFired"
            and datetime.fromisoformat(e["Timestamp"]) - datetime.fromisoformat(e["FireAt"])
            > timedelta(seconds=1)
            and datetime.fromisoformat(e["FireAt"])
            < datetime.fromisoformat(events[0]["Timestamp"]) + timedelta(hours=1)
        ]
        if any(e["EventType"] == "TaskFailed" for e in events) and not late:
            chosen, chosen_events = (order, approver), events
            break
    assert chosen is not None, "no approved order retried on time: the supplier faults did not apply"
    order, approver = chosen
    kinds = Counter(e["EventType"] for e in chosen_events)
    retry_timers = [
        e
        for e in chosen_events
        if e["EventType"] == "TimerCreated"
        and (datetime.fromisoformat(e["FireAt"]) - datetime.fromisoformat(e["Timestamp"])).total_seconds()
        in (RETRY_SECONDS, STEP_RETRY_SECONDS)
    ]
    for width, page in browser_contexts.items():
        page.goto(f"{population.console}/instance?id=maintenance-{order}")
        gantt = page.locator("svg.gantt")
        assert gantt.get_attribute("role") == "img"
        label = gantt.get_attribute("aria-label") or ""
        attempts = kinds["TaskCompleted"] + kinds["TaskFailed"]
        assert f"{attempts} activity attempts ({kinds['TaskFailed']} failed)" in label
        assert (
            gantt.locator("rect.attempt").count()
            == attempts
            == int(gantt.get_attribute("data-attempts") or 0)
        )
        assert gantt.locator("rect.attempt.failed").count() == kinds["TaskFailed"]
        assert gantt.locator("rect.retry-delay").count() == len(retry_timers) > 0
        assert gantt.locator("rect.retry-group").count() >= 1
        wait = gantt.locator("rect.wait.received")
        assert wait.count() == 1
        assert f"from {approver}" in (wait.locator("title").text_content() or "")
        assert gantt.locator("svg.marker.diamond").count() == 1
        assert gantt.locator("text", has_text=f"received from {approver}").count() == 1
        table = page.locator("details.chart-data table.timeline-data")
        assert table.locator("tbody tr").count() == len(gantt.locator("rect.bar").all())
        fits(page, width)
        shoot(page, f"charts-instance-{width}")

    # Zoom (a link, no script): the first busy stretch fills the width, so a 5 s retry delay,
    # a sliver beside a wait of hours, becomes a wide bar.
    page = browser_contexts[1280]
    widths = "els => els.map(e => e.getBoundingClientRect().width)"
    before = max(page.locator("svg.gantt rect.retry-delay").evaluate_all(widths))
    page.locator("p.zoom a", has_text="attempts").first.click()
    assert page.locator("p.zoom strong[aria-current]", has_text="attempts").count() == 1
    after = max(page.locator("svg.gantt rect.retry-delay").evaluate_all(widths))
    assert after > 10 * before, (before, after)
    shoot(page, "charts-instance-zoomed-1280")


def test_a_waiting_instance_shows_its_open_wait_and_pending_timer(
    population: Population, browser_contexts: dict[int, Page]
) -> None:
    """A dispute still waiting for a supervisor: an open wait up to now and its SLA timer."""
    waiting = population.disputes[-1]
    page = browser_contexts[1280]
    page.goto(f"{population.console}/instance?id=fare-dispute-{waiting}")
    gantt = page.locator("svg.gantt")
    assert gantt.locator("rect.wait.waiting").count() == 1
    assert "waiting for 'supervisor_decision'" in (gantt.get_attribute("aria-label") or "")
    assert gantt.locator("line.now").count() == 1
    assert gantt.locator("rect.timer").count() >= 1


# -- list overview --------------------------------------------------------------------------------------


def test_the_histogram_and_the_counts_total_the_list(
    population: Population, browser_contexts: dict[int, Page]
) -> None:
    """Filtered or not, the histogram and the workflow counts add up to what the list pages through."""
    everything = population.durable.query(showInput="false")
    orders = population.durable.query(showInput="false", instanceIdPrefix="maintenance-")
    for width, page in browser_contexts.items():
        page.goto(population.console)
        assert int(page.locator(".match-count").get_attribute("data-count") or -1) == len(everything)
        histogram = page.locator("svg.histogram")
        assert histogram.get_attribute("role") == "img"
        assert int(histogram.get_attribute("data-total") or -1) == len(everything)
        assert f"{len(everything)} instances" in (histogram.get_attribute("aria-label") or "")
        assert int(page.locator("svg.by-workflow").get_attribute("data-total") or -1) == len(everything)
        fits(page, width)
        shoot(page, f"charts-instances-{width}")

    page = browser_contexts[1280]
    page.goto(f"{population.console}?workflow=maintenance_order&size=50")
    count = int(page.locator(".match-count").get_attribute("data-count") or -1)
    assert count == len(orders) == len(population.orders)
    histogram = page.locator("svg.histogram")
    drawn = sum(
        int(v) for v in histogram.locator("rect.column").evaluate_all("els => els.map(e => e.dataset.value)")
    )
    assert drawn == count == int(histogram.get_attribute("data-total") or -1)
    assert int(page.locator("table.histogram-data td[data-total]").get_attribute("data-total") or -1) == count
    by_status = Counter(s["runtimeStatus"] for s in orders)
    for status, number in by_status.items():
        drawn_status = histogram.locator(f'rect.column[data-series="{status}"]').evaluate_all(
            "els => els.map(e => Number(e.dataset.value))"
        )
        assert sum(drawn_status) == number, status
    listed = 0
    while True:
        listed += page.locator("table.instances tbody tr").count()
        following = page.locator("a[rel=next]")
        if following.count() == 0:
            break
        following.click()
    assert listed == count


def test_running_relief_requests_are_counted_by_region(
    population: Population, browser_contexts: dict[int, Page]
) -> None:
    """The region chart counts every running relief request once per region of its shelters."""
    relief = [
        s
        for s in population.durable.query(instanceIdPrefix="relief-", showInput="true")
        if s["runtimeStatus"] in ("Running", "Pending", "Suspended")
    ]
    expected = Counter(
        region for s in relief for region in relief_request_regions(loads_json(s.get("input")))
    )
    assert len(expected) >= 2, expected
    page = browser_contexts[1280]
    page.goto(f"{population.console}?workflow=relief_routing")
    chart = page.locator("svg.relief-regions")
    assert int(chart.get_attribute("data-total") or -1) == sum(expected.values())
    label = chart.get_attribute("aria-label") or ""
    for region, number in expected.items():
        assert f"{region}: {number} running" in label


# -- SLA clocks --------------------------------------------------------------------------------------------


def test_overdue_decisions_have_a_red_sla_clock_and_the_others_do_not(
    population: Population, browser_contexts: dict[int, Page]
) -> None:
    """Disputes past their SLA due time (by the host's clock) show OVERDUE in red; the rest do not."""
    base = population.host.base_url
    now = clock_now(base)
    waiting = [
        s
        for s in population.durable.query(instanceIdPrefix="fare-dispute-", showInput="false")
        if s["runtimeStatus"] == "Running"
        and (s.get("customStatus") or {}).get("waitingFor") == "supervisor_decision"
    ]
    overdue = {s["instanceId"] for s in waiting if datetime.fromisoformat(s["customStatus"]["slaDue"]) <= now}
    assert overdue and len(overdue) < len(waiting), (
        "the clock jump should leave some disputes overdue, not all"
    )
    for width, page in browser_contexts.items():
        page.goto(f"{population.console}/decisions")
        for status in waiting:
            clock = page.locator(f'tr[id="d-{status["instanceId"]}"] .sla')
            text_colour = clock.locator(".sla-text").evaluate("e => getComputedStyle(e).color")
            if status["instanceId"] in overdue:
                assert clock.get_attribute("data-sla") == "overdue"
                assert "OVERDUE" in (clock.text_content() or "")
                assert text_colour == OVERDUE_RED
                assert "overdue by" in (clock.locator("svg").get_attribute("aria-label") or "")
            else:
                assert clock.get_attribute("data-sla") in ("on_time", "due_soon")
                assert text_colour != OVERDUE_RED
        summary = page.locator("svg.sla-states")
        assert f"{len(overdue)} overdue" in (summary.get_attribute("aria-label") or "")
        fits(page, width)
        shoot(page, f"charts-decisions-{width}")


# -- freshness, CSP, accessibility ---------------------------------------------------------------------------


def test_pages_say_when_their_data_was_read_by_the_hub_clock_and_refresh_only_on_request(
    population: Population,
) -> None:
    """The time shown is the task hub's (virtual) clock; auto-refresh is a meta tag, opt-in; CSP as before."""
    base = population.host.base_url
    plain = requests.get(f"{population.console}/decisions", headers=bearer(population.token), timeout=60)
    host_time = clock_now(base)
    read_at = re.search(r'<time datetime="([^"]+)"', plain.text)
    assert read_at is not None
    assert abs(datetime.fromisoformat(read_at.group(1)) - host_time) < timedelta(seconds=5)
    assert 'http-equiv="refresh"' not in plain.text
    policy = plain.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; style-src 'sha256-") and "script" not in policy
    assert "unsafe" not in policy and "<script" not in plain.text
    refreshing = requests.get(
        f"{population.console}/decisions?refresh=30", headers=bearer(population.token), timeout=60
    )
    assert '<meta http-equiv="refresh" content="30">' in refreshing.text
    assert refreshing.headers["Content-Security-Policy"] == policy
    ignored = requests.get(
        f"{population.console}/decisions?refresh=1", headers=bearer(population.token), timeout=60
    )
    assert 'http-equiv="refresh"' not in ignored.text


def test_every_page_passes_axe_with_no_serious_violations(population: Population, browser: Browser) -> None:
    """axe-core (WCAG 2.1 A/AA rules) on the list, an instance and the decisions, at both widths."""
    order = population.orders[-1]
    paths = ["", f"/instance?id=maintenance-{order}", "/decisions", "?workflow=relief_routing"]
    found: dict[str, list[dict[str, Any]]] = {}
    for width in WIDTHS:
        # bypass_csp only here: the console's CSP allows no script, and axe is a script.
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        page = context.new_page()
        sign_in(page, population.host.base_url, DUTY_SUPERVISOR)
        for path in paths:
            page.goto(population.console + path)
            page.add_script_tag(path=str(AXE_SCRIPT))
            result = page.evaluate(
                "() => axe.run(document, {runOnly: {type: 'tag', values: "
                "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
            )
            serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
            found[f"{width} {path or '/'}"] = [
                {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
                for v in serious
            ]
            assert result["passes"], "axe ran no check"
        context.close()
    assert not any(found.values()), json.dumps(found, indent=1)
