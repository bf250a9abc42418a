// A user-assigned identity for ONE slot: main.bicep creates one for the production site and one for
// the staging slot, each attached only to its slot and granted only its slot's data
// (modules/rbac.bicep), so code running in staging cannot read or write production's effects.

@description('Azure region of the identity.')
param location string

@description('Name of the user-assigned managed identity.')
param name string

@description('Tags applied to every resource.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
