"""The happy path on the project's root app folder (last file of the suite: it imports every workflow)."""

from __future__ import annotations

from collections.abc import Callable

from tools.harness import REPO_ROOT, HostProcess

from .conftest import MaintenanceApi, new_order_id
from .test_deliver_twice import run_happy_path


def test_happy_path_on_the_root_app(start_host: Callable[..., HostProcess]) -> None:
    """The project's own function_app.py registers the workflow (run last: other workflows too)."""
    api = MaintenanceApi(start_host(REPO_ROOT).base_url)
    order_id = new_order_id("root")
    finished = run_happy_path(api, order_id)
    assert finished["outcome"] == "released"
    packet = api.audit(order_id).json()["packet"]
    assert packet["approval"]["approvedBy"] == "Ada Approver" and packet["orderId"] == order_id
