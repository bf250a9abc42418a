"""Personal data is erased after its case completes plus the retention period; audit packets stay.

A devhost of the root app on the virtual clock, with the default retention (P30D): a maintenance
order (customer contact, approval comment) and a fare dispute (evidence text, supervisor note) run
to completion, and a second order is left waiting for its approval (it expires after 7 days). The
clock then moves to an hour before the period ends (nothing is erased) and past it: the completed
cases' personal payloads are gone, the later-finished order keeps its own until its own due time,
and the audit packets, documents and the effect ledger are untouched.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.storage.blob import BlobServiceClient

from blob_clients import container_name
from claim_check import DOCUMENTS_CONTAINER_PURPOSE
from personal_data import ErasureSchedule
from personal_data.erasure_step import RETENTION_INSTANCE_ID
from tests.fare_dispute.support import DisputeHost, claim
from tests.maintenance_order.conftest import MaintenanceApi, order_body
from tests.support.durable_http import DurableApi
from tests.support.identity import READER
from tests.support.wire import raw_history
from tools.harness import Azurite, make_host
from tools.harness.polling import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
RETENTION = timedelta(days=30)  # the documented default (PERSONAL_DATA_RETENTION unset)
EXECUTION_STARTED, TIMER_CREATED = 0, 10


@pytest.fixture(scope="module")
def host(azurite: Azurite) -> Iterator[DisputeHost]:
    settings = {
        "AzureWebJobsStorage": azurite.connection_string,
        "STORAGE_CONTAINER_PREFIX": f"pd{uuid.uuid4().hex[:8]}",
        "TASKHUB_NAME": f"pd{uuid.uuid4().hex[:10]}",
        "INTEGRATIONS_MODE": "sandbox",
    }
    process = make_host(REPO_ROOT, azurite, env=settings, virtual_clock=True, easy_auth=True).start()
    yield DisputeHost(process, settings)
    process.stop()


def sweeper_asleep_since(host: DisputeHost, moment: datetime, timeout: float = 30) -> None:
    """Until the retention orchestration's current cycle started at or after `moment` and sleeps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        history = raw_history(host.base_url, RETENTION_INSTANCE_ID)
        started = [e for e in history if e["EventType"] == EXECUTION_STARTED]
        if started and any(e["EventType"] == TIMER_CREATED for e in history):
            begun = datetime.fromisoformat(started[0]["Timestamp"].replace("Z", "+00:00"))
            if begun >= moment - timedelta(seconds=1):
                return
        time.sleep(0.1)
    raise AssertionError(f"the retention orchestration did not run a cycle after {moment}")


def documents_of(azurite: Azurite, settings: dict[str, str], instance_id: str) -> list[str]:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.get_container_client(container_name(DOCUMENTS_CONTAINER_PURPOSE, settings))
    return [blob.name for blob in container.list_blobs(name_starts_with=instance_id)]


def run_cases(host: DisputeHost) -> dict[str, Any]:
    """A released order with a comment, a dispute with evidence and a note, and an order left waiting."""
    orders = MaintenanceApi(host.base_url)
    released, waiting = f"keep-{uuid.uuid4().hex[:6]}", f"wait-{uuid.uuid4().hex[:6]}"
    for order_id in (released, waiting):
        assert orders.start(order_body(order_id)).status_code == 202
        orders.wait_stage(order_id, "awaiting_approval")
    decision = {"approved": True, "comment": "Call Pat on +44 7700 900123 before the release"}
    assert orders.approve(released, decision).status_code == 202
    orders.wait_finished(released)

    dispute_id = f"pd-{uuid.uuid4().hex[:6]}"
    host.file_ok(claim(dispute_id, "trip-correct", "overcharge", "2.00"))
    host.waiting_for(dispute_id, "evidence")
    evidence = {"description": "I tapped out at Central, the gate was broken", "documents": []}
    assert host.evidence(dispute_id, evidence).status_code == 202
    host.waiting_for(dispute_id, "supervisor_decision")
    note = {"decision": "approve", "note": "Customer called twice, ben.okafor@example.test"}
    assert host.decide(dispute_id, note).status_code == 202
    host.resolved(dispute_id)
    return {
        "released": f"maintenance-{released}",
        "waiting": waiting,
        "dispute": f"fare-dispute-{dispute_id}",
    }


