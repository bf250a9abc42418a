"""The failure policy (orchestrators/failure_policy.py) with sandboxes failing for longer than the
retry budget: driver, shelter and donor-portal messages are best effort (the request is delivered
and records what stayed unsent); the route record is strict (the request releases every pallet it
holds, records that, and ends Failed)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from durable_wire import TERMINAL_STATUSES
from tests.relief_routing.support import Json, ReliefApi, effects, request_body
from tools.harness import HostProcess

# Best-effort retries back off up to 5 minutes: move the virtual clock by that much per poll.
RETRY_STEP_SECONDS = 300


def drive_until(
    api: ReliefApi,
    request_id: str,
    predicate: Callable[[Json], bool],
    what: str,
    step: float = RETRY_STEP_SECONDS,
) -> Json:
    """Move the clock `step` seconds at a time until `predicate` holds."""
    for _ in range(400):
        body = api.status(request_id)
        if predicate(body):
            return body
        api.advance(step)
        time.sleep(0.1)  # the retry the clock released runs before the next step
    raise AssertionError(f"{request_id}: {what} never happened: {api.status(request_id)}")


def test_messages_and_portal_failing_past_the_retry_budget_still_deliver_and_are_recorded(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """Drivers, shelters and the donor portal are unreachable for good: the request still reserves,
    routes, takes the confirmation and completes; every message it could not send is recorded."""
    host = start_relief_host(
        env={
            "SANDBOX_FAULTS_DRIVER_MESSAGING": "transient",
            "SANDBOX_FAULTS_CUSTOMER_MESSAGING": "transient",
            "SANDBOX_FAULTS_DONOR_PORTAL": "timeout",
            "RELIEF_CONFIRMATION_INTERVAL": "PT12H",  # no escalation while messages are retried
        }
    )
    api = ReliefApi(host.base_url)
    assert api.start(request_body("quiet-1", {"shelter-one": {"water": 3}})).status_code == 202
    waiting = drive_until(
        api, "quiet-1", lambda s: s.get("stage") == "awaiting_confirmations", "the confirmation wait"
    )
    assert waiting["unsent"] == ["notify_drivers:r1", "notify_shelters:r1", "publish_update:dispatched:r1"]
    assert api.confirm("quiet-1", "shelter-one").status_code == 202
    done = drive_until(api, "quiet-1", lambda s: s["runtimeStatus"] in TERMINAL_STATUSES, "the end")
    assert done["runtimeStatus"] == "Completed" and done["outcome"]["palletsDelivered"] == 3
    assert done["outcome"]["unsentNotifications"] == [*waiting["unsent"], "publish_update:completed"]
    assert effects(relief_env, "driver_messaging") == [] and effects(relief_env, "donor_portal") == []
    assert api.levels()["depot-a", "water"]["delivered"] == 3
    assert sum(level["reserved"] for level in api.inventory()) == 0
    assert "gave_up=notify_drivers:r1" in host.log_text()


def test_a_routing_outage_past_the_retry_budget_releases_every_pallet_then_fails(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """The document store (the route record, a strict step) fails for good after the pallets were
    reserved: the request releases them, tells the donor portal, records what it undid, ends Failed."""
    host = start_relief_host(env={"SANDBOX_FAULTS_DOCUMENTS": "transient"})
    api = ReliefApi(host.base_url)
    body = request_body("fail-1", {"shelter-one": {"water": 12}, "shelter-three": {"blanket": 2}})
    assert api.start(body).status_code == 202
    api.wait_for("fail-1", lambda s: s.get("stage") == "routing", "reserved, routing")
    assert sum(level["reserved"] for level in api.inventory()) == 14
    failed = drive_until(api, "fail-1", lambda s: s["runtimeStatus"] in TERMINAL_STATUSES, "the end")
    assert (failed["runtimeStatus"], failed["stage"]) == ("Failed", "failed")
    failure = failed["failure"]
    assert failure["step"] == "routing" and "injected 503" in failure["reason"]
    assert failure["undone"] == ["released 14 reserved pallets"] and "kept" not in failure
    assert sum(level["reserved"] for level in api.inventory()) == 0, "no reservation leaked"
    [update] = effects(relief_env, "donor_portal")
    assert update["request"]["status"] == "failed"
    assert api.change("fail-1", {"cancel": True}).status_code == 409
    assert "process failed" in host.log_text()


def test_a_reservation_outage_past_the_retry_budget_gives_back_what_the_failed_step_reserved(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """Every reservation call commits and then times out, on every attempt: the re-balance step
    fails for good without ever reporting what it holds. The failure path still releases what the
    step reserved (its keys follow from its work), so no pallet stays reserved, and says so."""
    host = start_relief_host(env={"SANDBOX_FAULTS_INVENTORY": "timeout_after_commit@reserve"})
    api = ReliefApi(host.base_url)
    body = request_body("lost-1", {"shelter-one": {"water": 12}, "shelter-three": {"blanket": 2}})
    assert api.start(body).status_code == 202
    failed = drive_until(api, "lost-1", lambda s: s["runtimeStatus"] in TERMINAL_STATUSES, "the end")
    assert (failed["runtimeStatus"], failed["stage"]) == ("Failed", "failed"), failed
    failure = failed["failure"]
    assert failure["step"] == "reserving" and "injected timeout" in failure["reason"], failure
    [undone] = failure["undone"]
    released = int(undone.removeprefix("released ").removesuffix(" reserved pallets"))
    assert released > 0, "the step had reserved before it timed out"
    assert "kept" not in failure, failure
    assert sum(level["reserved"] for level in api.inventory()) == 0, "no reservation leaked"
    [update] = effects(relief_env, "donor_portal")
    assert update["request"]["status"] == "failed"


@pytest.mark.parametrize(
    ("request_id", "donor_faults"),
    [
        ("stuck-1", ""),
        # The donor portal fails this request's "cancelled" update 3 times (a fixed draw of the
        # fault schedule), so that update is still being retried when the release gives up.
        ("late-23", "transient:1/2"),
    ],
)
def test_a_cancellation_whose_release_fails_past_its_budget_ends_failed_and_says_what_stays_reserved(
    start_relief_host: Callable[..., HostProcess],
    relief_env: dict[str, str],
    request_id: str,
    donor_faults: str,
) -> None:
    """Inventory refuses every release for good: the cancellation's release (strict) gives up while
    its messages to drivers, shelters and donors go out; the request tries the release once more,
    then ends Failed with the pallets that stay reserved named in `kept` (an operator releases them)."""
    host = start_relief_host(
        env={
            "SANDBOX_FAULTS_INVENTORY": "transient@release",
            "SANDBOX_FAULTS_DONOR_PORTAL": donor_faults,
            "RELIEF_CONFIRMATION_INTERVAL": "PT12H",
        }
    )
    api = ReliefApi(host.base_url)
    assert api.start(request_body(request_id, {"shelter-one": {"water": 4}})).status_code == 202
    api.wait_for(
        request_id, lambda s: s.get("stage") == "awaiting_confirmations", "dispatched", nudge_clock=2
    )
    assert api.change(request_id, {"changeId": "stop", "cancel": True}).status_code == 202
    failed = drive_until(
        api, request_id, lambda s: s["runtimeStatus"] in TERMINAL_STATUSES, "the end", step=2
    )
    assert (failed["runtimeStatus"], failed["stage"]) == ("Failed", "failed"), failed
    failure = failed["failure"]
    assert failure["step"] == "cancelling" and "injected 503" in failure["reason"]
    [kept] = failure["kept"]
    key = f"relief-{request_id}:reserve_stock:r1:shelter-one:water:depot-a"
    assert kept.startswith(f"4 pallets still reserved ({key})"), kept
    assert api.levels()["depot-a", "water"]["reserved"] == 4
    cancelled = [e["request"]["kind"] for e in effects(relief_env, "driver_messaging", "notify")]
    assert cancelled.count("cancelled") == 1, "the driver was told once"
    statuses = sorted(e["request"]["status"] for e in effects(relief_env, "donor_portal"))
    assert statuses == ["cancelled", "dispatched", "failed"]
