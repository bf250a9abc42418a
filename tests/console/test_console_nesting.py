"""Sub-orchestrations in the console's timeline, on a real host: the console reads each finished
child's status through the management API and nests its lanes below the parent's."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ops.sign_in import LOCAL_OPERATOR, bearer, sign_in
from tests.support.durable_http import DurableApi
from tools.harness import Azurite, HostProcess, make_host

APP = Path(__file__).parent / "apps" / "nesting"


@pytest.fixture(scope="module")
def nesting_host(azurite: Azurite) -> Iterator[HostProcess]:
    env = {"STORAGE_CONTAINER_PREFIX": f"cn{uuid.uuid4().hex[:10]}"}
    host = make_host(APP, azurite, env=env, easy_auth=True).start()
    yield host
    host.stop()


def test_a_parent_s_timeline_nests_its_children_s_activities(nesting_host: HostProcess) -> None:
    token = sign_in(nesting_host.base_url, LOCAL_OPERATOR)
    durable = DurableApi(nesting_host.base_url, token=token)
    instance_id = durable.start_id("parent_flow", None, f"parent-{uuid.uuid4().hex[:6]}")
    assert durable.wait(instance_id, timeout=60)["runtimeStatus"] == "Completed"
    page = requests.get(
        f"{nesting_host.base_url}/api/console/instance",
        params={"id": instance_id},
        headers=bearer(token),
        timeout=60,
    )
    assert page.status_code == 200
    gantt = page.text.split('class="chart-svg gantt"', 1)[1].split("</svg>", 1)[0]
    assert gantt.count("sub-orchestration child_flow") == 2
    children = re.findall(r'class="lane-label lane-activity depth-1"[^>]*>([^<]+)<', gantt)
    assert len(children) == 4 and all(label.startswith("nesting_step") for label in children)
    assert len(re.findall(r'class="lane-label lane-activity depth-0"', gantt)) == 1
    assert 'data-attempts="5"' in gantt  # the parent's step and the children's four
    assert "2 sub-orchestrations" in page.text
