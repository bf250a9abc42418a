"""Discover what a Functions app folder registers, and resolve names to string constants.

The registry answers two questions for the analyzer:

- which activity, orchestrator and entity names does the app register? From
  `@<any>.activity_trigger(input_name=..., activity="...")`, `orchestration_trigger(...,
  orchestration="...")`, `entity_trigger(..., entity_name="...")` (name priority, as in the Durable
  extension: the trigger's name argument, then `@<any>.function_name(name=...)`, then the Python
  function name), and from v1-style `<folder>/function.json` trigger bindings.
- what string does an expression such as `RESERVE_STOCK_ACTIVITY` or `names.RESERVE_STOCK_ACTIVITY`
  stand for? Module-level string constants are followed across the app's own imports (absolute
  app-relative imports and relative imports), through re-exports and simple `+` concatenation.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Kind = Literal["activity", "orchestrator", "entity"]

# Directories that are never part of the app's code, wherever they sit below the app root.
SKIPPED_DIRS = frozenset(
    {".venv", "venv", "node_modules", "__pycache__", "tests", "test", "build", "dist", "__blobstorage__"}
)

TRIGGER_NAME_ARGUMENT: dict[str, tuple[Kind, str]] = {
    "activity_trigger": ("activity", "activity"),
    "orchestration_trigger": ("orchestrator", "orchestration"),
    "entity_trigger": ("entity", "entity_name"),
}
FUNCTION_JSON_TRIGGERS: dict[str, Kind] = {
    "activityTrigger": "activity",
    "orchestrationTrigger": "orchestrator",
    "entityTrigger": "entity",
}
# Guards against import cycles between constants (A = B in one module, B = A in another).
MAX_RESOLVE_DEPTH = 12


@dataclass(frozen=True)
class Registration:
    """One registered durable function."""

    kind: Kind
    name: str
    path: Path
    line: int
    module: str
    function: str


@dataclass
class ModuleInfo:
    """A parsed Python module of the app (or a linted file outside it)."""

    name: str
    path: Path
    tree: ast.Module
    is_package: bool
    source: str = ""
    imports: dict[str, str] = field(default_factory=dict)
    assignments: dict[str, ast.expr] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)

    @classmethod
    def parse(cls, path: Path, name: str, source: str | None = None) -> ModuleInfo:
        """Parse `path` (raises SyntaxError, OSError, UnicodeDecodeError)."""
        text = path.read_text(encoding="utf-8") if source is None else source
        tree = ast.parse(text, filename=str(path))
        info = cls(name=name, path=path, tree=tree, is_package=path.name == "__init__.py", source=text)
        info._index()
        return info

    def _index(self) -> None:
        for node in self.tree.body:
            self._index_statement(node)

    def _index_statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.imports[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    self.imports[head] = head
        elif isinstance(node, ast.ImportFrom):
            base = self.absolute_module(node.module, node.level)
            for alias in node.names:
                if alias.name != "*":
                    self.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.assignments[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            self.assignments[node.target.id] = node.value
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self.functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            self.classes[node.name] = node
        elif isinstance(node, ast.If | ast.Try):
            # `if TYPE_CHECKING:` imports and `try: import x except ImportError:` fallbacks.
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    self._index_statement(child)
                elif isinstance(child, ast.ExceptHandler):
                    for statement in child.body:
                        self._index_statement(statement)

    def absolute_module(self, module: str | None, level: int) -> str:
        """Turn `from <dots><module> import` into an absolute dotted module name."""
        if level == 0:
            return module or ""
        package = self.name.split(".") if self.is_package else self.name.split(".")[:-1]
        if level > 1:
            package = package[: len(package) - (level - 1)]
        parts = [*package, *(module.split(".") if module else [])]
        return ".".join(part for part in parts if part)

    def qualified_name(self, node: ast.expr) -> str | None:
        """Dotted name an expression refers to through this module's imports (`dt.now` -> ...)."""
        head, attributes = attribute_chain(node)
        if not isinstance(head, ast.Name) or head.id not in self.imports:
            return None
        return ".".join([self.imports[head.id], *attributes])


def attribute_chain(node: ast.expr) -> tuple[ast.expr, list[str]]:
    """`a.b.c` -> (the expression `a`, ["b", "c"]): the head of an attribute chain and its names."""
    names: list[str] = []
    current = node
    while isinstance(current, ast.Attribute):
        names.append(current.attr)
        current = current.value
    return current, names[::-1]


