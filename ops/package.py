"""`python -m ops package`: the deploy package, built from exactly the files that deploy.

The zip holds:
- the app: every file of the commit (default `HEAD`, read from git, so uncommitted changes never
  slip in) that `.funcignore` does not exclude; `func azure functionapp publish` reads the same
  file, and the build refuses to run when Core Tools' simplified reading of it and git's rules
  would disagree about any file;
- its dependencies: `requirements.txt` of that commit resolved for Linux x86_64 CPython 3.11
  (what infra/ runs), wheels only, installed into `.python_packages/lib/site-packages` (where the
  Python worker looks). Wheels come from the machine's package index once and are kept in
  `--wheel-cache` (default `.artifacts/wheels`); later builds install from there with no index.
  Console scripts (`bin/`, whose first line names this machine's interpreter) are left out.

Byte-identical for the same commit and wheels: entries sorted, every timestamp the commit's time,
every file mode 0644, one compression level. It prints the manifest (app files; distributions with
their versions) and the size and SHA-256 of the zip, and warns when a packaged distribution has
another version than the environment that ran the tests.

Exit codes: 0 built, 1 the build failed (git, pip, or a .funcignore that the two parsers read
differently), 2 usage error.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import HeaderParser
from pathlib import Path

import pathspec

from ops.command_line import SubParsers, add_command, add_json_option, print_result

SUMMARY = "build the deploy zip of a commit: the app files .funcignore keeps, Linux CPython 3.11 wheels"
REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCIGNORE = ".funcignore"
SITE_PACKAGES = ".python_packages/lib/site-packages"
DEFAULT_WHEEL_CACHE = REPO_ROOT / ".artifacts" / "wheels"
# The worker infra/ deploys: Linux x86_64, CPython 3.11 (Azure Functions' image is Debian with
# glibc >= 2.31, so manylinux wheels up to 2_28 run there).
PYTHON_VERSION = "3.11"
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
FILE_MODE = 0o100644
COMPRESSION_LEVEL = 6


class PackageError(Exception):
    """The package cannot be built; the message says why and what to do."""


# -- which files deploy -------------------------------------------------------------------------


class DeployFilter:
    """`.funcignore` read two ways: git's rules (pathspec) and Core Tools' simplified parser.

    Core Tools (`func azure functionapp publish`) anchors every pattern at the project root, turns
    `**` into "one or more characters" and `*` into "one or more characters but `/`", and needs a
    word boundary after the match; a leading `!` accepts what matches. Files are denied when git's
    rules deny them; `disagreements` lists every file the two readings treat differently.
    """

    def __init__(self, text: str) -> None:
        lines = [line.strip() for line in text.splitlines()]
        patterns = [line for line in lines if line and not line.startswith("#")]
        self._spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        self._core_tools_deny = _core_tools_regex([p for p in patterns if not p.startswith("!")])
        self._core_tools_accept = _core_tools_regex([p[1:] for p in patterns if p.startswith("!")])

    def denies(self, path: str) -> bool:
        """Whether `path` (relative, `/`-separated) stays out of the package."""
        return bool(self._spec.match_file(path))

    def core_tools_denies(self, path: str) -> bool:
        """Whether Core Tools' parser would leave `path` out."""
        if self._core_tools_accept is not None and self._core_tools_accept.match(path):
            return False
        return self._core_tools_deny is not None and self._core_tools_deny.match(path) is not None

    def disagreements(self, paths: Iterable[str]) -> list[str]:
        """The paths one reading packages and the other leaves out."""
        return sorted(path for path in paths if self.denies(path) != self.core_tools_denies(path))


def _core_tools_regex(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    parts = []
    for pattern in patterns:
        escaped = re.escape(pattern.removeprefix("/"))
        parts.append(escaped.replace(r"\*\*", ".+").replace(r"\*", "[^/]+"))
    return re.compile("^((" + ")|(".join(parts) + r"))\b")


# -- the build ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """One packaged dependency."""

    name: str
    version: str
    files: int


@dataclass
class PackageManifest:
    """What the zip holds, and the zip itself."""

    commit: str
    output: str = ""
    app_files: list[str] = field(default_factory=list)
    distributions: list[Distribution] = field(default_factory=list)
    dependency_files: int = 0
    size: int = 0
    sha256: str = ""
    differs_from_test_environment: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "commit": self.commit,
            "output": self.output,
            "appFiles": self.app_files,
            "distributions": [
                {"name": d.name, "version": d.version, "files": d.files} for d in self.distributions
            ],
            "dependencyFiles": self.dependency_files,
            "size": self.size,
            "sha256": self.sha256,
            "differsFromTestEnvironment": self.differs_from_test_environment,
        }


