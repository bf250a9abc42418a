"""`python -m ops replay-check` and `python -m ops replay-record`.

replay-check: every recorded history under `tests/histories/` (or --histories) is replayed through
the current orchestrator code; exit 1 when the code would emit different actions for the recorded
part. Each file names its app folder (`appRoot`, relative to the repository); `--app-root` replaces
it for every file, and `--package ZIP` (the release build) replaces the repository's own app (`.`).

replay-record: writes an instance's raw devhost history (and its sub-orchestrations', recursively)
as history files.

Exit codes: 0 ok, 1 a history does not replay (or an operation failed), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ops.command_line import add_command
from ops.durable_client import (
    KEY_ON_COMMAND_LINE,
    DurableClient,
    OpsError,
    add_refused_key_option,
    default_base_url,
    system_key,
)
from tools.replay.history_file import find_history_files, record_instance
from tools.replay.replayer import ReplayResult, load_records

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HISTORIES = REPO_ROOT / "tests" / "histories"


def usage_error(message: str) -> int:
    """Print a usage error; exit code 2."""
    print(f"Error: {message}", file=sys.stderr)
    return 2


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def resolve_app_root(app_root: str) -> Path:
    """A file's `appRoot`, relative to the repository unless absolute."""
    path = Path(app_root)
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def run_worker(app_root: Path, files: Sequence[Path], *, allow_value_changes: bool) -> list[ReplayResult]:
    """Replay `files` against `app_root` in a fresh interpreter (see tools/replay/worker.py)."""
    command = [sys.executable, "-m", "tools.replay.worker", "--app-root", str(app_root)]
    if allow_value_changes:
        command.append("--allow-value-changes")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    completed = subprocess.run(
        [*command, *map(str, files)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-1:] or ["(no output)"]
        message = f"could not load the app at {app_root}: {tail[0]}"
        return [ReplayResult.unreadable(_display(f), message) for f in files]
    return [ReplayResult.from_dict(item) for item in json.loads(completed.stdout)]


def check(
    files: Sequence[Path],
    *,
    app_root: Path | None = None,
    package_root: Path | None = None,
    allow_value_changes: bool = False,
) -> list[ReplayResult]:
    """Replay every history file through the current code of its app; one worker per app."""
    groups: dict[Path, list[Path]] = {}
    records, results = load_records(files, _display)
    for path, record in records:
        if app_root is not None:
            root = app_root
        elif package_root is not None and record.app_root in (".", ""):
            root = package_root
        else:
            root = resolve_app_root(record.app_root)
        groups.setdefault(root, []).append(path)
    for root, group in groups.items():
        for result in run_worker(root, group, allow_value_changes=allow_value_changes):
            result.file = _display(Path(result.file))
            results.append(result)
    return sorted(results, key=lambda r: r.file)


def format_text(results: Sequence[ReplayResult]) -> str:
    """The human report: one line per file, one indented line per difference, then a summary."""
    lines: list[str] = []
    for result in results:
        label = "ok  " if result.ok else "FAIL"
        lines.append(
            f"{label} {result.file} (instance {result.instance_id}, orchestrator {result.orchestrator})"
        )
        for difference in result.differences:
            where = difference.describe_event()
            prefix = "warning: " if difference.severity == "warning" else ""
            lines.append(f"     {prefix}{where + ': ' if where else ''}{difference.message}")
    failed = sum(not r.ok for r in results)
    errors = sum(d.severity == "error" for r in results for d in r.differences)
    warnings = sum(d.severity == "warning" for r in results for d in r.differences)
    lines.append(
        f"Replay check: {len(results)} histories, {len(results) - failed} ok, {failed} failed "
        f"({errors} errors, {warnings} warnings)"
    )
    return "\n".join(lines)


def run_check(args: argparse.Namespace) -> int:
    """Handle `python -m ops replay-check`."""
    histories = Path(args.histories) if args.histories else DEFAULT_HISTORIES
    if not histories.exists():
        return usage_error(f"--histories {histories} does not exist")
    app_root = Path(args.app_root).resolve() if args.app_root else None
    if app_root is not None and not (app_root / "function_app.py").is_file():
        return usage_error(f"--app-root {args.app_root} has no function_app.py")
    if args.package is not None and not Path(args.package).is_file():
        return usage_error(f"--package {args.package} is not a file")
    files = find_history_files(histories)
    if not files:
        print(f"Error: no history files under {histories}; record some with replay-record", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="replay-package-") as scratch:
        package_root: Path | None = None
        if args.package:
            try:
                with zipfile.ZipFile(args.package) as archive:
                    archive.extractall(scratch)
            except zipfile.BadZipFile as error:
                print(f"Error: --package {args.package} is not a zip file ({error})", file=sys.stderr)
                return 1
            package_root = Path(scratch)
        results = check(
            files,
            app_root=app_root,
            package_root=package_root,
            allow_value_changes=args.allow_value_changes,
        )
    ok = all(result.ok for result in results)
    if args.json:
        document: dict[str, Any] = {"ok": ok, "histories": [r.to_dict() for r in results]}
        print(json.dumps(document, indent=2))
    else:
        print(format_text(results))
    return 0 if ok else 1


def run_record(args: argparse.Namespace) -> int:
    """Handle `python -m ops replay-record`."""
    app_root = Path(args.app_root).resolve()
    if not (app_root / "function_app.py").is_file():
        return usage_error(f"--app-root {args.app_root} has no function_app.py")
    try:
        stored_root = str(app_root.relative_to(REPO_ROOT)) or "."
    except ValueError:
        stored_root = str(app_root)
    if getattr(args, "key_on_command_line", None):
        return usage_error(KEY_ON_COMMAND_LINE)
    client = DurableClient(args.base_url, code=system_key())
    try:
        written = record_instance(client, args.instance, Path(args.out), app_root=stored_root)
    except OpsError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"ok": True, "files": [str(p) for p in written]}, indent=2))
    else:
        for path in written:
            print(f"wrote {path}")
    return 0


