"""Sealing: build an instance's final audit packet once, sign it, store it where it cannot change.

`seal_from_status` is the whole step after the history has been read (it does blocking I/O: storage
and Key Vault; the async callers run it in a thread):

1. Decide the final state: the workflow's own seal (its last activity: the instance is about to
   complete with `output`, and its custom status must already show `finalStage`, see
   audit_packets/seal_step.py), or an operator's seal of an instance that finished without one
   (Completed before sealing existed, Terminated, Failed).
2. Already sealed for this execution and final state? Return that packet (a retry, a second
   delivery, a host crash after the write): sealing happens once.
3. Build the packet (format `durable-audit/2`): the history walk, the workflow's extras, the app's
   version and commit, the task hub, how it was sealed, and the redaction in force.
4. Render and store the workflow's business documents (PDF and HTML) create-only, and list each
   with its SHA-256 in the packet, so the signature covers them too.
5. Digest the packet's RFC 8785 canonical bytes (SHA-256), sign the digest (ES256), and store the
   envelope `{"format", "packet", "seal"}` in canonical form, create-only. A concurrent writer that
   got there first wins; we return what it stored.

The envelope in the audit container is what every read serves, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from audit_packets.canonical import CANONICALIZATION, DIGEST_ALGORITHM, canonical_bytes
from audit_packets.case_report import CaseProfile
from audit_packets.history import loads_json, packet_from_history
from audit_packets.redaction import packet_redactor, redaction_keys
from audit_packets.render_html import document_html
from audit_packets.render_pdf import document_pdf
from audit_packets.sealed_store import (
    DOCUMENTS_FOLDER,
    AlreadySealedError,
    SealedStore,
    StoredBlob,
    execution_label,
    packet_file_name,
)
from audit_packets.signing import PacketSigner, jwk_thumbprint
from audit_packets.verification import SEALED_FORMAT
from blob_clients import TASK_HUB_SETTING
from contracts import utc_text
from contracts.setting_files import PROJECT_ROOT
from durable_wire import TERMINAL_STATUSES
from telemetry import REDACTED, SENSITIVE_KEYS, SENSITIVE_SUFFIXES

PACKET_FORMAT = "durable-audit/2"
INTERIM_FORMAT = "durable-audit-interim/1"
APP_NAME = "durable-workflows"
APP_VERSION_SETTING = "APP_VERSION"
APP_COMMIT_SETTING = "APP_COMMIT"
SealedBy = Literal["workflow", "operator"]


class SealRefusedError(Exception):
    """The instance cannot be sealed now (still running, or unknown); the message says why."""


class HistoryNotStoredYetError(Exception):
    """The runtime has not stored the history of the sealing episode yet: retry shortly."""


@dataclass(frozen=True)
class SealRequest:
    """What to seal: the workflow's own final step, or an operator's seal of a finished instance."""

    instance_id: str
    sealed_by: SealedBy
    final_stage: str | None = None  # workflow seals: the stage the final episode published
    finished_at: str | None = None  # workflow seals: the orchestration's clock at its last step
    output: Mapping[str, Any] | None = None  # workflow seals: the output it is about to return
    reason: str | None = None  # operator seals: why
    operator: Mapping[str, Any] | None = None  # operator seals: the signed-in principal who asked


@dataclass(frozen=True)
class SealResult:
    """The stored envelope, where it is, and whether this call wrote it."""

    envelope: dict[str, Any]
    stored: StoredBlob
    container: str
    sequence: int
    already_sealed: bool

    @property
    def digest(self) -> str:
        """The packet's SHA-256 (hex)."""
        return str(self.envelope["seal"]["digest"])

    @property
    def key_id(self) -> str:
        """The signing key's id."""
        return str(self.envelope["seal"]["keyId"])


