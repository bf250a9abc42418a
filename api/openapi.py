# mypy: disable-error-code="untyped-decorator"
"""The OpenAPI 3.1 document of the app's own HTTP API, generated, and `GET /api/openapi.json`.

Single source: paths, methods and path parameters come from the HTTP triggers the workflows' API
blueprints register; request bodies are the JSON Schemas of the pydantic models those endpoints
validate with (`parse_body(req, Model)`); path parameters use the pattern `route_identifier`
enforces. Only what code cannot say is declared here, in `OPERATIONS`: which model a function
parses, its success status and response shape, and which error statuses it answers.

`openapi.json` at the repository root is this document, committed; `python -m api.openapi` writes
it and `python -m api.openapi --check` fails when it differs (tests/reliability runs the check).
The read-only sandbox view (`sandbox/{system}`) is not part of the API: it is registered only
where the sandboxes are selected.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from api.access import authenticate
from api.audit import SealBody
from api.audit import bp as audit_api_bp
from api.fare_dispute import FileFareDisputeRequest, SubmitEvidenceRequest, SupervisorDecisionRequest
from api.handlers import json_errors, json_text_response
from api.health import bp as health_bp
from api.maintenance_order import ApprovalRequest, MaintenanceOrderRequest
from api.relief_routing import ShelterConfirmationRequest
from api.validation import IDENTIFIER_PATTERN, MAX_BODY_BYTES
from contracts import ContractModel
from contracts.relief_routing import ReliefChangeRequest, ReliefRequest
from durable_wire import INSTANCE_ID_PATTERN, INSTANCE_ID_RULE
from identity import Permission, roles_granting
from integrations.inventory import StockLevel
from workflow_catalogue import WORKFLOWS

DOCUMENT_PATH = Path(__file__).resolve().parents[1] / "openapi.json"
ROUTE_PREFIX = "/api"
# Money amounts are decimal strings on the wire (contracts.Money), never JSON numbers.
AMOUNT_PATTERN = r"^-?\d{1,12}(\.\d{1,4})?$"
# Functions registered by the API blueprints that the document leaves out on purpose.
UNDOCUMENTED_FUNCTIONS = frozenset({"sandbox_state"})
# Routes of function_app.py that are not this JSON API: the sandbox view (registered only with the
# sandboxes) and the operator console (HTML pages).
UNDOCUMENTED_ROUTE_PREFIXES = ("sandbox/", "console")

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Operation:
    """What the code of one HTTP function does not declare itself."""

    summary: str
    tag: str
    success_status: int
    success_schema: str
    request_model: type[ContractModel] | None = None
    # Body fields the endpoint fills in itself when missing (e.g. a generated changeId).
    optional_body_fields: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    success_headers: tuple[str, ...] = ()
    # A valid body (for the document's readers and the fuzzer's first requests).
    example: dict[str, Any] | None = None
    # What the caller must be allowed to do (api.access); None with `authenticated`: any principal.
    permission: Permission | None = None
    authenticated: bool = True
    # Media types of the success response other than JSON (reports and documents: HTML, PDF).
    success_media: tuple[str, ...] = ()
    # Other success statuses and their schemas (e.g. 200 when a seal already existed).
    other_successes: tuple[tuple[int, str], ...] = ()
    # Query parameters: (name, description, JSON schema).
    query: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    # Error statuses whose body is another schema than the default one for that status.
    error_schemas: tuple[tuple[int, str], ...] = ()


def _evidence_operations(tag: str, noun: str, documents: str) -> dict[str, Operation]:
    """The three evidence routes every workflow serves (api/audit.py)."""
    function = noun.replace(" ", "_")
    return {
        f"get_{function}_audit": Operation(
            f"A {noun}'s audit packet: sealed (the stored bytes) once finished, else an interim snapshot",
            tag,
            200,
            "AuditPacket",
            errors=(400, 404, 500),
            success_headers=AUDIT_HEADERS,
            permission=Permission.READ_OPERATIONS,
        ),
        f"get_{function}_audit_report": Operation(
            f"A {noun}'s audit report for a person (HTML page or PDF)",
            tag,
            200,
            "BinaryDocument",
            errors=(400, 404, 500),
            success_media=("text/html", "application/pdf"),
            query=(REPORT_FORMAT_PARAMETER,),
            permission=Permission.READ_OPERATIONS,
        ),
        f"get_{function}_document": Operation(
            f"The {documents} sealed with the {noun}'s audit packet (PDF or HTML)",
            tag,
            200,
            "BinaryDocument",
            errors=(400, 404, 409, 500),
            success_media=("application/pdf", "text/html"),
            permission=Permission.READ_OPERATIONS,
        ),
    }


def _event(
    summary: str,
    tag: str,
    schema: str,
    model: type[ContractModel],
    permission: Permission,
    *,
    example: dict[str, Any],
    optional_body_fields: tuple[str, ...] = (),
) -> Operation:
    """An input for a running case (a decision, evidence, a change): 202, or 404/409."""
    return Operation(
        summary,
        tag,
        202,
        schema,
        model,
        optional_body_fields=optional_body_fields,
        errors=(400, 404, 409, 413, 415, 500),
        example=example,
        permission=permission,
    )


def _start(
    summary: str, tag: str, schema: str, model: type[ContractModel], example: dict[str, Any]
) -> Operation:
    """A workflow's start: like an event, but 409 (not 404) for a case that exists, and `Location`."""
    start = _event(summary, tag, schema, model, Permission.START_WORKFLOW, example=example)
    return replace(start, errors=(400, 409, 413, 415, 500), success_headers=("Location",))


