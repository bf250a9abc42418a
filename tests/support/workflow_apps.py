"""The per-workflow test apps (`tests/<workflow>/app/function_app.py`): one reference workflow and
the shared parts its tests need, so those tests run apart from the other workflows.

The apps import this module from the repository root, which the harness puts on the host's
PYTHONPATH (as it does for the app's own packages).
"""

import azure.durable_functions as df
import azure.functions as func

from activities.audit_seal import bp as audit_seal_bp
from activities.personal_data import bp as personal_data_activities_bp
from api.audit import bp as audit_api_bp
from api.sandbox_view import bp as sandbox_view_bp
from orchestrators.personal_data_retention import bp as personal_data_retention_bp
from telemetry import configure_telemetry
from workflow_catalogue import Workflow


def workflow_test_app(
    workflow: Workflow,
    *,
    personal_data_retention: bool,
    http_auth_level: func.AuthLevel = func.AuthLevel.FUNCTION,
) -> df.DFApp:
    """An app with `workflow`'s orchestrator, activities and API, the audit seal and its API, the
    sandbox view and, if asked, the personal-data retention sweep (telemetry configured first)."""
    configure_telemetry()
    app = df.DFApp(http_auth_level=http_auth_level)
    for blueprint in workflow.blueprints():
        app.register_functions(blueprint)
    app.register_functions(audit_seal_bp)  # every workflow's last step seals its audit packet
    app.register_functions(audit_api_bp)
    app.register_functions(sandbox_view_bp)
    if personal_data_retention:
        app.register_functions(personal_data_retention_bp)
        app.register_functions(personal_data_activities_bp)
    return app
