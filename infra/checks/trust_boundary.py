"""What the trust boundary between the slots forbids and requires, read by the custom checks here
(least_privilege.py, on the Bicep) and by the release preflight (ops/preflight.py, on the deployed
app): one list each, so the template gate and the live check cannot drift apart.

Standard library only: checkov loads this directory in its own venv, the preflight in the app's.
"""

from __future__ import annotations

# Roles that grant control of the data or of the access to it: no app identity may hold one.
OWNER_CLASS_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
}
# Settings that must stay with their slot on a swap: they name the slot's own identity, its task
# hub (and so its containers) and whether it talks to real outside systems
# (infra/modules/functionapp.bicep).
STICKY_SETTINGS = (
    "TASKHUB_NAME",
    "INTEGRATIONS_MODE",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID",
    "AUDIT_STORAGE__clientId",
    "AUDIT_SIGNING_KEY__clientId",
)