def _status(summary: str, tag: str, schema: str) -> Operation:
    """A case's status resource (`GET <collection>/{id}`), for any role that reads status."""
    return Operation(
        summary, tag, 200, schema, errors=(400, 404, 500), permission=Permission.READ_WORKFLOW_STATUS
    )


AUDIT_HEADERS = (
    "Audit-Packet-Sealed",
    "Audit-Packet-Version",
    "Audit-Packet-Digest",
    "Audit-Packet-Verification",
)
REPORT_FORMAT_PARAMETER = (
    "format",
    "`html` (default): a page; `pdf`: a PDF download",
    {"type": "string", "enum": ["html", "pdf"], "default": "html"},
)


def _operations() -> dict[str, Operation]:
    """The declarative table, keyed by the HTTP function's registered name."""
    return {
        **_evidence_operations(
            "maintenance order", "maintenance order", "release certificate / compliance pack"
        ),
        **_evidence_operations("fare dispute", "fare dispute", "dispute resolution letter"),
        **_evidence_operations("relief routing", "relief request", "donor delivery report"),
        "get_audit_packet": Operation(
            "Any instance's sealed audit packet as stored; 409 with an interim snapshot when not sealed",
            "audit",
            200,
            "SealedAuditPacket",
            errors=(400, 404, 409, 500),
            success_headers=AUDIT_HEADERS,
            error_schemas=((409, "InterimAuditPacket"),),
            permission=Permission.READ_OPERATIONS,
        ),
        "seal_audit_packet_now": Operation(
            "Seal a finished instance its workflow did not seal (terminated, failed, or older)",
            "audit",
            201,
            "SealReceipt",
            SealBody,
            errors=(400, 404, 409, 413, 415, 500),
            other_successes=((200, "SealReceipt"),),
            example={"reason": "terminated by the duty supervisor; sealed for the record"},
            permission=Permission.OPERATE_INSTANCES,
            query=(
                (
                    "reason",
                    "Why it is sealed by hand (recorded in the packet); the body's `reason` wins",
                    {"type": "string", "maxLength": 200},
                ),
            ),
        ),
        "get_audit_signing_keys": Operation(
            "The public keys sealed audit packets are signed with (JWK set)",
            "audit",
            200,
            "JwkSet",
            errors=(500,),
            success_media=("application/jwk-set+json",),
            permission=Permission.READ_OPERATIONS,
        ),
        "health": Operation(
            "Platform health check: 200 while storage answers, 503 otherwise",
            "platform",
            200,
            "Health",
            errors=(503,),
            authenticated=False,
            error_schemas=((503, "Health"),),
        ),
        "openapi_document": Operation("This document", "platform", 200, "OpenApiDocument"),
        "start_maintenance_order": _start(
            "Start a maintenance order (instance maintenance-<orderId>)",
            "maintenance order",
            "MaintenanceOrderView",
            MaintenanceOrderRequest,
            {
                "orderId": "order-example-1",
                "assetId": "A320-MSN-4711",
                "customer": {"name": "Pat Customer", "email": "pat.customer@example.com"},
                "inspection": {
                    "inspector": "Ines Inspector",
                    "findings": [{"code": "CORR-12", "severity": "high", "partNumbers": ["P-1", "P-2"]}],
                },
            },
        ),
        "approve_maintenance_order": _event(
            "Approve or reject a maintenance order",
            "maintenance order",
            "MaintenanceApprovalAccepted",
            ApprovalRequest,
            Permission.APPROVE_MAINTENANCE_ORDER,
            example={"approved": True, "comment": "parts checked"},
        ),
        "get_maintenance_order": _status(
            "A maintenance order's stage, what it waits for, deadlines and outcome",
            "maintenance order",
            "MaintenanceOrderView",
        ),
        "file_fare_dispute": _start(
            "File a fare dispute (instance fare-dispute-<disputeId>)",
            "fare dispute",
            "FareDisputeView",
            FileFareDisputeRequest,
            {
                "disputeId": "dispute-example-1",
                "customerId": "cust-ana",
                "tripId": "trip-overcharged",
                "reason": "overcharge",
                "claimedAmount": {"amount": "2.40", "currency": "EUR"},
            },
        ),
        "submit_fare_dispute_evidence": _event(
            "Customer evidence for a dispute that waits for it",
            "fare dispute",
            "FareDisputeEventAccepted",
            SubmitEvidenceRequest,
            Permission.SUBMIT_EVIDENCE,
            example={"description": "I tapped out at Central", "documents": [{"documentId": "receipt-1"}]},
        ),
        "decide_fare_dispute": _event(
            "A supervisor's decision for a dispute that waits for it",
            "fare dispute",
            "FareDisputeEventAccepted",
            SupervisorDecisionRequest,
            Permission.DECIDE_FARE_DISPUTE,
            example={
                "decision": "partial",
                "refundAmount": {"amount": "1.00", "currency": "EUR"},
            },
        ),
        "get_fare_dispute": _status(
            "A dispute's stage, SLA due time, what it waits for, and the outcome",
            "fare dispute",
            "FareDisputeView",
        ),
        "start_relief_request": _start(
            "Start a relief request (instance relief-<requestId>)",
            "relief routing",
            "ReliefRequestView",
            ReliefRequest,
            {
                "requestId": "relief-example-1",
                "priority": 2,
                "shelters": [
                    {"shelterId": "shelter-bayview-school", "items": [{"sku": "water", "pallets": 2}]}
                ],
            },
        ),
        "change_relief_request": _event(
            "Change (add, re-size, remove shelters) or cancel a relief request",
            "relief routing",
            "ReliefChangeAccepted",
            ReliefChangeRequest,
            Permission.CHANGE_RELIEF_REQUEST,
            example={
                "shelters": [
                    {"shelterId": "shelter-hilltop-center", "items": [{"sku": "blanket", "pallets": 1}]}
                ]
            },
            optional_body_fields=("changeId",),
        ),
        "confirm_relief_delivery": _event(
            "A shelter confirms it received its pallets",
            "relief routing",
            "ReliefConfirmationAccepted",
            ShelterConfirmationRequest,
            Permission.CONFIRM_SHELTER_DELIVERY,
            example={
                "shelterId": "shelter-bayview-school",
                "receivedItems": [{"sku": "water", "pallets": 2}],
            },
        ),
        "get_relief_request": _status(
            "A relief request's stage, per-shelter state, next escalation and outcome",
            "relief routing",
            "ReliefRequestView",
        ),
        "get_relief_inventory": Operation(
            "Stock, reserved, delivered and available pallets per depot and SKU",
            "relief routing",
            200,
            "Inventory",
            errors=(500,),
            permission=Permission.READ_OPERATIONS,
        ),
    }


