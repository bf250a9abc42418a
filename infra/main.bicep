// Durable Functions workflows on Linux Elastic Premium with a `staging` slot.
// Deploy with docs/deploy-to-azure.md (what-if first, incremental mode only). Outputs in
// UPPER_SNAKE are read by `python -m ops preflight` and `python -m ops release`; tests in
// tests/infra/ assert they exist.

@description('Azure region for all resources; defaults to the resource group region.')
param location string = resourceGroup().location

@description('Short workload name used to derive resource names (letters and digits, 2-12 chars).')
@minLength(2)
@maxLength(12)
param workloadName string

@description('Environment label used in names and tags, e.g. prod or test.')
@allowed([
  'dev'
  'test'
  'prod'
])
param environmentName string = 'prod'

@description('Elastic Premium SKU of the plan.')
@allowed([
  'EP1'
  'EP2'
  'EP3'
])
param planSku string = 'EP1'

@description('Maximum number of elastic workers the plan may scale out to.')
@minValue(1)
@maxValue(100)
param maximumElasticWorkerCount int = 20

@description('Spread the plan across availability zones (needs 3 instances minimum and GZRS storage).')
param zoneRedundant bool = true

@description('Replication SKU of the host/task hub storage account.')
@allowed([
  'Standard_GZRS'
  'Standard_RAGZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param storageSku string = 'Standard_GZRS'

@description('Task hub of the production slot (sticky TASKHUB_NAME); 3-45 letters and digits, starting with a letter.')
@minLength(3)
@maxLength(45)
param productionTaskHubName string = 'wfprod'

@description('Task hub of the staging slot (sticky TASKHUB_NAME); must differ from productionTaskHubName.')
@minLength(3)
@maxLength(45)
param stagingTaskHubName string = 'wfstaging'

@description('Prefix of the app\'s blob containers (STORAGE_CONTAINER_PREFIX); they are named <prefix>-<task hub>-<purpose>, so 1-3 lower-case letters or digits keep every name within 63 characters.')
@minLength(1)
@maxLength(3)
param containerPrefix string = 'wf'

@description('INTEGRATIONS_MODE of the staging slot (sticky): sandbox keeps its smoke tests off the real outside systems and their accounts; http exercises the real adapters (then give staging test accounts of its own). Production is always http.')
@allowed([
  'http'
  'sandbox'
])
param stagingIntegrationsMode string = 'sandbox'

@description('How long claim-checked personal data of a completed case is kept before the app erases it (PERSONAL_DATA_RETENTION, ISO 8601 duration).')
param personalDataRetention string = 'P30D'

@description('Backstop: days after which the storage lifecycle rule deletes any personal payload, whatever became of its case; longer than the longest case plus personalDataRetention.')
@minValue(31)
@maxValue(3650)
param personalDataMaxAgeDays int = 120

@description('Durable backend: AzureStorage (task hubs in the storage account, default) or DurableTaskScheduler (managed scheduler; see docs/deploy-to-azure.md for when to choose it).')
@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
param durableBackend string = 'AzureStorage'

@description('Durable Task Scheduler SKU; used only when durableBackend is DurableTaskScheduler.')
@allowed([
  'Dedicated'
  'Consumption'
])
param schedulerSku string = 'Dedicated'

@description('Create a virtual network, VNet integration and private endpoints for storage and Key Vault, and close their public access.')
param enablePrivateNetworking bool = false

@description('Days Log Analytics keeps logs and telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 90

@description('Path the platform health check probes; the app must answer it with HTTP 200.')
param healthCheckPath string = '/api/health'

@description('E-mail address of the on-call operators who receive the workflow alerts (activity failures, stuck instances, SLA breaches, storage throttling).')
param alertEmail string

@description('Whether the workflow alert rules are enabled.')
param alertsEnabled bool = true

@description('Days every sealed audit packet stays immutable (2555 days = 7 years, the maintenance-record period).')
@minValue(1)
@maxValue(146000)
param auditRetentionDays int = 2555

@description('Audit retention policy state: deploy Unlocked, verify, then set Locked (irreversible: it can then only be extended).')
@allowed([
  'Unlocked'
  'Locked'
])
param auditImmutabilityState string = 'Unlocked'

@description('Application (client) ID of the Microsoft Entra app registration that signs callers in and defines the app roles (create it first: docs/deploy-to-azure.md, "Sign-in and app roles").')
@minLength(36)
@maxLength(36)
param authClientId string

@description('Directory (tenant) ID of that app registration; empty means the tenant of this subscription.')
param authTenantId string = ''

@description('Token audiences App Service Authentication accepts; empty means api://<authClientId> and the client ID.')
param authAllowedAudiences array = []

@description('App setting holding the app registration\'s client secret as a Key Vault reference (code flow); empty keeps no secret (browsers sign in with an ID token).')
param authCredentialSettingName string = ''

@description('Tags applied to every resource.')
param tags object = {}

var token = toLower(uniqueString(subscription().id, resourceGroup().id, workloadName, environmentName))
var baseName = toLower('${workloadName}-${environmentName}')
var allTags = union(tags, {
  workload: workloadName
  environment: environmentName
})
var useScheduler = durableBackend == 'DurableTaskScheduler'

// The blob containers each slot writes (and nothing else): the app's own, named after the slot's
// task hub (blob_clients.py: <prefix>-<hub>-<purpose>), Durable's (<hub>-leases, -applease,
// -largemessages) and the Functions host's two, which both slots share (each under its own host ID).
var productionHub = toLower(productionTaskHubName)
var stagingHub = toLower(stagingTaskHubName)
var hostContainers = [
  'azure-webjobs-hosts'
  'azure-webjobs-secrets'
]
var productionContainers = [
  '${containerPrefix}-${productionHub}-effect-ledger'
  '${containerPrefix}-${productionHub}-payloads'
  '${containerPrefix}-${productionHub}-documents'
  '${productionHub}-leases'
  '${productionHub}-applease'
  '${productionHub}-largemessages'
]
var stagingSandboxContainers = (stagingIntegrationsMode == 'sandbox') ? [
  '${containerPrefix}-${stagingHub}-sandbox'
] : []
var stagingContainers = concat([
  '${containerPrefix}-${stagingHub}-effect-ledger'
  '${containerPrefix}-${stagingHub}-payloads'
  '${containerPrefix}-${stagingHub}-documents'
  '${stagingHub}-leases'
  '${stagingHub}-applease'
  '${stagingHub}-largemessages'
], stagingSandboxContainers)
// Where personal data can sit: both hubs' payloads, the shared payload container of releases before
// the per-hub containers (still read by instances started then), and staging's sandbox.
var personalDataContainers = concat([
  '${containerPrefix}-${productionHub}-payloads'
  '${containerPrefix}-${stagingHub}-payloads'
  '${containerPrefix}-payloads'
], stagingSandboxContainers)

// One identity per slot: staging's code never holds a credential for production's data.
module productionIdentity 'modules/identity.bicep' = {
  name: 'identity-production'
  params: {
    location: location
    name: 'id-${baseName}-production'
    tags: allTags
  }
}

module stagingIdentity 'modules/identity.bicep' = {
  name: 'identity-staging'
  params: {
    location: location
    name: 'id-${baseName}-staging'
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    workspaceName: 'log-${baseName}'
    appInsightsName: 'appi-${baseName}'
    retentionInDays: logRetentionInDays
    tags: allTags
  }
}

module operationsMonitoring 'modules/operations-monitoring.bicep' = {
  name: 'operations-monitoring'
  params: {
    location: location
    baseName: baseName
    appInsightsId: monitoring.outputs.appInsightsId
    workspaceId: monitoring.outputs.workspaceId
    alertEmail: alertEmail
    alertsEnabled: alertsEnabled
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    name: take('st${toLower(workloadName)}${token}', 24)
    skuName: storageSku
    enablePrivateNetworking: enablePrivateNetworking
    blobContainerNames: concat(productionContainers, stagingContainers, hostContainers)
    personalDataContainerNames: personalDataContainers
    personalDataMaxAgeDays: personalDataMaxAgeDays
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    tags: allTags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    name: take('kv-${toLower(workloadName)}-${token}', 24)
    enablePrivateNetworking: enablePrivateNetworking
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    tags: allTags
  }
}

// Sealed audit packets (immutable container) and the key that signs them.
module auditEvidence 'modules/audit-evidence.bicep' = {
  name: 'audit-evidence'
  params: {
    location: location
    name: take('st${toLower(workloadName)}aud${token}', 24)
    skuName: storageSku
    retentionDays: auditRetentionDays
    immutabilityState: auditImmutabilityState
    keyVaultName: keyVault.outputs.name
    // Each slot seals into its own hub's container (blob_clients.py names it), written by its own identity.
    writers: [
      {
        containerName: '${containerPrefix}-${productionHub}-audit-packets'
        principalId: productionIdentity.outputs.principalId
      }
      {
        containerName: '${containerPrefix}-${stagingHub}-audit-packets'
        principalId: stagingIdentity.outputs.principalId
      }
    ]
    enablePrivateNetworking: enablePrivateNetworking
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    tags: allTags
  }
}

module scheduler 'modules/durable-scheduler.bicep' = if (useScheduler) {
  name: 'durable-scheduler'
  params: {
    location: location
    name: 'dts-${baseName}'
    skuName: schedulerSku
    productionTaskHubName: productionTaskHubName
    stagingTaskHubName: stagingTaskHubName
    tags: allTags
  }
}

module network 'modules/network.bicep' = if (enablePrivateNetworking) {
  name: 'network'
  params: {
    location: location
    namePrefix: baseName
    storageAccountId: storage.outputs.id
    keyVaultId: keyVault.outputs.id
    tags: allTags
  }
}

// Roles before the app: the host starts as soon as the site exists and needs its data roles.
module productionRbac 'modules/rbac.bicep' = {
  name: 'rbac-production'
  params: {
    principalId: productionIdentity.outputs.principalId
    storageAccountName: storage.outputs.name
    blobContainerNames: concat(productionContainers, hostContainers)
    packageContainerName: storage.outputs.packageContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultName: keyVault.outputs.name
    durableBackend: durableBackend
    schedulerName: useScheduler ? scheduler.outputs.name : ''
  }
}

module stagingRbac 'modules/rbac.bicep' = {
  name: 'rbac-staging'
  params: {
    principalId: stagingIdentity.outputs.principalId
    storageAccountName: storage.outputs.name
    blobContainerNames: concat(stagingContainers, hostContainers)
    packageContainerName: storage.outputs.packageContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultName: keyVault.outputs.name
    durableBackend: durableBackend
    schedulerName: useScheduler ? scheduler.outputs.name : ''
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  dependsOn: [
    productionRbac
    stagingRbac
    auditEvidence
  ]
  params: {
    location: location
    appName: 'func-${baseName}-${take(token, 6)}'
    planName: 'asp-${baseName}'
    planSku: planSku
    maximumElasticWorkerCount: maximumElasticWorkerCount
    zoneRedundant: zoneRedundant
    productionTaskHubName: productionTaskHubName
    stagingTaskHubName: stagingTaskHubName
    productionIdentityId: productionIdentity.outputs.id
    productionIdentityClientId: productionIdentity.outputs.clientId
    stagingIdentityId: stagingIdentity.outputs.id
    stagingIdentityClientId: stagingIdentity.outputs.clientId
    containerPrefix: containerPrefix
    stagingIntegrationsMode: stagingIntegrationsMode
    personalDataRetention: personalDataRetention
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultUri: keyVault.outputs.uri
    auditBlobServiceUri: auditEvidence.outputs.blobEndpoint
    auditSigningKeyUri: auditEvidence.outputs.signingKeyUri
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    durableBackend: durableBackend
    schedulerEndpoint: useScheduler ? scheduler.outputs.endpoint : ''
    enablePrivateNetworking: enablePrivateNetworking
    appSubnetId: enablePrivateNetworking ? network.outputs.appSubnetId : ''
    healthCheckPath: healthCheckPath
    authClientId: authClientId
    authTenantId: empty(authTenantId) ? tenant().tenantId : authTenantId
    authAllowedAudiences: authAllowedAudiences
    authCredentialSettingName: authCredentialSettingName
    tags: allTags
  }
}

// Read by ops/preflight.py and ops/release.py (`az deployment group show ... properties.outputs`).
// None of them is a secret.
output FUNCTION_APP_NAME string = functionApp.outputs.siteName
output FUNCTION_APP_HOST_NAME string = functionApp.outputs.defaultHostName
output STAGING_SLOT_NAME string = functionApp.outputs.stagingSlotName
output STAGING_HOST_NAME string = functionApp.outputs.stagingHostName
output RESOURCE_GROUP string = resourceGroup().name
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output PACKAGE_CONTAINER_NAME string = storage.outputs.packageContainerName
output PACKAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output APPLICATION_INSIGHTS_NAME string = monitoring.outputs.appInsightsName
output APPLICATION_INSIGHTS_ID string = monitoring.outputs.appInsightsId
output KEY_VAULT_NAME string = keyVault.outputs.name
output PRODUCTION_IDENTITY_RESOURCE_ID string = productionIdentity.outputs.id
output PRODUCTION_IDENTITY_CLIENT_ID string = productionIdentity.outputs.clientId
output PRODUCTION_IDENTITY_PRINCIPAL_ID string = productionIdentity.outputs.principalId
output STAGING_IDENTITY_RESOURCE_ID string = stagingIdentity.outputs.id
output STAGING_IDENTITY_CLIENT_ID string = stagingIdentity.outputs.clientId
output STAGING_IDENTITY_PRINCIPAL_ID string = stagingIdentity.outputs.principalId
output STORAGE_CONTAINER_PREFIX string = containerPrefix
output PRODUCTION_TASK_HUB string = productionTaskHubName
output STAGING_TASK_HUB string = stagingTaskHubName
output DURABLE_BACKEND string = durableBackend
output AUDIT_STORAGE_ACCOUNT_NAME string = auditEvidence.outputs.storageName
output AUDIT_CONTAINER_NAME string = auditEvidence.outputs.containerNames[0]
output STAGING_AUDIT_CONTAINER_NAME string = auditEvidence.outputs.containerNames[1]
output AUDIT_SIGNING_KEY_URI string = auditEvidence.outputs.signingKeyUri
output DURABLE_TASK_SCHEDULER_ENDPOINT string = useScheduler ? scheduler.outputs.endpoint : ''
output AUTH_CLIENT_ID string = functionApp.outputs.authClientId