def app_identity(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The app's name, version and commit: from `APP_VERSION`/`APP_COMMIT` (set by the release),
    else pyproject.toml and the git checkout (local runs), else `unknown`."""
    env = os.environ if environ is None else environ
    version = env.get(APP_VERSION_SETTING, "").strip()
    if not version:
        try:
            version = str(tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"])
        except (OSError, KeyError, ValueError):
            version = "unknown"
    commit = env.get(APP_COMMIT_SETTING, "").strip() or _git_commit() or "unknown"
    return {"name": APP_NAME, "version": version, "commit": commit}


def _git_commit() -> str | None:
    if not (PROJECT_ROOT / ".git").exists():
        return None
    try:
        answer = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = answer.stdout.strip()
    return text if answer.returncode == 0 and len(text) == 40 else None


def redaction_record(extra_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The redaction in force when the packet was built (stated once in every report)."""
    keys = sorted(set(SENSITIVE_KEYS) | set(redaction_keys(extra_keys)))
    return {
        "marker": REDACTED,
        "keys": keys,
        "keySuffixes": sorted(SENSITIVE_SUFFIXES),
        "textPatterns": ["e-mail addresses", "card numbers (Luhn-valid)", "phone numbers"],
    }


def build_packet(
    status: Mapping[str, Any],
    profile: CaseProfile | None,
    *,
    workflow: str,
    now: datetime,
    environ: Mapping[str, str] | None = None,
    completion: tuple[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The redacted packet of one instance; `completion` = (finished at, output) for a workflow seal."""
    env = os.environ if environ is None else environ
    extra_keys = profile.redact_keys if profile else ()
    redactor = packet_redactor(extra_keys)
    packet = packet_from_history(status, redactor)
    if completion is not None:
        at, output = completion
        packet["instance"]["runtimeStatus"] = "Completed"
        packet["outcome"] = {"status": "Completed", "output": redactor(loads_json(dict(output))), "at": at}
    packet["format"] = PACKET_FORMAT
    packet["workflow"] = workflow
    if profile is not None:
        packet.update(redactor(profile.extras(packet)))
    packet["generatedAt"] = utc_text(now)
    packet["app"] = app_identity(env)
    packet["taskHub"] = env.get(TASK_HUB_SETTING, "").strip() or None
    packet["redaction"] = redaction_record(extra_keys)
    return packet


def interim_envelope(
    status: Mapping[str, Any], profile: CaseProfile | None, *, workflow: str, now: datetime | None = None
) -> dict[str, Any]:
    """A clearly marked snapshot of an instance that is not sealed (never stored as the record)."""
    moment = now or datetime.now(UTC)
    packet = build_packet(status, profile, workflow=workflow, now=moment)
    runtime = str(status.get("runtimeStatus"))
    if runtime in TERMINAL_STATUSES:
        why = (
            f"the instance is {runtime} but has no sealed packet (it finished before sealing existed, or was "
            "terminated or failed): seal it with POST /api/audit/packets/{instanceId}/seal"
        )
    else:
        why = f"the instance is {runtime}: its packet is sealed when it reaches its final state"
    return {
        "format": INTERIM_FORMAT,
        "interim": True,
        "sealed": False,
        "notice": f"Interim snapshot generated {packet['generatedAt']}, not the audit record: {why}.",
        "packet": packet,
    }


def _already_sealed(envelope: Mapping[str, Any], request: SealRequest, status: Mapping[str, Any]) -> bool:
    sealing = (envelope.get("packet") or {}).get("sealing") or {}
    if sealing.get("finalStatus") == "Completed":  # an execution completes once: nothing can follow
        return request.sealed_by == "workflow" or status.get("runtimeStatus") == "Completed"
    return request.sealed_by == "operator" and bool(
        sealing.get("finalStatus") == status.get("runtimeStatus")
        and sealing.get("lastUpdatedTime") == status.get("lastUpdatedTime")
    )


def seal_from_status(
    status: Mapping[str, Any],
    profile: CaseProfile | None,
    request: SealRequest,
    *,
    store: SealedStore,
    signer: PacketSigner,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> SealResult:
    """Seal one instance from its status with history (steps 1-5 of the module docstring)."""
    moment = now or datetime.now(UTC)
    runtime = str(status.get("runtimeStatus"))
    if request.sealed_by == "workflow":
        custom = loads_json(status.get("customStatus"))
        stage = custom.get("stage") if isinstance(custom, dict) else None
        if runtime not in ("Running", "Completed") or stage != request.final_stage:
            raise HistoryNotStoredYetError(
                f"{request.instance_id}: status shows stage {stage!r} ({runtime}), waiting for "
                f"{request.final_stage!r}"
            )
        final_status = "Completed"
    else:
        if runtime not in TERMINAL_STATUSES:
            raise SealRefusedError(
                f"instance {request.instance_id!r} is {runtime}: a packet is sealed only when the "
                "instance has "
                "finished (its workflow seals it itself at the end)"
            )
        final_status = runtime
    execution = execution_label(str(status.get("createdTime") or ""))
    folder = store.folder(request.instance_id, execution)
    latest = store.latest_packet_name(request.instance_id, execution)
    sequence = 1
    if latest is not None:
        existing = store.read(latest[1])
        if existing is not None:
            envelope = json.loads(existing.content)
            if _already_sealed(envelope, request, status):
                return SealResult(envelope, existing, store.container_name, latest[0], already_sealed=True)
        sequence = latest[0] + 1

    workflow = profile.workflow.name if profile else str(status.get("name") or "unknown")
    completion = None
    if request.sealed_by == "workflow":
        completion = (str(request.finished_at or utc_text(moment)), request.output or {})
    packet = build_packet(
        status, profile, workflow=workflow, now=moment, environ=environ, completion=completion
    )
    packet["sealing"] = {
        "sealedAt": utc_text(moment),
        "sealedBy": "the workflow's final step"
        if request.sealed_by == "workflow"
        else f"an operator after the instance finished ({request.reason or 'no reason given'})",
        "operator": dict(request.operator) if request.operator else None,
        "finalStatus": final_status,
        "lastUpdatedTime": status.get("lastUpdatedTime"),
        "execution": execution,
        "sequence": sequence,
    }
    packet["documents"] = (
        _store_documents(packet, profile, store, folder, sequence)
        if profile and final_status == "Completed"
        else []
    )

    digest = hashlib.sha256(canonical_bytes(packet)).digest()
    signature = signer.sign_digest(digest)
    jwk = next((k for k in signer.public_keys() if k.get("kid") == signature.key_id), None)
    envelope = {
        "format": SEALED_FORMAT,
        "packet": packet,
        "seal": {
            "canonicalization": CANONICALIZATION,
            "digestAlgorithm": DIGEST_ALGORITHM,
            "digest": digest.hex(),
            "signatureAlgorithm": signature.algorithm,
            "signature": signature.value_b64url,
            "keyId": signature.key_id,
            "keyThumbprint": jwk_thumbprint(jwk) if jwk else None,
        },
    }
    name = f"{folder}/{packet_file_name(sequence)}"
    try:
        stored = store.create(name, canonical_bytes(envelope), "application/json")
    except AlreadySealedError:
        existing = store.read(name)
        if existing is None:  # pragma: no cover - the blob existed a moment ago and is immutable
            raise
        return SealResult(json.loads(existing.content), existing, store.container_name, sequence, True)
    return SealResult(envelope, stored, store.container_name, sequence, already_sealed=False)


DOCUMENT_FORMATS = (("pdf", "application/pdf"), ("html", "text/html; charset=utf-8"))


def document_blob_name(folder: str, name: str, sequence: int, extension: str) -> str:
    """`<folder>/documents/<name>[.<sequence>].<pdf|html>`."""
    suffix = "" if sequence <= 1 else f".{sequence}"
    return f"{folder}/{DOCUMENTS_FOLDER}/{name}{suffix}.{extension}"


def _store_documents(
    packet: dict[str, Any], profile: CaseProfile, store: SealedStore, folder: str, sequence: int
) -> list[dict[str, Any]]:
    business_id = profile.business_id(str(packet["instance"]["instanceId"]))
    listed = []
    for business_document in profile.documents(packet):
        renders = {
            "pdf": lambda d=business_document.document: document_pdf(d),
            "html": lambda d=business_document.document: document_html(d).encode(),
        }
        for extension, media_type in DOCUMENT_FORMATS:
            blob_name = document_blob_name(folder, business_document.name, sequence, extension)
            content = renders[extension]()
            try:
                stored = store.create(blob_name, content, media_type)
            except AlreadySealedError:  # a retry after a crash: the first rendering is the document
                existing = store.read(blob_name)
                if existing is None:  # pragma: no cover
                    raise
                stored = existing
            listed.append(
                {
                    "name": business_document.name,
                    "title": business_document.title,
                    "format": extension,
                    "mediaType": media_type,
                    "blob": blob_name,
                    "size": len(stored.content),
                    "sha256": hashlib.sha256(stored.content).hexdigest(),
                    "href": f"/api/{profile.workflow.collection}/{business_id}/documents/"
                    f"{business_document.name}.{extension}",
                }
            )
    return listed
