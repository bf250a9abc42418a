"""Audit packets: what ran in an orchestration instance, who decided and when; sealed once, signed,
stored where it cannot change, and readable as HTML and PDF.

Modules (each named for what it holds):
- `history`: the pure history → packet walk (activities with attempts, events with principals,
  timers, entity operations, sub-orchestrations, timeline); `redaction`: what is redacted.
- `seal_step`: what orchestrators import: the `seal_audit_packet` activity name, its input and the
  task every workflow yields as its last step.
- `sealing`: building the final packet (format `durable-audit/2`: app version and commit, task hub,
  sealing, redaction, business documents), digest, signature, create-only store.
- `canonical` (RFC 8785 bytes + SHA-256), `signing` (Key Vault / key-file ES256 signers, public
  JWKs), `verification` (checking a sealed file with only the public key), `sealed_store` (the
  immutable audit container).
- `service`: for the HTTP API, console and seal activity: read history, current evidence (sealed or
  interim), seal an instance, the app's public keys.
- `document`, `render_html`, `render_pdf`, `case_report`, `report`: the report and business
  documents a person reads.

Workflow-specific parts (extras, wording, documents) live in `evidence/`, one module per workflow.
`failure_policy_record(packet)` gives every workflow's extras the failure policy's records:
`unsentNotifications` (best-effort steps that gave up) and `failure` (why a process ended Failed,
what it undid, what stays done).
"""

from audit_packets.case_report import BusinessDocument, CaseProfile, Decision
from audit_packets.history import (
    ACTOR_KEYS,
    CUSTOM_STATUS_NOTE,
    FORMAT,
    PRINCIPAL_KEYS,
    Redactor,
    actor_of,
    decision_records,
    failure_policy_record,
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
from audit_packets.report import STYLE_SHA256, render_html, render_pdf, report_document
from audit_packets.sealing import INTERIM_FORMAT, PACKET_FORMAT, SealRefusedError, SealRequest, SealResult
from audit_packets.service import (
    Evidence,
    current_evidence,
    read_audit_status,
    seal_instance,
    status_as_dict,
    trusted_public_keys,
    verify_stored,
)
from audit_packets.verification import SEALED_FORMAT, Verification, verify_sealed_bytes

__all__ = [
    "ACTOR_KEYS",
    "CUSTOM_STATUS_NOTE",
    "DEFAULT_EXTRA_KEYS",
    "FORMAT",
    "INTERIM_FORMAT",
    "PACKET_FORMAT",
    "PRINCIPAL_KEYS",
    "SEALED_FORMAT",
    "STYLE_SHA256",
    "BusinessDocument",
    "CaseProfile",
    "Decision",
    "Evidence",
    "Redactor",
    "SealRefusedError",
    "SealRequest",
    "SealResult",
    "Verification",
    "actor_of",
    "current_evidence",
    "decision_records",
    "failure_policy_record",
    "loads_json",
    "normalise_key",
    "packet_from_history",
    "packet_redactor",
    "principal_of",
    "read_audit_status",
    "redact_value",
    "redaction_keys",
    "render_html",
    "render_pdf",
    "report_document",
    "seal_instance",
    "status_as_dict",
    "trusted_public_keys",
    "verify_sealed_bytes",
    "verify_stored",
]
