// Linux Elastic Premium plan, the Python Function App and its `staging` slot.
//
// App settings are owned here but MERGED with the settings already on the site/slot
// (retainCurrentAppSettings): a config/appsettings resource replaces the whole collection, and the
// release writes WEBSITE_RUN_FROM_PACKAGE outside IaC, so a plain replace would strip the code
// from the app on the next infra deployment. Values defined here win over current values.
//
// Task hubs: TASKHUB_NAME is sticky (slotConfigNames) and differs per slot, so production and
// staging never share a hub; host.json reads it as "hubName": "%TASKHUB_NAME%", and the app names
// its blob containers after it (blob_clients.py), so the slots never share an effect either.
//
// Identities: each slot has its own user-assigned identity, attached to that slot only; the
// settings that name it (AzureWebJobsStorage__clientId, the Application Insights authentication
// string, the package download identity, the audit account's and signing key's client IDs, the
// scheduler connection) are sticky, so they stay with the slot whose identity they name.
// INTEGRATIONS_MODE is sticky too: production always talks to the real systems (http); a sandbox
// value set on staging never swaps into production.

@description('Azure region of the plan and the app.')
param location string

@description('Function App name (also the production host name prefix).')
@minLength(2)
@maxLength(60)
param appName string

@description('Name of the Elastic Premium plan.')
param planName string

@description('Elastic Premium SKU.')
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

@description('Always-ready instances per app (Elastic Premium keeps at least one).')
@minValue(1)
@maxValue(20)
param minimumElasticInstanceCount int = 1

@description('Spread the plan across availability zones (needs a ZRS/GZRS storage account and 3 instances minimum).')
param zoneRedundant bool = true

@description('Python version of the worker; the app is built and tested on 3.11.')
@allowed([
  '3.11'
])
param pythonVersion string = '3.11'

@description('Name of the deployment slot that receives new builds before the swap.')
param stagingSlotName string = 'staging'

@description('Task hub of the production slot (3-45 letters and digits, starting with a letter).')
@minLength(3)
@maxLength(45)
param productionTaskHubName string = 'wfprod'

@description('Task hub of the staging slot; must differ from productionTaskHubName.')
@minLength(3)
@maxLength(45)
param stagingTaskHubName string = 'wfstaging'

@description('Resource ID of the production site\'s user-assigned identity (attached to the site only).')
param productionIdentityId string

@description('Client ID of the production identity (Durable needs the client ID, not the resource ID).')
param productionIdentityClientId string

@description('Resource ID of the staging slot\'s user-assigned identity (attached to the slot only).')
param stagingIdentityId string

@description('Client ID of the staging identity.')
param stagingIdentityClientId string

@description('Prefix of the app\'s blob containers (STORAGE_CONTAINER_PREFIX), as storage.bicep and rbac.bicep name them.')
param containerPrefix string = 'wf'

@description('INTEGRATIONS_MODE of the staging slot (sticky); production is always http.')
@allowed([
  'http'
  'sandbox'
])
param stagingIntegrationsMode string = 'sandbox'

@description('PERSONAL_DATA_RETENTION: how long a completed case\'s claim-checked personal data is kept (ISO 8601 duration).')
param personalDataRetention string = 'P30D'

@description('Name of the storage account for host state and the Azure Storage task hubs.')
param storageAccountName string

@description('Name of the workspace-based Application Insights component.')
param appInsightsName string

@description('Vault URI (https://NAME.vault.azure.net/) used to build Key Vault references.')
param keyVaultUri string

@description('Blob endpoint of the audit storage account (sealed audit packets, immutable).')
param auditBlobServiceUri string

@description('Key identifier (no version) of the Key Vault key that signs sealed audit packets.')
param auditSigningKeyUri string

@description('Resource ID of the Log Analytics workspace that receives diagnostic logs.')
param logAnalyticsWorkspaceId string

@description('Durable backend: AzureStorage (default) or DurableTaskScheduler.')
@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
param durableBackend string = 'AzureStorage'

@description('Durable Task Scheduler endpoint; used only when durableBackend is DurableTaskScheduler.')
param schedulerEndpoint string = ''

