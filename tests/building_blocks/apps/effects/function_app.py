"""Building-blocks test app: activities that use the effect ledger, sandboxes, claim-check,
telemetry and typed contracts the way the workflows will.

Orchestrators
- `refund_once`: one refund through the payment gateway, key `<instance>:issue_refund`, retried.
- `notify_many`: fan-out of `count` customer messages, key `<instance>:notify_customer:<n>`.
- `large_payload_flow`: a 200 KiB report passed between activities by claim-check, plus a document.
- `sensitive_order`: started over HTTP with contact, card and evidence data; logs, custom status,
  an external event and two effects, so a test can scan everything stored for the planted values.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path
from typing import Annotated, Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import Field

from api import json_body, json_errors, json_response, parse_body, route_identifier, start_once, validate
from api.starters import existing_instance
from claim_check import ClaimCheck
from contracts import ContractModel, Money, WorkflowStatus
from idempotency import EffectLedger, orchestration_effect_key
from integrations import integrations_from_settings
from integrations.customer_messaging import CustomerMessage
from integrations.payments import RefundRequest
from telemetry import activity_log, configure_telemetry, instance_id_from_key, orchestration_log

configure_telemetry()
app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

WORKFLOW = "building_blocks_test"
EVIDENCE_EVENT = "evidence_added"
# Fast retries for tests: 5 attempts, 100 ms apart.
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=5)


# -- contracts ------------------------------------------------------------------------------------


class Customer(ContractModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")]
    phone: str | None = None


class Finding(ContractModel):
    code: Annotated[str, Field(pattern=r"^[A-Z]{2}-\d{3}$")]
    severity: Annotated[int, Field(ge=1, le=5)]


class TestOrderRequest(ContractModel):
    order_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,40}$")]
    priority: Annotated[int, Field(ge=1, le=5)]
    customer: Customer
    card_number: Annotated[str, Field(min_length=12, max_length=19)]
    refund: Money
    findings: list[Finding] = Field(default_factory=list)


class EvidenceRequest(ContractModel):
    description: Annotated[str, Field(min_length=1, max_length=2000)]


# -- orchestrators --------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def refund_once(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """One refund, keyed by the instance; retried on transient gateway errors."""
    settings = context.get_input() or {}
    work = {
        "key": orchestration_effect_key(context, "issue_refund"),
        "paymentReference": settings.get("paymentReference", "pay-1"),
        "amount": settings.get("amount", "12.50"),
        "pauseAfterCallSeconds": settings.get("pauseAfterCallSeconds", 0),
        "pauseMarker": settings.get("pauseMarker"),
    }
    receipt = yield context.call_activity_with_retry("issue_refund", RETRY, work)
    return receipt


@app.orchestration_trigger(context_name="context")
def notify_many(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """`count` messages in parallel, one key per item."""
    count = int((context.get_input() or {}).get("count", 3))
    tasks = [
        context.call_activity_with_retry(
            "send_plain_message",
            RETRY,
            {
                "key": orchestration_effect_key(context, "notify_customer", item),
                "to": f"user{item}@example.test",
            },
        )
        for item in range(count)
    ]
    receipts = yield context.task_all(tasks)
    return [receipt["messageId"] for receipt in receipts]


@app.orchestration_trigger(context_name="context")
def large_payload_flow(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """A large report by reference from one activity to the next, and a generated document."""
    scope = orchestration_effect_key(context, "produce_report")
    report = yield context.call_activity("produce_report", {"scope": scope, "rows": 4000})
    summary = yield context.call_activity("summarize_report", {"report": report})
    document = yield context.call_activity(
        "store_compliance_pack",
        {"scope": orchestration_effect_key(context, "compliance_pack"), "rows": summary["rows"]},
    )
    return {"report": report, "summary": summary, "document": document}


@app.orchestration_trigger(context_name="context")
def sensitive_order(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Notify, wait for evidence, refund; every sensitive value travels sealed (claim-check)."""
    journal = orchestration_log(context, WORKFLOW)
    order = context.get_input()
    journal.info("order accepted", order_id=order["orderId"])
    context.set_custom_status(WorkflowStatus(stage="notifying").to_dict())
    yield context.call_activity_with_retry(
        "notify_customer",
        RETRY,
        {"key": orchestration_effect_key(context, "notify_customer"), "sealed": order["sealed"]},
    )
    journal.bind(step="notify_customer").info("customer notified")
    context.set_custom_status(WorkflowStatus(stage="waiting", waiting_for=EVIDENCE_EVENT).to_dict())
    evidence = yield context.wait_for_external_event(EVIDENCE_EVENT)
    journal.bind(step="evidence").info("evidence received", evidence_ref=evidence)
    refund = yield context.call_activity_with_retry(
        "issue_refund",
        RETRY,
        {
            "key": orchestration_effect_key(context, "issue_refund"),
            "paymentReference": order["orderId"],
            "amount": order["refundAmount"],
        },
    )
    context.set_custom_status(WorkflowStatus(stage="done").to_dict())
    journal.bind(step="issue_refund").info("refund issued", refund_id=refund["refundId"])
    return {"orderId": order["orderId"], "refundId": refund["refundId"]}


# -- activities -----------------------------------------------------------------------------------


