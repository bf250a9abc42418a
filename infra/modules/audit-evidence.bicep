// Where sealed audit packets live and what signs them (docs/audit-evidence.md).
//
// - A storage account of its own for the audit container, with version-level immutability (WORM)
//   for every blob version under a time-based retention policy, and blob versioning (which
//   version-level immutability requires): a sealed packet cannot be changed or deleted before its
//   retention ends, whoever holds write access; an overwrite could only add a newer version, and the
//   app serves the first. One audit container per task hub (`<prefix>-<hub>-audit-packets`, as
//   blob_clients.py names it), so production and staging never write each other's evidence: each
//   slot's identity holds Storage Blob Data Contributor on its own hub's audit container only (no
//   immutability super-user actions).
// - An HSM-backed EC P-256 key in the vault, rotated yearly, that the app may only read (its public
//   part), sign and verify with (a custom role with exactly those data actions, scoped to the key,
//   for each slot's identity: the staging slot seals its own test cases with the same key).
//
// The retention policy is created Unlocked (Azure allows no other state at creation) and can be
// shortened or removed while Unlocked. Lock it once the deployment is verified by setting
// auditImmutabilityState to 'Locked' in the parameters: from then on it can only be extended, and
// the account cannot be deleted while it holds protected versions.

@description('Azure region of the audit storage account.')
param location string

@description('Audit storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Replication SKU of the audit storage account (geo-redundant: evidence must survive a region loss).')
@allowed([
  'Standard_GZRS'
  'Standard_RAGZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param skuName string = 'Standard_GZRS'

@description('The audit containers and who writes each: [{ containerName, principalId }], one per slot (`<STORAGE_CONTAINER_PREFIX>-<task hub>-audit-packets`, blob_clients.py), each with the principal (object) ID of that slot\'s identity.')
param writers array

@description('Days every sealed blob version is kept immutable (2555 days = 7 years, the maintenance-record period; fare disputes and relief reports need less).')
@minValue(1)
@maxValue(146000)
param retentionDays int = 2555

@description('State of the retention policy: Unlocked at first (it can still be changed); Locked once verified (it can then only be extended).')
@allowed([
  'Unlocked'
  'Locked'
])
param immutabilityState string = 'Unlocked'

@description('Name of the Key Vault (Premium SKU, RBAC mode) that holds the signing key.')
param keyVaultName string

@description('Name of the signing key in the vault.')
param signingKeyName string = 'audit-packet-signing'

@description('When true, public network access is disabled (the app reaches the account through a private endpoint).')
param enablePrivateNetworking bool = false

@description('Resource ID of the Log Analytics workspace that receives the diagnostic logs.')
param logAnalyticsWorkspaceId string

@description('Tags applied to every resource.')
param tags object

// Storage Blob Data Contributor: read, create and list blobs (no immutability super-user actions).
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource auditStorage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    // checkov:skip=CKV_AZURE_206: skuName is GRS-family by its @allowed list; in a directory scan checkov substitutes main.bicep's parameter name instead of its value
    // checkov:skip=CKV_AZURE_59: public access is 'Disabled' when enablePrivateNetworking is true; without private endpoints the app needs a public route (identity-only, no keys)
    // checkov:skip=CKV_AZURE_35: default action is 'Deny' when enablePrivateNetworking is true; checkov cannot evaluate the ternary
    // checkov:skip=CKV_AZURE_33: this account has no queues; blob logging goes through the diagnostic setting below
    // checkov:skip=CKV2_AZURE_1: customer-managed keys are not required; Microsoft-managed keys with infrastructure encryption
    // checkov:skip=CKV2_AZURE_33: private endpoints are created when enablePrivateNetworking is true
    // checkov:skip=CKV2_AZURE_40: shared key access is disabled (allowSharedKeyAccess: false); checked by CKV_FUNCAPP_2
    // checkov:skip=CKV2_AZURE_41: no SAS is ever issued: shared keys (needed to sign SAS) are disabled
    accessTier: 'Cool'
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
    // Version-level WORM for every container: each blob version is immutable for retentionDays.
    immutableStorageWithVersioning: {
      enabled: true
      immutabilityPolicy: {
        immutabilityPeriodSinceCreationInDays: retentionDays
        state: immutabilityState
        allowProtectedAppendWrites: false
      }
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
      }
    }
  }
}

resource auditBlobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: auditStorage
  name: 'default'
  properties: {
    // Version-level immutability needs versioning; the change feed records every write and delete.
    isVersioningEnabled: true
    changeFeed: {
      enabled: true
    }
    deleteRetentionPolicy: {
      enabled: true
      days: 365
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 365
    }
  }
}

resource auditContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = [for writer in writers: {
  parent: auditBlobService
  name: writer.containerName
  properties: {
    publicAccess: 'None'
  }
}]

resource auditStorageDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: auditStorage
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

resource auditBlobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: auditBlobService
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

resource auditDeleteLock 'Microsoft.Authorization/locks@2020-05-01' = {
  name: 'audit-evidence'
  scope: auditStorage
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds sealed audit packets under a retention policy. Never remove.'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

// The private key never leaves the HSM; a new version each year, the old ones stay for verifying.
resource signingKey 'Microsoft.KeyVault/vaults/keys@2024-11-01' = {
  parent: vault
  name: signingKeyName
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_40: expiry is set by the rotation policy (expiryTime P2Y on every version); a fixed exp here would change on each deployment
    kty: 'EC-HSM'
    curveName: 'P-256'
    keyOps: [
      'sign'
      'verify'
    ]
    attributes: {
      enabled: true
      exportable: false
    }
    rotationPolicy: {
      attributes: {
        expiryTime: 'P2Y'
      }
      lifetimeActions: [
        {
          trigger: {
            timeAfterCreate: 'P1Y'
          }
          action: {
            type: 'rotate'
          }
        }
        {
          trigger: {
            timeBeforeExpiry: 'P30D'
          }
          action: {
            type: 'notify'
          }
        }
      ]
    }
  }
}

// Only what sealing needs: read the public key, sign, verify. No encrypt, decrypt, wrap, delete.
resource signerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'audit-packet-signer')
  properties: {
    roleName: 'Audit packet signer (${resourceGroup().name})'
    description: 'Read the public part of the audit signing key, sign and verify with it.'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.KeyVault/vaults/keys/read'
          'Microsoft.KeyVault/vaults/keys/sign/action'
          'Microsoft.KeyVault/vaults/keys/verify/action'
        ]
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource signerAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for writer in writers: {
  name: guid(signingKey.id, writer.principalId, signerRole.id)
  scope: signingKey
  properties: {
    roleDefinitionId: signerRole.id
    principalId: writer.principalId
    principalType: 'ServicePrincipal'
  }
}]

// Each slot's identity writes its own hub's audit container and no other.
resource auditContainerWriters 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (writer, i) in writers: {
  name: guid(auditContainers[i].id, writer.principalId, storageBlobDataContributorRoleId)
  scope: auditContainers[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: writer.principalId
    principalType: 'ServicePrincipal'
  }
}]

output storageName string = auditStorage.name
output blobEndpoint string = auditStorage.properties.primaryEndpoints.blob
output containerNames array = [for (writer, i) in writers: auditContainers[i].name]
output signingKeyUri string = signingKey.properties.keyUri
output signingKeyName string = signingKey.name
output retentionDays int = retentionDays
