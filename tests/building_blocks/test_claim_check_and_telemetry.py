"""Claim-check on Azurite, the blob client factory's configuration, and redaction and replay-safe logging."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from azure.storage.blob import BlobServiceClient

from blob_clients import (
    StorageNotConfiguredError,
    container_name,
    legacy_container_name,
    storage_configuration,
)
from claim_check import ClaimCheck, ClaimCheckError, PayloadReference, is_reference
from telemetry import (
    REDACTED,
    RedactingFilter,
    escape_control_characters,
    orchestration_log,
    redact,
    redact_text,
)


def test_small_values_stay_inline_and_large_ones_become_references(storage_env: dict[str, str]) -> None:
    claim_check = ClaimCheck.from_settings({**storage_env, "CLAIM_CHECK_THRESHOLD_BYTES": "1024"})
    small = {"rows": [1, 2, 3]}
    assert claim_check.offload(small, "i-1:step") is small
    large = {"rows": ["x" * 100] * 20}
    reference = claim_check.offload(large, "i-1:step")
    assert is_reference(reference) and reference["$claimCheck"]["size"] > 1024
    assert claim_check.offload(large, "i-1:step") == reference, "a retry writes the same blob"
    assert claim_check.load({"nested": [reference], "n": 1}) == {"nested": [large], "n": 1}
    sealed = claim_check.offload({"email": "x@example.test"}, "i-1", always=True)
    assert is_reference(sealed) and claim_check.load(sealed) == {"email": "x@example.test"}


def test_the_default_threshold_is_32_kib_and_tampering_is_detected(storage_env: dict[str, str]) -> None:
    claim_check = ClaimCheck.from_settings(storage_env)
    assert claim_check.threshold_bytes == 32 * 1024
    reference = PayloadReference.from_dict(claim_check.offload("y" * 40_000, "i-2:step"))
    forged = PayloadReference(reference.container, reference.blob, reference.size, "0" * 64).to_dict()
    with pytest.raises(ClaimCheckError):
        claim_check.load(forged)
    document = claim_check.store_document("i-2:audit", "audit.json", b"{}", "application/json")
    assert claim_check.read_document(document.to_dict()) == b"{}"
    with pytest.raises(ClaimCheckError):
        claim_check.read_document(PayloadReference(document.container, "i-2/missing", 1, "0" * 64))


def test_payloads_are_per_task_hub_and_references_from_before_the_namespace_still_resolve(
    storage_env: dict[str, str],
) -> None:
    """A reference recorded in a running instance's history before the containers were namespaced
    (`<prefix>-payloads`) still resolves; another hub's container is never read."""
    production = ClaimCheck.from_settings({**storage_env, "TASKHUB_NAME": "wfprod"})
    staging = ClaimCheck.from_settings({**storage_env, "TASKHUB_NAME": "wfstaging"})
    reference = production.offload({"email": "p@example.test"}, "fare-dispute-1", always=True)
    assert (
        reference["$claimCheck"]["container"] == f"{storage_env['STORAGE_CONTAINER_PREFIX']}-wfprod-payloads"
    )
    assert production.load(reference) == {"email": "p@example.test"}
    with pytest.raises(ClaimCheckError, match="wfprod-payloads"):
        staging.load(reference)

    # What the code before the namespace wrote: the shared container, named in the reference.
    legacy_name = legacy_container_name("payloads", storage_env)
    service = BlobServiceClient.from_connection_string(storage_env["AzureWebJobsStorage"])
    old_container = service.get_container_client(legacy_name)
    old_container.create_container()
    old = ClaimCheck(old_container, old_container).offload(
        {"phone": "+31 6 1234 5678"}, "order-9", always=True
    )
    assert old["$claimCheck"]["container"] == legacy_name
    assert production.load(old) == {"phone": "+31 6 1234 5678"}
    assert staging.load(old) == {"phone": "+31 6 1234 5678"}, "shared before, so either hub may have made it"