def documented_blueprints() -> list[Any]:
    """The blueprints whose HTTP functions make up the API (function_app.py registers each)."""
    return [health_bp, *(workflow.blueprint("api") for workflow in WORKFLOWS), audit_api_bp, bp]


@dataclass(frozen=True)
class HttpFunction:
    """One registered HTTP trigger."""

    name: str
    route: str
    methods: tuple[str, ...]
    auth_level: str


def http_functions(blueprints: Iterable[Any]) -> list[HttpFunction]:
    """The HTTP triggers the blueprints register (route, methods, auth level), in order."""
    app = df.DFApp()
    for blueprint in blueprints:
        app.register_functions(blueprint)
    return registered_http_functions(app)


def registered_http_functions(app: func.FunctionRegister) -> list[HttpFunction]:
    """The HTTP triggers registered on an app (function_app.app)."""
    found = []
    for function in app.get_functions():
        trigger = function.get_trigger()
        if trigger is None:
            continue
        binding = trigger.get_dict_repr()
        if str(getattr(binding.get("type"), "value", binding.get("type"))) != "httpTrigger":
            continue
        methods = tuple(str(getattr(m, "value", m)).upper() for m in binding.get("methods") or ())
        found.append(
            HttpFunction(
                name=str(function.get_function_name()),
                route=str(binding.get("route")).strip("/"),
                methods=methods or ("GET", "POST"),
                auth_level=str(getattr(binding.get("authLevel"), "value", binding.get("authLevel"))),
            )
        )
    return found


