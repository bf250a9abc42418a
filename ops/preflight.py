"""`python -m ops preflight` and `python -m ops inventory`: read-only checks of a deployed app.

Preflight only reads (az ... show/list, ARM GETs, and the slotsdiffs POST, which only reports).
It first shows the target and refuses a subscription other than the expected one, then checks
permissions and provider registrations, then the production site and the staging slot: settings
(names, Key Vault reference flags and value hashes only; values are never printed), App Service
Authentication (Entra ID sign-in required, nothing anonymous but the health check: the app trusts
the principal headers only behind it), task hubs, the trust boundary between the slots (each its
own identity, the settings tied to a slot sticky, production on the real outside systems, blob
roles only on the slot's own containers, no Owner-class role, the package read-only), storage
access, telemetry, Key Vault reference resolution. It exports a configuration snapshot per slot
and diffs staging against production for the release review.

Exit codes: 0 every check passed, 1 a check failed (or az failed), 2 usage error.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from infra.checks.trust_boundary import OWNER_CLASS_ROLES, STICKY_SETTINGS
from ops.azure_cli import AzError, AzureCli
from ops.command_line import SubParsers, add_command, add_json_option, options_from, print_result

SUMMARY = "read-only checks of the deployed app, its slots, settings, task hubs, identity and telemetry"
ARM = "https://management.azure.com"
WEB_API_VERSION = "2024-11-01"
PERMISSIONS_API_VERSION = "2022-04-01"
REPO_ROOT = Path(__file__).resolve().parent.parent

REQUIRED_PROVIDERS = ("Microsoft.Web", "Microsoft.Storage", "Microsoft.Insights")
# What preflight itself needs (Reader is not enough: listing settings is a POST .../list action).
PREFLIGHT_ACTIONS = (
    "Microsoft.Web/sites/read",
    "Microsoft.Web/sites/config/list/action",
    "Microsoft.Web/sites/slots/read",
    "Microsoft.Web/sites/slots/config/list/action",
    "Microsoft.Insights/components/read",
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Authorization/roleAssignments/read",
)
# What a release needs on top (checked when preflight runs inside `ops release`).
RELEASE_ACTIONS = (
    "Microsoft.Resources/deployments/write",
    "Microsoft.Resources/deployments/whatIf/action",
    "Microsoft.Web/sites/slots/config/write",
    "Microsoft.Web/sites/slots/slotsswap/action",
    "Microsoft.Web/sites/host/listkeys/action",
)

REQUIRED_SETTINGS = (
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "TASKHUB_NAME",
    "INTEGRATIONS_MODE",
    "CONSOLE_CSRF_KEY",
)
PRODUCTION_INTEGRATIONS_MODE = "http"
DEFAULT_CONTAINER_PREFIX = "wf"
AUTHORIZATION_API_VERSION = "2022-04-01"
TASK_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")
SECRET_NAME = re.compile(
    r"(SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|TOKEN|CONNECTION_?STRING|_KEY$)", re.IGNORECASE
)
NOT_SECRET = frozenset({"APPLICATIONINSIGHTS_CONNECTION_STRING", "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"})
KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\((?P<body>.*)\)\s*$", re.IGNORECASE)
# App Service Authentication: what may be reached without a principal, and how the rest is refused.
AUTH_EXCLUDED_PATHS = frozenset({"/api/health"})
AUTH_DENYING_ACTIONS = frozenset({"Return401", "Return403", "RedirectToLoginPage"})
# App Service injects this into the app when authentication runs; as an app setting it is a forgery
# that would make the app trust client-sent identity headers.
AUTH_ENABLED_SETTING = "WEBSITE_AUTH_ENABLED"
PLACEHOLDER_CLIENT_ID = "00000000-0000-0000-0000-000000000000"

# Role definition GUIDs of the slot identities' data roles (see infra/modules/rbac.bicep).
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
ROLE_NAMES = {
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
    STORAGE_QUEUE_DATA_CONTRIBUTOR: "Storage Queue Data Contributor",
    STORAGE_TABLE_DATA_CONTRIBUTOR: "Storage Table Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    **OWNER_CLASS_ROLES,
}
# The audit account's container of each hub (audit_packets/sealed_store.py, audit-evidence.bicep).
AUDIT_CONTAINER_PURPOSE = "audit-packets"
# Blob containers the Functions host of every slot writes (each under its own host ID).
HOST_CONTAINERS = ("azure-webjobs-hosts", "azure-webjobs-secrets")


@dataclass(frozen=True)
class Target:
    """What preflight inspects."""

    resource_group: str
    app: str
    slot: str = "staging"
    subscription: str | None = None  # expected subscription ID or name; refuse any other
    app_insights: str | None = None
    storage_account: str | None = None
    package_container: str = "app-package"
    release_permissions: bool = False


@dataclass
class Check:
    """One check outcome. `remedy` says what to do when it failed."""

    id: str
    status: str  # pass | fail | warn
    detail: str
    remedy: str = ""


@dataclass
class PreflightReport:
    """Everything preflight found; serialised as the --json document."""

    target: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    snapshots: dict[str, Any] = field(default_factory=dict)
    slot_diff: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return all(c.status != "fail" for c in self.checks)

    def add(self, check_id: str, ok: bool, detail: str, remedy: str = "") -> None:
        """Record a pass or a fail."""
        self.checks.append(Check(check_id, "pass" if ok else "fail", detail, "" if ok else remedy))

    def add_findings(
        self,
        check_id: str,
        findings: Sequence[str],
        passed: str,
        remedy: str,
        *,
        heading: str = "",
        separator: str = "; ",
    ) -> None:
        """Record a check by what it found wrong: a pass saying `passed` when `findings` is empty, else
        a fail whose detail is `heading` and the findings joined by `separator`."""
        detail = heading + separator.join(findings) if findings else passed
        self.add(check_id, not findings, detail, remedy)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document."""
        return {
            "ok": self.ok,
            "target": self.target,
            "checks": [asdict(c) for c in self.checks],
            "snapshots": self.snapshots,
            "slot_diff": self.slot_diff,
        }


