"""Driver messaging: route assignments and changes sent to volunteer drivers, once per key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, Protocol

from pydantic import Field

from contracts import ContractModel
from integrations.http_transport import HttpTransport
from integrations.sandbox import SandboxSystem, stable_id

SYSTEM = "driver_messaging"


class DriverNotification(ContractModel):
    """Tell a driver about a route (new, changed or cancelled)."""

    driver_id: Annotated[str, Field(min_length=1, max_length=64)]
    route_id: Annotated[str, Field(min_length=1, max_length=128)]
    kind: Literal["assigned", "changed", "cancelled"]
    stops: list[str] = Field(default_factory=list)


class DriverNotificationReceipt(ContractModel):
    """The dispatch system's id for the notification."""

    notification_id: str
    driver_id: str
    status: Literal["queued", "delivered"]


class DriverMessaging(Protocol):
    """What relief routing needs to reach drivers."""

    def notify(self, notification: DriverNotification, idempotency_key: str) -> DriverNotificationReceipt:
        """Notify once per key."""
        ...


class HttpDriverMessaging:
    """The dispatch API over HTTP (`DRIVER_MESSAGING_BASE_URL`, `..._API_KEY`)."""

    def __init__(self, transport: HttpTransport) -> None:
        self._transport = transport

    def notify(self, notification: DriverNotification, idempotency_key: str) -> DriverNotificationReceipt:
        """POST /notifications with the Idempotency-Key header."""
        body = self._transport.post("notifications", notification.to_dict(), idempotency_key)
        return DriverNotificationReceipt.from_dict(body)


class SandboxDriverMessaging:
    """Driver notifications recorded in Azurite, once per key."""

    def __init__(self, sandbox: SandboxSystem) -> None:
        self.sandbox = sandbox

    @classmethod
    def from_settings(cls, environ: Mapping[str, str] | None = None) -> SandboxDriverMessaging:
        """The sandbox with faults from `SANDBOX_FAULTS_DRIVER_MESSAGING`."""
        return cls(SandboxSystem.from_settings(SYSTEM, environ))

    def notify(self, notification: DriverNotification, idempotency_key: str) -> DriverNotificationReceipt:
        """Record the notification once per key."""

        def respond() -> dict[str, object]:
            return DriverNotificationReceipt(
                notification_id=stable_id("dn", idempotency_key),
                driver_id=notification.driver_id,
                status="queued",
            ).to_dict()

        body = self.sandbox.mutate("notify", idempotency_key, notification.to_dict(), respond)
        return DriverNotificationReceipt.from_dict(body)
