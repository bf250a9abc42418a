"""`python -m ops demo`: one case of each reference workflow on a running app, driven as a user would.

Start the app first (`./scripts/dev`, which runs the devhost with `--easy-auth`), then run
`.venv/bin/python -m ops demo`. The demo signs in to the emulated Easy Auth as the people each step
needs (`ops.sign_in`): the customer portal (`Workflow.Submitter`) starts the cases and sends
evidence, Ada Approver (`Maintenance.Approver`) approves, Sam Supervisor
(`FareDispute.Supervisor`) decides, each shelter's desk (`Relief.ShelterStaff`, assigned in
data/shelter_staff.local.json) confirms its own delivery, and Rita Reader (`Operations.Reader`)
reads the audit packets. Nobody decides a case they started. Cases (the same inputs every run; only
the ids carry the run id, so the demo can run again on the same storage):

- maintenance order `<run>-order`: inspection with two findings (parts from three suppliers); the
  approver approves as soon as the order waits for approval; the order is released.
- fare dispute `<run>-dispute`: a 2.00 EUR overcharge the trip history cannot confirm; the customer
  sends evidence when asked, then the supervisor grants a partial refund of 1.50 EUR.
- relief request `<run>-relief`: water and blankets for Bayview school; while it waits for the
  confirmation, a change adds Hilltop community center; both shelters confirm and it completes.

No step waits for a durable timer (reminders, SLA and escalation timers stay far in the future),
so the demo finishes in seconds with real time. Progress (each step and the status the workflow's
GET endpoint reports) goes to stderr; where to read each audit packet goes to stdout (`--json`:
one JSON document). Exit codes: 0 every case reached its expected outcome, 1 a case failed or the
app could not be reached, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from ops.command_line import add_command
from ops.durable_client import BASE_URL_ENV, DEFAULT_BASE_URL, default_base_url
from ops.sign_in import LocalPrincipal, SignInError
from tools.camel_case import camel_case_dict
from tools.clients import (
    Cast,
    FareDisputeClient,
    Json,
    MaintenanceOrderClient,
    ReliefRequestClient,
    WorkflowApiError,
    WorkflowClient,
    WorkflowClientError,
    evidence_fare_dispute_body,
    maintenance_order_body,
    relief_request_body,
)

WORKFLOW_CHOICES = ("all", "maintenance", "fare", "relief")
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")

FIRST_SHELTER = "shelter-bayview-school"
ADDED_SHELTER = "shelter-hilltop-center"
FIRST_SHELTER_ITEMS = {"water": 2, "blanket": 1}
ADDED_SHELTER_ITEMS = {"blanket": 1}
PARTIAL_REFUND = {"amount": "1.50", "currency": "EUR"}


@dataclass
class CaseResult:
    """One demo case: which workflow, its ids, how it ended and where its audit packet is."""

    workflow: str
    business_id: str
    instance_id: str
    outcome: str | None
    expected_outcome: str
    audit_url: str
    audit_command: str
    seconds: float

    @property
    def ok(self) -> bool:
        """The case reached the outcome the demo drives it to."""
        return self.outcome == self.expected_outcome

    def to_dict(self) -> Json:
        """The JSON form (`--json`)."""
        return {
            **camel_case_dict(
                self, "workflow", "business_id", "instance_id", "outcome", "expected_outcome", "ok"
            ),
            "seconds": round(self.seconds, 3),
            **camel_case_dict(self, "audit_url", "audit_command"),
        }


class Progress:
    """The progress display on stderr: numbered steps, and each new status a workflow reports."""

    def __init__(self, out: TextIO, label: str) -> None:
        self.out = out
        self.label = label
        self.started = time.monotonic()
        self.last_line = ""

    def _print(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.2f}s] {self.label:<11} {text}", file=self.out, flush=True)

    def step(self, text: str) -> None:
        """A step the demo takes (a request it sends, a wait it begins)."""
        self._print(f"▶ {text}")

    def done(self, text: str) -> None:
        """What a step got back."""
        self._print(f"  ✓ {text}")

    def status(self, body: Json) -> None:
        """A status body from the workflow's GET endpoint (printed when its summary changes)."""
        line = status_line(body)
        if line != self.last_line:
            self.last_line = line
            self._print(f"  · {line}")


