"""The report: targets met or missed (with the measured context), our/peer ratios, SDK floor, memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Summaries = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Target:
    """One goal of issue 10, checked on the median of the runs."""

    key: str
    title: str
    source: tuple[str, str, str]  # (workload, section, metric)
    limit: float
    at_most: bool
    unit: str  # "s", "ms", "x", "%", "/s", ""

    def met(self, value: float) -> bool:
        return value <= self.limit if self.at_most else value >= self.limit

    def describe(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {fmt(self.limit, self.unit)}"


TARGETS = (
    Target(
        "chain_100", "chain 100, start → Completed", ("chain_100", "devhost", "wallSeconds"), 1.5, True, "s"
    ),
    Target(
        "fan_out_1000", "fan-out/fan-in 1,000", ("fan_out_1000", "devhost", "wallSeconds"), 5.0, True, "s"
    ),
    Target(
        "fan_out_storage",
        "fan-out 1,000: storage ops per activity",
        ("fan_out_1000", "devhost", "storageOpsPerActivity"),
        3.0,
        True,
        "",
    ),
    Target(
        "burst",
        "burst 100 × 3, started at once",
        ("burst_100x3", "devhost", "orchestrationsPerSecond"),
        35.0,
        False,
        "/s",
    ),
    Target(
        "latency",
        "scheduling latency p50, idle host",
        ("sched_latency", "devhost", "p50Seconds"),
        0.010,
        True,
        "ms",
    ),
    Target(
        "overhead_chain",
        "host overhead over the SDK floor, chain 100",
        ("chain_100", "sdkFloor", "hostOverhead"),
        0.25,
        True,
        "%",
    ),
    Target(
        "overhead_fan_out",
        "host overhead over the SDK floor, fan-out 1,000",
        ("fan_out_1000", "sdkFloor", "hostOverhead"),
        0.25,
        True,
        "%",
    ),
    Target(
        "memory",
        "replay memory vs the SDK's own (chain 1,000)",
        ("replay_memory", "memory", "ratio"),
        2.0,
        True,
        "x",
    ),
    Target(
        "memory_10k",
        "host memory growth across 10,000 completed instances (after 1,000 → after 10,000)",
        ("memory_10k", "devhost", "hostRssGrowth"),
        0.10,
        True,
        "%",
    ),
)


@dataclass(frozen=True)
class PeerTarget:
    """A goal relative to the peer in the same run (issue 19): devhost/peer of one metric's medians."""

    key: str
    title: str
    workload: str
    metric: str
    factor: float
    at_most: bool  # devhost/peer ≤ factor (times), else ≥ factor (rates)
    strict: bool = False  # "still ahead": strictly below the factor
    devhost_metric: str = ""  # when the devhost's like-for-like metric has another name

    def met(self, ratio: float) -> bool:
        if self.at_most:
            return ratio < self.factor if self.strict else ratio <= self.factor
        return ratio >= self.factor

    def describe(self) -> str:
        sign = ("<" if self.strict else "≤") if self.at_most else "≥"
        return f"devhost/peer {sign} {self.factor:g}"


PEER_TARGETS = (
    PeerTarget("chain_vs_peer", "chain 100 vs the peer", "chain_100", "wallSeconds", 2.0, True),
    PeerTarget(
        "burst_vs_peer", "burst 100 × 3 vs the peer", "burst_100x3", "orchestrationsPerSecond", 1.0, False
    ),
    PeerTarget(
        "latency_vs_peer",
        "scheduling latency p50 vs the peer (both: the orchestrator yields → the activity's first line)",
        "sched_latency",
        "p50Seconds",
        1.5,
        True,
        devhost_metric="p50FromYieldSeconds",
    ),
    PeerTarget(
        "fan_out_vs_peer",
        "fan-out 1,000 vs the peer (still ahead)",
        "fan_out_1000",
        "wallSeconds",
        1.0,
        True,
        True,
    ),
)

# (workload, metric, label, higher is better)
RATIOS = (
    ("chain_100", "wallSeconds", "chain 100 wall time", False),
    ("fan_out_1000", "wallSeconds", "fan-out 1,000 wall time", False),
    ("burst_100x3", "orchestrationsPerSecond", "burst 100 × 3 orchestrations/s", True),
    ("sched_latency", "p50Seconds", "scheduling latency p50", False),
    ("sched_latency", "p95Seconds", "scheduling latency p95", False),
    ("chain_1000", "wallSeconds", "chain 1,000 wall time", False),
)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "ms":
        return f"{value * 1000:.1f} ms"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "x":
        return f"{value:.2f}×"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "/s":
        return f"{value:.1f}/s"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def _get(
    results: dict[str, dict[str, Summaries]], workload: str, section: str, metric: str
) -> dict[str, Any] | None:
    return results.get(workload, {}).get(section, {}).get(metric)