def value_hash(value: str) -> str:
    """A short, stable fingerprint of a setting value: comparable, not reversible."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def key_vault_target(value: str) -> str | None:
    """The vault/secret a Key Vault reference points at, or None for a plain value."""
    match = KEY_VAULT_REFERENCE.match(value or "")
    if not match:
        return None
    body = match.group("body")
    uri = re.search(r"SecretUri=([^;)\s]+)", body, re.IGNORECASE)
    if uri:
        return uri.group(1)
    vault = re.search(r"VaultName=([^;]+)", body, re.IGNORECASE)
    secret = re.search(r"SecretName=([^;]+)", body, re.IGNORECASE)
    return f"{vault.group(1) if vault else '?'}/{secret.group(1) if secret else '?'}"


def settings_by_name(settings: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """`appsettings list` output keyed by setting name."""
    return {s["name"]: s for s in settings or [] if isinstance(s, dict) and "name" in s}


def describe_settings(settings: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Setting names with sticky flag, Key Vault target or value hash: never the value."""
    described = []
    for name in sorted(settings):
        value = str(settings[name].get("value") or "")
        target = key_vault_target(value)
        entry: dict[str, Any] = {"name": name, "slotSetting": bool(settings[name].get("slotSetting"))}
        if target:
            entry["keyVaultReference"] = target
        else:
            entry["valueHash"] = value_hash(value)
        described.append(entry)
    return described


def parse_connection_string(value: str) -> dict[str, str]:
    """Split `Key=Value;Key=Value` into a dict with lower-case keys."""
    parts = {}
    for item in value.split(";"):
        if "=" in item:
            key, _, val = item.partition("=")
            parts[key.strip().lower()] = val.strip()
    return parts


def is_flex(site: dict[str, Any]) -> bool:
    """True for the raw ARM shape az returns for Flex Consumption apps."""
    properties = site.get("properties")
    return isinstance(properties, dict) and properties.get("sku") == "FlexConsumption"


def action_allowed(action: str, permissions: list[dict[str, Any]]) -> bool:
    """Whether ARM's permissions list grants `action` (wildcards honoured, notActions subtract)."""
    wanted = action.lower()
    for entry in permissions:
        allowed = any(fnmatch.fnmatchcase(wanted, a.lower()) for a in entry.get("actions", []))
        excluded = any(fnmatch.fnmatchcase(wanted, n.lower()) for n in entry.get("notActions", []))
        if allowed and not excluded:
            return True
    return False


def attached_identities(site: Any) -> dict[str, dict[str, Any]]:
    """The user-assigned identities attached to a site or slot, resource ID -> details."""
    if not isinstance(site, dict):
        return {}
    assigned = (site.get("identity") or {}).get("userAssignedIdentities") or {}
    return {str(k): (v or {}) for k, v in assigned.items()} if isinstance(assigned, dict) else {}


def slot_principal(site: dict[str, Any]) -> str | None:
    """Principal (object) ID of the identity a slot uses (its Key Vault reference identity)."""
    assigned = attached_identities(site)
    kv_identity = str(site.get("keyVaultReferenceIdentity") or "").lower()
    for resource_id, details in assigned.items():
        if resource_id.lower() == kv_identity or len(assigned) == 1:
            return str(details.get("principalId") or "") or None
    return None


def site_path(subscription_id: str, target: Target, slot: str | None) -> str:
    """ARM path of the site or of one of its slots."""
    path = (
        f"/subscriptions/{subscription_id}/resourceGroups/{target.resource_group}"
        f"/providers/Microsoft.Web/sites/{target.app}"
    )
    return f"{path}/slots/{slot}" if slot else path


