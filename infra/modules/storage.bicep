// Storage account for the Functions host and the Durable task hubs (Azure Storage provider).
// Identity-only: shared keys are disabled, so there is no connection string anywhere, and the app
// runs from a package in a private blob container (no Azure Files content share, which would
// need keys). Task hub data can change what the app executes: treat the account as
// secret-bearing (delete lock, StorageWrite logs to Log Analytics, least-privilege roles).
//
// Containers are declared here, not left to the app to create, so that each slot's identity can be
// granted exactly its own (modules/rbac.bicep): the app's per-hub containers
// `<prefix>-<hub>-<purpose>` (blob_clients.py), Durable's per-hub containers and the host's two.
// A lifecycle rule deletes claim-checked personal data that outlived every case it could belong to
// (personalDataMaxAgeDays): the backstop behind the app's own erasure after PERSONAL_DATA_RETENTION
// (personal_data/). It names the payload (and sandbox) containers only; audit packets, documents,
// ledgers and the Functions host's containers are never touched.

@description('Azure region of the storage account.')
param location string

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Replication SKU. GZRS is zone- and geo-redundant, which a zone-redundant plan requires.')
@allowed([
  'Standard_GZRS'
  'Standard_RAGZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param skuName string = 'Standard_GZRS'

@description('When true, public network access is disabled and the app reaches storage through private endpoints.')
param enablePrivateNetworking bool = false

@description('Private blob container that holds the deployment packages (WEBSITE_RUN_FROM_PACKAGE).')
param packageContainerName string = 'app-package'

@description('Blob containers the slots write: per task hub the app\'s and Durable\'s, plus the Functions host\'s.')
param blobContainerNames array

@description('Containers that may hold personal data (claim-checked payloads, sandboxes): the lifecycle rule deletes their blobs after personalDataMaxAgeDays.')
@maxLength(10)
param personalDataContainerNames array

@description('Days after which any blob in a personal data container is deleted, whatever became of its case (the app erases completed cases much earlier).')
@minValue(1)
@maxValue(3650)
param personalDataMaxAgeDays int = 120

@description('Resource ID of the Log Analytics workspace that receives the diagnostic logs.')
param logAnalyticsWorkspaceId string

@description('Tags applied to every resource.')
param tags object

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    // checkov:skip=CKV_AZURE_206: skuName is GRS-family by its @allowed list; in a directory scan checkov substitutes main.bicep's parameter name instead of its value
    // checkov:skip=CKV_AZURE_59: public access is 'Disabled' when enablePrivateNetworking is true; without private endpoints the Elastic Premium workers need a public route (identity-only, no keys)
    // checkov:skip=CKV_AZURE_35: default action is 'Deny' when enablePrivateNetworking is true; checkov cannot evaluate the ternary
    // checkov:skip=CKV_AZURE_33: queue logging is configured through the diagnostic setting on queueServices below (StorageRead/Write/Delete)
    // checkov:skip=CKV2_AZURE_1: customer-managed keys are not required for this workload; Microsoft-managed keys with infrastructure encryption
    // checkov:skip=CKV2_AZURE_33: private endpoints are created when enablePrivateNetworking is true (private-endpoints.bicep)
    // checkov:skip=CKV2_AZURE_40: shared key access is disabled (allowSharedKeyAccess: false); checked by CKV_FUNCAPP_2
    // checkov:skip=CKV2_AZURE_41: no SAS is ever issued: shared keys (needed to sign SAS) are disabled
    accessTier: 'Hot'
    // Functions host, Durable queues/tables/blobs and the package download all use the managed identity.
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: enablePrivateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: enablePrivateNetworking ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: packageContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource appContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = [for name in blobContainerNames: {
  parent: blobService
  name: name
  properties: {
    publicAccess: 'None'
  }
}]

// The backstop for personal data (the app erases completed cases after PERSONAL_DATA_RETENTION).
// Deleted blobs stay recoverable for the blob service's 7-day soft delete, then they are gone.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-06-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'personalDataMaxAge'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
                'appendBlob'
              ]
              prefixMatch: [for name in personalDataContainerNames: '${name}/']
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: personalDataMaxAgeDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    appContainers
  ]
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: storage
  name: 'default'
  properties: {}
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-06-01' = {
  parent: storage
  name: 'default'
  properties: {}
}

// Diagnostic settings: the account (metrics) and each service (reads, writes, deletes). Writes to
// the task hub tables and queues are security-relevant, so they go to Log Analytics, not storage.
resource storageDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: storage
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'StorageRead'
        enabled: true
      }
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'StorageRead'
        enabled: true
      }
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: tableService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'StorageRead'
        enabled: true
      }
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

// Deleting the account would delete every in-flight orchestration's history.
resource deleteLock 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'task-hub-data'
  scope: storage
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds Durable Functions task hub state (histories, queues, leases). Remove only on purpose.'
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output packageContainerName string = packageContainer.name
