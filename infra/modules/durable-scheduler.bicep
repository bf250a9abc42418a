// Durable Task Scheduler backend (deployed only when main.bicep's durableBackend is
// 'DurableTaskScheduler'): one scheduler with one task hub per slot, so production and staging
// never share a hub, exactly as with the Azure Storage provider. The scheduler accepts only
// managed identities (no keys exist).

@description('Azure region of the scheduler; keep it in the app region for latency.')
param location string

@description('Name of the Durable Task Scheduler.')
param name string

@description('Scheduler SKU: Dedicated (2,000 actions/s per capacity unit) or Consumption (up to 500 actions/s).')
@allowed([
  'Dedicated'
  'Consumption'
])
param skuName string = 'Dedicated'

@description('Capacity units for the Dedicated SKU (1-3); ignored by Consumption.')
@minValue(1)
@maxValue(3)
param capacity int = 1

@description('Task hub used by the production slot; must equal its TASKHUB_NAME.')
param productionTaskHubName string

@description('Task hub used by the staging slot; must equal its TASKHUB_NAME.')
param stagingTaskHubName string

@description('CIDR ranges allowed to reach the scheduler endpoint; an empty list denies all traffic.')
param ipAllowlist array = [
  '0.0.0.0/0'
]

@description('Tags applied to every resource.')
param tags object

// Two variables because pycep 0.5.1 cannot parse a multi-line object inside a ternary.
var dedicatedSku = {
  name: 'Dedicated'
  capacity: capacity
}
var consumptionSku = {
  name: 'Consumption'
}

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: skuName == 'Dedicated' ? dedicatedSku : consumptionSku
    ipAllowlist: ipAllowlist
  }
}

resource productionHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: productionTaskHubName
  properties: {}
}

resource stagingHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: stagingTaskHubName
  properties: {}
}

output id string = scheduler.id
output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output productionTaskHubName string = productionHub.name
output stagingTaskHubName string = stagingHub.name
