"""The failure policy of every workflow step: what retries until it must give up, and what then.

Effects that must happen once, with the workflow's strict retry policy (each workflow's
`STRICT_RETRY`; the maintenance order's supplier calls `SUPPLIER_RETRY`):
- maintenance order: inspection record, parts look-up, supplier requests, compliance pack, release
  certificate;
- fare dispute: trip look-up, fare rules, the refund;
- relief routing: reservations, the route record, delivery booking, releasing stock.
When one still fails, the process ends `Failed`, but first undoes what can be undone (relief
releases every pallet it holds) and records what cannot: custom status `failure` (step, reason,
`undone`, `kept`) and an error log carrying `gave_up`, counted by the `gave-up` alert rule.

Notifications and portal updates are best effort, with `BEST_EFFORT_RETRY` (12 attempts, 5 s
doubling to at most 5 min between them: about 30 minutes in all): customer, approver, supervisor,
shelter, driver and operations-desk messages, reminders, escalations and donor-portal updates. When
one still fails, the process records it (custom status `unsent`, the output, so the audit packet)
with the same alert-worthy log, and goes on.

A best-effort call is the same `call_activity_with_retry` as before inside a try, so the action
sequence of a run where it succeeds is unchanged and histories of running instances still replay.
Every activity stays idempotent by its key: sending the same message or update again later (a
rewind, an operator) never sends it twice. Relief's messages, portal updates and the cancellation's
release run inside `task_all`s that race the request's events; there the activity gives up on its
own at `BEST_EFFORT_GIVE_UP_AT_ATTEMPT` and returns `gaveUp` instead of failing (SDK 1.7
mishandles a `task_all` that fails while its other calls still retry: activities/relief_routing.py).
That number, `StepFailure` and `failure_reason` are shared with the activities, so they live in
contracts/failure.py.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskBase

from contracts.failure import BEST_EFFORT_ATTEMPTS, REASON_LIMIT, StepFailure, failure_reason
from telemetry import CorrelatedLogger

# The dimension the `gave-up` alert rule looks for (infra/monitoring/queries/alert-gave-up.kql).
GAVE_UP_DIMENSION = "gave_up"


class BackoffRetryOptions(df.RetryOptions):
    """Retry options with exponential backoff.

    SDK 1.x serialises only the first interval and the attempt count; the Durable extension also
    reads `backoffCoefficient` and `maxRetryIntervalInMilliseconds` from the action (its
    RetryOptionsConverter), and so does the devhost, so they are added to the action here.
    """

    def __init__(
        self,
        first_retry_interval_in_milliseconds: int,
        max_number_of_attempts: int,
        *,
        backoff_coefficient: float,
        max_retry_interval_in_milliseconds: int,
    ) -> None:
        super().__init__(first_retry_interval_in_milliseconds, max_number_of_attempts)
        self.backoff_coefficient = backoff_coefficient
        self.max_retry_interval_in_milliseconds = max_retry_interval_in_milliseconds

    def to_json(self) -> dict[str, str | int]:
        """The action's `retryOptions` (the extension's field names)."""
        options: dict[str, Any] = dict(super().to_json())
        options["backoffCoefficient"] = self.backoff_coefficient
        options["maxRetryIntervalInMilliseconds"] = self.max_retry_interval_in_milliseconds
        return options

    def total_wait_milliseconds(self) -> int:
        """The time spent waiting between attempts when every attempt fails."""
        total, interval = 0.0, float(self.first_retry_interval_in_milliseconds)
        for _ in range(self.max_number_of_attempts - 1):
            total += min(interval, self.max_retry_interval_in_milliseconds)
            interval *= self.backoff_coefficient
        return int(total)


# Messaging providers and the donor portal have outages of minutes (deploys, throttling), not
# seconds: 5 s, 10 s, ... capped at 5 min, 12 attempts, about half an hour before giving up.
BEST_EFFORT_RETRY = BackoffRetryOptions(
    5_000, BEST_EFFORT_ATTEMPTS, backoff_coefficient=2.0, max_retry_interval_in_milliseconds=300_000
)


def best_effort(journal: CorrelatedLogger, step: str, task: TaskBase) -> Generator[Any, Any, Any | None]:
    """Wait for a best-effort call: its result, or None (logged as given up) when its retries ran out.

    `task` is the call, created by the caller with `BEST_EFFORT_RETRY`; the orchestration goes on
    either way.
    """
    try:
        return (yield task)
    except Exception as error:  # the policy: a notification never fails the process
        log_gave_up(journal, step, failure_reason(error))
        return None


def log_gave_up(journal: CorrelatedLogger, step: str, reason: str) -> None:
    """The alert-worthy record of a best-effort step whose retries ran out."""
    journal.bind(step=step.split(":", 1)[0]).error(
        "best-effort step gave up after its retries; the process goes on",
        **{GAVE_UP_DIMENSION: step, "reason": reason[:REASON_LIMIT]},
    )


def log_process_failure(journal: CorrelatedLogger, failure: StepFailure) -> None:
    """The alert-worthy record of a process that ends Failed (what was undone and what stays done)."""
    journal.bind(step=failure.step).error(
        "process failed",
        **{
            GAVE_UP_DIMENSION: failure.step,
            "reason": failure.reason,
            "undone": "; ".join(failure.undone or []),
            "kept": "; ".join(failure.kept or []),
        },
    )
