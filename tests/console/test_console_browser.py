"""The console in a real browser (headless Debian Chromium): real workflows on the devhost, decided
and operated through the pages by people who signed in through the (emulated) Easy Auth form;
every page's screenshot lands in `.artifacts/console/`."""

from __future__ import annotations

import json
import re
import uuid

import requests
from playwright.sync_api import Page, expect

from identity import Role
from ops.sign_in import LOCAL_OPERATOR, LOCAL_SHELTER_STAFF, LocalPrincipal
from ops.sign_in import sign_in as token_for
from tests.support.durable_http import DurableApi
from tools.clients import (
    Cast,
    FareDisputeClient,
    Json,
    MaintenanceOrderClient,
    ReliefRequestClient,
    WorkflowClient,
    maintenance_order_body,
    relief_request_body,
    supervised_fare_dispute_body,
)
from tools.harness import HostProcess

from .conftest import screenshot, sign_in

# Ada approves maintenance orders and, as an operations reader, browses the instance list.
ADA = LocalPrincipal("console-ada", "Ada Approver", (Role.MAINTENANCE_APPROVER, Role.OPERATIONS_READER))
SAM = LocalPrincipal("console-sam", "Sam Supervisor", (Role.FARE_DISPUTE_SUPERVISOR,))
RITA = LocalPrincipal("console-rita", "Rita Reader", (Role.OPERATIONS_READER,))
# The Hilltop desk (assigned in data/shelter_staff.local.json), who also reads the instance list.
HILLTOP = LocalPrincipal(
    LOCAL_SHELTER_STAFF["shelter-hilltop-center"].user_id,
    "Hilltop desk",
    (Role.RELIEF_SHELTER_STAFF, Role.OPERATIONS_READER),
)


def new_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def send_decision(page: Page, notice: str, client: WorkflowClient, business_id: str) -> Json:
    """Send the decision on the confirmation page, see the console's notice; the case's final status."""
    page.get_by_role("button", name="Send decision").click()
    expect(page.locator("div.notice")).to_contain_text(notice)
    return client.wait_terminal(business_id)


def test_opening_the_console_without_a_session_leads_through_the_sign_in_form(
    page: Page, console_host: HostProcess
) -> None:
    """401 with a sign-in link → the form → back on the console, showing who is signed in."""
    response = page.goto(f"{console_host.base_url}/api/console/decisions")
    assert response is not None and response.status == 401
    page.get_by_role("link", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign in (emulated)")).to_be_visible()
    page.get_by_label("User ID").fill(RITA.user_id)
    page.get_by_label("User details").fill(RITA.name)
    page.get_by_label("User roles").fill("Operations.Reader")
    screenshot(page, "00-sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Pending decisions")).to_be_visible()
    expect(page.locator("header .who")).to_contain_text("Signed in as Rita Reader (Operations.Reader)")
    page.get_by_role("link", name="sign out").click()
    assert page.goto(f"{console_host.base_url}/api/console").status == 401  # type: ignore[union-attr]


def test_an_approval_through_the_decision_queue_completes_the_order(
    page: Page, console_host: HostProcess, cast: Cast
) -> None:
    """List → filter → decision queue → approve → confirm → the order completes; audit downloads work."""
    orders = MaintenanceOrderClient(cast.submitter)
    order_id = new_id("console")
    orders.start(maintenance_order_body(order_id))
    orders.wait_for_approval(order_id)
    base = f"{console_host.base_url}/api/console"

    sign_in(page, console_host.base_url, ADA)
    expect(page.get_by_role("heading", name="Instances")).to_be_visible()
    page.locator("form.filters").get_by_label("Workflow").select_option("maintenance_order")
    page.locator("form.filters").get_by_label("Business id contains").fill(order_id)
    page.get_by_role("button", name="Filter").click()
    row = page.locator("table.instances tbody tr", has_text=order_id)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("awaiting_approval")
    assert "code=" not in page.url
    screenshot(page, "01-instances")

    page.get_by_role("link", name="Pending decisions").click()
    decision = page.locator(f'tr[id="d-maintenance-{order_id}"]')
    expect(decision).to_contain_text("reminder(s) sent")
    expect(decision.get_by_label("Approver")).to_have_count(
        0
    )  # no name to type: the signed-in person decides
    screenshot(page, "02-decisions")
    decision.get_by_label("Comment").fill("parts verified <b>ok</b>")
    decision.get_by_role("button", name="Approve…").click()

    expect(page.get_by_role("heading", name="Confirm the decision")).to_be_visible()
    expect(page.locator("div.warn")).to_contain_text(f"Approve maintenance order {order_id} as Ada Approver")
    expect(page.locator("div.warn")).to_contain_text("id console-ada, Maintenance.Approver")
    screenshot(page, "03-confirm-decision")
    finished = send_decision(page, "Sent: Approve maintenance order", orders, order_id)
    assert finished["runtimeStatus"] == "Completed" and finished["outcome"] == "released"
    page.reload()
    expect(page.locator("dl.facts")).to_contain_text("Completed")
    expect(
        page.locator("table:visible", has_text="send_approval_reminder")
        .or_(page.locator("table:visible", has_text="issue_release_certificate"))
        .first
    ).to_be_visible()
    expect(page.get_by_role("heading", name="History timeline")).to_be_visible()
    expect(page.locator("table:visible", has_text="received").first).to_contain_text("principal console-ada")
    expect(page.get_by_role("heading", name="Operator actions")).to_have_count(0)  # Completed: none apply
    screenshot(page, "04-instance-completed")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="JSON").click()
    envelope = json.loads(download_info.value.path().read_text(encoding="utf-8"))
    packet = envelope["packet"]
    assert envelope["seal"]["signature"] and packet["approval"]["approvedBy"] == "Ada Approver"
    assert packet["approval"]["approvedByPrincipal"]["principalId"] == ADA.user_id
    assert packet["instance"]["instanceId"] == f"maintenance-{order_id}"
    with page.expect_download() as report_info:
        page.get_by_role("link", name="HTML report").click()
    report = report_info.value.path().read_text(encoding="utf-8")
    assert f"maintenance-{order_id}" in report and "<script" not in report
    assert "Maintenance.Approver, id console-ada" in report
    with page.expect_download() as pdf_info:
        page.get_by_role("link", name="PDF report").click()
    assert pdf_info.value.path().read_bytes().startswith(b"%PDF-")
    with page.expect_download() as certificate_info:
        page.get_by_role("link", name=re.compile("release certificate.*PDF")).click()
    assert certificate_info.value.path().read_bytes().startswith(b"%PDF-")
    assert base in page.url


