"""`python -m identity.app_roles`: the app roles of the Entra app registration, from the catalogue.

Prints the `appRoles` JSON that `az ad app create --app-roles @file` (or `az ad app update`)
takes: one role per `identity.roles.Role`, with its description, who may hold it
(`allowedMemberTypes`: people, or people and services through application permissions) and a
stable id (a UUID derived from the role's value, so re-running keeps assignments valid).
docs/deploy-to-azure.md walks through creating the registration and assigning the roles.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

from identity.roles import ROLE_CATALOGUE

# Namespace of the role ids: changing it would orphan every existing role assignment.
ROLE_ID_NAMESPACE = uuid.UUID("6f1d6f2e-4c1b-5a8e-9d3f-2b7c1e0a9f41")


def app_role_id(value: str) -> str:
    """The stable id of an app role (UUID 5 of its value)."""
    return str(uuid.uuid5(ROLE_ID_NAMESPACE, value))


def app_roles() -> list[dict[str, Any]]:
    """The `appRoles` array of the app registration manifest."""
    return [
        {
            "id": app_role_id(definition.role.value),
            "value": definition.role.value,
            "displayName": definition.role.value,
            "description": definition.description,
            "allowedMemberTypes": list(definition.member_types),
            "isEnabled": True,
        }
        for definition in ROLE_CATALOGUE
    ]


def main() -> int:
    """Print the manifest's `appRoles` JSON on stdout."""
    print(json.dumps(app_roles(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