def _median(
    results: dict[str, dict[str, Summaries]], workload: str, section: str, metric: str
) -> float | None:
    found = _get(results, workload, section, metric)
    return None if found is None else float(found["median"])


def _context(target: Target, results: dict[str, dict[str, Summaries]]) -> str:
    """The measured facts that explain the figure (shown for every row, met or missed)."""

    def m(workload: str, section: str, metric: str) -> float | None:
        return _median(results, workload, section, metric)

    parts: list[str] = []
    workload = target.source[0]
    if target.key in {"chain_100", "fan_out_1000", "fan_out_storage", "burst"}:
        wall = m(workload, "devhost", "wallSeconds")
        floor = m(workload, "sdkFloor", "sdkSeconds")
        in_host_sdk = m(workload, "devhost", "host.orchestratorSeconds")
        ops = m(workload, "devhost", "storageOps")
        per_activity = m(workload, "devhost", "storageOpsPerActivity")
        if floor is not None and wall:
            parts.append(f"SDK floor {fmt(floor, 's')} ({floor / wall:.0%} of wall)")
        if in_host_sdk is not None and wall:
            parts.append(
                f"SDK time inside the devhost {fmt(in_host_sdk, 's')} ({in_host_sdk / wall:.0%} of wall)"
            )
        if ops is not None and per_activity is not None:
            parts.append(f"{ops:.0f} storage ops ({per_activity:.2f}/activity)")
        if ops is not None and wall:
            parts.append(f"{ops / wall:.0f} storage ops/s")
        episodes = m(workload, "devhost", "host.episodes")
        if target.key == "chain_100" and wall and in_host_sdk is not None and episodes:
            parts.append(
                f"per step {fmt(wall / 100, 'ms')} of which SDK {fmt(in_host_sdk / episodes, 'ms')} "
                "(the rest is the schedule → start → complete → next episode path: see the latency row)"
            )
        peer = m(workload, "peer", target.source[2])
        if peer is not None:
            parts.append(f"peer {fmt(peer, target.unit or 's')}")
    elif target.key == "latency":
        p95 = m(workload, "devhost", "p95Seconds")
        peer = m(workload, "peer", "p50Seconds")
        parts.append(f"p95 {fmt(p95, 'ms')}")
        sdk_episode = m(workload, "devhost", "sdkSecondsPerEpisode")
        if sdk_episode is not None:
            parts.append(f"SDK time per episode inside the devhost {fmt(sdk_episode, 'ms')}")
        ops = m(workload, "devhost", "storageOpsPerOrchestration")
        if ops is not None:
            parts.append(f"{ops:.1f} storage ops per orchestration (at ~2 ms each sequentially, note §4)")
        if peer is not None:
            parts.append(f"peer p50 {fmt(peer, 'ms')}")
    elif target.key.startswith("overhead"):
        sdk = m(workload, "sdkFloor", "sdkSeconds")
        host = m(workload, "sdkFloor", "hostSeconds")
        episodes = m(workload, "sdkFloor", "episodes")
        if sdk is not None and host is not None and episodes:
            parts.append(
                f"host {host * 1000:.1f} ms vs SDK {sdk * 1000:.1f} ms over {episodes:.0f} replays "
                f"({host / episodes * 1e6:.0f} µs vs {sdk / episodes * 1e6:.0f} µs per replay)"
            )
        in_host_sdk = m(workload, "devhost", "host.orchestratorSeconds")
        if in_host_sdk is not None and sdk:
            parts.append(
                f"SDK time measured inside the devhost: {in_host_sdk / sdk:.2f}× the in-process floor"
            )
    elif target.key == "memory_10k":
        after = m(workload, "devhost", "hostRssAfterWarmupMiB")
        end = m(workload, "devhost", "hostRssAtEndMiB")
        peak = m(workload, "devhost", "hostRssPeakGrowth")
        worker = m(workload, "devhost", "workerRssGrowth")
        if after is not None and end is not None:
            parts.append(f"host RSS {after:.1f} MiB after 1,000 → {end:.1f} MiB after 10,000")
        if peak is not None:
            parts.append(f"peak growth {peak:.1%}")
        if worker is not None:
            parts.append(f"worker RSS growth {worker:.1%}")
    elif target.key == "memory":
        sdk = m("replay_memory", "memory", "sdkKiBPerEvent")
        host = m("replay_memory", "memory", "hostKiBPerEvent")
        payload = m("replay_memory", "memory", "payloadKiB")
        if sdk is not None and host is not None:
            parts.append(f"{host:.2f} KiB/event vs SDK {sdk:.2f} KiB/event")
        if payload is not None:
            parts.append(f"payload string {payload:.0f} KiB")
    return "; ".join(parts)


