"""Find orchestrators in a module and report what makes them non-deterministic or unsafe on replay.

Orchestrators are functions decorated with `<any>.orchestration_trigger(...)`, generator (or
`async`) functions with a parameter typed `DurableOrchestrationContext`, and v1-style functions
passed to `Orchestrator.create(...)`. The analysis covers the orchestrator body and, up to
`MAX_HELPER_DEPTH` calls deep, the functions of the same module that it calls: they run inside
the replay too. A helper called inside `if not context.is_replaying:` is analysed as guarded.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tools.determinism_lint.registry import (
    AppIndex,
    Kind,
    ModuleInfo,
    attribute_chain,
    call_argument,
    terminal_name,
)
from tools.determinism_lint.rules import RULES_BY_ID

MAX_HELPER_DEPTH = 4

# Dotted names (after import resolution) and the rule they break. A pattern also matches
# everything below it (`requests` matches `requests.get`); the longest pattern wins.
NAME_PATTERNS: dict[str, str] = {
    # DF001 wall clock
    "datetime.datetime.now": "DF001",
    "datetime.datetime.utcnow": "DF001",
    "datetime.datetime.today": "DF001",
    "datetime.date.today": "DF001",
    "time.time": "DF001",
    "time.time_ns": "DF001",
    "time.monotonic": "DF001",
    "time.monotonic_ns": "DF001",
    "time.perf_counter": "DF001",
    "time.perf_counter_ns": "DF001",
    "time.process_time": "DF001",
    "time.localtime": "DF001",
    "time.gmtime": "DF001",
    "time.ctime": "DF001",
    # DF002 sleep
    "time.sleep": "DF002",
    "asyncio.sleep": "DF002",
    # DF003 random ids
    "uuid.uuid1": "DF003",
    "uuid.uuid4": "DF003",
    # DF004 randomness
    "random": "DF004",
    "secrets": "DF004",
    "os.urandom": "DF004",
    "os.getrandom": "DF004",
    "numpy.random": "DF004",
    # DF005 environment and settings
    "os.environ": "DF005",
    "os.environb": "DF005",
    "os.getenv": "DF005",
    "os.getenvb": "DF005",
    "os.putenv": "DF005",
    "os.unsetenv": "DF005",
    "dotenv": "DF005",
    "decouple.config": "DF005",
    "environs": "DF005",
    "pydantic_settings": "DF005",
    # DF006 I/O and SDK clients
    "builtins.open": "DF006",
    "builtins.input": "DF006",
    "io.open": "DF006",
    "io.FileIO": "DF006",
    "os.open": "DF006",
    "os.read": "DF006",
    "os.write": "DF006",
    "os.listdir": "DF006",
    "os.scandir": "DF006",
    "os.walk": "DF006",
    "os.remove": "DF006",
    "os.unlink": "DF006",
    "os.rename": "DF006",
    "os.replace": "DF006",
    "os.mkdir": "DF006",
    "os.makedirs": "DF006",
    "os.rmdir": "DF006",
    "os.stat": "DF006",
    "os.system": "DF006",
    "os.popen": "DF006",
    "os.getcwd": "DF006",
    "os.path.exists": "DF006",
    "os.path.isfile": "DF006",
    "os.path.isdir": "DF006",
    "os.path.getsize": "DF006",
    "os.path.getmtime": "DF006",
    "pathlib.Path.cwd": "DF006",
    "pathlib.Path.home": "DF006",
    "shutil": "DF006",
    "subprocess": "DF006",
    "glob": "DF006",
    "tempfile": "DF006",
    "sqlite3": "DF006",
    "socket": "DF006",
    "ssl": "DF006",
    "requests": "DF006",
    "httpx": "DF006",
    "aiohttp": "DF006",
    "urllib.request": "DF006",
    "urllib3": "DF006",
    "http.client": "DF006",
    "ftplib": "DF006",
    "smtplib": "DF006",
    "azure.storage": "DF006",
    "azure.data.tables": "DF006",
    "azure.cosmos": "DF006",
    "azure.servicebus": "DF006",
    "azure.eventhub": "DF006",
    "azure.keyvault": "DF006",
    "azure.identity": "DF006",
    "azure.core.pipeline": "DF006",
    "boto3": "DF006",
    "psycopg": "DF006",
    "psycopg2": "DF006",
    "pyodbc": "DF006",
    "pymongo": "DF006",
    "redis": "DF006",
    # DF007 threads and concurrency
    "threading": "DF007",
    "_thread": "DF007",
    "concurrent": "DF007",
    "multiprocessing": "DF007",
    "asyncio": "DF007",
    # DF011 logging (reported only outside an `is_replaying` guard)
    "logging.debug": "DF011",
    "logging.info": "DF011",
    "logging.warning": "DF011",
    "logging.warn": "DF011",
    "logging.error": "DF011",
    "logging.exception": "DF011",
    "logging.critical": "DF011",
    "logging.fatal": "DF011",
    "logging.log": "DF011",
    "builtins.print": "DF011",
    # DF016 values that differ between worker processes
    "builtins.hash": "DF016",
    "builtins.id": "DF016",
    "os.getpid": "DF016",
    "os.getppid": "DF016",
    "threading.get_ident": "DF016",
    "threading.get_native_id": "DF016",
    "socket.gethostname": "DF016",
    "platform.node": "DF016",
}

# SDK client classes flagged by their own name even when they come through a wrapper module.
CLIENT_CLASSES = frozenset(
    {
        "BlobServiceClient",
        "BlobClient",
        "ContainerClient",
        "QueueServiceClient",
        "QueueClient",
        "TableServiceClient",
        "TableClient",
        "ShareServiceClient",
        "ShareClient",
        "DataLakeServiceClient",
        "CosmosClient",
        "ServiceBusClient",
        "EventHubProducerClient",
        "EventHubConsumerClient",
        "SecretClient",
        "DefaultAzureCredential",
        "ManagedIdentityCredential",
    }
)
PATH_IO_METHODS = frozenset(
    {
        "open",
        "read_text",
        "read_bytes",
        "write_text",
        "write_bytes",
        "exists",
        "is_file",
        "is_dir",
        "iterdir",
        "glob",
        "rglob",
        "mkdir",
        "unlink",
        "rmdir",
        "stat",
        "touch",
        "rename",
        "replace",
        "resolve",
    }
)
LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"}
)
LOGGER_NAMES = frozenset({"logger", "log", "_logger", "_log"})
MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "update",
        "add",
        "discard",
        "setdefault",
        "popitem",
        "sort",
        "reverse",
        "appendleft",
        "extendleft",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
    }
)
SET_METHODS = frozenset({"union", "intersection", "difference", "symmetric_difference", "copy"})
ORDERING_CONSUMERS = frozenset({"list", "tuple", "enumerate", "iter", "next", "zip", "map", "filter"})
DATETIME_TYPES = frozenset({"datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta"})
DATETIME_METHODS = frozenset(
    {"replace", "astimezone", "combine", "fromisoformat", "fromtimestamp", "strptime"}
)
SERIALISABLE_BASES = frozenset(
    {"TypedDict", "dict", "list", "str", "int", "float", "NamedTuple", "StrEnum", "IntEnum"}
)
CONTEXT_TYPE = "DurableOrchestrationContext"
BUILTIN_NAMES = frozenset(dir(builtins))

# Durable API method -> (kind whose name it calls, position of the input argument, input keyword).
DURABLE_CALLS: dict[str, tuple[Kind | None, int, str]] = {
    "call_activity": ("activity", 1, "input_"),
    "call_activity_with_retry": ("activity", 2, "input_"),
    "call_sub_orchestrator": ("orchestrator", 1, "input_"),
    "call_sub_orchestrator_with_retry": ("orchestrator", 2, "input_"),
    "call_entity": (None, 2, "operationInput"),
    "signal_entity": (None, 2, "operationInput"),
    "continue_as_new": (None, 0, "input_"),
    "set_custom_status": (None, 0, "status"),
}
KIND_CALL_HINT: dict[Kind, str] = {
    "activity": "call_activity",
    "orchestrator": "call_sub_orchestrator",
    "entity": "EntityId",
}
KIND_RULE: dict[Kind, str] = {"activity": "DF012", "orchestrator": "DF013", "entity": "DF014"}

SUPPRESSION = re.compile(r"#\s*durable-lint\s*:\s*ignore\b(?:\[(?P<ids>[^\]]*)\])?(?P<reason>.*)$")


@dataclass(frozen=True)
class Finding:
    """One reported problem."""

    path: Path
    line: int
    column: int
    rule: str
    message: str
    function: str = ""
    orchestrator: str = ""

    def to_dict(self, display_path: str) -> dict[str, str | int]:
        """Return the finding as a JSON-ready dict."""
        return {
            "path": display_path,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "name": RULES_BY_ID[self.rule].name,
            "message": self.message,
            "function": self.function,
            "orchestrator": self.orchestrator,
        }


@dataclass(frozen=True)
class Suppression:
    """A parsed `# durable-lint: ignore[...]` comment."""

    line: int
    rule_ids: frozenset[str]
    reason: str


@dataclass(frozen=True)
class Orchestrator:
    """An orchestrator function and the name of its context parameter."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    context_name: str | None