class Preflight:
    """Runs the read-only checks through one AzureCli."""

    def __init__(self, az: AzureCli, target: Target, local_host_json: Path = REPO_ROOT / "host.json") -> None:
        self.az = az
        self.target = target
        self.report = PreflightReport()
        self.local_host_json = local_host_json
        self.subscription_id = ""

    # --- helpers ---------------------------------------------------------------------------
    def _slot_args(self, slot: str | None) -> list[str]:
        return ["--slot", slot] if slot else []

    def _safe(self, check_id: str, remedy: str, call: Callable[[], Any]) -> Any:
        """Run an az query; a failure becomes a failed check instead of a crash."""
        try:
            return call()
        except AzError as error:
            hint = remedy
            if error.is_forbidden:
                hint = f"The caller lacks permission for this read. {remedy}"
            self.report.add(check_id, False, f"az failed: {error.stderr[:300]}", hint)
            return None

    def _site_config(self, check_id: str, slot: str | None, document: str, remedy: str) -> Any:
        """GET one of the site's (or slot's) `config/<document>` resources over ARM REST, via `_safe`."""
        url = (
            f"{ARM}{site_path(self.subscription_id, self.target, slot)}/config/{document}"
            f"?api-version={WEB_API_VERSION}"
        )
        return self._safe(check_id, remedy, lambda: self.az.query(["rest", "--method", "get", "--url", url]))

    # --- steps -----------------------------------------------------------------------------
    def run(self) -> PreflightReport:
        """Run every check in order; stops early only when the target itself is wrong."""
        if not self.check_target():
            return self.report
        self.check_permissions()
        self.check_providers()
        production = self.inspect_slot(None)
        staging = self.inspect_slot(self.target.slot)
        self.check_slot_list(production.get("site"))
        self.check_task_hubs(production.get("settings"), staging.get("settings"))
        self.check_slot_boundary(production, staging)
        self.check_telemetry(production, staging)
        self.check_storage(production, staging)
        self.report.snapshots = {
            "production": self.snapshot(production, "production"),
            self.target.slot: self.snapshot(staging, self.target.slot),
        }
        self.report.slot_diff = diff_snapshots(
            self.report.snapshots["production"], self.report.snapshots[self.target.slot]
        )
        self.check_platform_slot_diff()
        return self.report

    def check_target(self) -> bool:
        """`az account show`: record and confirm tenant/subscription; refuse the wrong one."""
        account = self._safe(
            "target.account",
            "Run `az login` and `az account set --subscription <id>` for the intended subscription.",
            lambda: self.az.query(["account", "show"]),
        )
        if not isinstance(account, dict):
            return False
        self.subscription_id = str(account.get("id", ""))
        user = account.get("user") or {}
        self.report.target = {
            "tenantId": account.get("tenantId"),
            "subscriptionId": self.subscription_id,
            "subscriptionName": account.get("name"),
            "caller": user.get("name"),
            "callerType": user.get("type"),
            "resourceGroup": self.target.resource_group,
            "app": self.target.app,
            "slot": self.target.slot,
            "touchesProductionState": False,
            "note": "preflight only reads; it inspects the production site and the staging slot",
        }
        expected = self.target.subscription
        if expected and expected not in (self.subscription_id, account.get("name")):
            self.report.add(
                "target.subscription",
                False,
                f"az is logged in to subscription {self.subscription_id} ({account.get('name')}), "
                f"expected {expected}",
                f"Run `az account set --subscription {expected}` and rerun preflight.",
            )
            return False
        self.report.add(
            "target.subscription",
            True,
            f"tenant {account.get('tenantId')}, subscription {self.subscription_id} ({account.get('name')})"
            + ("" if expected else " (not pinned: pass --subscription to refuse any other)"),
        )
        return True

    def check_permissions(self) -> None:
        """ARM permissions of the caller on the resource group cover what follows."""
        url = (
            f"{ARM}/subscriptions/{self.subscription_id}/resourceGroups/{self.target.resource_group}"
            f"/providers/Microsoft.Authorization/permissions?api-version={PERMISSIONS_API_VERSION}"
        )
        result = self._safe(
            "access.permissions",
            "Check the resource group name, or ask for read access to it.",
            lambda: self.az.query(["rest", "--method", "get", "--url", url]),
        )
        if not isinstance(result, dict):
            return
        permissions = result.get("value", [])
        wanted = PREFLIGHT_ACTIONS + (RELEASE_ACTIONS if self.target.release_permissions else ())
        missing = [a for a in wanted if not action_allowed(a, permissions)]
        self.report.add_findings(
            "access.permissions",
            missing,
            "caller may perform every action needed",
            "Grant a role with these actions on the resource group (a small custom role rather than "
            "Contributor; Reader lacks Microsoft.Web/sites/config/list/action).",
            heading="missing: ",
            separator=", ",
        )

    def check_providers(self) -> None:
        """Resource providers the app uses are registered in the subscription."""
        unregistered = []
        for namespace in REQUIRED_PROVIDERS:
            provider = self._safe(
                "access.providers",
                "Check the subscription and your read access to it.",
                partial(self.az.query, ["provider", "show", "--namespace", namespace]),
            )
            if provider is None:
                return
            if provider.get("registrationState") != "Registered":
                unregistered.append(f"{namespace} ({provider.get('registrationState')})")
        self.report.add_findings(
            "access.providers",
            unregistered,
            "registered: " + ", ".join(REQUIRED_PROVIDERS),
            "Run `az provider register --namespace <namespace>` (needs subscription-level rights).",
            heading="not registered: ",
            separator=", ",
        )

    def inspect_slot(self, slot: str | None) -> dict[str, Any]:
        """`functionapp show` and `appsettings list` for one slot, with their checks."""
        label = slot or "production"
        site = self._safe(
            f"{label}.site",
            f"Check that app {self.target.app} and slot {label} exist in {self.target.resource_group}.",
            lambda: self.az.query(
                [
                    "functionapp",
                    "show",
                    "-g",
                    self.target.resource_group,
                    "-n",
                    self.target.app,
                    *self._slot_args(slot),
                ]
            ),
        )
        raw_settings = self._safe(
            f"{label}.settings",
            "Grant Microsoft.Web/sites/config/list/action (and the slots/ variant) to the caller.",
            lambda: self.az.query(
                [
                    "functionapp",
                    "config",
                    "appsettings",
                    "list",
                    "-g",
                    self.target.resource_group,
                    "-n",
                    self.target.app,
                    *self._slot_args(slot),
                ]
            ),
        )
        settings = settings_by_name(raw_settings) if isinstance(raw_settings, list) else None
        data: dict[str, Any] = {"slot": label, "site": site, "settings": settings}
        if isinstance(site, dict):
            self.check_site(label, site)
        if isinstance(site, dict) and settings is not None:
            self.check_settings(label, site, settings)
            data["references"] = self.check_key_vault_references(label, slot, settings)
        data["authentication"] = self.check_authentication(label, slot, settings)
        return data

    def check_authentication(
        self, label: str, slot: str | None, settings: dict[str, dict[str, Any]] | None
    ) -> dict[str, Any]:
        """App Service Authentication is on, with Entra ID, and lets nothing anonymous through.

        The app reads the caller from Easy Auth's X-MS-CLIENT-PRINCIPAL headers; only Easy Auth
        strips forged ones, so a slot without it (or letting anonymous callers in) lets anyone act
        as anyone. Returns the evidence for the snapshot.
        """
        result = self._site_config(
            f"{label}.authentication",
            slot,
            "authsettingsV2",
            "Grant the caller read access to the site configuration (Microsoft.Web/sites/config/read).",
        )
        if not isinstance(result, dict):
            return {}
        properties = result.get("properties") or {}
        validation = properties.get("globalValidation") or {}
        entra = (properties.get("identityProviders") or {}).get("azureActiveDirectory") or {}
        registration = entra.get("registration") or {}
        client_id = str(registration.get("clientId") or "")
        excluded = sorted(str(p) for p in validation.get("excludedPaths") or [])
        action = validation.get("unauthenticatedClientAction")
        token_store = bool(((properties.get("login") or {}).get("tokenStore") or {}).get("enabled"))
        problems = []
        if (properties.get("platform") or {}).get("enabled") is not True:
            problems.append("authentication is off (platform.enabled is not true)")
        if validation.get("requireAuthentication") is not True:
            problems.append("requireAuthentication is not true")
        if action not in AUTH_DENYING_ACTIONS:
            problems.append(f"unauthenticated requests are let through ({action or 'no action set'})")
        if set(excluded) - AUTH_EXCLUDED_PATHS:
            problems.append(f"paths open without sign-in beyond the health check: {excluded}")
        if entra.get("enabled") is not True or not client_id:
            problems.append("Microsoft Entra ID is not the configured identity provider")
        elif client_id == PLACEHOLDER_CLIENT_ID:
            problems.append("the app registration is the placeholder client ID of main.parameters.json")
        if token_store:
            problems.append("the token store is on (the app needs no provider tokens)")
        if settings is not None and AUTH_ENABLED_SETTING in settings:
            problems.append(f"an app setting named {AUTH_ENABLED_SETTING} exists (the platform sets it)")
        self.report.add_findings(
            f"{label}.authentication",
            problems,
            f"Entra ID sign-in required (client {client_id}), {action} for the unauthenticated, "
            f"open: {', '.join(excluded) or 'nothing'}",
            "Deploy infra/ with authClientId set to the Entra app registration (docs/deploy-to-azure.md, "
            "'Sign-in and app roles'): it configures authsettingsV2 on both slots; delete any "
            f"{AUTH_ENABLED_SETTING} app setting.",
        )
        return {
            "enabled": (properties.get("platform") or {}).get("enabled"),
            "requireAuthentication": validation.get("requireAuthentication"),
            "unauthenticatedClientAction": action,
            "excludedPaths": excluded,
            "clientId": client_id,
            "allowedAudiences": sorted(
                str(a) for a in (entra.get("validation") or {}).get("allowedAudiences") or []
            ),
            "tokenStore": token_store,
        }

    def check_site(self, label: str, site: dict[str, Any]) -> None:
        """Site/slot state, kind, runtime, HTTPS and identity."""
        if is_flex(site):
            self.report.add(
                f"{label}.site",
                False,
                "this is a Flex Consumption app (raw ARM shape); Flex has no deployment slots",
                "These scripts release through slots on Elastic Premium; use infra/main.bicep.",
            )
            return
        problems = []
        if site.get("state") != "Running":
            problems.append(f"state is {site.get('state')}")
        if site.get("enabled") is False:
            problems.append("site is disabled")
        if "functionapp" not in str(site.get("kind")) or "linux" not in str(site.get("kind")):
            problems.append(f"kind is {site.get('kind')}, expected functionapp,linux")
        site_config = site.get("siteConfig") or {}
        if not str(site_config.get("linuxFxVersion", "")).lower().startswith("python|3.11"):
            problems.append(f"runtime is {site_config.get('linuxFxVersion')}, expected Python|3.11")
        if site.get("httpsOnly") is not True:
            problems.append("httpsOnly is off")
        if site_config.get("ftpsState") not in ("Disabled", None):
            problems.append(f"ftpsState is {site_config.get('ftpsState')}")
        self.report.add_findings(
            f"{label}.site",
            problems,
            f"{site.get('state')}, {site.get('kind')}, {site_config.get('linuxFxVersion')}",
            "Redeploy infra (az deployment group create ... --mode Incremental) or start the slot.",
        )
        identity = site.get("identity") or {}
        assigned = identity.get("userAssignedIdentities") or {}
        kv_identity = str(site.get("keyVaultReferenceIdentity") or "")
        ok = "UserAssigned" in str(identity.get("type")) and any(
            k.lower() == kv_identity.lower() for k in assigned
        )
        self.report.add(
            f"{label}.identity",
            ok,
            f"user-assigned identity attached and used for Key Vault references ({len(assigned)} attached)"
            if ok
            else f"identity type {identity.get('type')}, keyVaultReferenceIdentity {kv_identity or 'unset'}",
            "Attach the user-assigned identity to site and slot and set keyVaultReferenceIdentity "
            "to its resource ID (infra/modules/functionapp.bicep does both).",
        )

    @staticmethod
    def identity_client_id(site: dict[str, Any]) -> str | None:
        """Client ID of the identity used for Key Vault references (the app's UAI)."""
        assigned = (site.get("identity") or {}).get("userAssignedIdentities") or {}
        kv_identity = str(site.get("keyVaultReferenceIdentity") or "").lower()
        for resource_id, details in assigned.items():
            if resource_id.lower() == kv_identity or len(assigned) == 1:
                return str((details or {}).get("clientId") or "") or None
        return None

    def check_settings(self, label: str, site: dict[str, Any], settings: dict[str, dict[str, Any]]) -> None:
        """Required settings, identity-based storage, secrets as Key Vault references."""
        missing = [n for n in REQUIRED_SETTINGS if n not in settings]
        if "AzureWebJobsStorage__accountName" not in settings and not all(
            f"AzureWebJobsStorage__{s}ServiceUri" in settings for s in ("blob", "queue", "table")
        ):
            missing.append("AzureWebJobsStorage__accountName (or the three __*ServiceUri settings)")
        self.report.add_findings(
            f"{label}.settings.required",
            missing,
            f"{len(settings)} settings, all required present",
            "Redeploy infra; it writes every required setting (merged with the existing ones).",
            heading="missing: ",
            separator=", ",
        )

        def value(name: str) -> str:
            return str((settings.get(name) or {}).get("value") or "")

        client_id = self.identity_client_id(site)
        problems = []
        if "AzureWebJobsStorage" in settings:
            problems.append("AzureWebJobsStorage (a connection string) is set")
        if value("AzureWebJobsStorage__credential") != "managedidentity":
            problems.append("AzureWebJobsStorage__credential is not managedidentity")
        if client_id and value("AzureWebJobsStorage__clientId").lower() != client_id.lower():
            problems.append("AzureWebJobsStorage__clientId is not the app identity's client ID")
        self.report.add_findings(
            f"{label}.storage.identity",
            problems,
            "host storage is reached by the user-assigned identity",
            "Delete AzureWebJobsStorage with `az functionapp config appsettings delete --setting-names "
            "AzureWebJobsStorage` and redeploy infra (identity settings AzureWebJobsStorage__*).",
        )
        plain_secrets = [
            name
            for name in settings
            if name not in NOT_SECRET and SECRET_NAME.search(name) and not key_vault_target(value(name))
        ]
        self.report.add_findings(
            f"{label}.settings.secrets",
            sorted(plain_secrets),
            "every secret-looking setting is a Key Vault reference",
            "Store the secret in Key Vault (az keyvault secret set) and set the setting to "
            "@Microsoft.KeyVault(SecretUri=https://<vault>.vault.azure.net/secrets/<name>/).",
            heading="plain values in: ",
            separator=", ",
        )

    def check_key_vault_references(
        self, label: str, slot: str | None, settings: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Every Key Vault reference resolves (status Resolved), per the platform's own view."""
        check_id = f"{label}.keyvault.references"
        if not any(key_vault_target(str(s.get("value") or "")) for s in settings.values()):
            self.report.add(check_id, True, "no Key Vault references")
            return []
        result = self._site_config(
            check_id,
            slot,
            "configreferences/appsettings",
            "Grant the caller read access to the site configuration.",
        )
        if not isinstance(result, dict):
            return []
        references = []
        unresolved = []
        for item in result.get("value", []):
            properties = item.get("properties") or {}
            name = str(item.get("name", "")).split("/")[-1]
            status = properties.get("status")
            references.append({"name": name, "status": status, "secretName": properties.get("secretName")})
            if status != "Resolved":
                unresolved.append(f"{name}: {status}")
        self.report.add_findings(
            check_id,
            unresolved,
            f"{len(references)} Key Vault references resolved",
            "SecretNotFound: create the secret (az keyvault secret set); AccessToKeyVaultDenied: grant the "
            "app identity Key Vault Secrets User; MSINotEnabled: set keyVaultReferenceIdentity.",
        )
        return references

    def check_slot_list(self, production_site: Any) -> None:
        """The staging slot exists, runs and shares the production plan."""
        slots = self._safe(
            "slots.staging",
            "Check the app name and your read access.",
            lambda: self.az.query(
                [
                    "functionapp",
                    "deployment",
                    "slot",
                    "list",
                    "-g",
                    self.target.resource_group,
                    "-n",
                    self.target.app,
                ]
            ),
        )
        if not isinstance(slots, list):
            return
        found = next((s for s in slots if s.get("name") == self.target.slot), None)
        if found is None:
            names = ", ".join(str(s.get("name")) for s in slots)
            self.report.add(
                "slots.staging",
                False,
                f"slot {self.target.slot} not found (slots: {names or 'none'})",
                "Deploy infra/main.bicep; it creates the staging slot.",
            )
            return
        problems = []
        if found.get("state") != "Running":
            problems.append(f"slot state is {found.get('state')}")
        if isinstance(production_site, dict):
            plan = str(production_site.get("serverFarmId", "")).rsplit("/", 1)[-1]
            if plan and str(found.get("appServicePlan")) != plan:
                problems.append(f"slot runs on plan {found.get('appServicePlan')}, production on {plan}")
        self.report.add_findings(
            "slots.staging",
            problems,
            f"slot {self.target.slot} running on plan {found.get('appServicePlan')}",
            f"Start the slot (az functionapp start --slot {self.target.slot}) or redeploy infra.",
        )

    def check_task_hubs(self, production: Any, staging: Any) -> None:
        """TASKHUB_NAME is valid and sticky in both slots, and the two differ."""
        if not isinstance(production, dict) or not isinstance(staging, dict):
            return
        problems = []
        hubs = {}
        for label, settings in (("production", production), (self.target.slot, staging)):
            entry = settings.get("TASKHUB_NAME")
            if entry is None:
                problems.append(f"{label}: TASKHUB_NAME missing")
                continue
            hub = str(entry.get("value") or "")
            hubs[label] = hub
            if not TASK_HUB_NAME.match(hub):
                problems.append(f"{label}: {hub!r} is not 3-45 letters/digits starting with a letter")
            if entry.get("slotSetting") is not True:
                problems.append(f"{label}: TASKHUB_NAME is not a slot (sticky) setting")
        if len(hubs) == 2 and hubs["production"].lower() == hubs[self.target.slot].lower():
            problems.append(
                f"both slots use task hub {hubs['production']!r}: they would compete for its messages"
            )
        self.report.add_findings(
            "taskhub.per_slot",
            problems,
            f"production={hubs.get('production')}, {self.target.slot}={hubs.get(self.target.slot)}, sticky",
            "Redeploy infra: it sets distinct TASKHUB_NAME values and lists TASKHUB_NAME in slotConfigNames.",
        )

    def check_slot_boundary(self, production: dict[str, Any], staging: dict[str, Any]) -> None:
        """Each slot its own identity; the settings tied to a slot sticky; production on http."""
        label = self.target.slot
        identities = {
            data["slot"]: {k.lower() for k in attached_identities(data.get("site"))}
            for data in (production, staging)
            if isinstance(data.get("site"), dict)
        }
        if len(identities) == 2:
            mine, theirs = identities["production"], identities[label]
            problems = [
                f"{slot} has {len(ids)} user-assigned identities (it needs exactly its own one)"
                for slot, ids in identities.items()
                if len(ids) != 1
            ]
            if mine & theirs:
                problems.append(
                    "production and staging carry the same identity: staging's code could read and write "
                    "production's effects"
                )
            self.report.add_findings(
                "identity.per_slot",
                problems,
                "each slot has an identity of its own",
                "Redeploy infra: it creates one user-assigned identity per slot, attached to its slot only.",
            )
        for data in (production, staging):
            settings = data.get("settings")
            if not isinstance(settings, dict):
                continue
            loose = [
                name
                for name in STICKY_SETTINGS
                if name in settings and settings[name].get("slotSetting") is not True
            ]
            self.report.add_findings(
                f"{data['slot']}.settings.sticky",
                loose,
                f"sticky: {', '.join(n for n in STICKY_SETTINGS if n in settings)}",
                "Redeploy infra: slotConfigNames lists every setting that names the slot's hub, identity "
                "or integrations.",
                heading="not sticky (they would move to the other slot on a swap): ",
                separator=", ",
            )
        for data in (production, staging):
            settings = data.get("settings")
            if not isinstance(settings, dict):
                continue
            mode = str((settings.get("INTEGRATIONS_MODE") or {}).get("value") or "")
            if data["slot"] == "production":
                ok = mode == PRODUCTION_INTEGRATIONS_MODE
                detail = (
                    "INTEGRATIONS_MODE=http: the real outside systems"
                    if ok
                    else f"INTEGRATIONS_MODE is {mode or 'unset'!r}: production would refund, message and "
                    "reserve nothing real (sandboxes)"
                )
                remedy = "Set INTEGRATIONS_MODE=http on production (redeploy infra; it is a sticky setting)."
            else:
                ok = mode in ("http", "sandbox")
                detail = (
                    f"INTEGRATIONS_MODE={mode}"
                    + (
                        " (real outside systems: staging needs test accounts of its own)"
                        if mode == "http"
                        else ""
                    )
                    if ok
                    else f"INTEGRATIONS_MODE is {mode or 'unset'!r}"
                )
                remedy = "Redeploy infra (stagingIntegrationsMode)."
            self.report.add(f"{data['slot']}.integrations", ok, detail, remedy)

    def _component(self, name: str) -> dict[str, Any] | None:
        """App Insights component, via the extension command or the core-CLI fallback."""
        try:
            component = self.az.query(
                [
                    "monitor",
                    "app-insights",
                    "component",
                    "show",
                    "--app",
                    name,
                    "-g",
                    self.target.resource_group,
                ]
            )
        except AzError as error:
            text = error.stderr.lower()
            if "extension" not in text and "app-insights" not in text and "misspelled" not in text:
                raise
            component = None
        raw = self.az.query(
            [
                "resource",
                "show",
                "-g",
                self.target.resource_group,
                "-n",
                name,
                "--resource-type",
                "Microsoft.Insights/components",
            ]
        )
        merged: dict[str, Any] = {}
        if isinstance(raw, dict):
            properties = raw.get("properties") or {}
            merged = {
                "id": raw.get("id"),
                "connectionString": properties.get("ConnectionString"),
                "workspaceResourceId": properties.get("WorkspaceResourceId"),
                "disableLocalAuth": properties.get("DisableLocalAuth"),
                "source": "az resource show",
            }
        if isinstance(component, dict):
            merged.update(
                {
                    "connectionString": component.get("connectionString") or merged.get("connectionString"),
                    "workspaceResourceId": component.get("workspaceResourceId")
                    or merged.get("workspaceResourceId"),
                    "source": "az monitor app-insights component show + az resource show",
                }
            )
        return merged or None

    def check_telemetry(self, production: dict[str, Any], staging: dict[str, Any]) -> None:
        """Both slots send telemetry to the expected, workspace-based, Entra-only component."""
        if not self.target.app_insights:
            self.report.checks.append(
                Check(
                    "telemetry.component", "warn", "not checked: pass --app-insights NAME (deployment output)"
                )
            )
            return
        try:
            component = self._component(self.target.app_insights)
        except AzError as error:
            self.report.add(
                "telemetry.component",
                False,
                f"az failed: {error.stderr[:300]}",
                "Check the component name (output APPLICATION_INSIGHTS_NAME) and read access.",
            )
            return
        if not component:
            self.report.add("telemetry.component", False, "component not found", "Deploy infra/main.bicep.")
            return
        problems = []
        if not component.get("workspaceResourceId"):
            problems.append("component is not workspace-based")
        if component.get("disableLocalAuth") is not True:
            problems.append("local (instrumentation key) authentication is enabled")
        expected = parse_connection_string(str(component.get("connectionString") or ""))
        for data in (production, staging):
            settings = data.get("settings")
            if not isinstance(settings, dict):
                continue
            actual = parse_connection_string(
                str((settings.get("APPLICATIONINSIGHTS_CONNECTION_STRING") or {}).get("value") or "")
            )
            if actual.get("instrumentationkey") != expected.get("instrumentationkey"):
                problems.append(f"{data['slot']}: connection string points at another component")
            auth = str((settings.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING") or {}).get("value") or "")
            client_id = self.identity_client_id(data["site"]) if isinstance(data.get("site"), dict) else None
            if "authorization=aad" not in auth.lower() or (
                client_id and f"clientid={client_id.lower()}" not in auth.lower()
            ):
                problems.append(
                    f"{data['slot']}: APPLICATIONINSIGHTS_AUTHENTICATION_STRING does not name the identity"
                )
        self.report.add_findings(
            "telemetry.component",
            problems,
            f"both slots report to {self.target.app_insights} with Entra auth ({component.get('source')})",
            "Redeploy infra: it sets the connection string from the component and "
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD;ClientId=<identity client id>.",
        )

    def check_storage(self, production: dict[str, Any], staging: dict[str, Any] | None = None) -> None:
        """Storage account is identity-only; each slot's identity holds exactly its own data roles."""
        storage_account = self.target.storage_account
        if not storage_account:
            self.report.checks.append(
                Check(
                    "storage.account", "warn", "not checked: pass --storage-account NAME (deployment output)"
                )
            )
            return
        account = self._safe(
            "storage.account",
            "Check the account name (output STORAGE_ACCOUNT_NAME) and read access.",
            lambda: self.az.query(
                [
                    "storage",
                    "account",
                    "show",
                    "-g",
                    self.target.resource_group,
                    "-n",
                    storage_account,
                ]
            ),
        )
        if not isinstance(account, dict):
            return
        problems = []
        if account.get("allowSharedKeyAccess") is not False:
            problems.append("shared-key access is allowed")
        if account.get("allowBlobPublicAccess") is not False:
            problems.append("public blob access is allowed")
        if account.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
            problems.append(f"minimum TLS is {account.get('minimumTlsVersion')}")
        self.report.add_findings(
            "storage.account",
            problems,
            "shared keys off, public blob access off, TLS >= 1.2",
            "Redeploy infra/modules/storage.bicep (shared keys and public blob access off, TLS1_2).",
        )
        slots = [production, *([staging] if staging is not None else [])]
        hubs = {
            data["slot"]: str(
                ((data.get("settings") or {}).get("TASKHUB_NAME") or {}).get("value") or ""
            ).lower()
            for data in slots
        }
        for data in slots:
            self.check_slot_roles(data, str(account.get("id") or ""), hubs)

    def role_assignments_of(self, principal: str) -> list[dict[str, Any]] | None:
        """Every role assignment of `principal` at, above or below the resource group (ARM REST)."""
        url = (
            f"{ARM}/subscriptions/{self.subscription_id}/resourceGroups/{self.target.resource_group}"
            f"/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHORIZATION_API_VERSION}"
            f"&$filter=principalId eq '{principal}'"
        )
        result = self.az.query(["rest", "--method", "get", "--url", url])
        if not isinstance(result, dict):
            return None
        return [
            item.get("properties") or {}
            for item in result.get("value", [])
            if isinstance(item, dict) and (item.get("properties") or {}).get("principalId") == principal
        ]

    def check_slot_roles(self, data: dict[str, Any], account_id: str, hubs: dict[str, str]) -> None:
        """Blob write roles on exactly the slot's own containers, the package read-only, Durable's
        queues and tables, and no Owner-class role anywhere."""
        label = data["slot"]
        check_id = "storage.roles" if label == "production" else f"storage.roles.{label}"
        site = data.get("site")
        principal = slot_principal(site) if isinstance(site, dict) else None
        settings = data.get("settings") or {}
        if not principal or not account_id:
            self.report.add(
                check_id, False, f"{label}: no identity to check", "Fix the identity check first."
            )
            return
        try:
            assignments = self.role_assignments_of(principal)
        except AzError as error:
            hint = "Grant the caller Microsoft.Authorization/roleAssignments/read on the resource group."
            self.report.add(check_id, False, f"az failed: {error.stderr[:300]}", hint)
            return
        if assignments is None:
            self.report.add(
                check_id, False, "no role assignment list", "Check read access to role assignments."
            )
            return
        prefix = str(
            (settings.get("STORAGE_CONTAINER_PREFIX") or {}).get("value") or DEFAULT_CONTAINER_PREFIX
        ).lower()
        hub = hubs.get(label, "")
        others = [other for slot, other in hubs.items() if slot != label and other]
        own = {f"{prefix}-{hub}-{p}" for p in ("effect-ledger", "payloads", "documents")}
        own |= {f"{hub}-{p}" for p in ("leases", "applease", "largemessages")}
        containers_prefix = f"{account_id}/blobServices/default/containers/".lower()
        held: dict[str, set[str]] = {}
        problems = []
        for assignment in assignments:
            role = str(assignment.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower()
            scope = str(assignment.get("scope", "")).lower()
            if role in OWNER_CLASS_ROLES:
                problems.append(f"holds {OWNER_CLASS_ROLES[role]} on {scope.rsplit('/providers/', 1)[-1]}")
            held.setdefault(role, set()).add(scope)
        writable = held.get(STORAGE_BLOB_DATA_CONTRIBUTOR, set())
        own_audit = f"{prefix}-{hub}-{AUDIT_CONTAINER_PURPOSE}".lower()
        for scope in sorted(writable):
            if not scope.startswith(containers_prefix):
                # Another account: only the audit account's container of this slot's own hub.
                account_part, found, container = scope.partition("/blobservices/default/containers/")
                if found and container == own_audit and "/providers/microsoft.storage/" in account_part:
                    continue
                if found and any(
                    container == f"{prefix}-{other}-{AUDIT_CONTAINER_PURPOSE}" for other in others
                ):
                    problems.append(f"can write the other slot's audit container {container}")
                    continue
                problems.append(
                    f"Storage Blob Data Contributor beyond a container: {scope.rsplit('/providers/', 1)[-1]}"
                )
                continue
            container = scope.removeprefix(containers_prefix)
            if container == self.target.package_container.lower():
                problems.append(f"can write the deployment package container {container}")
            elif any(container.startswith((f"{prefix}-{other}-", f"{other}-")) for other in others):
                problems.append(f"can write the other slot's container {container}")
        missing = sorted(c for c in (*own, *HOST_CONTAINERS) if f"{containers_prefix}{c}" not in writable)
        if missing:
            problems.append("no Storage Blob Data Contributor on " + ", ".join(missing))
        package_scope = f"{containers_prefix}{self.target.package_container.lower()}"
        if package_scope not in held.get(STORAGE_BLOB_DATA_READER, set()):
            problems.append(f"cannot read the package container {self.target.package_container}")
        for role, name in (
            (STORAGE_QUEUE_DATA_CONTRIBUTOR, "Storage Queue Data Contributor"),
            (STORAGE_TABLE_DATA_CONTRIBUTOR, "Storage Table Data Contributor"),
        ):
            if account_id.lower() not in held.get(role, set()):
                problems.append(f"lacks {name} on the storage account")
        data["storageRoles"] = sorted(
            f"{ROLE_NAMES.get(role, role)} -> {str(a.get('scope', '')).rsplit('/providers/', 1)[-1]}"
            for a in assignments
            for role in [str(a.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower()]
        )
        self.report.add_findings(
            check_id,
            problems,
            f"{label} identity: blob write on its {len(own) + len(HOST_CONTAINERS)} containers only, "
            "package read-only, queues and tables for Durable, no Owner-class role",
            "Redeploy infra/modules/rbac.bicep (it grants exactly these) and remove any assignment made by "
            "hand (az role assignment delete --ids ...); assignments take minutes to propagate.",
            heading=f"{label} identity {principal}: ",
        )

    def check_platform_slot_diff(self) -> None:
        """Ask the platform which settings differ between staging and production (report only)."""
        url = (
            f"{ARM}{site_path(self.subscription_id, self.target, self.target.slot)}/slotsdiffs"
            f"?api-version={WEB_API_VERSION}"
        )
        body = json.dumps({"targetSlot": "production", "preserveVnet": True})
        result = self._safe(
            "slots.diff",
            "Grant the caller Microsoft.Web/sites/slots/slotsdiffs/action, or skip with care.",
            lambda: self.az.query(["rest", "--method", "post", "--url", url, "--body", body]),
        )
        if not isinstance(result, dict):
            return
        differences = [
            {
                "setting": (d.get("properties") or {}).get("settingName"),
                "type": (d.get("properties") or {}).get("settingType"),
                "level": (d.get("properties") or {}).get("level"),
                "description": (d.get("properties") or {}).get("description"),
            }
            for d in result.get("value", [])
        ]
        self.report.snapshots["platformSlotDiff"] = differences
        self.report.checks.append(
            Check("slots.diff", "pass", f"{len(differences)} platform-reported difference(s), see snapshots")
        )

    def snapshot(self, data: dict[str, Any], label: str) -> dict[str, Any]:
        """Configuration evidence for one slot: names, flags, hashes, never values."""
        site = data.get("site") if isinstance(data.get("site"), dict) else {}
        assert isinstance(site, dict)
        settings = data.get("settings") or {}
        site_config = site.get("siteConfig") or {}
        identity = site.get("identity") or {}
        return {
            "slot": label,
            "state": site.get("state"),
            "plan": str(site.get("serverFarmId", "")).rsplit("/", 1)[-1] or None,
            "runtime": site_config.get("linuxFxVersion"),
            "extensionBundle": local_extension_bundle(self.local_host_json),
            "identity": {
                "type": identity.get("type"),
                "userAssigned": sorted((identity.get("userAssignedIdentities") or {}).keys()),
                "keyVaultReferenceIdentity": site.get("keyVaultReferenceIdentity"),
            },
            "provisioningState": site.get("provisioningState")
            or (site.get("properties") or {}).get("provisioningState"),
            "lastModifiedTimeUtc": site.get("lastModifiedTimeUtc"),
            "settings": describe_settings(settings),
            "keyVaultReferences": data.get("references", []),
            "authentication": data.get("authentication", {}),
            "storageRoles": data.get("storageRoles", []),
        }


def local_extension_bundle(host_json: Path) -> dict[str, Any] | None:
    """extensionBundle of the build being released (host.json is not readable through ARM)."""
    try:
        bundle = json.loads(host_json.read_text(encoding="utf-8")).get("extensionBundle")
    except (OSError, json.JSONDecodeError):
        return None
    return bundle if isinstance(bundle, dict) else None


def diff_snapshots(production: dict[str, Any], staging: dict[str, Any]) -> list[dict[str, Any]]:
    """What differs between the two slots' snapshots (sticky differences are expected)."""
    differences: list[dict[str, Any]] = []
    for key in ("state", "plan", "runtime", "identity"):
        if production.get(key) != staging.get(key):
            differences.append({"field": key, "production": production.get(key), "staging": staging.get(key)})
    prod_settings = {s["name"]: s for s in production.get("settings", [])}
    stage_settings = {s["name"]: s for s in staging.get("settings", [])}
    for name in sorted(set(prod_settings) | set(stage_settings)):
        left, right = prod_settings.get(name), stage_settings.get(name)
        if left == right:
            continue
        sticky = bool((left or {}).get("slotSetting") or (right or {}).get("slotSetting"))
        differences.append(
            {
                "setting": name,
                "production": None
                if left is None
                else left.get("keyVaultReference") or left.get("valueHash"),
                "staging": None
                if right is None
                else right.get("keyVaultReference") or right.get("valueHash"),
                "sticky": sticky,
                "expected": sticky or name == "WEBSITE_RUN_FROM_PACKAGE",
            }
        )
    return differences


def format_summary(report: PreflightReport) -> str:
    """A short human summary of the report."""
    target = report.target
    lines = [
        f"Target: tenant {target.get('tenantId')} / subscription {target.get('subscriptionId')} "
        f"({target.get('subscriptionName')}) / group {target.get('resourceGroup')} / app {target.get('app')} "
        f"/ slot {target.get('slot')} (read-only, production state untouched)"
    ]
    for check in report.checks:
        mark = {"pass": "ok  ", "fail": "FAIL", "warn": "warn"}.get(check.status, check.status)
        lines.append(f"  {mark} {check.id}: {check.detail}")
        if check.status == "fail" and check.remedy:
            lines.append(f"         -> {check.remedy}")
    unexpected = [d for d in report.slot_diff if d.get("setting") and not d.get("expected")]
    if report.slot_diff:
        lines.append(
            f"Slot diff: {len(report.slot_diff)} difference(s), "
            f"{len(unexpected)} not explained by sticky settings"
        )
        for d in unexpected:
            lines.append(f"  differs: {d['setting']}")
    failed = sum(1 for c in report.checks if c.status == "fail")
    lines.append("Preflight passed." if report.ok else f"Preflight FAILED: {failed} check(s).")
    return "\n".join(lines)


def target_from_args(args: argparse.Namespace) -> Target:
    """Build the Target from parsed arguments."""
    return options_from(Target, args)


def handle(args: argparse.Namespace, az: AzureCli | None = None) -> int:
    """Entry point of `python -m ops preflight`."""
    report = Preflight(az or AzureCli(), target_from_args(args)).run()
    if args.snapshot_dir:
        args.snapshot_dir.mkdir(parents=True, exist_ok=True)
        for name, snapshot in report.snapshots.items():
            (args.snapshot_dir / f"{name}.json").write_text(
                json.dumps(snapshot, indent=2) + "\n", encoding="utf-8"
            )
        (args.snapshot_dir / "slot-diff.json").write_text(
            json.dumps(report.slot_diff, indent=2) + "\n", encoding="utf-8"
        )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        print(format_summary(report), file=sys.stderr)
    else:
        print(format_summary(report))
    if not report.ok:
        print(
            "Error: preflight failed; fix the checks marked FAIL (each says what to do) and rerun.",
            file=sys.stderr,
        )
    return 0 if report.ok else 1


def inventory(az: AzureCli, resource_group: str | None) -> list[dict[str, Any]]:
    """Function Apps of the subscription (or group) and whether they host Durable Functions."""
    apps = az.query(["functionapp", "list", *(["-g", resource_group] if resource_group else [])]) or []
    rows = []
    for app in apps:
        if is_flex(app):
            properties = app.get("properties") or {}
            runtime = (properties.get("functionAppConfig") or {}).get("runtime") or {}
            row = {
                "name": app.get("name"),
                "resourceGroup": app.get("resourceGroup"),
                "location": app.get("location"),
                "plan": "FlexConsumption",
                "runtime": f"{runtime.get('name')}|{runtime.get('version')}",
                "identity": (app.get("identity") or {}).get("type"),
            }
        else:
            row = {
                "name": app.get("name"),
                "resourceGroup": app.get("resourceGroup"),
                "location": app.get("location"),
                "plan": str(app.get("serverFarmId", "")).rsplit("/", 1)[-1],
                "runtime": (app.get("siteConfig") or {}).get("linuxFxVersion"),
                "identity": (app.get("identity") or {}).get("type"),
            }
        try:
            settings = settings_by_name(
                az.query(
                    [
                        "functionapp",
                        "config",
                        "appsettings",
                        "list",
                        "-g",
                        str(row["resourceGroup"]),
                        "-n",
                        str(row["name"]),
                    ]
                )
            )
        except AzError as error:
            row.update({"durable": "unknown", "taskHub": None, "error": error.stderr[:200]})
            rows.append(row)
            continue
        durable_markers = [
            n for n in settings if n == "TASKHUB_NAME" or "durableTask" in n or n.startswith("DURABLE_TASK")
        ]
        row["durable"] = "yes" if durable_markers else "unknown (hub name only in host.json)"
        row["taskHub"] = (settings.get("TASKHUB_NAME") or {}).get("value")
        rows.append(row)
    return rows


def handle_inventory(args: argparse.Namespace, az: AzureCli | None = None) -> int:
    """Entry point of `python -m ops inventory`."""
    client = az or AzureCli()
    try:
        rows = inventory(client, args.resource_group)
    except AzError as error:
        print(f"Error: {error}. Check `az login` and read access to the subscription.", file=sys.stderr)
        return 1
    lines = (
        f"{row['name']}\t{row['resourceGroup']}\t{row['location']}\t{row['plan']}\t{row['runtime']}\t"
        f"identity={row['identity']}\tdurable={row['durable']}\ttaskHub={row['taskHub']}"
        for row in rows
    )
    print_result(args.json, rows, "\n".join(lines))
    return 0


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by preflight and release."""
    parser.add_argument("-g", "--resource-group", required=True, help="resource group of the app")
    parser.add_argument("-n", "--app", required=True, help="Function App name (output FUNCTION_APP_NAME)")
    parser.add_argument(
        "--slot", default="staging", help="deployment slot to compare with production (default: staging)"
    )
    parser.add_argument(
        "--subscription", help="expected subscription ID or name; anything else is refused (recommended)"
    )
    parser.add_argument(
        "--app-insights", help="Application Insights component name (output APPLICATION_INSIGHTS_NAME)"
    )
    parser.add_argument(
        "--storage-account", help="host/task hub storage account (output STORAGE_ACCOUNT_NAME)"
    )


def register(subparsers: SubParsers) -> None:
    """Add the `preflight` and `inventory` subcommands."""
    parser = add_command(subparsers, "preflight", SUMMARY, __doc__, handle)
    add_target_arguments(parser)
    parser.add_argument(
        "--snapshot-dir", type=Path, help="write per-slot configuration snapshots and the diff here"
    )
    add_json_option(parser, "print one JSON document on stdout (summary on stderr)")
    inv = subparsers.add_parser(
        "inventory",
        help="list Function Apps of the subscription or a group and whether they host Durable Functions",
    )
    inv.add_argument(
        "-g", "--resource-group", help="limit to one resource group (default: whole subscription)"
    )
    add_json_option(inv)
    inv.set_defaults(handler=handle_inventory)