def test_completed_cases_lose_their_personal_payloads_after_the_retention_period(
    host: DisputeHost, azurite: Azurite
) -> None:
    cases = run_cases(host)
    released, dispute = cases["released"], cases["dispute"]
    waiting = f"maintenance-{cases['waiting']}"
    schedule = ErasureSchedule.from_settings(host.settings)
    for instance_id in (released, dispute, waiting):
        assert schedule.payloads_of(instance_id), f"{instance_id} has no claim-checked payloads to erase"
    scheduled = {record.instance_id: record.due for record in schedule.records()}
    assert set(scheduled) == {released, dispute}, "only completed cases are scheduled"
    completed = {
        instance_id: datetime.fromisoformat(
            host.durable.status(instance_id).json()["lastUpdatedTime"].replace("Z", "+00:00")
        )
        for instance_id in scheduled
    }
    # The step stamps its own episode's time; the instance completes after it (and after the seal),
    # seconds later on a busy machine while the virtual clock runs on with real time.
    for instance_id, due in scheduled.items():
        assert abs(due - (completed[instance_id] + RETENTION)) < timedelta(minutes=1), instance_id

    # Audit packets (redacted, no personal data) are built and stored now; they must survive.
    reader = host.tokens.headers(READER)
    order_id = released.removeprefix("maintenance-")
    audit_url = f"{host.base_url}/api/maintenance-orders/{order_id}/audit"
    assert requests.get(audit_url, headers=reader, timeout=30).status_code == 200
    assert host.audit(dispute.removeprefix("fare-dispute-")).status_code == 200
    # The order's generated documents (inspection, compliance pack, certificate); a dispute files none.
    documents_before = documents_of(azurite, host.settings, released)
    assert documents_before, "the released order filed its documents"

    # An hour before the period ends: nothing is erased.
    first_due = min(scheduled.values())
    almost = first_due - timedelta(hours=1)
    host.advance_to(almost)
    sweeper_asleep_since(host, almost)
    for instance_id in (released, dispute):
        assert schedule.payloads_of(instance_id), f"{instance_id} erased before its time"

    # Past the period: the completed cases' payloads are gone, their records too.
    past = max(scheduled.values()) + timedelta(hours=1)
    host.advance_to(past)
    deadline = time.monotonic() + 30
    while any(schedule.payloads_of(i) for i in (released, dispute)):
        assert time.monotonic() < deadline, {i: schedule.payloads_of(i) for i in (released, dispute)}
        time.sleep(0.1)
    # The order that waited expired after 7 days (the same clock move released its timer: wait for
    # it to finish and schedule its own erasure) and keeps its contact until its own due time.
    expired = MaintenanceApi(host.base_url).wait_finished(cases["waiting"])
    assert expired["runtimeStatus"] == "Completed" and expired["outcome"] == "expired"
    wait_until(
        lambda: {record.instance_id for record in schedule.records()} == {waiting},
        30,
        "only the later case to be left in the erasure schedule",
    )
    assert schedule.payloads_of(waiting), "a case is erased from its own completion, not the others'"

    # What holds no personal data stays: documents, audit packets (read again), histories.
    assert documents_of(azurite, host.settings, released) == documents_before
    for instance_id in (released, dispute):
        assert (
            DurableApi(host.base_url, host.tokens.token(READER)).status(instance_id).json()["runtimeStatus"]
            == "Completed"
        )
    assert requests.get(audit_url, headers=reader, timeout=30).status_code == 200
    assert host.audit(dispute.removeprefix("fare-dispute-")).status_code == 200
    log = host.process.log_text()
    assert log.count("personal data erased") >= 2, "each erasure is logged with its instance id"
    assert released in log and dispute in log
