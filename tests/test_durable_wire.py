"""The wire vocabulary (durable_wire) says what the Durable Functions Python SDK says.

The SDK reads the raw history's `EventType` numbers with its own `HistoryEventType` and the status
API's `runtimeStatus` with its own `OrchestrationRuntimeStatus`; a number or a name of ours that
differs would misread every history the devhost writes and every status the app reads.
"""

from __future__ import annotations

from azure.durable_functions.models.history.HistoryEventType import HistoryEventType
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from durable_wire import (
    ACTIVE_STATUSES,
    EVENT_TYPE_NAMES,
    RUNTIME_STATUSES,
    TERMINAL_STATUSES,
    UNSUCCESSFUL_STATUSES,
    EventType,
    RuntimeStatus,
)


def test_event_type_numbers_are_the_sdks() -> None:
    assert {member.name: member.value for member in EventType} == {
        member.name: member.value for member in HistoryEventType
    }


def test_event_type_names_are_the_status_apis_pascal_case() -> None:
    assert EVENT_TYPE_NAMES[EventType.EXECUTION_COMPLETED] == "ExecutionCompleted"
    assert EVENT_TYPE_NAMES[EventType.SUB_ORCHESTRATION_INSTANCE_CREATED] == "SubOrchestrationInstanceCreated"
    assert EVENT_TYPE_NAMES[EventType.EVENT_RAISED] == "EventRaised"
    assert len(set(EVENT_TYPE_NAMES.values())) == len(EventType)


def test_runtime_status_names_are_the_sdks_and_numbered_in_its_order() -> None:
    sdk_names = [member.value for member in OrchestrationRuntimeStatus]
    assert set(RUNTIME_STATUSES) == RuntimeStatus.ALL == set(sdk_names)
    assert len(RUNTIME_STATUSES) == len(sdk_names)
    # DTFx numbers the statuses in the order the SDK's enum lists them.
    assert [RuntimeStatus.NAMES[number] for number in range(len(sdk_names))] == sdk_names


def test_every_status_is_either_active_or_terminal() -> None:
    assert ACTIVE_STATUSES | TERMINAL_STATUSES == RuntimeStatus.ALL
    assert not ACTIVE_STATUSES & TERMINAL_STATUSES
    assert {"Completed", "Failed", "Terminated", "Canceled"} == TERMINAL_STATUSES
    assert TERMINAL_STATUSES - {"Completed"} == UNSUCCESSFUL_STATUSES
