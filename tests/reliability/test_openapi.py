"""The OpenAPI document: generated from the request models, committed without drift, complete."""

from __future__ import annotations

import json

from api.openapi import (
    DOCUMENT_PATH,
    UNDOCUMENTED_ROUTE_PREFIXES,
    generate,
    main,
    registered_http_functions,
    render,
)


def test_committed_document_equals_the_generated_one() -> None:
    """`openapi.json` is exactly what `python -m api.openapi` writes (run it after changing a model)."""
    assert DOCUMENT_PATH.read_text() == render(generate()), "run: .venv/bin/python -m api.openapi"
    assert main(["--check"]) == 0


def test_every_http_function_of_the_root_app_is_documented() -> None:
    """function_app.py registers exactly the documented operations (plus the sandbox view, console)."""
    import function_app

    registered = {
        (function.route, method)
        for function in registered_http_functions(function_app.app)
        if not function.route.startswith(UNDOCUMENTED_ROUTE_PREFIXES)
        for method in function.methods
    }
    document = json.loads(DOCUMENT_PATH.read_text())
    documented = {
        (path.removeprefix("/api/"), method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert registered == documented


def test_request_bodies_come_from_the_models() -> None:
    """A body schema is the pydantic model's: constraints and camelCase names carry over."""
    schemas = generate()["components"]["schemas"]
    relief = schemas["ReliefRequest"]
    assert relief["additionalProperties"] is False
    assert relief["properties"]["priority"] == {
        "maximum": 5,
        "minimum": 1,
        "title": "Priority",
        "type": "integer",
    }
    assert set(relief["required"]) == {"requestId", "priority", "shelters"}
    assert schemas["Money"]["properties"]["amount"]["type"] == "string"
    assert "changeId" not in schemas["ReliefChangeRequestBody"].get("required", [])
    assert "requestedBy" not in schemas["ReliefChangeRequestBody"]["properties"], "set by the edge only"
    approval = schemas["ApprovalRequest"]
    assert approval["required"] == ["approved"] and approval["properties"]["approver"]["deprecated"] is True
    assert schemas["ValidationError"]["required"] == ["error", "field", "fields"]


def test_every_operation_but_the_health_check_needs_a_principal_and_names_its_roles() -> None:
    """Security schemes (Entra bearer token, Easy Auth session); 401 everywhere, 403 where a role is
    needed; the roles an operation accepts are in `x-required-roles` (from identity.roles)."""
    document = generate()
    assert set(document["components"]["securitySchemes"]) == {"entraIdBearer", "easyAuthSession"}
    operations = {
        (path, method): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    for (path, method), operation in operations.items():
        if path == "/api/health":
            assert operation["security"] == [] and "401" not in operation["responses"]
            continue
        assert operation["security"] == [{"entraIdBearer": []}, {"easyAuthSession": []}], path
        assert "401" in operation["responses"], (path, method)
        if path != "/api/openapi.json":
            assert "403" in operation["responses"] and operation["x-required-roles"], (path, method)
    approve = operations[("/api/maintenance-orders/{orderId}/approval", "post")]
    assert approve["x-required-roles"] == ["Maintenance.Approver"]
    confirm = operations[("/api/relief-requests/{requestId}/shelter-confirmations", "post")]
    assert confirm["x-required-roles"] == ["Relief.ShelterStaff"]
