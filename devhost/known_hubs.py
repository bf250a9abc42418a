"""Task hubs this user's devhosts have run, so that a host finding one of them gone says so.

A host that starts on storage which lost its data (an in-memory Azurite restarted, `.azurite/`
deleted) would otherwise create an empty hub of the same name and run on it without a word, while
every instance of the old one is lost. `KNOWN_HUBS_FILE` (under `XDG_CACHE_HOME`, default
`~/.cache/devhost/known-hubs.json`) maps "<blob endpoint>/<container>" to the hub's creation time
(from its marker). A hub created just now that is in the file is a hub that vanished: the host
stops with an error unless started with `--new-hub`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

MAX_ENTRIES = 5000
FORGET_AFTER_SECONDS = 30 * 24 * 3600


def known_hubs_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "devhost" / "known-hubs.json"


def _load(path: Path) -> dict[str, dict[str, object]]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return {str(k): v for k, v in data.items() if isinstance(v, dict)}
    return {}


def vanished(key: str, created_now: bool, path: Path | None = None) -> str | None:
    """When the hub `key` was created just now but ran before: the creation time it had, else None."""
    if not created_now:
        return None
    entry = _load(path or known_hubs_file()).get(key)
    return str(entry.get("createdAt")) if entry else None


def remember(key: str, created_at: str, path: Path | None = None) -> None:
    """Record that hub `key` (created at `created_at`) runs now; best effort (a cache, not state)."""
    target = path or known_hubs_file()
    hubs = _load(target)
    now = time.time()
    hubs[key] = {"createdAt": created_at, "seen": now}
    fresh = {k: v for k, v in hubs.items() if now - float(str(v.get("seen") or 0)) < FORGET_AFTER_SECONDS}
    newest = dict(sorted(fresh.items(), key=lambda item: float(str(item[1].get("seen") or 0)))[-MAX_ENTRIES:])
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(newest), encoding="utf-8")
        temporary.replace(target)
