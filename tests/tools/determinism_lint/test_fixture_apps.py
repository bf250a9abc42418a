"""The linter against the fixture apps (one bad and one good file per rule) and the project itself."""

from __future__ import annotations

from pathlib import Path

from tests.tools.determinism_lint.helpers import BAD_APP, GOOD_APP, expected_findings, finding_keys
from tools.determinism_lint.linter import lint_paths
from tools.determinism_lint.rules import RULES

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def test_bad_app_reports_exactly_the_planted_violations() -> None:
    """Every `# expect:` marker is found, and nothing else is reported."""
    report = lint_paths([BAD_APP], BAD_APP)

    assert not report.errors
    assert finding_keys(report.findings, BAD_APP) == expected_findings(BAD_APP)


def test_good_app_has_no_findings() -> None:
    """The safe counterpart of every planted violation passes."""
    report = lint_paths([GOOD_APP], GOOD_APP)

    assert not report.errors
    assert [f"{f.path.name}:{f.line}: {f.rule} {f.message}" for f in report.findings] == []
    assert expected_findings(GOOD_APP) == []


def test_every_rule_has_a_bad_and_a_good_fixture_file() -> None:
    """Each rule id has `dfNNN_*.py` in both apps, and the bad one plants that rule."""
    planted = {rule for _, _, rule in expected_findings(BAD_APP)}
    for rule in RULES:
        prefix = rule.id.lower() + "_"
        assert list((BAD_APP / "orchestrators").glob(prefix + "*.py")), rule.id
        assert list((GOOD_APP / "orchestrators").glob(prefix + "*.py")), rule.id
        assert rule.id in planted


def test_project_orchestrators_have_no_findings() -> None:
    """CI runs the linter over the project's own orchestrators/: it must stay clean."""
    report = lint_paths([PROJECT_ROOT / "orchestrators"], PROJECT_ROOT)

    assert not report.errors
    assert [f"{f.path.name}:{f.line}: {f.rule} {f.message}" for f in report.findings] == []