class _WireJsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, with decimals as the strings `contracts.Money` accepts."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        return {"type": "string", "pattern": AMOUNT_PATTERN}


def _body_schemas(models: Sequence[type[ContractModel]]) -> tuple[dict[str, str], dict[str, Any]]:
    """Component name per model, and every component (nested models included)."""
    keys, top = models_json_schema(
        [(model, "validation") for model in models],
        by_alias=True,
        ref_template="#/components/schemas/{model}",
        schema_generator=_WireJsonSchema,
    )
    names = {model.__name__: str(keys[(model, "validation")]["$ref"]).rsplit("/", 1)[-1] for model in models}
    return names, dict(top.get("$defs", {}))


def _object(description: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """A described JSON Schema object (its keys in the order the document has always listed them)."""
    return {"type": "object", "description": description, "required": required, "properties": properties}


def _error_components() -> dict[str, Any]:
    field_error = {
        "type": "object",
        "required": ["field", "error"],
        "properties": {"field": {"type": "string"}, "error": {"type": "string"}},
    }
    return {
        "FieldError": field_error,
        "ValidationError": _object(
            "400 (and 413, 415): the first bad field in `field`, every bad field in `fields`. "
            "Field paths are camelCase with indexes (`shelters[0].items[1].sku`); `body` is the body as a "
            "whole; a bad path parameter is named by the parameter (`orderId`).",
            ["error", "field", "fields"],
            {
                "error": {"type": "string"},
                "field": {"type": "string", "minLength": 1},
                "fields": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/components/schemas/FieldError"},
                },
            },
        ),
        "Error": _object(
            "404 (unknown instance) and 500 (internal error; details are only logged).",
            ["error"],
            {"error": {"type": "string"}},
        ),
        "AuthenticationError": _object(
            "401 (from the app; App Service Authentication in front answers 401 itself): no "
            "authenticated principal. `signIn` is where a browser signs in.",
            ["error"],
            {"error": {"type": "string"}, "signIn": {"type": "string"}},
        ),
        "AccessDeniedError": _object(
            "403: the signed-in principal may not do this. `requiredRoles` names the app "
            "roles that grant it; `rule` names a broken business rule instead (`maker-checker`: the "
            "principal started the case; `shelter-scope`: the shelter is not assigned to them).",
            ["error"],
            {
                "error": {"type": "string"},
                "requiredRoles": {"type": "array", "items": {"type": "string"}},
                "rule": {"type": "string"},
            },
        ),
        "ConflictError": _object(
            "409: the instance exists but does not take this request now.",
            ["error"],
            {
                "error": {"type": "string"},
                "statusUrl": {
                    "type": "string",
                    "description": "The app's status resource of the instance (`/api/...`), as in `Location`",
                },
                "state": {"type": "string"},
            },
        ),
    }


