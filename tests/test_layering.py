"""The layers import downwards only (docs/architecture.md): checked on the source, with `ast`.

- nothing outside orchestrators/ imports an orchestrator module: the activities, the API and the
  other app parts take each workflow's wire models and names from contracts/<workflow>.py;
- the API never imports an activity module (what both need lives in a module of its own);
- integrations/ never imports the API (HTTP views of the sandboxes are API modules);
- contracts/ imports none of the layers above it.
Every import counts, including those inside functions; `function_app.py` and the workflow catalogue
register the orchestrators and are not checked.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# The layers above the shared building blocks (docs/architecture.md).
EDGE_AND_PROCESS = frozenset({"orchestrators", "activities", "api"})

# (folder, the top-level packages its modules must not import, why)
RULES: list[tuple[str, frozenset[str], str]] = [
    ("activities", frozenset({"orchestrators", "api"}), "activities take their contracts from contracts/"),
    ("api", frozenset({"orchestrators", "activities"}), "the API takes its contracts from contracts/"),
    ("integrations", EDGE_AND_PROCESS, "integrations sit below the layers; HTTP views belong in api/"),
    ("contracts", EDGE_AND_PROCESS, "contracts are the bottom layer"),
    ("console", frozenset({"orchestrators", "activities"}), "the console reads contracts/ and the API"),
    ("evidence", EDGE_AND_PROCESS, "audit profiles name contracts only"),
    ("audit_packets", EDGE_AND_PROCESS, "the seal step is imported by orchestrators, not the reverse"),
    ("personal_data", EDGE_AND_PROCESS, "the erasure step is imported by orchestrators, not the reverse"),
    ("ops", frozenset({"orchestrators", "activities"}), "operations talk to the app over HTTP"),
]


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted module) of every import in `path`, relative ones resolved against its package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(REPO_ROOT).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            # `from orchestrators import maintenance_order` imports the module too.
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def crossings(folder: str, forbidden: frozenset[str]) -> list[str]:
    """`file:line imports module` for each import from `folder` into a forbidden package."""
    found = []
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        for line, module in imported_modules(path):
            if module.split(".", 1)[0] in forbidden:
                found.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {module}")
    return sorted(set(found))


@pytest.mark.parametrize(("folder", "forbidden", "why"), RULES, ids=[rule[0] for rule in RULES])
def test_layers_import_downwards_only(folder: str, forbidden: frozenset[str], why: str) -> None:
    assert (REPO_ROOT / folder).is_dir()
    assert crossings(folder, forbidden) == [], why


def test_the_check_sees_imports_that_cross() -> None:
    """The walker is not vacuous: the orchestrators do import their contracts, and it finds that."""
    assert any(
        module == "contracts.maintenance_order"
        for _, module in imported_modules(REPO_ROOT / "orchestrators" / "maintenance_order.py")
    )
    assert crossings("orchestrators", frozenset({"contracts"})) != []