def _peer_rows(results: dict[str, dict[str, Summaries]]) -> list[dict[str, Any]]:
    rows = []
    for target in PEER_TARGETS:
        ours = _median(results, target.workload, "devhost", target.devhost_metric or target.metric)
        peer = _median(results, target.workload, "peer", target.metric)
        ratio = None if ours is None or not peer else ours / peer
        unit = "ms" if target.metric.startswith("p") else ("/s" if "PerSecond" in target.metric else "s")
        rows.append(
            {
                "key": target.key,
                "title": target.title,
                "target": target.describe(),
                "metric": f"{target.workload}.devhost/peer.{target.metric}",
                "median": ratio,
                "min": ratio,
                "max": ratio,
                "unit": "x",
                "met": None if ratio is None else target.met(ratio),
                "context": (
                    f"devhost {fmt(ours, unit)} vs peer {fmt(peer, unit)} (medians, same run)"
                    if ratio is not None
                    else "not measured in this run"
                ),
            }
        )
    return rows


def evaluate_targets(results: dict[str, dict[str, Summaries]]) -> list[dict[str, Any]]:
    rows = []
    for target in TARGETS:
        found = _get(results, *target.source)
        value = None if found is None else float(found["median"])
        rows.append(
            {
                "key": target.key,
                "title": target.title,
                "target": target.describe(),
                "metric": ".".join(target.source),
                "median": value,
                "min": None if found is None else found["min"],
                "max": None if found is None else found["max"],
                "unit": target.unit,
                "met": None if value is None else target.met(value),
                "context": _context(target, results) if value is not None else "not measured in this run",
            }
        )
    return rows + _peer_rows(results)


def ratios(results: dict[str, dict[str, Summaries]]) -> list[dict[str, Any]]:
    rows = []
    for workload, metric, label, higher_better in RATIOS:
        ours = _median(results, workload, "devhost", metric)
        peer = _median(results, workload, "peer", metric)
        if ours is None or peer is None or peer == 0:
            continue
        rows.append(
            {
                "workload": workload,
                "metric": metric,
                "label": label,
                "ours": ours,
                "peer": peer,
                "oursOverPeer": ours / peer,
                "higherIsBetter": higher_better,
            }
        )
    return rows


def _range(summary: dict[str, Any] | None, unit: str) -> str:
    if summary is None:
        return "–"
    if summary["runs"] == 1:
        return fmt(summary["median"], unit)
    return f"{fmt(summary['median'], unit)} ({fmt(summary['min'], unit)} – {fmt(summary['max'], unit)})"


def _unit_of(metric: str) -> str:
    if metric.endswith("PerEpisode") or (metric.endswith("Seconds") and metric.startswith(("p", "max"))):
        return "ms"
    if metric.endswith("Seconds"):
        return "s"
    if metric.endswith("PerSecond"):
        return "/s"
    if metric in {"hostOverhead"}:
        return "%"
    if metric == "ratio":
        return "x"
    return ""


