"""Fixtures for the infra tests: the checkov venv and pycep parse trees of infra/*.bicep.

Both come from .venv-checkov (scripts/bootstrap installs it); the tests fail, not skip, when it is
missing, so CI can never pass without having validated infra/.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
CHECKOV_VENV = REPO_ROOT / ".venv-checkov"


@pytest.fixture(scope="session")
def checkov_venv() -> Path:
    assert (CHECKOV_VENV / "bin" / "checkov").exists(), "run scripts/bootstrap to create .venv-checkov"
    return CHECKOV_VENV


@pytest.fixture(scope="session")
def bicep(checkov_venv: Path) -> dict[str, Any]:
    """pycep parse trees keyed by path relative to infra/ (e.g. 'modules/storage.bicep')."""
    files = sorted(str(p) for p in INFRA.rglob("*.bicep"))
    completed = subprocess.run(
        [str(checkov_venv / "bin" / "python"), str(INFRA / "bicep_inspect.py"), "parse", *files],
        capture_output=True,
        text=True,
        check=True,
    )
    trees: dict[str, Any] = json.loads(completed.stdout)
    return {str(Path(path).relative_to(INFRA)): tree for path, tree in trees.items()}
