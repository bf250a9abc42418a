# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""The last step of every workflow: seal the instance's audit packet (audit_packets/seal_step.py).

The activity reads the instance's history through its durable client binding (an orchestrator cannot
see its own history), builds the final packet with the output the orchestrator is about to return,
renders the workflow's business documents, signs the digest and stores everything create-only in
the audit container. It is idempotent by instance and execution: a retry, a second delivery or a
crash after the write finds the sealed packet and returns the same receipt.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from audit_packets.seal_step import SEAL_AUDIT_PACKET, SealAuditPacketWork, SealReceipt
from audit_packets.sealing import SealRequest
from audit_packets.service import seal_instance
from evidence import PROFILES_BY_WORKFLOW
from telemetry import activity_log

bp = df.Blueprint()


class InstanceGoneError(Exception):
    """The instance to seal is not known to the task hub (purged while sealing)."""


@bp.activity_trigger(input_name="work", activity=SEAL_AUDIT_PACKET)
@bp.durable_client_input(client_name="client")
async def seal_audit_packet(work: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """Seal the instance's packet once and return where it is and what it was signed as."""
    request = SealAuditPacketWork.from_dict(work)
    result = await seal_instance(
        client,
        SealRequest(
            instance_id=request.instance_id,
            sealed_by="workflow",
            final_stage=request.final_stage,
            finished_at=request.finished_at,
            output=request.output,
        ),
        PROFILES_BY_WORKFLOW.get(request.workflow),
    )
    if result is None:
        raise InstanceGoneError(f"instance {request.instance_id!r} is unknown: nothing to seal")
    activity_log(request.workflow, "seal_audit_packet", request.instance_id).info(
        "audit packet sealed", digest=result.digest, already_sealed=str(result.already_sealed)
    )
    return SealReceipt(
        container=result.container,
        blob=result.stored.name,
        version=result.stored.version,
        digest=result.digest,
        key_id=result.key_id,
        sequence=result.sequence,
        already_sealed=result.already_sealed,
    ).to_dict()
