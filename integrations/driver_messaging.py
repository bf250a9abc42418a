"""Driver messaging: route assignments and changes sent to volunteer drivers, once per key."""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import Field

from contracts import ContractModel
from integrations.http_transport import HttpAdapter
from integrations.sandbox import SandboxAdapter, stable_id

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


class HttpDriverMessaging(HttpAdapter):
    """The dispatch API over HTTP (`DRIVER_MESSAGING_BASE_URL`, `..._API_KEY`)."""

    def notify(self, notification: DriverNotification, idempotency_key: str) -> DriverNotificationReceipt:
        """POST /notifications with the Idempotency-Key header."""
        return self._transport.post_model(
            "notifications", notification, idempotency_key, DriverNotificationReceipt
        )


class SandboxDriverMessaging(SandboxAdapter):
    """Driver notifications recorded in Azurite (`SANDBOX_FAULTS_DRIVER_MESSAGING`), once per key."""

    system = SYSTEM

    def notify(self, notification: DriverNotification, idempotency_key: str) -> DriverNotificationReceipt:
        """Record the notification once per key."""

        def respond() -> DriverNotificationReceipt:
            return DriverNotificationReceipt(
                notification_id=stable_id("dn", idempotency_key),
                driver_id=notification.driver_id,
                status="queued",
            )

        return self.sandbox.record_once(
            "notify", idempotency_key, notification, DriverNotificationReceipt, respond
        )
