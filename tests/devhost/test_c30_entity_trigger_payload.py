"""Conformance item 30 (spec §15): the entity trigger payload as the SDK receives it.

The a_Recorder entity of the conformance app records, per operation, what the SDK parsed from the
payload before user code touches it: `self.name`, `exists`, the raw `state` text and the raw batch
item `input`.
"""

from __future__ import annotations

from typing import Any

import requests

from tests.devhost.conformance_a import client_call, eventually, unique_id
from tests.support.durable_http import DurableApi


def _entity_log(base_url: str, key: str, count: int) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        records: list[dict[str, Any]] = requests.get(f"{base_url}/api/a/entity-log/{key}", timeout=30).json()
        return records if len(records) >= count else None

    return eventually(probe, what=f"{count} recorded operations of entity key {key}")


def test_c30_entity_trigger_payload_name_state_and_inputs(api: DurableApi, base_url: str) -> None:
    key = unique_id("c30")
    # From an orchestration: call_entity(EntityId("a_Recorder", key), "set", 5) on a new entity.
    instance_id = api.start_id("a_call_recorder", {"key": key})
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == 5
    first = _entity_log(base_url, key, 1)[0]
    assert first["name"] == "a_recorder"  # self.name lowercased
    assert first["key"] == key
    assert first["exists"] is False
    assert first["stateIsNone"] is True  # "state": null for a new entity
    assert first["rawInput"] == '"5"'  # double encoded: the payload has "input": "\"5\""

    # From the Python client: signal_entity(EntityId("A_Recorder", key), "set", 7).
    answer = client_call(base_url, "signal_entity", entity="A_Recorder", key=key, op="set", input=7)
    assert answer == {"result": None}
    second = _entity_log(base_url, key, 2)[1]
    assert second["name"] == "a_recorder"
    assert second["exists"] is True
    assert second["stateIsRaw"] is True
    assert second["rawState"] == "5"  # the state as JSON text
    assert second["rawInput"] == '"7"'  # double encoded, exactly like the orchestrator's input
