"""The replay check passes on the recorded histories and fails, precisely, on changed orchestrators.

Each mutation test copies the samples app to a temporary folder, edits one orchestrator the way a
developer might, and replays the recorded samples histories against the copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ops.__main__ import main
from tests.tools.replay.scenarios import HISTORIES, SAMPLES
from tools.replay.replayer import compare_values

SAMPLES_HISTORIES = HISTORIES / "samples"


def copy_app(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The samples app in tmp_path with each (old, new) text replacement applied once."""
    app = tmp_path / "app"
    shutil.copytree(SAMPLES.app_dir, app)
    source = app / "function_app.py"
    text = source.read_text()
    for old, new in edits:
        assert text.count(old) == 1, f"edit target not unique: {old!r}"
        text = text.replace(old, new)
    source.write_text(text)
    return app


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["replay-check", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def replay_samples(
    capsys: pytest.CaptureFixture[str], app: Path, history: str = "", *options: str
) -> tuple[int, dict[str, Any]]:
    """Replay the samples histories (or only the file `history`) against the app in `app`."""
    histories = SAMPLES_HISTORIES / history
    return run_check(capsys, *options, "--app-root", str(app), "--histories", str(histories))


def failures(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """File name -> its error differences, for the files that failed."""
    return {
        Path(h["file"]).name: [d for d in h["differences"] if d["severity"] == "error"]
        for h in document["histories"]
        if not h["ok"]
    }


def test_recorded_histories_replay_against_current_code(capsys: pytest.CaptureFixture[str]) -> None:
    """Every history under tests/histories/ replays cleanly (this is the CI gate)."""
    code, document = run_check(capsys)
    assert code == 0, json.dumps(document, indent=1)
    names = {Path(h["file"]).name for h in document["histories"]}
    assert {"chaining.json", "fan_out_fan_in.json", "retries.json", "entities.json"} <= names
    assert "sub_orchestrations--sub0-device_provisioning.json" in names


def test_unchanged_copy_of_the_app_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = replay_samples(capsys, copy_app(tmp_path))
    assert code == 0, json.dumps(document, indent=1)


def test_renamed_activity_fails_naming_the_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = copy_app(
        tmp_path,
        (
            'result1 = yield context.call_activity("hello", "Seattle")',
            'result1 = yield context.call_activity("greet", "Seattle")',
        ),
    )
    code, document = replay_samples(capsys, app, "chaining.json")
    assert code == 1
    [error, *_] = failures(document)["chaining.json"]
    assert (error["eventId"], error["eventType"], error["name"]) == (0, "TaskScheduled", "hello")
    assert error["message"] == "recorded activity 'hello', but the code now requests 'greet'"


def test_changed_input_shape_fails_with_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = copy_app(
        tmp_path,
        (
            'context.call_activity("create_device_key", device)',
            'context.call_activity("create_device_key", {"device": device})',
        ),
    )
    code, document = replay_samples(capsys, app)
    assert code == 1
    failed = failures(document)
    assert set(failed) == {
        "sub_orchestrations--sub0-device_provisioning.json",
        "sub_orchestrations--sub1-device_provisioning.json",
    }
    error = failed["sub_orchestrations--sub0-device_provisioning.json"][0]
    assert (error["eventId"], error["eventType"], error["name"]) == (0, "TaskScheduled", "create_device_key")
    assert error["message"] == 'input shape differs: input: recorded string "x", now object {"device": "x"}'


def test_reordered_calls_fail_on_the_first_moved_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = copy_app(
        tmp_path,
        ('context.call_activity("hello", "Seattle")', 'context.call_activity("hello", "TOKYO")'),
        ('context.call_activity("hello", "Tokyo")', 'context.call_activity("hello", "Seattle")'),
        ('context.call_activity("hello", "TOKYO")', 'context.call_activity("hello", "Tokyo")'),
    )
    code, document = replay_samples(capsys, app, "chaining.json")
    assert code == 1
    errors = failures(document)["chaining.json"]
    assert [e["eventId"] for e in errors] == [0, 1]
    assert errors[0]["message"].startswith('input value differs: input: recorded "Seattle", now "Tokyo"')


def test_reordered_entity_operations_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = copy_app(
        tmp_path,
        (
            'context.signal_entity(entity, "add", 3)\n    yield context.call_entity(entity, "add", 4)',
            'yield context.call_entity(entity, "add", 4)\n    context.signal_entity(entity, "add", 3)',
        ),
    )
    code, document = replay_samples(capsys, app, "entities.json")
    assert code == 1
    error = failures(document)["entities.json"][0]
    assert (error["eventId"], error["eventType"]) == (0, "EventSent")
    assert "input value differs" in error["message"]


def test_renamed_event_reports_the_wait_that_never_ends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = copy_app(
        tmp_path,
        ('context.wait_for_external_event("ApprovalEvent")', 'context.wait_for_external_event("Approval")'),
    )
    code, document = replay_samples(capsys, app, "human_interaction_approved.json")
    assert code == 1
    messages = [e["message"] for e in failures(document)["human_interaction_approved.json"]]
    assert any("no longer reaches it" in m and "process_approval" in m for m in messages), messages
    assert any(
        "waits for event(s) 'Approval'" in m and "'ApprovalEvent' are never awaited" in m for m in messages
    )


def test_text_output_names_file_instance_event_and_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = copy_app(
        tmp_path,
        ('context.call_activity("create_device_key", device)', 'context.call_activity("make_key", device)'),
    )
    code = main(["replay-check", "--app-root", str(app), "--histories", str(SAMPLES_HISTORIES)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL tests/histories/samples/sub_orchestrations--sub0-device_provisioning.json (instance " in out
    assert (
        "     EventId 0 TaskScheduled 'create_device_key': recorded activity 'create_device_key', "
        "but the code now requests 'make_key' "
        "('create_device_key' is no longer requested at all: renamed or removed?)"
    ) in out
    assert out.rstrip().endswith("Replay check: 10 histories, 8 ok, 2 failed (2 errors, 0 warnings)")


def test_allow_value_changes_downgrades_values_not_shapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = copy_app(
        tmp_path, ('context.call_activity("hello", "London")', 'context.call_activity("hello", "Paris")')
    )
    code, document = replay_samples(capsys, app, "chaining.json", "--allow-value-changes")
    assert code == 0
    [history] = document["histories"]
    assert [d["severity"] for d in history["differences"]] == [
        "warning"
    ]  # output comes from recorded results


def test_missing_histories_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay-check", "--histories", str(tmp_path / "nope")]) == 2
    assert "Error: --histories" in capsys.readouterr().err


def test_broken_history_file_fails_with_its_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text('{"format": "durable-history/1", "orchestrator": "x"}')
    code, document = run_check(capsys, "--histories", str(tmp_path))
    assert code == 1
    assert "'instanceId' must be a non-empty string" in document["histories"][0]["differences"][0]["message"]


def test_release_package_replaces_the_repository_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--package ZIP` (the release hook) replays histories recorded for the repository's app."""
    app = copy_app(
        tmp_path, ('context.call_activity("hello", "Seattle")', 'context.call_activity("greet", "Seattle")')
    )
    package = shutil.make_archive(str(tmp_path / "build"), "zip", app)
    document = json.loads((SAMPLES_HISTORIES / "chaining.json").read_text())
    document["appRoot"] = "."
    histories = tmp_path / "histories"
    histories.mkdir()
    (histories / "chaining.json").write_text(json.dumps(document))
    code, result = run_check(capsys, "--histories", str(histories), "--package", package)
    assert code == 1
    assert "'greet'" in failures(result)["chaining.json"][0]["message"]


@pytest.mark.parametrize(
    ("recorded", "current", "expected"),
    [
        ({"a": 1}, {"a": 1}, None),
        ({"a": 1}, {"a": 2}, ("value", "input.a: recorded 1, now 2")),
        ({"a": 1}, {"a": "1"}, ("shape", 'input.a: recorded number 1, now string "1"')),
        ({"a": 1}, {"b": 1}, ("shape", "input: key 'a' is missing now (recorded 1)")),
        ([1, 2], [1], ("value", "input: recorded 2 items, now 1")),
        (
            {"__class__": "Order", "__module__": "orchestrators.old", "__data__": {}},
            {"__class__": "Order", "__module__": "orchestrators.new", "__data__": {}},
            ("shape", "input.__module__: recorded 'orchestrators.old', now 'orchestrators.new'"),
        ),
    ],
)
def test_compare_values_reports_shape_before_value(recorded: Any, current: Any, expected: Any) -> None:
    assert compare_values(recorded, current) == expected