def status_line(body: Json) -> str:
    """`Running · awaiting_approval · waiting for approval_decision` from a GET body."""
    parts = [str(body.get("runtimeStatus") or "?")]
    if body.get("stage"):
        parts.append(str(body["stage"]))
    if body.get("waitingFor"):
        parts.append(f"waiting for {body['waitingFor']}")
    shelters = body.get("shelters")
    if isinstance(shelters, dict) and shelters:
        parts.append(
            "shelters "
            + ", ".join(f"{name}={(state or {}).get('state')}" for name, state in sorted(shelters.items()))
        )
    outcome = body.get("outcome")
    if isinstance(outcome, dict):
        outcome = outcome.get("outcome")
    if outcome:
        parts.append(f"outcome {outcome}")
    return " · ".join(parts)


def audit_command(instance_id: str, base_url: str) -> str:
    """The `python -m ops audit` command line for an instance on this app (signed in as a reader)."""
    where = ["--base-url", base_url] if base_url.rstrip("/") != DEFAULT_BASE_URL else []
    sign_in = [".venv/bin/python", "-m", "ops", "sign-in", *where, "--roles", "Operations.Reader"]
    command = [".venv/bin/python", "-m", "ops", "audit", instance_id, *where]
    return f"WORKFLOWS_TOKEN=$({shlex.join(sign_in)}) {shlex.join(command)}"


def who(principal: LocalPrincipal) -> str:
    """`Ada Approver (Maintenance.Approver)` for progress lines."""
    return f"{principal.name} ({', '.join(str(role) for role in principal.roles)})"


def _submit(
    progress: Progress,
    client: WorkflowClient,
    body: Json,
    business_id: str,
    details: str,
    *,
    as_: LocalPrincipal | None = None,
) -> None:
    """The first step of a case: `POST /api/<collection>  <label> <id> (<details>)`, then the new instance."""
    workflow = client.workflow
    by = f" as {who(as_)}" if as_ else ""
    progress.step(f"POST /api/{workflow.collection}  {workflow.business_label} {business_id} ({details}){by}")
    progress.done(f"202 accepted: instance {client.start(body)['instanceId']}")


def _finish(
    cast: Cast,
    client: WorkflowClient,
    business_id: str,
    progress: Progress,
    waiting_for: str,
    *,
    expected: str,
    timeout: float,
) -> CaseResult:
    """The end of a case: wait for the instance to finish, read its audit packet as the reader."""
    progress.step(waiting_for)
    final = client.wait_terminal(business_id, timeout, progress.status)
    _read_audit(type(client)(cast.reader), cast.people.reader, business_id, progress)
    return CaseResult(
        workflow=client.name,
        business_id=business_id,
        instance_id=client.instance_id(business_id),
        outcome=client.outcome(final),
        expected_outcome=expected,
        audit_url=client.audit_url(business_id),
        audit_command=audit_command(client.instance_id(business_id), client.app.base_url),
        seconds=time.monotonic() - progress.started,
    )


def _read_audit(client: WorkflowClient, reader: LocalPrincipal, business_id: str, progress: Progress) -> None:
    progress.step(f"read the audit packet (GET .../audit) as {who(reader)}")
    envelope = client.audit(business_id)
    packet = envelope.get("packet") or {}
    state = f"sealed, SHA-256 {envelope['seal']['digest'][:16]}…" if envelope.get("seal") else "NOT sealed"
    deciders = sorted(
        {
            str(event["principal"].get("name"))
            for event in packet.get("events") or []
            if isinstance(event.get("principal"), dict)
        }
    )
    progress.done(
        f"{state}; {len(packet.get('activities') or [])} activities, {len(packet.get('events') or [])} "
        f"events (sent by {', '.join(deciders) or 'nobody'}), final outcome {packet.get('finalOutcome')}"
    )


