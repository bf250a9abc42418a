"""Who decides, over HTTP on the devhost with Easy Auth emulated (the root app, real Azurite).

Only the right role makes each decision and operator action (403 naming the role otherwise), never
the principal who started the case (maker-checker, at the edge and inside the orchestration),
shelter staff only for their own shelters, nothing without a session (401), forged identity
headers count for nothing, and the audit packets name the authenticated principals.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from api.openapi import DOCUMENT_PATH
from console import csrf
from contracts.maintenance_order import APPROVAL_DECISION_EVENT
from identity import Role
from tests.support.durable_http import DurableApi
from tests.support.identity import (
    APPROVER,
    OPERATOR,
    READER,
    SHELTER_STAFF,
    SUBMITTER,
    SUPERVISOR,
    LocalPrincipal,
    Tokens,
    forged_approval,
    person,
)
from tools.clients import (
    AppClient,
    FareDisputeClient,
    MaintenanceOrderClient,
    ReliefRequestClient,
    maintenance_order_body,
    relief_request_body,
    supervised_fare_dispute_body,
)
from tools.harness import HostProcess

from .conftest import CONSOLE_CSRF_KEY

BAYVIEW = "shelter-bayview-school"
# One person per role who does not hold the role a given decision needs.
ONE_PER_ROLE = {role: person(f"Only {role.value}", role) for role in Role}


def client(tokens: Tokens, principal: LocalPrincipal) -> AppClient:
    return AppClient(tokens.base_url, token=tokens.token(principal))


def new_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def order_awaiting_approval(
    tokens: Tokens, starter: LocalPrincipal, label: str
) -> tuple[MaintenanceOrderClient, str]:
    """A new maintenance order `starter` started, waiting for approval: the starter's client, its id."""
    orders = MaintenanceOrderClient(client(tokens, starter))
    order_id = new_id(label)
    orders.start(maintenance_order_body(order_id))
    orders.wait_for_approval(order_id)
    return orders, order_id


@dataclass(frozen=True)
class Cases:
    """One case of each workflow, started by the portal, each waiting for its decision."""

    order: str
    dispute: str
    request: str


@pytest.fixture(scope="module")
def cases(tokens: Tokens) -> Cases:
    portal = client(tokens, SUBMITTER)
    ids = Cases(new_id("acl-order"), new_id("acl-dispute"), new_id("acl-relief"))
    MaintenanceOrderClient(portal).start(maintenance_order_body(ids.order))
    FareDisputeClient(portal).file(supervised_fare_dispute_body(ids.dispute))
    ReliefRequestClient(portal).start(relief_request_body(ids.request, {BAYVIEW: {"water": 1}}))
    MaintenanceOrderClient(portal).wait_for_approval(ids.order)
    FareDisputeClient(portal).wait_waiting_for(ids.dispute, "supervisor_decision")
    ReliefRequestClient(portal).wait_shelters_awaiting(ids.request, [BAYVIEW])
    return ids


def decisions(ids: Cases) -> dict[str, tuple[Role, str, dict[str, Any]]]:
    """Each decision endpoint: the one role it takes, its path, a valid body."""
    return {
        "maintenance approval": (
            Role.MAINTENANCE_APPROVER,
            f"maintenance-orders/{ids.order}/approval",
            {"approved": True},
        ),
        "supervisor decision": (
            Role.FARE_DISPUTE_SUPERVISOR,
            f"fare-disputes/{ids.dispute}/supervisor-decision",
            {"decision": "approve"},
        ),
        "shelter confirmation": (
            Role.RELIEF_SHELTER_STAFF,
            f"relief-requests/{ids.request}/shelter-confirmations",
            {"shelterId": BAYVIEW},
        ),
    }


