"""Scenarios whose devhost runs are recorded as replay-check histories, one suite per app.

A scenario starts an orchestrator under a fixed instance id (so regenerated files diff cleanly),
drives it the way a user would (raise events, wait) and ends in a terminal or steady state. To add
a workflow's histories: add a suite (or scenarios) here, then run
`.venv/bin/python -m tests.tools.replay.recording <suite>`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from durable_wire import TERMINAL_STATUSES
from tests.support.durable_http import DurableApi
from tools.harness import poll_until

REPO_ROOT = Path(__file__).resolve().parents[3]
HISTORIES = REPO_ROOT / "tests" / "histories"


@dataclass
class Scenario:
    """One recorded run: start `orchestrator` with `input`, drive it, record it as `file`."""

    file: str
    orchestrator: str
    input: Any = None
    drive: Callable[[DurableApi, str], None] | None = None
    final_statuses: frozenset[str] = frozenset({"Completed"})
    # App settings (sandbox faults) and a virtual clock, for paths that need an outside system down.
    env: dict[str, str] = field(default_factory=dict)
    virtual_clock: bool = False


@dataclass
class Suite:
    """The scenarios of one app folder and where their histories live."""

    app_dir: Path
    out_dir: Path
    scenarios: list[Scenario] = field(default_factory=list)


def _advance_until(
    api: DurableApi, instance_id: str, done: Callable[[dict[str, Any]], bool], step: float = 300
) -> None:
    """Move a virtual clock `step` seconds at a time until the status satisfies `done`."""
    for _ in range(400):
        status = api.status(instance_id).json()
        if done(status):
            return
        requests.post(f"{api.base_url}/admin/clock/advance", json={"seconds": step}, timeout=30)
        time.sleep(0.1)
    raise AssertionError(f"{instance_id} did not reach the recorded state")


def _custom(status: dict[str, Any]) -> dict[str, Any]:
    custom = status.get("customStatus")
    return custom if isinstance(custom, dict) else {}


def _finished(status: dict[str, Any]) -> bool:
    return status.get("runtimeStatus") in TERMINAL_STATUSES


def _advance_until_finished(api: DurableApi, instance_id: str) -> None:
    """Move the virtual clock until the instance has finished (however it ends)."""
    _advance_until(api, instance_id, _finished)


def _failed_for_good(file: str, orchestrator: str, start_input: Any, faults: dict[str, str]) -> Scenario:
    """A run that fails because an outside system is down for good (sandbox `faults`), the virtual clock
    moving it along to its end."""
    return Scenario(
        file,
        orchestrator,
        start_input,
        _advance_until_finished,
        frozenset({"Failed"}),
        env=faults,
        virtual_clock=True,
    )


def _approve(api: DurableApi, instance_id: str) -> None:
    api.wait(instance_id, statuses={"Running"})
    response = api.raise_event(instance_id, "ApprovalEvent", {"approver": "Ada", "email": "ada@example.com"})
    assert response.status_code == 202, response.text


SAMPLES = Suite(
    app_dir=REPO_ROOT / "tests" / "devhost" / "apps" / "samples",
    out_dir=HISTORIES / "samples",
    scenarios=[
        Scenario("chaining.json", "hello_orchestrator"),
        Scenario("fan_out_fan_in.json", "backup_site_content", 4),
        Scenario("human_interaction_approved.json", "approval_workflow", {"timeoutSeconds": 60}, _approve),
        Scenario("human_interaction_timeout.json", "approval_workflow", {"timeoutSeconds": 1}),
        Scenario("sub_orchestrations.json", "provision_devices", ["x", "y"]),
        Scenario("retries.json", "flaky_work"),
        Scenario("entities.json", "counter_orchestration", "replay-counter"),
        Scenario("monitor.json", "monitor_job", {"id": "job-1", "intervalSeconds": 0.2}),
    ],
)


def _maintenance_input(
    order_id: str, interval: str = "PT24H", escalate_after: int = 3, deadline: str = "P7D"
) -> Any:
    """A maintenance order input as the HTTP starter builds it (contact: a reference, no blob)."""
    return {
        "orderId": order_id,
        "assetId": "A320-MSN-4711",
        "customerContact": {
            "$claimCheck": {
                "container": "wf-payloads",
                "blob": "replay/contact.json",
                "size": 2,
                "sha256": "0" * 64,
            }
        },
        "inspection": {
            "inspector": "Ines Inspector",
            "findings": [
                {"code": "CORR-12", "severity": "high", "partNumbers": ["P-1", "P-2"]},
                {"code": "WEAR-3", "severity": "low", "partNumbers": ["P-0"]},
            ],
        },
        "approvalPolicy": {
            "reminderInterval": interval,
            "escalateAfterReminders": escalate_after,
            "approvalDeadline": deadline,
        },
    }


# How long a recording drive waits for an instance to reach the next recorded state.
RECORDING_WAIT_SECONDS = 30


def _custom_status_until(
    api: DurableApi, instance_id: str, done: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """Poll the instance's custom status until `done` holds; fail naming `what` after a while."""
    return poll_until(
        lambda: api.status(instance_id).json().get("customStatus") or {},
        done,
        timeout=RECORDING_WAIT_SECONDS,
        what=f"{instance_id} {what}",
    )


