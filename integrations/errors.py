"""How an outside system can fail, as the activities and retry policies see it."""

from __future__ import annotations


class IntegrationError(Exception):
    """A call to an outside system failed. Messages name the system and operation, never payloads."""

    def __init__(self, system: str, message: str) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system


class TransientIntegrationError(IntegrationError):
    """Worth retrying with the same idempotency key: 5xx, 429, connection errors, timeouts."""


class IntegrationTimeoutError(TransientIntegrationError):
    """No answer in time. The call may or may not have taken effect; retry with the same key."""


class IntegrationRejectedError(IntegrationError):
    """The system refused the request (4xx); retrying the same request will not help."""

    def __init__(self, system: str, message: str, status_code: int | None = None) -> None:
        super().__init__(system, message)
        self.status_code = status_code


class ReservationNotFoundError(IntegrationRejectedError):
    """Inventory does not know the reservation key (404): never made, or lost by its storage."""


class IdempotencyKeyReusedError(IntegrationRejectedError):
    """The key was already used for a different request (providers answer 409/422)."""


class IntegrationNotConfiguredError(Exception):
    """App settings do not say which implementation to use, or lack its base URL or secret."""