@dataclass
class Scope:
    """What one analysed function binds locally."""

    local_names: set[str] = field(default_factory=set)
    local_imports: dict[str, str] = field(default_factory=dict)
    assignments: dict[str, list[tuple[int, ast.expr | None]]] = field(default_factory=dict)
    annotations: dict[str, ast.expr] = field(default_factory=dict)
    global_names: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, function: ast.FunctionDef | ast.AsyncFunctionDef) -> Scope:
        """Collect parameters, assignments and imports of `function` (nested scopes included)."""
        scope = cls()
        arguments = function.args
        for argument in [
            *arguments.posonlyargs,
            *arguments.args,
            *arguments.kwonlyargs,
            *(a for a in (arguments.vararg, arguments.kwarg) if a is not None),
        ]:
            scope.local_names.add(argument.arg)
            if argument.annotation is not None:
                scope.annotations[argument.arg] = argument.annotation
        for node in walk_body(function):
            scope._record(node)
        scope.local_names -= scope.global_names
        return scope

    def _record(self, node: ast.AST) -> None:
        if isinstance(node, ast.Global):
            self.global_names.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            self.local_names.add(node.id)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                self.local_imports[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                self.local_imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            self.local_names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.assignments.setdefault(target.id, []).append((node.lineno, node.value))
                else:
                    for name in names_in(target):
                        self.assignments.setdefault(name, []).append((node.lineno, None))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            self.annotations[node.target.id] = node.annotation
            self.assignments.setdefault(node.target.id, []).append((node.lineno, node.value))
        elif isinstance(node, ast.AugAssign | ast.For | ast.AsyncFor | ast.comprehension | ast.NamedExpr):
            target = node.target
            for name in names_in(target):
                line = getattr(node, "lineno", getattr(target, "lineno", 0))
                self.assignments.setdefault(name, []).append((line, None))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            for name in names_in(node.optional_vars):
                self.assignments.setdefault(name, []).append((node.context_expr.lineno, None))

    def value_before(self, name: str, line: int) -> ast.expr | None:
        """The expression last assigned to local `name` on a line before `line`, if known."""
        candidates = [entry for entry in self.assignments.get(name, []) if entry[0] < line]
        return candidates[-1][1] if candidates else None


def walk_body(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """Every node of the function body (decorators and defaults excluded)."""
    for statement in function.body:
        yield from ast.walk(statement)


def names_in(target: ast.AST) -> Iterator[str]:
    """Names bound by an assignment target."""
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield node.id


def is_generator(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """True when the function itself (not a nested one) yields."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def annotation_is_context(annotation: ast.expr | None) -> bool:
    """True for `df.DurableOrchestrationContext`, `DurableOrchestrationContext` or its string form."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotation.value.split(".")[-1].strip() == CONTEXT_TYPE
    return terminal_name(annotation) == CONTEXT_TYPE


def find_orchestrators(module: ModuleInfo) -> list[Orchestrator]:
    """Orchestrator functions of a module, in source order."""
    found: dict[ast.AST, Orchestrator] = {}
    functions = [n for n in ast.walk(module.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for function in functions:
        parameters = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
        for decorator in function.decorator_list:
            if isinstance(decorator, ast.Call) and terminal_name(decorator.func) == "orchestration_trigger":
                argument = call_argument(decorator, 0, "context_name")
                name = argument.value if isinstance(argument, ast.Constant) else None
                if not isinstance(name, str):
                    name = parameters[0].arg if parameters else None
                found[function] = Orchestrator(function, name)
        if function in found:
            continue
        typed = [p.arg for p in parameters if annotation_is_context(p.annotation)]
        if typed and (is_generator(function) or isinstance(function, ast.AsyncFunctionDef)):
            found[function] = Orchestrator(function, typed[0])
    for node in ast.walk(module.tree):
        # v1 programming model: main = df.Orchestrator.create(orchestrator_function)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "create"
            and terminal_name(node.func.value) == "Orchestrator"
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in module.functions
        ):
            function = module.functions[node.args[0].id]
            if function not in found:
                parameters = function.args.args
                found[function] = Orchestrator(function, parameters[0].arg if parameters else None)
    return sorted(found.values(), key=lambda o: o.node.lineno)


def parse_suppressions(source: str) -> tuple[dict[int, Suppression], list[tuple[int, int, str]]]:
    """Suppression comments by line, and problems with malformed ones as (line, column, message)."""
    suppressions: dict[int, Suppression] = {}
    problems: list[tuple[int, int, str]] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return suppressions, problems
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = SUPPRESSION.search(token.string)
        if match is None:
            continue
        line, column = token.start
        ids_text = match.group("ids")
        reason = match.group("reason").strip().lstrip("-:—–").strip()
        ids = frozenset(part.strip().upper() for part in (ids_text or "").split(",") if part.strip())
        unknown = sorted(i for i in ids if i not in RULES_BY_ID or i == "DF000")
        if not ids:
            problems.append((line, column, "suppression names no rule"))
        elif unknown:
            problems.append((line, column, f"suppression names unknown rule {', '.join(unknown)}"))
        elif not reason:
            problems.append(
                (line, column, f"suppression of {', '.join(sorted(ids))} gives no reason; add why it is safe")
            )
        suppressions[line] = Suppression(line, ids, reason)
    return suppressions, problems


class ModuleAnalyzer:
    """Analyses all orchestrators of one module against the app index."""

    def __init__(self, index: AppIndex, module: ModuleInfo) -> None:
        self.index = index
        self.module = module
        self.findings: dict[tuple[int, int, str], Finding] = {}
        self.env_constants = self._module_names_reading_environment()
        self.set_constants = {
            name for name, value in module.assignments.items() if self._is_set_literal_or_call(value)
        }
        self.orchestrator_nodes: set[ast.AST] = set()

    def run(self) -> list[Finding]:
        """Analyse every orchestrator; returns findings before suppression."""
        orchestrators = find_orchestrators(self.module)
        self.orchestrator_nodes = {o.node for o in orchestrators}
        for orchestrator in orchestrators:
            node = orchestrator.node
            if isinstance(node, ast.AsyncFunctionDef):
                self.report(
                    node, "DF008", f"async def orchestrator {node.name}()", function=node.name, root=node.name
                )
            contexts = {orchestrator.context_name} if orchestrator.context_name else set()
            visitor = FunctionVisitor(
                self, node, contexts, guarded=False, depth=0, root=node.name, seen=set()
            )
            visitor.analyse()
        return sorted(self.findings.values(), key=lambda f: (f.line, f.column, f.rule))

    def report(
        self,
        node: ast.AST,
        rule: str,
        subject: str,
        *,
        function: str,
        root: str,
        detail: str = "",
        instead: str | None = None,
    ) -> None:
        """Record a finding; the first one at a position wins (helpers reached twice report once).

        The message reads `<subject> in orchestrator<detail>; <instead>`, or names the helper.
        """
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0)
        if rule == "DF008":
            where = ""
        elif function == root:
            where = " in orchestrator"
        else:
            where = f" in {function}() (called from orchestrator {root})"
        message = f"{subject}{where}{detail}; {instead or RULES_BY_ID[rule].instead}"
        key = (line, column, rule)
        if key not in self.findings:
            self.findings[key] = Finding(self.module.path, line, column, rule, message, function, root)

    def _module_names_reading_environment(self) -> dict[str, int]:
        names: dict[str, int] = {}
        for name, value in self.module.assignments.items():
            line = environment_read_line(self.module, value)
            if line is not None:
                names[name] = line
        return names

    def environment_source(self, qualified: str) -> str | None:
        """`config.py:12` when `qualified` is an app module's name set or computed from the environment.

        Covers module-level settings (`settings = Settings()` with env reads, `API_URL =
        os.environ[...]`) and functions that read the environment (`load_settings()`), one level deep.
        """
        target = self.index.split_module(qualified)
        if target is None or target[0] is self.module:
            return None
        module, (name, *_) = target
        line: int | None = None
        if name in module.assignments:
            line = environment_read_line(module, module.assignments[name])
        elif name in module.functions:
            line = environment_read_line(module, module.functions[name])
        if line is None:
            return None
        return f"{module.path.name}:{line}"

    @staticmethod
    def _is_set_literal_or_call(value: ast.expr) -> bool:
        if isinstance(value, ast.Set | ast.SetComp):
            return True
        return (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in {"set", "frozenset"}
        )


def environment_read_line(module: ModuleInfo, node: ast.AST, depth: int = 0) -> int | None:
    """Line of the first environment read in `node`, following same-module calls one level deep."""
    for child in ast.walk(node):
        if isinstance(child, ast.Name | ast.Attribute):
            qualified = module.qualified_name(child)
            if qualified and match_pattern(qualified) == "DF005":
                return child.lineno
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and depth == 0:
            called = child.func.id
            if called in module.functions:
                line = environment_read_line(module, module.functions[called], depth + 1)
                if line is not None:
                    return line
            elif called in module.classes:
                bases = {terminal_name(base) for base in module.classes[called].bases}
                if "BaseSettings" in bases:
                    return child.lineno
    return None


def match_pattern(qualified: str) -> str | None:
    """Rule id for a dotted name, using the longest matching pattern."""
    parts = qualified.split(".")
    for cut in range(len(parts), 0, -1):
        rule = NAME_PATTERNS.get(".".join(parts[:cut]))
        if rule is not None:
            return rule
    return None


def is_replay_guard(test: ast.expr) -> tuple[bool, bool]:
    """(body guarded, orelse guarded) for an `if` test mentioning `.is_replaying`."""

    def replaying(node: ast.expr) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "is_replaying"

    def not_replaying(node: ast.expr) -> bool:
        return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and replaying(node.operand)

    if not_replaying(test):
        return True, False
    if replaying(test):
        return False, True
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(not_replaying(value) for value in test.values), False
    return False, False


class FunctionVisitor(ast.NodeVisitor):
    """Walks one orchestrator or helper body and reports findings to the module analyzer."""

    def __init__(
        self,
        owner: ModuleAnalyzer,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        contexts: set[str],
        *,
        guarded: bool,
        depth: int,
        root: str,
        seen: set[tuple[str, bool]],
    ) -> None:
        self.owner = owner
        self.module = owner.module
        self.index = owner.index
        self.function = function
        self.contexts = contexts
        self.guarded = guarded
        self.depth = depth
        self.root = root
        self.seen = seen
        self.scope = Scope.of(function)
        self.called: set[int] = set()  # id() of nodes used as the callee of a call

    def analyse(self) -> None:
        """Visit the body."""
        for statement in self.function.body:
            self.visit(statement)

    def report(
        self, node: ast.AST, rule: str, subject: str, detail: str = "", instead: str | None = None
    ) -> None:
        """Report at `node` on behalf of the function being visited."""
        self.owner.report(
            node, rule, subject, function=self.function.name, root=self.root, detail=detail, instead=instead
        )

    # --- name resolution -------------------------------------------------------------------

    def qualify(self, node: ast.expr) -> str | None:
        """Dotted name `node` refers to, honouring local shadowing and function-local imports."""
        name, attributes = attribute_chain(node)
        if not isinstance(name, ast.Name):
            return None
        head = name.id
        if head in self.scope.local_imports:
            base = self.scope.local_imports[head]
        elif head in self.scope.local_names:
            return None
        elif head in self.module.imports:
            base = self.module.imports[head]
        elif head in self.module.assignments or head in self.module.functions or head in self.module.classes:
            return None
        elif head in BUILTIN_NAMES:
            base = f"builtins.{head}"
        else:
            return None
        return ".".join([base, *attributes])

    def is_module_global(self, name: str) -> bool:
        """True for a module-level assignment not shadowed in this function."""
        return name in self.module.assignments and (
            name not in self.scope.local_names or name in self.scope.global_names
        )

    # --- visiting --------------------------------------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for statement in node.body:
            self.visit(statement)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        for statement in node.body:
            self.visit(statement)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for statement in node.body:
            self.visit(statement)

    def visit_If(self, node: ast.If) -> None:
        body_guarded, orelse_guarded = is_replay_guard(node.test)
        self.visit(node.test)
        outer = self.guarded
        self.guarded = outer or body_guarded
        for statement in node.body:
            self.visit(statement)
        self.guarded = outer or orelse_guarded
        for statement in node.orelse:
            self.visit(statement)
        self.guarded = outer

    def visit_IfExp(self, node: ast.IfExp) -> None:
        body_guarded, orelse_guarded = is_replay_guard(node.test)
        self.visit(node.test)
        outer = self.guarded
        self.guarded = outer or body_guarded
        self.visit(node.body)
        self.guarded = outer or orelse_guarded
        self.visit(node.orelse)
        self.guarded = outer

    def visit_Global(self, node: ast.Global) -> None:
        self.report(node, "DF010", f"global {', '.join(node.names)}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (
            isinstance(node.ctx, ast.Store | ast.Del)
            and isinstance(node.value, ast.Name)
            and self.is_module_global(node.value.id)
        ):
            self.report(node, "DF010", f"assignment to module-level {ast.unparse(node)}")
        qualified = self.qualify(node)
        if qualified is not None:
            self.check_reference(node, qualified)
            return
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        if node.id in self.owner.env_constants and self.is_module_global(node.id):
            line = self.owner.env_constants[node.id]
            self.report(node, "DF005", f"{node.id} (read from the environment at import, line {line})")
            return
        qualified = self.qualify(node)
        if qualified is not None:
            self.check_reference(node, qualified)

    def check_reference(self, node: ast.expr, qualified: str) -> None:
        """Report a reference whose dotted name matches a rule pattern (or reads app settings)."""
        rule = match_pattern(qualified)
        if rule is None:
            source = self.owner.environment_source(qualified)
            if source is not None:
                called = "()" if id(node) in self.called else ""
                self.report(
                    node, "DF005", f"{ast.unparse(node)}{called} (read from the environment in {source})"
                )
            return
        subject = ast.unparse(node) + ("()" if id(node) in self.called else "")
        if rule == "DF011":
            # Only a call logs; passing `print` as a value does not.
            if id(node) in self.called and not self.guarded:
                self.report(node, rule, subject, " is not guarded by is_replaying")
            return
        self.report(node, rule, subject)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if (
            isinstance(node.ctx, ast.Store | ast.Del)
            and isinstance(node.value, ast.Name)
            and self.is_module_global(node.value.id)
        ):
            verb = "deletion from" if isinstance(node.ctx, ast.Del) else "item assignment to"
            self.report(node, "DF010", f"{verb} module-level {node.value.id}")
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self.check_iteration(node.iter, "iteration over")
        self.generic_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self.check_iteration(node.iter, "iteration over")
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.check_iteration(node.iter, "iteration over")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        self.called.add(id(func))
        qualified = self.qualify(func) if isinstance(func, ast.Name | ast.Attribute) else None
        called = terminal_name(func)
        if qualified == "random.Random" and (node.args or node.keywords):
            # A seeded generator (e.g. from context.instance_id) is deterministic.
            self.visit_all(node.args, [k.value for k in node.keywords])
            return
        if called in CLIENT_CLASSES and (qualified is None or match_pattern(qualified) is None):
            self.report(node, "DF006", f"{ast.unparse(func)}()")
        if isinstance(func, ast.Attribute):
            self.check_method_call(node, func)
        if qualified is not None and qualified.startswith("builtins.") and called in ORDERING_CONSUMERS:
            skip = 1 if called in {"map", "filter"} else 0
            for argument in node.args[skip:]:
                self.check_iteration(argument, f"{called}() of")
        if called == "EntityId" and (qualified is None or qualified.endswith("EntityId")):
            name_argument = call_argument(node, 0, "name")
            if name_argument is not None:
                self.check_registered_name(name_argument, "entity", node)
        if isinstance(func, ast.Name) and self.is_helper(func.id):
            self.follow_helper(node, self.module.functions[func.id])
        self.generic_visit(node)

    def visit_all(self, *groups: Iterable[ast.AST]) -> None:
        """Visit several node lists."""
        for group in groups:
            for node in group:
                self.visit(node)

    def check_method_call(self, node: ast.Call, func: ast.Attribute) -> None:
        """Durable API calls, logger calls, Path I/O, set ordering and global container mutation."""
        method = func.attr
        receiver = func.value
        if method in DURABLE_CALLS:
            kind, input_position, input_keyword = DURABLE_CALLS[method]
            if kind is not None:
                name_argument = call_argument(node, 0, "name")
                if name_argument is not None:
                    self.check_registered_name(name_argument, kind, node)
            value = call_argument(node, input_position, input_keyword)
            if value is not None:
                self.check_serialisable(value, method)
        if method in LOG_METHODS and self.is_logger(receiver) and not self.guarded:
            self.report(node, "DF011", f"{ast.unparse(func)}()", " is not guarded by is_replaying")
        if method in PATH_IO_METHODS and isinstance(receiver, ast.Call):
            path_type = (
                self.qualify(receiver.func) if isinstance(receiver.func, ast.Name | ast.Attribute) else None
            )
            if path_type in {"pathlib.Path", "pathlib.PurePath"}:
                self.report(node, "DF006", f"{ast.unparse(receiver.func)}(...).{method}()")
        if method == "join" and node.args:
            self.check_iteration(node.args[0], "str.join() of")
        if method == "pop" and not node.args and self.is_set(receiver, node.lineno):
            self.report(node, "DF009", f"{ast.unparse(func)}() of a set")
        if (
            method in MUTATING_METHODS
            and isinstance(receiver, ast.Name)
            and self.is_module_global(receiver.id)
        ):
            self.report(node, "DF010", f"{ast.unparse(func)}() on module-level {receiver.id}")

    def is_logger(self, receiver: ast.expr) -> bool:
        """True when `receiver` is a logger (by `logging.getLogger` origin or conventional name)."""
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name | ast.Attribute):
            return self.qualify(receiver.func) in {"logging.getLogger", "logging.LoggerAdapter"}
        if not isinstance(receiver, ast.Name):
            return False
        if receiver.id.lower() in LOGGER_NAMES:
            return True
        value = (
            self.scope.value_before(receiver.id, 10**9)
            if receiver.id in self.scope.local_names
            else self.module.assignments.get(receiver.id)
        )
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name | ast.Attribute):
            origin = self.module.qualified_name(value.func) or self.qualify(value.func)
            return origin in {"logging.getLogger", "logging.LoggerAdapter"}
        return False

    # --- sets ------------------------------------------------------------------------------

    def check_iteration(self, iterable: ast.expr, how: str) -> None:
        """Report iterating (or ordering) a set."""
        if self.is_set(iterable, iterable.lineno):
            self.report(iterable, "DF009", f"{how} a set ({ast.unparse(iterable)})")

    def is_set(self, node: ast.expr, line: int, depth: int = 0) -> bool:
        """Best-effort: does `node` evaluate to a set or frozenset?"""
        if depth > 4:
            return False
        if isinstance(node, ast.Set | ast.SetComp):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and self.qualify(func) in {"builtins.set", "builtins.frozenset"}:
                return True
            if isinstance(func, ast.Attribute) and func.attr in SET_METHODS:
                return self.is_set(func.value, line, depth + 1)
            return False
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.BitAnd | ast.Sub | ast.BitXor):
            return any(
                self.is_set(side, line, depth + 1) or is_dict_view(side) for side in (node.left, node.right)
            )
        if isinstance(node, ast.Name):
            if node.id in self.scope.local_names:
                annotation = self.scope.annotations.get(node.id)
                if annotation is not None and annotation_is_set(annotation):
                    return True
                value = self.scope.value_before(node.id, line)
                return value is not None and self.is_set(value, value.lineno, depth + 1)
            return node.id in self.owner.set_constants
        return False

    # --- registered names ------------------------------------------------------------------

    def check_registered_name(self, expr: ast.expr, kind: Kind, call: ast.Call) -> None:
        """Report a call to an activity/orchestrator/entity name the app does not register."""
        rule = KIND_RULE[kind]
        callee = terminal_name(call.func) or KIND_CALL_HINT[kind]
        subject = f"{callee}({ast.unparse(expr)})"
        function_ref = self.index.resolve_function(self.module, expr) if kind != "entity" else None
        if function_ref is not None:
            registration = self.index.registration_of_function(*function_ref)
            if registration is None:
                self.report(expr, rule, subject, f": {ast.unparse(expr)} is not a registered {kind}")
            elif registration.kind != kind:
                self.report(
                    expr,
                    rule,
                    subject,
                    f": {ast.unparse(expr)} is registered as an {registration.kind}, not an {kind}",
                    f"use {KIND_CALL_HINT[registration.kind]} for it, or call a registered {kind}",
                )
            return
        name = self.resolve_name(expr, call.lineno)
        if name is None:
            return
        registered = self.index.registered(kind)
        if kind == "entity":
            # Entity names are case-insensitive in the Durable extension.
            if name.lower() in {n.lower() for n in registered}:
                return
        elif name in registered:
            return
        same_but_case = [n for n in registered if n.lower() == name.lower()]
        if same_but_case:
            detail = f": the registered {kind} is {same_but_case[0]!r} (case differs)"
            self.report(expr, rule, subject, detail, f"use the exact registered name {same_but_case[0]!r}")
            return
        other_kinds = [r.kind for r in self.index.registrations if r.name == name and r.kind != kind]
        if other_kinds:
            self.report(
                expr,
                rule,
                subject,
                f": {name!r} is registered as an {other_kinds[0]}, not an {kind}",
                f"use {KIND_CALL_HINT[other_kinds[0]]} for it, or call a registered {kind}",
            )
            return
        close = difflib.get_close_matches(name, list(registered), n=1)
        suggestion = f"did you mean {close[0]!r}? " if close else ""
        detail = f": no {kind} named {name!r} is registered in the app"
        self.report(expr, rule, subject, detail, suggestion + RULES_BY_ID[rule].instead)

    def resolve_name(self, expr: ast.expr, line: int) -> str | None:
        """String value of a name argument: literal, module constant (own or imported) or local."""
        if isinstance(expr, ast.Name) and expr.id in self.scope.local_names:
            value = self.scope.value_before(expr.id, line)
            return self.index.resolve_string(self.module, value) if value is not None else None
        return self.index.resolve_string(self.module, expr)

    # --- serialisation ---------------------------------------------------------------------

    def check_serialisable(self, value: ast.expr, method: str) -> None:
        """Report inputs the SDK's JSON encoder cannot (or should not) serialise."""
        for node, kind in self.unserialisable_parts(value, value.lineno, 0):
            self.report(node, "DF015", f"{kind} ({ast.unparse(node)}) passed to {method}()")

    def unserialisable_parts(self, node: ast.expr, line: int, depth: int) -> Iterator[tuple[ast.expr, str]]:
        """(node, kind) for each part of an input expression that is not plain JSON."""
        if depth > 4:
            return
        if isinstance(node, ast.Dict):
            for part in [*node.keys, *node.values]:
                if part is not None:
                    yield from self.unserialisable_parts(part, line, depth + 1)
            return
        if isinstance(node, ast.List | ast.Tuple):
            for part in node.elts:
                yield from self.unserialisable_parts(part, line, depth + 1)
            return
        kind = self.unserialisable_kind(node, line, depth)
        if kind is not None:
            yield node, kind

    def unserialisable_kind(self, node: ast.expr, line: int, depth: int) -> str | None:
        """What kind of non-JSON value `node` is ("a set", "a datetime", ...), or None."""
        if depth > 4:
            return None
        if isinstance(node, ast.Lambda):
            return "a lambda"
        if isinstance(node, ast.GeneratorExp):
            return "a generator"
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            return "bytes"
        if self.is_set(node, line):
            return "a set"
        if self.is_datetime(node, line, depth):
            return "a datetime"
        if isinstance(node, ast.Name):
            if node.id in self.scope.local_names:
                value = self.scope.value_before(node.id, line)
                if value is None or isinstance(value, ast.Name):
                    return None
                return self.unserialisable_kind(value, value.lineno, depth + 1)
            if node.id in self.module.functions:
                return "a function"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
            qualified = self.qualify(node.func)
            if qualified in {"builtins.open", "io.open"}:
                return "an open file"
            class_name = self.app_class(node.func)
            if class_name is not None:
                return f"a {class_name} instance"
        return None

    def is_datetime(self, node: ast.expr, line: int, depth: int) -> bool:
        """Best-effort: does `node` evaluate to a datetime/date/time/timedelta object?"""
        if depth > 4:
            return False
        if isinstance(node, ast.Attribute) and node.attr == "current_utc_datetime":
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            return any(self.is_datetime(side, line, depth + 1) for side in (node.left, node.right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
            qualified = self.qualify(node.func) or ""
            if qualified in DATETIME_TYPES or qualified.rsplit(".", 1)[0] in DATETIME_TYPES:
                return True
            if isinstance(node.func, ast.Attribute) and node.func.attr in DATETIME_METHODS:
                return self.is_datetime(node.func.value, line, depth + 1)
        if isinstance(node, ast.Name) and node.id in self.scope.local_names:
            value = self.scope.value_before(node.id, line)
            return value is not None and self.is_datetime(value, value.lineno, depth + 1)
        return False

    def app_class(self, func: ast.Name | ast.Attribute) -> str | None:
        """Name of an app-defined class (not dict-like) that `func` constructs, if any."""
        owner: ModuleInfo | None = None
        class_name: str | None = None
        if (
            isinstance(func, ast.Name)
            and func.id in self.module.classes
            and func.id not in self.scope.local_names
        ):
            owner, class_name = self.module, func.id
        else:
            qualified = self.qualify(func)
            target = self.index.split_module(qualified) if qualified else None
            if target is not None and len(target[1]) == 1 and target[1][0] in target[0].classes:
                owner, class_name = target[0], target[1][0]
        if owner is None or class_name is None:
            return None
        bases = {terminal_name(base) for base in owner.classes[class_name].bases}
        return None if bases & SERIALISABLE_BASES else class_name

    # --- helpers ---------------------------------------------------------------------------

    def is_helper(self, name: str) -> bool:
        """True for a module-level function (not shadowed, not itself an orchestrator)."""
        return (
            name in self.module.functions
            and name not in self.scope.local_names
            and name not in self.scope.local_imports
            and self.module.functions[name] not in self.owner.orchestrator_nodes
        )

    def follow_helper(self, call: ast.Call, helper: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """Analyse a same-module helper called from orchestrator code, mapping the context argument."""
        if self.depth >= MAX_HELPER_DEPTH:
            return
        key = (helper.name, self.guarded)
        if key in self.seen:
            return
        self.seen.add(key)
        parameters = [*helper.args.posonlyargs, *helper.args.args]
        contexts: set[str] = set()
        for position, argument in enumerate(call.args):
            if isinstance(argument, ast.Name) and argument.id in self.contexts and position < len(parameters):
                contexts.add(parameters[position].arg)
        for keyword in call.keywords:
            if isinstance(keyword.value, ast.Name) and keyword.value.id in self.contexts and keyword.arg:
                contexts.add(keyword.arg)
        contexts.update(p.arg for p in parameters if annotation_is_context(p.annotation))
        visitor = FunctionVisitor(
            self.owner,
            helper,
            contexts,
            guarded=self.guarded,
            depth=self.depth + 1,
            root=self.root,
            seen=self.seen,
        )
        visitor.analyse()


def is_dict_view(node: ast.expr) -> bool:
    """`d.keys()` / `d.items()`: set operators on them return sets."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"keys", "items"}
        and not node.args
    )


def annotation_is_set(annotation: ast.expr) -> bool:
    """`set[str]`, `frozenset[int]`, `Set[...]`, `AbstractSet[...]`."""
    target = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return terminal_name(target) in {"set", "frozenset", "Set", "FrozenSet", "AbstractSet", "MutableSet"}


def analyse_module(index: AppIndex, module: ModuleInfo, source: str) -> list[Finding]:
    """Findings of one module after applying its suppression comments."""
    raw = ModuleAnalyzer(index, module).run()
    suppressions, problems = parse_suppressions(source)
    headers = statement_headers(module.tree)
    kept: list[Finding] = []
    for finding in raw:
        start, end = innermost_header(headers, finding.line)
        lines = {finding.line, *range(start, end + 1)}
        if any(finding.rule in suppressions[n].rule_ids for n in lines if n in suppressions):
            continue
        kept.append(finding)
    for line, column, message in problems:
        kept.append(Finding(module.path, line, column, "DF000", f"{message}; {RULES_BY_ID['DF000'].instead}"))
    return sorted(kept, key=lambda f: (f.line, f.column, f.rule))


def statement_headers(tree: ast.Module) -> list[tuple[int, int]]:
    """Line ranges a suppression comment may sit on: a simple statement, or a compound header."""
    ranges: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or node.end_lineno is None:
            continue
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            ranges.append((node.lineno, max(node.lineno, body[0].lineno - 1)))
        else:
            ranges.append((node.lineno, node.end_lineno))
    return ranges


def innermost_header(headers: list[tuple[int, int]], line: int) -> tuple[int, int]:
    """The smallest statement range containing `line` (the line itself when none does)."""
    containing = [r for r in headers if r[0] <= line <= r[1]]
    return min(containing, key=lambda r: r[1] - r[0]) if containing else (line, line)
