"""Scenarios whose devhost runs are recorded as replay-check histories, one suite per app.

A scenario starts an orchestrator under a fixed instance id (so regenerated files diff cleanly),
drives it the way a user would (raise events, wait) and ends in a terminal or steady state. To add
a workflow's histories: add a suite (or scenarios) here, then run
`.venv/bin/python -m tests.ops.replay.recording <suite>`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.durable_http import DurableApi

REPO_ROOT = Path(__file__).resolve().parents[3]
HISTORIES = REPO_ROOT / "tests" / "histories"


@dataclass
class Scenario:
    """One recorded run: start `orchestrator` with `input`, drive it, record it as `file`."""

    file: str
    orchestrator: str
    input: Any = None
    drive: Callable[[DurableApi, str], None] | None = None
    final_statuses: frozenset[str] = frozenset({"Completed"})


@dataclass
class Suite:
    """The scenarios of one app folder and where their histories live."""

    app_dir: Path
    out_dir: Path
    scenarios: list[Scenario] = field(default_factory=list)


def _approve(api: DurableApi, instance_id: str) -> None:
    api.wait(instance_id, statuses={"Running"})
    response = api.raise_event(instance_id, "ApprovalEvent", {"approver": "Ada", "email": "ada@example.com"})
    assert response.status_code == 202, response.text


SAMPLES = Suite(
    app_dir=REPO_ROOT / "tests" / "devhost" / "apps" / "samples",
    out_dir=HISTORIES / "samples",
    scenarios=[
        Scenario("chaining.json", "hello_orchestrator"),
        Scenario("fan_out_fan_in.json", "backup_site_content", 4),
        Scenario("human_interaction_approved.json", "approval_workflow", {"timeoutSeconds": 60}, _approve),
        Scenario("human_interaction_timeout.json", "approval_workflow", {"timeoutSeconds": 1}),
        Scenario("sub_orchestrations.json", "provision_devices", ["x", "y"]),
        Scenario("retries.json", "flaky_work"),
        Scenario("entities.json", "counter_orchestration", "replay-counter"),
        Scenario("monitor.json", "monitor_job", {"id": "job-1", "intervalSeconds": 0.2}),
    ],
)

SUITES: dict[str, Suite] = {"samples": SAMPLES}
