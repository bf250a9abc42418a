"""The Functions app: registration only. Each workflow lives in its own blueprint modules.

The reference workflows come from the workflow catalogue (workflow_catalogue.py): each registers its
orchestrator, activities and API blueprints. The rest are the app's shared parts.
"""

import azure.durable_functions as df

from activities.audit_seal import bp as audit_seal_bp
from activities.personal_data import bp as personal_data_activities_bp
from api.audit import bp as audit_api_bp
from api.health import bp as health_bp
from api.openapi import bp as openapi_bp
from api.sandbox_view import bp as sandbox_view_bp
from console.routes import bp as console_bp
from integrations import sandbox_selected
from orchestrators.personal_data_retention import bp as personal_data_retention_bp
from telemetry import configure_telemetry
from workflow_catalogue import WORKFLOWS

configure_telemetry()
app = df.DFApp()
app.register_functions(health_bp)
for workflow in WORKFLOWS:
    for blueprint in workflow.blueprints():
        app.register_functions(blueprint)
app.register_functions(audit_seal_bp)
app.register_functions(audit_api_bp)
app.register_functions(personal_data_retention_bp)
app.register_functions(personal_data_activities_bp)
app.register_functions(openapi_bp)
app.register_functions(console_bp)

# The read-only sandbox view is served only where the sandboxes are selected (INTEGRATIONS_MODE),
# never in a deployment that talks to real systems.
if sandbox_selected():
    app.register_functions(sandbox_view_bp)
