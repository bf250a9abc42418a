"""The devhost keeps other web pages out: loopback Host names only, no cross-site management writes.

A page on another site can make the developer's browser send requests to 127.0.0.1 (a "simple"
cross-site POST needs no CORS preflight), or re-point its own name at 127.0.0.1 (DNS rebinding).
Both are refused here, on a real devhost, as a browser would send them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.support.durable_http import DurableApi
from tests.support.wire import devhost_only
from tools.harness import HostProcess

SAMPLES_APP = Path(__file__).parent / "apps" / "samples"
pytestmark = devhost_only


def waiting_instance(api: DurableApi) -> str:
    instance_id = api.start_id("approval_workflow", json.dumps({"timeoutSeconds": 600}))
    api.wait(instance_id, statuses={"Running"})
    return instance_id


def test_only_loopback_host_names_are_served(start_host: Callable[..., HostProcess]) -> None:
    host = start_host(SAMPLES_APP, extra_args=["--allow-host", "devbox.internal"])
    port = urlsplit(host.base_url).port
    for path in ("/api/counter/x", "/runtime/webhooks/durabletask/instances", "/admin/host/status"):
        rebound = requests.get(f"{host.base_url}{path}", headers={"Host": f"evil.example:{port}"}, timeout=30)
        assert rebound.status_code == 403, (path, rebound.text)
        assert "--allow-host" in rebound.json()["error"]
    for name in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "devbox.internal", "LOCALHOST"):
        served = requests.get(f"{host.base_url}/admin/host/status", headers={"Host": name}, timeout=30)
        assert served.status_code == 200, (name, served.text)


def test_cross_site_writes_to_the_management_api_are_refused(
    start_host: Callable[..., HostProcess],
) -> None:
    host = start_host(SAMPLES_APP)
    api = DurableApi(host.base_url)
    instance_id = waiting_instance(api)
    terminate = f"{api.webhook}/instances/{instance_id}/terminate?reason=pwned"
    own_origin = f"http://{urlsplit(host.base_url).netloc}"
    browser_attacks = [
        {"Origin": "http://evil.example", "Content-Type": "text/plain"},
        {"Origin": "null", "Content-Type": "application/x-www-form-urlencoded"},
        {"Origin": "http://localhost:3000"},  # another local app: same site, another origin
        {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},
        {"Sec-Fetch-Site": "same-site"},
    ]
    for headers in browser_attacks:
        refused = requests.post(terminate, data="x", headers=headers, timeout=30)
        assert refused.status_code == 403, (headers, refused.text)
    purge = requests.delete(
        f"{api.webhook}/instances/{instance_id}", headers={"Origin": "http://evil.example"}, timeout=30
    )
    assert purge.status_code == 403
    assert api.status(instance_id).json()["runtimeStatus"] == "Running", "nothing was terminated or purged"

    # Reads, and writes from this host's own pages or from non-browser clients, still work.
    assert requests.get(
        f"{api.webhook}/instances/{instance_id}", headers={"Origin": "http://evil.example"}, timeout=30
    ).status_code in (200, 202)
    same_origin = requests.post(
        f"{api.webhook}/instances/{instance_id}/suspend?reason=mine",
        headers={"Origin": own_origin, "Sec-Fetch-Site": "same-origin"},
        timeout=30,
    )
    assert same_origin.status_code == 202, same_origin.text
    assert api.post(instance_id, "terminate", reason="cleanup").status_code == 202
    assert api.wait(instance_id)["runtimeStatus"] == "Terminated"
