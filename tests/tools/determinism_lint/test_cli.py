"""`python -m ops lint`: output formats and exit codes (0 clean, 1 findings, 2 usage)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ops.__main__ import main
from tests.tools.determinism_lint.helpers import ACTIVITIES, write_app
from tools.determinism_lint.rules import RULES

PROJECT_ROOT = Path(__file__).resolve().parents[3]

BAD_FLOW = """
from datetime import datetime

import azure.durable_functions as df

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def flow(context):
    started = datetime.now()
    yield context.call_activity("notify_aprover", str(started))
"""

GOOD_FLOW = """
import azure.durable_functions as df

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def flow(context):
    yield context.call_activity("notify_approver", context.current_utc_datetime.isoformat())
"""


def make_app(root: Path, flow: str) -> Path:
    return write_app(root, {"activities/inventory.py": ACTIVITIES, "orchestrators/flow.py": flow})


def test_text_output_has_one_line_per_finding_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(make_app(tmp_path, BAD_FLOW))

    exit_code = main(["lint"])

    captured = capsys.readouterr()
    assert exit_code == 1
    assert captured.out.splitlines() == [
        "orchestrators/flow.py:10: DF001 datetime.now() in orchestrator; use context.current_utc_datetime",
        "orchestrators/flow.py:11: DF012 call_activity('notify_aprover') in orchestrator: no activity named "
        "'notify_aprover' is registered in the app; did you mean 'notify_approver'? use the registered "
        "activity name (preferably a shared UPPER_SNAKE constant)",
    ]
    assert captured.err == "2 findings in 1 file checked\n"


def test_json_output_is_one_document_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(make_app(tmp_path, BAD_FLOW))

    exit_code = main(["lint", "--json", "orchestrators/flow.py"])

    document = json.loads(capsys.readouterr().out)
    assert exit_code == 1
    assert document["ok"] is False
    assert document["files_checked"] == ["orchestrators/flow.py"]
    assert document["errors"] == []
    assert document["findings"][0] == {
        "path": "orchestrators/flow.py",
        "line": 10,
        "column": 14,
        "rule": "DF001",
        "name": "wall-clock",
        "message": "datetime.now() in orchestrator; use context.current_utc_datetime",
        "function": "flow",
        "orchestrator": "flow",
    }
    assert [finding["rule"] for finding in document["findings"]] == ["DF001", "DF012"]


def test_clean_app_exits_0_with_nothing_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path, GOOD_FLOW)

    exit_code = main(["lint", "--app-root", str(app)])

    captured = capsys.readouterr()
    assert exit_code == 0
    assert captured.out == ""
    assert captured.err == "0 findings in 1 file checked\n"


def test_clean_app_json_says_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path, GOOD_FLOW)

    exit_code = main(["lint", "--json", str(app / "orchestrators")])

    document = json.loads(capsys.readouterr().out)
    assert exit_code == 0
    assert document["ok"] is True
    assert document["findings"] == []
    assert Path(document["app_root"]) == app.resolve()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["lint", "does-not-exist"], "Error: PATH does-not-exist does not exist\n"),
        (["lint", "--app-root", "no-such-dir"], "Error: --app-root no-such-dir is not a directory\n"),
        (["lint", "host.json"], "Error: PATH host.json is not a Python file\n"),
    ],
)
def test_bad_paths_are_usage_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(make_app(tmp_path, GOOD_FLOW))

    exit_code = main(arguments)

    captured = capsys.readouterr()
    assert exit_code == 2
    assert captured.out == ""
    assert captured.err == message


def test_missing_default_folder_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["lint"]) == 2
    assert "orchestrators does not exist" in capsys.readouterr().err


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["lint", "--no-such-flag"])

    assert raised.value.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err


def test_unparsable_file_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(make_app(tmp_path, "def broken(:\n"))

    exit_code = main(["lint"])

    captured = capsys.readouterr()
    assert exit_code == 1
    assert captured.err.startswith("Error: orchestrators/flow.py: cannot parse: ")


def test_list_rules_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--list-rules"]) == 0
    text = capsys.readouterr().out
    assert [line.split()[0] for line in text.splitlines() if line.startswith("DF")] == [r.id for r in RULES]

    assert main(["lint", "--list-rules", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rules"][1] == {
        "id": "DF001",
        "name": "wall-clock",
        "what": RULES[1].what,
        "instead": "use context.current_utc_datetime",
    }


def test_rule_ids_are_unique_and_sequential() -> None:
    assert [rule.id for rule in RULES] == [f"DF{number:03d}" for number in range(len(RULES))]


def test_python_dash_m_ops_lint_runs_on_the_project() -> None:
    """The CI entry point: `python -m ops lint` from the project root over orchestrators/."""
    result = subprocess.run(
        [sys.executable, "-m", "ops", "lint"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr.startswith("0 findings in ")


def test_docs_list_every_rule() -> None:
    """docs/determinism-lint.md has a table row `| DFnnn | name |` for each rule, in order."""
    text = (PROJECT_ROOT / "docs" / "determinism-lint.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1:3] for line in text.splitlines() if line.startswith("| DF")]

    assert [(rule_id.strip(), name.strip()) for rule_id, name in rows] == [(r.id, r.name) for r in RULES]
