"""Console page timings with 1,000 real workflow instances on the devhost (not part of the tests).

    .venv/bin/python -m bench.console_pages [--instances 1000] [--repeat 5] [--out .artifacts/console]
    .venv/bin/python -m bench.console_pages --chain [--repeat 5]   # the instance timeline only

Starts Azurite and the root app on the devhost (virtual clock, sandboxed outside systems), starts
`--instances` real workflow instances through the workflows' own HTTP APIs (40 % maintenance orders,
30 % fare disputes waiting for a supervisor, 30 % relief requests), waits until every one waits for
a person, then times each console page `--repeat` times (server time as the client sees it: one
HTTP GET, body read). Writes `console-timings.json` and prints a table. The budget is one second per
page; the script reports, it does not assert.

`--chain` measures the instance timeline on long histories instead: it runs bench/apps/console_chain
(the console plus a chain of n steps, every 50th retried once, then a wait for an event) on the
devhost with the real clock, for n = 3, 300 and 1,000, signs each off, and times the console's
instance page (GET, as above) and, in this process, the chart alone (history -> timeline -> SVG).
Writes `console-timeline-timings.json`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from console.timeline import build_timeline, render_timeline
from ops.sign_in import LOCAL_OPERATOR, LOCAL_SUBMITTER, bearer, sign_in
from tools.clients import SANDBOX_SHELTERS, AppClient, start_awaiting_a_person
from tools.harness import ARTIFACTS, REPO_ROOT, Azurite, make_host
from tools.harness.instances import list_all_instances
from workflow_catalogue import FARE_DISPUTE, MAINTENANCE_ORDER, RELIEF_ROUTING

BUDGET_SECONDS = 1.0
WORKFLOW_OF_KIND = {"maintenance": MAINTENANCE_ORDER, "fare": FARE_DISPUTE, "relief": RELIEF_ROUTING}


def start_instances(app: AppClient, count: int) -> dict[str, list[str]]:
    """Start `count` instances across the three workflows (concurrently); their business ids."""
    plan: list[tuple[str, str]] = []
    for index in range(count):
        kind = "maintenance" if index % 10 < 4 else "fare" if index % 10 < 7 else "relief"
        plan.append((kind, f"bench-{kind}-{index:04d}-{uuid.uuid4().hex[:4]}"))

    def start(item: tuple[str, str]) -> None:
        kind, business_id = item
        shelter = SANDBOX_SHELTERS[hash(business_id) % len(SANDBOX_SHELTERS)]
        start_awaiting_a_person(app, WORKFLOW_OF_KIND[kind], business_id, shelter)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(start, plan))
    grouped: dict[str, list[str]] = {"maintenance": [], "fare": [], "relief": []}
    for kind, business_id in plan:
        grouped[kind].append(business_id)
    return grouped


def wait_settled(base_url: str, count: int, timeout: float, token: str) -> dict[str, int]:
    """Wait until no instance is Pending or still working towards its first wait; the status counts."""
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        statuses = all_statuses(base_url, token)
        counts = {}
        busy = 0
        for status in statuses:
            counts[status["runtimeStatus"]] = counts.get(status["runtimeStatus"], 0) + 1
            raw = status.get("customStatus")
            custom: dict[str, Any] = raw if isinstance(raw, dict) else {}
            waiting = custom.get("waitingFor") or custom.get("stage") == "awaiting_confirmations"
            if status["runtimeStatus"] in ("Pending", "Running") and not waiting:
                busy += 1
        print(f"  {len(statuses)}/{count} instances, {busy} still working: {counts}", file=sys.stderr)
        if len(statuses) >= count and busy == 0:
            return counts
        time.sleep(5)
    return counts


def all_statuses(base_url: str, token: str) -> list[dict[str, Any]]:
    """Every instance's status via the management API (continuation tokens followed)."""
    return list_all_instances(base_url, bearer(token), {"showInput": "false"})