def _response_components() -> dict[str, Any]:
    text = {"type": "string"}
    nullable_text = {"type": ["string", "null"]}
    view = {"type": "object", "additionalProperties": True}

    def accepted(id_field: str, detail: str, detail_schema: dict[str, Any]) -> dict[str, Any]:
        """202 to an input for a case: the case's ids, `accepted: true` and what was accepted."""
        properties = {id_field: text, "instanceId": text, "accepted": {"const": True}, detail: detail_schema}
        return {"type": "object", "required": list(properties), "properties": properties}

    return {
        "MaintenanceApprovalAccepted": accepted("orderId", "decision", view),
        "FareDisputeEventAccepted": {
            "type": "object",
            "required": ["accepted", "disputeId"],
            "properties": {"accepted": {"const": True}, "disputeId": text},
        },
        "ReliefChangeAccepted": accepted("requestId", "change", view),
        "ReliefConfirmationAccepted": accepted("requestId", "shelterId", text),
        "MaintenanceOrderView": {
            **view,
            "required": ["orderId", "instanceId", "runtimeStatus"],
            "properties": {
                "orderId": text,
                "instanceId": text,
                "runtimeStatus": nullable_text,
                "stage": text,
            },
        },
        "FareDisputeView": {
            **view,
            "required": ["disputeId", "runtimeStatus", "stage", "waitingFor", "escalated", "outcome"],
            "properties": {
                "disputeId": text,
                "instanceId": text,
                "runtimeStatus": nullable_text,
                "stage": nullable_text,
                "slaDue": nullable_text,
                "waitingFor": nullable_text,
                "escalated": {"type": "boolean"},
                "outcome": nullable_text,
            },
        },
        "ReliefRequestView": {
            **view,
            "required": ["requestId", "instanceId", "runtimeStatus"],
            "properties": {
                "requestId": text,
                "instanceId": text,
                "runtimeStatus": nullable_text,
                "stage": text,
            },
        },
        "AuditPacket": {
            "description": "The sealed packet (the stored canonical bytes), or an interim snapshot while the "
            "instance is not sealed (`interim: true`, never stored).",
            "oneOf": [
                {"$ref": "#/components/schemas/SealedAuditPacket"},
                {"$ref": "#/components/schemas/InterimAuditPacket"},
            ],
        },
        "SealedAuditPacket": {
            "type": "object",
            "description": "RFC 8785 canonical JSON, the same bytes on every read. `seal.digest` is the "
            "SHA-256 of the packet's canonical form, `seal.signature` its ES256 signature (JWS form) by "
            "`seal.keyId`.",
            "required": ["format", "packet", "seal"],
            "properties": {
                "format": {"const": "durable-audit-sealed/1"},
                "packet": {
                    **view,
                    "required": [
                        "format",
                        "instance",
                        "outcome",
                        "activities",
                        "events",
                        "workflow",
                        "sealing",
                    ],
                },
                "seal": {
                    **view,
                    "required": ["digest", "signature", "keyId", "signatureAlgorithm", "canonicalization"],
                },
            },
        },
        "InterimAuditPacket": {
            "type": "object",
            "description": "A snapshot built from history for an instance not sealed yet: not the record.",
            "required": ["format", "interim", "sealed", "notice", "packet"],
            "properties": {
                "error": {"type": "string", "description": "On a 409: why there is no sealed packet."},
                "format": {"const": "durable-audit-interim/1"},
                "interim": {"const": True},
                "sealed": {"const": False},
                "notice": text,
                "packet": view,
            },
        },
        "SealReceipt": {
            "type": "object",
            "required": ["instanceId", "alreadySealed", "container", "blob", "version", "digest", "keyId"],
            "properties": {
                "instanceId": text,
                "alreadySealed": {"type": "boolean"},
                "container": text,
                "blob": text,
                "version": text,
                "digest": text,
                "keyId": text,
                "sequence": {"type": "integer"},
            },
        },
        "JwkSet": {
            "type": "object",
            "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": view}},
        },
        "BinaryDocument": {"type": "string", "description": "An HTML page or a PDF file."},
        "Inventory": {
            "type": "object",
            "required": ["networkId", "networkRevision", "levels"],
            "properties": {
                "networkId": text,
                "networkRevision": {"type": "integer"},
                "levels": {"type": "array", "items": {"$ref": "#/components/schemas/StockLevel"}},
            },
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"enum": ["healthy", "unhealthy"]}, "reason": text},
        },
        "OpenApiDocument": {"type": "object", "required": ["openapi", "paths"]},
        "Unavailable": {
            "type": "object",
            "required": ["error", "retryAfter"],
            "properties": {"error": text, "retryAfter": {"type": "integer"}},
        },
    }


