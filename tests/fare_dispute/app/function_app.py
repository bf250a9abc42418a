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

import azure.durable_functions as df
import azure.functions as func

from activities.audit_seal import bp as audit_seal_bp
from activities.fare_dispute import bp as fare_dispute_activities_bp
from activities.personal_data import bp as personal_data_activities_bp
from api.audit import bp as audit_api_bp
from api.fare_dispute import bp as fare_dispute_api_bp
from api.sandbox_view import bp as sandbox_view_bp
from integrations.payments import RefundReceipt, RefundRequest, SandboxPaymentGateway
from orchestrators.fare_dispute import bp as fare_dispute_bp
from orchestrators.personal_data_retention import bp as personal_data_retention_bp
from telemetry import configure_telemetry

configure_telemetry()
app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(fare_dispute_bp)
app.register_functions(fare_dispute_activities_bp)
app.register_functions(fare_dispute_api_bp)
app.register_functions(audit_seal_bp)  # every workflow's last step seals its audit packet
app.register_functions(audit_api_bp)
app.register_functions(sandbox_view_bp)
app.register_functions(personal_data_retention_bp)
app.register_functions(personal_data_activities_bp)

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
