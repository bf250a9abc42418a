"""The workflow catalogue is true to the code it names.

function_app.py, the documented API, the console, the audit profiles and the ops clients all read
`workflow_catalogue`; these tests hold each record against the blueprints its workflow registers
(orchestrator name, API collection), so a renamed route or orchestrator cannot leave it behind.
"""

from __future__ import annotations

import azure.durable_functions as df
import pytest

from api.openapi import documented_blueprints, http_functions
from evidence import PROFILES_BY_WORKFLOW, profile_for
from tools.clients import CLIENTS_BY_WORKFLOW, AppClient, client_for
from workflow_catalogue import (
    FARE_DISPUTE,
    MAINTENANCE_ORDER,
    RELIEF_ROUTING,
    WORKFLOWS,
    Workflow,
    workflow_of,
)

IDS = [workflow.name for workflow in WORKFLOWS]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_the_blueprints_register_the_orchestrator_and_the_collection(workflow: Workflow) -> None:
    app = df.DFApp()
    for blueprint in workflow.blueprints():
        app.register_functions(blueprint)
    functions = app.get_functions()  # once: the SDK refuses a second call on the same app
    triggers = [function.get_trigger() for function in functions]
    orchestrations = {
        str(binding.get("orchestration"))
        for binding in (trigger.get_dict_repr() for trigger in triggers if trigger is not None)
        if str(getattr(binding.get("type"), "value", binding.get("type"))) == "orchestrationTrigger"
    }
    assert orchestrations == {workflow.orchestrator}
    routes = {
        (function.route, method)
        for function in http_functions(workflow.blueprints())
        for method in function.methods
    }
    assert (workflow.collection, "POST") in routes
    assert any(route.startswith(f"{workflow.collection}/{{") and method == "GET" for route, method in routes)


def test_the_documented_api_serves_every_collection() -> None:
    documented = {function.route for function in http_functions(documented_blueprints())}
    assert {workflow.collection for workflow in WORKFLOWS} <= documented


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_an_instance_id_leads_back_to_its_workflow_profile_and_client(workflow: Workflow) -> None:
    instance_id = workflow.instance_id("case-7")
    assert instance_id == f"{workflow.instance_prefix}case-7"
    assert workflow.business_id(instance_id) == "case-7"
    assert workflow_of(instance_id) is workflow
    assert workflow_of("anything", workflow.orchestrator) is workflow
    profile = profile_for(instance_id)
    assert profile is PROFILES_BY_WORKFLOW[workflow.name] and profile.workflow is workflow
    client = client_for(AppClient("http://127.0.0.1:9"), instance_id)
    assert isinstance(client, CLIENTS_BY_WORKFLOW[workflow.name])
    assert client.path("case-7", "audit") == f"{workflow.collection}/case-7/audit"


def test_unknown_instances_and_empty_ids_belong_to_no_workflow() -> None:
    assert workflow_of("someone-else-1") is None
    assert workflow_of("maintenance-1", "not_a_workflow") is None
    assert profile_for("someone-else-1") is None
    assert client_for(AppClient("http://127.0.0.1:9"), "someone-else-1") is None
    with pytest.raises(ValueError, match="order id must not be empty"):
        MAINTENANCE_ORDER.instance_id("")


def test_the_longest_prefix_wins() -> None:
    """`fare-dispute-` and `relief-` must never be read as each other or as a shorter prefix."""
    assert workflow_of(FARE_DISPUTE.instance_id("relief-3")) is FARE_DISPUTE
    assert workflow_of(RELIEF_ROUTING.instance_id("maintenance-2")) is RELIEF_ROUTING
    assert len({workflow.instance_prefix for workflow in WORKFLOWS}) == len(WORKFLOWS)
    assert len({workflow.collection for workflow in WORKFLOWS}) == len(WORKFLOWS)
