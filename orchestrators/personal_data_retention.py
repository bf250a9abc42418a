# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""The task hub's personal data retention: erase each completed case's payloads when they are due.

One instance per hub (`personal-data-retention`), started by the first workflow that schedules an
erasure (personal_data/erasure_step.py) and by every later one if it is not running:
1. erase every case due by now (`erase_due_personal_data`, which also says when the next is due);
2. sleep until the next due time, at least once a day (a record written later with an earlier due
   time waits at most a day; the stuck-instance alert never sees it idle for long);
3. continue as new, so its history is one cycle long whatever it has done before.
A sweep that fails after its retries is logged and tried again at the next wake-up.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from contracts import utc_text
from orchestrators.steps import call_task
from personal_data.erasure_step import (
    ERASE_DUE_PERSONAL_DATA,
    PERSONAL_DATA_RETENTION,
    RETENTION_RETRY,
    SweepWork,
)
from telemetry import orchestration_log

WORKFLOW = "personal_data_retention"
LONGEST_SLEEP = timedelta(days=1)
SHORTEST_SLEEP = timedelta(seconds=1)

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context", orchestration=PERSONAL_DATA_RETENTION)
def personal_data_retention(context: df.DurableOrchestrationContext) -> Generator[Any, Any, None]:
    """Erase what is due, sleep until the next due time (at most a day), continue as new."""
    journal = orchestration_log(context, WORKFLOW, "sweep")
    now = context.current_utc_datetime
    wake = now + LONGEST_SLEEP
    try:
        swept = yield call_task(
            context, ERASE_DUE_PERSONAL_DATA, SweepWork(now=utc_text(now)), RETENTION_RETRY
        )
    except Exception as error:  # a failed sweep is retried at the next wake-up
        journal.warning(
            "personal data sweep failed; retried at the next wake-up", reason=type(error).__name__
        )
    else:
        if swept.get("erased"):
            journal.info("personal data erased", cases=str(len(swept["erased"])))
        if swept.get("nextDueAt"):
            wake = min(wake, max(_parse(swept["nextDueAt"]), now + SHORTEST_SLEEP))
    yield context.create_timer(wake)
    context.continue_as_new(None)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