def _waits_for(event_kind: str) -> Callable[[dict[str, Any]], bool]:
    """A custom status that says the instance waits for `event_kind` (`waitingFor`)."""
    return lambda status: status.get("waitingFor") == event_kind


def _maintenance_until(predicate: Callable[[dict[str, Any]], bool]) -> Callable[[DurableApi, str], None]:
    def drive(api: DurableApi, instance_id: str) -> None:
        _custom_status_until(api, instance_id, predicate, "to reach the recorded state")

    return drive


def _maintenance_decide(approved: bool) -> Callable[[DurableApi, str], None]:
    def drive(api: DurableApi, instance_id: str) -> None:
        _maintenance_until(lambda status: status.get("stage") == "awaiting_approval")(api, instance_id)
        decision = {"approved": approved, "approver": "Ada Approver", "decidedAt": "2026-01-01T00:00:00Z"}
        assert api.raise_event(instance_id, "approval_decision", decision).status_code == 202

    return drive


def _maintenance_after_reminders_decide(
    reminders: int, *, approved: bool
) -> Callable[[DurableApi, str], None]:
    def drive(api: DurableApi, instance_id: str) -> None:
        _maintenance_until(lambda status: int(status.get("remindersSent") or 0) >= reminders)(
            api, instance_id
        )
        decision = {"approved": approved, "approver": "Ada Approver", "decidedAt": "2026-01-01T00:00:00Z"}
        assert api.raise_event(instance_id, "approval_decision", decision).status_code == 202

    return drive


def _maintenance_unsent_then_approved(api: DurableApi, instance_id: str) -> None:
    """Every customer message fails for good: wait (moving the clock) for the approval, approve."""
    _advance_until(api, instance_id, lambda status: _custom(status).get("stage") == "awaiting_approval")
    decision = {"approved": True, "approver": "Ada Approver", "decidedAt": "2026-01-01T00:00:00Z"}
    assert api.raise_event(instance_id, "approval_decision", decision).status_code == 202
    _advance_until(api, instance_id, _finished)


# Principals as the HTTP edge records them (identity.Actor): who started a case and who decided.
_PORTAL = {
    "principalId": "replay-portal",
    "name": "Portal",
    "role": "Workflow.Submitter",
    "identityProvider": "aad",
}


def _started_by_portal(order: dict[str, Any]) -> dict[str, Any]:
    """The input as today's HTTP starter builds it: the starter's principal and deadlines first."""
    return {
        **order,
        "approvalPolicy": {
            "reminderInterval": "PT24H",
            "escalateAfterReminders": 3,
            "approvalDeadline": "P7D",
            "deadlinesFirst": True,
        },
        "startedBy": _PORTAL,
    }


