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

from audit_packets.sealed_store import SealedStore, StoredBlob
from tests.support.workflow_apps import workflow_test_app
from workflow_catalogue import MAINTENANCE_ORDER

app = workflow_test_app(MAINTENANCE_ORDER, personal_data_retention=True)

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