def register(subparsers: Any) -> None:
    """Add the `replay-check` and `replay-record` subcommands."""
    check_parser = add_command(
        subparsers, "replay-check", "replay recorded histories through the current orchestrator code", __doc__
    )
    check_parser.add_argument(
        "--histories",
        metavar="DIR",
        help="folder (searched recursively for *.json) or one history file (default: tests/histories/)",
    )
    check_parser.add_argument(
        "--app-root",
        metavar="DIR",
        help="app folder to replay every history against (default: each file's appRoot)",
    )
    check_parser.add_argument(
        "--package",
        metavar="ZIP",
        nargs="?",
        help="release build (zip) that replaces the repository's own app for histories with appRoot '.'",
    )
    check_parser.add_argument(
        "--allow-value-changes",
        action="store_true",
        help="report inputs whose values (not shape) changed as warnings instead of errors",
    )
    check_parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    check_parser.set_defaults(handler=run_check)

    record_parser: argparse.ArgumentParser = subparsers.add_parser(
        "replay-record",
        help="record an instance's devhost history (and its sub-orchestrations') for the replay check",
        description="Write the raw history of a devhost instance, and recursively of its "
        "sub-orchestrations (as FILE--sub<EventId>-<name>.json), for `replay-check`.",
    )
    record_parser.add_argument(
        "--base-url", default=default_base_url(), help="devhost URL (default: $OPS_BASE_URL or %(default)s)"
    )
    add_refused_key_option(record_parser)
    record_parser.add_argument("--instance", required=True, metavar="ID", help="instance id to record")
    record_parser.add_argument("--out", required=True, metavar="FILE", help="history file to write")
    record_parser.add_argument(
        "--app-root",
        default=str(REPO_ROOT),
        metavar="DIR",
        help="app folder that runs the instance, stored in the file (default: the repository)",
    )
    record_parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    record_parser.set_defaults(handler=run_record)
