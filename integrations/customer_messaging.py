"""Customer messaging (email, SMS): one message per key, contact details only inside the call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, Protocol

from pydantic import Field

from contracts import ContractModel
from integrations.http_transport import HttpTransport
from integrations.sandbox import SandboxSystem, stable_id

SYSTEM = "customer_messaging"


class CustomerMessage(ContractModel):
    """A templated message. `to` is an address or phone number: keep it out of history and logs."""

    channel: Literal["email", "sms"]
    to: Annotated[str, Field(min_length=3, max_length=320)]
    template: Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,64}$")]
    parameters: dict[str, str] = Field(default_factory=dict)


class MessageReceipt(ContractModel):
    """The provider's id for the message."""

    message_id: str
    channel: Literal["email", "sms"]
    status: Literal["queued", "sent"]


class CustomerMessaging(Protocol):
    """What the workflows need to tell customers."""

    def send(self, message: CustomerMessage, idempotency_key: str) -> MessageReceipt:
        """Send once per key."""
        ...


class HttpCustomerMessaging:
    """The messaging provider over HTTP (`CUSTOMER_MESSAGING_BASE_URL`, `..._API_KEY`)."""

    def __init__(self, transport: HttpTransport) -> None:
        self._transport = transport

    def send(self, message: CustomerMessage, idempotency_key: str) -> MessageReceipt:
        """POST /messages with the Idempotency-Key header."""
        return MessageReceipt.from_dict(self._transport.post("messages", message.to_dict(), idempotency_key))


class SandboxCustomerMessaging:
    """Messages recorded in Azurite, once per key."""

    def __init__(self, sandbox: SandboxSystem) -> None:
        self.sandbox = sandbox

    @classmethod
    def from_settings(cls, environ: Mapping[str, str] | None = None) -> SandboxCustomerMessaging:
        """The sandbox with faults from `SANDBOX_FAULTS_CUSTOMER_MESSAGING`."""
        return cls(SandboxSystem.from_settings(SYSTEM, environ))

    def send(self, message: CustomerMessage, idempotency_key: str) -> MessageReceipt:
        """Record the message once per key."""

        def respond() -> dict[str, object]:
            receipt = MessageReceipt(
                message_id=stable_id("msg", idempotency_key), channel=message.channel, status="queued"
            )
            return receipt.to_dict()

        return MessageReceipt.from_dict(
            self.sandbox.mutate("send", idempotency_key, message.to_dict(), respond)
        )
