"""Business rules on top of roles: maker-checker and the shelter scope (both 403 when broken)."""

from __future__ import annotations

from identity.principal import AccessDenied, Actor
from identity.roles import Role
from identity.shelters import ShelterStaffAssignments

MAKER_CHECKER_RULE = "maker-checker"
SHELTER_SCOPE_RULE = "shelter-scope"


def ensure_not_starter(actor: Actor, started_by: Actor | None, subject: str) -> None:
    """`AccessDenied` when `actor` is the principal who started `subject` (compared by stable id).

    Instances started before principals were recorded have no `started_by`; for them the rule
    cannot be checked and the decision is allowed, as it was when they started.
    """
    if actor.same_principal(started_by):
        raise AccessDenied(
            f"{actor.name} started {subject} and so cannot decide it: another person holding "
            f"{actor.role or 'the role'} must (maker-checker)",
            rule=MAKER_CHECKER_RULE,
        )


def decision_refusal(
    started_by: Actor | None, decided_by: Actor | None, role: Role, maker_checker: str
) -> str | None:
    """Why an orchestration may not take a decision, or None (the reason goes into its record).

    Checked only for cases that record who started them (`started_by`): older instances take
    decisions as they did when they started, so their recorded histories replay unchanged.
    `maker_checker` is the reason given when the decider is the principal who started the case.
    """
    if started_by is None:
        return None
    if decided_by is None:
        return "the decision names no authenticated principal"
    if decided_by.role != role.value:
        return f"the decider did not act as {role.value}"
    if decided_by.same_principal(started_by):
        return maker_checker
    return None


def ensure_assigned_shelter(actor: Actor, shelter_id: str, assignments: ShelterStaffAssignments) -> None:
    """`AccessDenied` unless `actor` is assigned to `shelter_id` in the shelter staff file."""
    assigned = assignments.shelters_of(actor.principal_id)
    if shelter_id not in assigned:
        mine = ", ".join(sorted(assigned)) or "none"
        raise AccessDenied(
            f"{actor.name} is not assigned to shelter {shelter_id!r} (assigned: {mine}); only that "
            "shelter's staff may confirm its delivery",
            rule=SHELTER_SCOPE_RULE,
        )
