// Log Analytics and workspace-based Application Insights for the Function App.

@description('Name of the Log Analytics workspace.')
param workspaceName string

@description('Name of the Application Insights component.')
param insightsName string

@description('Azure region.')
param location string

@description('Days logs are kept (30 are included in the price).')
@minValue(30)
@maxValue(730)
param retentionDays int = 30

@description('Resource tags.')
param tags object = {}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: insightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true // telemetry is sent with the app's identity (Monitoring Metrics Publisher)
  }
}

@description('Name of the Application Insights component.')
output insightsName string = insights.name

@description('Connection string of Application Insights (not a secret: ingestion needs Entra ID).')
output insightsConnectionString string = insights.properties.ConnectionString

@description('Resource ID of the Log Analytics workspace.')
output workspaceId string = workspace.id
