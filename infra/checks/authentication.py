"""App Service Authentication (Easy Auth v2) on the Function App and its slots: Entra ID sign-in on
every path but the health check, 401 for the unauthenticated, no token store.

The app trusts the `X-MS-CLIENT-PRINCIPAL*` headers only because Easy Auth strips them from client
requests and vouches for the caller; without it, anyone could claim any role. A site or slot with
no `authsettingsV2` child at all is caught by the gate (ops/infra_validate.py, `auth_coverage`),
since a per-resource check cannot see a missing sibling.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from declared_check import DeclaredCheck
from funcapp_settings import APP_SETTINGS_CONFIG_TYPES, config_name, unwrap_values

AUTH_CHECK_ID = "CKV_FUNCAPP_12"
AUTH_CONFIG_NAME = "authsettingsV2"
# Paths that may be reached without a principal: the platform's health probe only.
ALLOWED_EXCLUDED_PATHS = frozenset({"/api/health"})
DENYING_ACTIONS = frozenset({"Return401", "Return403", "RedirectToLoginPage"})


def _get(node: Any, *path: str) -> Any:
    for key in path:
        node = unwrap_values(node)
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return unwrap_values(node)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class EntraIdAuthenticationRequired(DeclaredCheck):
    """An authsettingsV2 config: platform on, sign-in required, 401, only /api/health open, Entra ID."""

    check_id = AUTH_CHECK_ID
    requirement = (
        "App Service Authentication with Entra ID must require sign-in on every path but the "
        "health check (401 for the unauthenticated, no token store)"
    )
    category = CheckCategories.IAM
    resource_types = APP_SETTINGS_CONFIG_TYPES

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if config_name(conf) != AUTH_CONFIG_NAME:
            return CheckResult.UNKNOWN
        properties = conf.get("properties")
        problems = []
        if _get(properties, "platform", "enabled") is not True:
            problems.append("platform.enabled is not true")
        validation = _get(properties, "globalValidation")
        if _get(validation, "requireAuthentication") is not True:
            problems.append("globalValidation.requireAuthentication is not true")
        action = _get(validation, "unauthenticatedClientAction")
        if action not in DENYING_ACTIONS:
            problems.append(f"unauthenticatedClientAction {action!r} lets anonymous requests through")
        extra = sorted(set(_strings(_get(validation, "excludedPaths"))) - ALLOWED_EXCLUDED_PATHS)
        if extra:
            problems.append(f"excludedPaths open more than the health check: {extra}")
        entra = _get(properties, "identityProviders", "azureActiveDirectory")
        if _get(entra, "enabled") is not True:
            problems.append("identityProviders.azureActiveDirectory.enabled is not true")
        if not _get(entra, "registration", "clientId"):
            problems.append("no Entra app registration (registration.clientId)")
        if _get(properties, "login", "tokenStore", "enabled") is True:
            problems.append("the token store is on (the app calls nothing on the user's behalf)")
        if _get(properties, "httpSettings", "requireHttps") is False:
            problems.append("httpSettings.requireHttps is false")
        self.details.extend(problems)
        return CheckResult.FAILED if problems else CheckResult.PASSED


entra_id_authentication = EntraIdAuthenticationRequired()
