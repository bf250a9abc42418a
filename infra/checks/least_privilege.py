"""Least privilege between the slots: no Owner-class role, one identity per site and slot, the
settings that tie a slot to its identity and its outside systems sticky, production on http.

Whether the site and the slot use *different* identities spans two resources, which a per-resource
check cannot see; the gate checks it on the parse trees (ops/infra_validate.py, `shared_identities`).
"""

from __future__ import annotations

import json
from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from funcapp_settings import SITE_TYPES, app_settings_of, sticky_setting_names, unwrap_values
from trust_boundary import OWNER_CLASS_ROLES, STICKY_SETTINGS


class NoOwnerClassRoles(BaseResourceCheck):  # type: ignore[misc]
    """No role assignment grants Owner, Contributor, access administration or Blob Data Owner."""

    def __init__(self) -> None:
        super().__init__(
            name="Role assignments must not grant Owner-class roles (Owner, Contributor, Blob Data Owner...)",
            id="CKV_FUNCAPP_13",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.Authorization/roleAssignments",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        text = json.dumps(conf).lower()
        granted = [name for guid, name in OWNER_CLASS_ROLES.items() if guid in text]
        if granted:
            self.details.append("grants " + ", ".join(granted))
            return CheckResult.FAILED
        return CheckResult.PASSED


class OneIdentityPerSlot(BaseResourceCheck):  # type: ignore[misc]
    """A site or slot carries exactly one user-assigned identity (its own)."""

    def __init__(self) -> None:
        super().__init__(
            name="Each Function App site and slot must carry exactly one user-assigned identity",
            id="CKV_FUNCAPP_14",
            categories=(CheckCategories.IAM,),
            supported_resources=SITE_TYPES,
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        identity = unwrap_values(conf.get("identity"))
        assigned = (
            unwrap_values(identity.get("userAssignedIdentities")) if isinstance(identity, dict) else None
        )
        count = len(assigned) if isinstance(assigned, dict) else 0
        if count != 1:
            self.details.append(f"{count} user-assigned identities (one per slot, its own)")
            return CheckResult.FAILED
        return CheckResult.PASSED


class SlotBoundSettingsAreSticky(BaseResourceCheck):  # type: ignore[misc]
    """slotConfigNames lists every setting that ties a slot to its identity, hub and integrations."""

    def __init__(self) -> None:
        super().__init__(
            name="Identity, task hub and INTEGRATIONS_MODE settings must be sticky (slotConfigNames)",
            id="CKV_FUNCAPP_15",
            categories=(CheckCategories.IAM,),
            supported_resources=("Microsoft.Web/sites/config",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        listed = sticky_setting_names(conf)
        if listed is None:
            return CheckResult.UNKNOWN
        missing = [name for name in STICKY_SETTINGS if name not in listed]
        if missing:
            self.details.append("not sticky: " + ", ".join(missing))
            return CheckResult.FAILED
        return CheckResult.PASSED


class ProductionTalksToRealSystems(BaseResourceCheck):  # type: ignore[misc]
    """The production slot's settings select the real outside systems and hold the console's CSRF key
    as a Key Vault reference (a sandbox there would take no real effect, and a missing key would
    make every instance sign forms with a key of its own)."""

    def __init__(self) -> None:
        super().__init__(
            name="Production must set INTEGRATIONS_MODE=http and CONSOLE_CSRF_KEY as a Key Vault reference",
            id="CKV_FUNCAPP_16",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=("Microsoft.Web/sites/config", "Microsoft.Web/sites/slots/config"),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        settings = app_settings_of(self.entity_type, conf)
        if settings is None:
            return CheckResult.UNKNOWN
        if settings.get("APP_SLOT_ROLE") != "production":
            return CheckResult.PASSED if "CONSOLE_CSRF_KEY" in settings else CheckResult.FAILED
        if settings.get("INTEGRATIONS_MODE") != "http":
            self.details.append(f"INTEGRATIONS_MODE is {settings.get('INTEGRATIONS_MODE')!r}, not 'http'")
        csrf = settings.get("CONSOLE_CSRF_KEY")
        if not (isinstance(csrf, str) and csrf.startswith("@Microsoft.KeyVault(")):
            self.details.append("CONSOLE_CSRF_KEY is not a Key Vault reference")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


no_owner_roles = NoOwnerClassRoles()
one_identity_per_slot = OneIdentityPerSlot()
slot_bound_settings_sticky = SlotBoundSettingsAreSticky()
production_integrations = ProductionTalksToRealSystems()