def run_maintenance(cast: Cast, run_id: str, timeout: float, out: TextIO) -> CaseResult:
    """Start an order, approve it as soon as it waits, wait for the release."""
    client, progress = MaintenanceOrderClient(cast.submitter), Progress(out, "maintenance")
    order_id = f"{run_id}-order"
    body = maintenance_order_body(order_id)
    _submit(progress, client, body, order_id, "2 findings, 3 suppliers", as_=cast.people.submitter)
    progress.step("wait until the order waits for approval")
    client.wait_for_approval(order_id, timeout, progress.status)
    progress.step(f"POST .../approval  approved by {who(cast.people.approver)}")
    MaintenanceOrderClient(cast.approver).approve(
        order_id, approved=True, comment="Demo: parts and pack checked."
    )
    progress.done("202 accepted")
    return _finish(
        cast, client, order_id, progress, "wait for the release", expected="released", timeout=timeout
    )


def run_fare_dispute(cast: Cast, run_id: str, timeout: float, out: TextIO) -> CaseResult:
    """File an unconfirmable claim, send evidence, then a supervisor's partial refund."""
    client, progress = FareDisputeClient(cast.submitter), Progress(out, "fare")
    dispute_id = f"{run_id}-dispute"
    body = evidence_fare_dispute_body(dispute_id)
    overcharge = "overcharge 2.00 EUR on trip-correct"
    _submit(progress, client, body, dispute_id, overcharge, as_=cast.people.submitter)
    progress.step("wait until the case asks for evidence")
    client.wait_waiting_for(dispute_id, "evidence", timeout, progress.status)
    progress.step("POST .../evidence  the customer's description and a receipt")
    client.submit_evidence(
        dispute_id,
        "Charged at the gate although my pass covers this zone; receipt attached.",
        documents=[{"documentId": "demo-receipt-1", "name": "receipt.pdf"}],
    )
    progress.done("202 accepted (sealed: only a reference enters history)")
    progress.step("wait until the case waits for a supervisor")
    client.wait_waiting_for(dispute_id, "supervisor_decision", timeout, progress.status)
    progress.step(f"POST .../supervisor-decision  partial refund 1.50 EUR by {who(cast.people.supervisor)}")
    FareDisputeClient(cast.supervisor).decide(
        dispute_id, "partial", refund_amount=PARTIAL_REFUND, note="Goodwill refund."
    )
    progress.done("202 accepted")
    return _finish(
        cast,
        client,
        dispute_id,
        progress,
        "wait for the refund and the resolution",
        expected="partially_refunded",
        timeout=timeout,
    )


def run_relief(cast: Cast, run_id: str, timeout: float, out: TextIO) -> CaseResult:
    """Start a request, change it mid-flight (add a shelter), each shelter's desk confirms its delivery."""
    client, progress = ReliefRequestClient(cast.submitter), Progress(out, "relief")
    request_id = f"{run_id}-relief"
    body = relief_request_body(request_id, {FIRST_SHELTER: FIRST_SHELTER_ITEMS}, priority=2)
    _submit(progress, client, body, request_id, f"{FIRST_SHELTER}: water 2, blanket 1")
    progress.step("wait until the pallets are reserved, routed and dispatched")
    planned = client.wait_planned(request_id, [FIRST_SHELTER], timeout=timeout, on_status=progress.status)
    progress.step(f"POST .../changes  mid-flight change: add {ADDED_SHELTER} (blanket 1)")
    client.change(
        request_id, shelters={ADDED_SHELTER: ADDED_SHELTER_ITEMS}, change_id=f"{run_id}-add-hilltop"
    )
    progress.done("202 accepted")
    progress.step("wait for the re-plan")
    replanned = client.wait_planned(
        request_id,
        [ADDED_SHELTER],
        min_revision=int(planned.get("revision") or 0) + 1,
        timeout=timeout,
        on_status=progress.status,
    )
    for shelter_id in client.awaiting_shelters(replanned):
        progress.step(
            f"POST .../shelter-confirmations  {shelter_id} confirms receipt as "
            f"{who(cast.people.shelter_staff(shelter_id))}"
        )
        ReliefRequestClient(cast.staff_of(shelter_id)).confirm(request_id, shelter_id)
        progress.done("202 accepted")
    return _finish(
        cast,
        client,
        request_id,
        progress,
        "wait until every shelter is confirmed",
        expected="completed",
        timeout=timeout,
    )


