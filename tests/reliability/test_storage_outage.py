"""The app's HTTP API during a storage outage: 503 with Retry-After within seconds, never a hang or
a 500; when storage is back, the workflows finish with each effect once.

The root app on a devhost whose storage (the task hub, and the app's own ledger, claim-check,
sandboxes and inventory) sits behind a loopback proxy the test cuts off (tools/harness/tcp_proxy.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.support.identity import APPROVER, READER, SUBMITTER, Tokens
from tools.clients import maintenance_order_body, relief_request_body
from tools.harness import REPO_ROOT, Azurite, HostProcess, blob_connection_string, make_host
from tools.harness.polling import wait_until
from tools.harness.tcp_proxy import TcpProxy

ANSWER_WITHIN_SECONDS = 12  # a client that waits longer saw a hang


@pytest.fixture
def outage_host(azurite: Azurite, tmp_path: Any) -> Iterator[tuple[HostProcess, TcpProxy]]:
    proxy = TcpProxy(azurite.port).start()
    env = {
        "AzureWebJobsStorage": blob_connection_string(proxy.port),
        "STORAGE_CONTAINER_PREFIX": f"so{uuid.uuid4().hex[:10]}",
        "INTEGRATIONS_MODE": "sandbox",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    host = make_host(REPO_ROOT, azurite, virtual_clock=True, env=env, easy_auth=True).start()
    yield host, proxy
    host.stop()
    proxy.stop()


def timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_requests_during_a_storage_outage_answer_503_within_seconds_then_the_work_finishes(
    outage_host: tuple[HostProcess, TcpProxy],
) -> None:
    host, proxy = outage_host
    base = f"{host.base_url}/api"
    # Sessions are made before the outage (signing in needs no storage, but keep the calls simple).
    tokens = Tokens(host.base_url)
    submitter, approver, reader = (tokens.headers(p) for p in (SUBMITTER, APPROVER, READER))
    order_id = f"so-{uuid.uuid4().hex[:6]}"
    assert (
        requests.post(
            f"{base}/maintenance-orders",
            json=maintenance_order_body(order_id),
            headers=submitter,
            timeout=30,
        ).status_code
        == 202
    )
    wait_until(
        lambda: (
            requests.get(f"{base}/maintenance-orders/{order_id}", headers=reader, timeout=30)
            .json()
            .get("stage")
            == "awaiting_approval"
        ),
        60,
        "the order to wait for its approval",
    )

    proxy.cut()
    calls: dict[str, Callable[[], requests.Response]] = {
        "start": lambda: requests.post(
            f"{base}/maintenance-orders",
            json=maintenance_order_body(f"{order_id}-b"),
            headers=submitter,
            timeout=60,
        ),
        "approve": lambda: requests.post(
            f"{base}/maintenance-orders/{order_id}/approval",
            json={"approved": True, "comment": "during the outage"},
            headers=approver,
            timeout=60,
        ),
        "relief": lambda: requests.post(
            f"{base}/relief-requests",
            json=relief_request_body(f"r{order_id}", {"shelter-bayview-school": {"water": 1}}),
            headers=submitter,
            timeout=60,
        ),
        "inventory": lambda: requests.get(f"{base}/inventory", headers=reader, timeout=60),
        "audit": lambda: requests.get(
            f"{base}/maintenance-orders/{order_id}/audit", headers=reader, timeout=60
        ),
        "health": lambda: requests.get(f"{base}/health", timeout=60),
    }
    for name, call in calls.items():
        response, seconds = timed(call)
        assert response.status_code == 503, (name, response.status_code, response.text)
        assert response.headers.get("Retry-After") == "5", name
        assert seconds < ANSWER_WITHIN_SECONDS, (name, seconds)
    status = requests.get(f"{base}/maintenance-orders/{order_id}", headers=reader, timeout=30)
    assert status.status_code == 200 and status.json()["stage"] == "awaiting_approval", (
        "status comes from memory"
    )

    proxy.restore()
    wait_until(lambda: requests.get(f"{base}/health", timeout=30).status_code == 200, 60, "storage back")
    approval = requests.post(
        f"{base}/maintenance-orders/{order_id}/approval",
        json={"approved": True},
        headers=approver,
        timeout=30,
    )
    assert approval.status_code in (202, 409), approval.text  # 409: the 503'd approval landed first
    wait_until(
        lambda: (
            requests.get(f"{base}/maintenance-orders/{order_id}", headers=reader, timeout=30)
            .json()
            .get("runtimeStatus")
            == "Completed"
        ),
        60,
        "the order to finish",
    )
    finished = requests.get(f"{base}/maintenance-orders/{order_id}", headers=reader, timeout=30).json()
    assert finished["outcome"] == "released"
    certificates = [
        effect
        for effect in requests.get(f"{base}/sandbox/documents", headers=reader, timeout=30).json()["effects"]
        if effect["idempotencyKey"] == f"maintenance-{order_id}:release_certificate"
    ]
    assert len(certificates) == 1
