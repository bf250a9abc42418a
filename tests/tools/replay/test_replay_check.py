"""The replay check passes on the recorded histories and fails, precisely, on changed orchestrators.

Each mutation test copies the samples app to a temporary folder, edits one orchestrator the way a
developer might, and replays the recorded samples histories against the copy.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ops.__main__ import main
from tests.tools.replay.scenarios import HISTORIES, SAMPLES
from tools.replay.replayer import compare_values

SAMPLES_HISTORIES = HISTORIES / "samples"


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["replay-check", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def failures(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """File name -> its error differences, for the files that failed."""
    return {
        Path(h["file"]).name: [d for d in h["differences"] if d["severity"] == "error"]
        for h in document["histories"]
        if not h["ok"]
    }


@dataclass
class SamplesReplay:
    """One test's copies of the samples app, replayed against the recorded samples histories."""

    tmp_path: Path
    capsys: pytest.CaptureFixture[str]

    def edited_app(self, *edits: tuple[str, str]) -> Path:
        """The samples app in tmp_path with each (old, new) text replacement applied once."""
        app = self.tmp_path / "app"
        shutil.copytree(SAMPLES.app_dir, app)
        source = app / "function_app.py"
        text = source.read_text()
        for old, new in edits:
            assert text.count(old) == 1, f"edit target not unique: {old!r}"
            text = text.replace(old, new)
        source.write_text(text)
        return app

    def check(self, app: Path, history: str = "", *options: str) -> tuple[int, dict[str, Any]]:
        """Replay the samples histories (or only the file `history`) against the app in `app`."""
        histories = SAMPLES_HISTORIES / history
        return run_check(self.capsys, *options, "--app-root", str(app), "--histories", str(histories))

    def failures(self, app: Path, history: str = "") -> dict[str, list[dict[str, Any]]]:
        """Replay like check(), which must fail (exit 1): the error differences by failed file."""
        code, document = self.check(app, history)
        assert code == 1, json.dumps(document, indent=1)
        return failures(document)


@pytest.fixture
def samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> SamplesReplay:
    return SamplesReplay(tmp_path, capsys)


def test_recorded_histories_replay_against_current_code(capsys: pytest.CaptureFixture[str]) -> None:
    """Every history under tests/histories/ replays cleanly (this is the CI gate)."""
    code, document = run_check(capsys)
    assert code == 0, json.dumps(document, indent=1)
    names = {Path(h["file"]).name for h in document["histories"]}
    assert {"chaining.json", "fan_out_fan_in.json", "retries.json", "entities.json"} <= names
    assert "sub_orchestrations--sub0-device_provisioning.json" in names


def test_unchanged_copy_of_the_app_passes(samples: SamplesReplay) -> None:
    code, document = samples.check(samples.edited_app())
    assert code == 0, json.dumps(document, indent=1)


# Orchestrators edited the way a developer might: (edit, the history replayed ("" for all), the files
# that fail, and the first error in the first of them: its event and its message).
CHANGED_ORCHESTRATORS = [
    pytest.param(
        (
            'result1 = yield context.call_activity("hello", "Seattle")',
            'result1 = yield context.call_activity("greet", "Seattle")',
        ),
        "chaining.json",
        ["chaining.json"],
        (0, "TaskScheduled", "hello"),
        "recorded activity 'hello', but the code now requests 'greet'",
        id="renamed-activity-fails-naming-the-event",
    ),
    pytest.param(
        (
            'context.call_activity("create_device_key", device)',
            'context.call_activity("create_device_key", {"device": device})',
        ),
        "",
        [
            "sub_orchestrations--sub0-device_provisioning.json",
            "sub_orchestrations--sub1-device_provisioning.json",
        ],
        (0, "TaskScheduled", "create_device_key"),
        'input shape differs: input: recorded string "x", now object {"device": "x"}',
        id="changed-input-shape-fails-with-the-path",
    ),
]


@pytest.mark.parametrize(("edit", "history", "failed_files", "event", "message"), CHANGED_ORCHESTRATORS)
def test_a_changed_orchestrator_fails_on_the_first_changed_event(
    samples: SamplesReplay,
    *,
    edit: tuple[str, str],
    history: str,
    failed_files: list[str],
    event: tuple[int, str, str],
    message: str,
) -> None:
    failed = samples.failures(samples.edited_app(edit), history)
    assert sorted(failed) == failed_files
    error = failed[failed_files[0]][0]
    assert (error["eventId"], error["eventType"], error["name"]) == event
    assert error["message"] == message


def test_reordered_calls_fail_on_the_first_moved_event(samples: SamplesReplay) -> None:
    app = samples.edited_app(
        ('context.call_activity("hello", "Seattle")', 'context.call_activity("hello", "TOKYO")'),
        ('context.call_activity("hello", "Tokyo")', 'context.call_activity("hello", "Seattle")'),
        ('context.call_activity("hello", "TOKYO")', 'context.call_activity("hello", "Tokyo")'),
    )
    errors = samples.failures(app, "chaining.json")["chaining.json"]
    assert [e["eventId"] for e in errors] == [0, 1]
    assert errors[0]["message"].startswith('input value differs: input: recorded "Seattle", now "Tokyo"')


def test_reordered_entity_operations_fail(samples: SamplesReplay) -> None:
    app = samples.edited_app(
        (
            'context.signal_entity(entity, "add", 3)\n    yield context.call_entity(entity, "add", 4)',
            'yield context.call_entity(entity, "add", 4)\n    context.signal_entity(entity, "add", 3)',
        )
    )
    error = samples.failures(app, "entities.json")["entities.json"][0]
    assert (error["eventId"], error["eventType"]) == (0, "EventSent")
    assert "input value differs" in error["message"]


def test_renamed_event_reports_the_wait_that_never_ends(samples: SamplesReplay) -> None:
    app = samples.edited_app(
        ('context.wait_for_external_event("ApprovalEvent")', 'context.wait_for_external_event("Approval")')
    )
    failed = samples.failures(app, "human_interaction_approved.json")
    messages = [e["message"] for e in failed["human_interaction_approved.json"]]
    assert any("no longer reaches it" in m and "process_approval" in m for m in messages), messages
    assert any(
        "waits for event(s) 'Approval'" in m and "'ApprovalEvent' are never awaited" in m for m in messages
    )


def test_text_output_names_file_instance_event_and_difference(
    samples: SamplesReplay, capsys: pytest.CaptureFixture[str]
) -> None:
    app = samples.edited_app(
        ('context.call_activity("create_device_key", device)', 'context.call_activity("make_key", device)')
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


def test_allow_value_changes_downgrades_values_not_shapes(samples: SamplesReplay) -> None:
    app = samples.edited_app(
        ('context.call_activity("hello", "London")', 'context.call_activity("hello", "Paris")')
    )
    code, document = samples.check(app, "chaining.json", "--allow-value-changes")
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
    samples: SamplesReplay, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--package ZIP` (the release hook) replays histories recorded for the repository's app."""
    app = samples.edited_app(
        ('context.call_activity("hello", "Seattle")', 'context.call_activity("greet", "Seattle")')
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
