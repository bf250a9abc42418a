// Key Vault in RBAC mode for workflow secrets (payment gateway key and the like) and the audit
// packet signing key (created by modules/audit-evidence.bicep). The template creates no secret and
// takes none as a parameter: operators set values with `az keyvault secret set`, and the app reads
// them only through Key Vault references.

@description('Azure region of the vault.')
param location string

@description('Key Vault name: 3-24 letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('When true, public network access is disabled and the app reaches the vault through a private endpoint.')
param enablePrivateNetworking bool = false

@description('Resource ID of the Log Analytics workspace that receives the audit log.')
param logAnalyticsWorkspaceId string

@description('Tags applied to every resource.')
param tags object

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_189: public access is 'Disabled' when enablePrivateNetworking is true; checkov cannot evaluate the ternary
    // checkov:skip=CKV_AZURE_109: the firewall denies by default when enablePrivateNetworking is true; checkov cannot evaluate the ternary
    // checkov:skip=CKV2_AZURE_32: a private endpoint is created when enablePrivateNetworking is true (private-endpoints.bicep)
    tenantId: subscription().tenantId
    // Premium: the audit packet signing key is HSM-backed (EC-HSM, modules/audit-evidence.bicep).
    sku: {
      family: 'A'
      name: 'premium'
    }
    // RBAC mode: access policies are ignored; the app identity holds Key Vault Secrets User.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: enablePrivateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: enablePrivateNetworking ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
