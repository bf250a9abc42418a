"""The durable-devhost wheel is all a team needs: built here, installed into a fresh venv beside
azure-functions, azure-functions-durable and pytest, it runs the documented example tests
(examples/approval/test_approval.py) on app folders outside this repository, v2 and v1 model,
with Azurite found in the project's node_modules/.bin as `npm install azurite` puts it there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devhost.testing import AzuriteNotFoundError, find_azurite
from tools.harness import AZURITE_BIN, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "approval"
PINNED = {"azure-functions", "azure-functions-durable", "pytest"}


def pinned_requirements() -> list[str]:
    """The app's and the test runner's versions, as this repository pins them."""
    lines = [
        *(REPO_ROOT / "requirements.txt").read_text().splitlines(),
        *(REPO_ROOT / "requirements-dev.txt").read_text().splitlines(),
    ]
    return [line.strip() for line in lines if line.split("==")[0].strip() in PINNED]


def run(
    command: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with only the built wheel, azure-functions, azure-functions-durable and pytest."""
    work = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(work / "dist"),
            "packaging/durable-devhost",
        ],
        REPO_ROOT,
        env,
        300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list((work / "dist").glob("durable_devhost-*.whl"))
    assert len(wheels) == 1
    venv = work / "venv"
    created = run([sys.executable, "-m", "venv", str(venv)], work, env, 120)
    assert created.returncode == 0, created.stderr
    requirements = pinned_requirements()
    assert len(requirements) == 3, requirements
    installed = run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(wheels[0]),
            *requirements,
        ],
        work,
        env,
        600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return venv


@pytest.fixture(scope="module")
def team_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project copied outside the repository, with Azurite in its node_modules/.bin."""
    project = tmp_path_factory.mktemp("team") / "approval"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    (project / "node_modules" / ".bin").mkdir(parents=True)
    (project / "node_modules" / ".bin" / "azurite-blob").symlink_to(AZURITE_BIN.resolve())
    assert REPO_ROOT not in project.parents
    return project


def team_env(venv: Path) -> dict[str, str]:
    """A clean environment: nothing of this repository on the path, no Azurite pointers."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "VIRTUAL_ENV", "AZURITE_BLOB_PORT", "DEVHOST_AZURITE", "PYTEST_ADDOPTS"}
    }
    env["PATH"] = os.pathsep.join([str(venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin"])
    return env


def test_the_installed_package_is_the_wheel_and_brings_its_command(
    fresh_venv: Path, team_project: Path
) -> None:
    where = run(
        [
            str(fresh_venv / "bin" / "python"),
            "-c",
            "import devhost.testing, devhost, durable_wire\n"
            "print(devhost.__file__)\nprint(durable_wire.__file__)",
        ],
        team_project,
        team_env(fresh_venv),
        60,
    )
    assert where.returncode == 0, where.stderr
    # The devhost and the wire vocabulary it shares with the app (durable_wire) come from the wheel.
    module_files = where.stdout.split()
    assert len(module_files) == 2
    assert all(Path(module_file).is_relative_to(fresh_venv) for module_file in module_files), module_files
    usage = run(
        [str(fresh_venv / "bin" / "devhost"), "start", "--help"], team_project, team_env(fresh_venv), 60
    )
    assert "--virtual-clock" in usage.stdout and "--clock-start" in usage.stdout


@pytest.mark.parametrize("app", ["app", "app_v1"])
def test_example_tests_pass_from_the_wheel_on_an_app_outside_the_repository(
    fresh_venv: Path, team_project: Path, app: str
) -> None:
    result = run(
        [str(fresh_venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider", "--devhost-app", app],
        team_project,
        team_env(fresh_venv),
        300,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "6 passed" in result.stdout


def test_missing_azurite_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("DEVHOST_AZURITE", raising=False)
    with pytest.raises(AzuriteNotFoundError, match=r"npm install --save-dev azurite"):
        find_azurite(tmp_path)


def test_azurite_is_found_in_node_modules_above_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("DEVHOST_AZURITE", raising=False)
    binary = tmp_path / "node_modules" / ".bin" / "azurite-blob"
    binary.parent.mkdir(parents=True)
    binary.symlink_to(AZURITE_BIN.resolve())
    nested = tmp_path / "services" / "orders"
    nested.mkdir(parents=True)
    assert find_azurite(nested) == binary


def test_the_walk_through_shows_the_example_test_file_as_it_is() -> None:
    guide = (REPO_ROOT / "docs" / "testing-your-app.md").read_text()
    shown = guide.split("This is its whole test file", 1)[1].split("```python\n", 1)[1].split("```\n", 1)[0]
    source = (EXAMPLE / "test_approval.py").read_text().split('"""', 2)[2].lstrip("\n")
    assert shown == source, "docs/testing-your-app.md shows an outdated examples/approval/test_approval.py"
