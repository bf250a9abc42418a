"""Reads a Functions app folder's `local.settings.json` and `host.json` like `func start` does."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable_wire import TASK_HUB_NAME

DEFAULT_HUB_NAME = "TestHubName"
_SETTING_REFERENCE = re.compile(r"%([^%]+)%")


class ConfigError(Exception):
    """The app folder's configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class HostSettings:
    """Everything the devhost takes from the app folder's configuration files."""

    script_root: Path
    route_prefix: str
    hub_name: str
    storage_connection_name: str
    max_concurrent_activities: int
    max_concurrent_orchestrations: int
    max_entity_batch_size: int
    default_version: str
    version_match_strategy: str
    version_failure_strategy: str
    overridable_existing_instance_states: str
    raw_host_json: dict[str, Any] = field(repr=False)

    def storage_connection_string(self) -> str:
        """The connection string for the durable store, from the environment (app settings)."""
        value = os.environ.get(self.storage_connection_name, "")
        if not value:
            raise ConfigError(
                f"The storage connection setting '{self.storage_connection_name}' is not set. Put "
                f'"{self.storage_connection_name}": "UseDevelopmentStorage=true" in local.settings.json '
                "Values and start Azurite (npx azurite-blob, or ./scripts/dev which starts it for you)."
            )
        return value


def load_local_settings(script_root: Path) -> dict[str, str]:
    """Values of local.settings.json (empty when the file is absent), as strings."""
    path = script_root / "local.settings.json"
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as error:
        raise ConfigError(f"{path} is not valid JSON: {error}") from error
    values = document.get("Values") or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: 'Values' must be an object")
    return {str(key): "" if value is None else str(value) for key, value in values.items()}


def apply_local_settings(values: dict[str, str]) -> None:
    """Put Values into the environment; like func, variables already set take precedence."""
    for key, value in values.items():
        os.environ.setdefault(key, value)


def resolve_setting_references(text: str) -> str:
    """Resolve `%NAME%` references to app settings, as the host does for host.json values."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(f"host.json refers to app setting '%{name}%', which is not set")
        return value

    return _SETTING_REFERENCE.sub(substitute, text)


def validate_hub_name(hub_name: str) -> str:
    """The name itself, or ConfigError when the extension would refuse it."""
    if not TASK_HUB_NAME.match(hub_name):
        raise ConfigError(
            f"Task hub name '{hub_name}' is invalid: use 3-45 letters and digits, starting with a letter"
        )
    return hub_name


def load_host_settings(script_root: Path) -> HostSettings:
    """Parse host.json (after local settings are in the environment)."""
    path = script_root / "host.json"
    document: dict[str, Any] = {}
    if path.exists():
        try:
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        except ValueError as error:
            raise ConfigError(f"{path} is not valid JSON: {error}") from error
    extensions = document.get("extensions") or {}
    http = extensions.get("http") or {}
    durable = extensions.get("durableTask") or {}
    route_prefix = str(http.get("routePrefix", "api")).strip("/")

    hub_name = validate_hub_name(resolve_setting_references(str(durable.get("hubName") or DEFAULT_HUB_NAME)))
    provider = durable.get("storageProvider") or {}
    connection_name = str(
        provider.get("connectionName") or provider.get("connectionStringName") or "AzureWebJobsStorage"
    )
    cores = os.cpu_count() or 1
    return HostSettings(
        script_root=script_root,
        route_prefix=route_prefix,
        hub_name=hub_name,
        storage_connection_name=connection_name,
        max_concurrent_activities=int(durable.get("maxConcurrentActivityFunctions") or 10 * cores),
        max_concurrent_orchestrations=int(durable.get("maxConcurrentOrchestratorFunctions") or 10 * cores),
        max_entity_batch_size=int(durable.get("maxEntityOperationBatchSize") or 5000),
        default_version=resolve_setting_references(str(durable.get("defaultVersion") or "")),
        version_match_strategy=str(durable.get("versionMatchStrategy") or "CurrentOrOlder"),
        version_failure_strategy=str(durable.get("versionFailureStrategy") or "Reject"),
        overridable_existing_instance_states=str(
            durable.get("overridableExistingInstanceStates") or "NonRunningStates"
        ),
        raw_host_json=document,
    )


def is_function_disabled(function_name: str) -> bool:
    """`AzureWebJobs.<name>.Disabled` app setting (spec §13.1)."""
    for key in (f"AzureWebJobs.{function_name}.Disabled", f"AzureWebJobs__{function_name}__Disabled"):
        value = os.environ.get(key)
        if value is not None and value.strip().lower() in ("true", "1"):
            return True
    return False
