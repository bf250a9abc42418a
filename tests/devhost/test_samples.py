"""The devhost runs an app it was not written for: the classic Durable Functions patterns.

The app (tests/devhost/apps/samples) is written like the official v2-model samples; every test
starts through the app's own HTTP starter and reads results through the management URLs it gets
back, as a user of `func start` would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from durable_wire import TERMINAL_STATUSES
from tests.support.durable_http import DurableApi
from tools.harness import Azurite, HostProcess, make_host

APP = Path(__file__).parent / "apps" / "samples"


@pytest.fixture(scope="module")
def samples_host(azurite: Azurite) -> Iterator[HostProcess]:
    host = make_host(APP, azurite).start()
    yield host
    host.stop()


def start(host: HostProcess, name: str, body: Any = None) -> dict[str, Any]:
    response = requests.post(f"{host.base_url}/api/orchestrators/{name}", json=body, timeout=30)
    assert response.status_code == 202, response.text
    urls: dict[str, Any] = response.json()
    assert response.headers["Location"] == urls["statusQueryGetUri"]
    return urls


def wait_output(urls: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = requests.get(urls["statusQueryGetUri"], timeout=30)
        body: dict[str, Any] = response.json()
        if body["runtimeStatus"] in TERMINAL_STATUSES:
            return body
        time.sleep(0.05)
    raise AssertionError(f"{urls['id']} did not finish")


def test_function_chaining(samples_host: HostProcess) -> None:
    status = wait_output(start(samples_host, "hello_orchestrator"))
    assert status["output"] == ["Hello Seattle", "Hello Tokyo", "Hello London"]


def test_fan_out_fan_in(samples_host: HostProcess) -> None:
    status = wait_output(start(samples_host, "backup_site_content", 20))
    assert status["output"] == sum(len(f"file-{i}.txt") for i in range(20))


def test_human_interaction_approved(samples_host: HostProcess) -> None:
    urls = start(samples_host, "approval_workflow", {"timeoutSeconds": 60})
    DurableApi(samples_host.base_url).wait(urls["id"], statuses={"Running"})
    response = requests.post(
        f"{samples_host.base_url}/api/approve/{urls['id']}", json={"approver": "Ada"}, timeout=30
    )
    assert response.status_code == 202
    assert wait_output(urls)["output"] == "Approved by Ada"


def test_human_interaction_times_out(samples_host: HostProcess) -> None:
    status = wait_output(start(samples_host, "approval_workflow", {"timeoutSeconds": 1}))
    assert status["output"] == "Escalated: timed out"


def test_monitor_polls_until_done(samples_host: HostProcess) -> None:
    status = wait_output(start(samples_host, "monitor_job", {"id": "job-1", "intervalSeconds": 0.3}))
    assert status["output"] == {"polls": 3}


def test_eternal_orchestration_continues_as_new(samples_host: HostProcess) -> None:
    urls = start(samples_host, "periodic_cleanup", 0)
    status = wait_output(urls)
    assert status["output"] == "stopped after round 3"
    assert status["input"] == "3", "the last execution's input is the continue-as-new input"


def test_sub_orchestrations(samples_host: HostProcess) -> None:
    status = wait_output(start(samples_host, "provision_devices", ["x", "y"]))
    assert status["output"] == [
        {"device": "x", "key": "key-x", "parent": True},
        {"device": "y", "key": "key-y", "parent": True},
    ]


def test_retries_until_success(samples_host: HostProcess) -> None:
    status = wait_output(start(samples_host, "flaky_work"))
    assert status["output"] == "succeeded on attempt 3"


def test_entities_signal_call_and_read(samples_host: HostProcess) -> None:
    status = wait_output(start(samples_host, "counter_orchestration", "sample-counter"))
    assert status["output"] == 7
    state = requests.get(f"{samples_host.base_url}/api/counter/sample-counter", timeout=30).json()
    assert state == {"exists": True, "value": 7}
