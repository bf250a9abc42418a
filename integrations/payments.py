"""Payment gateway: refunds, each keyed so that a retried refund never pays twice."""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import Field

from contracts import ContractModel, Money
from integrations.http_transport import HttpAdapter
from integrations.sandbox import SandboxAdapter, stable_id

SYSTEM = "payments"


class RefundRequest(ContractModel):
    """Refund part or all of a charge. `reason` is a code, never free text."""

    payment_reference: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Money
    reason: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]


class RefundReceipt(ContractModel):
    """The gateway's answer; `refund_id` is what the audit packet records."""

    refund_id: str
    payment_reference: str
    amount: Money
    status: Literal["succeeded", "pending", "declined"]


class PaymentGateway(Protocol):
    """What the workflows need from the payment gateway."""

    def refund(self, request: RefundRequest, idempotency_key: str) -> RefundReceipt:
        """Refund; the same key returns the first refund instead of paying again."""
        ...


class HttpPaymentGateway(HttpAdapter):
    """The gateway over HTTP (`PAYMENTS_BASE_URL`, `PAYMENTS_API_KEY`)."""

    def refund(self, request: RefundRequest, idempotency_key: str) -> RefundReceipt:
        """POST /refunds with the Idempotency-Key header."""
        return self._transport.post_model("refunds", request, idempotency_key, RefundReceipt)


class SandboxPaymentGateway(SandboxAdapter):
    """The gateway in Azurite (`SANDBOX_FAULTS_PAYMENTS`): refunds recorded once per key."""

    system = SYSTEM

    def refund(self, request: RefundRequest, idempotency_key: str) -> RefundReceipt:
        """Record the refund once per key; a zero amount is declined."""

        def respond() -> RefundReceipt:
            status: Literal["succeeded", "declined"] = (
                "succeeded" if request.amount.amount > 0 else "declined"
            )
            return RefundReceipt(
                refund_id=stable_id("re", idempotency_key),
                payment_reference=request.payment_reference,
                amount=request.amount,
                status=status,
            )

        return self.sandbox.record_once("refund", idempotency_key, request, RefundReceipt, respond)