_ERROR_RESPONSES = {
    400: ("The request names a bad field (body field or path parameter)", "ValidationError"),
    401: ("No authenticated principal (sign in, or send an Entra ID bearer token)", "AuthenticationError"),
    403: (
        "The signed-in principal lacks the role, or breaks maker-checker or the shelter scope",
        "AccessDeniedError",
    ),
    404: ("No instance with that id", "Error"),
    409: (
        "The instance exists but does not take this request now (Location: its status resource)",
        "ConflictError",
    ),
    413: (f"The body is larger than {MAX_BODY_BYTES} bytes (field `body`)", "ValidationError"),
    415: ("The body is not declared as application/json (field `body`)", "ValidationError"),
    500: ("Internal error; the details are only logged", "Error"),
    503: ("Storage is unreachable; nothing was done: retry after `Retry-After` seconds", "Unavailable"),
}


def _json_content(schema_name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}


# Path parameters that are not business ids (api/audit.py validates them).
SPECIAL_PATH_PARAMETERS: dict[str, tuple[str, dict[str, Any]]] = {
    "instanceId": (
        f"An orchestration instance id (`maintenance-<orderId>`, ...): {INSTANCE_ID_RULE}",
        {"type": "string", "pattern": INSTANCE_ID_PATTERN},
    ),
    "document": (
        "A document and its format: `release-certificate.pdf`, `resolution-letter.html`, ...",
        {"type": "string", "pattern": r"^[a-z][a-z0-9-]{0,63}\.(pdf|html)$"},
    ),
}


def _path_parameters(route: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in route.split("/") if part.startswith("{") and part.endswith("}")]
    business_id = (
        "A business id: 1-64 letters, digits, '-', '_' or '.'; anything else is a 400 naming this parameter.",
        {"type": "string", "pattern": IDENTIFIER_PATTERN},
    )
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": SPECIAL_PATH_PARAMETERS.get(name, business_id)[0],
            "schema": SPECIAL_PATH_PARAMETERS.get(name, business_id)[1],
        }
        for name in names
    ]


