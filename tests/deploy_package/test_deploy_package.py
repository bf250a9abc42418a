"""The deploy package: exactly the deployed files, byte-identical per commit, importable on its own.

`python -m ops package` is built twice from HEAD (wheels cached in .artifacts/wheels between runs;
a fresh clone downloads them once from the package index). The zip is extracted into an empty
folder and imported by a fresh virtual environment that has nothing installed: only the folder and
its `.python_packages/lib/site-packages` are on the path, as in the Azure Functions Python worker.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import venv
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ops.package import (
    FILE_MODE,
    SITE_PACKAGES,
    DeployFilter,
    PackageManifest,
    build_package,
    commit_files,
    format_manifest,
    git,
)
from tools.harness import ARTIFACTS, REPO_ROOT

# Top-level entries of the repository that deploy. A new one must be added here on purpose (or to
# .funcignore): nothing reaches production by accident.
APP_TOP_LEVEL = {
    "activities",
    "api",
    "audit_packets",
    "blob_clients.py",
    "claim_check.py",
    "console",
    "contracts",
    "durable_wire.py",
    "data",
    "evidence",
    "fare_data",
    "function_app.py",
    "host.json",
    "idempotency",
    "identity",
    "integrations",
    "orchestrators",
    "personal_data",
    "relief_routes",
    "requirements.txt",
    "telemetry.py",
    "workflow_catalogue.py",
}
DEV_ONLY_MODULES = {
    "devhost",
    "ops",
    "tests",
    "bench",
    "tools",
    "pytest",
    "schemathesis",
    "playwright",
    "aiohttp_devtools",
}
# Runs in the fresh environment: import the app, list its functions and where every module came from.
IMPORT_CHECK = """
import json, sys
folder = sys.argv[1]
sys.path[:0] = [folder + "/.python_packages/lib/site-packages", folder]
import function_app
functions = sorted(f.get_function_name() for f in function_app.app.get_functions())
modules = {name: getattr(module, "__file__", None) for name, module in sys.modules.items()}
print(json.dumps({"functions": functions, "modules": modules, "base": sys.base_prefix, "prefix": sys.prefix}))
"""


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[PackageManifest, PackageManifest]:
    folder = tmp_path_factory.mktemp("packages")
    cache = ARTIFACTS / "wheels"
    first = build_package(folder / "first.zip", "HEAD", cache)
    second = build_package(folder / "second.zip", "HEAD", cache)
    return first, second


def test_the_same_commit_gives_the_same_bytes(builds: tuple[PackageManifest, PackageManifest]) -> None:
    first, second = builds
    assert first.sha256 == second.sha256 == hashlib.sha256(Path(first.output).read_bytes()).hexdigest()
    assert Path(first.output).read_bytes() == Path(second.output).read_bytes()
    committed = int(git("show", "-s", "--format=%ct", "HEAD"))
    with zipfile.ZipFile(first.output) as archive:
        entries = archive.infolist()
        names = [entry.filename for entry in entries]
        assert names == sorted(names) and len(set(names)) == len(names)
        stamps = {entry.date_time for entry in entries}
        assert len(stamps) == 1, "one timestamp for every entry"
        assert {entry.external_attr >> 16 for entry in entries} == {FILE_MODE}
    moment = datetime.fromtimestamp(committed, UTC)
    expected = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second // 2 * 2)
    assert stamps == {expected}, "the commit's time (zip keeps 2 s steps)"
    printed = format_manifest(first)
    assert f"sha256 {first.sha256}" in printed and f"Size: {first.size} bytes" in printed
    assert "azure-functions-durable==1.7.0" in printed and "function_app.py" in printed


def test_the_zip_holds_the_app_and_its_linux_wheels_and_nothing_dev_only(
    builds: tuple[PackageManifest, PackageManifest],
) -> None:
    manifest = builds[0]
    with zipfile.ZipFile(manifest.output) as archive:
        names = archive.namelist()
    app = [name for name in names if not name.startswith(".python_packages/")]
    assert app == manifest.app_files
    assert {name.split("/")[0] for name in app} == APP_TOP_LEVEL
    assert "data/shelter_staff.local.json" not in app and "local.settings.json.example" not in app
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    packages = [name.removeprefix(SITE_PACKAGES + "/") for name in names if name.startswith(SITE_PACKAGES)]
    assert "azure/durable_functions/__init__.py" in packages and "azure/functions/__init__.py" in packages
    assert any(
        name.startswith("pydantic_core/") and ".cpython-311-x86_64-linux-gnu.so" in name for name in packages
    )
    assert not [name for name in packages if name.startswith("bin/")], "no console scripts with local paths"
    # Every tracked file either deploys or is left out on purpose, and Core Tools agrees.
    files = commit_files("HEAD")
    deploy = DeployFilter(files[".funcignore"].decode())
    assert deploy.disagreements(files) == []
    assert sorted(path for path in files if not deploy.denies(path)) == app
    # The dependencies are the versions the tests ran with.
    assert manifest.differs_from_test_environment == []


def import_check(python: list[str], folder: Path) -> dict[str, Any]:
    """Run IMPORT_CHECK on the app in `folder` with the interpreter command `python`, in a bare
    environment (the HTTP integrations, a fixed task hub); the JSON report it prints last."""
    done = subprocess.run(
        [*python, "-c", IMPORT_CHECK, str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "TASKHUB_NAME": "packagecheck", "INTEGRATIONS_MODE": "http"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return report


def test_a_fresh_environment_imports_the_app_from_the_package_alone(
    builds: tuple[PackageManifest, PackageManifest], tmp_path: Path
) -> None:
    folder = tmp_path / "site"
    with zipfile.ZipFile(builds[0].output) as archive:
        archive.extractall(folder)
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, clear=True).create(environment)
    installed = list((environment / "lib").glob("python*/site-packages/*"))
    assert installed == [], "the environment starts with nothing installed"
    python = environment / "bin" / "python"
    result = import_check([str(python), "-I"], folder)

    # The app as the tests run it, for the expected list (its own interpreter: an app object lists its
    # functions once).
    expected = import_check([sys.executable], REPO_ROOT)["functions"]
    functions = result["functions"]
    assert functions == [f for f in expected if f != "sandbox_state"], (
        "every function, no sandbox view with http"
    )
    assert {"start_maintenance_order", "fare_dispute", "personal_data_retention", "health"} <= set(functions)
    outside = {
        name: path
        for name, path in result["modules"].items()
        if path and not (path.startswith(str(folder)) or path.startswith(result["base"]))
    }
    assert outside == {}, f"imported from outside the package and the standard library: {outside}"
    loaded_roots = {name.split(".")[0] for name in result["modules"]}
    assert not loaded_roots & DEV_ONLY_MODULES
    assert result["prefix"] == str(environment)
    assert sys.prefix != result["prefix"]


def test_funcignore_patterns_core_tools_would_read_differently_are_found() -> None:
    """Core Tools anchors every pattern at the root and wants a word boundary after it."""
    trailing_slash = DeployFilter("/infra/\n")
    assert trailing_slash.denies("infra/.gitkeep") and not trailing_slash.core_tools_denies("infra/.gitkeep")
    assert trailing_slash.disagreements(["infra/.gitkeep", "infra/main.bicep"]) == ["infra/.gitkeep"]
    unanchored = DeployFilter("*.md\n")
    assert unanchored.disagreements(["README.md", "docs/guide.md"]) == ["docs/guide.md"]
    ours = DeployFilter((Path(__file__).parents[2] / ".funcignore").read_text())
    assert ours.denies("devhost/server.py") and ours.core_tools_denies("devhost/server.py")
    assert ours.denies("api/__pycache__/x.pyc") and ours.core_tools_denies("api/__pycache__/x.pyc")
    assert not ours.denies("devhost_notes.py") and not ours.core_tools_denies("devhost_notes.py")
    assert not ours.denies("api/starters.py") and not ours.core_tools_denies("api/starters.py")
