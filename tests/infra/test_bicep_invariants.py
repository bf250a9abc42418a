"""Project invariants of infra/ that checkov cannot express, asserted on pycep parse trees (the
parser checkov itself uses). Expressions come back as operator trees, so these tests assert on
literals or on the expression's shape."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from blob_clients import container_name
from infra.checks.trust_boundary import STICKY_SETTINGS
from ops import release

from .conftest import INFRA

API_VERSIONS = {
    "Microsoft.Web/serverfarms": "2025-03-01",
    "Microsoft.Web/sites": "2025-03-01",
    "Microsoft.Web/sites/config": "2025-03-01",
    "Microsoft.Web/sites/slots": "2025-03-01",
    "Microsoft.Web/sites/slots/config": "2025-03-01",
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies": "2025-03-01",
    "Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies": "2025-03-01",
    "Microsoft.Storage/storageAccounts": "2025-06-01",
    "Microsoft.Storage/storageAccounts/blobServices": "2025-06-01",
    "Microsoft.Storage/storageAccounts/queueServices": "2025-06-01",
    "Microsoft.Storage/storageAccounts/tableServices": "2025-06-01",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2025-01-01",
    "Microsoft.Storage/storageAccounts/managementPolicies": "2025-06-01",
    "Microsoft.Insights/components": "2020-02-02",
    "Microsoft.Insights/diagnosticSettings": "2021-05-01-preview",
    "Microsoft.Insights/workbooks": "2023-06-01",
    "Microsoft.Insights/actionGroups": "2023-01-01",
    "Microsoft.Insights/scheduledQueryRules": "2023-12-01",
    "Microsoft.OperationalInsights/workspaces": "2025-07-01",
    "Microsoft.KeyVault/vaults": "2024-11-01",
    "Microsoft.KeyVault/vaults/keys": "2024-11-01",
    "Microsoft.Authorization/roleDefinitions": "2022-04-01",
    "Microsoft.ManagedIdentity/userAssignedIdentities": "2024-11-30",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
    "Microsoft.Authorization/locks": "2020-05-01",
    "Microsoft.DurableTask/schedulers": "2025-11-01",
    "Microsoft.DurableTask/schedulers/taskHubs": "2025-11-01",
    "Microsoft.Network/virtualNetworks": "2024-05-01",
    "Microsoft.Network/privateEndpoints": "2024-05-01",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups": "2024-05-01",
    "Microsoft.Network/privateDnsZones": "2024-06-01",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": "2024-06-01",
}
# Sticky settings: the trust boundary's (the slot's hub, its integrations, the settings naming its own
# identity: infra/checks/trust_boundary.py, which the preflight checks live) plus the slot's role,
# its host id and its scheduler connection.
STICKY = {
    *STICKY_SETTINGS,
    "APP_SLOT_ROLE",
    "AzureFunctionsWebHost__hostid",
    "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
}


def resources(bicep: dict[str, Any], file: str) -> dict[str, Any]:
    tree: dict[str, Any] = bicep[file]
    return {name: r for name, r in tree.get("resources", {}).items() if not r["existing"]}


def body(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's declaration body (pycep nests it one level deeper for `if (...)` resources)."""
    config: dict[str, Any] = resource["config"]
    return config["config"] if "condition" in config else config


def settings_literal(resource: dict[str, Any]) -> dict[str, Any]:
    """The object literal an appsettings config writes (second argument of its union)."""
    union = resource["config"]["properties"]["function"]
    assert union["type"] == "union"
    merge_current = union["parameters"]["arg_1"]["operator"]
    assert merge_current["operands"]["condition"] == "retainCurrentAppSettings"
    list_call = merge_current["operands"]["true_value"]["operator"]["operands"]["operand_1"]["function"]
    assert list_call["parameters"]["resource_identifier"].endswith("/config/appsettings")
    literal: dict[str, Any] = union["parameters"]["arg_2"]
    assert union["parameters"]["arg_3"] in ("productionBackendAppSettings", "stagingBackendAppSettings")
    return literal


def test_every_file_parses_with_checkovs_parser(bicep: dict[str, Any]) -> None:
    assert set(bicep) >= {"main.bicep", "modules/functionapp.bicep", "modules/storage.bicep"}
    assert {path: tree["error"] for path, tree in bicep.items() if "error" in tree} == {}


