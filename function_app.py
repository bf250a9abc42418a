"""The Functions app: registration only. Each workflow lives in its own blueprint module."""

import azure.durable_functions as df

from activities.audit_seal import bp as audit_seal_bp
from activities.fare_dispute import bp as fare_dispute_activities_bp
from activities.maintenance_order import bp as maintenance_order_activities_bp
from activities.personal_data import bp as personal_data_activities_bp
from activities.relief_routing import bp as relief_routing_activities_bp
from api.audit import bp as audit_api_bp
from api.fare_dispute import bp as fare_dispute_api_bp
from api.health import bp as health_bp
from api.maintenance_order import bp as maintenance_order_api_bp
from api.openapi import bp as openapi_bp
from api.relief_routing import bp as relief_routing_api_bp
from console.routes import bp as console_bp
from integrations import sandbox_selected
from integrations.sandbox_view import bp as sandbox_view_bp
from orchestrators.fare_dispute import bp as fare_dispute_bp
from orchestrators.maintenance_order import bp as maintenance_order_bp
from orchestrators.personal_data_retention import bp as personal_data_retention_bp
from orchestrators.relief_routing import bp as relief_routing_bp
from telemetry import configure_telemetry

configure_telemetry()
app = df.DFApp()
app.register_functions(health_bp)
app.register_functions(maintenance_order_bp)
app.register_functions(maintenance_order_activities_bp)
app.register_functions(maintenance_order_api_bp)
app.register_functions(relief_routing_bp)
app.register_functions(relief_routing_activities_bp)
app.register_functions(relief_routing_api_bp)
app.register_functions(fare_dispute_bp)
app.register_functions(fare_dispute_activities_bp)
app.register_functions(fare_dispute_api_bp)
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
