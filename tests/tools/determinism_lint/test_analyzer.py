"""Analyzer behaviour beyond the fixture apps: suppressions, guards, helpers, discovery, shadowing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.determinism_lint.helpers import lint_snippet, rules_by_line
from tools.determinism_lint.analyzer import Finding

HEADER = """
import logging
from datetime import datetime

import azure.durable_functions as df

bp = df.Blueprint()
"""

# Most tests lint one orchestrator, `flow(context)` on the blueprint after HEADER; the snippet they
# pass is its body, which starts at line 10 of the module (the line numbers they expect count so).
FLOW = (
    HEADER
    + """
@bp.orchestration_trigger(context_name="context")
def flow(context):"""
)


def lint_module(tmp_path: Path, body: str, extra: dict[str, str] | None = None) -> list[Finding]:
    """Lint HEADER followed by `body` (module-level code) as the orchestrator module."""
    return lint_snippet(tmp_path, HEADER + body, extra)


def lint_flow(tmp_path: Path, body: str) -> list[Finding]:
    """Lint FLOW with `body` (indented as a function body) as its body."""
    return lint_snippet(tmp_path, FLOW + body)


def test_message_names_the_call_and_the_replacement(tmp_path: Path) -> None:
    findings = lint_flow(
        tmp_path,
        """
    started = datetime.now()
    yield context.call_activity("notify_approver", str(started))
""",
    )

    assert [(f.line, f.rule, f.message) for f in findings] == [
        (10, "DF001", "datetime.now() in orchestrator; use context.current_utc_datetime")
    ]


def test_suppression_with_rule_and_reason_silences_only_that_rule(tmp_path: Path) -> None:
    findings = lint_flow(
        tmp_path,
        """
    a = datetime.now()  # durable-lint: ignore[DF001] used only for a debug string
    b = datetime.now()  # durable-lint: ignore[DF011] wrong rule: DF001 still reported
    c = datetime.now(); logging.info("x")  # durable-lint: ignore[DF001,DF011] both on one line
    yield context.call_activity("notify_approver", [str(a), str(b), str(c)])
""",
    )

    assert rules_by_line(findings) == [(11, "DF001")]


def test_suppression_on_any_line_of_a_multi_line_statement(tmp_path: Path) -> None:
    findings = lint_flow(
        tmp_path,
        """
    yield context.call_activity(
        "notify_approver",
        {"at": str(datetime.now())},
    )  # durable-lint: ignore[DF001] a deliberate example
    for item in {1, 2}:  # durable-lint: ignore[DF009] order does not matter here
        # durable-lint: ignore[DF001] a comment inside the loop body does not cover the header
        yield context.call_activity("notify_approver", str(datetime.now()))
""",
    )

    assert rules_by_line(findings) == [(16, "DF001")]


def test_suppression_without_reason_still_fails_the_run(tmp_path: Path) -> None:
    findings = lint_flow(
        tmp_path,
        """
    a = datetime.now()  # durable-lint: ignore[DF001]
    yield context.call_activity("notify_approver", str(a))
""",
    )

    assert [(f.line, f.rule) for f in findings] == [(10, "DF000")]
    assert "gives no reason" in findings[0].message


# Modules (after HEADER) the linter passes without a finding, by what each shows.
CLEAN_MODULES = {
    # Activities, starters and helpers no orchestrator calls may use the clock, env and I/O.
    "code_outside_orchestrators_is_not_analysed": """
import os

@bp.activity_trigger(input_name="request")
def stamp(request):
    logging.info("stamping")
    return {"at": datetime.now().isoformat(), "region": os.environ["REGION"]}


def orphan_helper(context):
    return open("x").read()


def not_a_generator(context: df.DurableOrchestrationContext):
    return datetime.now()
""",
    "context_name_comes_from_the_decorator_and_any_is_replaying_guard_counts": """
@bp.orchestration_trigger(context_name="ctx")
def flow(ctx):
    if not ctx.is_replaying:
        logging.info("start")
    value = "ok" if ctx.is_replaying else print("first run")
    yield ctx.call_activity("notify_approver", value)
