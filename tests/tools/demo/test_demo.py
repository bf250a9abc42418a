"""`python -m ops demo` against the project's root app on the devhost (real time, no virtual clock).

The demo must finish on a fresh `./scripts/dev`: the host here is the same app folder with the same
defaults (reminder, SLA and escalation timers hours or days away, Easy Auth emulated, the local
shelter staff), started by the test. The demo signs in as the people each step needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.__main__ import main
from tools.harness import REPO_ROOT, Azurite, HostProcess, free_port, make_host


@pytest.fixture(scope="module")
def root_host(azurite: Azurite) -> Iterator[HostProcess]:
    """The root app (all three workflows) in its own containers and task hub, real time."""
    host = make_host(
        REPO_ROOT, azurite, env={"STORAGE_CONTAINER_PREFIX": f"demo{uuid.uuid4().hex[:8]}"}, easy_auth=True
    ).start()
    yield host
    host.stop()


def run_demo(*argv: str) -> subprocess.CompletedProcess[str]:
    """`python -m ops demo ...` as a user runs it, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "ops", "demo", *argv],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_runs_every_workflow_to_its_outcome_and_prints_the_audit_locations(
    root_host: HostProcess, tmp_path: Path
) -> None:
    """All three cases complete with real time; stdout names each audit URL and `ops audit` command."""
    done = run_demo("--base-url", root_host.base_url, "--run-id", "t-all")
    assert done.returncode == 0, done.stderr
    base = root_host.base_url
    for url, instance_id in (
        (f"{base}/api/maintenance-orders/t-all-order/audit", "maintenance-t-all-order"),
        (f"{base}/api/fare-disputes/t-all-dispute/audit", "fare-dispute-t-all-dispute"),
        (f"{base}/api/relief-requests/t-all-relief/audit", "relief-t-all-relief"),
    ):
        assert f"GET {url}" in done.stdout
        assert f"-m ops audit {instance_id} --base-url {base}" in done.stdout
    assert "outcome released [ok]" in done.stdout
    assert "outcome partially_refunded [ok]" in done.stdout
    assert "outcome completed [ok]" in done.stdout
    for step in (
        "POST .../approval",
        "POST .../evidence",
        "POST .../supervisor-decision",
        "POST .../changes",
    ):
        assert step in done.stderr, f"progress shows {step}"
    assert "Running · awaiting_approval · waiting for approval_decision" in done.stderr
    assert "shelter-hilltop-center=awaiting" in done.stderr, "the mid-flight change was re-planned"
    # Each step as the person it needs; the audit packets name them.
    assert "approved by Ada Approver (Maintenance.Approver)" in done.stderr
    assert "by Sam Supervisor (FareDispute.Supervisor)" in done.stderr
    assert "confirms receipt as Hilltop Center desk (local) (Relief.ShelterStaff)" in done.stderr
    assert "(sent by Ada Approver)" in done.stderr and "Sam Supervisor" in done.stderr

    # The printed `ops audit` command works as printed (it signs in as a reader first).
    [command] = [line.strip() for line in done.stdout.splitlines() if "ops audit relief-t-all-relief" in line]
    printed = json.loads(
        subprocess.run(
            ["bash", "-c", f"{command} --out {tmp_path} --json"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    assert printed["sealed"] is True and Path(printed["pdf"]).read_bytes().startswith(b"%PDF-")
    envelope = json.loads(Path(printed["packet"]).read_text())
    packet = envelope["packet"]
    assert packet["outcome"]["status"] == "Completed" and envelope["seal"]["signature"]
    assert {e["principal"]["role"] for e in packet["events"] if e["name"] == "shelter_confirmation"} == {
        "Relief.ShelterStaff"
    }
    verify = command.replace("ops audit relief-t-all-relief", f"ops audit verify {printed['packet']}")
    verified = subprocess.run(
        ["bash", "-c", verify], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert verified.returncode == 0 and "Verified" in verified.stdout, verified.stdout + verified.stderr


def test_demo_json_for_one_workflow_and_a_reused_run_id_is_refused(
    root_host: HostProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--workflow fare --json` prints one document; the same run id again is a 409 (exit 1)."""
    code = main(
        ["demo", "--base-url", root_host.base_url, "--workflow", "fare", "--run-id", "t-json", "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    [case] = document["cases"]
    assert document["ok"] is True and case["instanceId"] == "fare-dispute-t-json-dispute"
    assert case["outcome"] == "partially_refunded"
    assert case["auditUrl"] == f"{root_host.base_url}/api/fare-disputes/t-json-dispute/audit"

    code = main(["demo", "--base-url", root_host.base_url, "--workflow", "fare", "--run-id", "t-json"])
    captured = capsys.readouterr()
    assert code == 1
    assert "HTTP 409" in captured.err and "choose another --run-id" in captured.err


def test_demo_errors_unreachable_host_exit_1_bad_run_id_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening: exit 1 and how to start the app; a run id with '/' is a usage error."""
    assert main(["demo", "--base-url", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "start it with ./scripts/dev" in capsys.readouterr().err
    assert main(["demo", "--run-id", "a/b"]) == 2
    assert "Error: --run-id" in capsys.readouterr().err