def test_a_supervisor_decision_is_checked_then_taken_as_the_supervisor(
    page: Page, console_host: HostProcess, cast: Cast
) -> None:
    """A partial refund without an amount is refused before anything is sent; with one it is applied.
    The supervisor sees only the decisions a supervisor takes, and no instance list."""
    disputes = FareDisputeClient(cast.submitter)
    dispute_id = new_id("console")
    disputes.file(supervised_fare_dispute_body(dispute_id))
    disputes.wait_waiting_for(dispute_id, "supervisor_decision")
    sign_in(page, console_host.base_url, SAM, "/api/console/decisions")
    expect(page.get_by_role("link", name="Instances")).to_have_count(0)
    decision = page.locator(f'tr[id="d-fare-dispute-{dispute_id}"]')
    decision.get_by_role("button", name="Partial…").click()
    expect(page.locator("div.error")).to_contain_text("refundAmount: must be an amount")

    page.goto(f"{console_host.base_url}/api/console/decisions")
    decision = page.locator(f'tr[id="d-fare-dispute-{dispute_id}"]')
    decision.get_by_label(re.compile("Partial refund")).fill("20.00")
    decision.get_by_role("button", name="Partial…").click()
    expect(page.locator("pre")).to_contain_text('"amount": "20.00"')
    finished = send_decision(page, "Partial fare dispute", disputes, dispute_id)
    assert finished["outcome"] == "partially_refunded", finished
    packet = FareDisputeClient(cast.reader).audit(dispute_id)["packet"]
    assert packet["refund"]["approvedBy"]["principalId"] == SAM.user_id
    assert packet["supervisorDecisionEvents"][0]["principal"]["name"] == "Sam Supervisor"