@description('When true, outbound traffic goes through appSubnetId (VNet integration).')
param enablePrivateNetworking bool = false

@description('Subnet delegated to Microsoft.Web/serverFarms; used only when enablePrivateNetworking is true.')
param appSubnetId string = ''

@description('Path the platform probes on every instance; an instance that fails it is replaced, so the app must serve it (HTTP 200).')
param healthCheckPath string = '/api/health'

@description('Merge the settings already on the site and slot (true) instead of replacing them; keep true so the package URL written by the release survives.')
param retainCurrentAppSettings bool = true

@description('Application (client) ID of the Microsoft Entra app registration that signs callers in (App Service Authentication) and defines the app roles (docs/deploy-to-azure.md).')
@minLength(36)
@maxLength(36)
param authClientId string

@description('Directory (tenant) ID of that app registration; the token issuer is https://login.microsoftonline.com/<tenant>/v2.0.')
@minLength(36)
@maxLength(36)
param authTenantId string

@description('Token audiences App Service Authentication accepts (service callers ask for one of them); empty means api://<authClientId> and the client ID itself.')
param authAllowedAudiences array = []

@description('Name of the app setting that holds the app registration\'s client secret (a Key Vault reference), for the code flow; empty signs browsers in with an ID token (implicit flow) and keeps no secret.')
param authCredentialSettingName string = ''

@description('Tags applied to every resource.')
param tags object

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// host.json configures the Azure Storage provider; these app settings override it for the
// Durable Task Scheduler without a second host.json. The connection names the slot's identity, so
// it is sticky.
var productionSchedulerAppSettings = {
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${productionIdentityClientId}'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
}
var stagingSchedulerAppSettings = {
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${stagingIdentityClientId}'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'azureManaged'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
}

var productionBackendAppSettings = durableBackend == 'DurableTaskScheduler' ? productionSchedulerAppSettings : {}
var stagingBackendAppSettings = durableBackend == 'DurableTaskScheduler' ? stagingSchedulerAppSettings : {}

// App Service Authentication (Easy Auth v2) with Microsoft Entra ID, written inline in both slots
// below (checkov must see every value). Every request but the health probe needs a principal:
// unauthenticated calls get 401 from the platform before the app runs (an API must not answer a
// redirect), and people open the console through /.auth/login/aad?post_login_redirect_uri=/api/console,
// which is always served. The app reads the principal Easy Auth injects and checks the app roles
// itself (identity/); the token store stays off because the app calls nothing on the user's behalf.
var authAudiences = empty(authAllowedAudiences) ? [
  'api://${authClientId}'
  authClientId
] : authAllowedAudiences
var authIssuer = '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'elastic'
  sku: {
    name: planSku
    tier: 'ElasticPremium'
    capacity: zoneRedundant ? 3 : 1
  }
  properties: {
    reserved: true
    maximumElasticWorkerCount: maximumElasticWorkerCount
    zoneRedundant: zoneRedundant
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${productionIdentityId}': {}
    }
  }
  properties: {
    // checkov:skip=CKV_AZURE_17: client certificates are for mTLS APIs; callers authenticate with Entra ID
    // checkov:skip=CKV_AZURE_212: Elastic Premium scales with minimumElasticInstanceCount, not numberOfWorkers
    // checkov:skip=CKV_AZURE_222: the HTTP starters are public endpoints protected by Entra ID (siteAuth); storage and the vault can be private
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: productionIdentityId
    virtualNetworkSubnetId: enablePrivateNetworking ? appSubnetId : null
    siteConfig: {
      linuxFxVersion: 'Python|${pythonVersion}'
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      healthCheckPath: healthCheckPath
      minimumElasticInstanceCount: minimumElasticInstanceCount
      functionsRuntimeScaleMonitoringEnabled: enablePrivateNetworking
      functionsRuntimeAdminIsolationEnabled: true
      vnetRouteAllEnabled: enablePrivateNetworking
      cors: {
        allowedOrigins: []
      }
    }
  }
}