CASES: dict[str, Callable[[Cast, str, float, TextIO], CaseResult]] = {
    "maintenance": run_maintenance,
    "fare": run_fare_dispute,
    "relief": run_relief,
}


def default_run_id() -> str:
    """`demo-<UTC yyyymmddHHMMSS>`: a fresh id each run, so the same storage takes any number of runs."""
    return "demo-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")


def run_demo(
    cast: Cast, workflows: list[str], run_id: str, timeout: float, progress_out: TextIO
) -> list[CaseResult]:
    """Run the chosen cases one after another; raises WorkflowClientError on the first failure."""
    cast.submitter.health()
    return [CASES[name](cast, run_id, timeout, progress_out) for name in workflows]


def print_locations(results: list[CaseResult], out: TextIO) -> None:
    """Where to read each audit packet (stdout)."""
    print("Audit packets:", file=out)
    for result in results:
        mark = "ok" if result.ok else f"UNEXPECTED (expected {result.expected_outcome})"
        print(
            f"  {result.workflow} {result.business_id}: outcome {result.outcome} [{mark}], "
            f"{result.seconds:.1f} s",
            file=out,
        )
        print(f"    GET {result.audit_url}", file=out)
        print(f"    {result.audit_command}", file=out)


def run(args: argparse.Namespace) -> int:
    """Handle `python -m ops demo`."""
    run_id = args.run_id or default_run_id()
    if not RUN_ID_PATTERN.match(run_id):
        print(
            f"Error: --run-id {run_id!r} must be 1-32 letters, digits, '.', '_' or '-' (starting with a "
            "letter or digit)",
            file=sys.stderr,
        )
        return 2
    if args.timeout <= 0:
        print("Error: --timeout must be positive", file=sys.stderr)
        return 2
    workflows = list(CASES) if args.workflow == "all" else [args.workflow]
    print(f"Demo run {run_id} on {args.base_url}: {', '.join(workflows)}", file=sys.stderr, flush=True)
    try:
        cast = Cast.sign_in(args.base_url, args.timeout)
        results = run_demo(cast, workflows, run_id, args.timeout, sys.stderr)
    except SignInError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except WorkflowApiError as error:
        hint = "; choose another --run-id" if error.status == 409 else ""
        print(f"Error: {error}{hint}", file=sys.stderr)
        return 1
    except WorkflowClientError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    if args.json:
        document: dict[str, Any] = {
            "runId": run_id,
            "ok": all(r.ok for r in results),
            "cases": [r.to_dict() for r in results],
        }
        print(json.dumps(document, indent=2))
    else:
        print_locations(results, sys.stdout)
    return 0 if all(result.ok for result in results) else 1


def register(subparsers: Any) -> None:
    """Add the `demo` subcommand."""
    parser = add_command(
        subparsers,
        "demo",
        "run one case of each reference workflow on a running app and print where the audit packets are",
        __doc__,
    )
    parser.add_argument(
        "--base-url",
        default=default_base_url(),
        help=f"app URL (default: ${BASE_URL_ENV} or {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--workflow",
        choices=WORKFLOW_CHOICES,
        default="all",
        help="which workflow's case to run (default: all three)",
    )
    parser.add_argument(
        "--run-id",
        help="prefix of the business ids (default: demo-<UTC time>; reusing one answers 409)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds each wait may take before the demo gives up (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as one JSON document")
    parser.set_defaults(handler=run)
