// The Azure AI Search service. The index itself is created from generated/search-index.json by
// the postprovision hook (infra/hooks/postprovision.sh, az rest), before the app first runs.

@description('Name of the search service (2-60 lowercase letters, digits or dashes).')
@minLength(2)
@maxLength(60)
param name string

@description('Azure region.')
param location string

@description('Pricing tier.')
@allowed(['free', 'basic', 'standard'])
param skuName string = 'basic'

@description('Replicas (2 for a read SLA, 3 for read-write).')
@minValue(1)
@maxValue(12)
param replicaCount int = 1

@description('Name of the index the app uses.')
param indexName string = 'ascend-jobs'

@description('Resource tags.')
param tags object = {}

resource search 'Microsoft.Search/searchServices@2023-11-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    replicaCount: replicaCount
    partitionCount: 1
    hostingMode: 'default'
    publicNetworkAccess: 'enabled'
    disableLocalAuth: true // no API keys anywhere: Entra ID roles only
  }
}

@description('Name of the search service.')
output name string = search.name

@description('Resource ID of the search service.')
output id string = search.id

@description('Endpoint, e.g. https://NAME.search.windows.net.')
output endpoint string = 'https://${search.name}.search.windows.net'

@description('Name of the index the app uses.')
output indexName string = indexName
