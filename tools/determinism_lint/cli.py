"""`python -m ops lint`: the determinism linter for orchestrator code.

Exit codes: 0 no findings, 1 findings (or a file that does not parse), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tools.determinism_lint.linter import LintReport, lint_paths
from tools.determinism_lint.rules import RULES

DEFAULT_PATH = "orchestrators"


def register(subparsers: Any) -> None:
    """Add the `lint` subcommand to the `python -m ops` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "lint",
        help="check orchestrator code for replay hazards (determinism linter)",
        description=(
            "Check Durable Functions orchestrators for code that is non-deterministic or unsafe on "
            "replay. Suppress one finding with `# durable-lint: ignore[DF001] <reason>` on its line."
        ),
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=f"files or folders to check (default: {DEFAULT_PATH}/ of the app root or current directory)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser.add_argument(
        "--app-root",
        metavar="DIR",
        help="Functions app folder whose registered activity/orchestrator/entity names are known "
        "(default: nearest folder with host.json above the first PATH)",
    )
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle `python -m ops lint`; returns the exit code."""
    if args.list_rules:
        return list_rules(as_json=args.json)
    app_root = Path(args.app_root) if args.app_root else None
    if app_root is not None and not app_root.is_dir():
        return usage_error(f"--app-root {args.app_root} is not a directory")
    raw_paths: list[str] = args.paths or [str((app_root or Path()) / DEFAULT_PATH)]
    paths = [Path(p) for p in raw_paths]
    for raw, path in zip(raw_paths, paths, strict=True):
        if not path.exists():
            return usage_error(f"PATH {raw} does not exist")
        if path.is_file() and path.suffix != ".py":
            return usage_error(f"PATH {raw} is not a Python file")
    report = lint_paths(paths, app_root)
    if args.json:
        print(json.dumps(report_document(report), indent=2))
    else:
        print_text(report)
    return 1 if report.failed else 0


def usage_error(message: str) -> int:
    """Print a usage error to stderr and return exit code 2."""
    print(f"Error: {message}", file=sys.stderr)
    return 2


def display(path: Path) -> str:
    """Path relative to the current directory when below it, else absolute."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def print_text(report: LintReport) -> None:
    """Findings on stdout, one per line; errors, warnings and the summary on stderr."""
    for finding in report.findings:
        print(f"{display(finding.path)}:{finding.line}: {finding.rule} {finding.message}")
    for path, message in report.errors:
        print(f"Error: {display(path)}: {message}", file=sys.stderr)
    for path, line, message in report.warnings:
        print(f"Warning: {display(path)}:{line}: {message}; calls to it cannot be checked", file=sys.stderr)
    count = len(report.findings)
    files = len(report.files)
    print(
        f"{count} finding{'' if count == 1 else 's'} in {files} file{'' if files == 1 else 's'} checked",
        file=sys.stderr,
    )


def report_document(report: LintReport) -> dict[str, Any]:
    """The `--json` document."""
    return {
        "app_root": str(report.app_root),
        "files_checked": [display(path) for path in report.files],
        "findings": [finding.to_dict(display(finding.path)) for finding in report.findings],
        "errors": [{"path": display(path), "message": message} for path, message in report.errors],
        "warnings": [
            {"path": display(path), "line": line, "message": message}
            for path, line, message in report.warnings
        ],
        "ok": not report.failed,
    }


def list_rules(as_json: bool) -> int:
    """Print the rule table (read-only; exit 0)."""
    if as_json:
        print(json.dumps({"rules": [rule.to_dict() for rule in RULES]}, indent=2))
        return 0
    for rule in RULES:
        print(f"{rule.id}  {rule.name}: {rule.what}")
        print(f"       instead: {rule.instead}")
    return 0
