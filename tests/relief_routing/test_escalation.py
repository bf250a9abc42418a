"""Late confirmations escalate on durable timers (virtual clock): a reminder each interval, and
after the last step the shelter is resolved as unconfirmed and the operations desk takes over.

Calendar case: the host's clock starts on the plain Wednesday (`PLAIN_WEDNESDAY`); escalations are
durations in UTC, calendar-independent (tests/calendar walks them from the awkward instants)."""

from __future__ import annotations

from collections.abc import Callable

from tests.relief_routing.support import ReliefApi, effects, request_body
from tests.support.wire import advance_clock
from tools.harness import HostProcess

HOUR = 3600  # RELIEF_CONFIRMATION_INTERVAL in the test settings (conftest.py)


def test_late_confirmations_escalate_until_resolved(
    start_relief_host: Callable[..., HostProcess], relief_env: dict[str, str]
) -> None:
    """One shelter confirms after its first reminder; the other never does and ends unconfirmed."""
    host = start_relief_host()
    api = ReliefApi(host.base_url)
    body = request_body("late-1", {"shelter-one": {"water": 2}, "shelter-two": {"water": 2}})
    assert api.start(body).status_code == 202
    waiting = api.wait_stage("late-1", "awaiting_confirmations")
    first_deadline = waiting["deadlineUtc"]

    advance_clock(host.base_url, HOUR)
    reminded = api.wait_for(
        "late-1",
        lambda s: (
            s["stage"] == "awaiting_confirmations"
            and all(p["escalations"] == 1 for p in s["shelters"].values())
        ),
        "first escalation",
    )
    assert reminded["deadlineUtc"] > first_deadline
    assert api.confirm("late-1", "shelter-one", {"water": 2}).status_code == 202
    api.wait_for(
        "late-1", lambda s: s["shelters"]["shelter-one"]["state"] == "confirmed", "late confirmation"
    )

    advance_clock(host.base_url, HOUR)
    done = api.wait_done("late-1")
    outcome = done["outcome"]
    assert outcome["outcome"] == "completed"
    assert outcome["shelters"] == {
        "shelter-one": {"state": "confirmed", "escalations": 1},
        "shelter-two": {"state": "unconfirmed", "escalations": 2},
    }
    assert outcome["palletsDelivered"] == 4, "the unconfirmed shelter's pallets left the depot"
    messages = sorted(
        (
            e["request"]["template"],
            e["request"]["parameters"].get("shelter", ""),
            e["request"]["parameters"].get("level", ""),
        )
        for e in effects(relief_env, "customer_messaging", "send")
        if "confirmation" in e["request"]["template"]
    )
    assert messages == [
        ("relief_confirmation_reminder", "Shelter One", "1"),
        ("relief_confirmation_reminder", "Shelter Two", "1"),
        ("relief_confirmation_reminder", "Shelter Two", "2"),
        ("relief_confirmation_unresolved", "Shelter Two", "2"),
    ]
    final = [
        e["request"]
        for e in effects(relief_env, "donor_portal", "publish")
        if e["request"]["status"] == "completed"
    ]
    assert final and "unconfirmed: shelter-two" in final[0]["note"]
    assert sum(level["delivered"] for level in api.inventory()) == 4