class AppIndex:
    """All modules and registrations of one Functions app folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.modules: dict[str, ModuleInfo] = {}
        self.by_path: dict[Path, ModuleInfo] = {}
        self.registrations: list[Registration] = []
        self.errors: list[tuple[Path, str]] = []
        self.unresolved_registrations: list[tuple[Path, int, str]] = []

    @classmethod
    def scan(cls, root: Path) -> AppIndex:
        """Parse every Python module and function.json below `root`."""
        index = cls(root)
        for path in sorted(iter_app_files(index.root, ".py")):
            index.load(path)
        for path in sorted(iter_app_files(index.root, "function.json")):
            index._load_function_json(path)
        for module in list(index.by_path.values()):
            index._collect_registrations(module)
        return index

    def ensure(self, path: Path) -> ModuleInfo | None:
        """The module for a linted file, loading it (and its registrations) if the scan skipped it."""
        known = path.resolve() in self.by_path
        module = self.load(path)
        if module is not None and not known:
            self._collect_registrations(module)
        return module

    def module_name_for(self, path: Path) -> str:
        """App-relative dotted module name (`orchestrators/x.py` -> `orchestrators.x`)."""
        resolved = path.resolve()
        try:
            relative = resolved.relative_to(self.root)
        except ValueError:
            return resolved.stem
        parts = list(relative.with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts)

    def load(self, path: Path) -> ModuleInfo | None:
        """Parse `path` once; a file that does not parse is recorded in `errors`."""
        resolved = path.resolve()
        if resolved in self.by_path:
            return self.by_path[resolved]
        if any(failed == resolved for failed, _ in self.errors):
            return None
        try:
            module = ModuleInfo.parse(resolved, self.module_name_for(resolved))
        except (SyntaxError, OSError, UnicodeDecodeError, ValueError) as error:
            self.errors.append((resolved, f"cannot parse: {error}"))
            return None
        self.by_path[resolved] = module
        self.modules.setdefault(module.name, module)
        return module

    def _load_function_json(self, path: Path) -> None:
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            self.errors.append((path, f"cannot read function.json: {error}"))
            return
        bindings = config.get("bindings", []) if isinstance(config, dict) else []
        for binding in bindings if isinstance(bindings, list) else []:
            kind = FUNCTION_JSON_TRIGGERS.get(binding.get("type", "")) if isinstance(binding, dict) else None
            if kind:
                name = path.parent.name
                self.registrations.append(Registration(kind, name, path, 1, self.module_name_for(path), name))

    def _collect_registrations(self, module: ModuleInfo) -> None:
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            function_name: str | None = None
            triggers: list[tuple[Kind, ast.expr | None]] = []
            for decorator in node.decorator_list:
                if not isinstance(decorator, ast.Call):
                    continue
                called = terminal_name(decorator.func)
                if called == "function_name":
                    argument = call_argument(decorator, 0, "name")
                    function_name = self.resolve_string(module, argument) if argument else None
                elif called in TRIGGER_NAME_ARGUMENT:
                    kind, keyword = TRIGGER_NAME_ARGUMENT[called]
                    triggers.append((kind, call_argument(decorator, 1, keyword)))
            for kind, name_expr in triggers:
                name = None
                if name_expr is not None and not is_none(name_expr):
                    name = self.resolve_string(module, name_expr)
                    if name is None:
                        self.unresolved_registrations.append(
                            (module.path, node.lineno, f"{kind} name of {node.name}() is not a constant")
                        )
                        continue
                name = name or function_name or node.name
                self.registrations.append(
                    Registration(kind, name, module.path, node.lineno, module.name, node.name)
                )

    def registered(self, kind: Kind) -> dict[str, Registration]:
        """Registered names of one kind."""
        return {r.name: r for r in self.registrations if r.kind == kind}

    def registration_of_function(self, module_name: str, function: str) -> Registration | None:
        """The registration made by decorating `module_name.function`, if any."""
        for registration in self.registrations:
            if registration.module == module_name and registration.function == function:
                return registration
        return None

    def resolve_string(self, module: ModuleInfo, expr: ast.expr, depth: int = 0) -> str | None:
        """The string `expr` stands for, or None when it is not a resolvable constant."""
        if depth > MAX_RESOLVE_DEPTH:
            return None
        if isinstance(expr, ast.Constant):
            return expr.value if isinstance(expr.value, str) else None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left = self.resolve_string(module, expr.left, depth + 1)
            right = self.resolve_string(module, expr.right, depth + 1)
            return left + right if left is not None and right is not None else None
        if isinstance(expr, ast.Name):
            if expr.id in module.assignments:
                return self.resolve_string(module, module.assignments[expr.id], depth + 1)
            if expr.id in module.imports:
                return self.resolve_qualified(module.imports[expr.id], depth + 1)
            return None
        if isinstance(expr, ast.Attribute):
            if isinstance(expr.value, ast.Name) and expr.value.id in module.classes:
                return self.class_constant(module, module.classes[expr.value.id], expr.attr, depth + 1)
            if expr.attr == "value":  # `Names.RESERVE.value` of a str Enum member
                return self.resolve_string(module, expr.value, depth + 1)
            qualified = module.qualified_name(expr)
            return self.resolve_qualified(qualified, depth + 1) if qualified else None
        return None

    def class_constant(self, module: ModuleInfo, cls: ast.ClassDef, attr: str, depth: int) -> str | None:
        """`Cls.ATTR` for a class-level string (a str Enum member or a plain class constant)."""
        for statement in cls.body:
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets = [statement.target]
            else:
                continue
            if any(isinstance(t, ast.Name) and t.id == attr for t in targets):
                value = statement.value
                return self.resolve_string(module, value, depth + 1) if value is not None else None
        return None

    def resolve_qualified(self, qualified: str, depth: int) -> str | None:
        """Resolve `package.module.NAME` or `package.module.Class.NAME` to its string value."""
        target = self.split_module(qualified)
        if target is None:
            return None
        module, rest = target
        if len(rest) == 1:
            return self.resolve_string(module, ast.Name(id=rest[0], ctx=ast.Load()), depth + 1)
        if len(rest) == 2 and rest[0] in module.classes:
            return self.class_constant(module, module.classes[rest[0]], rest[1], depth + 1)
        if len(rest) == 2 and rest[0] in module.imports:
            return self.resolve_qualified(f"{module.imports[rest[0]]}.{rest[1]}", depth + 1)
        return None

    def split_module(self, qualified: str) -> tuple[ModuleInfo, list[str]] | None:
        """Split a dotted name into the longest app module prefix and the remaining parts."""
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self.modules.get(".".join(parts[:cut]))
            if module is not None:
                return module, parts[cut:]
        return None

    def resolve_function(self, module: ModuleInfo, expr: ast.expr) -> tuple[str, str] | None:
        """(module, function) that a Name/Attribute refers to when it is a function of the app."""
        if isinstance(expr, ast.Name) and expr.id in module.functions:
            return module.name, expr.id
        qualified = module.qualified_name(expr)
        if qualified is None:
            return None
        for _ in range(MAX_RESOLVE_DEPTH):
            target = self.split_module(qualified)
            if target is None or len(target[1]) != 1:
                return None
            owner, (name,) = target
            if name in owner.functions:
                return owner.name, name
            if name not in owner.imports:
                return None
            qualified = owner.imports[name]
        return None


def iter_app_files(root: Path, suffix: str) -> Iterator[Path]:
    """Files under `root` whose name ends in `suffix`, skipping virtualenvs, tests and hidden dirs.

    Skipped folders are pruned, not walked: node_modules alone can hold tens of thousands of files.
    """
    for directory, subdirectories, filenames in os.walk(root):
        subdirectories[:] = sorted(
            d for d in subdirectories if d not in SKIPPED_DIRS and not d.startswith(".")
        )
        for filename in sorted(filenames):
            if filename.endswith(suffix):
                yield Path(directory) / filename


def terminal_name(node: ast.expr) -> str | None:
    """`bp.activity_trigger` -> `activity_trigger`; `foo` -> `foo`."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def call_argument(call: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    """The argument passed by `keyword=` or at `position` (None: keyword only)."""
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if position is not None and position < len(call.args):
        argument = call.args[position]
        return None if isinstance(argument, ast.Starred) else argument
    return None


def is_none(node: ast.expr) -> bool:
    """True for the literal `None`."""
    return isinstance(node, ast.Constant) and node.value is None


def find_app_root(start: Path) -> Path | None:
    """Nearest directory at or above `start` holding host.json (the Functions app root marker)."""
    current = start.resolve()
    if current.is_file():
        current = current.parent
    for candidate in (current, *current.parents):
        if (candidate / "host.json").is_file():
            return candidate
    return None