_STARTER_APPROVER = {**_PORTAL, "role": "Maintenance.Approver"}
_ADA = {
    "principalId": "replay-ada",
    "name": "Ada Approver",
    "role": "Maintenance.Approver",
    "identityProvider": "aad",
}
_SAM = {
    "principalId": "replay-sam",
    "name": "Sam",
    "role": "FareDispute.Supervisor",
    "identityProvider": "aad",
}
_STAFF = {
    "principalId": "replay-staff",
    "name": "Desk",
    "role": "Relief.ShelterStaff",
    "identityProvider": "aad",
}


def _maintenance_decisions(*deciders: dict[str, str]) -> Callable[[DurableApi, str], None]:
    """Once the order waits, one approval per decider (as the HTTP edge raises it), in order."""

    def drive(api: DurableApi, instance_id: str) -> None:
        _maintenance_until(lambda status: status.get("stage") == "awaiting_approval")(api, instance_id)
        for decider in deciders:
            decision = {
                "approved": True,
                "approver": decider["name"],
                "decidedAt": "2026-01-01T00:00:00Z",
                "decidedBy": decider,
            }
            assert api.raise_event(instance_id, "approval_decision", decision).status_code == 202
            time.sleep(0.5)  # let the orchestration take the event before the next one

    return drive


MAINTENANCE_ORDER = Suite(
    app_dir=REPO_ROOT,
    out_dir=HISTORIES / "maintenance_order",
    scenarios=[
        Scenario(
            "waiting_for_approval.json",
            "maintenance_order",
            _maintenance_input("replay-1"),
            _maintenance_until(lambda status: status.get("stage") == "awaiting_approval"),
            frozenset({"Running"}),
        ),
        Scenario(
            "after_reminders.json",
            "maintenance_order",
            _maintenance_input("replay-2", interval="PT1S", escalate_after=2),
            _maintenance_until(lambda status: bool(status.get("escalated"))),
            frozenset({"Running"}),
        ),
        Scenario(
            "released.json", "maintenance_order", _maintenance_input("replay-3"), _maintenance_decide(True)
        ),
        # A decision after a reminder round: the round's fresh wait takes it and the release starts
        # at once (orchestrators/steps.py, rule 2). approved_after_a_reminder_reused_wait.json is the
        # same drive (order replay-9) as the code before that rule recorded it (commit f845264): the
        # release waited for the round's timer. It is not a scenario here, so it is never re-recorded.
        Scenario(
            "approved_after_a_reminder.json",
            "maintenance_order",
            _maintenance_input("replay-8", interval="PT2S"),
            _maintenance_after_reminders_decide(1, approved=True),
        ),
        Scenario(
            "rejected.json", "maintenance_order", _maintenance_input("replay-4"), _maintenance_decide(False)
        ),
        Scenario(
            "expired.json",
            "maintenance_order",
            _maintenance_input("replay-5", interval="PT1S", escalate_after=1, deadline="PT3S"),
        ),
        # Failure policy paths (orchestrators/failure_policy.py).
        Scenario(
            "messages_unsent.json",
            "maintenance_order",
            _maintenance_input("replay-6"),
            _maintenance_unsent_then_approved,
            env={"SANDBOX_FAULTS_CUSTOMER_MESSAGING": "transient"},
            virtual_clock=True,
        ),
        _failed_for_good(
            "supplier_outage_failed.json",
            "maintenance_order",
            _maintenance_input("replay-7"),
            {"SANDBOX_FAULTS_SUPPLIERS": "transient"},
        ),
        # Started by a principal (startedBy): the starter's own approval is refused (maker-checker),
        # then another approver's is taken and named on the certificate.
        Scenario(
            "maker_checker_then_released.json",
            "maintenance_order",
            _started_by_portal(_maintenance_input("replay-6")),
            _maintenance_decisions(_STARTER_APPROVER, _ADA),
        ),
        # Orders started since the audit seal end with the `seal_audit_packet` step (today's input:
        # started by a principal, decided by another).
        Scenario(
            "released_sealed.json",
            "maintenance_order",
            _started_by_portal(_maintenance_input("replay-7")) | {"sealsAuditPacket": True},
            _maintenance_decisions(_ADA),
        ),
    ],
)


