"""`./scripts/bench`: every workload on the devhost (Azurite) and on the peer, the SDK floor, the report."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench import machine
from bench.devhost_suite import APP_DIR, DevhostRun, run_devhost_repetition, run_memory_repetition
from bench.floor import PayloadBuilder, SdkCaller, replay_memory, replay_recorded, synthetic_chain
from bench.report import evaluate_targets, markdown, ratios
from bench.stats import Metrics, summarise_runs
from bench.workloads import REGISTERED, WorkloadHost, registered
from devhost import fast_timestamps
from ops.command_line import comma_separated
from tools.harness import Azurite, make_host

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "bench" / "results"
PEER_PYTHON = REPO_ROOT / ".venv-bench" / "bin" / "python"
DEVHOST_WORKLOADS = ("chain_100", "fan_out_1000", "burst_100x3", "sched_latency", "memory_10k")
ALL_WORKLOADS = (*DEVHOST_WORKLOADS, "replay_memory", "chain_1000")
PEER_WORKLOADS = {"chain_100", "fan_out_1000", "burst_100x3", "sched_latency", "chain_1000"}
FLOOR_WORKLOADS = ("chain_100", "fan_out_1000", "chain_1000")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="./scripts/bench",
        description="Devhost benchmarks on Azurite, the durabletask peer and the SDK replay floor "
        "(docs/benchmarks.md). Writes bench/results/report.json and report.md.",
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions per workload (default 3)")
    parser.add_argument("--quick", action="store_true", help="one repetition (same as --runs 1)")
    parser.add_argument(
        "--only",
        action="extend",
        type=comma_separated,
        default=[],
        metavar="NAME",
        help="run only these workloads (repeat or comma-separate): "
        f"{', '.join(ALL_WORKLOADS)}, and the reference workflows' {', '.join(REGISTERED)}",
    )
    switches = {  # on/off options, in the order --help lists them
        "--long": "also run chain 1,000 (about 2 minutes per run)",
        "--dateutil-timestamps": "start the devhost with --dateutil-timestamps (opting out of its default "
        "fast timestamp parse) and replay the in-process SDK floor and memory without the patch too",
        "--fast-timestamps": "the default now (kept so existing scripts keep working)",
        "--no-peer": "skip the durabletask peer",
    }
    for switch, text in switches.items():
        parser.add_argument(switch, action="store_true", help=text)
    parser.add_argument("--peer-python", type=Path, default=PEER_PYTHON, help="python of the peer's venv")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where report.json/report.md go")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.runs = 1
    if arguments.runs < 1:
        parser.error("--runs must be at least 1")
    only = set(arguments.only)
    unknown = only - set(ALL_WORKLOADS) - set(REGISTERED)
    if unknown:
        parser.error(
            f"unknown workload(s) {sorted(unknown)}; choose from {', '.join((*ALL_WORKLOADS, *REGISTERED))}"
        )
    default = [name for name in ALL_WORKLOADS if name != "chain_1000" or arguments.long]
    arguments.selected = [name for name in ALL_WORKLOADS if name in only] if only else default
    # The reference-workflow workloads (bench/workloads/): all by default, else the ones named.
    arguments.workflows = [name for name in REGISTERED if name in only] if only else list(REGISTERED)
    return arguments


def run_peer(peer_python: Path, selected: set[str], runs: int, log_path: Path) -> dict[str, Any]:
    """The peer workloads in their own venv, as a subprocess that prints JSON."""
    names = sorted(selected & PEER_WORKLOADS)
    if not names:
        return {}
    if not peer_python.exists():
        raise RuntimeError(f"{peer_python} is missing: ./scripts/bench creates it (.venv-bench)")
    command = [str(peer_python), "-m", "bench.peer", "--runs", str(runs)]
    for name in names:
        command += ["--only", name]
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PYTHONPATH"] = str(REPO_ROOT)
    with log_path.open("w") as stderr:
        done = subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(
            f"peer failed ({done.returncode}); log {log_path}:\n{log_path.read_text()[-3000:]}"
        )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    selected: list[str] = arguments.selected
    facts = machine.facts()  # first, so the load average is the one at start
    log(
        f"{facts['nproc']} cores, load average {facts['loadAverageAtStart']}, "
        f"runs {arguments.runs}: {selected}"
    )
    os.environ["DURABLE_HOST"] = "devhost"  # the benchmark measures the devhost, never `func`
    os.environ.pop("AZURITE_BLOB_PORT", None)  # always a private in-memory Azurite on a free port
    artifacts = REPO_ROOT / ".artifacts"
    artifacts.mkdir(exist_ok=True)

    devhost_runs: list[DevhostRun] = []
    peer: dict[str, Any] = {}
    floor_runs: dict[str, list[Metrics]] = {}
    memory_runs: list[Metrics] = []
    workflow_results: list[dict[str, Any]] = []
    notes: list[str] = []
    extra_args: list[str] = []
    if arguments.dateutil_timestamps:
        fast_timestamps.disable()
        extra_args.append("--dateutil-timestamps")
        notes.append(
            "--dateutil-timestamps: the devhost's SDK parsed timestamps with dateutil (as on Azure), and the "
            "in-process SDK floor and memory replays did too, so the overhead compares like with like."
        )
    else:
        # The devhost's default: the SDK in its worker reads timestamps with the fast parse, so the
        # in-process floor and memory replays use the same patch.
        fast_timestamps.enable()
    sdk = SdkCaller(APP_DIR)
    builder = PayloadBuilder()
    devhost_selected = set(selected) & {*DEVHOST_WORKLOADS, "chain_1000"}
    workflows = registered(arguments.workflows)
    if devhost_selected or workflows:
        azurite = Azurite.start()
        try:
            for number in range(arguments.runs):
                if devhost_selected:
                    log(f"devhost repetition {number + 1}/{arguments.runs}")
                    run = run_devhost_repetition(azurite, devhost_selected, extra_args=extra_args, log=log)
                    devhost_runs.append(run)
                    if not arguments.no_peer and set(selected) & PEER_WORKLOADS:
                        # Interleaved with the devhost's repetitions, so both see the same load
                        # on this shared machine.
                        log(f"peer repetition {number + 1}/{arguments.runs} (subprocess in .venv-bench)")
                        one = run_peer(arguments.peer_python, set(selected), 1, artifacts / "bench-peer.log")
                        peer.setdefault("runs", []).extend(one.get("runs", []))
                        peer["versions"] = one.get("versions", {})
                    if "memory_10k" in devhost_selected:
                        run.metrics["memory_10k"] = run_memory_repetition(extra_args, log)
                    for workload in FLOOR_WORKLOADS:
                        if workload in run.histories:
                            log(f"SDK floor for the recorded {workload} history")
                            floor_runs.setdefault(workload, []).append(
                                replay_recorded(sdk, run.histories[workload], builder)
                            )
            for workflow in workflows:
                runs: list[Metrics] = []
                for number in range(arguments.runs):
                    log(f"workflow {workflow.name} repetition {number + 1}/{arguments.runs}")
                    options = dict(workflow.host_options)
                    # Own containers per repetition (ledger, sandboxes, relief stock start empty),
                    # as the task hub is its own already.
                    options["env"] = {
                        "STORAGE_CONTAINER_PREFIX": f"b{uuid.uuid4().hex[:10]}",
                        **options.get("env", {}),
                    }
                    host = make_host(workflow.app_dir, azurite, **options).start()
                    try:
                        runs.append(workflow.run(WorkloadHost(host.base_url, azurite.connection_string)))
                    finally:
                        host.stop()
                workflow_results.append(
                    {
                        "name": workflow.name,
                        "description": workflow.description,
                        "metrics": summarise_runs(runs),
                    }
                )
        finally:
            azurite.stop()

    memory_source = ""
    if "replay_memory" in selected:
        recorded = next(
            (run.histories["chain_1000"] for run in devhost_runs if "chain_1000" in run.histories), None
        )
        history = recorded if recorded is not None else synthetic_chain(1000)
        memory_source = (
            "the devhost's recorded chain 1,000 raw history"
            if recorded is not None
            else "a chain 1,000 history built with devhost.history's event builders (run with --long to use "
            "the recorded one)"
        )
        for number in range(arguments.runs):
            log(f"replay memory {number + 1}/{arguments.runs}")
            memory_runs.append(replay_memory(sdk, history, builder))

    if not arguments.no_peer and not devhost_runs:
        log("peer: durabletask in-memory backend (subprocess in .venv-bench)")
        peer = run_peer(arguments.peer_python, set(selected), arguments.runs, artifacts / "bench-peer.log")

    results: dict[str, dict[str, Any]] = {}
    for workload in selected:
        sections: dict[str, Any] = {}
        ours = [run.metrics[workload] for run in devhost_runs if workload in run.metrics]
        if ours:
            sections["devhost"] = summarise_runs(ours)
        theirs = [run[workload] for run in peer.get("runs", []) if workload in run]
        if theirs:
            sections["peer"] = summarise_runs(theirs)
        if workload in floor_runs:
            sections["sdkFloor"] = summarise_runs(floor_runs[workload])
        if workload == "replay_memory" and memory_runs:
            sections["memory"] = summarise_runs(memory_runs)
        results[workload] = sections

    metrics_keys = {
        key for run in devhost_runs for m in run.metrics.values() for key in m if key.startswith("host.")
    }
    if "host.orchestratorSeconds" not in metrics_keys and devhost_runs:
        notes.append(
            "The devhost's /admin/metrics has no orchestratorSeconds/episodes yet: host overhead is measured "
            "in-process only (the devhost's own payload builder and action replay on the recorded histories)."
        )
    notes += [
        "Wall times are taken by the client: start request → first status poll that sees Completed "
        "(polls every 5 ms). Storage operations are the devhost's own counter, read before and after.",
        "Scheduling latency, devhost: TaskScheduled Timestamp (the episode's start, before the SDK replay "
        "and the log append) → time.time() on the activity's first line; 50 single-activity orchestrations "
        "one after another. Peer: time.time() when the orchestrator yields the activity (after its replay; "
        "the in-memory backend stamps no TaskScheduled time) → the activity's first line.",
        "Host overhead: each recorded history is cut at every OrchestratorStarted and replayed in-process; "
        "the SDK's handle() is the floor, the host part is payload building, state parsing, the action "
        "replay and caching the new events' JSON. Storage and HTTP are counted separately (storage ops).",
        "The peer persists nothing (in-memory backend): an upper bound for a Python worker and backend. "
        "Its repetitions run interleaved with the devhost's (devhost repetition, then peer repetition), "
        "so each pair sees the same load on this shared machine.",
        "This machine is shared: compare the load average at start before comparing runs.",
    ]
    if workflow_results:
        notes.append(
            "Reference workflows: driven through the app's own HTTP API (tools/clients.py); all "
            "instances started at once from 8 client threads; latency = start request → the first poll (one "
            "management query for the whole batch every 0.2 s) that sees the instance Completed; events are "
            "posted as soon as a poll shows the instance waiting. Each repetition has its own devhost, task "
            "hub and containers."
        )
    report = {
        "machine": facts,
        "settings": {
            "runs": arguments.runs,
            "selected": selected,
            "workflows": arguments.workflows,
            "long": arguments.long,
            "fastTimestamps": not arguments.dateutil_timestamps,
        },
        "results": results,
        "targets": evaluate_targets(results),
        "ratios": ratios(results),
        "peer": {"versions": peer.get("versions", {})},
        "workflows": workflow_results,
        "payloadBuilder": builder.method,
        "memoryHistorySource": memory_source,
        "notes": notes,
    }
    arguments.output.mkdir(parents=True, exist_ok=True)
    (arguments.output / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (arguments.output / "report.md").write_text(text)
    print(text)
    log(f"wrote {arguments.output / 'report.json'} and {arguments.output / 'report.md'}")
    return 0
