# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""Activities of personal data retention (personal_data/): schedule a case's erasure, erase what is due.

Both are idempotent: scheduling overwrites the same record with the same content, and a sweep
deletes only what is still there (a repeated sweep finds nothing left to delete).
"""

from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df

from contracts import utc_text
from personal_data import ErasureSchedule, retention_period
from personal_data.erasure_step import (
    ERASE_DUE_PERSONAL_DATA,
    PERSONAL_DATA_RETENTION,
    RETENTION_INSTANCE_ID,
    SCHEDULE_PERSONAL_DATA_ERASURE,
    ScheduledErasureReceipt,
    ScheduleErasureWork,
    SweepWork,
)
from personal_data.retention import parse_utc
from telemetry import activity_log

bp = df.Blueprint()

# Runtime statuses in which the retention orchestration is (or is about to be) running.
_ACTIVE = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})


@bp.activity_trigger(input_name="work", activity=SCHEDULE_PERSONAL_DATA_ERASURE)
@bp.durable_client_input(client_name="client")
async def schedule_personal_data_erasure(
    work: dict[str, Any], client: df.DurableOrchestrationClient
) -> dict[str, Any]:
    """Record when the case's personal payloads go, and make sure the retention orchestration runs."""
    request = ScheduleErasureWork.from_dict(work)
    schedule = await asyncio.to_thread(ErasureSchedule.from_settings)
    record = await asyncio.to_thread(
        schedule.schedule, request.instance_id, parse_utc(request.completed_at), retention_period()
    )
    await ensure_retention_running(client)
    activity_log(request.workflow, "schedule_personal_data_erasure", request.instance_id).info(
        "personal data erasure scheduled", due_at=utc_text(record.due)
    )
    return ScheduledErasureReceipt(due_at=utc_text(record.due)).to_dict()


async def ensure_retention_running(client: df.DurableOrchestrationClient) -> None:
    """Start the hub's retention orchestration unless it runs (a racing start is harmless)."""
    status = await client.get_status(RETENTION_INSTANCE_ID)
    if status.runtime_status is not None and status.runtime_status.value in _ACTIVE:
        return
    try:
        await client.start_new(PERSONAL_DATA_RETENTION, RETENTION_INSTANCE_ID, None)
    except Exception:
        # Another activity started it between our read and our start: fine if it now runs.
        again = await client.get_status(RETENTION_INSTANCE_ID)
        if again.runtime_status is None or again.runtime_status.value not in _ACTIVE:
            raise


@bp.activity_trigger(input_name="work", activity=ERASE_DUE_PERSONAL_DATA)
def erase_due_personal_data(work: dict[str, Any]) -> dict[str, Any]:
    """Erase the personal payloads of every case due by the orchestration's `now`."""
    now = parse_utc(SweepWork.from_dict(work).now)
    result = ErasureSchedule.from_settings().sweep(now)
    for instance_id in result.erased:
        activity_log("personal_data_retention", "erase_personal_data", instance_id).info(
            "personal data erased"
        )
    return result.to_dict()
