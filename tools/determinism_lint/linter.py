"""Lint a set of files or folders against one Functions app: the library entry point of the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tools.determinism_lint.analyzer import Finding, analyse_module
from tools.determinism_lint.registry import AppIndex, find_app_root

# Never descended into when a folder is linted.
SKIPPED_LINT_DIRS = frozenset({".venv", "venv", "node_modules", "__pycache__"})


@dataclass
class LintReport:
    """Everything one lint run found."""

    app_root: Path
    files: list[Path] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[tuple[Path, int, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the run should exit non-zero."""
        return bool(self.findings or self.errors)


def python_files(path: Path) -> Iterator[Path]:
    """`path` itself if it is a file, else the .py files below it (hidden and venv dirs pruned)."""
    if path.is_file():
        yield path
        return
    for directory, subdirectories, filenames in os.walk(path):
        subdirectories[:] = sorted(
            d for d in subdirectories if d not in SKIPPED_LINT_DIRS and not d.startswith(".")
        )
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                yield Path(directory) / filename


def lint_paths(paths: Sequence[Path], app_root: Path | None = None) -> LintReport:
    """Lint the Python files under `paths`; registered names come from `app_root` (or the
    nearest folder with host.json above the first path, else the current directory)."""
    root = app_root or (find_app_root(paths[0]) if paths else None) or Path.cwd()
    index = AppIndex.scan(root)
    report = LintReport(app_root=index.root)
    seen: set[Path] = set()
    for path in paths:
        for file in python_files(path):
            resolved = file.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            report.files.append(file)
            module = index.ensure(file)
            if module is not None:
                report.findings.extend(analyse_module(index, module, module.source))
    report.errors = list(index.errors)
    report.warnings = list(index.unresolved_registrations)
    return report