def build_document(blueprints: Iterable[Any] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the HTTP functions the blueprints register."""
    operations = _operations()
    functions = [
        function
        for function in http_functions(documented_blueprints() if blueprints is None else blueprints)
        if function.name not in UNDOCUMENTED_FUNCTIONS
    ]
    undeclared = sorted({function.name for function in functions} - operations.keys())
    if undeclared:
        raise ValueError(f"HTTP functions missing from api/openapi.py OPERATIONS: {', '.join(undeclared)}")
    models = [op.request_model for op in operations.values() if op.request_model is not None]
    model_names, schemas = _body_schemas([*dict.fromkeys(models), StockLevel])
    schemas.update(_error_components())
    schemas.update(_response_components())
    paths: dict[str, Any] = {}
    for function in functions:
        operation = operations[function.name]
        path = f"{ROUTE_PREFIX}/{function.route}"
        for method in function.methods:
            paths.setdefault(path, {})[method.lower()] = _operation_object(
                function, operation, _body_component(operation, model_names, schemas)
            )
    _add_links(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Durable workflows HTTP API",
            "version": "1.0.0",
            "description": "Maintenance orders, fare disputes and relief routing on Azure Durable "
            "Functions. Generated "
            "by api/openapi.py from the request models; do not edit openapi.json by hand. Every error "
            "body is JSON: 400/413/415 name the bad field (`field`, `fields`), 404/500 carry `error`, "
            "409 adds the existing instance's status resource (`statusUrl`, also `Location`) and "
            "`state`. A start answers 202 with `Location` and the new instance's status resource; no "
            "response carries a Durable management URL (they hold the system key on Azure). Every "
            "operation but the health check needs an authenticated principal (App Service "
            "Authentication with Microsoft Entra ID: a bearer token, or the sign-in session cookie) "
            "holding the app role the operation names (`x-required-roles`): 401 without one, 403 "
            "without the role. Deciders are the authenticated principal, never a name in the body. A "
            "path that matches no route is the host's 404, without a body.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "entraIdBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Microsoft Entra ID access token for the app registration (audience "
                    "api://<client id>), validated by App Service Authentication. People get app roles by "
                    "assignment, services (client credentials) by application permission; the token's "
                    "`roles` claim must hold the role an operation names.",
                },
                "easyAuthSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "AppServiceAuthSession",
                    "description": "The App Service Authentication session after signing in at "
                    "/.auth/login/aad (browsers; locally the devhost's --easy-auth sign-in form).",
                },
            },
        },
    }


def _body_component(operation: Operation, model_names: dict[str, str], schemas: dict[str, Any]) -> str | None:
    """The component of the operation's request body; fields the endpoint fills in become optional."""
    if operation.request_model is None:
        return None
    name = model_names[operation.request_model.__name__]
    if not operation.optional_body_fields:
        return name
    relaxed = json.loads(json.dumps(schemas[name]))
    relaxed["required"] = [
        key for key in relaxed.get("required", []) if key not in operation.optional_body_fields
    ]
    schemas[f"{name}Body"] = relaxed
    return f"{name}Body"


def _operation_object(
    function: HttpFunction, operation: Operation, body_component: str | None
) -> dict[str, Any]:
    content = (
        {
            media: {"schema": {"$ref": f"#/components/schemas/{operation.success_schema}"}}
            for media in operation.success_media
        }
        if operation.success_media
        else _json_content(operation.success_schema)
    )
    responses: dict[str, Any] = {
        str(operation.success_status): {
            "description": "Success",
            "content": content,
            **(
                {"headers": {name: {"schema": {"type": "string"}} for name in operation.success_headers}}
                if operation.success_headers
                else {}
            ),
        }
    }
    for status, schema_name in operation.other_successes:
        responses[str(status)] = {
            "description": "Success (nothing new)",
            "content": _json_content(schema_name),
        }
    special = dict(operation.error_schemas)
    statuses = set(operation.errors)
    if 500 in statuses:  # it does work: storage (or the runtime's store) out of reach is a 503
        statuses.add(503)
    if operation.authenticated:
        statuses.add(401)
    if operation.permission is not None:
        statuses.add(403)
    for status in sorted(statuses):
        description, schema = _ERROR_RESPONSES[status]
        response: dict[str, Any] = {"description": description}
        if status == 503:
            response["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
        responses[str(status)] = {**response, "content": _json_content(special.get(status, schema))}
    result: dict[str, Any] = {
        "operationId": function.name,
        "summary": operation.summary,
        "tags": [operation.tag],
        "responses": responses,
    }
    if operation.permission is not None:
        roles = [role.value for role in roles_granting(operation.permission)]
        result["description"] = f"Requires one of the app roles: {', '.join(roles)}."
        result["x-required-roles"] = roles
    elif operation.authenticated:
        result["description"] = "Any authenticated principal."
    if operation.authenticated:
        result["security"] = [{"entraIdBearer": []}, {"easyAuthSession": []}]
    else:
        result["security"] = []
    if function.auth_level != "anonymous":
        result["security"] = [{**scheme, "functionKey": []} for scheme in result["security"]] or [
            {"functionKey": []}
        ]
    parameters = _path_parameters(function.route) + [
        {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
        for name, description, schema in operation.query
    ]
    if parameters:
        result["parameters"] = parameters
    if body_component is not None:
        content = _json_content(body_component)
        if operation.example is not None:
            content["application/json"]["example"] = operation.example
        result["requestBody"] = {"required": True, "content": content}
    return result


def _add_links(paths: dict[str, Any]) -> None:
    """Link each start (POST on a collection) to the operations on the instance it creates.

    The business id the body carries names the new instance: `{orderId}` is `$request.body#/orderId`.
    """
    for collection, methods in paths.items():
        start = methods.get("post")
        if start is None or "{" in collection:
            continue
        links: dict[str, Any] = {}
        for path, operations in paths.items():
            prefix, _, rest = path.partition(collection + "/{")
            if prefix or not rest:
                continue
            parameter = rest.split("}", 1)[0]
            for operation in operations.values():
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {parameter: f"$request.body#/{parameter}"},
                }
        if links:
            success = next(iter(start["responses"].values()))
            success["links"] = dict(sorted(links.items()))


def generate() -> dict[str, Any]:
    """The document as committed."""
    return build_document()


def render(document: dict[str, Any]) -> str:
    """The committed text form (stable key order from the generator, 2-space indent, final newline)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@functools.cache
def _served_body() -> str:
    return json.dumps(generate())


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    """This API's OpenAPI 3.1 document (generated from the request models at first call)."""
    authenticate(req)
    return json_text_response(_served_body())


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m api.openapi [--check] [--output PATH]`: write or check the committed document."""
    parser = argparse.ArgumentParser(prog="python -m api.openapi", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="fail (exit 1) when the file differs")
    parser.add_argument("--output", type=Path, default=DOCUMENT_PATH, help="document path (openapi.json)")
    args = parser.parse_args(argv)
    text = render(generate())
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"Error: {args.output} is out of date: run python -m api.openapi", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
