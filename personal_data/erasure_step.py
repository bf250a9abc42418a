"""What orchestrators import: the workflow's last step that schedules its personal data's erasure,
and the work items of the retention orchestration's activities.

The step records when the case's claim-checked personal payloads are to be erased (the
orchestration's completion time plus `PERSONAL_DATA_RETENTION`) and makes sure the hub's retention
orchestration runs; it does not wait for the erasure, so the instance completes at once. Only
instances started with `erasesPersonalData` in their input take it (the HTTP starters set it):
instances already running when it was introduced replay the action sequence they were recorded
with, and the lifecycle rule in infra/ erases their payloads instead.

It comes after the audit seal (audit_packets/seal_step.py), which must follow the final stage
directly; the sealed packet holds no personal data and is never erased. A case whose seal fails
(after its retries) ends Failed before this step: the lifecycle rule erases its payloads.

It is best effort: if scheduling still fails after its retries the case completes anyway (its
business is done) with a warning, and the lifecycle rule erases the payloads later.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Annotated, Any

import azure.durable_functions as df
from pydantic import Field

from contracts import ContractModel, utc_text
from telemetry import orchestration_log

SCHEDULE_PERSONAL_DATA_ERASURE = "schedule_personal_data_erasure"
ERASE_DUE_PERSONAL_DATA = "erase_due_personal_data"
PERSONAL_DATA_RETENTION = "personal_data_retention"
# One retention orchestration per task hub, under this id.
RETENTION_INSTANCE_ID = "personal-data-retention"
# Storage or the Durable runtime out of reach for about a minute: 6 attempts 10 s apart.
RETENTION_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=10_000, max_number_of_attempts=6)


class ScheduleErasureWork(ContractModel):
    """Input of `schedule_personal_data_erasure`: whose payloads, and when the case completed."""

    instance_id: Annotated[str, Field(min_length=1)]
    workflow: str
    completed_at: str


class ScheduledErasureReceipt(ContractModel):
    """What `schedule_personal_data_erasure` returns."""

    due_at: str
    retention_running: bool = True


class SweepWork(ContractModel):
    """Input of `erase_due_personal_data`: the orchestration's clock."""

    now: str


def schedule_personal_data_erasure(
    context: df.DurableOrchestrationContext, *, workflow: str
) -> Generator[Any, Any, None]:
    """Schedule the erasure of this instance's personal payloads (`yield from` it as the last step)."""
    work = ScheduleErasureWork(
        instance_id=context.instance_id,
        workflow=workflow,
        completed_at=utc_text(context.current_utc_datetime),
    )
    try:
        yield context.call_activity_with_retry(
            SCHEDULE_PERSONAL_DATA_ERASURE, RETENTION_RETRY, work.to_dict()
        )
    except Exception as error:  # best effort: the lifecycle rule erases later
        orchestration_log(context, workflow, "schedule_personal_data_erasure").warning(
            "personal data erasure not scheduled; the storage lifecycle rule erases it later",
            reason=type(error).__name__,
        )