def test_every_parameter_has_a_description(bicep: dict[str, Any]) -> None:
    missing = [
        f"{path}:{name}"
        for path, tree in bicep.items()
        for name, param in tree["parameters"].items()
        if not any(d["type"] == "description" and d["argument"] for d in param["decorators"])
    ]
    assert missing == []


def test_no_secret_is_a_parameter_or_an_output(bicep: dict[str, Any]) -> None:
    secretish = re.compile(r"(secret|password|key$|connectionstring|token)", re.IGNORECASE)
    for path, tree in bicep.items():
        for name, param in tree["parameters"].items():
            assert not any(d["type"] == "secure" for d in param["decorators"]), f"{path}:{name}"
            assert not secretish.search(name), f"{path}:{name}"
        for name, output in tree.get("outputs", {}).items():
            assert not secretish.search(name), f"{path}: output {name}"
            assert "list" not in json.dumps(output["value"]), f"{path}: output {name} calls list*()"


def test_api_versions_are_pinned_and_allow_listed(bicep: dict[str, Any]) -> None:
    for path, tree in bicep.items():
        for name, resource in tree.get("resources", {}).items():
            assert API_VERSIONS.get(resource["type"]) == resource["api_version"], f"{path}:{name}"


def test_outputs_read_by_the_scripts_exist(bicep: dict[str, Any]) -> None:
    outputs = bicep["main.bicep"]["outputs"]
    for name in (*release.DEPLOYMENT_OUTPUTS_READ, "FUNCTION_APP_NAME", "STAGING_TASK_HUB", "KEY_VAULT_NAME"):
        assert name in outputs, name
        assert outputs[name]["type"] == "string"
    assert outputs["PRODUCTION_TASK_HUB"]["value"] == "productionTaskHubName"
    assert outputs["STAGING_TASK_HUB"]["value"] == "stagingTaskHubName"


def test_task_hubs_are_sticky_and_distinct_per_slot(bicep: dict[str, Any]) -> None:
    app = resources(bicep, "modules/functionapp.bicep")
    sticky = app["slotConfigNames"]["config"]
    assert sticky["name"] == "slotConfigNames"
    assert set(sticky["properties"]["appSettingNames"]) == STICKY
    production = settings_literal(app["siteAppSettings"])
    staging = settings_literal(app["stagingAppSettings"])
    assert production["TASKHUB_NAME"] == "productionTaskHubName"
    assert staging["TASKHUB_NAME"] == "stagingTaskHubName"
    for tree in (bicep["main.bicep"], bicep["modules/functionapp.bicep"]):
        params = tree["parameters"]
        assert params["productionTaskHubName"]["default"] != params["stagingTaskHubName"]["default"]
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["productionTaskHubName"]["value"] != parameters["stagingTaskHubName"]["value"]
    assert production["AzureFunctionsWebHost__hostid"] != staging["AzureFunctionsWebHost__hostid"]


def test_slots_share_every_non_sticky_setting(bicep: dict[str, Any]) -> None:
    app = resources(bicep, "modules/functionapp.bicep")
    production = settings_literal(app["siteAppSettings"])
    staging = settings_literal(app["stagingAppSettings"])
    assert set(production) == set(staging)
    differing = {name for name in production if production[name] != staging[name]}
    assert differing <= STICKY


