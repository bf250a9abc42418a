"""Payment gateway: refunds, each keyed so that a retried refund never pays twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, Protocol

from pydantic import Field

from contracts import ContractModel, Money
from integrations.http_transport import HttpTransport
from integrations.sandbox import SandboxSystem, stable_id

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


class HttpPaymentGateway:
    """The gateway over HTTP (`PAYMENTS_BASE_URL`, `PAYMENTS_API_KEY`)."""

    def __init__(self, transport: HttpTransport) -> None:
        self._transport = transport

    def refund(self, request: RefundRequest, idempotency_key: str) -> RefundReceipt:
        """POST /refunds with the Idempotency-Key header."""
        return RefundReceipt.from_dict(self._transport.post("refunds", request.to_dict(), idempotency_key))


class SandboxPaymentGateway:
    """The gateway in Azurite: refunds recorded once per key."""

    def __init__(self, sandbox: SandboxSystem) -> None:
        self.sandbox = sandbox

    @classmethod
    def from_settings(cls, environ: Mapping[str, str] | None = None) -> SandboxPaymentGateway:
        """The sandbox with faults from `SANDBOX_FAULTS_PAYMENTS`."""
        return cls(SandboxSystem.from_settings(SYSTEM, environ))

    def refund(self, request: RefundRequest, idempotency_key: str) -> RefundReceipt:
        """Record the refund once per key; a zero amount is declined."""

        def respond() -> dict[str, object]:
            status: Literal["succeeded", "declined"] = (
                "succeeded" if request.amount.amount > 0 else "declined"
            )
            return RefundReceipt(
                refund_id=stable_id("re", idempotency_key),
                payment_reference=request.payment_reference,
                amount=request.amount,
                status=status,
            ).to_dict()

        return RefundReceipt.from_dict(
            self.sandbox.mutate("refund", idempotency_key, request.to_dict(), respond)
        )
