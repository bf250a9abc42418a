"""Preflight against recorded az output: the healthy app passes, and every check fails when its
evidence is broken."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import pytest

from ops import preflight
from ops.preflight import Preflight, PreflightReport, Target, action_allowed, key_vault_target
from tests.ops.fake_az import FakeAz, load

RG = "rg-wflows-prod"
APP = "func-wflows-prod-k3x9qa"
SUBSCRIPTION = "8f1e2d3c-4b5a-4c6d-9e8f-0a1b2c3d4e5f"
TARGET = Target(
    resource_group=RG,
    app=APP,
    subscription=SUBSCRIPTION,
    app_insights="appi-wflows-prod",
    storage_account="stwflowsk3x9qa7m2c4",
)
PROD_SETTINGS = "functionapp config appsettings list"
STAGING_SETTINGS = "functionapp config appsettings list --slot staging"


def run(fake: FakeAz, target: Target = TARGET) -> PreflightReport:
    return Preflight(fake.cli(), target).run()


def status(report: PreflightReport, check_id: str) -> str:
    matches = [c for c in report.checks if c.id == check_id]
    assert matches, f"check {check_id} did not run; ran: {[c.id for c in report.checks]}"
    return "fail" if any(c.status == "fail" for c in matches) else matches[-1].status


def detail(report: PreflightReport, check_id: str) -> str:
    return next(c for c in report.checks if c.id == check_id).detail


def setting(fake: FakeAz, key: str, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(s for s in fake.stdout(key) if s["name"] == name)
    return entry


def test_healthy_app_passes_every_check() -> None:
    fake = FakeAz.healthy()
    report = run(fake)
    assert report.ok, [c for c in report.checks if c.status != "pass"]
    assert {c.status for c in report.checks} == {"pass"}
    assert report.target["subscriptionId"] == SUBSCRIPTION
    assert report.target["touchesProductionState"] is False


def test_preflight_only_reads() -> None:
    fake = FakeAz.healthy()
    run(fake)
    mutating_words = {"create", "set", "delete", "swap", "upload", "update", "restart", "start", "stop"}
    for call in fake.calls:
        words = [a for a in call if not a.startswith("-")][:4]
        assert not mutating_words & set(words), call
        if call[0] == "rest" and call[call.index("--method") + 1] != "get":
            assert call[call.index("--url") + 1].split("?")[0].endswith("/slotsdiffs"), call


def test_snapshot_never_contains_setting_values() -> None:
    fake = FakeAz.healthy()
    report = run(fake)
    document = json.dumps(report.to_dict())
    # Task hub names, the account name and identity IDs are evidence and appear on purpose.
    never_shown = (
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "WEBSITE_RUN_FROM_PACKAGE",
        "AzureFunctionsWebHost__hostid",
    )
    for key in (PROD_SETTINGS, STAGING_SETTINGS):
        for name in never_shown:
            assert setting(fake, key, name)["value"] not in document, name
    production = report.snapshots["production"]
    names = {s["name"]: s for s in production["settings"]}
    assert names["PAYMENT_GATEWAY_API_KEY"]["keyVaultReference"].endswith("/secrets/payment-gateway-api-key/")
    assert names["TASKHUB_NAME"]["valueHash"].startswith("sha256:")
    assert production["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert production["runtime"] == "Python|3.11"
    assert any("Storage Queue Data Contributor" in r for r in production["storageRoles"])


def test_slot_diff_explains_sticky_and_package_differences() -> None:
    report = run(FakeAz.healthy())
    differing = {d["setting"]: d for d in report.slot_diff if "setting" in d}
    assert differing["TASKHUB_NAME"]["sticky"] is True
    assert differing["WEBSITE_RUN_FROM_PACKAGE"]["expected"] is True
    assert all(d["expected"] for d in differing.values())
    assert len(report.snapshots["platformSlotDiff"]) == 2


def test_unexpected_difference_between_slots_is_reported() -> None:
    fake = FakeAz.healthy()
    setting(fake, STAGING_SETTINGS, "FUNCTIONS_EXTENSION_VERSION")["value"] = "~3"
    report = run(fake)
    unexpected = [d for d in report.slot_diff if d.get("setting") == "FUNCTIONS_EXTENSION_VERSION"]
    assert unexpected and unexpected[0]["expected"] is False
    assert "differs: FUNCTIONS_EXTENSION_VERSION" in preflight.format_summary(report)


def test_not_logged_in_stops_at_the_target() -> None:
    fake = FakeAz.healthy()
    fake.set("account show", exit_code=1, stderr="ERROR: Please run 'az login' to setup account.")
    report = run(fake)
    assert status(report, "target.account") == "fail"
    assert len(fake.calls) == 1


def test_wrong_subscription_is_refused_before_anything_else() -> None:
    fake = FakeAz.healthy()
    report = run(
        fake, Target(resource_group=RG, app=APP, subscription="00000000-0000-0000-0000-000000000000")
    )
    assert status(report, "target.subscription") == "fail"
    assert "az account set --subscription" in report.checks[-1].remedy
    assert fake.keys_called() == ["account show"]


def test_missing_list_permission_fails_access_check() -> None:
    fake = FakeAz.healthy()
    fake.stdout("rest get " + _permissions_path())["value"] = [
        {"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}
    ]
    report = run(fake)
    assert status(report, "access.permissions") == "fail"
    failed = next(c for c in report.checks if c.id == "access.permissions")
    assert "Microsoft.Web/sites/config/list/action" in failed.detail


def test_release_needs_more_permissions_than_preflight() -> None:
    fake = FakeAz.healthy()
    fake.stdout("rest get " + _permissions_path())["value"][1]["actions"].remove("Microsoft.Web/sites/*")
    fake.stdout("rest get " + _permissions_path())["value"][1]["actions"].append(
        "Microsoft.Web/sites/*/list/action"
    )
    assert status(run(fake), "access.permissions") == "pass"
    release_target = Target(**{**TARGET.__dict__, "release_permissions": True})
    assert status(run(fake, release_target), "access.permissions") == "fail"


def test_action_allowed_honours_wildcards_and_not_actions() -> None:
    permissions = [
        {"actions": ["Microsoft.Web/*"], "notActions": ["Microsoft.Web/sites/slots/slotsswap/action"]}
    ]
    assert action_allowed("Microsoft.Web/sites/config/list/action", permissions)
    assert not action_allowed("Microsoft.Web/sites/slots/slotsswap/action", permissions)
    assert not action_allowed("Microsoft.Storage/storageAccounts/read", permissions)


def test_unregistered_provider_fails() -> None:
    fake = FakeAz.healthy()
    fake.stdout("provider show Microsoft.Insights")["registrationState"] = "NotRegistered"
    report = run(fake)
    assert status(report, "access.providers") == "fail"
    assert (
        "Microsoft.Insights (NotRegistered)"
        in next(c for c in report.checks if c.id == "access.providers").detail
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda site: site.update(state="Stopped"), "state is Stopped"),
        (lambda site: site["siteConfig"].update(linuxFxVersion="Python|3.9"), "expected Python|3.11"),
        (lambda site: site.update(httpsOnly=False), "httpsOnly is off"),
        (lambda site: site.update(kind="functionapp"), "expected functionapp,linux"),
        (lambda site: site["siteConfig"].update(ftpsState="AllAllowed"), "ftpsState"),
    ],
)
def test_site_problems_fail_the_site_check(edit: Callable[[dict[str, Any]], None], message: str) -> None:
    fake = FakeAz.healthy()
    edit(fake.stdout("functionapp show --slot staging"))
    report = run(fake)
    assert status(report, "staging.site") == "fail"
    assert message in next(c for c in report.checks if c.id == "staging.site").detail


AUTH_PRODUCTION = load("authsettings_production")["key"]
AUTH_STAGING = load("authsettings_staging")["key"]


def _auth(fake: FakeAz, key: str = AUTH_STAGING) -> dict[str, Any]:
    properties: dict[str, Any] = fake.stdout(key)["properties"]
    return properties


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda auth: auth["platform"].update(enabled=False), "authentication is off"),
        (
            lambda auth: auth["globalValidation"].update(unauthenticatedClientAction="AllowAnonymous"),
            "unauthenticated requests are let through (AllowAnonymous)",
        ),
        (lambda auth: auth["globalValidation"].update(requireAuthentication=False), "requireAuthentication"),
        (
            lambda auth: auth["globalValidation"]["excludedPaths"].append("/api/console/*"),
            "paths open without sign-in beyond the health check",
        ),
        (lambda auth: auth["identityProviders"].pop("azureActiveDirectory"), "Microsoft Entra ID is not"),
        (
            lambda auth: auth["identityProviders"]["azureActiveDirectory"]["registration"].update(
                clientId="00000000-0000-0000-0000-000000000000"
            ),
            "placeholder client ID",
        ),
        (lambda auth: auth["login"]["tokenStore"].update(enabled=True), "the token store is on"),
    ],
)
def test_authentication_that_is_off_or_lets_anyone_in_fails(
    edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    fake = FakeAz.healthy()
    edit(_auth(fake))
    report = run(fake)
    assert status(report, "staging.authentication") == "fail"
    assert status(report, "production.authentication") == "pass"
    failed = next(c for c in report.checks if c.id == "staging.authentication")
    assert message in failed.detail and "authsettingsV2 on both slots" in failed.remedy


def test_authentication_that_cannot_be_read_fails() -> None:
    fake = FakeAz.healthy()
    fake.set(AUTH_PRODUCTION, exit_code=1, stderr="ERROR: (AuthorizationFailed) no access")
    assert status(run(fake), "production.authentication") == "fail"


def test_a_forged_website_auth_enabled_setting_fails() -> None:
    """As an app setting it would make the app trust identity headers clients typed themselves."""
    fake = FakeAz.healthy()
    fake.stdout(PROD_SETTINGS).append({"name": "WEBSITE_AUTH_ENABLED", "value": "True", "slotSetting": False})
    report = run(fake)
    assert status(report, "production.authentication") == "fail"
    assert (
        "WEBSITE_AUTH_ENABLED" in next(c for c in report.checks if c.id == "production.authentication").detail
    )


def test_the_snapshot_records_the_authentication_evidence() -> None:
    report = run(FakeAz.healthy())
    evidence = report.snapshots["staging"]["authentication"]
    assert evidence["unauthenticatedClientAction"] == "Return401"
    assert evidence["excludedPaths"] == ["/api/health"] and evidence["tokenStore"] is False
    assert evidence["clientId"] == "3f9a1c2e-7b4d-4e8a-9c1f-5d6e7f8a9b0c"


def test_flex_app_is_refused() -> None:
    fake = FakeAz.healthy()
    fake.set("functionapp show", stdout=load("functionapp_list")["stdout"][1])
    assert status(run(fake), "production.site") == "fail"


def test_missing_user_assigned_identity_fails() -> None:
    fake = FakeAz.healthy()
    site = fake.stdout("functionapp show")
    site["identity"] = {"type": "SystemAssigned", "principalId": "x", "userAssignedIdentities": None}
    site["keyVaultReferenceIdentity"] = "SystemAssigned"
    assert status(run(fake), "production.identity") == "fail"


def test_missing_required_setting_fails() -> None:
    fake = FakeAz.healthy()
    settings = fake.stdout(PROD_SETTINGS)
    settings[:] = [s for s in settings if s["name"] != "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    report = run(fake)
    assert status(report, "production.settings.required") == "fail"
    assert status(report, "telemetry.component") == "fail"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "AzureWebJobsStorage",
            "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc==",
            "connection string",
        ),
        ("AzureWebJobsStorage__credential", "connectionstring", "not managedidentity"),
        ("AzureWebJobsStorage__clientId", "11111111-1111-1111-1111-111111111111", "client ID"),
    ],
)
def test_storage_not_reached_by_identity_fails(name: str, value: str, message: str) -> None:
    fake = FakeAz.healthy()
    settings = fake.stdout(PROD_SETTINGS)
    settings[:] = [s for s in settings if s["name"] != name] + [
        {"name": name, "slotSetting": False, "value": value}
    ]
    report = run(fake)
    assert status(report, "production.storage.identity") == "fail"
    assert message in next(c for c in report.checks if c.id == "production.storage.identity").detail
    assert value not in json.dumps(report.to_dict())


def test_plain_secret_setting_fails() -> None:
    fake = FakeAz.healthy()
    setting(fake, STAGING_SETTINGS, "PAYMENT_GATEWAY_API_KEY")["value"] = "sk_live_51Hx-not-a-real-key"
    report = run(fake)
    assert status(report, "staging.settings.secrets") == "fail"
    assert "sk_live_51Hx" not in json.dumps(report.to_dict())


def test_unresolved_key_vault_reference_fails() -> None:
    fake = FakeAz.healthy()
    path = (
        "rest get /subscriptions/"
        + SUBSCRIPTION
        + f"/resourceGroups/{RG}/providers/Microsoft.Web/sites/{APP}"
    )
    fake.stdout(path + "/config/configreferences/appsettings")["value"][0]["properties"]["status"] = (
        "AccessToKeyVaultDenied"
    )
    report = run(fake)
    assert status(report, "production.keyvault.references") == "fail"
    assert "Key Vault Secrets User" in next(c for c in report.checks if c.status == "fail").remedy


def test_settings_list_forbidden_fails_with_permission_hint() -> None:
    fake = FakeAz.healthy()
    fake.set(
        PROD_SETTINGS,
        exit_code=1,
        stderr="ERROR: (AuthorizationFailed) The client 'release@contoso.com' does not have authorization to "
        "perform action 'Microsoft.Web/sites/config/list/action'.",
    )
    report = run(fake)
    check = next(c for c in report.checks if c.id == "production.settings")
    assert check.status == "fail"
    assert "lacks permission" in check.remedy


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda slots: slots.clear(), "not found"),
        (lambda slots: slots[0].update(state="Stopped"), "Stopped"),
        (lambda slots: slots[0].update(appServicePlan="asp-other"), "plan"),
    ],
)
def test_staging_slot_problems_fail(edit: Callable[[list[dict[str, Any]]], None], message: str) -> None:
    fake = FakeAz.healthy()
    edit(fake.stdout("functionapp deployment slot list"))
    report = run(fake)
    assert status(report, "slots.staging") == "fail"
    assert message in next(c for c in report.checks if c.id == "slots.staging").detail


@pytest.mark.parametrize(
    ("check_id", "edit", "message"),
    [
        (
            "taskhub.per_slot",
            lambda f: setting(f, STAGING_SETTINGS, "TASKHUB_NAME").update(value="wfprod"),
            "compete",
        ),
        (
            "taskhub.per_slot",
            lambda f: setting(f, PROD_SETTINGS, "TASKHUB_NAME").update(slotSetting=False),
            "not a slot",
        ),
        (
            "taskhub.per_slot",
            lambda f: setting(f, STAGING_SETTINGS, "TASKHUB_NAME").update(value="wf-staging"),
            "letters/digits",
        ),
        (
            "taskhub.per_slot",
            lambda f: f.stdout(STAGING_SETTINGS).remove(setting(f, STAGING_SETTINGS, "TASKHUB_NAME")),
            "TASKHUB_NAME missing",
        ),
        (
            "telemetry.component",
            lambda f: f.stdout("resource show")["properties"].update(DisableLocalAuth=False),
            "local",
        ),
        (
            "telemetry.component",
            lambda f: (
                f.stdout("resource show")["properties"].update(WorkspaceResourceId=None),
                f.stdout("monitor app-insights component show").update(workspaceResourceId=None),
            ),
            "workspace",
        ),
        (
            "telemetry.component",
            lambda f: setting(f, STAGING_SETTINGS, "APPLICATIONINSIGHTS_CONNECTION_STRING").update(
                value="InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://x/"
            ),
            "another component",
        ),
        (
            "telemetry.component",
            lambda f: setting(f, PROD_SETTINGS, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING").update(value=""),
            "AUTHENTICATION_STRING",
        ),
    ],
)
def test_task_hub_and_telemetry_problems_fail(
    check_id: str, edit: Callable[[FakeAz], None], message: str
) -> None:
    fake = FakeAz.healthy()
    edit(fake)
    report = run(fake)
    assert status(report, check_id) == "fail"
    assert message in detail(report, check_id)


def test_app_insights_extension_missing_falls_back_to_resource_show() -> None:
    fake = FakeAz.healthy()
    fake.use("appinsights_extension_missing")
    report = run(fake)
    assert status(report, "telemetry.component") == "pass"
    assert "resource show" in next(c for c in report.checks if c.id == "telemetry.component").detail


def test_telemetry_and_storage_are_warnings_without_names() -> None:
    report = run(FakeAz.healthy(), Target(resource_group=RG, app=APP))
    assert status(report, "telemetry.component") == "warn"
    assert status(report, "storage.account") == "warn"
    assert report.ok


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("allowSharedKeyAccess", True, "shared-key"),
        ("allowBlobPublicAccess", True, "public blob"),
        ("minimumTlsVersion", "TLS1_0", "TLS1_0"),
    ],
)
def test_storage_account_hardening_failures(field: str, value: object, message: str) -> None:
    fake = FakeAz.healthy()
    fake.stdout("storage account show")[field] = value
    report = run(fake)
    assert status(report, "storage.account") == "fail"
    assert message in next(c for c in report.checks if c.id == "storage.account").detail


SUBSCRIPTION_PATH = "/subscriptions/8f1e2d3c-4b5a-4c6d-9e8f-0a1b2c3d4e5f"
GROUP_PATH = f"{SUBSCRIPTION_PATH}/resourceGroups/rg-wflows-prod"
ROLES = f"rest get {GROUP_PATH}/providers/Microsoft.Authorization/roleAssignments"
ACCOUNT_ID = (
    "/subscriptions/8f1e2d3c-4b5a-4c6d-9e8f-0a1b2c3d4e5f/resourceGroups/rg-wflows-prod/providers/"
    "Microsoft.Storage/storageAccounts/stwflowsk3x9qa7m2c4"
)
# The audit evidence account (infra/modules/audit-evidence.bicep): one container per slot's hub.
AUDIT_ACCOUNT_ID = (
    "/subscriptions/8f1e2d3c-4b5a-4c6d-9e8f-0a1b2c3d4e5f/resourceGroups/rg-wflows-prod/providers/"
    "Microsoft.Storage/storageAccounts/stwflowsaudk3x9qa7m2c4"
)
PRODUCTION_PRINCIPAL = "5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f"
STAGING_PRINCIPAL = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"


def grant(role: str, scope: str, principal: str) -> dict[str, Any]:
    return {
        "properties": {
            "roleDefinitionId": f"{SUBSCRIPTION_PATH}/providers/Microsoft.Authorization/roleDefinitions/"
            + role,
            "principalId": principal,
            "scope": scope,
        }
    }


def test_each_slot_identity_holds_exactly_its_own_roles() -> None:
    report = run(FakeAz.healthy())
    for check_id in ("storage.roles", "storage.roles.staging", "identity.per_slot"):
        assert status(report, check_id) == "pass", detail(report, check_id)
    staging = report.snapshots["staging"]["storageRoles"]
    payloads = (
        "Microsoft.Storage/storageAccounts/stwflowsk3x9qa7m2c4/blobServices/default/containers/"
        "wf-wfstaging-payloads"
    )
    assert f"Storage Blob Data Contributor -> {payloads}" in staging
    audit_account = AUDIT_ACCOUNT_ID.split("/providers/", 1)[1]
    audit = f"{audit_account}/blobServices/default/containers/wf-wfstaging-audit-packets"
    assert f"Storage Blob Data Contributor -> {audit}" in staging
    assert not any("wfprod" in role for role in staging)


def test_missing_storage_data_role_fails() -> None:
    fake = FakeAz.healthy()
    assignments = fake.stdout(ROLES)["value"]
    assignments[:] = [
        a
        for a in assignments
        if not a["properties"]["roleDefinitionId"].endswith("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3")
    ]
    report = run(fake)
    assert status(report, "storage.roles") == "fail"
    assert "lacks Storage Table Data Contributor" in detail(report, "storage.roles")


@pytest.mark.parametrize(
    ("role", "scope", "principal", "check_id", "message"),
    [
        (
            "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
            ACCOUNT_ID,
            PRODUCTION_PRINCIPAL,
            "storage.roles",
            "holds Storage Blob Data Owner",
        ),
        (
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
            "/subscriptions/8f1e2d3c-4b5a-4c6d-9e8f-0a1b2c3d4e5f/resourceGroups/rg-wflows-prod",
            STAGING_PRINCIPAL,
            "storage.roles.staging",
            "holds Owner",
        ),
        (
            "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
            ACCOUNT_ID,
            STAGING_PRINCIPAL,
            "storage.roles.staging",
            "Storage Blob Data Contributor beyond a container",
        ),
        (
            "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
            f"{ACCOUNT_ID}/blobServices/default/containers/wf-wfprod-effect-ledger",
            STAGING_PRINCIPAL,
            "storage.roles.staging",
            "the other slot's container wf-wfprod-effect-ledger",
        ),
        (
            "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
            f"{ACCOUNT_ID}/blobServices/default/containers/app-package",
            PRODUCTION_PRINCIPAL,
            "storage.roles",
            "can write the deployment package container",
        ),
        (
            "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
            f"{AUDIT_ACCOUNT_ID}/blobServices/default/containers/wf-wfprod-audit-packets",
            STAGING_PRINCIPAL,
            "storage.roles.staging",
            "the other slot's audit container wf-wfprod-audit-packets",
        ),
        (
            "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
            AUDIT_ACCOUNT_ID,
            PRODUCTION_PRINCIPAL,
            "storage.roles",
            "Storage Blob Data Contributor beyond a container",
        ),
    ],
)
def test_roles_beyond_the_slots_own_data_fail(
    role: str, scope: str, principal: str, check_id: str, message: str
) -> None:
    fake = FakeAz.healthy()
    fake.stdout(ROLES)["value"].append(grant(role, scope, principal))
    report = run(fake)
    assert status(report, check_id) == "fail"
    assert message in detail(report, check_id)


def test_slots_sharing_one_identity_fail() -> None:
    fake = FakeAz.healthy()
    production = fake.stdout("functionapp show")
    staging = fake.stdout("functionapp show --slot staging")
    staging["identity"] = json.loads(json.dumps(production["identity"]))
    staging["keyVaultReferenceIdentity"] = production["keyVaultReferenceIdentity"]
    report = run(fake)
    assert status(report, "identity.per_slot") == "fail"
    assert "carry the same identity" in detail(report, "identity.per_slot")


def test_a_sandbox_in_production_or_a_loose_slot_setting_fails() -> None:
    fake = FakeAz.healthy()
    setting(fake, PROD_SETTINGS, "INTEGRATIONS_MODE")["value"] = "sandbox"
    setting(fake, STAGING_SETTINGS, "AzureWebJobsStorage__clientId")["slotSetting"] = False
    report = run(fake)
    assert status(report, "production.integrations") == "fail"
    assert "'sandbox'" in detail(report, "production.integrations")
    assert status(report, "staging.settings.sticky") == "fail"
    assert "AzureWebJobsStorage__clientId" in detail(report, "staging.settings.sticky")
    assert status(report, "staging.integrations") == "pass"


def test_the_console_csrf_key_is_required_and_must_come_from_key_vault() -> None:
    fake = FakeAz.healthy()
    setting(fake, PROD_SETTINGS, "CONSOLE_CSRF_KEY")["value"] = "typed-by-hand"
    fake.stdout(STAGING_SETTINGS)[:] = [
        s for s in fake.stdout(STAGING_SETTINGS) if s["name"] != "CONSOLE_CSRF_KEY"
    ]
    report = run(fake)
    assert status(report, "production.settings.secrets") == "fail"
    assert "CONSOLE_CSRF_KEY" in detail(report, "production.settings.secrets")
    assert status(report, "staging.settings.required") == "fail"
    assert "CONSOLE_CSRF_KEY" in detail(report, "staging.settings.required")


def test_key_vault_target_parses_both_reference_forms() -> None:
    assert key_vault_target("@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/a/)") == (
        "https://kv.vault.azure.net/secrets/a/"
    )
    assert key_vault_target("@Microsoft.KeyVault(VaultName=kv;SecretName=a)") == "kv/a"
    assert key_vault_target("plain") is None


def _args(**overrides: Any) -> argparse.Namespace:
    values: dict[str, Any] = {
        "resource_group": RG,
        "app": APP,
        "slot": "staging",
        "subscription": SUBSCRIPTION,
        "app_insights": "appi-wflows-prod",
        "storage_account": "stwflowsk3x9qa7m2c4",
        "snapshot_dir": None,
        "json": True,
    }
    values.update(overrides)
    return argparse.Namespace(**values)


def test_json_mode_prints_one_document_and_exit_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    assert preflight.handle(_args(snapshot_dir=tmp_path), FakeAz.healthy().cli()) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True
    assert {p.name for p in tmp_path.iterdir()} == {
        "production.json",
        "staging.json",
        "platformSlotDiff.json",
        "slot-diff.json",
    }
    broken = FakeAz.healthy()
    broken.stdout("storage account show")["allowSharedKeyAccess"] = True
    assert preflight.handle(_args(), broken.cli()) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] is False
    assert "Error: preflight failed" in captured.err


def test_usage_error_exits_2() -> None:
    from ops.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["preflight", "--app", APP])  # no --resource-group
    assert exit_info.value.code == 2


def test_inventory_lists_durable_apps_and_handles_flex(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeAz.healthy()
    fake.use("functionapp_list")
    flex_settings = load("appsettings_flex")
    fake.routes.append((lambda args: "func-thumbnails-flex" in args, flex_settings))
    assert preflight.handle_inventory(argparse.Namespace(resource_group=RG, json=True), fake.cli()) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[APP]["durable"] == "yes"
    assert rows[APP]["taskHub"] == "wfprod"
    assert rows[APP]["runtime"] == "Python|3.11"
    assert rows["func-thumbnails-flex"]["plan"] == "FlexConsumption"
    assert rows["func-thumbnails-flex"]["durable"].startswith("unknown")


def test_inventory_az_failure_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeAz.healthy()
    fake.set("functionapp list", exit_code=1, stderr="ERROR: Please run 'az login'")
    assert preflight.handle_inventory(argparse.Namespace(resource_group=None, json=False), fake.cli()) == 1
    assert capsys.readouterr().err.startswith("Error:")


def _permissions_path() -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Authorization/permissions"