def test_operator_actions_need_the_operator_role_a_reason_and_a_confirmation(
    page: Page, console_host: HostProcess, cast: Cast
) -> None:
    """A reader sees no action; the operator suspends, resumes and terminates, each recorded with
    their principal in the history's reason; purge is never offered."""
    orders = MaintenanceOrderClient(cast.submitter)
    order_id = new_id("ops")
    orders.start(maintenance_order_body(order_id))
    orders.wait_for_approval(order_id)
    instance_page = f"/api/console/instance?id=maintenance-{order_id}"

    sign_in(page, console_host.base_url, RITA, instance_page)
    expect(page.locator("main")).to_contain_text("need the role Operations.Operator")
    expect(page.get_by_role("button", name="Suspend…")).to_have_count(0)
    expect(page.locator(f'tr[id="d-maintenance-{order_id}"]')).to_contain_text(
        "needs the role Maintenance.Approver"
    )
    page.get_by_role("link", name="sign out").click()

    sign_in(page, console_host.base_url, LOCAL_OPERATOR, instance_page)
    expect(page.get_by_role("button", name=re.compile("Purge"))).to_have_count(0)
    expect(page.get_by_role("button", name="Rewind…")).to_have_count(0)  # only for failed instances
    screenshot(page, "05-instance-waiting")

    page.get_by_role("button", name="Suspend…").click()
    expect(page.locator("div.warn")).to_contain_text("now Running")
    page.get_by_label(re.compile("Reason")).fill("supplier recall under review")
    screenshot(page, "06-confirm-action")
    page.get_by_role("button", name="Suspend").click()
    expect(page.locator("div.notice")).to_contain_text("Suspend requested: supplier recall under review")
    orders.wait_until(order_id, lambda body: body.get("runtimeStatus") == "Suspended", "suspended")

    page.reload()
    page.get_by_role("button", name="Resume…").click()
    page.get_by_label(re.compile("Reason")).fill("recall cleared")
    page.get_by_role("button", name="Resume").click()
    orders.wait_until(order_id, lambda body: body.get("runtimeStatus") == "Running", "running again")

    page.reload()
    page.get_by_role("button", name="Terminate…").click()
    page.get_by_label(re.compile("Reason")).fill("order withdrawn by the customer")
    page.get_by_role("button", name="Terminate").click()
    orders.wait_until(order_id, lambda body: body.get("runtimeStatus") == "Terminated", "terminated")
    page.reload()
    expect(page.locator("dl.facts")).to_contain_text("Terminated")
    expect(page.get_by_role("button", name="Terminate…")).to_have_count(0)
    # The history records who acted: the reason names the operator's principal and role.
    operator_api = DurableApi(console_host.base_url, cast.operator.token)
    status = operator_api.status(f"maintenance-{order_id}", showHistory="true").json()
    assert status["output"] == (
        "console: order withdrawn by the customer "
        f"(by Omar Operator (id {LOCAL_OPERATOR.user_id}, Operations.Operator))"
    )
    log = console_host.log_text()
    assert "operator action" in log and LOCAL_OPERATOR.user_id in log, "the log names the operator too"


def test_a_missing_shelter_confirmation_is_found_by_region_and_confirmed_by_its_desk(
    page: Page, console_host: HostProcess, cast: Cast
) -> None:
    """The relief request shows under its region; its own shelter desk confirms it (another shelter's
    desk gets no form)."""
    relief = ReliefRequestClient(cast.submitter)
    request_id = new_id("console")
    relief.start(relief_request_body(request_id, {"shelter-hilltop-center": {"blanket": 1}}))
    relief.wait_stage(request_id, "awaiting_confirmations")

    bayview = LocalPrincipal(
        LOCAL_SHELTER_STAFF["shelter-bayview-school"].user_id, "Bayview desk", (Role.RELIEF_SHELTER_STAFF,)
    )
    sign_in(page, console_host.base_url, bayview, "/api/console/decisions")
    expect(page.locator(f'tr[id="d-relief-{request_id}-shelter-hilltop-center"]')).to_contain_text(
        "not one of your shelters"
    )
    page.get_by_role("link", name="sign out").click()

    sign_in(page, console_host.base_url, HILLTOP)
    page.locator("form.filters").get_by_label("Region").select_option("depot-north")
    page.locator("form.filters").get_by_label("Business id contains").fill(request_id)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.instances tbody tr", has_text=request_id)).to_contain_text("depot-north")
    page.locator("form.filters").get_by_label("Region").select_option("depot-harbor")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No instance matches these filters.")).to_be_visible()

    page.goto(f"{console_host.base_url}/api/console/decisions")
    decision = page.locator(f'tr[id="d-relief-{request_id}-shelter-hilltop-center"]')
    decision.get_by_role("button", name="Confirm receipt…").click()
    finished = send_decision(page, "shelter-hilltop-center", relief, request_id)
    assert finished["runtimeStatus"] == "Completed", finished
    packet = ReliefRequestClient(cast.reader).audit(request_id)["packet"]
    assert packet["confirmedBy"]["shelter-hilltop-center"]["principalId"] == HILLTOP.user_id


def test_posts_without_the_form_token_are_refused(console_host: HostProcess) -> None:
    """CSRF (for a signed-in operator): no cookie, a wrong token, or a foreign Origin → 403, nothing sent."""
    token = token_for(console_host.base_url, LOCAL_OPERATOR)
    url = f"{console_host.base_url}/api/console/decide"
    form = {"kind": "maintenance_approval", "id": "maintenance-x", "decision": "approve"}
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    refused = session.post(url, data=form, timeout=30)
    assert refused.status_code == 403 and "cookie is missing" in refused.text
    session.get(f"{console_host.base_url}/api/console", timeout=30)
    assert session.cookies.get("console_csrf")
    assert session.post(url, data={**form, "csrf": "0" * 64}, timeout=30).status_code == 403
    action = f"{console_host.base_url}/api/console/instance/action?id=maintenance-x"
    refused = session.post(
        action,
        data={"action": "terminate", "csrf": "x"},
        headers={"Origin": "http://evil.example"},
        timeout=30,
    )
    assert refused.status_code == 403 and "another site" in refused.text