def _relief_input(request_id: str, interval: str = "PT6H", max_escalations: int = 2) -> Any:
    """A relief request input as the HTTP starter builds it (sample network shelters and SKUs)."""
    shelters = [
        {"shelterId": "shelter-bayview-school", "items": [{"sku": "water", "pallets": 14}]},
        {"shelterId": "shelter-marsh-road-clinic", "items": [{"sku": "generator", "pallets": 2}]},
    ]
    return {
        "request": {"requestId": request_id, "priority": 3, "shelters": shelters},
        "confirmationInterval": interval,
        "maxEscalations": max_escalations,
    }


def _relief_drive(*events: tuple[str, Any]) -> Callable[[DurableApi, str], None]:
    """Before each event (and once when there is none), wait until the request awaits confirmations."""

    def drive(api: DurableApi, instance_id: str) -> None:
        for event_name, payload in events or (("", None),):
            _custom_status_until(
                api,
                instance_id,
                lambda status: (
                    status.get("stage") == "awaiting_confirmations" and not status.get("pendingChanges")
                ),
                "to reach awaiting_confirmations",
            )
            if event_name:
                assert api.raise_event(instance_id, event_name, payload).status_code == 202
                time.sleep(0.5)  # let the orchestration take the event before looking again

    return drive


def _relief_awaiting(status: dict[str, Any]) -> bool:
    custom = _custom(status)
    return custom.get("stage") == "awaiting_confirmations" and not custom.get("pendingChanges")


def _relief_confirm_all_moving_the_clock(api: DurableApi, instance_id: str) -> None:
    """Wait (moving the clock through the retries) until every shelter awaits, confirm each, finish."""
    _advance_until(api, instance_id, _relief_awaiting)
    for shelter_id in sorted(_custom(api.status(instance_id).json()).get("shelters", {})):
        assert (
            api.raise_event(instance_id, "shelter_confirmation", {"shelterId": shelter_id}).status_code == 202
        )
        time.sleep(0.5)
    _advance_until(api, instance_id, _finished)


_RELIEF_ADD = {
    "changeId": "replay-add",
    "shelters": [{"shelterId": "shelter-hilltop-center", "items": [{"sku": "blanket", "pallets": 3}]}],
}


def _relief_change_retried_during_replan(api: DurableApi, instance_id: str) -> None:
    """The same change twice: the repeat arrives while the re-plan's reservation waits for its retry."""
    _advance_until(api, instance_id, _relief_awaiting, step=5)
    assert api.raise_event(instance_id, "relief_request_change", _RELIEF_ADD).status_code == 202
    for _ in range(200):
        custom = _custom(api.status(instance_id).json())
        if custom.get("stage") == "reserving" and custom.get("revision") == 2:
            break
        time.sleep(0.05)
    time.sleep(0.5)  # the reservation's first attempt fails; its retry waits on the clock
    assert api.raise_event(instance_id, "relief_request_change", _RELIEF_ADD).status_code == 202
    time.sleep(0.5)
    _relief_confirm_all_moving_the_clock(api, instance_id)


