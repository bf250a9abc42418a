"""`python -m ops audit` and `python -m ops replay-record` against the devhost on Azurite."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.durable_http import DurableApi
from tools.harness import HostProcess

from .conftest import APP, REFUND_REQUEST, run_json, run_ops


@pytest.fixture(scope="module")
def approved_refund(ops_host: HostProcess) -> str:
    """A refund review that retried its check twice, notified by SMS and was approved by Ada."""
    api = DurableApi(ops_host.base_url)
    instance_id = api.start_id(
        "refund_review", REFUND_REQUEST | {"claimId": uuid.uuid4().hex}, f"audit-{uuid.uuid4().hex[:8]}"
    )
    api.wait(instance_id, statuses={"Running"})
    for _ in range(200):  # the event must arrive while the approval wait is open
        status = api.status(instance_id).json()
        if (status.get("customStatus") or {}).get("stage") == "waiting for approval":
            break
        time.sleep(0.05)
    decision = {"approver": "Ada", "approverEmail": "ada@example.com", "comment": "<script>alert(1)</script>"}
    assert api.raise_event(instance_id, "ApprovalDecision", decision).status_code == 202
    assert api.wait(instance_id)["runtimeStatus"] == "Completed"
    return instance_id


def audit(
    ops_host: HostProcess, capsys: pytest.CaptureFixture[str], instance_id: str, out: Path, *extra: str
) -> dict[str, Any]:
    code, result = run_json(
        capsys, "audit", instance_id, "--base-url", ops_host.base_url, "--out", str(out), *extra
    )
    assert code == 0, result
    envelope = json.loads(Path(result["packet"]).read_text())
    assert envelope["interim"] is True and not result["sealed"], "this test app serves no sealed packets"
    packet: dict[str, Any] = envelope["packet"]
    return packet


def test_audit_packet_has_attempts_events_timers_status_and_outcome(
    ops_host: HostProcess, approved_refund: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packet = audit(ops_host, capsys, approved_refund, tmp_path)
    check = next(a for a in packet["activities"] if a["name"] == "check_claim")
    assert [a["outcome"] for a in check["attempts"]] == ["failed", "failed", "completed"]
    assert check["retried"] and "RuntimeError: claims service busy" in check["attempts"][0]["failure"]
    [event] = packet["events"]
    assert (event["name"], event["by"]) == ("ApprovalDecision", "Ada") and event["receivedAt"]
    purposes = [t["purpose"] for t in packet["timers"]]
    assert purposes.count("retry delay after 'check_claim' failed") == 2 and "timer" in purposes
    assert packet["customStatus"]["current"] == {"stage": "done"}
    assert "earlier values are not recorded" in packet["customStatus"]["note"]
    assert packet["outcome"]["status"] == "Completed"
    assert packet["outcome"]["output"]["by"] == "Ada"
    [child] = packet["subOrchestrations"]
    assert child["name"] == "notify_parties" and child["outcome"] == "completed"
    assert child["packet"]["activities"][0]["name"] == "send_sms"
    kinds = [line["kind"] for line in packet["timeline"]]
    assert kinds[0] == "started" and kinds[-1] == "finished"


def test_audit_redacts_sensitive_fields_everywhere(
    ops_host: HostProcess, approved_refund: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packet = audit(ops_host, capsys, approved_refund, tmp_path, "--redact-key", "amount")
    text = json.dumps(packet)
    for secret in ("pat@example.com", "ada@example.com", "4111 1111 1111 1111", "7700 900123"):
        assert secret not in text, secret
    assert packet["instance"]["input"]["customerEmail"] == "[redacted]"
    assert packet["instance"]["input"]["amount"] == "[redacted]", "--redact-key adds keys"
    assert packet["events"][0]["data"]["approverEmail"] == "[redacted]"
    html = (tmp_path / f"audit-{approved_refund}.html").read_text()
    assert "pat@example.com" not in html and "[redacted]" in html


def test_audit_html_is_self_contained_and_escaped(
    ops_host: HostProcess, approved_refund: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit(ops_host, capsys, approved_refund, tmp_path, "--redact-key", "nothing")
    html = (tmp_path / f"audit-{approved_refund}.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "src=" not in html
    assert "Sub-orchestration notify_parties" in html and "Check claim" in html and "3 attempts" in html
    assert "Interim snapshot" in html and "2 failed: " in html


def test_audit_of_unknown_instance_fails_cleanly(
    ops_host: HostProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_ops(
        capsys, "audit", "nope", "--base-url", ops_host.base_url, "--out", str(tmp_path / "a")
    )
    assert (code, out) == (1, "")
    assert err == f"Error: no instance with ID 'nope' on {ops_host.base_url}\n"
    assert not (tmp_path / "a").exists()


def test_recorded_instance_with_children_replays_cleanly(
    ops_host: HostProcess, approved_refund: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "histories" / "refund.json"
    code, result = run_json(
        capsys,
        "replay-record",
        "--base-url",
        ops_host.base_url,
        "--instance",
        approved_refund,
        "--out",
        str(out),
        "--app-root",
        str(APP),
    )
    assert code == 0
    assert [Path(p).name for p in result["files"]] == ["refund.json", "refund--sub5-notify_parties.json"]
    recorded = json.loads(out.read_text())
    assert recorded["appRoot"] == "tests/ops/apps/ops_app" and recorded["children"] == [
        "refund--sub5-notify_parties.json"
    ]
    code, report = run_json(capsys, "replay-check", "--histories", str(out.parent))
    assert code == 0, report
    assert len(report["histories"]) == 2
