// Optional: each listed user may read only their own blobs, projects/*/users/{user}/..., enforced
// by Azure itself with an ABAC condition on Storage Blob Data Reader at the container's scope.

@description('Name of the data storage account.')
param storageName string

@description('The data container.')
param container string

@description('The readers: [{ principalId: "<Entra object ID>", user: "<sanitized user name>" }].')
param readers array

var storageBlobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
var blobRead = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource dataContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: container
}

// Reads (other than listing) need the blob's path under the user's folder; listing needs the
// requested prefix under it, so names of other users' jobs are not listed either.
resource ownFolderReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for reader in readers: {
  name: guid(dataContainer.id, reader.principalId, 'own-folder-reader')
  scope: dataContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReader)
    principalId: reader.principalId
    description: 'Read projects/*/users/${reader.user}/ only'
    conditionVersion: '2.0'
    condition: '((!(ActionMatches{\'${blobRead}\'} AND NOT SubOperationMatches{\'Blob.List\'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike \'projects/*/users/${reader.user}/*\')) AND ((!(ActionMatches{\'${blobRead}\'} AND SubOperationMatches{\'Blob.List\'})) OR (@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix] StringLike \'projects/*/users/${reader.user}/*\'))'
  }
}]

@description('How many per-user role assignments were made.')
output readerCount int = length(readers)