def test_storage_configuration_uses_a_connection_string_or_an_identity() -> None:
    assert (
        storage_configuration({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})[0] == "connection_string"
    )
    identity = storage_configuration(
        {"AzureWebJobsStorage__accountName": "stwf", "AzureWebJobsStorage__clientId": "c"}
    )
    assert identity == ("identity", "https://stwf.blob.core.windows.net", "c")
    uri = storage_configuration({"AzureWebJobsStorage__blobServiceUri": "https://custom.example/"})
    assert uri == ("identity", "https://custom.example", "")
    with pytest.raises(StorageNotConfiguredError):
        storage_configuration({})
    assert container_name("payloads", {"TASKHUB_NAME": "WfProd"}) == "wf-wfprod-payloads"
    assert legacy_container_name("payloads", {}) == "wf-payloads"
    with pytest.raises(StorageNotConfiguredError, match="TASKHUB_NAME"):
        container_name("payloads", {})
    with pytest.raises(ValueError, match="TASKHUB_NAME"):
        container_name("payloads", {"TASKHUB_NAME": "wf-prod"})
    with pytest.raises(ValueError):
        container_name("payloads", {"STORAGE_CONTAINER_PREFIX": "Bad_Prefix", "TASKHUB_NAME": "wfprod"})


def test_redaction_covers_keys_and_text() -> None:
    record = {
        "customerEmail": "a@b.example",
        "contact": {"phone": "+44 7700 900123"},
        "card_number": "4111 1111 1111 1111",
        "note": "free text",
        "amount": "12.50",
        "comment_count": 3,
        "message": "call +1 415 555 0100 or mail x.y@z.example; card 4111111111111111; order 12345678901234",
    }
    assert redact(record) == {
        "customerEmail": REDACTED,
        "contact": REDACTED,
        "card_number": REDACTED,
        "note": REDACTED,
        "amount": "12.50",
        "comment_count": 3,
        "message": f"call {REDACTED} or mail {REDACTED}; card {REDACTED}; order 12345678901234",
    }
    assert redact_text("2026-01-01T00:00:00+00:00") == "2026-01-01T00:00:00+00:00"


@dataclass
class FakeOrchestrationContext:
    """Only the two attributes the logger reads: no storage, no SDK behaviour stubbed."""

    instance_id: str
    is_replaying: bool


def test_orchestration_log_is_silent_while_replaying(caplog: pytest.LogCaptureFixture) -> None:
    context = FakeOrchestrationContext("i-9", is_replaying=True)
    journal = orchestration_log(context, "fare_dispute")
    with caplog.at_level(logging.INFO, logger="workflows"):
        journal.info("refund requested")
        context.is_replaying = False
        journal.bind(step="issue_refund").info("refund requested", email="a@b.example")
    assert [record.getMessage() for record in caplog.records] == [
        f"refund requested | instance_id=i-9 workflow=fare_dispute step=issue_refund email={REDACTED}"
    ]
    assert caplog.records[0].custom_dimensions["instance_id"] == "i-9"  # type: ignore[attr-defined]


def test_the_filter_redacts_messages_arguments_and_tracebacks() -> None:
    try:
        raise ValueError("bad card 4111111111111111")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "for %s", ("a@b.example",), sys.exc_info()
        )
    RedactingFilter().filter(record)
    assert record.getMessage() == f"for {REDACTED}"
    assert record.exc_text is not None and "4111111111111111" not in record.exc_text


def test_control_characters_cannot_forge_log_lines() -> None:
    """An operator's reason with CR/LF (or a terminal escape) stays inside its own, single line."""
    reason = "done\r\n2026-01-01 INFO operator action | action=terminate by=Eve\x1b[2K\u2028"
    record = logging.LogRecord(
        "workflows", logging.INFO, __file__, 1, "%s | %s", ("operator action", f"reason={reason}"), None
    )
    record.custom_dimensions = {"reason": reason, "nested": [reason]}
    RedactingFilter().filter(record)
    message = record.getMessage()
    assert "\n" not in message and "\r" not in message and "\x1b" not in message and "\u2028" not in message
    assert message.endswith(
        "reason=done\\r\\n2026-01-01 INFO operator action | action=terminate by=Eve\\u001b[2K\\u2028"
    )
    dimensions = record.custom_dimensions  # type: ignore[attr-defined]
    assert dimensions["reason"] == dimensions["nested"][0] and "\n" not in dimensions["reason"]
    assert escape_control_characters("tab\there") == "tab\\there"
    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        import sys

        failed = logging.LogRecord("workflows", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactingFilter().filter(failed)
    assert failed.exc_text is not None and "\n" in failed.exc_text, "tracebacks keep their lines"