""",
    "locals_and_parameters_shadow_modules_and_builtins": """
@bp.orchestration_trigger(context_name="context")
def flow(context, random=None):
    datetime = context.current_utc_datetime
    open = context.get_input()
    stamp = datetime.now() if random else open
    yield context.call_activity("notify_approver", str(stamp))
""",
}


@pytest.mark.parametrize("module", list(CLEAN_MODULES.values()), ids=list(CLEAN_MODULES))
def test_deterministic_code_has_no_findings(tmp_path: Path, module: str) -> None:
    assert lint_module(tmp_path, module) == []


def test_helpers_are_followed_with_guard_state_and_to_a_limited_depth(tmp_path: Path) -> None:
    findings = lint_flow(
        tmp_path,
        """
    if not context.is_replaying:
        _log("guarded")
    _log("unguarded")
    _level1(context)
    yield context.call_activity("notify_approver", None)


def _log(message):
    logging.info(message)


def _level1(ctx):
    return _level2(ctx)


def _level2(ctx):
    return _level3(ctx)


def _level3(ctx):
    return _level4(ctx)


def _level4(ctx):
    return _level5(ctx)


def _level5(ctx):
    return datetime.now()
""",
    )

    assert rules_by_line(findings) == [(18, "DF011")]
    assert findings[0].message.startswith(
        "logging.info() in _log() (called from orchestrator flow) is not guarded"
    )


def test_recursive_helpers_terminate(tmp_path: Path) -> None:
    findings = lint_flow(
        tmp_path,
        """
    yield from _walk(context, 3)


def _walk(context, n):
    if n:
        yield from _walk(context, n - 1)
    yield context.call_activity("notify_approver", datetime.utcnow().isoformat())
""",
    )

    assert rules_by_line(findings) == [(16, "DF001")]


def test_imports_inside_the_orchestrator_are_resolved(tmp_path: Path) -> None:
    findings = lint_flow(
        tmp_path,
        """
    import time as clock
    from uuid import uuid4
    yield context.call_activity("notify_approver", [clock.time(), str(uuid4())])
""",
    )

    assert rules_by_line(findings) == [(12, "DF001"), (12, "DF003")]


def test_names_imported_from_another_module_of_the_app_are_checked(tmp_path: Path) -> None:
    findings = lint_module(
        tmp_path,
        """
from activities.constants import NOTIFY, TYPO

@bp.orchestration_trigger(context_name="context")
def flow(context):
    yield context.call_activity(NOTIFY, None)
    yield context.call_activity(TYPO, None)
""",
        extra={"activities/constants.py": 'NOTIFY = "notify_approver"\nTYPO = "notify_aprover"\n'},
    )

    assert rules_by_line(findings) == [(13, "DF012")]
    assert "no activity named 'notify_aprover'" in findings[0].message
    assert "did you mean 'notify_approver'?" in findings[0].message


def test_activity_and_orchestrator_triggers_on_any_object_are_found(tmp_path: Path) -> None:
    """`app.orchestration_trigger` on a DFApp works like a blueprint's."""
    findings = lint_snippet(
        tmp_path,
        """
import time
import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context", orchestration="renamed")
def flow(context):
    time.sleep(1)
    yield context.call_sub_orchestrator("renamed", None)
    yield context.call_sub_orchestrator("flow", None)
""",
    )

    assert rules_by_line(findings) == [(9, "DF002"), (11, "DF013")]


def test_keyword_arguments_and_string_annotations_are_understood(tmp_path: Path) -> None:
    findings = lint_module(
        tmp_path,
        """
def flow(context: "df.DurableOrchestrationContext"):
    yield context.call_activity(name="notify_aprover", input_="x")
    yield context.call_activity("notify_approver", input_={"at": context.current_utc_datetime})
""",
    )

    assert rules_by_line(findings) == [(9, "DF012"), (10, "DF015")]
