"""The one place that picks each outside system's implementation from app settings.

`INTEGRATIONS_MODE` is `sandbox` (state in Azurite, see integrations/sandbox.py) or `http` (the real
systems, configured per system by `<SYSTEM>_BASE_URL` / `<SYSTEM>_API_KEY`). Unset means `sandbox`
on a developer machine, but in Azure (where `WEBSITE_INSTANCE_ID` is set) an unset mode is an
error: a deployment must say which systems it talks to and never falls back to the sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from integrations.customer_messaging import CustomerMessaging, HttpCustomerMessaging, SandboxCustomerMessaging
from integrations.documents import DocumentStore, HttpDocumentStore, SandboxDocumentStore
from integrations.donor_portal import DonorPortal, HttpDonorPortal, SandboxDonorPortal
from integrations.driver_messaging import DriverMessaging, HttpDriverMessaging, SandboxDriverMessaging
from integrations.errors import IntegrationNotConfiguredError
from integrations.http_transport import HttpTransport
from integrations.inventory import HttpInventoryStore, InventoryStore, SandboxInventoryStore
from integrations.payments import HttpPaymentGateway, PaymentGateway, SandboxPaymentGateway
from integrations.sandbox import SandboxSystem
from integrations.suppliers import HttpSupplierApi, SandboxSupplierApi, SupplierApi

MODE_SETTING = "INTEGRATIONS_MODE"
AZURE_MARKER_SETTING = "WEBSITE_INSTANCE_ID"
IntegrationMode = Literal["sandbox", "http"]
SYSTEMS = (
    "suppliers",
    "documents",
    "payments",
    "customer_messaging",
    "driver_messaging",
    "donor_portal",
    "inventory",
)


def integration_mode(environ: Mapping[str, str] | None = None) -> IntegrationMode:
    """`sandbox` or `http` from `INTEGRATIONS_MODE` (unset: sandbox locally, an error in Azure)."""
    env = os.environ if environ is None else environ
    mode = env.get(MODE_SETTING, "").strip().lower()
    if not mode:
        if env.get(AZURE_MARKER_SETTING):
            raise IntegrationNotConfiguredError(
                f"set {MODE_SETTING} to 'http' (or 'sandbox' for a test slot)"
            )
        return "sandbox"
    if mode == "sandbox":
        return "sandbox"
    if mode == "http":
        return "http"
    raise IntegrationNotConfiguredError(f"{MODE_SETTING} must be 'sandbox' or 'http', not {mode!r}")


def sandbox_selected(environ: Mapping[str, str] | None = None) -> bool:
    """True only when the sandboxes are explicitly or locally selected (never on a misconfiguration)."""
    try:
        return integration_mode(environ) == "sandbox"
    except IntegrationNotConfiguredError:
        return False


@dataclass(frozen=True)
class Integrations:
    """Every outside system the workflows use."""

    suppliers: SupplierApi
    documents: DocumentStore
    payments: PaymentGateway
    customer_messaging: CustomerMessaging
    driver_messaging: DriverMessaging
    donor_portal: DonorPortal
    inventory: InventoryStore


def integrations_from_settings(environ: Mapping[str, str] | None = None) -> Integrations:
    """Build the implementations chosen by `INTEGRATIONS_MODE`; resolve per invocation."""
    env = os.environ if environ is None else environ
    if integration_mode(env) == "sandbox":
        return Integrations(
            suppliers=SandboxSupplierApi.from_settings(env),
            documents=SandboxDocumentStore.from_settings(env),
            payments=SandboxPaymentGateway.from_settings(env),
            customer_messaging=SandboxCustomerMessaging.from_settings(env),
            driver_messaging=SandboxDriverMessaging.from_settings(env),
            donor_portal=SandboxDonorPortal.from_settings(env),
            inventory=SandboxInventoryStore.from_settings(env),
        )

    def transport(system: str) -> HttpTransport:
        return HttpTransport.from_settings(system, env)

    return Integrations(
        suppliers=HttpSupplierApi(transport("suppliers")),
        documents=HttpDocumentStore(transport("documents")),
        payments=HttpPaymentGateway(transport("payments")),
        customer_messaging=HttpCustomerMessaging(transport("customer_messaging")),
        driver_messaging=HttpDriverMessaging(transport("driver_messaging")),
        donor_portal=HttpDonorPortal(transport("donor_portal")),
        inventory=HttpInventoryStore(transport("inventory")),
    )


def sandbox_system(system: str, environ: Mapping[str, str] | None = None) -> SandboxSystem:
    """The sandbox state of one system (for the read-only view and tests)."""
    if system not in SYSTEMS:
        raise KeyError(system)
    return SandboxSystem.from_settings(system, environ)
