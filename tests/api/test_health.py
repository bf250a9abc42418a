"""`GET /api/health` answers 200 while storage answers and 503 when it does not, within seconds, and
never waits behind activities."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.durable_http import DurableApi
from tools.harness import Azurite, HostProcess, blob_connection_string, free_port, make_host
from tools.harness.tcp_proxy import TcpProxy

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


def test_health_answers_at_once_while_activities_hold_every_worker_thread(
    azurite: Azurite, hosts: list[HostProcess]
) -> None:
    """The probe runs on the event loop, never queued behind activities in the thread pool (it
    used to wait behind activities stuck in storage retries for 40 s during an outage)."""
    host = make_host(APP, azurite, env={"DurableStorage": azurite.connection_string}).start()
    hosts.append(host)
    api = DurableApi(host.base_url)
    instance_id = api.start_id("hold_every_thread", {"count": 4, "seconds": 8})
    api.wait(instance_id, statuses={"Running"})
    time.sleep(1)  # both activity threads are asleep now, two more activities wait for them
    response = requests.get(f"{host.base_url}/api/health", timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "healthy"}


def test_health_is_503_within_seconds_when_storage_accepts_connections_and_never_answers(
    azurite: Azurite, hosts: list[HostProcess]
) -> None:
    proxy = TcpProxy(azurite.port).start()
    try:
        host = make_host(
            APP,
            azurite,
            env={
                "DurableStorage": azurite.connection_string,
                "AzureWebJobsStorage": blob_connection_string(proxy.port),
            },
        )
        hosts.append(host.start())
        proxy.freeze()
        response = requests.get(f"{host.base_url}/api/health", timeout=10)
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert response.json()["status"] == "unhealthy"
        proxy.restore()
        assert requests.get(f"{host.base_url}/api/health", timeout=10).status_code == 200
    finally:
        proxy.stop()
