"""Test app of the maintenance order workflow: only its blueprints (and the sandbox view).

Keeps these tests independent of the other workflows while they are built; the last test of
tests/maintenance_order runs the happy path on the root app as well.

One test-only addition: with `AUDIT_SEAL_TEST_PAUSE_MARKER` set, the first sealed packet the process
writes is followed by a pause of `AUDIT_SEAL_TEST_PAUSE_SECONDS` before the seal activity returns,
so a test can kill -9 the host between the packet write and the activity's completion. The marker
file makes only the first seal pause, not the one after the restart.
"""

import os
import time
from pathlib import Path

import azure.durable_functions as df

from activities.audit_seal import bp as audit_seal_bp
from activities.maintenance_order import bp as maintenance_order_activities
from activities.personal_data import bp as personal_data_activities
from api.audit import bp as audit_api_bp
from api.maintenance_order import bp as maintenance_order_api
from api.sandbox_view import bp as sandbox_view_bp
from audit_packets.sealed_store import SealedStore, StoredBlob
from orchestrators.maintenance_order import bp as maintenance_order_orchestrator
from orchestrators.personal_data_retention import bp as personal_data_retention
from telemetry import configure_telemetry

configure_telemetry()
app = df.DFApp()
app.register_functions(maintenance_order_orchestrator)
app.register_functions(maintenance_order_activities)
app.register_functions(maintenance_order_api)
app.register_functions(audit_seal_bp)  # every workflow's last step seals its audit packet
app.register_functions(audit_api_bp)
app.register_functions(sandbox_view_bp)
app.register_functions(personal_data_retention)
app.register_functions(personal_data_activities)

_SEAL_PAUSE_MARKER = os.environ.get("AUDIT_SEAL_TEST_PAUSE_MARKER", "")
if _SEAL_PAUSE_MARKER:
    _create = SealedStore.create

    def _create_then_pause(self: SealedStore, name: str, content: bytes, content_type: str) -> StoredBlob:
        stored = _create(self, name, content, content_type)
        marker = Path(_SEAL_PAUSE_MARKER)
        if name.endswith("/audit-packet.json") and not marker.exists():
            marker.touch()
            time.sleep(float(os.environ.get("AUDIT_SEAL_TEST_PAUSE_SECONDS", "30")))
        return stored

    SealedStore.create = _create_then_pause  # type: ignore[method-assign]
