"""The principal and the role catalogue, as pure functions: what Easy Auth's headers mean to the app."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from identity import (
    ROLE_CATALOGUE,
    AccessDenied,
    Actor,
    AuthenticationRequired,
    Permission,
    Role,
    principal_from_headers,
    roles_granting,
)

ENABLED = {"WEBSITE_AUTH_ENABLED": "True"}
ROLE_TYP = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
NAME_TYP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"


def headers(claims: list[dict[str, Any]], **extra: str) -> dict[str, str]:
    document = {"auth_typ": "aad", "claims": claims, "name_typ": NAME_TYP, "role_typ": ROLE_TYP}
    encoded = base64.b64encode(json.dumps(document).encode()).decode()
    return {"x-ms-client-principal": encoded, **extra}


def test_an_entra_user_is_read_from_the_claims_with_roles_under_either_claim_type() -> None:
    principal = principal_from_headers(
        headers(
            [
                {"typ": OID, "val": "0b2c-oid"},
                {"typ": "name", "val": "Ada Lovelace"},
                {"typ": "roles", "val": "Maintenance.Approver"},
                {"typ": ROLE_TYP, "val": "Operations.Reader"},
                {"typ": "roles", "val": "Not.A.Role"},
            ],
            **{"X-MS-CLIENT-PRINCIPAL-ID": "header-id", "X-MS-CLIENT-PRINCIPAL-NAME": "ada@contoso.example"},
        ),
        ENABLED,
    )
    assert (principal.principal_id, principal.name, principal.identity_provider) == (
        "0b2c-oid",
        "Ada Lovelace",
        "aad",
    )
    assert principal.known_roles() == (Role.MAINTENANCE_APPROVER, Role.OPERATIONS_READER)
    actor = principal.authorize(Permission.APPROVE_MAINTENANCE_ORDER)
    assert actor == Actor(
        principal_id="0b2c-oid", name="Ada Lovelace", role="Maintenance.Approver", identity_provider="aad"
    )
    assert principal.authorize(Permission.READ_OPERATIONS).role == "Operations.Reader"


def test_a_service_principal_has_roles_as_application_permissions_and_no_display_name() -> None:
    """A client-credential token: object id, appid, roles; the name falls back to the appid."""
    principal = principal_from_headers(
        headers(
            [
                {"typ": "oid", "val": "sp-1"},
                {"typ": "appid", "val": "portal-app"},
                {"typ": "roles", "val": "Workflow.Submitter"},
            ]
        ),
        ENABLED,
    )
    assert (principal.principal_id, principal.name) == ("sp-1", "portal-app")
    assert principal.authorize(Permission.START_WORKFLOW).role == "Workflow.Submitter"


def test_a_missing_role_is_a_403_naming_every_role_that_grants_it() -> None:
    principal = principal_from_headers(
        headers([{"typ": OID, "val": "r"}, {"typ": "roles", "val": "Operations.Reader"}]), ENABLED
    )
    with pytest.raises(AccessDenied) as denied:
        principal.authorize(Permission.OPERATE_INSTANCES)
    assert denied.value.body()["requiredRoles"] == ["Operations.Operator"]
    assert "needs Operations.Operator" in str(denied.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (headers([{"typ": OID, "val": "x"}]), None),
        ({}, "sign in first"),
        ({"x-ms-client-principal": "%%%not base64"}, "cannot be read"),
        ({"x-ms-client-principal": base64.b64encode(b"[1, 2]").decode()}, "cannot be read"),
        (headers([]), "has no id"),
    ],
)
def test_no_usable_principal_is_a_401(given: dict[str, str], expected: str | None) -> None:
    if expected is None:
        assert principal_from_headers(given, ENABLED).principal_id == "x"
        return
    with pytest.raises(AuthenticationRequired) as refused:
        principal_from_headers(given, ENABLED)
    assert expected in str(refused.value)
    assert refused.value.body()["signIn"] == "/.auth/login/aad"


def test_headers_are_not_trusted_without_app_service_authentication() -> None:
    """Without WEBSITE_AUTH_ENABLED nothing strips client-sent headers, so none is believed."""
    forged = headers([{"typ": OID, "val": "cfo"}, {"typ": "roles", "val": "FareDispute.Supervisor"}])
    for environ in ({}, {"WEBSITE_AUTH_ENABLED": "False"}):
        with pytest.raises(AuthenticationRequired, match="does not run App Service Authentication"):
            principal_from_headers(forged, environ)


def test_names_are_nfc_normalised_and_format_characters_are_refused() -> None:
    decomposed = "Ame\u0301lie"  # e + combining acute accent
    principal = principal_from_headers(
        headers([{"typ": OID, "val": "a"}, {"typ": "name", "val": decomposed}]), ENABLED
    )
    assert principal.name == "Amélie" and len(principal.name) == 6
    for bad in ("CFO Jane Doe \u202egnp.exe", "zero\u200bwidth", "line\nbreak"):
        with pytest.raises(AccessDenied, match="cannot hold it"):
            principal_from_headers(headers([{"typ": OID, "val": "a"}, {"typ": "name", "val": bad}]), ENABLED)
    with pytest.raises(ValueError):
        Actor(principal_id="a", name="evil\u2066name")


def test_the_catalogue_grants_every_permission_and_each_decision_to_one_role() -> None:
    for permission in Permission:
        assert roles_granting(permission), f"no role grants {permission}"
    assert roles_granting(Permission.APPROVE_MAINTENANCE_ORDER) == (Role.MAINTENANCE_APPROVER,)
    assert roles_granting(Permission.DECIDE_FARE_DISPUTE) == (Role.FARE_DISPUTE_SUPERVISOR,)
    assert roles_granting(Permission.CONFIRM_SHELTER_DELIVERY) == (Role.RELIEF_SHELTER_STAFF,)
    assert roles_granting(Permission.OPERATE_INSTANCES) == (Role.OPERATIONS_OPERATOR,)
    assert [definition.role for definition in ROLE_CATALOGUE] == list(Role)
    assert all(definition.description for definition in ROLE_CATALOGUE)


def test_the_app_registration_roles_come_from_the_catalogue_with_stable_ids() -> None:
    from identity.app_roles import app_role_id, app_roles

    roles = app_roles()
    assert [role["value"] for role in roles] == [role.value for role in Role]
    assert len({role["id"] for role in roles}) == len(roles)
    assert app_role_id("Maintenance.Approver") == app_role_id("Maintenance.Approver")
    members = {role["value"]: role["allowedMemberTypes"] for role in roles}
    # Services hold submitter and reader roles as application permissions; decisions are people's.
    assert members["Workflow.Submitter"] == ["User", "Application"]
    assert members["Operations.Reader"] == ["User", "Application"]
    for decider in (
        "Maintenance.Approver",
        "FareDispute.Supervisor",
        "Relief.ShelterStaff",
        "Operations.Operator",
    ):
        assert members[decider] == ["User"], decider
