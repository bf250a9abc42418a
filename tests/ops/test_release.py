"""Release against recorded az output: the gates refuse what they must, the happy path swaps, and
the app-settings list is never replaced as a whole."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ops import release
from ops.release import Release, ReleaseOptions, ReleaseRefusedError, bundle_supports_versioning
from tests.ops.fake_az import FakeAz, load

RG = "rg-wflows-prod"
APP = "func-wflows-prod-k3x9qa"
SUBSCRIPTION = "8f1e2d3c-4b5a-4c6d-9e8f-0a1b2c3d4e5f"
INSTANCES = "rest get /runtime/webhooks/durabletask/instances"
OK_COMMAND = (sys.executable, "-c", "import sys; sys.exit(0)")
FAIL_COMMAND = (
    sys.executable,
    "-c",
    "import sys; print('history maintenance_order_approval: non-deterministic'); sys.exit(3)",
)


def write_zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, b"")
    return path


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """The shape of `python -m ops package`'s output (the real build: tests/deploy_package)."""
    names = ["function_app.py", "host.json", ".python_packages/lib/site-packages/azure/functions/__init__.py"]
    return write_zip(tmp_path / "app.zip", names)


@pytest.fixture
def host_json(tmp_path: Path) -> Path:
    path = tmp_path / "host.json"
    path.write_text(
        json.dumps(
            {
                "version": "2.0",
                "extensionBundle": {
                    "id": "Microsoft.Azure.Functions.ExtensionBundle",
                    "version": "[4.30.0, 5.0.0)",
                },
                "extensions": {"durableTask": {"hubName": "%TASKHUB_NAME%", "defaultVersion": "2"}},
            }
        )
    )
    return path


def make(
    fake: FakeAz,
    package: Path | None,
    host_json: Path,
    *,
    answers: Sequence[bool] = (),
    dry_run: bool = False,
    **options: Any,
) -> tuple[Release, list[str]]:
    asked: list[str] = []
    replies = iter(answers)

    def confirm(question: str) -> bool:
        asked.append(question)
        return next(replies, False)

    values: dict[str, Any] = {
        "resource_group": RG,
        "app": APP,
        "package": package,
        "subscription": SUBSCRIPTION,
        "replay_check_command": OK_COMMAND,
        "host_json": host_json,
        "yes": not answers,
        "dry_run": dry_run,
        "drain_poll": 0.0,
    }
    values.update(options)
    rel = Release(
        ReleaseOptions(**values), fake.cli(dry_run=dry_run), confirm, out=io.StringIO(), sleep=lambda _: None
    )
    return rel, asked


