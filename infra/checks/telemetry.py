"""Application Insights checks (Python rather than YAML graph policies: the YAML policies also
matched `existing` references to the component in other modules and failed them)."""

from __future__ import annotations

from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class AppInsightsLocalAuthDisabled(BaseResourceCheck):  # type: ignore[misc]
    """Telemetry is accepted only with an Entra token (Monitoring Metrics Publisher)."""

    def __init__(self) -> None:
        super().__init__(
            name="Application Insights must disable local (instrumentation key) authentication",
            id="CKV_FUNCAPP_10",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.Insights/components",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("properties")
        disabled = properties.get("DisableLocalAuth") if isinstance(properties, dict) else None
        return CheckResult.PASSED if disabled is True else CheckResult.FAILED


class AppInsightsWorkspaceBased(BaseResourceCheck):  # type: ignore[misc]
    """The component stores telemetry in the Log Analytics workspace (classic mode is retired)."""

    def __init__(self) -> None:
        super().__init__(
            name="Application Insights must be workspace-based",
            id="CKV_FUNCAPP_11",
            categories=(CheckCategories.LOGGING,),
            supported_resources=("Microsoft.Insights/components",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("properties")
        workspace = properties.get("WorkspaceResourceId") if isinstance(properties, dict) else None
        return CheckResult.PASSED if workspace else CheckResult.FAILED


local_auth_disabled = AppInsightsLocalAuthDisabled()
workspace_based = AppInsightsWorkspaceBased()
