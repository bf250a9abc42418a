"""Fare dispute test app: only the fare dispute blueprints (and the sandbox view), so these tests
run apart from the other workflows.

One test-only addition: with `FARE_DISPUTE_TEST_PAUSE_MARKER` set, the first sandbox refund of the
process pauses `FARE_DISPUTE_TEST_PAUSE_SECONDS` after the gateway recorded it and before the
effect ledger records it, so a test can kill -9 the host in exactly that window. The marker file
makes only the first delivery pause, not the one after the restart.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import azure.functions as func

from integrations.payments import RefundReceipt, RefundRequest, SandboxPaymentGateway
from tests.support.workflow_apps import workflow_test_app
from workflow_catalogue import FARE_DISPUTE

app = workflow_test_app(FARE_DISPUTE, personal_data_retention=True, http_auth_level=func.AuthLevel.ANONYMOUS)

_PAUSE_MARKER = os.environ.get("FARE_DISPUTE_TEST_PAUSE_MARKER", "")
if _PAUSE_MARKER:
    _sandbox_refund = SandboxPaymentGateway.refund

    def _refund_then_pause(
        self: SandboxPaymentGateway, request: RefundRequest, idempotency_key: str
    ) -> RefundReceipt:
        receipt = _sandbox_refund(self, request, idempotency_key)
        marker = Path(_PAUSE_MARKER)
        if not marker.exists():
            marker.touch()
            time.sleep(float(os.environ.get("FARE_DISPUTE_TEST_PAUSE_SECONDS", "30")))
        return receipt

    SandboxPaymentGateway.refund = _refund_then_pause  # type: ignore[method-assign]