def test_happy_path_deploys_then_swaps(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    rel, _ = make(fake, package, host_json)
    rel.run()
    keys = fake.keys_called()
    order = [
        "deployment group what-if",
        "deployment group create",
        "storage blob upload",
        "functionapp config appsettings set --slot staging",
        INSTANCES,
        "functionapp deployment slot swap --slot staging",
    ]
    positions = [keys.index(k) for k in order]
    assert positions == sorted(positions)
    assert [s["step"] for s in rel.log.steps if s["status"] == "ok"][-2:] == ["swap", "post-swap preflight"]
    create = next(c for c in fake.calls if c[:3] == ["deployment", "group", "create"])
    assert create[create.index("--mode") + 1] == "Incremental"


def test_app_settings_are_merged_never_replaced(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    make(fake, package, host_json)[0].run()
    sets = [c for c in fake.calls if c[:4] == ["functionapp", "config", "appsettings", "set"]]
    assert len(sets) == 1
    assert [a for a in sets[0] if a.startswith("WEBSITE_RUN_FROM_PACKAGE=")] == [
        f"WEBSITE_RUN_FROM_PACKAGE=https://stwflowsk3x9qa7m2c4.blob.core.windows.net/app-package/"
        f"{release.package_blob_name(APP, package)}"
    ]
    assert sets[0][sets[0].index("--slot") + 1] == "staging"
    for call in fake.calls:
        assert "delete" not in call[:5], call
        if call[0] == "rest":
            assert call[call.index("--method") + 1] in ("get", "post"), call
            assert not call[call.index("--url") + 1].split("?")[0].endswith("/config/appsettings"), call


def test_package_name_is_content_addressed(package: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.zip"
    other.write_bytes(b"different")
    assert release.package_blob_name(APP, package) != release.package_blob_name(APP, other)
    assert release.package_blob_name(APP, package) == release.package_blob_name(APP, package)


def test_wrong_subscription_refused_before_any_change(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    rel, _ = make(fake, package, host_json, subscription="Some Other Subscription")
    with pytest.raises(ReleaseRefusedError, match="az account set"):
        rel.run()
    assert fake.keys_called() == ["account show"]


def test_what_if_delete_is_refused(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    fake.stdout("deployment group what-if")["changes"][3]["changeType"] = "Delete"
    rel, _ = make(fake, package, host_json)
    with pytest.raises(ReleaseRefusedError, match="DELETE"):
        rel.run()
    assert "deployment group create" not in fake.keys_called()


def test_what_if_modifies_on_settings_are_shown_for_review(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    rel, _ = make(fake, package, host_json)
    rel.run()
    review = next(s for s in rel.log.steps if s["step"] == "what-if")["review"]
    assert len(review) == 2 and all(r.endswith("/config/appsettings") for r in review)
    assert isinstance(rel.out, io.StringIO)
    assert "review (restarts the app" in rel.out.getvalue()


def test_each_mutating_step_asks_and_no_stops(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    rel, asked = make(fake, package, host_json, answers=[True, True, False])
    with pytest.raises(ReleaseRefusedError, match="swap: not confirmed"):
        rel.run()
    assert len(asked) == 3
    assert "PRODUCTION" in asked[-1]
    assert "functionapp deployment slot swap --slot staging" not in fake.keys_called()


def test_first_no_stops_before_infra(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    rel, _ = make(fake, package, host_json, answers=[False])
    with pytest.raises(ReleaseRefusedError, match="infra: not confirmed"):
        rel.run()
    assert "deployment group create" not in fake.keys_called()


def test_missing_deployment_outputs_refused(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    del fake.stdout("deployment group create")["properties"]["outputs"]["PACKAGE_CONTAINER_NAME"]
    rel, _ = make(fake, package, host_json)
    with pytest.raises(ReleaseRefusedError, match="PACKAGE_CONTAINER_NAME"):
        rel.run()


def test_skip_infra_reads_last_deployment(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    make(fake, package, host_json, skip_infra=True)[0].run()
    keys = fake.keys_called()
    assert "deployment group show" in keys
    assert "deployment group what-if" not in keys and "deployment group create" not in keys


def test_failed_preflight_refuses_before_the_instance_check(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    fake.stdout("storage account show")["allowSharedKeyAccess"] = True
    rel, _ = make(fake, package, host_json)
    with pytest.raises(ReleaseRefusedError, match="preflight failed"):
        rel.run()
    assert INSTANCES not in fake.keys_called()


def test_active_instances_refuse_the_swap(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    fake.use("durable_instances_active")
    rel, _ = make(fake, package, host_json)
    with pytest.raises(ReleaseRefusedError, match="1 Pending, 1 Running, 1 Suspended") as refusal:
        rel.run()
    assert "--drain" in str(refusal.value) and "--versioning" in str(refusal.value)
    assert "functionapp deployment slot swap --slot staging" not in fake.keys_called()


def test_instance_query_sends_the_key_as_a_header_from_a_private_file(package: Path, host_json: Path) -> None:
    """Neither in the URL nor on az's command line: az reads the header from a 0600 file (`@file`)."""
    fake = FakeAz.healthy()
    seen: list[tuple[dict[str, str], int]] = []

    def read_headers_file(args: Sequence[str]) -> bool:
        if "--headers" in args and "durabletask/instances" in " ".join(args):
            headers = Path(args[list(args).index("--headers") + 1].removeprefix("@"))
            seen.append((json.loads(headers.read_text()), headers.stat().st_mode & 0o777))
        return False

    fake.routes.append((read_headers_file, {}))
    rel, _ = make(fake, package, host_json)
    rel.run()
    query = next(c for c in fake.calls if c[0] == "rest" and "durabletask/instances" in " ".join(c))
    url = query[query.index("--url") + 1]
    assert "runtimeStatus=Running,Pending,Suspended" in url and "taskHub=wfprod" in url
    key = load("functionapp_keys")["stdout"]["systemKeys"]["durabletask_extension"]
    assert key not in url and "code=" not in url, "no credential in the URL"
    assert not any(key in argument for call in fake.calls for argument in call), "no key on a command line"
    # An Entra token for the app registration gets past App Service Authentication; the key is a header.
    assert query[query.index("--resource") + 1] == "api://3f9a1c2e-7b4d-4e8a-9c1f-5d6e7f8a9b0c"
    assert seen == [({"x-functions-key": key}, 0o600)]
    assert not Path(query[query.index("--headers") + 1].removeprefix("@")).exists(), "deleted after use"
    assert "--skip-authorization-header" not in query


def test_drain_waits_until_the_hub_is_empty(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    fake.answer_in_turn("durable_instances_active", "durable_instances_active", "durable_instances_none")
    rel, _ = make(fake, package, host_json, drain=True)
    rel.run()
    assert fake.keys_called().count(INSTANCES) == 3
    assert any(s["step"] == "in-flight" and s["detail"] == "drained" for s in rel.log.steps)


def test_drain_gives_up_after_the_timeout(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    fake.use("durable_instances_active")
    rel, _ = make(fake, package, host_json, drain=True, drain_timeout=0.0)
    with pytest.raises(ReleaseRefusedError, match="still active"):
        rel.run()


def test_versioning_allows_swap_with_active_instances(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    fake.use("durable_instances_active")
    make(fake, package, host_json, versioning=True)[0].run()
    assert "functionapp deployment slot swap --slot staging" in fake.keys_called()


def test_versioning_without_default_version_refused(package: Path, host_json: Path) -> None:
    data = json.loads(host_json.read_text())
    del data["extensions"]["durableTask"]["defaultVersion"]
    host_json.write_text(json.dumps(data))
    fake = FakeAz.healthy()
    fake.use("durable_instances_active")
    with pytest.raises(ReleaseRefusedError, match="defaultVersion"):
        make(fake, package, host_json, versioning=True)[0].run()


def test_versioning_with_old_bundle_refused(package: Path, host_json: Path) -> None:
    data = json.loads(host_json.read_text())
    data["extensionBundle"]["version"] = "[4.*, 5.0.0)"
    host_json.write_text(json.dumps(data))
    fake = FakeAz.healthy()
    fake.use("durable_instances_active")
    with pytest.raises(ReleaseRefusedError, match=r"4\.30\.0"):
        make(fake, package, host_json, versioning=True)[0].run()


def test_bundle_range_parsing() -> None:
    assert bundle_supports_versioning("[4.30.0, 5.0.0)")
    assert bundle_supports_versioning("[4.31.1, 5.0.0)")
    assert not bundle_supports_versioning("[4.*, 5.0.0)")
    assert not bundle_supports_versioning("[4.29.0, 5.0.0)")
    assert not bundle_supports_versioning(None)


def test_missing_durable_system_key_refused(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    fake.stdout("functionapp keys list")["systemKeys"] = {}
    with pytest.raises(ReleaseRefusedError, match="durabletask_extension"):
        make(fake, package, host_json)[0].run()


def test_failing_replay_check_refuses_swap(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    rel, _ = make(fake, package, host_json, replay_check_command=FAIL_COMMAND)
    with pytest.raises(ReleaseRefusedError, match=r"replay check failed \(exit 3\).*non-deterministic"):
        rel.run()
    assert "functionapp deployment slot swap --slot staging" not in fake.keys_called()


def test_replay_check_receives_the_package(package: Path, host_json: Path, tmp_path: Path) -> None:
    seen = tmp_path / "seen.txt"
    command = (
        sys.executable,
        "-c",
        f"import sys, pathlib; pathlib.Path({str(seen)!r}).write_text(sys.argv[-1])",
    )
    make(FakeAz.healthy(), package, host_json, replay_check_command=command)[0].run()
    assert seen.read_text() == str(package)


def test_replay_check_command_that_cannot_start_refuses(package: Path, host_json: Path) -> None:
    rel, _ = make(FakeAz.healthy(), package, host_json, replay_check_command=("/nonexistent/replay-check",))
    with pytest.raises(ReleaseRefusedError, match="could not start"):
        rel.run()


def test_default_replay_hook_is_a_named_ops_command() -> None:
    assert release.REPLAY_CHECK_COMMAND[1:4] == ("-m", "ops", "replay-check")
    completed = release.run_replay_check(OK_COMMAND, None)
    assert isinstance(completed, subprocess.CompletedProcess) and completed.returncode == 0


def test_dry_run_prints_commands_and_runs_none(package: Path, host_json: Path) -> None:
    fake = FakeAz.healthy()
    out = io.StringIO()
    rel, _ = make(fake, package, host_json, dry_run=True)
    rel.az.out = out
    rel.out = out
    rel.run()
    assert fake.calls == []
    text = out.getvalue()
    for fragment in (
        "would run (read-only): az deployment group what-if",
        "would run (mutating): az deployment group create",
        "--mode Incremental",
        "would run (mutating): az storage blob upload",
        "would run (mutating): az functionapp config appsettings set",
        "would run (mutating): az functionapp deployment slot swap",
        "durabletask/instances",
        sys.executable,
    ):
        assert fragment in text, fragment


def _args(package: Path | None, **overrides: Any) -> argparse.Namespace:
    values: dict[str, Any] = {
        "resource_group": RG,
        "app": APP,
        "package": package,
        "slot": "staging",
        "subscription": SUBSCRIPTION,
        "template": Path("infra/main.bicep"),
        "parameters": Path("infra/main.parameters.json"),
        "deployment_name": "workflows-infra",
        "skip_infra": False,
        "drain": False,
        "drain_timeout": 10.0,
        "versioning": False,
        "replay_check_command": " ".join(OK_COMMAND[:2]) + ' "import sys; sys.exit(0)"',
        "yes": True,
        "dry_run": False,
        "json": True,
    }
    values.update(overrides)
    return argparse.Namespace(**values)


def test_handle_exit_codes_and_json(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert release.handle(_args(package), FakeAz.healthy().cli()) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    refused = FakeAz.healthy()
    refused.use("durable_instances_active")
    assert release.handle(_args(package), refused.cli()) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] is False
    assert "Error: release refused:" in captured.err


def test_az_failure_stops_the_release(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeAz.healthy()
    fake.set(
        "functionapp deployment slot swap --slot staging",
        exit_code=1,
        stderr="ERROR: Conflict: swap in progress",
    )
    assert release.handle(_args(package, json=False), fake.cli()) == 1
    assert "Error: az functionapp deployment slot swap" in capsys.readouterr().err


def test_usage_errors_exit_2(package: Path, tmp_path: Path) -> None:
    assert release.handle(_args(package, drain=True, versioning=True), FakeAz.healthy().cli()) == 2
    assert release.handle(_args(tmp_path / "missing.zip"), FakeAz.healthy().cli()) == 2


def test_a_zip_that_is_not_a_deploy_package_is_refused_before_any_change(
    package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hand_made = write_zip(tmp_path / "hand.zip", ["function_app.py", "host.json", "tests/conftest.py"])
    fake = FakeAz.healthy()
    assert release.handle(_args(hand_made), fake.cli()) == 2
    error = capsys.readouterr().err
    assert "no dependencies under .python_packages" in error and "tests/conftest.py" in error
    assert "python -m ops package" in error
    assert fake.calls == [], "nothing ran against Azure"


def test_prompt_without_terminal_asks_for_yes(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(ReleaseRefusedError, match="--yes"):
        release.prompt("Swap?")
    assert release.handle(_args(package, yes=False, json=False), FakeAz.healthy().cli()) == 1