// The settings are written inline (not through a variable) in both slots: checkov does not
// reliably substitute object variables, and the custom checks must see every value. Settings other
// than the sticky ones must be identical in both slots (tests/infra asserts it).
// pycep 0.5.1 (checkov's Bicep parser) fails on five or more consecutive comment lines at the
// resource-body level, so the skip comments of the config children are split around `name:`.
resource siteAppSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  // checkov:skip=CKV_AZURE_13: false positive: checkov applies site checks to every sites/config child; authentication is not an app setting
  // checkov:skip=CKV_AZURE_63: false positive on an appsettings config child (HTTP logging is a site property)
  // checkov:skip=CKV_AZURE_65: false positive on an appsettings config child (detailed errors are a site property)
  name: 'appsettings'
  // checkov:skip=CKV_AZURE_66: false positive on an appsettings config child (failed-request tracing is a site property)
  // checkov:skip=CKV_AZURE_80: false positive: .NET version does not apply to a Python app
  // checkov:skip=CKV_AZURE_88: identity-only storage: Azure Files needs shared keys, which are disabled by design
  // checkov:skip=CKV_AZURE_222: false positive on an appsettings config child (public access is a site property)
  properties: union(retainCurrentAppSettings ? list('${site.id}/config/appsettings', '2025-03-01').properties : {}, {
    FUNCTIONS_EXTENSION_VERSION: '~4'
    FUNCTIONS_WORKER_RUNTIME: 'python'
    // Identity-based host storage; an AzureWebJobsStorage connection string must never be set.
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    // Not a credential once the component disables local auth; ingestion needs the Entra token.
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    WEBSITE_OVERRIDE_STICKY_DIAGNOSTICS_SETTINGS: '0'
    // Containers <prefix>-<task hub>-<purpose> (blob_clients.py); rbac.bicep grants exactly these.
    STORAGE_CONTAINER_PREFIX: containerPrefix
    PERSONAL_DATA_RETENTION: personalDataRetention
    // Workflow secrets: Key Vault references only (versionless, so rotation is picked up).
    PAYMENT_GATEWAY_API_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/payment-gateway-api-key/)'
    CONSOLE_CSRF_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/console-csrf-key/)'
    // Sealed audit packets: the immutable audit account and the signing key, both by identity (the
    // slot's, named by the sticky client IDs below); each slot writes its own hub's audit container.
    AUDIT_STORAGE__blobServiceUri: auditBlobServiceUri
    AUDIT_STORAGE__credential: 'managedidentity'
    AUDIT_SIGNING_KEY_URI: auditSigningKeyUri
    // Sticky (slotConfigNames): stay with this slot on a swap.
    TASKHUB_NAME: productionTaskHubName
    APP_SLOT_ROLE: 'production'
    AzureFunctionsWebHost__hostid: '${take(appName, 27)}-prod'
    INTEGRATIONS_MODE: 'http'
    // The slot's own identity (sticky: they name the identity attached to this slot only). The
    // package URL (WEBSITE_RUN_FROM_PACKAGE) is written per slot by the release and kept by the merge.
    AzureWebJobsStorage__clientId: productionIdentityClientId
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${productionIdentityClientId}'
    WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: productionIdentityId
    AUDIT_STORAGE__clientId: productionIdentityClientId
    AUDIT_SIGNING_KEY__clientId: productionIdentityClientId
  }, productionBackendAppSettings)
}

// Sticky settings: they stay with their slot on a swap. Each must be defined in every slot.
resource slotConfigNames 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'slotConfigNames'
  properties: {
    // checkov:skip=CKV_AZURE_13: false positive: checkov applies site checks to every sites/config child
    // checkov:skip=CKV_AZURE_63: false positive on the slotConfigNames config child
    // checkov:skip=CKV_AZURE_65: false positive on the slotConfigNames config child
    // checkov:skip=CKV_AZURE_66: false positive on the slotConfigNames config child
    // checkov:skip=CKV_AZURE_80: false positive: .NET version does not apply to a Python app
    // checkov:skip=CKV_AZURE_88: identity-only storage: Azure Files needs shared keys, which are disabled by design
    // checkov:skip=CKV_AZURE_222: false positive on the slotConfigNames config child
    appSettingNames: [
      'TASKHUB_NAME'
      'APP_SLOT_ROLE'
      'AzureFunctionsWebHost__hostid'
      'INTEGRATIONS_MODE'
      'AzureWebJobsStorage__clientId'
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
      'WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID'
      'AUDIT_STORAGE__clientId'
      'AUDIT_SIGNING_KEY__clientId'
      'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
    ]
  }
}