_RELIEF_CHANGE = {
    "changeId": "replay-change",
    "shelters": [{"shelterId": "shelter-hilltop-center", "items": [{"sku": "blanket", "pallets": 3}]}],
    "removeShelterIds": ["shelter-marsh-road-clinic"],
}
RELIEF_ROUTING = Suite(
    app_dir=REPO_ROOT,
    out_dir=HISTORIES / "relief_routing",
    scenarios=[
        Scenario(
            "awaiting_confirmations.json",
            "relief_routing",
            _relief_input("replay-1"),
            _relief_drive(),
            frozenset({"Running"}),
        ),
        Scenario(
            "completed.json",
            "relief_routing",
            _relief_input("replay-2"),
            _relief_drive(
                ("shelter_confirmation", {"shelterId": "shelter-bayview-school"}),
                ("shelter_confirmation", {"shelterId": "shelter-marsh-road-clinic"}),
            ),
        ),
        Scenario(
            "changed_then_cancelled.json",
            "relief_routing",
            _relief_input("replay-3"),
            _relief_drive(
                ("relief_request_change", _RELIEF_CHANGE),
                ("relief_request_change", {"changeId": "replay-cancel", "cancel": True}),
            ),
        ),
        Scenario("escalated_unconfirmed.json", "relief_routing", _relief_input("replay-4", "PT1S", 2)),
        # Failure policy paths (orchestrators/failure_policy.py) and a change retried during a re-plan.
        Scenario(
            "messages_unsent.json",
            "relief_routing",
            _relief_input("replay-5", "PT12H"),
            _relief_confirm_all_moving_the_clock,
            env={
                "SANDBOX_FAULTS_DRIVER_MESSAGING": "transient",
                "SANDBOX_FAULTS_CUSTOMER_MESSAGING": "transient",
                "SANDBOX_FAULTS_DONOR_PORTAL": "timeout",
            },
            virtual_clock=True,
        ),
        _failed_for_good(
            "routing_failed_released.json",
            "relief_routing",
            _relief_input("replay-6"),
            {"SANDBOX_FAULTS_DOCUMENTS": "transient"},
        ),
        # A re-balance that fails for good after reserving: the failure path releases what it may
        # have reserved (requests started with releasesUnconfirmedReservations).
        _failed_for_good(
            "reservation_failed_released.json",
            "relief_routing",
            {**_relief_input("replay-8"), "releasesUnconfirmedReservations": True},
            {"SANDBOX_FAULTS_INVENTORY": "timeout_after_commit@reserve"},
        ),
        Scenario(
            "change_retried_during_replan.json",
            "relief_routing",
            _relief_input("replay-7", "PT12H"),
            _relief_change_retried_during_replan,
            env={"SANDBOX_FAULTS_INVENTORY": "transient:first"},
            virtual_clock=True,
        ),
        # Requested by a principal; each confirmation and the change name theirs.
        Scenario(
            "confirmed_by_staff.json",
            "relief_routing",
            {**_relief_input("replay-5"), "requestedBy": _PORTAL},
            _relief_drive(
                ("shelter_confirmation", {"shelterId": "shelter-bayview-school", "confirmedBy": _STAFF}),
                ("shelter_confirmation", {"shelterId": "shelter-marsh-road-clinic", "confirmedBy": _STAFF}),
            ),
        ),
        Scenario(
            "completed_sealed.json",
            "relief_routing",
            {**_relief_input("replay-6"), "requestedBy": _PORTAL, "sealsAuditPacket": True},
            _relief_drive(
                ("shelter_confirmation", {"shelterId": "shelter-bayview-school", "confirmedBy": _STAFF}),
                ("shelter_confirmation", {"shelterId": "shelter-marsh-road-clinic", "confirmedBy": _STAFF}),
            ),
        ),
    ],
)


def _fare_dispute_input(dispute_id: str, trip_id: str, reason: str, amount: str, customer_id: str) -> Any:
    """A fare dispute input as the HTTP starter builds it (sample trips; evidence waits of seconds)."""
    return {
        "disputeId": dispute_id,
        "customerId": customer_id,
        "tripId": trip_id,
        "reason": reason,
        "claimedAmount": {"amount": amount, "currency": "EUR"},
        "settings": {
            "autoApproveLimit": {"amount": "15.00", "currency": "EUR"},
            "slaTimeZone": "Europe/Amsterdam",
            "slaBusinessDays": 2,
            "slaHolidays": ["2026-12-25"],
            "evidenceReminderAfter": "PT1S",
            "evidenceWait": "PT3S",
        },
    }