def test_storage_is_reached_by_identity_only(bicep: dict[str, Any]) -> None:
    production = settings_literal(resources(bicep, "modules/functionapp.bicep")["siteAppSettings"])
    assert "AzureWebJobsStorage" not in production
    assert production["AzureWebJobsStorage__credential"] == "managedidentity"
    app = resources(bicep, "modules/functionapp.bicep")
    staging = settings_literal(app["stagingAppSettings"])
    for settings, slot in ((production, "production"), (staging, "staging")):
        assert settings["AzureWebJobsStorage__clientId"] == f"{slot}IdentityClientId"
        assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
            f"Authorization=AAD;ClientId=${{{slot}IdentityClientId}}"
        )
        assert settings["WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID"] == f"{slot}IdentityId"
        assert settings["AUDIT_STORAGE__clientId"] == f"{slot}IdentityClientId"
        assert settings["AUDIT_SIGNING_KEY__clientId"] == f"{slot}IdentityClientId"
    assert production["PAYMENT_GATEWAY_API_KEY"].startswith(
        "@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/"
    )
    storage = resources(bicep, "modules/storage.bicep")["storage"]["config"]["properties"]
    assert storage["allowSharedKeyAccess"] is False
    assert storage["allowBlobPublicAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert storage["supportsHttpsTrafficOnly"] is True
    assert resources(bicep, "modules/storage.bicep")["packageContainer"]["config"]["properties"] == {
        "publicAccess": "None"
    }


def test_durable_task_scheduler_overrides_host_json(bicep: dict[str, Any]) -> None:
    tree = bicep["modules/functionapp.bicep"]
    prefix = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__"
    for slot in ("production", "staging"):
        overrides = tree["variables"][f"{slot}SchedulerAppSettings"]["value"]
        assert overrides[f"{prefix}type"] == "azureManaged"
        assert overrides[f"{prefix}connectionStringName"] == "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
        assert overrides["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"] == (
            f"Endpoint=${{schedulerEndpoint}};Authentication=ManagedIdentity;ClientID=${{{slot}IdentityClientId}}"
        )
    hubs = resources(bicep, "modules/durable-scheduler.bicep")
    assert hubs["productionHub"]["config"]["name"] == "productionTaskHubName"
    assert hubs["stagingHub"]["config"]["name"] == "stagingTaskHubName"
    backend = bicep["main.bicep"]["parameters"]["durableBackend"]
    assert backend["default"] == "AzureStorage"
    assert {"AzureStorage", "DurableTaskScheduler"} == set(
        next(d["argument"] for d in backend["decorators"] if d["type"] == "allowed")
    )


def test_role_assignments_are_idempotent_and_documented(bicep: dict[str, Any]) -> None:
    source = (INFRA / "modules" / "rbac.bicep").read_text()
    assignments = {
        n: r
        for n, r in bicep["modules/rbac.bicep"]["resources"].items()
        if r["type"].endswith("roleAssignments")
    }
    assert len(assignments) == 7
    for name, assignment in assignments.items():
        guid = body(assignment)["name"]["function"]
        assert guid["type"] == "guid" and len(guid["parameters"]) == 3, name
        assert body(assignment)["properties"]["principalType"] == "ServicePrincipal"
    for role_guid in re.findall(r"'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'", source):
        line = next(i for i, text in enumerate(source.splitlines()) if role_guid in text)
        assert source.splitlines()[line - 1].startswith("// "), f"role {role_guid} has no comment naming it"


def role_of(assignment: dict[str, Any], variables: dict[str, Any]) -> str:
    """The role definition GUID an assignment grants (through the module's named variable)."""
    name = body(assignment)["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
    value: str = variables[name]["value"]
    return value


def test_blob_data_is_granted_per_container_never_per_account_and_never_as_owner(
    bicep: dict[str, Any],
) -> None:
    """Blob write access is scoped to each container the slot needs; the package container is
    read-only; only Durable's queues and tables are account-wide; no Owner-class role anywhere."""
    tree = bicep["modules/rbac.bicep"]
    variables = tree["variables"]
    assignments = {n: r for n, r in tree["resources"].items() if r["type"].endswith("roleAssignments")}
    contributor, reader = "ba92f5b4-2d11-453d-a403-e96b0029c9fe", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    per_container = assignments["containerBlobDataContributor"]
    assert per_container["config"]["loop_type"]["detail"]["array_name"] == "blobContainerNames"
    assert role_of(per_container, variables) == contributor
    assert body(per_container)["scope"]["operator"]["type"] == "index_accessor"
    assert body(per_container)["scope"]["operator"]["operands"]["operand_1"] == "containers"
    assert role_of(assignments["packageBlobDataReader"], variables) == reader
    assert body(assignments["packageBlobDataReader"])["scope"] == "packageContainer"
    account_wide = {n for n, r in assignments.items() if body(r).get("scope") == "storage"}
    assert account_wide == {"storageQueueDataContributor", "storageTableDataContributor"}
    owner_class = {
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    }
    for path in INFRA.rglob("*.bicep"):
        assert not owner_class & set(re.findall(r"[0-9a-f-]{36}", path.read_text())), path.name


def test_each_slot_has_its_own_identity_and_its_own_roles(bicep: dict[str, Any]) -> None:
    main = bicep["main.bicep"]["modules"]
    for slot in ("production", "staging"):
        assert main[f"{slot}Identity"]["config"]["params"]["name"] == f"id-${{baseName}}-{slot}"
        params = main[f"{slot}Rbac"]["config"]["params"]
        assert params["principalId"]["operator"]["operands"]["operand_1"] == f"{slot}Identity"
        assert params["blobContainerNames"]["function"]["parameters"] == {
            "arg_1": f"{slot}Containers",
            "arg_2": "hostContainers",
        }
    app = resources(bicep, "modules/functionapp.bicep")
    site_identity = app["site"]["config"]["identity"]["userAssignedIdentities"]
    slot_identity = app["stagingSlot"]["config"]["identity"]["userAssignedIdentities"]
    assert list(site_identity) == ["'${productionIdentityId}'"]
    assert list(slot_identity) == ["'${stagingIdentityId}'"]
    assert app["site"]["config"]["properties"]["keyVaultReferenceIdentity"] == "productionIdentityId"
    assert app["stagingSlot"]["config"]["properties"]["keyVaultReferenceIdentity"] == "stagingIdentityId"


def test_each_slot_is_granted_exactly_the_containers_the_app_names_after_its_hub(
    bicep: dict[str, Any],
) -> None:
    """The container names the Bicep grants are the names blob_clients.py derives from the hub."""
    variables = bicep["main.bicep"]["variables"]
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    prefix = bicep["main.bicep"]["parameters"]["containerPrefix"]["default"]
    for slot, containers in (
        ("production", variables["productionContainers"]["value"]),
        ("staging", variables["stagingContainers"]["value"]["function"]["parameters"]["arg_1"]),
    ):
        hub = parameters[f"{slot}TaskHubName"]["value"]
        granted = {
            name.replace("${containerPrefix}", prefix).replace(f"${{{slot}Hub}}", hub.lower())
            for name in containers
        }
        settings = {"TASKHUB_NAME": hub, "STORAGE_CONTAINER_PREFIX": prefix}
        app_containers = {
            container_name(purpose, settings) for purpose in ("effect-ledger", "payloads", "documents")
        }
        assert app_containers <= granted, slot
        assert {f"{hub.lower()}-leases", f"{hub.lower()}-applease", f"{hub.lower()}-largemessages"} <= granted
        other = "staging" if slot == "production" else "production"
        assert not any(parameters[f"{other}TaskHubName"]["value"].lower() in name for name in granted)
    sandbox = variables["stagingSandboxContainers"]["value"]["operator"]["operands"]
    assert (
        sandbox["true_value"] == ["${containerPrefix}-${stagingHub}-sandbox"] and sandbox["false_value"] == []
    )


def test_personal_data_has_a_lifecycle_backstop_that_spares_everything_else(bicep: dict[str, Any]) -> None:
    storage = resources(bicep, "modules/storage.bicep")
    rule = storage["lifecycle"]["config"]["properties"]["policy"]["rules"][0]
    assert rule["enabled"] is True
    prefixes = rule["definition"]["filters"]["prefixMatch"]
    assert prefixes["loop_type"]["detail"]["array_name"] == "personalDataContainerNames"
    assert prefixes["config"] == "${name}/"
    assert rule["definition"]["actions"]["baseBlob"]["delete"] == {
        "daysAfterModificationGreaterThan": "personalDataMaxAgeDays"
    }
    personal = bicep["main.bicep"]["variables"]["personalDataContainers"]["value"]["function"]["parameters"]
    assert personal["arg_1"] == [
        "${containerPrefix}-${productionHub}-payloads",
        "${containerPrefix}-${stagingHub}-payloads",
        "${containerPrefix}-payloads",
    ]
    assert personal["arg_2"] == "stagingSandboxContainers"
    assert bicep["main.bicep"]["modules"]["storage"]["config"]["params"]["personalDataContainerNames"] == (
        "personalDataContainers"
    )


def test_production_talks_to_real_systems_and_the_csrf_key_comes_from_key_vault(
    bicep: dict[str, Any],
) -> None:
    app = resources(bicep, "modules/functionapp.bicep")
    production = settings_literal(app["siteAppSettings"])
    staging = settings_literal(app["stagingAppSettings"])
    assert production["INTEGRATIONS_MODE"] == "http"
    assert staging["INTEGRATIONS_MODE"] == "stagingIntegrationsMode"
    for settings in (production, staging):
        assert (
            settings["CONSOLE_CSRF_KEY"]
            == "@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/console-csrf-key/)"
        )
        assert settings["STORAGE_CONTAINER_PREFIX"] == "containerPrefix"
        assert settings["PERSONAL_DATA_RETENTION"] == "personalDataRetention"


@pytest.mark.parametrize(
    ("file", "scope"),
    [
        ("modules/functionapp.bicep", "site"),
        ("modules/functionapp.bicep", "stagingSlot"),
        ("modules/functionapp.bicep", "plan"),
        ("modules/storage.bicep", "storage"),
        ("modules/storage.bicep", "blobService"),
        ("modules/storage.bicep", "queueService"),
        ("modules/storage.bicep", "tableService"),
        ("modules/keyvault.bicep", "vault"),
        ("modules/audit-evidence.bicep", "auditStorage"),
        ("modules/audit-evidence.bicep", "auditBlobService"),
    ],
)
def test_diagnostic_settings_cover(bicep: dict[str, Any], file: str, scope: str) -> None:
    settings = [
        r["config"]
        for r in resources(bicep, file).values()
        if r["type"] == "Microsoft.Insights/diagnosticSettings" and r["config"].get("scope") == scope
    ]
    assert len(settings) == 1
    assert settings[0]["properties"]["workspaceId"] == "logAnalyticsWorkspaceId"


def test_plan_is_linux_elastic_premium_with_a_staging_slot(bicep: dict[str, Any]) -> None:
    app = resources(bicep, "modules/functionapp.bicep")
    plan = app["plan"]["config"]
    assert plan["kind"] == "elastic" and plan["properties"]["reserved"] is True
    assert plan["sku"]["tier"] == "ElasticPremium"
    assert bicep["main.bicep"]["parameters"]["planSku"]["default"] == "EP1"
    assert app["stagingSlot"]["config"]["name"] == "stagingSlotName"
    assert bicep["modules/functionapp.bicep"]["parameters"]["stagingSlotName"]["default"] == "staging"
    for site in ("site", "stagingSlot"):
        config = app[site]["config"]
        assert config["identity"]["type"] == "UserAssigned"
        assert config["properties"]["siteConfig"]["linuxFxVersion"] == "Python|${pythonVersion}"
    assert bicep["modules/functionapp.bicep"]["parameters"]["pythonVersion"]["default"] == "3.11"


def test_private_endpoints_are_behind_a_parameter(bicep: dict[str, Any]) -> None:
    main = bicep["main.bicep"]
    assert main["parameters"]["enablePrivateNetworking"]["default"] is False
    assert main["modules"]["network"]["config"]["condition"] == "enablePrivateNetworking"
    assert main["modules"]["scheduler"]["config"]["condition"] == "useScheduler"


def test_parameter_files_only_name_declared_parameters(bicep: dict[str, Any]) -> None:
    declared = set(bicep["main.bicep"]["parameters"])
    for path in INFRA.glob("*.parameters.json"):
        parameters = json.loads(path.read_text())["parameters"]
        assert set(parameters) <= declared, path.name
        assert parameters["productionTaskHubName"]["value"] != parameters["stagingTaskHubName"]["value"]


def test_sealed_audit_packets_are_immutable_and_signed_with_a_sign_only_key(bicep: dict[str, Any]) -> None:
    """Version-level WORM with a time-based retention (7 years by default) and versioning on the
    audit account; an HSM key the app may only read, sign and verify with; and the settings that
    point the app at both."""
    audit = resources(bicep, "modules/audit-evidence.bicep")
    account = audit["auditStorage"]["config"]["properties"]
    worm = account["immutableStorageWithVersioning"]
    assert worm["enabled"] is True
    assert worm["immutabilityPolicy"]["immutabilityPeriodSinceCreationInDays"] == "retentionDays"
    assert worm["immutabilityPolicy"]["allowProtectedAppendWrites"] is False
    assert account["allowSharedKeyAccess"] is False and account["allowBlobPublicAccess"] is False
    assert bicep["modules/audit-evidence.bicep"]["parameters"]["retentionDays"]["default"] == 2555
    assert bicep["main.bicep"]["parameters"]["auditRetentionDays"]["default"] == 2555
    assert audit["auditBlobService"]["config"]["properties"]["isVersioningEnabled"] is True
    # One audit container per slot's hub, each written by that slot's identity alone.
    assert audit["auditContainers"]["config"]["loop_type"]["detail"]["array_name"] == "writers"
    assert body(audit["auditContainers"])["properties"] == {"publicAccess": "None"}
    assert audit["auditDeleteLock"]["config"]["properties"]["level"] == "CanNotDelete"

    key = audit["signingKey"]["config"]["properties"]
    assert key["kty"] == "EC-HSM" and key["curveName"] == "P-256"
    assert set(key["keyOps"]) == {"sign", "verify"} and key["attributes"]["exportable"] is False
    vault = resources(bicep, "modules/keyvault.bicep")["vault"]["config"]["properties"]
    assert vault["sku"]["name"] == "premium", "EC-HSM keys need a Premium vault"
    [permission] = audit["signerRole"]["config"]["properties"]["permissions"]
    assert permission["actions"] == [] and set(permission["dataActions"]) == {
        "Microsoft.KeyVault/vaults/keys/read",
        "Microsoft.KeyVault/vaults/keys/sign/action",
        "Microsoft.KeyVault/vaults/keys/verify/action",
    }
    assert body(audit["signerAssignments"])["scope"] == "signingKey"
    writer_scope = body(audit["auditContainerWriters"])["scope"]["operator"]
    assert writer_scope["type"] == "index_accessor"
    assert writer_scope["operands"]["operand_1"] == "auditContainers"
    writers = bicep["main.bicep"]["modules"]["auditEvidence"]["config"]["params"]["writers"]
    assert [w["principalId"]["operator"]["operands"]["operand_1"] for w in writers] == [
        "productionIdentity",
        "stagingIdentity",
    ]
    for assignment in ("signerAssignments", "auditContainerWriters"):
        assert body(audit[assignment])["properties"]["principalType"] == "ServicePrincipal"

    app = resources(bicep, "modules/functionapp.bicep")
    for slot in ("siteAppSettings", "stagingAppSettings"):
        settings = settings_literal(app[slot])
        assert settings["AUDIT_STORAGE__credential"] == "managedidentity"
        assert settings["AUDIT_STORAGE__blobServiceUri"] == "auditBlobServiceUri"
        assert settings["AUDIT_SIGNING_KEY_URI"] == "auditSigningKeyUri"
    outputs = bicep["main.bicep"]["outputs"]
    assert {
        "AUDIT_STORAGE_ACCOUNT_NAME",
        "AUDIT_CONTAINER_NAME",
        "STAGING_AUDIT_CONTAINER_NAME",
        "AUDIT_SIGNING_KEY_URI",
    } <= set(outputs)


def test_both_slots_sign_callers_in_with_entra_id_alike(bicep: dict[str, Any]) -> None:
    """Production and staging carry the same authsettingsV2: 401 for the unauthenticated, only the
    health probe open, the app registration from parameters, no token store."""
    app = resources(bicep, "modules/functionapp.bicep")
    site, slot = body(app["siteAuth"]), body(app["slotAuth"])
    assert site["name"] == slot["name"] == "authsettingsV2"
    assert site["properties"] == slot["properties"]
    properties = site["properties"]
    validation = properties["globalValidation"]
    assert validation["requireAuthentication"] is True
    assert validation["unauthenticatedClientAction"] == "Return401"
    assert validation["excludedPaths"] == ["/api/health"]
    assert properties["login"]["tokenStore"]["enabled"] is False
    entra = properties["identityProviders"]["azureActiveDirectory"]
    assert entra["enabled"] is True and entra["registration"]["clientId"] == "authClientId"
    assert entra["validation"]["allowedAudiences"] == "authAudiences"
    parameters = bicep["main.bicep"]["parameters"]
    assert parameters["authClientId"]["default"] is None, "the app registration must be named on deploy"
    # No app setting claims that authentication runs: App Service sets WEBSITE_AUTH_ENABLED itself.
    assert "WEBSITE_AUTH_ENABLED" not in settings_literal(app["siteAppSettings"])
