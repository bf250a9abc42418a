"""Imports a v2-model `function_app.py` and indexes its functions by trigger and durable name."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost.config import is_function_disabled


class AppLoadError(Exception):
    """The app folder could not be imported or indexed."""


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

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)

    @property
    def client_binding_name(self) -> str | None:
        """The `durableClient` input binding's parameter, if the function has one (any trigger)."""
        return next((str(b["name"]) for b in self.bindings if b.get("type") == "durableClient"), None)


@dataclass
class HttpRoute:
    """An HTTP-triggered function with its compiled route template."""

    function: FunctionInfo
    template: str
    methods: frozenset[str]
    pattern: re.Pattern[str]
    client_binding_name: str | None
    accepts_context: bool

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

    def orchestrator(self, name: str) -> FunctionInfo | None:
        return self.orchestrators.get(name.lower())

    def activity(self, name: str) -> FunctionInfo | None:
        return self.activities.get(name.lower())

    def entity(self, name: str) -> FunctionInfo | None:
        return self.entities.get(name.lower())


_DURABLE_NAME_KEYS = {
    "orchestrationTrigger": "orchestration",
    "activityTrigger": "activity",
    "entityTrigger": "entityName",
}
_ROUTE_PARAMETER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(\??)(?::[^}]*)?\}")


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
    """Binding dict values may be enums; the wire form is their value."""
    return getattr(value, "value", value)


def _find_app(module: Any) -> func.FunctionRegister:
    for value in vars(module).values():
        if isinstance(value, func.FunctionRegister):
            return value
    raise AppLoadError(
        "function_app.py defines no FunctionApp: create one at module level, e.g. `app = df.DFApp()` "
        "or `app = func.FunctionApp()`, and register your functions or blueprints on it"
    )


def load_app(script_root: Path) -> FunctionIndex:
    """Import `<script_root>/function_app.py` (script root on sys.path) and index its functions."""
    entry = script_root / "function_app.py"
    if not entry.exists():
        raise AppLoadError(f"{entry} does not exist: point --script-root at a Python v2-model app folder")
    root = str(script_root.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    module = importlib.import_module("function_app")
    app = _find_app(module)
    index = FunctionIndex()
    for function in app.get_functions():
        info = _describe(function)
        index.functions.append(info)
        if info.trigger_type == "orchestrationTrigger":
            index.orchestrators[info.durable_name.lower()] = info
        elif info.trigger_type == "activityTrigger":
            index.activities[info.durable_name.lower()] = info
        elif info.trigger_type == "entityTrigger":
            index.entities[info.durable_name.lower()] = info
        elif info.trigger_type == "httpTrigger":
            index.http_routes.append(_http_route(info))
        else:
            index.unsupported.append(info)
    # Literal segments win over parameters, as in ASP.NET routing: sort by literal length.
    index.http_routes.sort(key=lambda route: -len(_ROUTE_PARAMETER.sub("", route.template)))
    return index


def _describe(function: func.Function) -> FunctionInfo:
    trigger = function.get_trigger()
    if trigger is None:
        raise AppLoadError(f"Function '{function.get_function_name()}' has no trigger")
    trigger_dict = {key: _value(value) for key, value in trigger.get_dict_repr().items()}
    trigger_type = str(trigger_dict.get("type"))
    name = str(function.get_function_name())
    durable_key = _DURABLE_NAME_KEYS.get(trigger_type)
    durable_name = str(trigger_dict.get(durable_key) or name) if durable_key else name
    bindings = [
        {key: _value(value) for key, value in binding.get_dict_repr().items()}
        for binding in function.get_bindings()
    ]
    return FunctionInfo(
        function_name=name,
        durable_name=durable_name,
        trigger_type=trigger_type,
        binding_name=str(trigger_dict.get("name")),
        user_function=function.get_user_function(),
        trigger=trigger_dict,
        bindings=bindings,
        disabled=is_function_disabled(name),
    )


def _http_route(info: FunctionInfo) -> HttpRoute:
    template = str(info.trigger.get("route") or info.function_name).strip("/")
    methods = info.trigger.get("methods") or ["GET", "POST"]
    client = next((b["name"] for b in info.bindings if b.get("type") == "durableClient"), None)
    parameters = inspect.signature(info.user_function).parameters
    return HttpRoute(
        function=info,
        template=template,
        methods=frozenset(str(_value(m)).upper() for m in methods),
        pattern=compile_route(template),
        client_binding_name=client,
        accepts_context="context" in parameters and "context" not in {b["name"] for b in info.bindings},
    )
