"""Regenerate recorded histories: `.venv/bin/python -m tests.tools.replay.recording [SUITE ...]`.

Starts Azurite and a devhost for the suite's app, runs every scenario of tests/tools/replay/scenarios.py
through the management API, and records each instance (with its sub-orchestrations) into the
suite's folder under tests/histories/ with `tools.replay.history_file.record_instance`, the code
behind `python -m ops replay-record`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ops.durable_client import DurableClient
from tests.support.durable_http import DurableApi
from tests.tools.replay.scenarios import REPO_ROOT, SUITES, Scenario, Suite
from tools.harness import Azurite, HostProcess, make_host
from tools.replay.history_file import record_instance


def instance_id_for(scenario: Scenario) -> str:
    """Fixed ids keep regenerated files comparable."""
    return f"replay-{Path(scenario.file).stem.replace('_', '-')}"


def run_and_record(host: HostProcess, suite: Suite, scenario: Scenario, out_dir: Path) -> list[Path]:
    """Run one scenario on a started host and record it; returns the files written."""
    api = DurableApi(host.base_url)
    instance_id = instance_id_for(scenario)
    # The input goes in as the Python client sends it: a JSON string token holding the JSON text.
    body = None if scenario.input is None else json.dumps(scenario.input)
    api.start_id(scenario.orchestrator, body, instance_id)
    if scenario.drive is not None:
        scenario.drive(api, instance_id)
    api.wait(instance_id, timeout=60, statuses=set(scenario.final_statuses))
    app_root = str(suite.app_dir.resolve().relative_to(REPO_ROOT))
    return record_instance(
        DurableClient(host.base_url), instance_id, out_dir / scenario.file, app_root=app_root
    )


def record_suite(
    suite: Suite, azurite: Azurite, out_dir: Path | None = None, only: frozenset[str] = frozenset()
) -> list[Path]:
    """Run and record the suite's scenarios (or those in `only`), one devhost per distinct set of
    settings (sandbox faults, virtual clock), each stopped afterwards."""
    target = out_dir or suite.out_dir
    chosen = [scenario for scenario in suite.scenarios if not only or scenario.file in only]
    written: list[Path] = []
    groups: dict[tuple[bool, tuple[tuple[str, str], ...]], list[Scenario]] = {}
    for scenario in chosen:
        groups.setdefault((scenario.virtual_clock, tuple(sorted(scenario.env.items()))), []).append(scenario)
    for (virtual_clock, env), scenarios in groups.items():
        settings = {"INTEGRATIONS_MODE": "sandbox", **dict(env)} if env else None
        host = make_host(suite.app_dir, azurite, virtual_clock=virtual_clock, env=settings).start()
        try:
            for scenario in scenarios:
                written += run_and_record(host, suite, scenario, target)
        finally:
            host.stop()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Record the named suites (default: all)."""
    parser = argparse.ArgumentParser(prog="python -m tests.tools.replay.recording", description=__doc__)
    parser.add_argument("suites", nargs="*", choices=sorted(SUITES), help="suites to record (default: all)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="FILE",
        help="record only this scenario file (repeatable); the suite's other files stay as they are",
    )
    args = parser.parse_args(argv)
    only = frozenset(args.only or ())
    azurite = Azurite.start()
    try:
        for name in args.suites or sorted(SUITES):
            suite = SUITES[name]
            if not only:
                for stale in suite.out_dir.glob("*.json"):
                    stale.unlink()
            for path in record_suite(suite, azurite, only=only):
                print(f"wrote {path.relative_to(REPO_ROOT)}")
    finally:
        azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
