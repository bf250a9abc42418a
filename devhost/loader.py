"""Finds a Functions app's functions: v2 (`function_app.py`) or v1 (`<function>/function.json`).

The worker process imports the app and indexes its callables (`load_app`); it then sends the
index to the host as plain metadata (`FunctionInfo.metadata`), and the host rebuilds the same
index without the callables (`index_from_metadata`), as the Functions host does with the
metadata its language worker reports.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost.config import is_function_disabled


class AppLoadError(Exception):
    """The app folder could not be imported or indexed."""


def _runs_in_worker(*_: Any, **__: Any) -> Any:
    raise RuntimeError("user code runs in the worker process; the host only holds its metadata")


def _camel_case(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


@dataclass
class FunctionInfo:
    """One indexed function: its names, trigger binding and the callable the worker would call."""

    function_name: str
    durable_name: str
    trigger_type: str
    binding_name: str
    user_function: Callable[..., Any]
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    disabled: bool
    is_async: bool = False
    accepts_context: bool = False
    # v1 apps may bind the HTTP response to a named output (`res: func.Out[func.HttpResponse]`).
    http_output_name: str | None = None

    @property
    def client_binding_name(self) -> str | None:
        """The `durableClient` (or v1 `orchestrationClient`) input binding, if any."""
        return next(
            (
                str(b["name"])
                for b in self.bindings
                if b.get("type") in _CLIENT_BINDING_TYPES and b.get("direction", "in") == "in"
            ),
            None,
        )

    def metadata(self) -> dict[str, Any]:
        """What the host needs to know about the function (JSON-safe): every field but the callable,
        under its camelCase name (`durable_name` is sent as `durableName`)."""
        return {
            _camel_case(item.name): getattr(self, item.name)
            for item in fields(self)
            if item.name != "user_function"
        }

    @classmethod
    def from_metadata(cls, data: dict[str, Any]) -> FunctionInfo:
        """The host's view of a function the worker reported; `disabled` is read from app settings."""
        name = str(data["functionName"])
        return cls(
            function_name=name,
            durable_name=str(data["durableName"]),
            trigger_type=str(data["triggerType"]),
            binding_name=str(data["bindingName"]),
            user_function=_runs_in_worker,
            trigger=dict(data["trigger"]),
            bindings=list(data["bindings"]),
            disabled=is_function_disabled(name) or bool(data.get("disabled")),
            is_async=bool(data.get("isAsync")),
            accepts_context=bool(data.get("acceptsContext")),
            http_output_name=data.get("httpOutputName"),
        )


@dataclass
class HttpRoute:
    """An HTTP-triggered function with its compiled route template."""

    function: FunctionInfo
    template: str
    methods: frozenset[str]
    pattern: re.Pattern[str]
    client_binding_name: str | None

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method not in self.methods:
            return None
        found = self.pattern.fullmatch(path)
        return None if found is None else {k: v for k, v in found.groupdict().items() if v is not None}


@dataclass
class FunctionIndex:
    """All functions of an app, keyed for lookups by durable name (case-insensitive)."""

    functions: list[FunctionInfo] = field(default_factory=list)
    orchestrators: dict[str, FunctionInfo] = field(default_factory=dict)
    activities: dict[str, FunctionInfo] = field(default_factory=dict)
    entities: dict[str, FunctionInfo] = field(default_factory=dict)
    http_routes: list[HttpRoute] = field(default_factory=list)
    unsupported: list[FunctionInfo] = field(default_factory=list)
    programming_model: str = "v2"

    def orchestrator(self, name: str) -> FunctionInfo | None:
        return self.orchestrators.get(name.lower())

    def activity(self, name: str) -> FunctionInfo | None:
        return self.activities.get(name.lower())

    def entity(self, name: str) -> FunctionInfo | None:
        return self.entities.get(name.lower())

    def by_name(self, function_name: str) -> FunctionInfo | None:
        return next((f for f in self.functions if f.function_name == function_name), None)

    def add(self, info: FunctionInfo) -> None:
        self.functions.append(info)
        if info.trigger_type == "orchestrationTrigger":
            self.orchestrators[info.durable_name.lower()] = info
        elif info.trigger_type == "activityTrigger":
            self.activities[info.durable_name.lower()] = info
        elif info.trigger_type == "entityTrigger":
            self.entities[info.durable_name.lower()] = info
        elif info.trigger_type == "httpTrigger":
            self.http_routes.append(_http_route(info))
            # Literal segments win over parameters, as in ASP.NET routing: sort by literal length.
            self.http_routes.sort(key=lambda route: -len(_ROUTE_PARAMETER.sub("", route.template)))
        else:
            self.unsupported.append(info)

    def metadata(self) -> dict[str, Any]:
        return {
            "programmingModel": self.programming_model,
            "functions": [f.metadata() for f in self.functions],
        }


