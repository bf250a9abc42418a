"""The failure policy's shared vocabulary: what orchestrators and activities both say about failure.

`StepFailure` is the custom status's `failure` (all three workflows) and `failure_reason` the
single-line text it and an activity's `gaveUp` result carry. `BEST_EFFORT_ATTEMPTS` is how many
attempts the orchestrators give a best-effort call (orchestrators/failure_policy.py builds
`BEST_EFFORT_RETRY` from it); an activity that runs inside a `task_all` gives up on its own at
`BEST_EFFORT_GIVE_UP_AT_ATTEMPT`, one before the last (activities/relief_routing.py says why).
"""

from __future__ import annotations

from contracts import ContractModel

REASON_LIMIT = 300

# Messaging providers and the donor portal have outages of minutes (deploys, throttling), not
# seconds: with 5 s, 10 s, ... capped at 5 min between them, 12 attempts last about half an hour.
BEST_EFFORT_ATTEMPTS = 12
# A best-effort activity that runs inside a `task_all` gives up on its own at this attempt (one
# before the policy's last), returning `{"gaveUp": true, ...}` instead of failing.
BEST_EFFORT_GIVE_UP_AT_ATTEMPT = BEST_EFFORT_ATTEMPTS - 1


class StepFailure(ContractModel):
    """Why a process ended Failed: the step, the reason, what was undone and what stays done."""

    step: str
    reason: str
    undone: list[str] | None = None
    kept: list[str] | None = None


def failure_reason(error: BaseException) -> str:
    """A short, single-line reason (the activity's failure text, without the details JSON)."""
    text = str(error).split('{"$type"', 1)[0]
    return (" ".join(text.split()) or type(error).__name__)[:REASON_LIMIT]
