"""Least privilege between the slots: no Owner-class role, one identity per site and slot, the
settings that tie a slot to its identity and its outside systems sticky, production on http.

Whether the site and the slot use *different* identities spans two resources, which a per-resource
check cannot see; the gate checks it on the parse trees (ops/infra_validate.py, `shared_identities`).
"""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from declared_check import DeclaredCheck, SiteIdentityCheck
from funcapp_settings import app_settings_of, unwrap_values
from sticky_settings import StickySettingsCheck
from trust_boundary import OWNER_CLASS_ROLES, STICKY_SETTINGS


class NoOwnerClassRoles(DeclaredCheck):
    """No role assignment grants Owner, Contributor, access administration or Blob Data Owner."""

    check_id = "CKV_FUNCAPP_13"
    requirement = "Role assignments must not grant Owner-class roles (Owner, Contributor, Blob Data Owner...)"
    category = CheckCategories.IAM
    resource_types = ("Microsoft.Authorization/roleAssignments",)

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        text = json.dumps(conf).lower()
        granted = [name for guid, name in OWNER_CLASS_ROLES.items() if guid in text]
        if granted:
            return self.failed("grants " + ", ".join(granted))
        return CheckResult.PASSED


class OneIdentityPerSlot(SiteIdentityCheck):
    """A site or slot carries exactly one user-assigned identity (its own)."""

    check_id = "CKV_FUNCAPP_14"
    requirement = "Each Function App site and slot must carry exactly one user-assigned identity"

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        identity = unwrap_values(conf.get("identity"))
        assigned = (
            unwrap_values(identity.get("userAssignedIdentities")) if isinstance(identity, dict) else None
        )
        count = len(assigned) if isinstance(assigned, dict) else 0
        if count != 1:
            return self.failed(f"{count} user-assigned identities (one per slot, its own)")
        return CheckResult.PASSED


class ProductionTalksToRealSystems(DeclaredCheck):
    """The production slot's settings select the real outside systems and hold the console's CSRF key
    as a Key Vault reference (a sandbox there would take no real effect, and a missing key would
    make every instance sign forms with a key of its own)."""

    check_id = "CKV_FUNCAPP_16"
    requirement = "Production must set INTEGRATIONS_MODE=http and CONSOLE_CSRF_KEY as a Key Vault reference"
    category = CheckCategories.GENERAL_SECURITY
    resource_types = ("Microsoft.Web/sites/config", "Microsoft.Web/sites/slots/config")

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
# Every setting that ties a slot to its identity, hub and integrations stays with the slot.
slot_bound_settings_sticky = StickySettingsCheck(
    "CKV_FUNCAPP_15",
    "Identity, task hub and INTEGRATIONS_MODE settings must be sticky (slotConfigNames)",
    category=CheckCategories.IAM,
    settings=STICKY_SETTINGS,
)
production_integrations = ProductionTalksToRealSystems()