resource stagingSlot 'Microsoft.Web/sites/slots@2025-03-01' = {
  parent: site
  name: stagingSlotName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${stagingIdentityId}': {}
    }
  }
  properties: {
    // checkov:skip=CKV_AZURE_17: client certificates are for mTLS APIs; callers authenticate with Entra ID
    // checkov:skip=CKV_AZURE_212: Elastic Premium scales with minimumElasticInstanceCount, not numberOfWorkers
    // checkov:skip=CKV_AZURE_222: the staging host name serves smoke tests; access is restricted by Entra ID (slotAuth)
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: stagingIdentityId
    virtualNetworkSubnetId: enablePrivateNetworking ? appSubnetId : null
    siteConfig: {
      linuxFxVersion: 'Python|${pythonVersion}'
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      healthCheckPath: healthCheckPath
      minimumElasticInstanceCount: minimumElasticInstanceCount
      functionsRuntimeScaleMonitoringEnabled: enablePrivateNetworking
      functionsRuntimeAdminIsolationEnabled: true
      vnetRouteAllEnabled: enablePrivateNetworking
      cors: {
        allowedOrigins: []
      }
    }
  }
}

resource stagingAppSettings 'Microsoft.Web/sites/slots/config@2025-03-01' = {
  parent: stagingSlot
  // checkov:skip=CKV_AZURE_13: false positive: checkov applies site checks to every config child
  // checkov:skip=CKV_AZURE_63: false positive on an appsettings config child
  // checkov:skip=CKV_AZURE_65: false positive on an appsettings config child
  name: 'appsettings'
  // checkov:skip=CKV_AZURE_66: false positive on an appsettings config child
  // checkov:skip=CKV_AZURE_80: false positive: .NET version does not apply to a Python app
  // checkov:skip=CKV_AZURE_88: identity-only storage: Azure Files needs shared keys, which are disabled by design
  // checkov:skip=CKV_AZURE_222: false positive on an appsettings config child
  properties: union(retainCurrentAppSettings ? list('${stagingSlot.id}/config/appsettings', '2025-03-01').properties : {}, {
    FUNCTIONS_EXTENSION_VERSION: '~4'
    FUNCTIONS_WORKER_RUNTIME: 'python'
    // Identity-based host storage; an AzureWebJobsStorage connection string must never be set.
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    // Not a credential once the component disables local auth; ingestion needs the Entra token.
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    WEBSITE_OVERRIDE_STICKY_DIAGNOSTICS_SETTINGS: '0'
    // Containers <prefix>-<task hub>-<purpose> (blob_clients.py); rbac.bicep grants exactly these.
    STORAGE_CONTAINER_PREFIX: containerPrefix
    PERSONAL_DATA_RETENTION: personalDataRetention
    // Workflow secrets: Key Vault references only (versionless, so rotation is picked up).
    PAYMENT_GATEWAY_API_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/payment-gateway-api-key/)'
    CONSOLE_CSRF_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/console-csrf-key/)'
    // Sealed audit packets: the immutable audit account and the signing key, both by identity (the
    // slot's, named by the sticky client IDs below); each slot writes its own hub's audit container.
    AUDIT_STORAGE__blobServiceUri: auditBlobServiceUri
    AUDIT_STORAGE__credential: 'managedidentity'
    AUDIT_SIGNING_KEY_URI: auditSigningKeyUri
    // Sticky (slotConfigNames): stay with this slot on a swap.
    TASKHUB_NAME: stagingTaskHubName
    APP_SLOT_ROLE: 'staging'
    AzureFunctionsWebHost__hostid: '${take(appName, 27)}-stg'
    INTEGRATIONS_MODE: stagingIntegrationsMode
    // The slot's own identity (sticky: they name the identity attached to this slot only). The
    // package URL (WEBSITE_RUN_FROM_PACKAGE) is written per slot by the release and kept by the merge.
    AzureWebJobsStorage__clientId: stagingIdentityClientId
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${stagingIdentityClientId}'
    WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: stagingIdentityId
    AUDIT_STORAGE__clientId: stagingIdentityClientId
    AUDIT_SIGNING_KEY__clientId: stagingIdentityClientId
  }, stagingBackendAppSettings)
}

