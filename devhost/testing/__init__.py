"""Test your Durable Functions Python app on a real local host (docs/testing-your-app.md).

    from devhost.testing import DevHost

    with DevHost("path/to/app", virtual_clock=True, clock_start="2026-03-02T09:00:00Z") as host:
        instance_id = host.start_orchestration("approval", {"amount": 120})
        host.advance_clock(days=3)
        host.wait_for(instance_id, "Completed")

The app runs in a devhost process (its code in a language-worker process of its own, as on
Azure), on Azurite, through the real `azure-functions-durable` SDK. With pytest, the plugin gives
the same through fixtures (`devhost`, `devhost_factory`, `devhost_azurite`).
"""

from devhost.testing.azurite import (
    Azurite,
    AzuriteNotFoundError,
    blob_connection_string,
    find_azurite,
    free_port,
    wait_for_port,
)
from devhost.testing.client import DurableHostError, HostClient
from devhost.testing.host import DevHost, DevHostStartError
from durable_wire import TERMINAL_STATUSES

__all__ = [
    "TERMINAL_STATUSES",
    "Azurite",
    "AzuriteNotFoundError",
    "DevHost",
    "DevHostStartError",
    "DurableHostError",
    "HostClient",
    "blob_connection_string",
    "find_azurite",
    "free_port",
    "wait_for_port",
]
