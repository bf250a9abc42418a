"""Outside systems behind small interfaces, one module per system, each with an HTTP implementation
for real deployments and a sandbox (state in Azurite) for local runs and tests.

Activities call `integrations_from_settings()` per invocation and use the interface they need, e.g.
`integrations_from_settings().payments.refund(request, idempotency_key=key)`.
"""

from integrations.errors import (
    IdempotencyKeyReusedError,
    IntegrationError,
    IntegrationNotConfiguredError,
    IntegrationRejectedError,
    IntegrationTimeoutError,
    ReservationNotFoundError,
    TransientIntegrationError,
)
from integrations.selection import (
    Integrations,
    integration_mode,
    integrations_from_settings,
    sandbox_selected,
)

__all__ = [
    "IdempotencyKeyReusedError",
    "IntegrationError",
    "IntegrationNotConfiguredError",
    "IntegrationRejectedError",
    "IntegrationTimeoutError",
    "Integrations",
    "ReservationNotFoundError",
    "TransientIntegrationError",
    "integration_mode",
    "integrations_from_settings",
    "sandbox_selected",
]
