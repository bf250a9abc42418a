"""Facts about the machine and the software under test, recorded at the start of a run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, check=False, cwd=REPO_ROOT
        ).stdout.strip()
    except OSError:
        return "unavailable"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def facts() -> dict[str, Any]:
    azurite_package = REPO_ROOT / "node_modules" / "azurite" / "package.json"
    azurite = json.loads(azurite_package.read_text())["version"] if azurite_package.exists() else "missing"
    commit = _run(["git", "rev-parse", "--short", "HEAD"])
    dirty = bool(_run(["git", "status", "--porcelain", "--untracked-files=no"]))
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": os.cpu_count(),
        "loadAverageAtStart": [round(value, 2) for value in os.getloadavg()],
        "memTotalGiB": _mem_total_gib(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "node": _run(["node", "--version"]) or "unavailable",
        "azurite": azurite,
        "azure-functions-durable": _version("azure-functions-durable"),
        "azure-functions": _version("azure-functions"),
        "azure-storage-blob": _version("azure-storage-blob"),
        "aiohttp": _version("aiohttp"),
        "python-dateutil": _version("python-dateutil"),
        "gitCommit": commit + ("+dirty" if dirty else ""),
    }


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None
