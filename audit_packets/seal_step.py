"""The last step of every workflow: seal the instance's audit packet (what orchestrators import).

An orchestrator cannot see its own history, so sealing is an activity (`seal_audit_packet`,
activities/audit_seal.py) that reads the instance's history through the durable client, builds,
signs and stores the packet once, and returns a small receipt. The orchestrator schedules it as its
last business action, right after it has published its final stage, and returns its output
unchanged; only housekeeping that adds nothing to the case may follow it (the personal data erasure
step, personal_data/erasure_step.py).

Why the final stage goes in: the Durable runtime may hand the activity over before it has stored
the history of the episode that scheduled it (Azure Storage sends outbound messages first, then
writes the History table, then the Instances row with the custom status). The activity therefore
waits until the status shows `finalStage`, which this episode alone publishes; by then the history
up to this point is stored. Workflows publish each final stage only in the episode that seals.

Only instances started with sealing switched on (their input says so; the HTTP starters set it)
take this step: instances already running when it was introduced replay the action sequence they
were recorded with and are sealed by an operator instead (`POST /api/audit/packets/{id}/seal`).
"""

from __future__ import annotations

from typing import Annotated, Any

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskBase
from pydantic import Field

from contracts import ContractModel
from idempotency import orchestration_effect_key

SEAL_AUDIT_PACKET = "seal_audit_packet"
SEAL_STEP = "seal_audit_packet"
# Sealing reads the history, calls Key Vault and writes one blob: 6 attempts 10 s apart ride out a
# vault or storage blip of about a minute. After that the instance fails at its last step, with every
# business effect done; a rewind retries the seal alone (it is idempotent by instance and execution).
SEAL_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=10_000, max_number_of_attempts=6)


class SealAuditPacketWork(ContractModel):
    """Input of `seal_audit_packet`: whose packet, the stage that proves the history is stored,
    when the orchestration finished (its clock) and the output it is about to return."""

    key: str
    instance_id: Annotated[str, Field(min_length=1)]
    workflow: str
    final_stage: str
    finished_at: str
    output: dict[str, Any]


class SealReceipt(ContractModel):
    """What `seal_audit_packet` returns: where the sealed packet is and what it was signed as."""

    container: str
    blob: str
    version: str
    digest: str
    key_id: str
    sequence: int = 1
    already_sealed: bool = False


def seal_audit_packet(
    context: df.DurableOrchestrationContext,
    *,
    workflow: str,
    final_stage: str,
    output: dict[str, Any],
) -> TaskBase:
    """The task that seals this instance's packet (yield it as the orchestration's last step)."""
    moment = context.current_utc_datetime
    work = SealAuditPacketWork(
        key=orchestration_effect_key(context, SEAL_STEP),
        instance_id=context.instance_id,
        workflow=workflow,
        final_stage=final_stage,
        finished_at=moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # to the microsecond, like history
        output=output,
    )
    task: TaskBase = context.call_activity_with_retry(SEAL_AUDIT_PACKET, SEAL_RETRY, work.to_dict())
    return task
