"""Function App checks that no stock checkov check covers: identity, secrets, task hubs, storage auth."""

from __future__ import annotations

import re
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from declared_check import DeclaredCheck, SiteIdentityCheck
from funcapp_settings import APP_SETTINGS_CONFIG_TYPES, SITE_TYPES, app_settings_of
from resource_property import ResourcePropertyCheck
from sticky_settings import StickySettingsCheck

# Setting names that hold credentials. Their value must be a Key Vault reference.
SECRET_NAME = re.compile(
    r"(SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|TOKEN|CONNECTION_?STRING|_KEY$)", re.IGNORECASE
)
TASK_HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,44}")
# Named like secrets but carrying none, by design of this template:
# - the App Insights connection string is configuration once the component disables local auth;
# - the scheduler "connection string" is endpoint + Authentication=ManagedIdentity + client ID;
# - the storage provider override only names the setting above.
NOT_SECRET = frozenset(
    {
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
        "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName",
    }
)
KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\((SecretUri=|VaultName=)", re.I)
TASK_HUB_SETTING = "TASKHUB_NAME"


class _AppSettingsCheck(DeclaredCheck):
    """Base for checks on the app settings a site, slot or config/appsettings child writes."""

    category = CheckCategories.SECRETS
    resource_types = (*APP_SETTINGS_CONFIG_TYPES, *SITE_TYPES)

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        settings = app_settings_of(self.entity_type, conf)
        if settings is None:
            return CheckResult.UNKNOWN  # this resource writes no app settings
        return self.scan_settings(settings)

    def scan_settings(self, settings: dict[str, Any]) -> CheckResult:
        raise NotImplementedError


class SecretSettingsAreKeyVaultReferences(_AppSettingsCheck):
    """Secret-looking settings must be Key Vault references, never literal values."""

    check_id = "CKV_FUNCAPP_3"
    requirement = "Secret app settings must be Key Vault references"

    def scan_settings(self, settings: dict[str, Any]) -> CheckResult:
        for name, value in settings.items():
            if name in NOT_SECRET or not SECRET_NAME.search(name):
                continue
            if not (isinstance(value, str) and KEY_VAULT_REFERENCE.match(value)):
                self.details.append(f"{name} is not a Key Vault reference")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


class StorageByIdentity(_AppSettingsCheck):
    """Host storage is reached by managed identity; no AzureWebJobsStorage connection string."""

    check_id = "CKV_FUNCAPP_4"
    requirement = "AzureWebJobsStorage must use managed identity (no connection string)"

    def scan_settings(self, settings: dict[str, Any]) -> CheckResult:
        if "AzureWebJobsStorage" in settings:
            return self.failed("AzureWebJobsStorage (a connection string) is set")
        if settings.get("AzureWebJobsStorage__credential") != "managedidentity":
            return self.failed("AzureWebJobsStorage__credential is not 'managedidentity'")
        has_account = "AzureWebJobsStorage__accountName" in settings or all(
            f"AzureWebJobsStorage__{s}ServiceUri" in settings for s in ("blob", "queue", "table")
        )
        return CheckResult.PASSED if has_account else CheckResult.FAILED


class TaskHubDefinedPerSlot(_AppSettingsCheck):
    """Every slot's settings define TASKHUB_NAME (host.json reads %TASKHUB_NAME%)."""

    check_id = "CKV_FUNCAPP_5"
    requirement = "Every slot must define its own TASKHUB_NAME app setting"

    def scan_settings(self, settings: dict[str, Any]) -> CheckResult:
        value = settings.get(TASK_HUB_SETTING)
        if value is None or value == "":
            return CheckResult.FAILED
        literal = isinstance(value, str) and "$" not in value
        if literal and not TASK_HUB_NAME.fullmatch(value):
            return self.failed(f"TASKHUB_NAME {value!r} is not 3-45 letters/digits starting with a letter")
        return CheckResult.PASSED


class AppHasManagedIdentity(SiteIdentityCheck):
    """Sites and slots carry a user-assigned identity and use it for Key Vault references."""

    check_id = "CKV_FUNCAPP_7"
    requirement = "Function App and slots must use a user-assigned identity for Key Vault references"

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        identity = conf.get("identity")
        identity_type = identity.get("type") if isinstance(identity, dict) else None
        if not (isinstance(identity_type, str) and "UserAssigned" in identity_type):
            return self.failed("identity.type does not include UserAssigned")
        properties = conf.get("properties")
        if not (isinstance(properties, dict) and properties.get("keyVaultReferenceIdentity")):
            return self.failed("keyVaultReferenceIdentity is not set")
        return CheckResult.PASSED


secret_settings = SecretSettingsAreKeyVaultReferences()
storage_by_identity = StorageByIdentity()
task_hub_per_slot = TaskHubDefinedPerSlot()
# A swap must never move a slot onto the other slot's task hub (host.json reads %TASKHUB_NAME%).
task_hub_sticky = StickySettingsCheck(
    "CKV_FUNCAPP_6",
    "TASKHUB_NAME must be a sticky (slot) setting in slotConfigNames",
    category=CheckCategories.GENERAL_SECURITY,
    settings=(TASK_HUB_SETTING,),
)
app_identity = AppHasManagedIdentity()
# FTP and SCM basic-auth publishing credentials are turned off (Entra tokens only).
basic_publishing = ResourcePropertyCheck(
    "CKV_FUNCAPP_8",
    "Basic publishing credentials (FTP/SCM) must be disabled",
    category=CheckCategories.IAM,
    resource_types=(
        "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
        "Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies",
    ),
    property_name="allow",
    accepts=lambda allowed: allowed is False,
)
# Key Vault uses Azure RBAC, not access policies.
key_vault_rbac = ResourcePropertyCheck(
    "CKV_FUNCAPP_9",
    "Key Vault must use RBAC authorization",
    category=CheckCategories.IAM,
    resource_types=("Microsoft.KeyVault/vaults",),
    property_name="enableRbacAuthorization",
    accepts=lambda enabled: enabled is True,
)
