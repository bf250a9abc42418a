"""Replays history files against one app in a process of its own.

Each app folder is imported as `function_app` with its root on `sys.path`, and the SDK allows one
`get_functions()` per app, so two apps (or the repository and a release package) cannot share a
process. `python -m tools.replay.worker --app-root DIR FILE...` prints a JSON list of results.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from devhost.config import apply_local_settings, load_local_settings
from devhost.loader import load_app
from tools.replay.replayer import ReplayResult, load_records, replay_record


def replay_files(app_root: Path, files: Sequence[Path], *, allow_value_changes: bool) -> list[ReplayResult]:
    """Load the app once and replay every file through it."""
    apply_local_settings(load_local_settings(app_root))
    index = load_app(app_root)
    records, results = load_records(files)
    for path, record in records:
        differences = replay_record(record, index, allow_value_changes=allow_value_changes)
        results.append(ReplayResult(str(path), record.instance_id, record.orchestrator, differences))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the worker process; the caller reads stdout."""
    parser = argparse.ArgumentParser(prog="python -m tools.replay.worker")
    parser.add_argument("--app-root", type=Path, required=True)
    parser.add_argument("--allow-value-changes", action="store_true")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    # The app's own prints and logs must not corrupt the JSON document on stdout.
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        results = replay_files(args.app_root, args.files, allow_value_changes=args.allow_value_changes)
    finally:
        sys.stdout = real_stdout
    print(json.dumps([result.to_dict() for result in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
