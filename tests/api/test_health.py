"""`GET /api/health` answers 200 while storage answers and 503 when it does not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.processes import Azurite, HostProcess, free_port, make_host

APP = Path(__file__).parent / "app"


@pytest.fixture
def hosts(azurite: Azurite) -> Iterator[list[HostProcess]]:
    started: list[HostProcess] = []
    yield started
    for host in started:
        host.stop()


def test_health_is_200_when_storage_answers(azurite: Azurite, hosts: list[HostProcess]) -> None:
    host = make_host(APP, azurite, env={"DurableStorage": azurite.connection_string}).start()
    hosts.append(host)
    response = requests.get(f"{host.base_url}/api/health", timeout=30)
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


def test_health_is_503_when_storage_is_unreachable(azurite: Azurite, hosts: list[HostProcess]) -> None:
    # The host keeps its durable store on Azurite (host.json connectionName); the app's storage
    # setting points at a port where nothing listens.
    nowhere = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"BlobEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"
    )
    host = make_host(
        APP, azurite, env={"DurableStorage": azurite.connection_string, "AzureWebJobsStorage": nowhere}
    )
    hosts.append(host.start())
    response = requests.get(f"{host.base_url}/api/health", timeout=60)
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
