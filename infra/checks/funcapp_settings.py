"""Helpers shared by the custom checks: read app settings out of checkov's Bicep resource conf.

checkov hands a Bicep resource to a check as a dict in which expressions are operator or function
trees, e.g. ``properties: union(list(...).properties, common, {TASKHUB_NAME: 'wfprod'})`` arrives as
``{"function": {"type": "union", "parameters": {"arg_1": ..., "arg_2": {...}}}}`` with variables
and parameter defaults already substituted. Every object literal reachable through such trees is a
candidate set of app settings; the union of them is what the template can write.
"""

from __future__ import annotations

from typing import Any

_EXPRESSION_KEYS = ("function", "operator")
APP_SETTINGS_CONFIG_TYPES = ("Microsoft.Web/sites/config", "Microsoft.Web/sites/slots/config")
SITE_TYPES = ("Microsoft.Web/sites", "Microsoft.Web/sites/slots")


def unwrap_values(value: Any) -> Any:
    """Take a value out of the single-element lists checkov wraps some values in (a string list stays)."""
    while isinstance(value, list) and len(value) == 1 and not isinstance(value[0], str):
        value = value[0]
    return value


def _unwrap(value: Any) -> Any:
    # checkov wraps some scalar values in single-element lists
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def collect_object_literals(node: Any) -> list[dict[str, Any]]:
    """Return every object literal in an expression tree (the operands of union, ternaries...)."""
    node = _unwrap(node)
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if len(node) == 1 and next(iter(node)) in _EXPRESSION_KEYS:
            inner = next(iter(node.values()))
            if isinstance(inner, dict):
                for key in ("parameters", "operands"):
                    for child in (inner.get(key) or {}).values():
                        found.extend(collect_object_literals(child))
        else:
            found.append(node)
    elif isinstance(node, list):
        for item in node:
            found.extend(collect_object_literals(item))
    return found


def config_name(conf: dict[str, Any]) -> str:
    """The config child's name (appsettings, slotConfigNames, web...)."""
    name = _unwrap(conf.get("name"))
    return name if isinstance(name, str) else ""


def sticky_setting_names(conf: dict[str, Any]) -> set[str] | None:
    """The settings a `slotConfigNames` config child keeps with their slot; None for any other config."""
    if config_name(conf) != "slotConfigNames":
        return None
    properties = unwrap_values(conf.get("properties"))
    names = properties.get("appSettingNames") if isinstance(properties, dict) else None
    return set(names) if isinstance(names, list) else set()


def app_settings_of(resource_type: str, conf: dict[str, Any]) -> dict[str, Any] | None:
    """App settings a resource writes, or None when it writes none.

    Covers `config/appsettings` children (site and slot) and inline `siteConfig.appSettings`
    arrays on sites and slots.
    """
    if resource_type in APP_SETTINGS_CONFIG_TYPES:
        if config_name(conf) != "appsettings":
            return None
        merged: dict[str, Any] = {}
        for literal in collect_object_literals(conf.get("properties")):
            merged.update(literal)
        return merged
    if resource_type in SITE_TYPES:
        properties = _unwrap(conf.get("properties"))
        site_config = _unwrap(properties.get("siteConfig")) if isinstance(properties, dict) else None
        inline = _unwrap(site_config.get("appSettings")) if isinstance(site_config, dict) else None
        if inline is None:
            return None
        items = inline if isinstance(inline, list) else [inline]
        settings: dict[str, Any] = {}
        for item in items:
            if isinstance(item, dict) and isinstance(_unwrap(item.get("name")), str):
                settings[_unwrap(item["name"])] = _unwrap(item.get("value"))
        return settings
    return None
