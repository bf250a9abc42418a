"""The devhost's shape: every module stays small enough to read, and no module imports in a circle.

Imports are read with `ast`, at any depth (function-level and TYPE_CHECKING imports count: a cycle
hidden in a function is still a cycle). Only imports between devhost modules matter here.
"""

from __future__ import annotations

import ast
from pathlib import Path

DEVHOST = Path(__file__).resolve().parents[3] / "devhost"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(DEVHOST.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def devhost_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(DEVHOST.rglob("*.py"))}


def imported_modules(path: Path, name: str, known: set[str]) -> set[str]:
    """The devhost modules `path` imports (`from devhost import history` names devhost.history)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    modules = devhost_modules()
    return {name: imported_modules(path, name, set(modules)) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that ends where it starts, or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" afterwards
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)) is not None:
            return cycle
    return None


def test_every_devhost_module_is_at_most_500_lines() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in devhost_modules().items()
    }
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert not too_long, f"split these along their own seams (limit {MAX_LINES} lines): {too_long}"


def test_the_devhost_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert (
        "devhost.engine" in graph and "devhost.episodes" in graph["devhost.engine"]
    )  # the walk sees imports
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_entity_host_does_not_reach_into_the_engine() -> None:
    assert "devhost.engine" not in import_graph()["devhost.entities"]


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_function_level_and_relative_imports_are_seen(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "def later():\n    from devhost import engine\n    from .store import BlobStore\n", encoding="utf-8"
    )
    known = {"devhost.engine", "devhost.store", "devhost.mod"}
    assert imported_modules(source, "devhost.mod", known) == {"devhost.engine", "devhost.store"}
