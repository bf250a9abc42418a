// Data-plane roles of ONE slot's user-assigned identity (main.bicep deploys this module once per
// slot, each with its own identity). Least privilege:
// - Storage Blob Data Contributor on exactly the containers the slot writes, each assignment scoped
//   to the container: its own task hub's app containers (effect ledger, claim-check payloads,
//   documents; the sandbox only where INTEGRATIONS_MODE is sandbox), its hub's Durable containers
//   (leases, app lease, large messages) and the Functions host's two (host locks, host keys). Never
//   the other slot's containers, never the account, never an Owner role.
// - Storage Blob Data Reader on the deployment package container: the slot runs from a package
//   there (WEBSITE_RUN_FROM_PACKAGE) and can read it, never replace it.
// - Storage Queue and Table Data Contributor on the account: Durable creates and uses its hub's
//   control and work-item queues and History/Instances tables itself (their number depends on the
//   partition count), and scoping to single queues or tables is not something Durable supports.
// - Monitoring Metrics Publisher on the Application Insights component, Key Vault Secrets User on the vault.
// Each assignment's name is guid(scope, principal, role), so redeploying never duplicates one.

@description('Principal (object) ID of the slot\'s user-assigned identity.')
param principalId string

@description('Name of the storage account that holds the host state, the task hubs and the app containers.')
param storageAccountName string

@description('Blob containers this slot writes (created by storage.bicep); each gets its own Storage Blob Data Contributor assignment.')
param blobContainerNames array

@description('Private container of the deployment packages; the slot may only read it.')
param packageContainerName string

@description('Name of the Application Insights component the app sends telemetry to.')
param appInsightsName string

@description('Name of the Key Vault the app reads secrets from.')
param keyVaultName string

@description('Durable backend: AzureStorage (task hubs in the storage account) or DurableTaskScheduler.')
@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
param durableBackend string = 'AzureStorage'

@description('Name of the Durable Task Scheduler; used only when durableBackend is DurableTaskScheduler.')
param schedulerName string = ''

// Storage Blob Data Contributor: read, write and delete blobs of one container (no ACL or ownership actions).
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
// Storage Blob Data Reader: read the deployment package, nothing else.
var storageBlobDataReaderRoleId = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
// Storage Queue Data Contributor: Durable control and work-item queues.
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// Storage Table Data Contributor: Durable History and Instances tables.
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
// Monitoring Metrics Publisher: Entra ingestion into Application Insights (all telemetry types).
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'
// Key Vault Secrets User: resolving Key Vault references in app settings.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
// Durable Task Data Contributor: the app's orchestrations, activities and entities on the scheduler.
var durableTaskDataContributorRoleId = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' existing = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = [for name in blobContainerNames: {
  parent: blobService
  name: name
}]

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = {
  parent: blobService
  name: packageContainerName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' existing = if (durableBackend == 'DurableTaskScheduler') {
  name: schedulerName
}

resource containerBlobDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (name, index) in blobContainerNames: {
  name: guid(containers[index].id, principalId, storageBlobDataContributorRoleId)
  scope: containers[index]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

resource packageBlobDataReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(packageContainer.id, principalId, storageBlobDataReaderRoleId)
  scope: packageContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReaderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageQueueDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource storageTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource monitoringMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource durableTaskDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (durableBackend == 'DurableTaskScheduler') {
  name: guid(scheduler.id, principalId, durableTaskDataContributorRoleId)
  scope: scheduler
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