@app.activity_trigger(input_name="work")
def issue_refund(work: dict[str, Any]) -> dict[str, Any]:
    """Refund through the gateway once per key; optionally pause between the call and the record."""
    key = work["key"]
    gateway = integrations_from_settings().payments
    request = RefundRequest(
        payment_reference=work["paymentReference"],
        amount=Money(amount=work["amount"], currency="EUR"),
        reason="test",
    )

    def refund() -> dict[str, Any]:
        receipt = gateway.refund(request, key).to_dict()
        # The kill -9 test crashes the host here: after the outside call, before the ledger record.
        # The marker file makes only the first delivery pause, not the one after the restart.
        marker = Path(work["pauseMarker"]) if work.get("pauseMarker") else None
        if marker is not None and not marker.exists():
            marker.touch()
            time.sleep(float(work.get("pauseAfterCallSeconds") or 0))
        return receipt

    outcome = EffectLedger.from_settings().run_once(key, refund, request=work)
    activity_log(WORKFLOW, "issue_refund", instance_id_from_key(key)).info(
        "refund recorded", performed=outcome.performed
    )
    return outcome.result


@app.activity_trigger(input_name="work")
def send_plain_message(work: dict[str, Any]) -> dict[str, Any]:
    """One e-mail per key."""
    key = work["key"]
    messaging = integrations_from_settings().customer_messaging
    message = CustomerMessage(channel="email", to=work["to"], template="test")
    return (
        EffectLedger.from_settings()
        .run_once(key, lambda: messaging.send(message, key).to_dict(), request=work)
        .result
    )


@app.activity_trigger(input_name="work")
def notify_customer(work: dict[str, Any]) -> dict[str, Any]:
    """Open the sealed contact details and e-mail the customer once per key."""
    key = work["key"]
    sealed = ClaimCheck.from_settings().load(work["sealed"])
    customer = sealed["customer"]
    messaging = integrations_from_settings().customer_messaging
    message = CustomerMessage(
        channel="email",
        to=customer["email"],
        template="order_received",
        parameters={"name": customer["name"]},
    )
    journal = activity_log(WORKFLOW, "notify_customer", instance_id_from_key(key))
    # The details below are redacted before they reach any log handler.
    journal.info(f"sending to {customer['email']}", email=customer["email"], phone=customer.get("phone"))
    return (
        EffectLedger.from_settings()
        .run_once(key, lambda: messaging.send(message, key).to_dict(), request=work)
        .result
    )


@app.activity_trigger(input_name="work")
def produce_report(work: dict[str, Any]) -> Any:
    """A report far over the claim-check threshold; only its reference is returned."""
    rows = [
        {"row": index, "text": f"inspection line {index:05d} " + "x" * 40} for index in range(work["rows"])
    ]
    return ClaimCheck.from_settings().offload(rows, work["scope"])


@app.activity_trigger(input_name="work")
def summarize_report(work: dict[str, Any]) -> dict[str, Any]:
    """Resolve the reference and summarise."""
    rows = ClaimCheck.from_settings().load(work["report"])
    return {"rows": len(rows), "last": rows[-1]["row"]}


@app.activity_trigger(input_name="work")
def store_compliance_pack(work: dict[str, Any]) -> dict[str, Any]:
    """A generated document is always a blob; the orchestration keeps its reference."""
    content = ("compliance pack\n" + "line\n" * work["rows"]).encode()
    return (
        ClaimCheck.from_settings()
        .store_document(work["scope"], "compliance-pack.txt", content, "text/plain")
        .to_dict()
    )


# -- HTTP -----------------------------------------------------------------------------------------


@app.route(route="test-orders", methods=["POST"])
@app.durable_client_input(client_name="client")
@json_errors
async def start_test_order(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Validate, seal the sensitive parts, start `sensitive_order` as `test-order-<orderId>`."""
    order = parse_body(req, TestOrderRequest)
    instance_id = f"test-order-{order.order_id}"
    sealed = ClaimCheck.from_settings().offload(
        {"customer": order.customer.to_dict(), "cardNumber": order.card_number}, instance_id, always=True
    )
    orchestration_input = {
        "orderId": order.order_id,
        "refundAmount": str(order.refund.amount),
        "sealed": sealed,
    }
    return await start_once(
        client,
        "sensitive_order",
        instance_id,
        orchestration_input,
        "order",
        status_path=f"test-orders/{order.order_id}",
        view=lambda status: {
            "id": instance_id,
            "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
        },
    )


@app.route(route="test-orders/{orderId}/evidence", methods=["POST"])
@app.durable_client_input(client_name="client")
@json_errors
async def add_evidence(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Free-text evidence goes to a blob; the event carries only its reference."""
    order_id = route_identifier(req, "orderId")
    evidence = parse_body(req, EvidenceRequest)
    instance_id = f"test-order-{order_id}"
    await existing_instance(client, instance_id, "order", order_id)
    reference = ClaimCheck.from_settings().offload(evidence.to_dict(), f"{instance_id}:evidence", always=True)
    await client.raise_event(instance_id, EVIDENCE_EVENT, reference)
    return json_response({"accepted": True}, 202)


@app.route(route="test-validate", methods=["POST"])
@json_errors
def validate_only(req: func.HttpRequest) -> func.HttpResponse:
    """Validation without side effects (sync function under the same wrapper)."""
    body = json_body(req)
    order = validate(TestOrderRequest, body)
    return json_response({"orderId": order.order_id})


@app.route(route="test-crash", methods=["GET"])
@json_errors
def crash(req: func.HttpRequest) -> func.HttpResponse:
    """An unexpected error with a sensitive value in its message: 500 without details."""
    raise RuntimeError("boom for someone@example.test")
