# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""Audit evidence over HTTP: the sealed packet, its report, the business documents, the keys.

Each workflow's API module serves its own cases with `serve_case_evidence` (`GET
<collection>/{id}/audit`, `.../audit/report?format=html|pdf`, `.../documents/{name}.{pdf|html}`,
registered as `get_<resource>_audit`, `get_<resource>_audit_report`, `get_<resource>_document`);
this module adds the routes that work for any instance:

- `GET audit/packets/{instanceId}`: the sealed packet as stored (canonical JSON, the same bytes on
  every read, headers `Audit-Packet-Version`, `Audit-Packet-Digest`, `Audit-Packet-Verification`),
  or 409 with an interim snapshot when the instance is not sealed (never stored), 404 when neither
  the instance nor a packet exists. `ops audit verify` and `ops instances purge` read it.
- `POST audit/packets/{instanceId}/seal` with a JSON body (`{"reason": ...}`; 415 without one, like
  every write, so a cross-site form cannot trigger it with a signed-in browser's cookie): seal an
  instance its workflow could not seal itself (terminated, failed and not to be rewound, or finished
  before sealing existed). 201 with the receipt, 200 when it was already sealed, 409 while it still
  runs.
- `GET audit/signing-keys`: the public keys sealed packets are signed with (a JWK set).

Reads never write. A sealed read is checked against the app's own public keys and the outcome is
reported in `Audit-Packet-Verification` (`ok`, or what is wrong).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import Field

from api.access import authorize
from api.endpoints import durable_route
from api.errors import Conflict, InstanceNotFound, InvalidRequest
from api.handlers import json_errors, json_response
from api.validation import parse_body, route_identifier
from audit_packets.case_report import CaseProfile
from audit_packets.render_html import STYLE_SHA256, document_html
from audit_packets.render_pdf import document_pdf
from audit_packets.report import report_document
from audit_packets.sealed_store import SealedStore
from audit_packets.sealing import SealRefusedError, SealRequest
from audit_packets.service import (
    Evidence,
    current_evidence,
    seal_instance,
    trusted_public_keys,
    verify_stored,
)
from contracts import ContractModel
from durable_wire import INSTANCE_ID, INSTANCE_ID_RULE
from evidence import profile_for
from identity import Permission

bp = df.Blueprint()

_DOCUMENT = re.compile(r"^(?P<name>[a-z][a-z0-9-]{0,63})\.(?P<format>pdf|html)$")
REPORT_FORMATS = ("html", "pdf")


class SealBody(ContractModel):
    """Body of `POST audit/packets/{instanceId}/seal`."""

    reason: Annotated[str, Field(max_length=200)] | None = None


def instance_route_id(req: func.HttpRequest) -> str:
    """The `instanceId` route parameter, one the Durable HTTP API can address (durable_wire.INSTANCE_ID)."""
    value = str(req.route_params.get("instanceId", ""))
    if not INSTANCE_ID.fullmatch(value):
        raise InvalidRequest("instanceId", f"must be {INSTANCE_ID_RULE}")
    return value


def _headers(evidence: Evidence, *, check: bool = True) -> dict[str, str]:
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if evidence.stored is None:
        headers["Audit-Packet-Sealed"] = "false"
        return headers
    headers["Audit-Packet-Sealed"] = "true"
    headers["Audit-Packet-Version"] = evidence.stored.version
    headers["Audit-Packet-Digest"] = str(evidence.envelope.get("seal", {}).get("digest", ""))
    if check:
        verification = verify_stored(evidence.stored)
        if verification.ok:
            text = "ok"
        elif verification.problems[0].startswith("not checked"):
            text = verification.problems[0]
        else:
            text = "FAILED: " + "; ".join(verification.problems)
        headers["Audit-Packet-Verification"] = re.sub(r"[\r\n]+", " ", text)[:1000]
    return headers


async def evidence_of(
    client: df.DurableOrchestrationClient,
    instance_id: str,
    profile: CaseProfile | None,
    resource: str,
    identifier: str,
) -> Evidence:
    """The instance's evidence, or 404 naming the business id."""
    evidence = await current_evidence(client, instance_id, profile)
    if evidence is None:
        raise InstanceNotFound(resource, identifier)
    return evidence


def packet_response(evidence: Evidence) -> func.HttpResponse:
    """The sealed packet's stored bytes, or the interim snapshot (clearly marked) as JSON."""
    if evidence.stored is not None:
        return func.HttpResponse(
            evidence.stored.content, status_code=200, mimetype="application/json", headers=_headers(evidence)
        )
    return json_response(evidence.interim, 200, headers=_headers(evidence))


def _file_stem(evidence: Evidence) -> str:
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in evidence.instance_id)
    return stem if evidence.sealed else f"{stem}-interim"


def report_response(evidence: Evidence, report_format: str) -> func.HttpResponse:
    """The audit report as an HTML page or a PDF download."""
    if report_format not in REPORT_FORMATS:
        raise InvalidRequest("format", "must be 'html' or 'pdf'")
    document = report_document(evidence.envelope, evidence.profile, evidence.stored_reference())
    headers = _headers(evidence, check=False)
    if report_format == "pdf":
        headers["Content-Disposition"] = f'attachment; filename="audit-report-{_file_stem(evidence)}.pdf"'
        return func.HttpResponse(document_pdf(document), mimetype="application/pdf", headers=headers)
    headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'sha256-{STYLE_SHA256}'; frame-ancestors 'none'; base-uri 'none'"
    )
    headers["Content-Disposition"] = f'inline; filename="audit-report-{_file_stem(evidence)}.html"'
    return func.HttpResponse(document_html(document), mimetype="text/html", charset="utf-8", headers=headers)


def document_response(evidence: Evidence, document: str) -> func.HttpResponse:
    """A business document as sealed (PDF or HTML); 409 while the case is not sealed."""
    match = _DOCUMENT.fullmatch(document)
    if match is None:
        raise InvalidRequest("document", "must be <name>.pdf or <name>.html, e.g. release-certificate.pdf")
    if evidence.stored is None:
        raise Conflict(
            f"instance {evidence.instance_id!r} is not sealed yet: "
            "its documents are issued when it is sealed",
            state="not sealed",
        )
    listed = evidence.envelope.get("packet", {}).get("documents") or []
    entry = next(
        (d for d in listed if d.get("name") == match["name"] and d.get("format") == match["format"]), None
    )
    if entry is None:
        names = ", ".join(f"{d.get('name')}.{d.get('format')}" for d in listed) or "none"
        raise InstanceNotFound("document", f"{document} (this case has: {names})")
    stored = SealedStore.from_settings().read(str(entry["blob"]))
    if stored is None:
        raise InstanceNotFound("document", document)
    headers = _headers(evidence, check=False)
    headers["Content-Disposition"] = (
        f'attachment; filename="{match["name"]}-{_file_stem(evidence)}.{match["format"]}"'
    )
    if match["format"] == "html":
        headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'sha256-{STYLE_SHA256}'; frame-ancestors 'none'; base-uri 'none'"
        )
    media = "application/pdf" if match["format"] == "pdf" else "text/html"
    return func.HttpResponse(stored.content, mimetype=media, headers=headers)


# -- routes for the cases of one workflow ---------------------------------------------------------


def serve_case_evidence(
    blueprint: df.Blueprint, profile: CaseProfile, *, resource: str, id_parameter: str
) -> None:
    """Register the three evidence routes of `profile`'s workflow on its blueprint (Operations roles).

    `GET <collection>/{<id_parameter>}/audit` (`get_<resource>_audit`): the sealed packet as stored
    once sealed, else an interim snapshot; `.../audit/report` (`get_<resource>_audit_report`): the
    report for a person, `format=html` (default) or `pdf`; `.../documents/{document}`
    (`get_<resource>_document`): a business document as sealed, 409 before. 404 names the `resource`.
    """
    workflow = profile.workflow
    function = resource.replace(" ", "_")
    audit, audit_report, document = (
        f"get_{function}_{suffix}" for suffix in ("audit", "audit_report", "document")
    )
    case_route = f"{workflow.collection}/{{{id_parameter}}}"

    async def case_evidence(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> Evidence:
        authorize(req, Permission.READ_OPERATIONS)
        identifier = route_identifier(req, id_parameter)
        return await evidence_of(client, workflow.instance_id(identifier), profile, resource, identifier)

    @durable_route(blueprint, f"{case_route}/audit", "GET", name=audit)
    async def get_case_audit(
        req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        """The case's audit packet: sealed (the stored bytes) once finished, else an interim snapshot."""
        return packet_response(await case_evidence(req, client))

    @durable_route(blueprint, f"{case_route}/audit/report", "GET", name=audit_report)
    async def get_case_audit_report(
        req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        """The case's audit report for a person: `format=html` (default, a page) or `format=pdf`."""
        evidence = await case_evidence(req, client)
        return report_response(evidence, str(req.params.get("format") or "html"))

    @durable_route(blueprint, f"{case_route}/documents/{{document}}", "GET", name=document)
    async def get_case_document(
        req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        """A business document of the case as sealed (`<name>.pdf` / `.html`); 409 before."""
        evidence = await case_evidence(req, client)
        return document_response(evidence, str(req.route_params.get("document", "")))


# -- routes for any instance -----------------------------------------------------------------------


@durable_route(bp, "audit/packets/{instanceId}", "GET")
async def get_audit_packet(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The sealed packet as stored; 409 with an interim snapshot when the instance is not sealed."""
    authorize(req, Permission.READ_OPERATIONS)
    instance_id = instance_route_id(req)
    evidence = await evidence_of(client, instance_id, profile_for(instance_id), "instance", instance_id)
    if evidence.interim is not None:  # a 409 says why in `error`, like every error body of the API
        notice = str(evidence.interim.get("notice") or "not sealed yet")
        return json_response({"error": notice, **evidence.interim}, 409, headers=_headers(evidence))
    return packet_response(evidence)


@durable_route(bp, "audit/packets/{instanceId}/seal", "POST")
async def seal_audit_packet_now(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Seal a finished instance that has no sealed packet (its workflow seals new instances itself)."""
    operator = authorize(req, Permission.OPERATE_INSTANCES)
    instance_id = instance_route_id(req)
    sealing = parse_body(req, SealBody)  # a declared JSON body (415 otherwise): no cross-site form seals
    # `?reason=` still works (the first clients sent it there); the body's wins.
    reason = str(sealing.reason or req.params.get("reason") or "").strip()[:200] or None
    status = await client.get_status(instance_id)
    profile = profile_for(instance_id, status.name if status.runtime_status is not None else None)
    try:
        result = await seal_instance(
            client,
            SealRequest(
                instance_id=instance_id, sealed_by="operator", reason=reason, operator=operator.to_dict()
            ),
            profile,
            wait_seconds=0,
        )
    except SealRefusedError as error:
        raise Conflict(
            str(error), state=status.runtime_status.value if status.runtime_status else None
        ) from None
    if result is None:
        raise InstanceNotFound("instance", instance_id)
    body: dict[str, Any] = {
        "instanceId": instance_id,
        "alreadySealed": result.already_sealed,
        "container": result.container,
        "blob": result.stored.name,
        "version": result.stored.version,
        "digest": result.digest,
        "keyId": result.key_id,
        "sequence": result.sequence,
    }
    return json_response(body, 200 if result.already_sealed else 201)


@bp.route(route="audit/signing-keys", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
def get_audit_signing_keys(req: func.HttpRequest) -> func.HttpResponse:
    """The public keys sealed packets are signed with (RFC 7517 JWK set)."""
    authorize(req, Permission.READ_OPERATIONS)
    body = json.dumps({"keys": trusted_public_keys()})
    # Public keys: cacheable for a few minutes, unlike every other JSON answer (api/handlers.py).
    return func.HttpResponse(
        body,
        mimetype="application/jwk-set+json",
        headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
    )
