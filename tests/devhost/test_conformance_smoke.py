"""Harness smoke tests: the conformance app starts and a hello sequence runs end to end."""

from __future__ import annotations

import requests

from tests.support.durable_http import DurableApi


def test_hello_sequence_through_python_client_starter(api: DurableApi, base_url: str) -> None:
    response = requests.post(f"{base_url}/api/start/hello_sequence", timeout=30)
    assert response.status_code == 202, response.text
    instance_id = response.json()["id"]
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Tokyo", "Hello Paris"]