def _fare_dispute_drive(*events: tuple[str, str, Any]) -> Callable[[DurableApi, str], None]:
    """For each (waited-for input, event, payload): wait until the case waits for it, then raise it."""

    def drive(api: DurableApi, instance_id: str) -> None:
        for waiting_for, event_name, payload in events:
            _custom_status_until(
                api,
                instance_id,
                _waits_for(waiting_for),
                f"to wait for {waiting_for}",
            )
            if event_name:
                assert api.raise_event(instance_id, event_name, payload).status_code == 202
                time.sleep(0.5)  # let the orchestration take the event before looking again

    return drive


def _filed_by_portal(dispute: dict[str, Any]) -> dict[str, Any]:
    """The input as today's HTTP starter builds it: the filer's principal and the current time rules."""
    return {**dispute, "settings": {**dispute["settings"], "deadlineRules": 2}, "filedBy": _PORTAL}


_FARE_AIRPORT = ("trip-airport", "cancelled_trip", "42.50", "cust-ben")
_FARE_EVIDENCE = {
    "evidence": {"$claimCheck": {"container": "wf-payloads", "blob": "replay"}},
    "documentCount": 1,
}
FARE_DISPUTE = Suite(
    app_dir=REPO_ROOT,
    out_dir=HISTORIES / "fare_dispute",
    scenarios=[
        Scenario(
            "auto_refunded.json",
            "fare_dispute",
            _fare_dispute_input("replay-1", "trip-overcharged", "overcharge", "4.50", "cust-ana"),
        ),
        Scenario(
            "awaiting_supervisor.json",
            "fare_dispute",
            _fare_dispute_input("replay-2", *_FARE_AIRPORT),
            _fare_dispute_drive(("supervisor_decision", "", None)),
            frozenset({"Running"}),
        ),
        Scenario(
            "refused_then_partial.json",
            "fare_dispute",
            _fare_dispute_input("replay-3", *_FARE_AIRPORT),
            _fare_dispute_drive(
                (
                    "supervisor_decision",
                    "supervisor_decision",
                    {
                        "decision": "partial",
                        "supervisor": "sup-a",
                        "refundAmount": {"amount": "50.00", "currency": "EUR"},
                    },
                ),
                (
                    "supervisor_decision",
                    "supervisor_decision",
                    {
                        "decision": "partial",
                        "supervisor": "sup-a",
                        "refundAmount": {"amount": "20.00", "currency": "EUR"},
                    },
                ),
            ),
        ),
        Scenario(
            "evidence_then_approved.json",
            "fare_dispute",
            _fare_dispute_input("replay-4", "trip-correct", "overcharge", "2.00", "cust-ana"),
            _fare_dispute_drive(
                ("evidence", "evidence_submitted", _FARE_EVIDENCE),
                (
                    "supervisor_decision",
                    "supervisor_decision",
                    {"decision": "approve", "supervisor": "sup-b"},
                ),
            ),
        ),
        Scenario(
            "evidence_closed.json",
            "fare_dispute",
            _fare_dispute_input("replay-5", "trip-correct", "cancelled_trip", "3.20", "cust-ana"),
        ),
        # Failure policy paths (orchestrators/failure_policy.py).
        Scenario(
            "messages_unsent.json",
            "fare_dispute",
            _fare_dispute_input("replay-6", "trip-overcharged", "overcharge", "4.50", "cust-ana"),
            _advance_until_finished,
            env={"SANDBOX_FAULTS_CUSTOMER_MESSAGING": "transient"},
            virtual_clock=True,
        ),
        _failed_for_good(
            "refund_failed.json",
            "fare_dispute",
            _fare_dispute_input("replay-7", "trip-overcharged", "overcharge", "4.50", "cust-ana"),
            {"SANDBOX_FAULTS_PAYMENTS": "timeout"},
        ),
        # Filed by a principal (filedBy, current deadline rules): evidence names its submitter; the
        # filer's own decision is refused (maker-checker); the supervisor's is taken.
        Scenario(
            "maker_checker_then_approved.json",
            "fare_dispute",
            _filed_by_portal(
                _fare_dispute_input("replay-6", "trip-correct", "overcharge", "2.00", "cust-ana")
            ),
            _fare_dispute_drive(
                ("evidence", "evidence_submitted", {**_FARE_EVIDENCE, "submittedBy": _PORTAL}),
                (
                    "supervisor_decision",
                    "supervisor_decision",
                    {
                        "decision": "approve",
                        "supervisor": "Portal",
                        "decidedBy": {**_PORTAL, "role": "FareDispute.Supervisor"},
                    },
                ),
                (
                    "supervisor_decision",
                    "supervisor_decision",
                    {"decision": "approve", "supervisor": "Sam", "decidedBy": _SAM},
                ),
            ),
        ),
        Scenario(
            "auto_refunded_sealed.json",
            "fare_dispute",
            _filed_by_portal(
                _fare_dispute_input("replay-7", "trip-overcharged", "overcharge", "4.50", "cust-ana")
            )
            | {"sealsAuditPacket": True},
        ),
    ],
)