def forged_principal(*roles: Role, principal_id: str = "cfo") -> str:
    """An `X-MS-CLIENT-PRINCIPAL` a client types itself (Easy Auth strips it; so does the emulation)."""
    claims = [
        {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": principal_id},
        {"typ": "name", "val": "CFO Jane Doe"},
        *({"typ": "roles", "val": role.value} for role in roles),
    ]
    return base64.b64encode(json.dumps({"auth_typ": "aad", "claims": claims}).encode()).decode()


# -- no session ---------------------------------------------------------------------------------------


def test_without_a_session_the_api_the_console_and_the_durable_api_answer_401(
    root_host: HostProcess, cases: Cases
) -> None:
    base = root_host.base_url
    document = json.loads(DOCUMENT_PATH.read_text())
    checked = 0
    for path, methods in document["paths"].items():
        concrete = path.format(
            orderId=cases.order,
            disputeId=cases.dispute,
            requestId=cases.request,
            instanceId=f"maintenance-{cases.order}",
            document="release-certificate.pdf",
        )
        for method in methods:
            response = requests.request(method.upper(), base + concrete, json={}, timeout=30)
            if path == "/api/health":
                assert response.status_code == 200
                continue
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["signIn"].startswith("/.auth/login/aad?post_login_redirect_uri=")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            checked += 1
    assert checked == 25  # 16 + the 9 audit evidence routes
    for method, path in (
        ("GET", "/api/console"),
        ("GET", "/api/console/decisions"),
        ("GET", f"/api/console/instance?id=maintenance-{cases.order}"),
        ("GET", f"/api/console/instance/audit?id=maintenance-{cases.order}"),
        ("GET", f"/api/console/instance/document?id=maintenance-{cases.order}&name=release-certificate.pdf"),
        ("POST", "/api/console/decide"),
        ("POST", f"/api/console/instance/action?id=maintenance-{cases.order}"),
        ("GET", "/runtime/webhooks/durabletask/instances"),
        ("GET", f"/runtime/webhooks/durabletask/instances/maintenance-{cases.order}"),
        (
            "POST",
            f"/runtime/webhooks/durabletask/instances/maintenance-{cases.order}/raiseEvent/approval_decision",
        ),
        ("POST", f"/runtime/webhooks/durabletask/instances/maintenance-{cases.order}/terminate"),
        ("GET", "/api/sandbox/payments"),
    ):
        response = requests.request(method, base + path, json={}, timeout=30)
        assert response.status_code == 401, (method, path, response.text)
    page = requests.get(f"{base}/api/console", headers={"Accept": "text/html"}, timeout=30)
    assert (
        page.status_code == 401 and "/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fconsole" in page.text
    )
    # Nothing happened: the order still waits.
    status = client(Tokens(base), READER).call("GET", f"maintenance-orders/{cases.order}")
    assert status["stage"] == "awaiting_approval"


def test_forged_identity_headers_count_for_nothing(
    root_host: HostProcess, tokens: Tokens, cases: Cases
) -> None:
    """A client's own X-MS-CLIENT-PRINCIPAL* headers are stripped: alone they are 401; next to a
    reader's session the reader is who acts (403 naming the role the forgery claimed)."""
    url = f"{root_host.base_url}/api/maintenance-orders/{cases.order}/approval"
    forged = {
        "X-MS-CLIENT-PRINCIPAL": forged_principal(Role.MAINTENANCE_APPROVER),
        "X-MS-CLIENT-PRINCIPAL-ID": "cfo",
        "X-MS-CLIENT-PRINCIPAL-NAME": "CFO Jane Doe",
        "X-MS-CLIENT-PRINCIPAL-IDP": "aad",
    }
    alone = requests.post(url, json={"approved": True}, headers=forged, timeout=30)
    assert alone.status_code == 401, alone.text
    with_reader = requests.post(
        url, json={"approved": True}, headers={**forged, **tokens.headers(READER)}, timeout=30
    )
    assert with_reader.status_code == 403 and with_reader.json()["requiredRoles"] == ["Maintenance.Approver"]
    assert "Rita Reader" in with_reader.json()["error"]
    bad_token = requests.post(
        url, json={"approved": True}, headers={"Authorization": "Bearer x.y"}, timeout=30
    )
    assert bad_token.status_code == 401
    payload, _, signature = tokens.token(READER).partition(".")
    tampered = (
        base64.urlsafe_b64encode(
            base64.urlsafe_b64decode(payload + "==").replace(b"Operations.Reader", b"Maintenance.Approver")
        )
        .decode()
        .rstrip("=")
    )
    resigned = requests.post(
        url, json={"approved": True}, headers={"Authorization": f"Bearer {tampered}.{signature}"}, timeout=30
    )
    assert resigned.status_code == 401, "a session whose roles were edited is not a session"


# -- the right role, and only it ---------------------------------------------------------------------------


def test_each_decision_refuses_every_other_role_with_403_naming_the_role(
    root_host: HostProcess, tokens: Tokens, cases: Cases
) -> None:
    base = root_host.base_url
    for name, (needed, path, body) in decisions(cases).items():
        for role, principal in ONE_PER_ROLE.items():
            if role == needed:
                continue
            response = requests.post(
                f"{base}/api/{path}", json=body, headers=tokens.headers(principal), timeout=30
            )
            assert response.status_code == 403, (name, role, response.text)
            assert response.json()["requiredRoles"] == [needed.value], (name, role)
            assert needed.value in response.json()["error"]
    reader = client(tokens, READER)
    assert reader.call("GET", f"maintenance-orders/{cases.order}")["stage"] == "awaiting_approval"
    assert reader.call("GET", f"fare-disputes/{cases.dispute}")["waitingFor"] == "supervisor_decision"
    assert reader.call("GET", f"relief-requests/{cases.request}")["shelters"][BAYVIEW]["state"] == "awaiting"


def test_starting_reading_and_auditing_need_their_roles(
    root_host: HostProcess, tokens: Tokens, cases: Cases
) -> None:
    base = root_host.base_url
    approver_start = requests.post(
        f"{base}/api/maintenance-orders",
        json=maintenance_order_body(new_id("nope")),
        headers=tokens.headers(APPROVER),
        timeout=30,
    )
    assert approver_start.status_code == 403 and approver_start.json()["requiredRoles"] == [
        "Workflow.Submitter"
    ]
    staff = SHELTER_STAFF[BAYVIEW]
    audit = requests.get(
        f"{base}/api/maintenance-orders/{cases.order}/audit", headers=tokens.headers(staff), timeout=30
    )
    assert audit.status_code == 403
    assert audit.json()["requiredRoles"] == ["Operations.Reader", "Operations.Operator"]
    for console_download in ("audit", "document"):
        downloaded = requests.get(
            f"{base}/api/console/instance/{console_download}",
            params={"id": f"maintenance-{cases.order}", "name": "release-certificate.pdf"},
            headers=tokens.headers(staff),
            timeout=30,
        )
        assert downloaded.status_code == 403, (console_download, downloaded.text)
    status = requests.get(
        f"{base}/api/maintenance-orders/{cases.order}", headers=tokens.headers(staff), timeout=30
    )
    assert status.status_code == 200, "every role may read where a case stands"
    nobody = person("No Role At All")
    assert (
        requests.get(f"{base}/api/openapi.json", headers=tokens.headers(nobody), timeout=30).status_code
        == 200
    )
    refused = requests.get(f"{base}/api/inventory", headers=tokens.headers(nobody), timeout=30)
    assert refused.status_code == 403 and "No Role At All" in refused.json()["error"]


# -- operator actions (console) -----------------------------------------------------------------------------


def console_post(
    root_host: HostProcess,
    tokens: Tokens,
    principal: LocalPrincipal,
    path: str,
    *,
    form: dict[str, str],
    purpose: str,
) -> requests.Response:
    """A console form post as the browser of `principal` sends it: session, CSRF cookie and token."""
    secret = "s" * 40
    token = csrf.form_token(secret, purpose, hashlib.sha256(CONSOLE_CSRF_KEY.encode()).digest())
    return requests.post(
        f"{root_host.base_url}/api/console/{path}",
        data={**form, "csrf": token},
        headers={**tokens.headers(principal), "Cookie": f"{csrf.COOKIE_NAME}={secret}"},
        allow_redirects=False,
        timeout=30,
    )


def test_operator_actions_refuse_every_other_role_and_record_the_operator(
    root_host: HostProcess, tokens: Tokens
) -> None:
    portal = client(tokens, SUBMITTER)
    orders, order_id = order_awaiting_approval(tokens, SUBMITTER, "acl-ops")
    instance_id = f"maintenance-{order_id}"
    path = f"instance/action?id={instance_id}"
    for action in ("suspend", "resume", "terminate", "rewind"):
        for role, principal in ONE_PER_ROLE.items():
            if role == Role.OPERATIONS_OPERATOR:
                continue
            form = {"id": instance_id, "action": action, "confirmed": "yes", "reason": "should not happen"}
            refused = console_post(
                root_host, tokens, principal, path, form=form, purpose=f"action|{action}|{instance_id}"
            )
            assert refused.status_code == 403, (action, role, refused.text)
            assert "Operations.Operator" in refused.text and "Not allowed" in refused.text
    assert portal.call("GET", f"maintenance-orders/{order_id}")["runtimeStatus"] == "Running"

    form = {"id": instance_id, "action": "suspend", "confirmed": "yes", "reason": "recall check"}
    done = console_post(root_host, tokens, OPERATOR, path, form=form, purpose=f"action|suspend|{instance_id}")
    assert done.status_code == 303, done.text
    assert "code=" not in done.headers["Location"] and done.headers["Location"].startswith("/api/console/")
    orders.wait_until(order_id, lambda b: b["runtimeStatus"] == "Suspended", "suspended")
    history = requests.get(
        f"{root_host.base_url}/runtime/webhooks/durabletask/instances/{instance_id}",
        params={"showHistory": "true"},
        headers=tokens.headers(OPERATOR),
        timeout=30,
    ).json()["historyEvents"]
    reasons = [str(event.get("Reason") or "") for event in history]
    assert any(f"(by {OPERATOR.name} (id {OPERATOR.user_id}, Operations.Operator))" in r for r in reasons), (
        reasons
    )


# -- maker-checker -------------------------------------------------------------------------------------------


def test_the_principal_who_started_an_order_cannot_approve_it(root_host: HostProcess, tokens: Tokens) -> None:
    """Maker-checker at the edge (API and console), then another approver's decision is taken."""
    dana = person("Dual Dana", Role.WORKFLOW_SUBMITTER, Role.MAINTENANCE_APPROVER)
    orders, order_id = order_awaiting_approval(tokens, dana, "mc-order")
    own = requests.post(
        f"{root_host.base_url}/api/maintenance-orders/{order_id}/approval",
        json={"approved": True},
        headers=tokens.headers(dana),
        timeout=30,
    )
    assert own.status_code == 403 and own.json()["rule"] == "maker-checker", own.text
    assert "Dual Dana started maintenance order" in own.json()["error"]
    form = {
        "kind": "maintenance_approval",
        "id": f"maintenance-{order_id}",
        "decision": "approve",
        "confirmed": "yes",
    }
    purpose = f"decide|maintenance_approval|maintenance-{order_id}|"
    console = console_post(root_host, tokens, dana, "decide", form=form, purpose=purpose)
    assert console.status_code == 403 and "maker-checker" in console.text
    assert orders.status(order_id)["stage"] == "awaiting_approval"

    MaintenanceOrderClient(client(tokens, APPROVER)).approve(order_id, approved=True)
    assert orders.wait_terminal(order_id)["outcome"] == "released"
    packet = MaintenanceOrderClient(client(tokens, READER)).audit(order_id)["packet"]
    assert packet["startedBy"]["principalId"] == dana.user_id
    assert packet["approval"]["approvedByPrincipal"]["principalId"] == APPROVER.user_id
    assert [event["principal"]["principalId"] for event in packet["approval"]["events"]] == [APPROVER.user_id]


def test_the_principal_who_filed_a_dispute_cannot_decide_it(root_host: HostProcess, tokens: Tokens) -> None:
    dave = person("Dual Dave", Role.WORKFLOW_SUBMITTER, Role.FARE_DISPUTE_SUPERVISOR)
    disputes = FareDisputeClient(client(tokens, dave))
    dispute_id = new_id("mc-dispute")
    disputes.file(supervised_fare_dispute_body(dispute_id))
    disputes.wait_waiting_for(dispute_id, "supervisor_decision")
    own = requests.post(
        f"{root_host.base_url}/api/fare-disputes/{dispute_id}/supervisor-decision",
        json={"decision": "approve"},
        headers=tokens.headers(dave),
        timeout=30,
    )
    assert own.status_code == 403 and own.json()["rule"] == "maker-checker", own.text
    FareDisputeClient(client(tokens, SUPERVISOR)).decide(dispute_id, "approve")
    assert disputes.wait_terminal(dispute_id)["outcome"] == "refunded"
    packet = FareDisputeClient(client(tokens, READER)).audit(dispute_id)["packet"]
    assert packet["filedBy"]["principalId"] == dave.user_id
    assert packet["refund"]["approvedBy"]["principalId"] == SUPERVISOR.user_id


def test_an_event_raised_past_the_api_by_the_starter_is_refused_by_the_orchestration(
    root_host: HostProcess, tokens: Tokens
) -> None:
    """Defence in depth: the management API skips the edge's checks, the orchestration does not."""
    orders, order_id = order_awaiting_approval(tokens, SUBMITTER, "mc-bypass")
    instance_id = f"maintenance-{order_id}"
    as_starter = DurableApi(root_host.base_url, tokens.token(SUBMITTER))
    raised = as_starter.raise_event(instance_id, APPROVAL_DECISION_EVENT, forged_approval(SUBMITTER))
    assert raised.status_code == 202
    anonymous: dict[str, Any] = {
        "approved": True,
        "approver": "CFO Jane Doe",
        "decidedAt": "2026-11-11T09:00:00Z",
    }
    as_starter.raise_event(instance_id, APPROVAL_DECISION_EVENT, anonymous)
    MaintenanceOrderClient(client(tokens, APPROVER)).approve(order_id, approved=False)
    finished = orders.wait_terminal(order_id)
    assert finished["outcome"] == "rejected", "the two forged decisions were refused; the approver's counts"
    refused = MaintenanceOrderClient(client(tokens, READER)).audit(order_id)["packet"]["approval"]["refused"]
    assert [r["reason"] for r in refused] == [
        "the principal who started the order cannot approve it (maker-checker)",
        "the decision names no authenticated principal",
    ]


# -- shelter scope ------------------------------------------------------------------------------------------


def test_shelter_staff_confirm_only_their_own_shelters(root_host: HostProcess, tokens: Tokens) -> None:
    relief = ReliefRequestClient(client(tokens, SUBMITTER))
    request_id = new_id("scope")
    relief.start(relief_request_body(request_id, {BAYVIEW: {"water": 1}}))
    relief.wait_shelters_awaiting(request_id, [BAYVIEW])
    url = f"{root_host.base_url}/api/relief-requests/{request_id}/shelter-confirmations"
    coast = SHELTER_STAFF["shelter-marsh-road-clinic"]
    other = requests.post(url, json={"shelterId": BAYVIEW}, headers=tokens.headers(coast), timeout=30)
    assert other.status_code == 403 and other.json()["rule"] == "shelter-scope", other.text
    assert "not assigned to shelter 'shelter-bayview-school'" in other.json()["error"]
    unassigned = person("Staff Without Shelters", Role.RELIEF_SHELTER_STAFF)
    assert (
        requests.post(
            url, json={"shelterId": BAYVIEW}, headers=tokens.headers(unassigned), timeout=30
        ).status_code
        == 403
    )
    own = requests.post(
        url, json={"shelterId": BAYVIEW}, headers=tokens.headers(SHELTER_STAFF[BAYVIEW]), timeout=30
    )
    assert (
        own.status_code == 202 and own.json()["confirmedBy"]["principalId"] == SHELTER_STAFF[BAYVIEW].user_id
    )
    assert relief.wait_terminal(request_id)["runtimeStatus"] == "Completed"
    packet = ReliefRequestClient(client(tokens, READER)).audit(request_id)["packet"]
    assert packet["confirmedBy"][BAYVIEW]["role"] == "Relief.ShelterStaff"
    assert [c["principal"]["principalId"] for c in packet["confirmations"]] == [
        SHELTER_STAFF[BAYVIEW].user_id
    ]


# -- names ------------------------------------------------------------------------------------------------


def test_decider_names_are_recorded_nfc_and_bidi_controls_are_refused(
    root_host: HostProcess, tokens: Tokens
) -> None:
    orders, order_id = order_awaiting_approval(tokens, SUBMITTER, "names")
    url = f"{root_host.base_url}/api/maintenance-orders/{order_id}/approval"
    spoofer = person("CFO Jane Doe \u202egnp.exe", Role.MAINTENANCE_APPROVER, user_id="approver-bidi")
    refused = requests.post(url, json={"approved": True}, headers=tokens.headers(spoofer), timeout=30)
    assert refused.status_code == 403 and "U+202E" in refused.json()["error"], refused.text
    amelie = person("Ame\u0301lie Approver", Role.MAINTENANCE_APPROVER, user_id="approver-amelie")
    accepted = requests.post(url, json={"approved": True}, headers=tokens.headers(amelie), timeout=30)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["decision"]["decidedBy"]["name"] == "Amélie Approver"
    orders.wait_terminal(order_id)
    packet = MaintenanceOrderClient(client(tokens, READER)).audit(order_id)["packet"]
    assert packet["approval"]["approvedBy"] == "Amélie Approver"
    assert "\u202e" not in json.dumps(packet, ensure_ascii=False)
