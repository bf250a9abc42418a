"""Helper run with .venv-checkov/bin/python (pycep and tree-sitter live only in that venv).

    bicep_inspect.py parse FILE...   JSON {path: pycep parse tree | {"error": message}}
    bicep_inspect.py syntax FILE...  JSON {path: [syntax error positions]} from tree-sitter-bicep

Used by tests/infra (project invariants on the parse tree) and, for the advisory syntax check,
by `python -m ops infra-validate`. pycep is the parser checkov uses, so a file it cannot parse is
exactly a file checkov would skip silently.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def parse(paths: list[str]) -> dict[str, Any]:
    from pycep import BicepParser  # type: ignore[import-not-found]  # noqa: PLC0415 - per mode

    parser = BicepParser()
    trees: dict[str, Any] = {}
    for path in paths:
        try:
            trees[path] = parser.parse(file_path=Path(path))
        except Exception as error:
            trees[path] = {"error": f"{type(error).__name__}: {str(error)[:500]}"}
    return trees


def syntax(paths: list[str]) -> dict[str, list[str]]:
    import tree_sitter  # type: ignore[import-not-found]  # noqa: PLC0415 - per mode
    import tree_sitter_bicep  # type: ignore[import-not-found]  # noqa: PLC0415

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))
    errors: dict[str, list[str]] = {}
    for path in paths:
        tree = parser.parse(Path(path).read_bytes())
        found: list[str] = []
        stack = [tree.root_node]
        while stack:
            node = stack.pop()
            if node.is_error or node.is_missing:
                row, column = node.start_point
                found.append(f"{row + 1}:{column + 1}")
            elif node.has_error:
                stack.extend(node.children)
        errors[path] = sorted(found)
    return errors


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("parse", "syntax"):
        print("usage: bicep_inspect.py parse|syntax FILE...", file=sys.stderr)
        return 2
    result: Any = parse(argv[1:]) if argv[0] == "parse" else syntax(argv[1:])
    json.dump(result, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
