"""Audit packets: what ran in an orchestration instance, who decided and when, redacted.

Product code (the workflows' `GET .../audit` endpoints); `ops audit` reuses the same builder.

API:
- `packet_from_history(status, redactor, *, raw_history=None) -> dict`: pure builder. `status` is
  the status API JSON (`instanceId`, `name`, `runtimeStatus`, `createdTime`, `lastUpdatedTime`,
  `input`, `customStatus`, `historyEvents`); with `raw_history` (devhost raw history) attempts are
  matched by EventId. Sections: `instance`, `outcome`, `customStatus`, `activities` (name, input,
  attempts with scheduledAt/finishedAt/outcome/result or failure, retried), `events` (name,
  receivedAt, by, principal: the `identity.Actor` the event records, data), `timers`,
  `entityOperations`, `subOrchestrations`, `timeline`, `historySource`, `notes`.
- `decision_records(packet, event_name, fields=()) -> list[dict]`: the events of one name with
  `by`, `principal`, `receivedAt` and the chosen data fields (an approval's timestamp).
- `principal_of(payload)`: the `identity.Actor` record an event payload carries (`decidedBy`, ...).
- `packet_redactor(extra_keys=()) -> Callable`, `redact_value(value, keys)`, `redaction_keys`,
  `DEFAULT_EXTRA_KEYS`, `normalise_key`: `telemetry.redact` plus audit keys (email, phone, ...).
- `publish_audit_packet(client, instance_id, *, workflow, extras=None, extra_redact_keys=())`
  (async): `client.get_status(..., show_history=True, show_history_output=True, show_input=True)`,
  build, add `workflow`, `generatedAt` and `extras(packet)` (a dict merged at the top, redacted),
  store with `ClaimCheck.store_document(<instance id>, "audit-packet.json")` and return the packet
  with `document` (the blob reference); None for an unknown instance (raise `InstanceNotFound`).
  The steps are also separate: `read_audit_status`, `build_audit_packet`, `store_audit_packet`,
  `status_as_dict` (handles the SDK's `historyEvents` attribute).

- `render_html(packet) -> str`: the packet as one self-contained HTML report (inline CSS, no
  script, every text escaped; `STYLE_SHA256` is its stylesheet's CSP hash). `ops audit` writes it,
  the operations console serves it.

A workflow's handler:

    packet = await publish_audit_packet(
        client, instance_id, workflow="maintenance_order", extras=lambda p: {"approval": ...}
    )
    if packet is None:
        raise InstanceNotFound("order", order_id)
    return json_response(packet)
"""

from audit_packets.history import (
    ACTOR_KEYS,
    CUSTOM_STATUS_NOTE,
    FORMAT,
    PRINCIPAL_KEYS,
    Redactor,
    actor_of,
    decision_records,
    loads_json,
    packet_from_history,
    principal_of,
)
from audit_packets.redaction import (
    DEFAULT_EXTRA_KEYS,
    normalise_key,
    packet_redactor,
    redact_value,
    redaction_keys,
)
from audit_packets.report import STYLE_SHA256, render_html
from audit_packets.service import (
    AUDIT_PACKET_FILE_NAME,
    PacketExtras,
    build_audit_packet,
    publish_audit_packet,
    read_audit_status,
    status_as_dict,
    store_audit_packet,
)

__all__ = [
    "ACTOR_KEYS",
    "AUDIT_PACKET_FILE_NAME",
    "CUSTOM_STATUS_NOTE",
    "DEFAULT_EXTRA_KEYS",
    "FORMAT",
    "PRINCIPAL_KEYS",
    "STYLE_SHA256",
    "PacketExtras",
    "Redactor",
    "actor_of",
    "build_audit_packet",
    "decision_records",
    "loads_json",
    "normalise_key",
    "packet_from_history",
    "packet_redactor",
    "principal_of",
    "publish_audit_packet",
    "read_audit_status",
    "redact_value",
    "redaction_keys",
    "render_html",
    "status_as_dict",
    "store_audit_packet",
]
