// Event Grid: a system topic on the data account and the subscription that delivers BlobCreated
// and BlobDeleted of projects/ to the Event Grid function, filtered by generated/event-filters.json
// (make infra), retried for 24 h, then dead-lettered into a container with the topic's identity.

@description('Name of the Event Grid system topic.')
param systemTopicName string

@description('Azure region (the storage account\'s).')
param location string

@description('Name of the data storage account (the event source and dead-letter target).')
param storageName string

@description('Container undeliverable events are dead-lettered into.')
param deadLetterContainer string

@description('Resource ID of the Function App.')
param functionAppId string

@description('Name of the Event Grid function in function_app.py.')
param functionName string

@description('Create the subscription (the function must already be deployed).')
param deploySubscription bool = true

@description('Delivery attempts before dead-lettering (Event Grid\'s maximum is 30).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes an event is retried before it is dead-lettered (at most 1440).')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

@description('Resource tags.')
param tags object = {}

var subscriptionName = 'ascend-blob-events'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetters 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainer
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// The topic's identity writes dead letters (shared keys are off on the account).
resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetters.id, systemTopic.id, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: deadLetters
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (deploySubscription) {
  parent: systemTopic
  name: subscriptionName
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    // includedEventTypes, subjectBeginsWith (projects/) and the advanced filters, from the code.
    filter: loadJsonContent('generated/event-filters.json')
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainer
        }
      }
    }
  }
  dependsOn: [deadLetterWriter]
}

@description('Name of the system topic.')
output systemTopicName string = systemTopic.name

@description('Name of the event subscription, or empty when not (yet) created.')
output subscriptionName string = deploySubscription ? subscriptionName : ''
