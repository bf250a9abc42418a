"""Relief routing test app: only the relief routing blueprints (and the sandbox view), so these
tests run isolated from the other workflows while those are being built."""

import azure.durable_functions as df

from activities.audit_seal import bp as audit_seal_bp
from activities.relief_routing import bp as relief_routing_activities_bp
from api.audit import bp as audit_api_bp
from api.relief_routing import bp as relief_routing_api_bp
from api.sandbox_view import bp as sandbox_view_bp
from orchestrators.relief_routing import bp as relief_routing_bp
from telemetry import configure_telemetry

configure_telemetry()
app = df.DFApp()
app.register_functions(relief_routing_bp)
app.register_functions(relief_routing_activities_bp)
app.register_functions(relief_routing_api_bp)
app.register_functions(audit_seal_bp)  # every workflow's last step seals its audit packet
app.register_functions(audit_api_bp)
app.register_functions(sandbox_view_bp)
