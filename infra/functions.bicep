// The Function App on Flex Consumption (Python 3.11) with a system-assigned identity, and its own
// small host storage account (AzureWebJobsStorage and the deployment package), so the host's
// broad rights on that account never extend to the job data.

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the Function App.')
param appName string

@description('Name of the host storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param hostStorageName string

@description('Azure region.')
param location string

@description('Most instances the app may scale out to.')
param maxInstances int = 40

@description('Memory of each instance, in MB.')
param instanceMemoryMB int = 2048

@description('Blob endpoint of the data account: ASCEND_STORAGE_ACCOUNT_URL.')
param dataAccountUrl string

@description('The data container: ASCEND_CONTAINER.')
param dataContainer string

@description('Azure AI Search endpoint: ASCEND_SEARCH_ENDPOINT.')
param searchEndpoint string

@description('Search index name: ASCEND_SEARCH_INDEX.')
param searchIndex string

@description('Application Insights connection string.')
param insightsConnectionString string

@description('Application (client) ID of the Entra ID app registration that signs callers in.')
param authClientId string

@description('Tenant ID of that app registration.')
param authTenantId string = subscription().tenantId

@description('E-mail domain whose users map to Ascend users by name (ASCEND_USER_DOMAIN); empty for none.')
param userDomain string = ''

@description('Resource tags.')
param tags object = {}

var packageContainer = 'app-package'

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: hostStorageName
  location: location
  tags: tags
  sku: {
    name: 'Standard_LRS'
  }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
  }
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource packageBlobContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: packageContainer
}

// The partitions of the daily reconcile and sweep: the timers fill it, `work_partition` drains it
// (one partition per message, re-queued while unfinished; five failed tries go to the poison
// queue the host creates beside it). In the host's account: it is the app's own machinery.
var partitionQueue = 'ascend-partitions'

resource hostQueueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource partitionsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: hostQueueService
  name: partitionQueue
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: union(tags, { 'azd-service-name': 'functions' })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${packageContainer}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maxInstances
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // The contract's settings; no keys: storage and search are reached with the app's identity.
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: hostStorage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
        { name: 'ASCEND_STORAGE_ACCOUNT_URL', value: dataAccountUrl }
        { name: 'ASCEND_CONTAINER', value: dataContainer }
        { name: 'ASCEND_SEARCH_ENDPOINT', value: searchEndpoint }
        { name: 'ASCEND_SEARCH_INDEX', value: searchIndex }
        { name: 'ASCEND_AUTH_PROVIDER', value: 'aad' }
        { name: 'ASCEND_USER_DOMAIN', value: userDomain }
        { name: 'AscendQueue__queueServiceUri', value: hostStorage.properties.primaryEndpoints.queue }
      ]
    }
  }
  dependsOn: [packageBlobContainer, partitionsQueue]
}

// App Service authentication ("Easy Auth"): what makes X-MS-CLIENT-PRINCIPAL trustworthy (the
// platform strips client-sent copies only when it is on). Entra ID is the only provider; every
// request without a valid token gets 401, except Event Grid's webhook, which carries the
// function's system key instead.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/runtime/webhooks/EventGrid'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
            authClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

@description('Name of the Function App.')
output name string = app.name

@description('Resource ID of the Function App.')
output id string = app.id

@description('Object ID of the app\'s system-assigned identity.')
output principalId string = app.identity.principalId

@description('Default host name of the app.')
output defaultHostName string = app.properties.defaultHostName

@description('Name of the host storage account.')
output hostStorageName string = hostStorage.name
