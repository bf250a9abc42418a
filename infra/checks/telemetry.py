"""Application Insights checks (Python rather than YAML graph policies: the YAML policies also
matched `existing` references to the component in other modules and failed them)."""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories
from resource_property import ResourcePropertyCheck

APP_INSIGHTS = ("Microsoft.Insights/components",)

# Telemetry is accepted only with an Entra token (Monitoring Metrics Publisher).
local_auth_disabled = ResourcePropertyCheck(
    "CKV_FUNCAPP_10",
    "Application Insights must disable local (instrumentation key) authentication",
    category=CheckCategories.IAM,
    resource_types=APP_INSIGHTS,
    property_name="DisableLocalAuth",
    accepts=lambda disabled: disabled is True,
)
# The component stores telemetry in the Log Analytics workspace (classic mode is retired).
workspace_based = ResourcePropertyCheck(
    "CKV_FUNCAPP_11",
    "Application Insights must be workspace-based",
    category=CheckCategories.LOGGING,
    resource_types=APP_INSIGHTS,
    property_name="WorkspaceResourceId",
    accepts=bool,
)
