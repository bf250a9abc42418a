"""Test app of the maintenance order workflow: only its blueprints (and the sandbox view).

Keeps these tests independent of the other workflows while they are built; the last test of
tests/maintenance_order runs the happy path on the root app as well.
"""

import azure.durable_functions as df

from activities.audit_seal import bp as audit_seal_bp
from activities.maintenance_order import bp as maintenance_order_activities
from api.audit import bp as audit_api_bp
from api.maintenance_order import bp as maintenance_order_api
from integrations.sandbox_view import bp as sandbox_view_bp
from orchestrators.maintenance_order import bp as maintenance_order_orchestrator
from telemetry import configure_telemetry

configure_telemetry()
app = df.DFApp()
app.register_functions(maintenance_order_orchestrator)
app.register_functions(maintenance_order_activities)
app.register_functions(maintenance_order_api)
app.register_functions(audit_seal_bp)  # every workflow's last step seals its audit packet
app.register_functions(audit_api_bp)
app.register_functions(sandbox_view_bp)
