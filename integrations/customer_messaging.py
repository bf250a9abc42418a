"""Customer messaging (email, SMS): one message per key, contact details only inside the call."""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import Field

from contracts import ContractModel
from integrations.http_transport import HttpAdapter
from integrations.sandbox import SandboxAdapter, stable_id

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


class HttpCustomerMessaging(HttpAdapter):
    """The messaging provider over HTTP (`CUSTOMER_MESSAGING_BASE_URL`, `..._API_KEY`)."""

    def send(self, message: CustomerMessage, idempotency_key: str) -> MessageReceipt:
        """POST /messages with the Idempotency-Key header."""
        return self._transport.post_model("messages", message, idempotency_key, MessageReceipt)


class SandboxCustomerMessaging(SandboxAdapter):
    """Messages recorded in Azurite (`SANDBOX_FAULTS_CUSTOMER_MESSAGING`), once per key."""

    system = SYSTEM

    def send(self, message: CustomerMessage, idempotency_key: str) -> MessageReceipt:
        """Record the message once per key."""

        def respond() -> MessageReceipt:
            return MessageReceipt(
                message_id=stable_id("msg", idempotency_key), channel=message.channel, status="queued"
            )

        return self.sandbox.record_once("send", idempotency_key, message, MessageReceipt, respond)