def _until_timer_scheduled(api: DurableApi, instance_id: str) -> None:
    """Until the orchestration has scheduled its timer (a running sweep, recorded asleep)."""
    poll_until(
        lambda: api.status(instance_id, showHistory="true").json().get("historyEvents") or [],
        lambda history: any(event.get("EventType") == "TimerCreated" for event in history),
        timeout=RECORDING_WAIT_SECONDS,
        what=f"{instance_id} to schedule its timer",
    )


# Personal data retention (issue 17): the workflows' new last step for instances started with
# `erasesPersonalData` (after the audit seal when both are set, as the starters do today), and one
# cycle of the hub's retention orchestration. Recorded on their own, so the histories above stay as
# their code wrote them.
PERSONAL_DATA = Suite(
    app_dir=REPO_ROOT,
    out_dir=HISTORIES / "personal_data",
    scenarios=[
        Scenario(
            "maintenance_released_erasure_scheduled.json",
            "maintenance_order",
            _started_by_portal(_maintenance_input("replay-7")) | {"erasesPersonalData": True},
            _maintenance_decisions(_ADA),
        ),
        Scenario(
            "fare_dispute_refunded_erasure_scheduled.json",
            "fare_dispute",
            {
                **_filed_by_portal(
                    _fare_dispute_input("replay-7", "trip-overcharged", "overcharge", "4.50", "cust-ana")
                ),
                "erasesPersonalData": True,
            },
        ),
        # Today's input: sealed, then the erasure scheduled (the seal right after the final stage).
        Scenario(
            "maintenance_released_sealed_then_erasure_scheduled.json",
            "maintenance_order",
            _started_by_portal(_maintenance_input("replay-8"))
            | {"sealsAuditPacket": True, "erasesPersonalData": True},
            _maintenance_decisions(_ADA),
        ),
        Scenario(
            "fare_dispute_refunded_sealed_then_erasure_scheduled.json",
            "fare_dispute",
            {
                **_filed_by_portal(
                    _fare_dispute_input("replay-8", "trip-overcharged", "overcharge", "4.50", "cust-ana")
                ),
                "sealsAuditPacket": True,
                "erasesPersonalData": True,
            },
        ),
        Scenario(
            "retention_sweep_asleep.json",
            "personal_data_retention",
            None,
            _until_timer_scheduled,
            frozenset({"Running"}),
        ),
    ],
)


SUITES: dict[str, Suite] = {
    "samples": SAMPLES,
    "maintenance_order": MAINTENANCE_ORDER,
    "relief_routing": RELIEF_ROUTING,
    "fare_dispute": FARE_DISPUTE,
    "personal_data": PERSONAL_DATA,
}