// Entra ID sign-in in front of the production slot (see authAudiences above for why 401 and no token store).
resource siteAuth 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  // checkov:skip=CKV_AZURE_13: reads the v1 authsettings shape (properties.enabled); v2 is platform.enabled, checked by CKV_FUNCAPP_12
  // checkov:skip=CKV_AZURE_63: false positive on an authsettingsV2 config child (HTTP logging is a site property)
  // checkov:skip=CKV_AZURE_65: false positive on an authsettingsV2 config child (detailed errors are a site property)
  name: 'authsettingsV2'
  // checkov:skip=CKV_AZURE_66: false positive on an authsettingsV2 config child (failed-request tracing is a site property)
  // checkov:skip=CKV_AZURE_80: false positive: .NET version does not apply to a Python app
  // checkov:skip=CKV_AZURE_88: false positive on an authsettingsV2 config child (Azure Files is a site setting)
  // checkov:skip=CKV_AZURE_222: false positive on an authsettingsV2 config child (public access is a site property)
  properties: {
    platform: {
      enabled: true
      runtimeVersion: '~1'
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: [
        '/api/health'
      ]
    }
    httpSettings: {
      requireHttps: true
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          clientSecretSettingName: empty(authCredentialSettingName) ? null : authCredentialSettingName
          openIdIssuer: authIssuer
        }
        validation: {
          allowedAudiences: authAudiences
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
      preserveUrlFragmentsForLogins: false
    }
  }
}

// The same in front of the staging slot: smoke tests and the swap see exactly what production does.
resource slotAuth 'Microsoft.Web/sites/slots/config@2025-03-01' = {
  parent: stagingSlot
  // checkov:skip=CKV_AZURE_13: reads the v1 authsettings shape (properties.enabled); v2 is platform.enabled, checked by CKV_FUNCAPP_12
  // checkov:skip=CKV_AZURE_63: false positive on an authsettingsV2 config child
  // checkov:skip=CKV_AZURE_65: false positive on an authsettingsV2 config child
  name: 'authsettingsV2'
  // checkov:skip=CKV_AZURE_66: false positive on an authsettingsV2 config child
  // checkov:skip=CKV_AZURE_80: false positive: .NET version does not apply to a Python app
  // checkov:skip=CKV_AZURE_88: false positive on an authsettingsV2 config child
  // checkov:skip=CKV_AZURE_222: false positive on an authsettingsV2 config child
  properties: {
    platform: {
      enabled: true
      runtimeVersion: '~1'
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: [
        '/api/health'
      ]
    }
    httpSettings: {
      requireHttps: true
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          clientSecretSettingName: empty(authCredentialSettingName) ? null : authCredentialSettingName
          openIdIssuer: authIssuer
        }
        validation: {
          allowedAudiences: authAudiences
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
      preserveUrlFragmentsForLogins: false
    }
  }
}

// No basic (FTP / SCM) publishing credentials: deployments authenticate with Entra tokens.
resource siteFtpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource siteScmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource slotFtpPolicy 'Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: stagingSlot
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource slotScmPolicy 'Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: stagingSlot
  name: 'scm'
  properties: {
    allow: false
  }
}

// Diagnostic settings are per slot and do not move with a swap.
resource siteDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
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

resource slotDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: stagingSlot
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
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

resource planDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: plan
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output authClientId string = authClientId
output siteName string = site.name
output siteId string = site.id
output defaultHostName string = site.properties.defaultHostName
output stagingSlotName string = stagingSlot.name
output stagingHostName string = stagingSlot.properties.defaultHostName
output planId string = plan.id