def time_pages(base_url: str, pages: dict[str, str], repeat: int, token: str) -> dict[str, dict[str, Any]]:
    """GET each page `repeat` times as an operator; seconds per request (median, max), status and size."""
    results: dict[str, dict[str, Any]] = {}
    session = requests.Session()
    session.headers.update(bearer(token))
    for name, path in pages.items():
        samples: list[float] = []
        status, size = 0, 0
        for _ in range(repeat):
            started = time.perf_counter()
            response = session.get(base_url + path, timeout=60)
            body = response.content
            samples.append(time.perf_counter() - started)
            status, size = response.status_code, len(body)
        results[name] = {
            "path": path,
            "status": status,
            "bytes": size,
            "median_seconds": round(statistics.median(samples), 4),
            "max_seconds": round(max(samples), 4),
            "within_budget": max(samples) < BUDGET_SECONDS,
        }
    return results


CHAIN_APP = REPO_ROOT / "bench" / "apps" / "console_chain"
CHAIN_LENGTHS = (3, 300, 1000)


def chain_timings(repeat: int, out: Path) -> int:
    """Start chains of 3, 300 and 1,000 steps, finish them, time their timeline (page and chart)."""
    azurite = Azurite.start()
    env = {"STORAGE_CONTAINER_PREFIX": f"cc{uuid.uuid4().hex[:10]}"}
    host = make_host(CHAIN_APP, azurite, env=env, easy_auth=True).start()
    results: dict[str, dict[str, Any]] = {}
    try:
        token = sign_in(host.base_url, LOCAL_OPERATOR)
        for length in CHAIN_LENGTHS:
            results[f"chain of {length}"] = time_chain(host.base_url, length, repeat, token)
    finally:
        host.stop()
        azurite.stop()
    report = {"host": "devhost on Azurite (real clock)", "budget_seconds": BUDGET_SECONDS, "chains": results}
    write_report(
        out / "console-timeline-timings.json",
        report,
        f"{'chain':14} {'events':>7} {'bars':>6} {'page median':>12} {'page max':>9} {'chart median':>13}",
        [
            f"{name:14} {row['history_events']:>7} {row['attempt_bars']:>6} "
            f"{row['page']['median_seconds'] * 1000:>10.0f}ms {row['page']['max_seconds'] * 1000:>7.0f}ms "
            f"{row['chart_median_seconds'] * 1000:>11.0f}ms"
            for name, row in results.items()
        ],
    )
    return 0


def time_chain(base_url: str, length: int, repeat: int, token: str) -> dict[str, Any]:
    """Run one chain to its wait, sign it off, then time its instance page and its chart (as an operator)."""
    webhook = f"{base_url}/runtime/webhooks/durabletask"
    http = signed_session(token)
    instance_id = f"chain-{length}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    http.post(
        f"{webhook}/orchestrators/console_bench_chain/{instance_id}", json={"n": length}, timeout=60
    ).raise_for_status()
    while time.monotonic() - started < 900:
        history = http.get(
            f"{webhook}/instances/{instance_id}", params={"showHistory": "true"}, timeout=60
        ).json()
        if any(e.get("EventType") == "TimerCreated" for e in history.get("historyEvents") or []):
            break
        time.sleep(1)
    http.post(f"{webhook}/instances/{instance_id}/raiseEvent/sign_off", json={}, timeout=60)
    status: dict[str, Any] = {}
    while status.get("runtimeStatus") not in ("Completed", "Failed") and time.monotonic() - started < 900:
        time.sleep(0.5)
        status = http.get(f"{webhook}/instances/{instance_id}", timeout=60).json()
    run_seconds = time.monotonic() - started
    page = time_pages(base_url, {"page": f"/api/console/instance?id={instance_id}"}, repeat, token)["page"]
    full = http.get(
        f"{webhook}/instances/{instance_id}",
        params={"showHistory": "true", "showHistoryOutput": "true", "showInput": "true"},
        timeout=60,
    ).json()
    samples = []
    svg = ""
    for _ in range(repeat):
        began = time.perf_counter()
        svg = render_timeline(build_timeline(full, datetime.now(UTC)))
        samples.append(time.perf_counter() - began)
    return {
        "instance": instance_id,
        "runtime_status": status.get("runtimeStatus"),
        "history_events": len(full.get("historyEvents") or []),
        "attempt_bars": svg.count('class="bar attempt'),
        "seconds_to_run": round(run_seconds, 1),
        "page": page,
        "chart_median_seconds": round(statistics.median(samples), 4),
        "chart_max_seconds": round(max(samples), 4),
    }


