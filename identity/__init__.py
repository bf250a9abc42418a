"""Identity and access: the authenticated principal, the app roles, and who may decide what.

The one place that answers "who is calling and may they do this", for the HTTP API, the operations
console and (through `Actor`) the orchestrations' records:

- `roles.py`: `Role` (the six app roles), `Permission` (what a request asks to do), and
  `ROLE_CATALOGUE` (which role grants which permission, with what each role is for).
- `principal.py`: `principal_from_headers(headers)` reads Easy Auth's `X-MS-CLIENT-PRINCIPAL*`
  headers (trusted only when `WEBSITE_AUTH_ENABLED`), `Principal.authorize(permission)` gives the
  `Actor` record (principal id, display name, role used) or raises `AccessDenied` (403);
  `AuthenticationRequired` is the 401.
- `shelters.py`: the shelters each `Relief.ShelterStaff` principal may confirm for
  (`RELIEF_SHELTER_STAFF_FILE`).
- `checks.py`: the business rules on top of roles: maker-checker (`ensure_not_starter`), the
  shelter scope (`ensure_assigned_shelter`), and the orchestrations' own check of a decision event
  (`decision_refusal`: right role, authenticated, not the starter).
- `app_roles.py`: `python -m identity.app_roles` prints the Entra app registration's `appRoles`
  from the catalogue (stable ids; who may hold each role).

How roles are created and assigned in Entra ID: docs/deploy-to-azure.md; locally the devhost
emulates Easy Auth (`python -m devhost start --easy-auth`, docs/devhost.md).
"""

from identity.checks import decision_refusal, ensure_assigned_shelter, ensure_not_starter
from identity.principal import (
    AUTH_ENABLED_SETTING,
    INJECTED_HEADER_PREFIXES,
    PRINCIPAL_HEADER,
    PRINCIPAL_ID_HEADER,
    PRINCIPAL_IDP_HEADER,
    PRINCIPAL_NAME_HEADER,
    SIGN_IN_PATH,
    SIGN_OUT_PATH,
    AccessDenied,
    Actor,
    AuthenticationRequired,
    IdentityError,
    Principal,
    authentication_enabled,
    clean_name,
    principal_from_headers,
    unsafe_text_reason,
)
from identity.roles import ROLE_CATALOGUE, ROLE_DEFINITIONS, Permission, Role, RoleDefinition, roles_granting
from identity.shelters import (
    STAFF_FILE_SETTING,
    ShelterStaffAssignments,
    ShelterStaffMember,
    assignments_from_settings,
)

__all__ = [
    "AUTH_ENABLED_SETTING",
    "INJECTED_HEADER_PREFIXES",
    "PRINCIPAL_HEADER",
    "PRINCIPAL_IDP_HEADER",
    "PRINCIPAL_ID_HEADER",
    "PRINCIPAL_NAME_HEADER",
    "ROLE_CATALOGUE",
    "ROLE_DEFINITIONS",
    "SIGN_IN_PATH",
    "SIGN_OUT_PATH",
    "STAFF_FILE_SETTING",
    "AccessDenied",
    "Actor",
    "AuthenticationRequired",
    "IdentityError",
    "Permission",
    "Principal",
    "Role",
    "RoleDefinition",
    "ShelterStaffAssignments",
    "ShelterStaffMember",
    "assignments_from_settings",
    "authentication_enabled",
    "clean_name",
    "decision_refusal",
    "ensure_assigned_shelter",
    "ensure_not_starter",
    "principal_from_headers",
    "roles_granting",
    "unsafe_text_reason",
]
