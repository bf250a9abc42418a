// Operations monitoring of the workflows: an Application Insights workbook and log alert rules.
// The KQL lives in infra/monitoring/queries/*.kql (checked offline by infra/monitoring/kql_check.js
// with Microsoft's Kusto parser) and is loaded here with loadTextContent, so the portal runs exactly
// the files the tests check. Queries over `traces` read the Durable extension's tracking events
// (host.json: Host.Triggers.DurableTask at Information) and the app's `workflows` records
// (telemetry.py dimensions instance_id, workflow, step, region); the storage throttling rule reads
// the storage diagnostic logs in the workspace.

@description('Azure region of the workbook and the alert rules.')
param location string

@description('Base name used for the workbook, the action group and the alert rules.')
param baseName string

@description('Resource ID of the Application Insights component the workbook and most rules query.')
param appInsightsId string

@description('Resource ID of the Log Analytics workspace that receives the storage diagnostic logs.')
param workspaceId string

@description('E-mail address of the on-call operators who receive the alerts.')
param alertEmail string

@description('Whether the alert rules are enabled (disable them in a test environment).')
param alertsEnabled bool = true

@description('Tags applied to every resource.')
param tags object

var workbookSections = [
  {
    title: 'Instances by status and workflow'
    query: loadTextContent('../monitoring/queries/instances-by-status-and-workflow.kql')
    visualization: 'table'
  }
  {
    title: 'Failed activities (last day)'
    query: loadTextContent('../monitoring/queries/failed-activities.kql')
    visualization: 'table'
  }
  {
    title: 'Pending external events'
    query: loadTextContent('../monitoring/queries/pending-external-events.kql')
    visualization: 'table'
  }
  {
    title: 'Long-running instances by region'
    query: loadTextContent('../monitoring/queries/long-running-instances-by-region.kql')
    visualization: 'table'
  }
  {
    title: 'SLA breaches (last 7 days)'
    query: loadTextContent('../monitoring/queries/sla-breaches.kql')
    visualization: 'table'
  }
]

var workbookContent = {
  version: 'Notebook/1.0'
  items: [for (section, index) in workbookSections: {
    type: 3
    name: 'query-${index}'
    content: {
      version: 'KqlItem/1.0'
      title: section.title
      query: section.query
      size: 0
      queryType: 0
      resourceType: 'microsoft.insights/components'
      visualization: section.visualization
    }
  }]
  isLocked: false
  fallbackResourceIds: [
    appInsightsId
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID; derived from the component so a re-deploy updates it.
  name: guid(appInsightsId, 'workflows-operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Workflows operations (${baseName})'
    category: 'workbook'
    sourceId: appInsightsId
    serializedData: string(workbookContent)
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${baseName}-oncall'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'wf-oncall'
    enabled: true
    emailReceivers: [
      {
        name: 'on-call operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var alertRules = [
  {
    name: 'activity-failure-rate'
    displayName: 'Workflow activity failure rate above 10 %'
    description: 'An activity failed in more than 10 % of at least 5 executions within 15 minutes. Open the console, filter Failed, read the failure texts; see docs/operations-console.md.'
    severity: 2
    scope: appInsightsId
    query: loadTextContent('../monitoring/queries/alert-activity-failure-rate.kql')
    frequency: 'PT5M'
    window: 'PT15M'
  }
  {
    name: 'stuck-instances'
    displayName: 'Workflow instances stuck beyond 26 hours'
    description: 'An unfinished instance made no progress for 26 hours and waits for no external event. Open it in the console (why it stands, last activity), then resume, rewind or terminate.'
    severity: 2
    scope: appInsightsId
    query: loadTextContent('../monitoring/queries/alert-stuck-instances.kql')
    frequency: 'PT1H'
    window: 'P2D'
  }
  {
    name: 'sla-breach'
    displayName: 'Workflow SLA breach'
    description: 'A fare dispute passed its SLA, an approval expired, or a shelter stayed unconfirmed after the last escalation. Check the console\'s pending decisions.'
    severity: 1
    scope: appInsightsId
    query: loadTextContent('../monitoring/queries/alert-sla-breach.kql')
    frequency: 'PT15M'
    window: 'PT15M'
  }
  {
    name: 'gave-up'
    displayName: 'Workflow step gave up after its retries'
    description: 'A best-effort message or portal update stayed unsent after about 30 minutes of retries (the process went on and recorded it under unsent), or a strict step ended its process Failed after undoing what it could (custom status failure). Open the instances in the console; see orchestrators/failure_policy.py.'
    severity: 2
    scope: appInsightsId
    query: loadTextContent('../monitoring/queries/alert-gave-up.kql')
    frequency: 'PT5M'
    window: 'PT15M'
  }
  {
    name: 'storage-throttling'
    displayName: 'Task hub storage throttled'
    description: 'Durable queues, tables or blobs answered 503 (server busy / throttled) within 15 minutes. Expect slow or stalled instances; check scale-out and storage partition load.'
    severity: 2
    scope: workspaceId
    query: loadTextContent('../monitoring/queries/alert-storage-throttling.kql')
    frequency: 'PT5M'
    window: 'PT15M'
  }
]

resource alerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in alertRules: {
  name: 'alert-${baseName}-${rule.name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: alertsEnabled
    scopes: [
      rule.scope
    ]
    evaluationFrequency: rule.frequency
    windowSize: rule.window
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output workbookId string = workbook.id
output actionGroupId string = actionGroup.id