def markdown(report: dict[str, Any]) -> str:
    results: dict[str, dict[str, Summaries]] = report["results"]
    machine = report["machine"]
    settings = report["settings"]
    lines = [
        "# Benchmark report (issue 10)",
        "",
        f"{machine['date']} · {machine['nproc']} cores · load average at start "
        f"{' / '.join(str(v) for v in machine['loadAverageAtStart'])} · Python {machine['python']} · "
        f"azure-functions-durable {machine['azure-functions-durable']} · azure-functions "
        f"{machine['azure-functions']} · azure-storage-blob {machine['azure-storage-blob']} · "
        f"Azurite {machine['azurite']} (in-memory, loopback) on Node {machine['node']} · peer durabletask "
        f"{report['peer'].get('versions', {}).get('durabletask', '–')} (grpcio "
        f"{report['peer'].get('versions', {}).get('grpcio', '–')}) · commit {machine['gitCommit']}",
        "",
        f"Runs: {settings['runs']} (median, then min – max in brackets) · selection: "
        f"{', '.join([*settings['selected'], *settings.get('workflows', [])])}"
        + (
            " · default flags (fast timestamp parse)"
            if settings.get("fastTimestamps", True)
            else " · devhost --dateutil-timestamps (opt-out of the fast parse)"
        ),
        "",
        "## Targets",
        "",
        "| target | goal | median (min – max) | | measured context |",
        "|---|---|---|---|---|",
    ]
    for row in report["targets"]:
        verdict = "not run" if row["met"] is None else ("met" if row["met"] else "**missed**")
        summary = None if row["median"] is None else {k: row[k] for k in ("median", "min", "max")}
        if summary is not None:
            summary["runs"] = settings["runs"]
        lines.append(
            f"| {row['title']} | {row['target']} | {_range(summary, row['unit'])} | {verdict} | "
            f"{row['context']} |"
        )
    lines += ["", "## Devhost vs peer (durabletask, in-memory backend)", ""]
    if report["ratios"]:
        lines += ["| workload | devhost | peer | devhost/peer | better is |", "|---|---|---|---|---|"]
        for row in report["ratios"]:
            unit = _unit_of(row["metric"])
            ours = _get(results, row["workload"], "devhost", row["metric"])
            peer = _get(results, row["workload"], "peer", row["metric"])
            lines.append(
                f"| {row['label']} | {_range(ours, unit)} | {_range(peer, unit)} | "
                f"{row['oursOverPeer']:.2f} | {'higher' if row['higherIsBetter'] else 'lower'} |"
            )
    else:
        lines.append("No peer figures in this run.")
    lines += [
        "",
        "## All devhost and peer metrics",
        "",
        "| workload | engine | metric | median (min – max) |",
    ]
    lines.append("|---|---|---|---|")
    for workload, sections in results.items():
        for section in ("devhost", "peer"):
            for metric, summary in sections.get(section, {}).items():
                lines.append(f"| {workload} | {section} | {metric} | {_range(summary, _unit_of(metric))} |")
    lines += [
        "",
        "## SDK replay floor and host overhead (the run's exact histories, replayed in-process)",
        "",
        "| workload | replays | events replayed | SDK | µs/event | host (excl. SDK) | overhead |",
        "|---|---|---|---|---|---|---|",
    ]
    for workload, sections in results.items():
        floor: Summaries | None = sections.get("sdkFloor")
        if not floor:
            continue

        def value(metric: str, unit: str, floor: Summaries = floor) -> str:
            return _range(floor.get(metric), unit)

        lines.append(
            f"| {workload} | {value('episodes', '')} | {value('eventsReplayed', '')} | "
            f"{value('sdkSeconds', 's')} | {value('sdkMicrosPerEvent', '')} | {value('hostSeconds', 's')} | "
            f"{value('hostOverhead', '%')} |"
        )
    lines.append("")
    lines.append(f"Payload builder used: {report.get('payloadBuilder', '–')}.")
    memory = results.get("replay_memory", {}).get("memory")
    lines += ["", "## Replay memory (tracemalloc peak, last replay of a chain 1,000 history)", ""]
    if memory:
        for metric, label, unit in (
            ("events", "events in the payload", ""),
            ("payloadKiB", "payload string KiB", ""),
            ("sdkPeakKiB", "SDK alone: peak KiB", ""),
            ("sdkKiBPerEvent", "SDK alone: KiB/event", ""),
            ("hostPeakKiB", "payload building + SDK: peak KiB", ""),
            ("hostKiBPerEvent", "payload building + SDK: KiB/event", ""),
            ("ratio", "ratio", "x"),
            ("residentHistoryKiBPerEvent", "resident history (event dicts + cached JSON), KiB/event", ""),
        ):
            lines.append(f"- {label}: {_range(memory.get(metric), unit)}")
        lines.append(f"- history source: {report.get('memoryHistorySource', '–')}")
    else:
        lines.append("Not measured in this run.")
    lines += ["", "## Reference workflows", ""]
    if report["workflows"]:
        for workflow in report["workflows"]:
            lines.append(f"### {workflow['name']}: {workflow['description']}")
            for metric, summary in workflow["metrics"].items():
                lines.append(f"- {metric}: {_range(summary, _unit_of(metric))}")
    else:
        lines.append(
            "Not run in this run: select them with --only (bench/workloads/ lists them and explains how to "
            "add one)."
        )
    if report.get("notes"):
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"