def index_from_metadata(metadata: dict[str, Any]) -> FunctionIndex:
    """The host's index, rebuilt from what the worker reported."""
    index = FunctionIndex(programming_model=str(metadata.get("programmingModel") or "v2"))
    for data in metadata["functions"]:
        index.add(FunctionInfo.from_metadata(data))
    return index


_DURABLE_NAME_KEYS = {
    "orchestrationTrigger": "orchestration",
    "activityTrigger": "activity",
    "entityTrigger": "entityName",
}
_CLIENT_BINDING_TYPES = {"durableClient", "orchestrationClient"}
_ROUTE_PARAMETER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(\??)(?::[^}]*)?\}")
V1_PACKAGE = "__app__"


def compile_route(template: str) -> re.Pattern[str]:
    """Compile an ASP.NET-style route template (`orders/{id}`, `{*rest}`, `{id?}`, `{n:int}`)."""
    pattern = ""
    position = 0
    for found in _ROUTE_PARAMETER.finditer(template):
        literal = template[position : found.start()]
        catch_all, name, optional = found.group(1), found.group(2), found.group(3)
        segment = f"(?P<{name}>.*)" if catch_all else f"(?P<{name}>[^/]+)"
        if optional and literal.endswith("/"):
            pattern += re.escape(literal[:-1]) + f"(?:/{segment})?"
        else:
            pattern += re.escape(literal) + (f"{segment}?" if optional else segment)
        position = found.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern, re.IGNORECASE)


def _value(value: Any) -> Any:
    """Binding dict values may be enums (or lists of them); the wire form is their value."""
    if isinstance(value, list | tuple):
        return [_value(item) for item in value]
    return getattr(value, "value", value)


_DIRECTIONS = {0: "in", 1: "out", 2: "inout"}


def _binding(raw: dict[str, Any]) -> dict[str, Any]:
    """A binding as function.json writes it (v2 gives enum members and numeric directions)."""
    binding = {key: _value(value) for key, value in raw.items()}
    direction = binding.get("direction")
    if isinstance(direction, int):
        binding["direction"] = _DIRECTIONS.get(direction, str(direction))
    return binding


def _find_app(module: Any) -> func.FunctionRegister:
    for value in vars(module).values():
        if isinstance(value, func.FunctionRegister):
            return value
    raise AppLoadError(
        "function_app.py defines no FunctionApp: create one at module level, e.g. `app = df.DFApp()` "
        "or `app = func.FunctionApp()`, and register your functions or blueprints on it"
    )


def v1_function_folders(script_root: Path) -> list[Path]:
    """Sub-folders holding a function.json (the v1 programming model), sorted by name."""
    return sorted(p.parent for p in script_root.glob("*/function.json") if p.is_file())


def load_app(script_root: Path) -> FunctionIndex:
    """Import the app in `script_root` (v2 `function_app.py`, else v1 function folders) and index it."""
    entry = script_root / "function_app.py"
    root = str(script_root.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    if not entry.exists():
        folders = v1_function_folders(script_root)
        if folders:
            return _load_v1_app(script_root, folders)
        raise AppLoadError(
            f"{entry} does not exist and no sub-folder holds a function.json: point --script-root at a "
            "Python Functions app folder (v2: function_app.py; v1: one folder per function with "
            "function.json and its script)"
        )
    module = importlib.import_module("function_app")
    app = _find_app(module)
    index = FunctionIndex(programming_model="v2")
    for function in app.get_functions():
        index.add(_describe(function))
    return index


def _describe(function: func.Function) -> FunctionInfo:
    trigger = function.get_trigger()
    if trigger is None:
        raise AppLoadError(f"Function '{function.get_function_name()}' has no trigger")
    trigger_dict = _binding(trigger.get_dict_repr())
    bindings = [_binding(binding.get_dict_repr()) for binding in function.get_bindings()]
    user_function = function.get_user_function()
    return _function_info(str(function.get_function_name()), trigger_dict, bindings, user_function)


def _function_info(
    name: str, trigger: dict[str, Any], bindings: list[dict[str, Any]], user_function: Callable[..., Any]
) -> FunctionInfo:
    trigger_type = str(trigger.get("type"))
    durable_key = _DURABLE_NAME_KEYS.get(trigger_type)
    durable_name = str(trigger.get(durable_key) or name) if durable_key else name
    try:
        parameters = inspect.signature(user_function).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]
    binding_names = {str(b.get("name")) for b in bindings}
    http_output = next(
        (
            str(b["name"])
            for b in bindings
            if b.get("type") == "http" and b.get("direction") == "out" and b.get("name") != "$return"
        ),
        None,
    )
    return FunctionInfo(
        function_name=name,
        durable_name=durable_name,
        trigger_type=trigger_type,
        binding_name=str(trigger.get("name")),
        user_function=user_function,
        trigger=trigger,
        bindings=bindings,
        disabled=is_function_disabled(name),
        is_async=inspect.iscoroutinefunction(user_function),
        accepts_context="context" in parameters and "context" not in binding_names,
        http_output_name=http_output,
    )


