// ascend-index in one resource group: storage + lifecycle, Event Grid, Functions (Flex
// Consumption), Azure AI Search, monitoring and the role assignments between them.
// Lint: az bicep build --file infra/main.bicep
targetScope = 'resourceGroup'

@description('Prefix of every resource name, e.g. the azd environment name (letters, digits, dashes).')
@minLength(2)
@maxLength(20)
param namePrefix string

@description('Azure region of every resource.')
param location string = resourceGroup().location

// No ZRS/GZRS: the Archive tier the retention policy moves logs to exists only on LRS, GRS, RA-GRS.
@description('SKU of the data storage account (LRS, GRS or RA-GRS: Archive needs one of them).')
@allowed(['Standard_LRS', 'Standard_GRS', 'Standard_RAGRS'])
param storageSku string = 'Standard_LRS'

@description('Azure AI Search pricing tier (free: one per subscription, 50 MB, no SLA).')
@allowed(['free', 'basic', 'standard'])
param searchSku string = 'basic'

@description('Most instances the Flex Consumption app may scale out to.')
@minValue(40)
@maxValue(1000)
param functionMaxInstances int = 40

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([512, 2048, 4096])
param functionInstanceMemoryMB int = 2048

@description('Name of the Event Grid function in function_app.py.')
param eventFunctionName string = 'on_blob_event'

@description('Create the Event Grid subscription: only once the function code is deployed (azd postdeploy sets it).')
param deployEventSubscription bool = false

@description('Object ID of the deploying user or CI identity, allowed to create the search index and query it; empty for none.')
param principalId string = ''

@description('Optional per-user read access to their own blobs: [{ principalId: "...", user: "alice" }].')
param userReaders array = []

@description('Application (client) ID of the Entra ID app registration callers sign in to (README: "Deploying to Azure").')
param authClientId string

@description('Tenant ID of that app registration.')
param authTenantId string = subscription().tenantId

@description('E-mail domain whose users map to Ascend users by name (ASCEND_USER_DOMAIN); empty for none.')
param userDomain string = ''

@description('Tags put on every resource.')
param tags object = {}

// The prefix, lower-cased once and checked: every resource name allows lowercase letters, digits
// and inner dashes (azd environment names may hold underscores or dots). Splitting on every
// allowed character leaves nothing of a valid prefix.
var allowedChars = split('a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,0,1,2,3,4,5,6,7,8,9,-', ',')
var prefix = toLower(namePrefix)
var prefixValid = empty(join(split(prefix, allowedChars), '')) && !startsWith(prefix, '-') && !endsWith(prefix, '-')
// An invalid prefix stops the deployment here with this message (json() of it cannot parse;
// the condition's other branch is not evaluated).
var checkedPrefix = prefixValid ? prefix : json('namePrefix must be 2-20 letters, digits and inner dashes')
var suffix = uniqueString(resourceGroup().id, checkedPrefix)
var compact = take(replace(checkedPrefix, '-', ''), 7)
var names = {
  storage: take('${compact}data${suffix}', 24)
  hostStorage: take('${compact}host${suffix}', 24)
  search: '${checkedPrefix}-search-${suffix}'
  plan: '${checkedPrefix}-plan-${suffix}'
  functionApp: '${checkedPrefix}-func-${suffix}'
  workspace: '${checkedPrefix}-logs-${suffix}'
  insights: '${checkedPrefix}-ai-${suffix}'
  systemTopic: '${checkedPrefix}-blobevents-${suffix}'
}

module monitoring 'monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: names.workspace
    insightsName: names.insights
    location: location
    tags: tags
  }
}

module storage 'storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    skuName: storageSku
    tags: tags
  }
}

module search 'search.bicep' = {
  name: 'search'
  params: {
    name: names.search
    location: location
    skuName: searchSku
    tags: tags
  }
}

module functions 'functions.bicep' = {
  name: 'functions'
  params: {
    planName: names.plan
    appName: names.functionApp
    hostStorageName: names.hostStorage
    location: location
    maxInstances: functionMaxInstances
    instanceMemoryMB: functionInstanceMemoryMB
    dataAccountUrl: storage.outputs.blobEndpoint
    dataContainer: storage.outputs.dataContainer
    searchEndpoint: search.outputs.endpoint
    searchIndex: search.outputs.indexName
    insightsConnectionString: monitoring.outputs.insightsConnectionString
    authClientId: authClientId
    authTenantId: authTenantId
    userDomain: userDomain
    tags: tags
  }
}

module rbac 'rbac.bicep' = {
  name: 'rbac'
  params: {
    functionPrincipalId: functions.outputs.principalId
    dataStorageName: storage.outputs.name
    hostStorageName: functions.outputs.hostStorageName
    searchName: search.outputs.name
    insightsName: monitoring.outputs.insightsName
    deployerPrincipalId: principalId
  }
}

module eventgrid 'eventgrid.bicep' = {
  name: 'eventgrid'
  params: {
    systemTopicName: names.systemTopic
    location: location
    storageName: storage.outputs.name
    deadLetterContainer: storage.outputs.deadLetterContainer
    functionAppId: functions.outputs.id
    functionName: eventFunctionName
    deploySubscription: deployEventSubscription
    tags: tags
  }
  dependsOn: [rbac]
}

module userAccess 'useraccess.bicep' = if (!empty(userReaders)) {
  name: 'useraccess'
  params: {
    storageName: storage.outputs.name
    container: storage.outputs.dataContainer
    readers: userReaders
  }
}

@description('Blob endpoint of the data account (ASCEND_STORAGE_ACCOUNT_URL).')
output ASCEND_STORAGE_ACCOUNT_URL string = storage.outputs.blobEndpoint

@description('The data container (ASCEND_CONTAINER).')
output ASCEND_CONTAINER string = storage.outputs.dataContainer

@description('Azure AI Search endpoint (ASCEND_SEARCH_ENDPOINT).')
output ASCEND_SEARCH_ENDPOINT string = search.outputs.endpoint

@description('Search index name (ASCEND_SEARCH_INDEX).')
output ASCEND_SEARCH_INDEX string = search.outputs.indexName

@description('Name of the Function App.')
output FUNCTION_APP_NAME string = functions.outputs.name

@description('Default host name of the Function App (the query API is under /api/).')
output FUNCTION_APP_HOSTNAME string = functions.outputs.defaultHostName

@description('Name of the data storage account.')
output STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Name of the Event Grid system topic on the data account.')
output EVENT_GRID_SYSTEM_TOPIC string = eventgrid.outputs.systemTopicName
