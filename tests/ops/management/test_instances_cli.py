"""`python -m ops instances ...` against the devhost on Azurite: reads, guarded writes, clear errors."""

from __future__ import annotations

import uuid

import pytest

from ops import instances
from tests.support.durable_http import DurableApi
from tools.harness import HostProcess, free_port

from .conftest import run_json, run_ops


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def waiting_for_go(api: DurableApi, prefix: str) -> str:
    """A new `wait_for_go` instance (id from `prefix`), once it runs: it waits for its Go event."""
    instance_id = api.start_id("wait_for_go", None, unique(prefix))
    api.wait(instance_id, statuses={"Running"})
    return instance_id


def test_list_filters_by_prefix_and_status_and_follows_every_page(
    ops_host: HostProcess, api: DurableApi, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = unique("list")
    ids = [api.start_id("wait_for_go", None, f"{prefix}-{n}") for n in range(3)]
    for instance_id in ids:
        api.wait(instance_id, statuses={"Running"})
    base = ("instances", "list", "--base-url", ops_host.base_url, "--prefix", prefix)
    code, first_page = run_json(capsys, *base, "--top", "2")
    assert code == 0 and first_page["count"] == 2
    code, every_page = run_json(capsys, *base, "--top", "2", "--all", "--status", "Running")
    assert code == 0
    assert sorted(i["instanceId"] for i in every_page["instances"]) == sorted(ids)
    code, none = run_json(capsys, *base, "--status", "Completed,Failed")
    assert (code, none["count"]) == (0, 0)
    code, out, _ = run_ops(capsys, *base)
    assert code == 0 and out.splitlines()[0].split() == ["INSTANCE", "NAME", "STATUS", "CREATED", "UPDATED"]
    assert f"{prefix}-0  wait_for_go  Running" in out


def test_status_and_history_are_read_only_views(
    ops_host: HostProcess, api: DurableApi, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id = api.start_id("fails_once", None, unique("status"))
    api.wait(instance_id)
    code, status = run_json(capsys, "instances", "status", instance_id, "--base-url", ops_host.base_url)
    assert code == 0 and status["runtimeStatus"] == "Failed"
    code, out, _ = run_ops(capsys, "instances", "history", instance_id, "--base-url", ops_host.base_url)
    assert code == 0
    assert "TaskFailed" in out and "flaky_step" in out and "ExecutionCompleted" in out


def test_unknown_id_is_an_error_naming_the_id(
    ops_host: HostProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_ops(capsys, "instances", "status", "no-such-id", "--base-url", ops_host.base_url)
    assert (code, out) == (1, "")
    assert err == f"Error: no instance with ID 'no-such-id' on {ops_host.base_url}\n"
    code, _, err = run_ops(
        capsys, "instances", "terminate", "no-such-id", "--yes", "--base-url", ops_host.base_url
    )
    assert code == 1 and "no instance with ID 'no-such-id'" in err


def test_unreachable_host_says_how_to_start_the_app(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run_ops(capsys, "instances", "list", "--base-url", url)
    assert code == 1
    assert err == f"Error: cannot reach {url} — is the app running? start it with ./scripts/dev\n"


def test_usage_errors_exit_2(ops_host: HostProcess, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_ops(
        capsys, "instances", "list", "--status", "Sleeping", "--base-url", ops_host.base_url
    )
    assert code == 2 and "Error: --status Sleeping is not one of" in err
    code, _, err = run_ops(
        capsys, "instances", "list", "--created-from", "yesterday", "--base-url", ops_host.base_url
    )
    assert code == 2 and "--created-from 'yesterday' is not an ISO-8601 time" in err
    with pytest.raises(SystemExit) as exit_info:
        run_ops(capsys, "instances", "suspend")
    assert exit_info.value.code == 2


def test_mutating_command_prints_plan_and_asks_first(
    ops_host: HostProcess,
    api: DurableApi,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance_id = waiting_for_go(api, "ask")
    argv = [
        "instances",
        "raise-event",
        instance_id,
        "Go",
        "--data",
        '{"n": 1}',
        "--base-url",
        ops_host.base_url,
    ]
    # Not a terminal and no --yes: refuse as a usage error, change nothing.
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, out, err = run_ops(capsys, *argv)
    assert code == 2 and "pass --yes" in err
    assert (
        f"Plan: raise event 'Go' with data {{\"n\": 1}} on instance '{instance_id}' (wait_for_go, Running)"
        in out
    )
    # Declined at the prompt.
    monkeypatch.setattr(instances, "prompt", lambda question: False)
    code, _, err = run_ops(capsys, *argv)
    assert code == 1 and "Aborted; nothing was changed." in err
    assert api.status(instance_id).json()["runtimeStatus"] == "Running"
    # Confirmed with --yes.
    code, result = run_json(capsys, *argv, "--yes")
    assert code == 0 and result["ok"] and result["operation"] == "raise-event"
    assert api.wait(instance_id)["output"] == {"received": {"n": 1}}


def test_suspend_resume_terminate(
    ops_host: HostProcess, api: DurableApi, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id = waiting_for_go(api, "life")
    common = ("--yes", "--base-url", ops_host.base_url)
    assert run_ops(capsys, "instances", "suspend", instance_id, "--reason", "maintenance", *common)[0] == 0
    api.wait(instance_id, statuses={"Suspended"})
    code, out, _ = run_ops(capsys, "instances", "suspend", instance_id, *common)
    assert code == 0 and "already suspended; nothing to do" in out
    assert run_ops(capsys, "instances", "resume", instance_id, *common)[0] == 0
    api.wait(instance_id, statuses={"Running"})
    assert run_ops(capsys, "instances", "terminate", instance_id, "--reason", "test", *common)[0] == 0
    assert api.wait(instance_id)["runtimeStatus"] == "Terminated"
    code, out, _ = run_ops(capsys, "instances", "terminate", instance_id, *common)
    assert code == 0 and "has finished; nothing to terminate" in out


def test_purge_and_restart_refuse_running_instances_without_force(
    ops_host: HostProcess, api: DurableApi, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id = waiting_for_go(api, "guard")
    common = ("--yes", "--base-url", ops_host.base_url)
    code, _, err = run_ops(capsys, "instances", "purge", instance_id, *common)
    assert code == 1
    assert f"instance '{instance_id}' (wait_for_go, Running) is still active" in err and "--force" in err
    code, _, err = run_ops(capsys, "instances", "restart", instance_id, *common)
    assert code == 1 and "is still active" in err
    assert api.status(instance_id).json()["runtimeStatus"] == "Running"
    # Finished instances: restart gives a new id, purge deletes.
    api.raise_event(instance_id, "Go", "x")
    api.wait(instance_id)
    code, restarted = run_json(capsys, "instances", "restart", instance_id, *common)
    assert code == 0 and restarted["result"]["id"] != instance_id
    # This test app serves no audit packets: purge refuses until told to go without one.
    code, _, err = run_ops(capsys, "instances", "purge", instance_id, *common)
    assert code == 1 and "has no sealed audit packet" in err and "ops audit seal" in err
    assert api.status(instance_id).status_code == 200
    code, purged = run_json(capsys, "instances", "purge", instance_id, *common, "--without-audit-packet")
    assert code == 0 and purged["result"] == {"instancesDeleted": 1}
    assert api.status(instance_id).status_code == 404


def test_rewind_retries_a_failed_instance(
    ops_host: HostProcess, api: DurableApi, capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id = api.start_id("fails_once", None, unique("rewind"))
    assert api.wait(instance_id)["runtimeStatus"] == "Failed"
    assert (
        run_ops(capsys, "instances", "rewind", instance_id, "--yes", "--base-url", ops_host.base_url)[0] == 0
    )
    assert api.wait(instance_id, statuses={"Completed"})["output"] == "ok"
    code, _, err = run_ops(
        capsys, "instances", "rewind", instance_id, "--yes", "--base-url", ops_host.base_url
    )
    assert code == 1 and "rewind applies to Failed instances only" in err
