"""Orchestration versions reach `context.version`: host.json default, start and sub-orchestrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests

from tests.support.durable_http import DurableApi
from tools.harness import HostProcess

APP = Path(__file__).parent / "apps" / "versioned"


def test_versions_from_start_sub_orchestration_and_default(start_host: Callable[..., HostProcess]) -> None:
    host = start_host(APP)
    api = DurableApi(host.base_url)

    by_client = requests.post(f"{host.base_url}/api/start/1.5", timeout=30).json()["id"]
    assert api.wait(by_client)["output"] == {"parent": "1.5", "pinnedChild": "3.0", "defaultChild": "2.1"}

    by_http = api.start_id("versions_seen")  # no version: host.json defaultVersion
    assert api.wait(by_http)["output"]["parent"] == "2.1"

    explicit = api.start("versions_seen", version="4.0")
    assert explicit.status_code == 202
    assert api.wait(explicit.json()["id"])["output"]["parent"] == "4.0"


def test_encoded_slash_and_newline_stay_inside_one_route_parameter(
    start_host: Callable[..., HostProcess],
) -> None:
    """`%2F` and `%0A` in a path reach the function inside the route parameter, as on the Functions host."""
    host = start_host(APP)
    api = DurableApi(host.base_url)
    response = requests.post(f"{host.base_url}/api/start/2%2F0", timeout=30)
    assert response.status_code == 202, response.text
    assert api.wait(response.json()["id"])["output"]["parent"] == "2/0"
    with_newline = requests.post(f"{host.base_url}/api/start/line%0Abreak", timeout=30)
    assert with_newline.status_code == 202, with_newline.text
    assert api.wait(with_newline.json()["id"])["output"]["parent"] == "line\nbreak"
