"""The relief happy path on the project's own app folder (all workflows registered, sample network)."""

from __future__ import annotations

from collections.abc import Callable

from tests.relief_routing.support import ReliefApi, request_body
from tools.harness import REPO_ROOT, HostProcess


def test_happy_path_on_the_root_app_with_the_sample_network(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """What `./scripts/dev` serves: a request over the shipped sample network, end to end."""
    env = {key: value for key, value in relief_env.items() if key != "RELIEF_NETWORK_FILE"}
    host = start_relief_host(REPO_ROOT, env={**env, "RELIEF_NETWORK_FILE": ""})
    api = ReliefApi(host.base_url)
    body = request_body(
        "storm-7",
        {
            "shelter-bayview-school": {"water": 14, "blanket": 4},
            "shelter-marsh-road-clinic": {"generator": 2},
        },
        priority=2,
    )
    assert api.start(body).status_code == 202
    waiting = api.wait_stage("storm-7", "awaiting_confirmations")
    assert waiting["reservation"] == "fully_reserved"
    levels = api.levels()
    assert levels["depot-harbor", "water"]["reserved"] == 14, "Harbor Pier is 5 minutes from Bayview"
    assert levels["depot-inland", "generator"]["reserved"] == 2, "the lighthouse road to Marsh Road is closed"
    for shelter_id in waiting["shelters"]:
        assert api.confirm("storm-7", shelter_id).status_code == 202
    outcome = api.wait_done("storm-7")["outcome"]
    assert outcome["outcome"] == "completed" and outcome["palletsDelivered"] == 20
    assert all(route["stops"] for route in outcome["routes"])