def _http_route(info: FunctionInfo) -> HttpRoute:
    template = str(info.trigger.get("route") or info.function_name).strip("/")
    methods = info.trigger.get("methods") or ["GET", "POST"]
    return HttpRoute(
        function=info,
        template=template,
        methods=frozenset(str(_value(m)).upper() for m in methods),
        pattern=compile_route(template),
        client_binding_name=info.client_binding_name,
    )


# -- the v1 programming model ----------------------------------------------------------------


def _install_app_package(script_root: Path) -> None:
    """`__app__` is the script root as a package, as the Python worker sets it up for v1 apps.

    Function scripts are imported as `__app__.<folder>[.<module>]`, so relative imports
    (`from ..shared_code import x`) and `from __app__.shared_code import x` both work.
    """
    package = sys.modules.get(V1_PACKAGE)
    if package is None:
        package = types.ModuleType(V1_PACKAGE)
        package.__path__ = [str(script_root)]
        package.__package__ = V1_PACKAGE
        sys.modules[V1_PACKAGE] = package


def _v1_module_name(script_root: Path, script: Path) -> str:
    relative = script.resolve().relative_to(script_root.resolve()).with_suffix("")
    parts = list(relative.parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join([V1_PACKAGE, *parts])


def _load_v1_app(script_root: Path, folders: list[Path]) -> FunctionIndex:
    _install_app_package(script_root)
    index = FunctionIndex(programming_model="v1")
    for folder in folders:
        index.add(_load_v1_function(script_root, folder))
    return index


def _load_v1_function(script_root: Path, folder: Path) -> FunctionInfo:
    name = folder.name
    config_path = folder / "function.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8-sig"))
    except ValueError as error:
        raise AppLoadError(f"{config_path} is not valid JSON: {error}") from error
    bindings = config.get("bindings")
    if not isinstance(bindings, list) or not all(isinstance(b, dict) for b in bindings):
        raise AppLoadError(f"{config_path}: 'bindings' must be a list of binding objects")
    triggers = [b for b in bindings if str(b.get("type", "")).endswith("Trigger")]
    if len(triggers) != 1:
        raise AppLoadError(
            f"{config_path}: a function needs exactly one trigger binding, found {len(triggers)}"
        )
    script = (folder / str(config.get("scriptFile") or "__init__.py")).resolve()
    if not script.is_file():
        raise AppLoadError(f"{config_path}: scriptFile '{script}' does not exist")
    entry_point = str(config.get("entryPoint") or "main")
    try:
        script.relative_to(script_root.resolve())
        module_name = _v1_module_name(script_root, script)
        module = importlib.import_module(module_name)
    except ValueError:  # a script outside the app folder: import it by path
        module_name = f"{V1_PACKAGE}_{name}"
        spec = importlib.util.spec_from_file_location(module_name, script)
        if spec is None or spec.loader is None:
            raise AppLoadError(f"{config_path}: cannot import scriptFile '{script}'") from None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    user_function = getattr(module, entry_point, None)
    if not callable(user_function):
        raise AppLoadError(
            f"{config_path}: the script {script.name} has no function '{entry_point}' (entryPoint; the "
            "default is 'main')"
        )
    info = _function_info(name, dict(triggers[0]), [dict(b) for b in bindings], user_function)
    info.disabled = info.disabled or config.get("disabled") is True
    return info
