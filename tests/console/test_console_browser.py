"""The console in a real browser (headless Debian Chromium): real workflows on the devhost, decided
and operated through the pages; every page's screenshot lands in `.artifacts/console/`."""

from __future__ import annotations

import json
import re
import uuid

import requests
from playwright.sync_api import Page, expect

from ops.workflow_clients import (
    AppClient,
    FareDisputeClient,
    MaintenanceOrderClient,
    ReliefRequestClient,
    maintenance_order_body,
    relief_request_body,
    supervised_fare_dispute_body,
)
from tests.support.processes import HostProcess

from .conftest import screenshot


def new_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def test_an_approval_through_the_decision_queue_completes_the_order(
    page: Page, console_host: HostProcess, app_client: AppClient
) -> None:
    """List → filter → decision queue → approve → confirm → the order completes; audit downloads work."""
    orders = MaintenanceOrderClient(app_client)
    order_id = new_id("console")
    orders.start(maintenance_order_body(order_id))
    orders.wait_for_approval(order_id)
    base = f"{console_host.base_url}/api/console"

    page.goto(base)
    expect(page.get_by_role("heading", name="Instances")).to_be_visible()
    page.get_by_label("Workflow").select_option("maintenance_order")
    page.get_by_label("Business id contains").fill(order_id)
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tbody tr", has_text=order_id)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("awaiting_approval")
    screenshot(page, "01-instances")

    page.get_by_role("link", name="Pending decisions").click()
    decision = page.locator(f'tr[id="d-maintenance-{order_id}"]')
    expect(decision).to_contain_text("reminder(s) sent")
    screenshot(page, "02-decisions")
    decision.get_by_label("Approver").fill("Ada Approver")
    decision.get_by_label("Comment").fill("parts verified <b>ok</b>")
    decision.get_by_role("button", name="Approve…").click()

    expect(page.get_by_role("heading", name="Confirm the decision")).to_be_visible()
    expect(page.locator("div.warn")).to_contain_text(f"Approve maintenance order {order_id} as Ada Approver")
    screenshot(page, "03-confirm-decision")
    page.get_by_role("button", name="Send decision").click()

    expect(page.locator("div.notice")).to_contain_text("Sent: Approve maintenance order")
    finished = orders.wait_terminal(order_id)
    assert finished["runtimeStatus"] == "Completed" and finished["outcome"] == "released"
    page.reload()
    expect(page.locator("dl.facts")).to_contain_text("Completed")
    expect(
        page.locator("table", has_text="send_approval_reminder")
        .or_(page.locator("table", has_text="issue_release_certificate"))
        .first
    ).to_be_visible()
    expect(page.get_by_role("heading", name="History timeline")).to_be_visible()
    screenshot(page, "04-instance-completed")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="JSON").click()
    envelope = json.loads(download_info.value.path().read_text(encoding="utf-8"))
    packet = envelope["packet"]
    assert envelope["seal"]["signature"] and packet["approval"]["approvedBy"] == "Ada Approver"
    assert packet["instance"]["instanceId"] == f"maintenance-{order_id}"
    with page.expect_download() as report_info:
        page.get_by_role("link", name="HTML report").click()
    report = report_info.value.path().read_text(encoding="utf-8")
    assert f"maintenance-{order_id}" in report and "<script" not in report
    with page.expect_download() as pdf_info:
        page.get_by_role("link", name="PDF report").click()
    assert pdf_info.value.path().read_bytes().startswith(b"%PDF-")
    with page.expect_download() as certificate_info:
        page.get_by_role("link", name=re.compile("release certificate.*PDF")).click()
    assert certificate_info.value.path().read_bytes().startswith(b"%PDF-")


def test_a_supervisor_decision_is_checked_then_sent_to_the_dispute(
    page: Page, console_host: HostProcess, app_client: AppClient
) -> None:
    """A partial refund without an amount is refused before anything is sent; with one it is applied."""
    disputes = FareDisputeClient(app_client)
    dispute_id = new_id("console")
    disputes.file(supervised_fare_dispute_body(dispute_id))
    disputes.wait_waiting_for(dispute_id, "supervisor_decision")
    page.goto(f"{console_host.base_url}/api/console/decisions")
    decision = page.locator(f'tr[id="d-fare-dispute-{dispute_id}"]')
    decision.get_by_label("Supervisor id").fill("sup-console")
    decision.get_by_role("button", name="Partial…").click()
    expect(page.locator("div.error")).to_contain_text("refundAmount: must be an amount")

    page.goto(f"{console_host.base_url}/api/console/decisions")
    decision = page.locator(f'tr[id="d-fare-dispute-{dispute_id}"]')
    decision.get_by_label("Supervisor id").fill("sup-console")
    decision.get_by_label(re.compile("Partial refund")).fill("20.00")
    decision.get_by_role("button", name="Partial…").click()
    expect(page.locator("pre")).to_contain_text('"amount": "20.00"')
    page.get_by_role("button", name="Send decision").click()
    expect(page.locator("div.notice")).to_contain_text("Partial fare dispute")
    finished = disputes.wait_terminal(dispute_id)
    assert finished["outcome"] == "partially_refunded", finished


def test_operator_actions_need_a_reason_and_a_confirmation(
    page: Page, console_host: HostProcess, app_client: AppClient
) -> None:
    """Suspend, resume and terminate from the instance page; purge is never offered."""
    orders = MaintenanceOrderClient(app_client)
    order_id = new_id("ops")
    orders.start(maintenance_order_body(order_id))
    orders.wait_for_approval(order_id)
    page.goto(f"{console_host.base_url}/api/console/instance?id=maintenance-{order_id}")
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


def test_a_missing_shelter_confirmation_is_found_by_region_and_confirmed(
    page: Page, console_host: HostProcess, app_client: AppClient
) -> None:
    """The relief request shows under its region; confirming its one shelter completes it."""
    relief = ReliefRequestClient(app_client)
    request_id = new_id("console")
    relief.start(relief_request_body(request_id, {"shelter-hilltop-center": {"blanket": 1}}))
    relief.wait_stage(request_id, "awaiting_confirmations")

    page.goto(f"{console_host.base_url}/api/console")
    page.get_by_label("Region").select_option("depot-north")
    page.get_by_label("Business id contains").fill(request_id)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr", has_text=request_id)).to_contain_text("depot-north")
    page.get_by_label("Region").select_option("depot-harbor")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No instance matches these filters.")).to_be_visible()

    page.goto(f"{console_host.base_url}/api/console/decisions")
    decision = page.locator(f'tr[id="d-relief-{request_id}-shelter-hilltop-center"]')
    decision.get_by_label("Reported by").fill("Dispatcher Dee")
    decision.get_by_role("button", name="Confirm receipt…").click()
    page.get_by_role("button", name="Send decision").click()
    expect(page.locator("div.notice")).to_contain_text("shelter-hilltop-center")
    finished = relief.wait_terminal(request_id)
    assert finished["runtimeStatus"] == "Completed", finished


def test_posts_without_the_form_token_are_refused(console_host: HostProcess) -> None:
    """CSRF: no cookie, a wrong token, or a foreign Origin → 403 and nothing is sent."""
    url = f"{console_host.base_url}/api/console/decide"
    form = {
        "kind": "maintenance_approval",
        "id": "maintenance-x",
        "decision": "approve",
        "approver": "Mallory",
    }
    assert requests.post(url, data=form, timeout=30).status_code == 403
    session = requests.Session()
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
