"""devhost: a local stand-in for the Azure Functions host and the Durable Task extension.

It loads any Python v2-model Functions app, serves its HTTP functions and the Durable HTTP API,
and runs orchestrations, activities and entities through the real `azure-functions-durable` SDK,
persisting in Azure Blob Storage (Azurite). Production runs on Azure Functions; this is for local
runs and tests, the way Azurite stands in for Azure Storage.
"""
