"""The Durable wire vocabulary: history event types, runtime statuses and which statuses are final.

Also the task hub naming rule, which both the app (its container names) and the devhost (host.json's
`hubName`) check.

These numbers and names are fixed by the Durable Task Framework and the Durable Functions extension
(spec §3.3 event types, §12.1 runtime statuses); every part of the project that reads or writes a
history or a status speaks them, so they are written down once, here:
- the deployed app: audit packets (history walk, sealing), the console, the API;
- the devhost (history builders, engine, management API, test library);
- ops (replay check, instance commands, clients, fuzzing, soak), the benchmarks and the tests.

Why a top-level module of its own: the deploy package (`python -m ops package`, `.funcignore`)
leaves devhost/ out, so the app cannot import it from the devhost; the durable-devhost wheel
(packaging/durable-devhost) ships the devhost without the app, so the devhost cannot import it from
an app package either. This file depends on nothing but the standard library; the deploy package
includes it like any app module and the wheel force-includes it beside `devhost/`.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import ClassVar


class EventType(IntEnum):
    """DTFx `HistoryEventType` numbers: the raw history's `EventType` (spec §3.3)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


# The names the status API shows for each number (`historyEvents[].EventType`): the enum name in
# PascalCase, except that "SubOrchestration" is one word.
EVENT_TYPE_NAMES: dict[int, str] = {
    member.value: "".join(part.title() for part in member.name.split("_")) for member in EventType
}
EVENT_TYPE_NAMES[EventType.SUB_ORCHESTRATION_INSTANCE_CREATED] = "SubOrchestrationInstanceCreated"
EVENT_TYPE_NAMES[EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED] = "SubOrchestrationInstanceCompleted"
EVENT_TYPE_NAMES[EventType.SUB_ORCHESTRATION_INSTANCE_FAILED] = "SubOrchestrationInstanceFailed"


class RuntimeStatus:
    """Runtime status names (the status API's `runtimeStatus`) and their DTFx numbers (spec §12.1)."""

    RUNNING = "Running"
    COMPLETED = "Completed"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINATED = "Terminated"
    PENDING = "Pending"
    SUSPENDED = "Suspended"

    # `OrchestrationStatus` of an ExecutionCompleted event, and the store's status numbers.
    NUMBERS: ClassVar[dict[str, int]] = {
        RUNNING: 0,
        COMPLETED: 1,
        CONTINUED_AS_NEW: 2,
        FAILED: 3,
        CANCELED: 4,
        TERMINATED: 5,
        PENDING: 6,
        SUSPENDED: 7,
    }
    NAMES: ClassVar[dict[int, str]] = {number: name for name, number in NUMBERS.items()}
    # Final: nothing more happens to the instance unless an operator rewinds or restarts it.
    TERMINAL = frozenset({COMPLETED, FAILED, TERMINATED, CANCELED})
    ACTIVE = frozenset({RUNNING, PENDING, SUSPENDED, CONTINUED_AS_NEW})
    ALL = frozenset(NUMBERS)


TERMINAL_STATUSES = RuntimeStatus.TERMINAL
ACTIVE_STATUSES = RuntimeStatus.ACTIVE
# Final without success: the run failed or an operator (or the runtime) ended it.
UNSUCCESSFUL_STATUSES = RuntimeStatus.TERMINAL - {RuntimeStatus.COMPLETED}
# Every status, active ones first: the order command lines list them in.
RUNTIME_STATUSES: tuple[str, ...] = (
    RuntimeStatus.RUNNING,
    RuntimeStatus.PENDING,
    RuntimeStatus.SUSPENDED,
    RuntimeStatus.CONTINUED_AS_NEW,
    RuntimeStatus.COMPLETED,
    RuntimeStatus.FAILED,
    RuntimeStatus.TERMINATED,
    RuntimeStatus.CANCELED,
)

# The task hub naming rule of the Azure Storage provider: 3-45 letters and digits, a letter first.
TASK_HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")

# An instance id the Durable HTTP API can address: 1-200 printable ASCII characters, none of
# `/ \ # ?`. The Azure Storage provider refuses those four in its keys, and the Python SDK's client
# puts the id into its request URLs unencoded: a `#` or `?` would end the path there and the call
# would reach another instance or the instance list.
INSTANCE_ID_PATTERN = r"^[\x21\x22\x24-\x2e\x30-\x3e\x40-\x5b\x5d-\x7e]{1,200}$"
INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)
INSTANCE_ID_RULE = "1-200 printable characters without spaces, '/', '\\', '#' or '?'"
