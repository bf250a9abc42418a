"""Sealing against real Azurite without a host: once per execution and final state, whatever is
retried, re-delivered or left behind by a crash between the document writes and the packet write."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from audit_packets.sealed_store import SealedStore, execution_label
from audit_packets.sealing import (
    HistoryNotStoredYetError,
    SealRefusedError,
    SealRequest,
    document_blob_name,
    seal_from_status,
)
from audit_packets.signing import KeyFileSigner, create_key_file
from audit_packets.verification import verify_sealed_bytes
from evidence import FARE_DISPUTE
from tools.harness import Azurite

INSTANCE = "fare-dispute-d-42"
OUTPUT = {
    "disputeId": "d-42",
    "outcome": "refunded",
    "slaDue": "2026-11-13T23:00:00Z",
    "escalated": False,
    "decisions": [{"decidedBy": "rules", "decision": "auto_approve", "at": "2026-11-11T09:00:01Z"}],
    "refund": {"refundId": "re_1", "amount": {"amount": "4.50", "currency": "EUR"}, "status": "succeeded"},
}


def status(
    runtime: str = "Running", stage: str = "resolved", updated: str = "2026-11-11T09:00:02Z"
) -> dict[str, Any]:
    """A status API answer (with history) of a fare dispute about to finish."""
    return {
        "instanceId": INSTANCE,
        "name": "fare_dispute",
        "runtimeStatus": runtime,
        "createdTime": "2026-11-11T09:00:00Z",
        "lastUpdatedTime": updated,
        "input": {"disputeId": "d-42", "customerId": "cust-ana", "tripId": "trip-1", "reason": "overcharge"},
        "customStatus": {"stage": stage, "outcome": "refunded"},
        "historyEvents": [
            {
                "EventType": "ExecutionStarted",
                "FunctionName": "fare_dispute",
                "Timestamp": "2026-11-11T09:00:00Z",
            },
            {
                "EventType": "TaskCompleted",
                "FunctionName": "issue_fare_refund",
                "ScheduledTime": "2026-11-11T09:00:01Z",
                "Timestamp": "2026-11-11T09:00:02Z",
                "Input": json.dumps([{"key": f"{INSTANCE}:issue_refund"}]),
                "Result": json.dumps({"status": "succeeded", "refundId": "re_1"}),
            },
        ],
    }


WORKFLOW_SEAL = SealRequest(
    instance_id=INSTANCE,
    sealed_by="workflow",
    final_stage="resolved",
    finished_at="2026-11-11T09:00:02Z",
    output=OUTPUT,
)


@pytest.fixture
def store(azurite: Azurite) -> SealedStore:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.get_container_client(f"seal{uuid.uuid4().hex[:10]}")
    container.create_container()
    return SealedStore(container)


@pytest.fixture
def signer(tmp_path: Path) -> KeyFileSigner:
    create_key_file(tmp_path / "k.pem")
    return KeyFileSigner(tmp_path / "k.pem")


def packet_blobs(store: SealedStore) -> list[str]:
    return [name for _, _, name in store.packet_names(INSTANCE)]


def test_a_repeated_seal_returns_the_first_packet(store: SealedStore, signer: KeyFileSigner) -> None:
    first = seal_from_status(status(), FARE_DISPUTE, WORKFLOW_SEAL, store=store, signer=signer)
    assert not first.already_sealed and first.sequence == 1
    # A second delivery sees a later status (the instance completed meanwhile): still the same seal.
    again = seal_from_status(status("Completed"), FARE_DISPUTE, WORKFLOW_SEAL, store=store, signer=signer)
    assert again.already_sealed and again.stored.content == first.stored.content
    assert packet_blobs(store) == [f"{INSTANCE}/{execution_label('2026-11-11T09:00:00Z')}/audit-packet.json"]
    assert verify_sealed_bytes(first.stored.content, signer.public_keys()).ok
    packet = first.envelope["packet"]
    assert packet["outcome"] == {"status": "Completed", "output": OUTPUT, "at": "2026-11-11T09:00:02Z"}
    assert [d["name"] for d in packet["documents"]] == ["resolution-letter", "resolution-letter"]


def test_a_document_left_by_a_crashed_attempt_is_the_one_the_packet_lists(
    store: SealedStore, signer: KeyFileSigner
) -> None:
    folder = store.folder(INSTANCE, execution_label("2026-11-11T09:00:00Z"))
    left_behind = b"%PDF-1.4 the bytes an earlier attempt rendered before the host died"
    store.create(document_blob_name(folder, "resolution-letter", 1, "pdf"), left_behind, "application/pdf")
    result = seal_from_status(status(), FARE_DISPUTE, WORKFLOW_SEAL, store=store, signer=signer)
    [pdf] = [d for d in result.envelope["packet"]["documents"] if d["format"] == "pdf"]
    assert pdf["sha256"] == hashlib.sha256(left_behind).hexdigest()
    assert store.read(pdf["blob"]).content == left_behind  # type: ignore[union-attr]


def test_the_seal_waits_for_the_history_of_its_own_episode(store: SealedStore, signer: KeyFileSigner) -> None:
    with pytest.raises(HistoryNotStoredYetError, match="waiting for 'resolved'"):
        seal_from_status(status(stage="refunding"), FARE_DISPUTE, WORKFLOW_SEAL, store=store, signer=signer)
    assert packet_blobs(store) == []


def test_an_operator_seals_only_finished_instances_and_a_later_completion_gets_its_own_seal(
    store: SealedStore, signer: KeyFileSigner
) -> None:
    operator = SealRequest(instance_id=INSTANCE, sealed_by="operator", reason="failed for good")
    with pytest.raises(SealRefusedError, match="is Running"):
        seal_from_status(status(), FARE_DISPUTE, operator, store=store, signer=signer)
    failed = seal_from_status(
        status("Failed", stage="refunding"), FARE_DISPUTE, operator, store=store, signer=signer
    )
    assert failed.sequence == 1 and failed.envelope["packet"]["documents"] == []
    repeat = seal_from_status(
        status("Failed", stage="refunding"), FARE_DISPUTE, operator, store=store, signer=signer
    )
    assert repeat.already_sealed
    # Rewound after all, it completes: its own last step seals the completion next to the failure.
    completed = seal_from_status(status(), FARE_DISPUTE, WORKFLOW_SEAL, store=store, signer=signer)
    assert completed.sequence == 2 and not completed.already_sealed
    assert len(packet_blobs(store)) == 2
    assert store.latest_packet_name(INSTANCE) == (2, completed.stored.name)


def test_a_read_whose_keys_cannot_be_read_says_not_checked(
    store: SealedStore, signer: KeyFileSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audit_packets import service

    sealed = seal_from_status(status(), FARE_DISPUTE, WORKFLOW_SEAL, store=store, signer=signer)
    monkeypatch.delenv("AUDIT_SIGNING_KEY_FILE", raising=False)
    monkeypatch.delenv("AUDIT_SIGNING_KEY_URI", raising=False)
    monkeypatch.setattr(service, "_keys_cache", {})
    verification = service.verify_stored(sealed.stored)
    assert verification.problems == [
        "not checked: the signing keys could not be read (SigningKeyNotConfiguredError)"
    ]


def test_a_packet_sealed_in_the_shared_container_before_per_hub_containers_is_still_served(
    azurite: Azurite, signer: KeyFileSigner
) -> None:
    """Packets sealed into `<prefix>-audit-packets` (before the containers were per task hub) are read
    from there and never sealed a second time; a missing legacy container is no error."""
    prefix = f"lg{uuid.uuid4().hex[:8]}"
    env = {"AzureWebJobsStorage": azurite.connection_string, "STORAGE_CONTAINER_PREFIX": prefix}
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    legacy = service.get_container_client(f"{prefix}-audit-packets")
    legacy.create_container()
    old = seal_from_status(status(), FARE_DISPUTE, WORKFLOW_SEAL, store=SealedStore(legacy), signer=signer)

    store = SealedStore.from_settings({**env, "TASKHUB_NAME": "WfProd"})
    assert store.container_name == f"{prefix}-wfprod-audit-packets"
    assert store.read(old.stored.name) is not None and packet_blobs(store) == [old.stored.name]
    again = seal_from_status(status("Completed"), FARE_DISPUTE, WORKFLOW_SEAL, store=store, signer=signer)
    assert again.already_sealed and again.stored.content == old.stored.content
    assert list(store.container.list_blobs()) == []  # nothing written to the hub's container

    # Another prefix has no legacy container at all: reads simply find nothing there.
    fresh = SealedStore.from_settings(
        {**env, "STORAGE_CONTAINER_PREFIX": f"n{prefix}", "TASKHUB_NAME": "WfProd"}
    )
    assert fresh.read(old.stored.name) is None and fresh.packet_names(INSTANCE) == []
    sealed = seal_from_status(status(), FARE_DISPUTE, WORKFLOW_SEAL, store=fresh, signer=signer)
    assert not sealed.already_sealed and fresh.read(sealed.stored.name) is not None
