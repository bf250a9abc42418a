"""Nothing outside tests/ imports the test tree: the harness and clients live in tools/ (a library).

A module outside tests/ that imported `tests.` would make the fuzzing, the soak, the demo or the
benchmarks depend on test files (and on pytest being around); this walks every module's imports
with `ast`, so it also sees imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tools.harness import REPO_ROOT

SKIPPED_DIRECTORIES = {"tests", "node_modules", ".git", ".python_packages", "build"}


def modules_outside_tests(root: Path) -> list[Path]:
    found: list[Path] = []
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if parts[0] in SKIPPED_DIRECTORIES or parts[0].startswith(".venv") or "__pycache__" in parts:
            continue
        found.append(path)
    return sorted(found)


def imports_of_the_test_tree(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of each absolute import of `tests` or a module below it."""
    hits: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        hits.extend((node.lineno, name) for name in names if name == "tests" or name.startswith("tests."))
    return hits


def test_the_walk_finds_an_import_of_the_test_tree() -> None:
    tree = ast.parse("import os\n\ndef f():\n    from tests.support.processes import make_host\n")
    assert imports_of_the_test_tree(tree) == [(4, "tests.support.processes")]
    assert imports_of_the_test_tree(
        ast.parse("import tests\nfrom testsuite import x\nfrom . import tests\n")
    ) == [(1, "tests")]


def test_no_module_outside_tests_imports_the_test_tree() -> None:
    modules = modules_outside_tests(REPO_ROOT)
    assert any(path.parts[-2:] == ("tools", "__init__.py") for path in modules)  # the walk sees tools/
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {name}"
        for path in modules
        for line, name in imports_of_the_test_tree(ast.parse(path.read_text(), str(path)))
    ]
    assert offenders == [], "move what they need into tools/ (the harness library):\n" + "\n".join(offenders)
