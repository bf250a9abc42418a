"""The app roles, in one place: who may do what.

Each role is an app role of the Entra app registration (docs/deploy-to-azure.md shows how to
create and assign them). People get roles through user assignments, services (client-credential
tokens) through application permissions of the same name; either way the role arrives in the
principal's `roles` claims and is checked here, never inferred from a function key.

Every HTTP function and console page asks for a `Permission`; `ROLE_CATALOGUE` says which roles
grant it. A permission granted by several roles names all of them in the 403 answer. The app
registration's roles are generated from this catalogue (`python -m identity.app_roles`), so Entra
ID and the code cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """App roles; the values are the role claim values (and appear in audit records)."""

    WORKFLOW_SUBMITTER = "Workflow.Submitter"
    MAINTENANCE_APPROVER = "Maintenance.Approver"
    FARE_DISPUTE_SUPERVISOR = "FareDispute.Supervisor"
    RELIEF_SHELTER_STAFF = "Relief.ShelterStaff"
    OPERATIONS_READER = "Operations.Reader"
    OPERATIONS_OPERATOR = "Operations.Operator"


class Permission(StrEnum):
    """What a request asks to do; each HTTP function and console action names exactly one."""

    START_WORKFLOW = "start_workflow"
    SUBMIT_EVIDENCE = "submit_evidence"
    CHANGE_RELIEF_REQUEST = "change_relief_request"
    READ_WORKFLOW_STATUS = "read_workflow_status"
    APPROVE_MAINTENANCE_ORDER = "approve_maintenance_order"
    DECIDE_FARE_DISPUTE = "decide_fare_dispute"
    CONFIRM_SHELTER_DELIVERY = "confirm_shelter_delivery"
    VIEW_DECISION_QUEUE = "view_decision_queue"
    READ_OPERATIONS = "read_operations"
    OPERATE_INSTANCES = "operate_instances"


# Who may hold a role in Entra ID (the app role's `allowedMemberTypes`): people ("User"), services
# through application permissions ("Application"). Decisions are taken by people only.
PEOPLE = ("User",)
PEOPLE_AND_SERVICES = ("User", "Application")


@dataclass(frozen=True)
class RoleDefinition:
    """One app role: its claim value, what it is for, the permissions it grants, who may hold it."""

    role: Role
    description: str
    permissions: frozenset[Permission]
    member_types: tuple[str, ...] = PEOPLE


ROLE_CATALOGUE: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        Role.WORKFLOW_SUBMITTER,
        "Systems and portals that start workflows (maintenance orders, fare disputes, relief "
        "requests), submit a customer's evidence and change relief requests; they read the status "
        "of what they started.",
        frozenset(
            {
                Permission.START_WORKFLOW,
                Permission.SUBMIT_EVIDENCE,
                Permission.CHANGE_RELIEF_REQUEST,
                Permission.READ_WORKFLOW_STATUS,
            }
        ),
        PEOPLE_AND_SERVICES,
    ),
    RoleDefinition(
        Role.MAINTENANCE_APPROVER,
        "Approves or rejects maintenance orders (never one they started).",
        frozenset(
            {
                Permission.APPROVE_MAINTENANCE_ORDER,
                Permission.READ_WORKFLOW_STATUS,
                Permission.VIEW_DECISION_QUEUE,
            }
        ),
    ),
    RoleDefinition(
        Role.FARE_DISPUTE_SUPERVISOR,
        "Decides fare disputes that need a person: approve, partial refund or reject (never one they filed).",
        frozenset(
            {
                Permission.DECIDE_FARE_DISPUTE,
                Permission.READ_WORKFLOW_STATUS,
                Permission.VIEW_DECISION_QUEUE,
            }
        ),
    ),
    RoleDefinition(
        Role.RELIEF_SHELTER_STAFF,
        "Confirms that relief pallets arrived, only for the shelters assigned to that person "
        "(identity.shelters: the RELIEF_SHELTER_STAFF_FILE).",
        frozenset(
            {
                Permission.CONFIRM_SHELTER_DELIVERY,
                Permission.READ_WORKFLOW_STATUS,
                Permission.VIEW_DECISION_QUEUE,
            }
        ),
    ),
    RoleDefinition(
        Role.OPERATIONS_READER,
        "Reads the operations console, workflow status, inventory and audit packets; takes no action.",
        frozenset(
            {Permission.READ_OPERATIONS, Permission.READ_WORKFLOW_STATUS, Permission.VIEW_DECISION_QUEUE}
        ),
        PEOPLE_AND_SERVICES,
    ),
    RoleDefinition(
        Role.OPERATIONS_OPERATOR,
        "Suspends, resumes, terminates and rewinds instances from the console (and reads what "
        "Operations.Reader reads); takes no business decision.",
        frozenset(
            {
                Permission.OPERATE_INSTANCES,
                Permission.READ_OPERATIONS,
                Permission.READ_WORKFLOW_STATUS,
                Permission.VIEW_DECISION_QUEUE,
            }
        ),
    ),
)

ROLE_DEFINITIONS: dict[Role, RoleDefinition] = {definition.role: definition for definition in ROLE_CATALOGUE}


def roles_granting(permission: Permission) -> tuple[Role, ...]:
    """The roles that grant `permission`, in catalogue order."""
    return tuple(d.role for d in ROLE_CATALOGUE if permission in d.permissions)


def known_role(value: str) -> Role | None:
    """The `Role` whose claim value is `value` (exact, as Entra sends it), or None."""
    try:
        return Role(value)
    except ValueError:
        return None
