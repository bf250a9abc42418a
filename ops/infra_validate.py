"""`python -m ops infra-validate`: the offline gate for infra/ (checkov + custom checks).

checkov alone is not a gate: it exits 0 when it cannot parse a file (the file is skipped and
`parsing_errors` counts it), when it scans nothing, and when a check crashes or an external check
fails to load (both only logged). This command fails on each of those, and on any failed check.
A tree-sitter-bicep syntax pass runs as an advisory (reported, never failing: its grammar lags
behind Bicep and can report false errors).

Two rules span resources, which a checkov check cannot: every Function App site and slot has an
App Service Authentication (`authsettingsV2`) child that CKV_FUNCAPP_12 checked (`auth_coverage`),
and no two sites or slots of a template share a user-assigned identity (`shared_identities`, on
the parse trees of checkov's own Bicep parser): each slot's identity reaches only its own data.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ops.command_line import SubParsers, add_command, add_json_option

SUMMARY = "offline gate for infra/: checkov + custom checks; fails on findings/parse errors/no resources"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKOV_VENV = REPO_ROOT / ".venv-checkov"
CUSTOM_CHECK_ID = re.compile(r"""["'](CKV2?_FUNCAPP_\d+)["']""")
FAILED_TO_RUN = re.compile(r"Failed to run check (\S+) on (\S+?):(\S+)")
CANNOT_LOAD = re.compile(r"Cannot load external check '([^']+)'")
# Sites and slots (CKV_FUNCAPP_7 runs on each) and the authentication configs CKV_FUNCAPP_12 checks.
SITE_CHECK_ID = "CKV_FUNCAPP_7"
AUTH_CHECK_ID = "CKV_FUNCAPP_12"
AUTH_CONFIG_TYPE_OF_SITE = {
    "Microsoft.Web/sites": "Microsoft.Web/sites/config",
    "Microsoft.Web/sites/slots": "Microsoft.Web/sites/slots/config",
}


@dataclass
class GateReport:
    """Outcome of one gate run; `problems` empty means the gate passed."""

    summary: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    failed_checks: list[dict[str, str]] = field(default_factory=list)
    custom_checks_seen: list[str] = field(default_factory=list)
    advisories: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks the change."""
        return not self.problems


def expected_custom_checks(checks_dir: Path) -> set[str]:
    """Custom check IDs declared in the external checks directory."""
    ids: set[str] = set()
    for path in checks_dir.glob("*.py"):
        ids.update(CUSTOM_CHECK_ID.findall(path.read_text(encoding="utf-8")))
    return ids


def _as_reports(data: Any) -> list[dict[str, Any]]:
    reports = data if isinstance(data, list) else [data]
    return [r for r in reports if isinstance(r, dict)]


def auth_coverage(results: list[dict[str, Any]]) -> list[str]:
    """Sites and slots without an App Service Authentication config the auth check looked at.

    `results` are checkov's passed, failed and skipped checks. Per file, each site needs a
    `sites/config` and each slot a `sites/slots/config` that CKV_FUNCAPP_12 checked.
    """
    sites: dict[tuple[str, str], int] = {}
    configs: dict[tuple[str, str], int] = {}
    for check in results:
        file, resource = str(check.get("file_path", "")), str(check.get("resource", ""))
        kind = resource.rsplit(".", 1)[0]
        if check.get("check_id") == SITE_CHECK_ID and kind in AUTH_CONFIG_TYPE_OF_SITE:
            key = (file, AUTH_CONFIG_TYPE_OF_SITE[kind])
            sites[key] = sites.get(key, 0) + 1
        elif check.get("check_id") == AUTH_CHECK_ID:
            configs[(file, kind)] = configs.get((file, kind), 0) + 1
    return [
        f"{file}: {count} {'slot(s)' if 'slots' in kind else 'site(s)'} but {configs.get((file, kind), 0)} "
        f"App Service Authentication (authsettingsV2) config(s): every site and slot needs Entra ID sign-in "
        f"({AUTH_CHECK_ID})"
        for (file, kind), count in sorted(sites.items())
        if configs.get((file, kind), 0) < count
    ]


def shared_identities(trees: dict[str, Any]) -> list[str]:
    """Sites and slots that carry the same user-assigned identity, per file (pycep parse trees)."""
    problems = []
    for path, tree in sorted(trees.items()):
        holders: dict[str, list[str]] = {}
        for name, resource in (tree.get("resources") or {}).items():
            if resource.get("type") not in AUTH_CONFIG_TYPE_OF_SITE or resource.get("existing"):
                continue
            config = resource.get("config") or {}
            body = config.get("config", config) if "loop_type" in config or "condition" in config else config
            identity = body.get("identity") if isinstance(body, dict) else None
            assigned = identity.get("userAssignedIdentities") if isinstance(identity, dict) else None
            for key in assigned if isinstance(assigned, dict) else {}:
                holders.setdefault(str(key).strip("'"), []).append(name)
        for identity_ref, names in sorted(holders.items()):
            if len(names) > 1:
                problems.append(
                    f"{path}: {', '.join(sorted(names))} share the identity {identity_ref}: give each slot "
                    "its own user-assigned identity (a shared one lets staging reach production's data)"
                )
    return problems


def parse_trees(python: Path, directory: Path) -> dict[str, Any]:
    """pycep parse trees of every .bicep file under `directory` (checkov's own parser)."""
    files = sorted(str(p) for p in directory.rglob("*.bicep"))
    helper = REPO_ROOT / "infra" / "bicep_inspect.py"
    completed = subprocess.run(
        [str(python), str(helper), "parse", *files], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        return {}
    trees: dict[str, Any] = json.loads(completed.stdout)
    return trees


def evaluate(report_data: Any, stderr: str, required_checks: set[str]) -> GateReport:
    """Turn checkov's JSON report and log into a gate verdict."""
    gate = GateReport()
    reports = _as_reports(report_data)
    if not reports:
        gate.problems.append("checkov produced no report")
        return gate
    totals = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0}
    seen: set[str] = set()
    skipped: set[tuple[str, str]] = set()
    every_result: list[dict[str, Any]] = []
    for report in reports:
        summary = report.get("summary", {})
        for key in totals:
            totals[key] += int(summary.get(key, 0) or 0)
        results = report.get("results", {})
        for path in results.get("parsing_errors", []) or []:
            gate.problems.append(f"parsing error (file skipped by checkov): {path}")
        for check in results.get("failed_checks", []) or []:
            gate.failed_checks.append(
                {
                    "check_id": check.get("check_id", ""),
                    "check_name": check.get("check_name", ""),
                    "resource": check.get("resource", ""),
                    "file": check.get("file_path", ""),
                }
            )
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in results.get(kind, []) or []:
                every_result.append(check)
                seen.add(check.get("check_id", ""))
                if kind == "skipped_checks":
                    skipped.add((check.get("check_id", ""), check.get("resource", "")))
    gate.summary = totals
    for failed in gate.failed_checks:
        gate.problems.append(
            f"{failed['check_id']} failed on {failed['resource']} ({failed['file']}): {failed['check_name']}"
        )
    if totals["parsing_errors"] and not any(p.startswith("parsing error") for p in gate.problems):
        gate.problems.append(f"{totals['parsing_errors']} file(s) could not be parsed")
    if totals["resource_count"] == 0:
        gate.problems.append("checkov scanned zero resources")
    gate.problems.extend(auth_coverage(every_result))
    for check_id, _file, resource in FAILED_TO_RUN.findall(stderr):
        if (check_id, resource) not in skipped:
            gate.problems.append(f"check {check_id} crashed on {resource}; its result is unknown")
    for name in CANNOT_LOAD.findall(stderr):
        gate.problems.append(f"custom check module {name} failed to load")
    gate.custom_checks_seen = sorted(c for c in seen if "_FUNCAPP_" in c)
    missing = sorted(required_checks - seen)
    if missing:
        gate.problems.append(
            "custom checks never ran (missing __init__.py in the checks dir, or nothing they apply to): "
            + ", ".join(missing)
        )
    return gate


def run_checkov(checkov: Path, directory: Path, checks_dir: Path, output_dir: Path) -> tuple[int, Any, str]:
    """Run checkov on `directory`; returns (exit code, parsed JSON report or None, stderr)."""
    command = [
        str(checkov),
        "--directory",
        str(directory),
        "--framework",
        "bicep",
        "--skip-download",
        "--external-checks-dir",
        str(checks_dir),
        "--output",
        "json",
        "--output-file-path",
        str(output_dir),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    report_path = output_dir / "results_json.json"
    data = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else None
    return completed.returncode, data, completed.stderr


def syntax_advisories(python: Path, directory: Path) -> list[str]:
    """tree-sitter-bicep syntax errors, as advisory messages (empty when none or unavailable)."""
    files = sorted(str(p) for p in directory.rglob("*.bicep"))
    if not files or not python.exists():
        return []
    helper = REPO_ROOT / "infra" / "bicep_inspect.py"
    completed = subprocess.run(
        [str(python), str(helper), "syntax", *files], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        return [f"syntax advisory unavailable: {completed.stderr.strip()[:200]}"]
    errors: dict[str, list[str]] = json.loads(completed.stdout)
    return [
        f"{path}: tree-sitter syntax error at {', '.join(spots)}" for path, spots in errors.items() if spots
    ]


def validate(directory: Path, checks_dir: Path, venv: Path, syntax: bool = True) -> GateReport:
    """Run the whole gate on `directory` and return its report."""
    checkov = venv / "bin" / "checkov"
    with tempfile.TemporaryDirectory(prefix="checkov-") as output:
        returncode, data, stderr = run_checkov(checkov, directory, checks_dir, Path(output))
    if data is None:
        gate = GateReport()
        gate.problems.append(f"checkov exited {returncode} without a report: {stderr.strip()[-500:]}")
        return gate
    gate = evaluate(data, stderr, expected_custom_checks(checks_dir))
    gate.problems.extend(shared_identities(parse_trees(venv / "bin" / "python", directory)))
    if returncode not in (0, 1):
        gate.problems.append(f"checkov exited {returncode} (crash): {stderr.strip()[-300:]}")
    if syntax:
        gate.advisories.extend(syntax_advisories(venv / "bin" / "python", directory))
    return gate


def handle(args: argparse.Namespace) -> int:
    """Entry point of `python -m ops infra-validate`."""
    directory: Path = args.directory
    checks_dir: Path = args.checks_dir
    venv: Path = args.checkov_venv
    if not directory.is_dir():
        print(f"Error: --directory {directory} is not a directory.", file=sys.stderr)
        return 2
    if not (checks_dir / "__init__.py").is_file():
        print(
            f"Error: --checks-dir {checks_dir} has no __init__.py; checkov would silently skip its checks. "
            "Add an empty __init__.py.",
            file=sys.stderr,
        )
        return 1
    if not (venv / "bin" / "checkov").exists():
        print(
            f"Error: checkov not found in {venv}. Run scripts/bootstrap (it installs "
            "infra/requirements-checkov.txt into .venv-checkov) or pass --checkov-venv.",
            file=sys.stderr,
        )
        return 1
    gate = validate(directory, checks_dir, venv, syntax=not args.no_syntax)
    if args.json:
        print(json.dumps({"ok": gate.ok, **asdict(gate)}, indent=2))
    else:
        s = gate.summary
        print(
            f"checkov: {s.get('passed', 0)} passed, {s.get('failed', 0)} failed, "
            f"{s.get('skipped', 0)} skipped, "
            f"{s.get('parsing_errors', 0)} parsing errors, {s.get('resource_count', 0)} resources; "
            f"custom checks run: {len(gate.custom_checks_seen)}"
        )
        for advisory in gate.advisories:
            print(f"advisory: {advisory}", file=sys.stderr)
    for problem in gate.problems:
        print(f"Error: {problem}", file=sys.stderr)
    if not gate.ok:
        print(
            "Error: infra gate failed. Fix the template, or add an inline "
            "'// checkov:skip=ID: reason' inside the resource body for an accepted deviation.",
            file=sys.stderr,
        )
    return 0 if gate.ok else 1


def register(subparsers: SubParsers) -> None:
    """Add the `infra-validate` subcommand."""
    parser = add_command(subparsers, "infra-validate", SUMMARY, __doc__, handle)
    parser.add_argument(
        "--directory",
        type=Path,
        default=REPO_ROOT / "infra",
        help="Bicep directory to scan (default: infra/)",
    )
    parser.add_argument(
        "--checks-dir",
        type=Path,
        default=REPO_ROOT / "infra" / "checks",
        help="custom checkov checks (must contain __init__.py; default: infra/checks/)",
    )
    parser.add_argument(
        "--checkov-venv",
        type=Path,
        default=DEFAULT_CHECKOV_VENV,
        help="virtualenv holding checkov==3.3.30 (default: .venv-checkov, made by scripts/bootstrap)",
    )
    parser.add_argument("--no-syntax", action="store_true", help="skip the advisory tree-sitter syntax pass")
    add_json_option(parser)