def signed_session(token: str) -> requests.Session:
    """An HTTP session that sends the bearer token on every request."""
    session = requests.Session()
    session.headers.update(bearer(token))
    return session


def main(argv: list[str] | None = None) -> int:
    """Run the measurement; exit 0 (a report, not a gate)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=1000, help="instances to start (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="requests per page (default 5)")
    parser.add_argument("--out", default=str(ARTIFACTS / "console"), help="folder for console-timings.json")
    parser.add_argument("--settle-timeout", type=float, default=900, help="seconds to wait for the instances")
    parser.add_argument(
        "--chain",
        action="store_true",
        help="time the instance timeline of 3-, 300- and 1,000-step chains instead",
    )
    args = parser.parse_args(argv)
    if args.chain:
        return chain_timings(args.repeat, Path(args.out))

    azurite = Azurite.start()
    env = {"STORAGE_CONTAINER_PREFIX": f"cb{uuid.uuid4().hex[:10]}", "INTEGRATIONS_MODE": "sandbox"}
    host = make_host(REPO_ROOT, azurite, virtual_clock=True, env=env, easy_auth=True).start()
    try:
        app = AppClient.signed_in(host.base_url, LOCAL_SUBMITTER, timeout=60)
        operator = AppClient.signed_in(host.base_url, LOCAL_OPERATOR, timeout=60)
        assert operator.token is not None
        print(f"starting {args.instances} instances on {host.base_url}", file=sys.stderr)
        started = time.monotonic()
        grouped = start_instances(app, args.instances)
        counts = wait_settled(host.base_url, args.instances, args.settle_timeout, operator.token)
        settle_seconds = time.monotonic() - started
        order = grouped["maintenance"][len(grouped["maintenance"]) // 2]
        relief = grouped["relief"][0]
        first = operator.session.get(f"{host.base_url}/api/console", params={"size": "50"}, timeout=60)
        next_link = first.text.split('rel="next" href="', 1)[-1].split('"', 1)[0].replace("&amp;", "&")
        pages = {
            "instances (first page, 50, overview of all)": "/api/console",
            "instances (next page)": next_link,
            "instances (200 per page)": "/api/console?size=200",
            "instances (workflow + status)": "/api/console?workflow=fare_dispute&status=Running",
            "instances (region filter, scans all)": "/api/console?region=depot-north",
            "instances (business id text, scans all)": f"/api/console?q={order[-9:]}",
            "instances (maintenance, overview)": "/api/console?workflow=maintenance_order",
            "instances (relief, overview by region)": "/api/console?workflow=relief_routing",
            "pending decisions (all running)": "/api/console/decisions",
            "instance (maintenance order)": f"/api/console/instance?id=maintenance-{order}",
            "instance (relief request)": f"/api/console/instance?id=relief-{relief}",
            "audit packet JSON": f"/api/console/instance/audit?id=maintenance-{order}&format=json",
            "audit report HTML": f"/api/console/instance/audit?id=maintenance-{order}&format=html",
        }
        results = time_pages(host.base_url, pages, args.repeat, operator.token)
    finally:
        host.stop()
        azurite.stop()
    report = {
        "instances": args.instances,
        "runtime_status_counts": counts,
        "seconds_to_start_and_settle": round(settle_seconds, 1),
        "budget_seconds": BUDGET_SECONDS,
        "host": "devhost on Azurite (virtual clock)",
        "pages": results,
    }
    write_report(
        Path(args.out) / "console-timings.json",
        report,
        f"{'page':44} {'status':>6} {'KiB':>7} {'median':>8} {'max':>8}",
        [
            f"{name:44} {row['status']:>6} {row['bytes'] / 1024:>7.1f} "
            f"{row['median_seconds'] * 1000:>6.0f}ms {row['max_seconds'] * 1000:>6.0f}ms"
            for name, row in results.items()
        ],
    )
    return 0


def write_report(path: Path, report: dict[str, Any], header: str, rows: list[str]) -> None:
    """Write the JSON report to `path`, then print its table (header, one line a row) and where it went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(header)
    for row in rows:
        print(row)
    print(f"written: {path}")


if __name__ == "__main__":
    raise SystemExit(main())