def git(*args: str, repo: Path = REPO_ROOT) -> bytes:
    """Run git in `repo`; its stdout."""
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True)
    except FileNotFoundError:
        raise PackageError("git is not installed; the package is built from a git commit") from None
    except subprocess.CalledProcessError as error:
        raise PackageError(
            f"git {' '.join(args)} failed: {error.stderr.decode(errors='replace').strip()}"
        ) from None
    return done.stdout


def commit_files(commit: str, repo: Path = REPO_ROOT) -> dict[str, bytes]:
    """Every regular file of `commit`, path -> content."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(git("archive", "--format=tar", commit, repo=repo))) as archive:
        for member in archive.getmembers():
            if member.isfile():
                extracted = archive.extractfile(member)
                assert extracted is not None
                files[member.name] = extracted.read()
    return files


def install_dependencies(requirements: bytes, wheel_cache: Path, target: Path) -> None:
    """`requirements` for Linux x86_64 CPython 3.11 into `target`: from the cache, else downloaded first."""
    wheel_cache.mkdir(parents=True, exist_ok=True)
    requirements_file = target.parent / "requirements.txt"
    requirements_file.write_bytes(requirements)
    platform = [arg for name in PLATFORMS for arg in ("--platform", name)]
    binary_only = ["--only-binary=:all:", *platform, "--python-version", PYTHON_VERSION]
    binary_only += ["--implementation", "cp", "--abi", "cp" + PYTHON_VERSION.replace(".", "")]
    install = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
        "--find-links", str(wheel_cache), *binary_only, "--no-compile", "--no-warn-script-location",
        "--target", str(target), "-r", str(requirements_file),
    ]  # fmt: skip
    if subprocess.run(install, capture_output=True, check=False).returncode == 0:
        return
    download = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        *binary_only, "--dest", str(wheel_cache), "-r", str(requirements_file),
    ]  # fmt: skip
    fetched = subprocess.run(download, capture_output=True, text=True, check=False)
    if fetched.returncode != 0:
        raise PackageError(
            "pip could not download Linux x86_64 CPython 3.11 wheels for requirements.txt (is the package "
            f"index reachable, and does every pin have such a wheel?):\n{_pip_error(fetched.stderr)}"
        )
    shutil.rmtree(target, ignore_errors=True)
    installed = subprocess.run(install, capture_output=True, text=True, check=False)
    if installed.returncode != 0:
        raise PackageError(f"pip could not install the downloaded wheels:\n{_pip_error(installed.stderr)}")


def _pip_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("WARNING: Location")]
    return "\n".join(lines[-15:])


def dependency_files(target: Path) -> dict[str, bytes]:
    """The installed dependencies as package paths, without console scripts and caches."""
    files = {}
    for path in sorted(target.rglob("*")):
        relative = path.relative_to(target).as_posix()
        if (
            path.is_dir()
            or relative.startswith("bin/")
            or "__pycache__" in path.parts
            or path.suffix == ".pyc"
        ):
            continue
        files[f"{SITE_PACKAGES}/{relative}"] = path.read_bytes()
    return files


def distributions(target: Path) -> list[Distribution]:
    """Name, version and file count of every installed distribution (from its METADATA)."""
    found = []
    for info in sorted(target.glob("*.dist-info")):
        metadata = HeaderParser().parsestr((info / "METADATA").read_text(encoding="utf-8", errors="replace"))
        record = info / "RECORD"
        count = len(record.read_text(encoding="utf-8").splitlines()) if record.exists() else 0
        found.append(Distribution(str(metadata["Name"]), str(metadata["Version"]), count))
    return found


def test_environment_differences(packaged: Iterable[Distribution]) -> list[str]:
    """`name: packaged X, tested Y` for every packaged distribution the running environment has
    in another version (the tests ran in this environment)."""
    differences = []
    for distribution in packaged:
        try:
            tested = importlib.metadata.version(distribution.name)
        except importlib.metadata.PackageNotFoundError:
            differences.append(f"{distribution.name}: packaged {distribution.version}, not installed here")
            continue
        if tested != distribution.version:
            differences.append(f"{distribution.name}: packaged {distribution.version}, tested {tested}")
    return differences


def write_zip(entries: dict[str, bytes], output: Path, moment: datetime) -> None:
    """Sorted entries, one timestamp, mode 0644, fixed compression: the same bytes every time."""
    stamp = max(moment.astimezone(UTC), datetime(1980, 1, 1, tzinfo=UTC)).timetuple()[:6]
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(output.suffix + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, entries[name], compresslevel=COMPRESSION_LEVEL)
    partial.replace(output)


def build_package(
    output: Path | None = None,
    commit: str = "HEAD",
    wheel_cache: Path = DEFAULT_WHEEL_CACHE,
    repo: Path = REPO_ROOT,
) -> PackageManifest:
    """Build the deploy package of `commit`; its manifest."""
    full_commit = git("rev-parse", "--verify", f"{commit}^{{commit}}", repo=repo).decode().strip()
    committed_at = datetime.fromtimestamp(int(git("show", "-s", "--format=%ct", full_commit, repo=repo)), UTC)
    files = commit_files(full_commit, repo)
    if FUNCIGNORE not in files:
        raise PackageError(
            f"{FUNCIGNORE} is missing from commit {full_commit[:12]}: it lists what never deploys"
        )
    if "requirements.txt" not in files or "function_app.py" not in files:
        raise PackageError(
            f"commit {full_commit[:12]} has no function_app.py or requirements.txt at its root"
        )
    deploy = DeployFilter(files[FUNCIGNORE].decode())
    disagreements = deploy.disagreements(files)
    if disagreements:
        raise PackageError(
            f"{FUNCIGNORE} means different things to git's rules and to Core Tools for: "
            + ", ".join(disagreements[:20])
            + "; anchor each pattern at the root with a leading '/' (see the file's header)"
        )
    app = {path: content for path, content in files.items() if not deploy.denies(path)}
    manifest = PackageManifest(commit=full_commit, app_files=sorted(app))
    with tempfile.TemporaryDirectory(prefix="ops-package-") as work:
        target = Path(work) / "site-packages"
        install_dependencies(files["requirements.txt"], wheel_cache, target)
        dependencies = dependency_files(target)
        manifest.distributions = distributions(target)
    manifest.dependency_files = len(dependencies)
    manifest.differs_from_test_environment = test_environment_differences(manifest.distributions)
    destination = output or repo / "build" / f"app-{full_commit[:12]}.zip"
    write_zip({**app, **dependencies}, destination, committed_at)
    data = destination.read_bytes()
    manifest.output, manifest.size, manifest.sha256 = (
        str(destination),
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    return manifest


def package_problems(package: Path, repo: Path = REPO_ROOT) -> list[str]:
    """Why `package` is not a deploy package of this project (empty when it is one).

    A deploy package has `function_app.py` and `host.json` at its root, its dependencies under
    `.python_packages/lib/site-packages/`, and no file that `.funcignore` leaves out.
    """
    try:
        with zipfile.ZipFile(package) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile) as error:
        return [f"{package} is not a readable zip ({error})"]
    problems = [f"no {name} at the root" for name in ("function_app.py", "host.json") if name not in names]
    if not any(name.startswith(SITE_PACKAGES + "/") for name in names):
        problems.append(f"no dependencies under {SITE_PACKAGES}/ (build it with python -m ops package)")
    deploy = DeployFilter((repo / FUNCIGNORE).read_text(encoding="utf-8"))
    excluded = sorted(n for n in names if not n.startswith(".python_packages/") and deploy.denies(n))
    if excluded:
        problems.append(f"files that never deploy (.funcignore): {', '.join(excluded[:10])}")
    return problems


def format_manifest(manifest: PackageManifest) -> str:
    """The printed manifest."""
    lines = [f"Deploy package of commit {manifest.commit}", f"App files ({len(manifest.app_files)}):"]
    lines += [f"  {path}" for path in manifest.app_files]
    lines.append(
        f"Dependencies for Linux x86_64 CPython {PYTHON_VERSION} in {SITE_PACKAGES} "
        f"({len(manifest.distributions)} distributions, {manifest.dependency_files} files):"
    )
    lines += [f"  {d.name}=={d.version}" for d in manifest.distributions]
    for difference in manifest.differs_from_test_environment:
        lines.append(f"warning: not what the tests ran with: {difference}")
    lines.append(f"Package: {manifest.output}")
    lines.append(f"Size: {manifest.size} bytes ({manifest.size / 1048576:.1f} MiB), sha256 {manifest.sha256}")
    return "\n".join(lines)


def handle(args: argparse.Namespace) -> int:
    """Entry point of `python -m ops package`."""
    try:
        manifest = build_package(args.output, args.commit, args.wheel_cache)
    except PackageError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print_result(args.json, manifest.to_dict(), format_manifest(manifest))
    dirty = git("status", "--porcelain", "--untracked-files=no").decode().strip()
    if dirty and args.commit == "HEAD":
        print(
            "note: the working tree has uncommitted changes; the package holds the commit only",
            file=sys.stderr,
        )
    return 0


def register(subparsers: SubParsers) -> None:
    """Add the `package` subcommand."""
    parser = add_command(subparsers, "package", SUMMARY, __doc__, handle)
    parser.add_argument("--output", type=Path, help="zip to write (default: build/app-<commit>.zip)")
    parser.add_argument("--commit", default="HEAD", help="commit to package (default: HEAD)")
    parser.add_argument(
        "--wheel-cache",
        type=Path,
        default=DEFAULT_WHEEL_CACHE,
        help="where downloaded wheels are kept between builds (default: .artifacts/wheels)",
    )
    add_json_option(parser, "print the manifest as JSON")
