"""The devhost's Easy Auth emulation (`--easy-auth`) as a client sees it, and the host without it.

Sign-in form and JSON sign-in, the session cookie, `/.auth/me`, sign-out, redirects that stay on
the host, and what the app reads (the injected principal). Without `--easy-auth` there is no
sign-in, and neither forged headers nor a `WEBSITE_AUTH_ENABLED` app setting make anyone signed in.
"""

from __future__ import annotations

import base64
import json
import uuid

import requests

from tests.support.durable_http import DurableApi
from tests.support.identity import Role, Tokens, person
from tools.harness import REPO_ROOT, Azurite, HostProcess, make_host

FORM = {
    "userId": "emu-ada",
    "userDetails": "Ada Emulated",
    "userRoles": "Maintenance.Approver, Operations.Reader",
    "claims": '[{"typ": "tid", "val": "tenant-1"}]',
}


def test_the_sign_in_form_sets_the_session_cookie_and_returns_to_the_page(root_host: HostProcess) -> None:
    base = root_host.base_url
    form = requests.get(f"{base}/.auth/login/aad?post_login_redirect_uri=/api/console", timeout=30)
    assert form.status_code == 200
    for field in ("userId", "userDetails", "userRoles", "claims", "post_login_redirect_uri"):
        assert f"name='{field}'" in form.text
    session = requests.Session()  # a browser: it keeps the cookies the host sets
    signed_in = session.post(
        f"{base}/.auth/login/aad",
        data={**FORM, "post_login_redirect_uri": "/api/console/decisions"},
        allow_redirects=False,
        timeout=30,
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/api/console/decisions"
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith("AppServiceAuthSession=") and "HttpOnly" in cookie and "Path=/" in cookie
    me = session.get(f"{base}/.auth/me", timeout=30).json()
    [entry] = me
    assert (entry["provider_name"], entry["user_id"]) == ("aad", "emu-ada")
    claims = {(claim["typ"], claim["val"]) for claim in entry["user_claims"]}
    assert {("roles", "Maintenance.Approver"), ("roles", "Operations.Reader"), ("tid", "tenant-1")} <= claims
    assert ("name", "Ada Emulated") in claims
    page = session.get(f"{base}/api/console/decisions", timeout=30)
    assert page.status_code == 200 and "Signed in as <strong>Ada Emulated</strong>" in page.text

    signed_out = session.get(
        f"{base}/.auth/logout?post_logout_redirect_uri=/.auth/login/aad", allow_redirects=False, timeout=30
    )
    assert signed_out.status_code == 302 and signed_out.headers["Location"] == "/.auth/login/aad"
    assert "AppServiceAuthSession=" in signed_out.headers["Set-Cookie"]
    assert session.get(f"{base}/.auth/me", timeout=30).status_code == 401
    assert session.get(f"{base}/api/console/decisions", timeout=30).status_code == 401


def test_json_sign_in_gives_a_token_for_service_callers(root_host: HostProcess) -> None:
    """The stand-in for a client-credential token: `Authorization: Bearer` or `X-ZUMO-AUTH`."""
    base = root_host.base_url
    answer = requests.post(
        f"{base}/.auth/login/aad",
        json={
            "userId": "sp-portal",
            "userDetails": "Portal service",
            "userRoles": ["Workflow.Submitter"],
            "claims": [{"typ": "appid", "val": "portal-app"}],
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["authenticationToken"]
    assert answer.json()["user"] == {"userId": "sp-portal"}
    for headers in ({"Authorization": f"Bearer {token}"}, {"X-ZUMO-AUTH": token}):
        me = requests.get(f"{base}/.auth/me", headers=headers, timeout=30)
        assert me.status_code == 200 and me.json()[0]["user_id"] == "sp-portal"
    inventory = requests.get(f"{base}/api/inventory", headers={"X-ZUMO-AUTH": token}, timeout=30)
    assert inventory.status_code == 403 and inventory.json()["requiredRoles"] == [
        "Operations.Reader",
        "Operations.Operator",
    ]


def test_bad_sign_ins_name_the_field_and_redirects_stay_on_the_host(root_host: HostProcess) -> None:
    base = root_host.base_url
    for body, field in (
        ({**FORM, "userId": ""}, "userId"),
        ({**FORM, "userRoles": "Not a role!"}, "userRoles"),
        ({**FORM, "claims": "not json"}, "claims"),
        ({**FORM, "claims": '[{"val": 1}]'}, "claims[0]"),
        ({**FORM, "post_login_redirect_uri": "https://evil.example/"}, "post_login_redirect_uri"),
        ({**FORM, "post_login_redirect_uri": "//evil.example/x"}, "post_login_redirect_uri"),
    ):
        answer = requests.post(f"{base}/.auth/login/aad", json=body, timeout=30)
        assert answer.status_code == 400 and answer.json()["field"] == field, (body, answer.text)
        page = requests.post(f"{base}/.auth/login/aad", data=body, allow_redirects=False, timeout=30)
        assert page.status_code == 400 and "role='alert'" in page.text and "Set-Cookie" not in page.headers
    assert (
        requests.get(
            f"{base}/.auth/logout?post_logout_redirect_uri=https://evil.example", timeout=30
        ).status_code
        == 400
    )
    assert requests.get(f"{base}/.auth/me", timeout=30).status_code == 401


def test_the_app_reads_the_injected_principal_not_the_clients(root_host: HostProcess) -> None:
    """The emulation's X-MS-CLIENT-PRINCIPAL is Easy Auth's shape and replaces whatever was sent."""
    base = root_host.base_url
    token = Tokens(base).token(person("Emu Ed", Role.WORKFLOW_SUBMITTER))
    forged = base64.b64encode(
        json.dumps({"auth_typ": "aad", "claims": [{"typ": "roles", "val": "x"}]}).encode()
    )
    order_id = f"emu-{uuid.uuid4().hex[:8]}"
    started = requests.post(
        f"{base}/api/maintenance-orders",
        json={
            "orderId": order_id,
            "assetId": "A1",
            "customer": {"name": "P", "email": "p@example.com"},
            "inspection": {
                "inspector": "I",
                "findings": [{"code": "C1", "severity": "low", "partNumbers": []}],
            },
        },
        headers={
            "Authorization": f"Bearer {token}",
            "X-MS-CLIENT-PRINCIPAL": forged.decode(),
            "X-MS-CLIENT-PRINCIPAL-ID": "someone-else",
        },
        timeout=30,
    )
    assert started.status_code == 202, started.text
    status = DurableApi(base, token).status(f"maintenance-{order_id}", showInput="true").json()
    started_by = json.loads(status["input"]) if isinstance(status["input"], str) else status["input"]
    assert started_by["startedBy"] == {
        "principalId": "test-emu-ed",
        "name": "Emu Ed",
        "role": "Workflow.Submitter",
        "identityProvider": "aad",
    }


def test_without_easy_auth_nobody_is_signed_in_whatever_the_headers_or_settings_say(azurite: Azurite) -> None:
    """The devhost as before --easy-auth: no sign-in routes; the app believes no identity header, and
    a WEBSITE_AUTH_ENABLED app setting (platform-set on Azure) is dropped by the devhost."""
    env = {
        "STORAGE_CONTAINER_PREFIX": f"na{uuid.uuid4().hex[:10]}",
        "INTEGRATIONS_MODE": "sandbox",
        "WEBSITE_AUTH_ENABLED": "True",
    }
    host = make_host(REPO_ROOT, azurite, env=env).start()
    try:
        base = host.base_url
        assert requests.get(f"{base}/.auth/login/aad", timeout=30).status_code == 404
        assert requests.get(f"{base}/api/health", timeout=30).status_code == 200
        claims = [
            {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": "cfo"},
            {"typ": "roles", "val": "Workflow.Submitter"},
        ]
        forged = base64.b64encode(json.dumps({"auth_typ": "aad", "claims": claims}).encode()).decode()
        answer = requests.post(
            f"{base}/api/fare-disputes",
            json={},
            headers={"X-MS-CLIENT-PRINCIPAL": forged, "X-MS-CLIENT-PRINCIPAL-ID": "cfo"},
            timeout=30,
        )
        assert answer.status_code == 401
        assert "does not run App Service Authentication" in answer.json()["error"]
        assert "ignoring the WEBSITE_AUTH_ENABLED setting" in host.log_text()
    finally:
        host.stop()
