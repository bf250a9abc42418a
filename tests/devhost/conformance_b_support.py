"""Helpers shared by the conformance tests for items 36-70 (tests/devhost/test_c*.py)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import requests

from tests.devhost.conformance_a import started_running
from tests.support.durable_http import DurableApi

STATUS_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
STATUS_KEYS = {
    "name",
    "instanceId",
    "runtimeStatus",
    "input",
    "customStatus",
    "output",
    "createdTime",
    "lastUpdatedTime",
}


def unique(prefix: str) -> str:
    """A URL-safe instance id / entity key that no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def client_call(base_url: str, operation: str, **args: Any) -> dict[str, Any]:
    """Run a DurableOrchestrationClient method inside the app (core.py `client_gateway`)."""
    response = requests.post(f"{base_url}/api/client/{operation}", json=args, timeout=60)
    assert response.status_code == 200, (response.status_code, response.text[:2000])
    body: dict[str, Any] = response.json()
    return body


def wait_for(api: DurableApi, instance_id: str, statuses: set[str], timeout: float = 30) -> dict[str, Any]:
    """Poll (without history) until the instance has one of `statuses`."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = api.status(instance_id)
        if response.status_code in (200, 202):
            body = response.json()
            if body["runtimeStatus"] in statuses:
                return body
        time.sleep(0.05)
    raise AssertionError(f"{instance_id} did not reach {statuses} in {timeout} s; last status: {body}")


def completed(api: DurableApi, name: str, body: Any = None, instance_id: str | None = None) -> str:
    """Start an orchestration over HTTP and wait until it is terminal."""
    instance_id = api.start_id(name, body, instance_id)
    api.wait(instance_id)
    return instance_id


def finished_each_way(api: DurableApi, reason: str) -> tuple[str, str, str]:
    """A Completed b_echo, a Failed b_fail and a b_wait_event Terminated with `reason`."""
    done = completed(api, "b_echo", {"n": 1})
    failed = completed(api, "b_fail", {"n": 2})
    terminated = started_running(api, "b_wait_event")
    assert api.post(terminated, "terminate", reason=reason).status_code == 202
    wait_for(api, terminated, {"Terminated"})
    return done, failed, terminated


def parse_status_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def parse_history_time(text: str) -> datetime:
    """History timestamps (up to 7 fractional digits and Z), truncated to microseconds like the SDK."""
    return datetime.fromisoformat(text)


def is_json_or_empty(body: bytes) -> bool:
    if body == b"":
        return True
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def start_via_client(base_url: str, name: str, value: Any = None, instance_id: str | None = None) -> str:
    """Start through the app's Python-client starter (core.py `start`): input passes df_dumps."""
    response = requests.post(
        f"{base_url}/api/start/{name}",
        data=None if value is None else json.dumps(value),
        params={"instanceId": instance_id} if instance_id else None,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])
