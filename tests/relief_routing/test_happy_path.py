"""A relief request end to end over HTTP, as a client drives it: start, dispatch, confirm, complete."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from tests.relief_routing.support import ReliefApi, calls, effects, request_body
from tools.harness import HostProcess

SHELTERS = {"shelter-one": {"water": 4, "generator": 1}, "shelter-three": {"blanket": 5}}


def run_happy_path(api: ReliefApi, env: dict[str, str], request_id: str) -> dict[str, Any]:
    """Start, wait for dispatch, confirm both shelters, and check what every system saw."""
    started = api.start(request_body(request_id, SHELTERS))
    assert started.status_code == 202, started.text
    assert started.json()["instanceId"] == f"relief-{request_id}"
    assert started.headers["Location"] == f"/api/relief-requests/{request_id}"
    again = api.start(request_body(request_id, SHELTERS))
    assert again.status_code == 409 and again.json()["statusUrl"] == started.headers["Location"]

    waiting = api.wait_stage(request_id, "awaiting_confirmations")
    assert waiting["reservation"] == "fully_reserved"
    assert waiting["waitingFor"] == "shelter_confirmation" and waiting["deadlineUtc"]
    assert waiting["shelters"] == {
        "shelter-one": {"state": "awaiting", "escalations": 0},
        "shelter-three": {"state": "awaiting", "escalations": 0},
    }
    levels = api.levels()
    assert levels["depot-a", "water"]["reserved"] == 4  # nearest depot to shelter-one
    assert levels["depot-a", "generator"]["reserved"] == 1
    assert levels["depot-c", "blanket"]["reserved"] == 5
    assert sum(level["reserved"] for level in levels.values()) == 10

    drivers = effects(env, "driver_messaging", "notify")
    assert sorted(
        (e["request"]["driverId"], e["request"]["kind"], tuple(e["request"]["stops"])) for e in drivers
    ) == [
        ("driver-a1", "assigned", ("shelter-one",)),
        ("driver-c1", "assigned", ("shelter-three",)),
    ]
    shelter_messages = effects(env, "customer_messaging", "send")
    assert sorted(e["request"]["template"] for e in shelter_messages) == ["relief_dispatched"] * 2

    early = api.confirm(request_id, "shelter-two")
    assert early.status_code == 409, early.text
    assert api.confirm(request_id, "shelter-one", {"water": 4, "generator": 1}).status_code == 202
    api.wait_for(
        request_id, lambda s: s["shelters"]["shelter-one"]["state"] == "confirmed", "shelter-one confirmed"
    )
    assert api.confirm(request_id, "shelter-one").status_code == 409
    assert api.confirm(request_id, "shelter-three", {"blanket": 4}).status_code == 202

    done = api.wait_done(request_id)
    assert done["runtimeStatus"] == "Completed" and done["stage"] == "completed"
    outcome: dict[str, Any] = done["outcome"]
    assert outcome["outcome"] == "completed" and outcome["reservation"] == "fully_reserved"
    assert outcome["palletsDelivered"] == 10
    assert outcome["discrepancies"] == {"shelter-three": {"blanket": -1}}
    assert {route["driverId"] for route in outcome["routes"]} == {"driver-a1", "driver-c1"}
    assert outcome["routeDocumentId"]
    levels = api.levels()
    assert sum(level["reserved"] for level in levels.values()) == 0
    assert sum(level["delivered"] for level in levels.values()) == 10
    portal = [e["request"]["status"] for e in effects(env, "donor_portal", "publish")]
    assert sorted(portal) == ["completed", "dispatched"]
    assert api.change(request_id, {"cancel": True}).status_code == 409
    return outcome


def test_relief_request_runs_end_to_end_over_http(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """Reserve nearest-first, route, notify, confirm both shelters, complete; errors are 400/404/409."""
    host = start_relief_host()
    api = ReliefApi(host.base_url)
    run_happy_path(api, relief_env, "happy-1")

    audit = api.get("relief-requests/happy-1/audit")
    assert audit.status_code == 200, audit.text
    envelope = audit.json()
    packet = envelope["packet"]
    assert envelope["seal"]["keyId"].startswith("local:") and packet["sealing"]["finalStatus"] == "Completed"
    assert {d["name"] for d in packet["documents"]} == {"donor-delivery-report"}
    assert packet["requestId"] == "happy-1" and packet["finalOutcome"] == "completed"
    assert packet["routePlans"] and packet["routePlans"][0]["routes"]
    assert [c["shelterId"] for c in packet["confirmations"]] == ["shelter-one", "shelter-three"]
    # Each confirmation names the shelter desk that made it; the request names who started it.
    assert [c["principal"]["principalId"] for c in packet["confirmations"]] == [
        "staff-shelter-one",
        "staff-shelter-three",
    ]
    assert {s: a["principalId"] for s, a in packet["confirmedBy"].items()} == {
        "shelter-one": "staff-shelter-one",
        "shelter-three": "staff-shelter-three",
    }
    assert packet["requestedBy"]["role"] == "Workflow.Submitter"
    assert "+1555" not in audit.text and "@shelters.example" not in audit.text  # contacts never in history

    bad = api.start({"requestId": "bad-1", "shelters": []})
    assert bad.status_code == 400 and {f["field"] for f in bad.json()["fields"]} >= {"priority", "shelters"}
    unknown = api.start(request_body("bad-2", {"shelter-nowhere": {"water": 1}, "shelter-one": {"fuel": 2}}))
    assert unknown.status_code == 400
    assert [f["field"] for f in unknown.json()["fields"]] == [
        "shelters[0].shelterId",
        "shelters[1].items[0].sku",
    ]
    assert api.get("relief-requests/nobody").status_code == 404
    assert api.change("nobody", {"cancel": True}).status_code == 404
    assert api.confirm("nobody", "shelter-one").status_code == 404
    assert api.change("happy-1", {"cancel": True, "removeShelterIds": ["shelter-one"]}).status_code == 400


def test_happy_path_under_deliver_activities_twice(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """Every activity runs twice: each message, portal update and reservation still happens once."""
    host = start_relief_host(deliver_twice=True)
    run_happy_path(ReliefApi(host.base_url), relief_env, "twice-1")
    for system in ("driver_messaging", "customer_messaging", "donor_portal", "documents"):
        outcomes = Counter(call["outcome"] for call in calls(relief_env, system))
        assert set(outcomes) == {"effect"}, (system, outcomes)  # the ledger answered every repeat
    inventory_calls = Counter((c["operation"], c["outcome"]) for c in calls(relief_env, "inventory"))
    assert inventory_calls[("reserve", "effect")] == 3 and inventory_calls[("deliver", "effect")] == 3
    # The ledger keeps each inventory answer, so the second delivery of an activity asks nothing again
    # (the inventory's own dedupe by reservation key is tested in test_reservations.py).
    assert {outcome for _, outcome in inventory_calls} == {"effect"}, inventory_calls
