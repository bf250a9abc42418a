"""Shared helpers for the determinism linter tests: fixture paths, expectation markers, tiny apps."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from tools.determinism_lint.analyzer import Finding
from tools.determinism_lint.linter import lint_paths

FIXTURES = Path(__file__).parent / "fixtures"
BAD_APP = FIXTURES / "bad_app"
GOOD_APP = FIXTURES / "good_app"

# `# expect: DF001, DF015` marks the findings planted on that line; `# expect-next: DF000` marks the
# next line (for lines whose own comment is the suppression under test).
EXPECT = re.compile(r"#\s*expect(?P<next>-next)?:\s*(?P<ids>DF\d{3}(?:\s*,\s*DF\d{3})*)")

Key = tuple[str, int, str]


def expected_findings(app: Path) -> list[Key]:
    """(app-relative path, line, rule) for every expectation marker in the app's Python files."""
    expected: list[Key] = []
    for path in sorted(app.rglob("*.py")):
        relative = path.relative_to(app).as_posix()
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = EXPECT.search(text)
            if match is None:
                continue
            line = number + 1 if match.group("next") else number
            expected.extend((relative, line, rule.strip()) for rule in match.group("ids").split(","))
    return sorted(expected)


def finding_keys(findings: list[Finding], app: Path) -> list[Key]:
    """(app-relative path, line, rule) of each finding, sorted, duplicates kept."""
    root = app.resolve()
    return sorted((f.path.resolve().relative_to(root).as_posix(), f.line, f.rule) for f in findings)


def write_app(root: Path, files: dict[str, str]) -> Path:
    """Create a small Functions app (host.json plus the given dedented files) under `root`."""
    (root / "host.json").write_text('{"version": "2.0"}\n', encoding="utf-8")
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


ACTIVITIES = """
    import azure.durable_functions as df

    bp = df.Blueprint()


    @bp.activity_trigger(input_name="request")
    def notify_approver(request):
        return None
"""


def lint_snippet(
    tmp_path: Path, orchestrator_source: str, extra: dict[str, str] | None = None
) -> list[Finding]:
    """Lint one orchestrator module inside a minimal app that registers `notify_approver`."""
    app = write_app(
        tmp_path,
        {
            "activities/inventory.py": ACTIVITIES,
            "orchestrators/flow.py": orchestrator_source,
            **(extra or {}),
        },
    )
    report = lint_paths([app / "orchestrators"], app)
    assert not report.errors
    return report.findings


def rules_by_line(findings: list[Finding]) -> list[tuple[int, str]]:
    """(line, rule) pairs, sorted."""
    return sorted((f.line, f.rule) for f in findings)
