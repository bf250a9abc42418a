"""`python -m ops fuzz`: fuzz the app's HTTP API on a devhost on Azurite, then check every instance.

1. Start Azurite (or use `AZURITE_BLOB_PORT`) and a devhost of the root app (virtual clock,
   sandboxes, its own task hub and containers, Easy Auth emulated); sign in as the fuzz caller (every
   app role, assigned to every shelter) and check that `GET /api/openapi.json` is the committed
   `openapi.json`. Schemathesis and the abuse cases send that caller's token.
2. Schemathesis, property-based from the document (phases examples, coverage, fuzzing, stateful;
   fixed `--seed` and `--max-examples`), with the checks: no 5xx, documented status codes, content
   types, headers and response schemas, `tools.fuzz_checks.documented_error_body` (every 4xx has
   the documented error body; 400/413/415 name the field) and `no_management_urls` (no answer
   carries a Durable management URL: on Azure they hold the system key; the abuse and event-order
   cases below are checked for it too).
3. The explicit abuse cases (`abuse_cases()`): malformed JSON, wrong content types, bodies over
   1 MiB, deep nesting, lone surrogates, unicode and control characters in ids, `/ \\ # ? @` in
   business ids, path traversal; no session, a forged `X-MS-CLIENT-PRINCIPAL` (401) and a role
   that does not fit (403) on every operation; then duplicate and out-of-order events on live
   instances, each step by the person it needs (starter, approver, supervisor, shelter staff).
4. Every instance the run created: none Failed or Terminated; after the virtual clock moves 30
   days, each has Completed or waits for a person (`waitingFor`), and its status and audit
   endpoints answer 200 (no broken instance).

Prints the figures, writes them as JSON (`--output`). Exit 0 when everything passed, 1 otherwise.
The test suite runs a bounded version (tests/reliability/test_fuzz.py); the longer run:
`.venv/bin/python -m ops fuzz --max-examples 200 --seed 7`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from api.openapi import DOCUMENT_PATH
from durable_wire import TERMINAL_STATUSES, UNSUCCESSFUL_STATUSES
from identity import Role
from ops.command_line import options_from
from ops.sign_in import LOCAL_READER, LOCAL_SHELTER_STAFF, LocalPrincipal, bearer, sign_in
from personal_data.erasure_step import RETENTION_INSTANCE_ID
from tools.cli_options import add_options_command, cli_flag
from tools.clients import (
    AppClient,
    Cast,
    FareDisputeClient,
    MaintenanceOrderClient,
    ReliefRequestClient,
    WorkflowClient,
    auto_approved_fare_dispute_body,
    client_for,
    maintenance_order_body,
    relief_request_body,
    supervised_fare_dispute_body,
)
from tools.fuzz_checks import error_body_problem, management_url_problem
from tools.harness import (
    ARTIFACTS,
    REPO_ROOT,
    Azurite,
    HostProcess,
    PollTimeoutError,
    VirtualClock,
    make_host,
    poll_until,
)
from tools.harness.instances import list_all_instances

Json = dict[str, Any]
Log = Callable[[str], None]
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,documented_error_body,no_management_urls"
)
REQUEST_TIMEOUT_SECONDS = 15.0  # an answer slower than this counts as a hang
MIB = 1024 * 1024
# Schemathesis and the abuse cases act as one caller holding every role (and every shelter), so
# every operation is reachable; the event-order cases act as separate people (maker-checker).
FUZZ_CALLER = LocalPrincipal("local-fuzz-caller", "Fuzz Caller", tuple(Role))
FUZZ_STAFF_FILE = ARTIFACTS / "fuzz-shelter-staff.json"


@dataclass
class FuzzOptions:
    """How long and how hard to fuzz (the `cli_flag` fields are the flags of `python -m ops fuzz`)."""

    max_examples: int = field(default=25, metadata=cli_flag("per operation"))
    seed: int = field(default=20261130, metadata=cli_flag("Schemathesis seed"))
    workers: int = field(default=1, metadata=cli_flag("concurrent Schemathesis workers"))
    phases: str = field(
        default="examples,coverage,fuzzing,stateful", metadata=cli_flag("Schemathesis phases")
    )
    schemathesis_timeout: float = 600.0
    output: Path = field(default=ARTIFACTS / "fuzz-report.json", metadata=cli_flag("JSON report path"))


@dataclass
class FuzzReport:
    """The figures of one run; `passed` when no failure of any kind was found."""

    seed: int
    max_examples: int
    schemathesis: Json = field(default_factory=dict)
    abuse_cases: int = 0
    instances_checked: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> Json:
        return {**asdict(self), "passed": self.passed}


# -- the run -----------------------------------------------------------------------------------------


def write_fuzz_staff_file() -> Path:
    """The shelter staff file of the fuzz host: the local staff, plus the fuzz caller at every shelter."""
    local = json.loads((REPO_ROOT / "data" / "shelter_staff.local.json").read_text())
    shelters = json.loads((REPO_ROOT / "data" / "relief_network.json").read_text())["shelters"]
    local["staff"].append(
        {
            "principalId": FUZZ_CALLER.user_id,
            "name": FUZZ_CALLER.name,
            "shelterIds": [shelter["shelterId"] for shelter in shelters],
        }
    )
    ARTIFACTS.mkdir(exist_ok=True)
    FUZZ_STAFF_FILE.write_text(json.dumps(local, indent=2))
    return FUZZ_STAFF_FILE


def start_fuzz_host(azurite: Azurite) -> HostProcess:
    """A devhost of the root app with the sandboxes, virtual clock, own hub and containers."""
    env = {
        "STORAGE_CONTAINER_PREFIX": f"fz{uuid.uuid4().hex[:10]}",
        "INTEGRATIONS_MODE": "sandbox",
        "EFFECT_LEDGER_LEASE": "PT2S",
        "RELIEF_SHELTER_STAFF_FILE": str(write_fuzz_staff_file()),
    }
    return make_host(REPO_ROOT, azurite, virtual_clock=True, env=env, easy_auth=True).start()


def run_fuzz(options: FuzzOptions, azurite: Azurite, log: Log) -> FuzzReport:
    """Steps 1-4 of the module docstring on a fresh devhost; the host is stopped afterwards."""
    report = FuzzReport(seed=options.seed, max_examples=options.max_examples)
    host = start_fuzz_host(azurite)
    try:
        token = sign_in(host.base_url, FUZZ_CALLER)
        served = requests.get(f"{host.base_url}/api/openapi.json", headers=bearer(token), timeout=30).json()
        if served != json.loads(DOCUMENT_PATH.read_text()):
            report.failures.append("GET /api/openapi.json differs from the committed openapi.json")
        log(f"schemathesis: seed {options.seed}, {options.max_examples} examples per operation")
        report.schemathesis = run_schemathesis(host.base_url, options, report.failures, token)
        log("abuse cases")
        report.abuse_cases = run_abuse_cases(host.base_url, report.failures, token)
        report.abuse_cases += run_identity_cases(host.base_url, report.failures)
        log("event order cases")
        report.abuse_cases += run_event_order_cases(host.base_url, report.failures)
        log("instances")
        report.instances_checked = check_instances(host.base_url, report.failures, token)
    finally:
        host.stop()
    return report


def real_clock_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without libfaketime in LD_PRELOAD.

    The suite runs under Debian's `faketime` to check awkward dates; the fuzzing client does not
    depend on the date, and libfaketime fakes the monotonic clock, so its workers' timed waits
    would never time out. The app under test keeps the faked clock.
    """
    preload = [lib for lib in environ.get("LD_PRELOAD", "").split(":") if lib and "faketime" not in lib]
    env = {name: value for name, value in environ.items() if name != "LD_PRELOAD"}
    if preload:
        env["LD_PRELOAD"] = ":".join(preload)
    return env


def run_schemathesis(base_url: str, options: FuzzOptions, failures: list[str], token: str) -> Json:
    """Run `st run` on the committed document as the fuzz caller; its JSON report's figures."""
    ARTIFACTS.mkdir(exist_ok=True)
    report_path = ARTIFACTS / f"schemathesis-{uuid.uuid4().hex[:8]}.json"
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        str(DOCUMENT_PATH),
        "--url",
        base_url,
        "--checks",
        CHECKS,
        "--phases",
        options.phases,
        "--max-examples",
        str(options.max_examples),
        "--seed",
        str(options.seed),
        "--workers",
        str(options.workers),
        "--request-timeout",
        str(REQUEST_TIMEOUT_SECONDS),
        "--suppress-health-check",
        "all",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report_path),
        "--header",
        f"Authorization: Bearer {token}",
    ]
    env = {
        **real_clock_environment(os.environ),
        "SCHEMATHESIS_HOOKS": "tools.fuzz_checks",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    try:
        finished = subprocess.run(
            command,
            cwd=ARTIFACTS,
            env=env,
            capture_output=True,
            text=True,
            timeout=options.schemathesis_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        failures.append(f"schemathesis did not finish within {options.schemathesis_timeout:.0f} s (hang)")
        return {}
    (ARTIFACTS / "schemathesis-output.txt").write_text(finished.stdout + finished.stderr)
    if not report_path.exists():
        failures.append(
            f"schemathesis wrote no report (exit {finished.returncode}): {finished.stderr[-2000:]}"
        )
        return {}
    result = json.loads(report_path.read_text())
    cases = result.get("test_cases", {})
    summary = {
        "exitCode": finished.returncode,
        "operationsTested": result.get("operations", {}).get("tested"),
        "casesGenerated": cases.get("generated"),
        "casesWithFailures": cases.get("with_failures"),
        "errored": cases.get("errored"),
        "failures": [f"{f.get('title')}: {', '.join(f.get('operations', []))}" for f in result["failures"]],
        "runningSeconds": round(float(result.get("running_time") or 0), 1),
    }
    if finished.returncode != 0 or summary["failures"] or cases.get("errored"):
        failures.append(
            f"schemathesis failed (exit {finished.returncode}): {summary['failures']}; "
            f"output in {ARTIFACTS / 'schemathesis-output.txt'}"
        )
    return summary


# -- explicit abuse cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AbuseCase:
    """One hand-written request and what the answer must be."""

    name: str
    method: str
    path: str  # below the base URL, already percent-encoded where it must be
    body: bytes | None = None
    content_type: str | None = "application/json"
    statuses: frozenset[int] = frozenset({400})
    field: str | None = None  # the field the error body must name


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def abuse_cases() -> list[AbuseCase]:
    """Malformed and hostile requests against every POST endpoint and every id-taking route."""
    order = maintenance_order_body("fz-abuse-order")
    posts = {
        api(MaintenanceOrderClient): order,
        api(FareDisputeClient): auto_approved_fare_dispute_body("fz-abuse-dispute"),
        api(ReliefRequestClient): relief_request_body(
            "fz-abuse-relief", {"shelter-bayview-school": {"water": 1}}
        ),
        api(MaintenanceOrderClient, "fz-none", MaintenanceOrderClient.APPROVAL): {"approved": True},
        api(FareDisputeClient, "fz-none", FareDisputeClient.EVIDENCE): {"description": "receipt"},
        api(FareDisputeClient, "fz-none", FareDisputeClient.SUPERVISOR_DECISION): {"decision": "approve"},
        api(ReliefRequestClient, "fz-none", ReliefRequestClient.CHANGES): {"cancel": True},
        api(ReliefRequestClient, "fz-none", ReliefRequestClient.SHELTER_CONFIRMATIONS): {
            "shelterId": "shelter-bayview-school"
        },
    }
    cases: list[AbuseCase] = []
    for path, valid in posts.items():
        cases += [
            AbuseCase(f"malformed JSON {path}", "POST", path, b'{"orderId": ', field="body"),
            AbuseCase(f"truncated JSON {path}", "POST", path, _json(valid)[:-1], field="body"),
            AbuseCase(f"empty body {path}", "POST", path, b"", field="body"),
            AbuseCase(f"JSON array {path}", "POST", path, b"[1, 2]", field="body"),
            AbuseCase(f"JSON null {path}", "POST", path, b"null", field="body"),
            AbuseCase(f"not UTF-8 {path}", "POST", path, b'{"a": "\xff\xfe"}', field="body"),
            AbuseCase(f"NaN {path}", "POST", path, b'{"x": NaN}', statuses=frozenset({400})),
            AbuseCase(f"deep nesting {path}", "POST", path, b"[" * 100_000 + b"]" * 100_000, field="body"),
            AbuseCase(f"huge number {path}", "POST", path, b'{"x": ' + b"9" * 5000 + b"}", field="body"),
            # A body in a media type the API does not take: 415, whatever the body says.
            *(
                AbuseCase(
                    f"{label} {path}",
                    "POST",
                    path,
                    body,
                    content_type=media_type,
                    statuses=frozenset({415}),
                    field="body",
                )
                for label, body, media_type in (
                    ("text/plain", _json(valid), "text/plain"),
                    ("form", b"orderId=a&approved=true", "application/x-www-form-urlencoded"),
                    ("xml", b"<order/>", "application/xml"),
                )
            ),
            AbuseCase(
                f"over 1 MiB {path}",
                "POST",
                path,
                _json({**valid, "padding": "x" * (MIB + 1)}),
                statuses=frozenset({413}),
                field="body",
            ),
            AbuseCase(
                f"8 MiB of spaces {path}",
                "POST",
                path,
                b" " * (8 * MIB) + _json(valid),
                statuses=frozenset({413}),
                field="body",
            ),
        ]
    # Lone surrogates in free text (claim-checked as UTF-8): a 400 naming the field, not a 500.
    surrogate = "\ud800"
    cases += [
        AbuseCase(
            "lone surrogate in customer.name",
            "POST",
            api(MaintenanceOrderClient),
            json.dumps({**order, "customer": {**order["customer"], "name": surrogate}}).encode(),
            field="customer.name",
        ),
        AbuseCase(
            "lone surrogate in approval comment",
            "POST",
            api(MaintenanceOrderClient, "fz-none", MaintenanceOrderClient.APPROVAL),
            json.dumps({"approved": True, "comment": "ok" + surrogate}).encode(),
            field="comment",
        ),
        AbuseCase(
            "lone surrogate in evidence",
            "POST",
            api(FareDisputeClient, "fz-none", FareDisputeClient.EVIDENCE),
            json.dumps({"description": surrogate}).encode(),
            field="description",
        ),
    ]
    # Hostile business ids in bodies: each is a 400 naming the id field.
    for label, bad in _hostile_ids().items():
        cases.append(
            AbuseCase(
                f"orderId {label}",
                "POST",
                api(MaintenanceOrderClient),
                _json({**order, "orderId": bad}),
                field="orderId",
            )
        )
        cases.append(
            AbuseCase(
                f"requestId {label}",
                "POST",
                api(ReliefRequestClient),
                _json(relief_request_body(bad, {"shelter-bayview-school": {"water": 1}})),
                field="requestId",
            )
        )
    # Hostile ids in paths: a 400 naming the route parameter; a decoded `/` or `..` makes the
    # path match no route at all (the host's 404). Nothing outside /api is ever reached.
    for encoded, statuses in _hostile_path_ids().items():
        for route, name in (
            (api(MaintenanceOrderClient, encoded, encoded=True), "orderId"),
            (api(FareDisputeClient, encoded, FareDisputeClient.AUDIT, encoded=True), "disputeId"),
            (api(ReliefRequestClient, encoded, encoded=True), "requestId"),
        ):
            cases.append(
                AbuseCase(
                    f"GET {route}",
                    "GET",
                    route,
                    None,
                    content_type=None,
                    statuses=statuses,
                    field=name if statuses == frozenset({400}) else None,
                )
            )
        cases.append(
            AbuseCase(
                f"approval for {encoded}",
                "POST",
                api(MaintenanceOrderClient, encoded, MaintenanceOrderClient.APPROVAL, encoded=True),
                _json({"approved": True}),
                statuses=statuses,
                field="orderId" if statuses == frozenset({400}) else None,
            )
        )
    return cases


def api(
    client: type[WorkflowClient], business_id: str | None = None, *parts: str, encoded: bool = False
) -> str:
    """`/api/<collection>[/<id>[/part...]]`: a workflow's route, its collection from the catalogue."""
    if business_id is None:
        return f"/api/{client.workflow.collection}"
    return "/api/" + client.path(business_id, *parts, encoded=encoded)


def _hostile_ids() -> dict[str, str]:
    return {
        "with /": "a/b",
        "with \\": "a\\b",
        "with #": "a#b",
        "with ?": "a?b",
        "with @": "a@b",
        "path traversal": "../../admin",
        "dot dot": "..",
        "unicode": "ordér-1",
        "emoji": "order-\U0001f680",
        "right-to-left override": "order-\u202e1",
        "NUL": "order\x00",
        "newline": "order\n1",
        "tab": "a\tb",
        "DEL": "a\x7fb",
        "65 characters": "a" * 65,
        "empty": "",
        "space": "a b",
    }


def _hostile_path_ids() -> dict[str, frozenset[int]]:
    bad = frozenset({400})
    unrouted = frozenset({400, 404})  # the decoded path holds a `/`: no route, or a rejected id
    return {
        "a%2Fb": unrouted,
        "a%5Cb": bad,
        "a%23b": bad,
        "a%3Fb": bad,
        "a%40b": bad,
        "a@b": bad,
        "%2E%2E": bad,
        "..%2F..%2Fadmin%2Fclock": unrouted,
        "..%5C..%5Cwindows": bad,
        "ord%C3%A9r": bad,
        "%F0%9F%9A%80": bad,
        "a%00b": bad,
        # The devhost's catch-all route does not match a decoded newline: its 404 (see the report).
        "a%0Ab": unrouted,
        "a%0D%0AX-Injected:%201": unrouted,
        "a%7Fb": bad,
        "%E2%80%AEab": bad,
        "a" * 65: bad,
        "%FF%FE": bad,
    }


def run_abuse_cases(base_url: str, failures: list[str], token: str) -> int:
    """Send every abuse case as the fuzz caller; record each answer that is not as documented."""
    session = requests.Session()
    session.headers.update(bearer(token))
    cases = abuse_cases()
    for case in cases:
        headers = {"Content-Type": case.content_type} if case.content_type else {}
        request = requests.Request(case.method, base_url + case.path, data=case.body, headers=headers)
        prepared = session.prepare_request(request)
        prepared.url = base_url + case.path  # exactly as written: no re-quoting
        try:
            response = session.send(prepared, timeout=REQUEST_TIMEOUT_SECONDS)
        except requests.Timeout:
            failures.append(f"{case.name}: no answer within {REQUEST_TIMEOUT_SECONDS:.0f} s (hang)")
            continue
        failure = check_answer(case, response)
        if failure:
            failures.append(f"{case.name}: {failure}")
    return len(cases)


def check_answer(case: AbuseCase, response: requests.Response) -> str | None:
    """What is wrong with the answer to one abuse case (None when it is as documented)."""
    leak = management_url_problem(response.text, response.headers)
    if leak:
        return leak
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = {"not json": response.text[:200]}
    if response.status_code not in case.statuses:
        return f"HTTP {response.status_code} (expected {sorted(case.statuses)}): {str(body)[:300]}"
    unrouted = response.status_code == 404 and case.statuses != frozenset({404})
    if unrouted and "json" not in response.headers.get("Content-Type", ""):
        return None  # the host's own 404 (no route matched), not the app's
    problem = error_body_problem(response.status_code, body)
    if problem:
        return problem
    if case.field is not None and response.status_code in (400, 413, 415):
        assert isinstance(body, dict)
        if body.get("field") != case.field:
            return f"names field {body.get('field')!r}, expected {case.field!r}"
    return None


# -- identity: no session, forged principals, the wrong role -----------------------------------------

FORGED_PRINCIPAL = (
    "eyJhdXRoX3R5cCI6ImFhZCIsImNsYWltcyI6W3sidHlwIjoicm9sZXMiLCJ2YWwiOiJPcGVyYXRpb25zLk9wZXJhdG9yIn1dfQ=="
)


def run_identity_cases(base_url: str, failures: list[str]) -> int:
    """Every documented operation: 401 without a session or with forged principal headers, 403 for a
    principal without the operation's role (a reader writing, shelter staff reading audits)."""
    document = json.loads(DOCUMENT_PATH.read_text())
    reader = sign_in(base_url, LOCAL_READER)
    staff = sign_in(base_url, LOCAL_SHELTER_STAFF["shelter-bayview-school"])
    checked = 0
    for path, methods in document["paths"].items():
        concrete = path.replace("{orderId}", "fz-none").replace("{disputeId}", "fz-none")
        concrete = concrete.replace("{requestId}", "fz-none")
        for method, operation in methods.items():
            if not operation.get("security"):
                continue  # the health check is open
            url = base_url + concrete
            attempts: list[tuple[str, dict[str, str], set[int]]] = [
                ("no session", {}, {401}),
                (
                    "forged principal",
                    {"X-MS-CLIENT-PRINCIPAL": FORGED_PRINCIPAL, "X-MS-CLIENT-PRINCIPAL-ID": "x"},
                    {401},
                ),
                ("forged token", {"Authorization": "Bearer forged.token"}, {401}),
            ]
            roles = set(operation.get("x-required-roles") or [])
            for name, token, held in (
                ("reader", reader, Role.OPERATIONS_READER),
                ("shelter staff", staff, Role.RELIEF_SHELTER_STAFF),
            ):
                if roles and held.value not in roles:
                    attempts.append((f"{name} (wrong role)", bearer(token), {403}))
            for label, headers, statuses in attempts:
                response = requests.request(
                    method.upper(), url, json={}, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
                )
                _expect(failures, f"{method.upper()} {path} {label}", response, statuses)
                checked += 1
    return checked


# -- duplicate and out-of-order events ---------------------------------------------------------------


def _concurrently(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    results: list[requests.Response | None] = [None] * len(calls)

    def run(index: int) -> None:
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT_SECONDS * 2)
    return [result for result in results if result is not None]


def _expect(failures: list[str], name: str, response: requests.Response, statuses: set[int]) -> None:
    leak = management_url_problem(response.text, response.headers)
    if leak:
        failures.append(f"{name}: {leak}")
    if response.status_code not in statuses:
        failures.append(
            f"{name}: HTTP {response.status_code}, expected {sorted(statuses)}: {response.text[:300]}"
        )
        return
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = {"not json": response.text[:200]}
    problem = error_body_problem(response.status_code, body)
    if problem:
        failures.append(f"{name}: {problem}")


def run_event_order_cases(base_url: str, failures: list[str]) -> int:
    """Duplicate starts and events, events before their instance exists or after it finished."""
    cast = Cast.sign_in(base_url, REQUEST_TIMEOUT_SECONDS, shelters=("shelter-bayview-school",))
    app = cast.reader
    orders, disputes, relief = (
        MaintenanceOrderClient(cast.submitter),
        FareDisputeClient(cast.submitter),
        ReliefRequestClient(cast.submitter),
    )
    # Each step by the person it needs, answered raw (the checks read the status and body).
    approver = MaintenanceOrderClient(cast.approver)
    supervisor = FareDisputeClient(cast.supervisor)
    desk = ReliefRequestClient(cast.staff_of("shelter-bayview-school"))
    other_desk = ReliefRequestClient(cast.staff_of("shelter-hilltop-center"))
    run = uuid.uuid4().hex[:6]
    checked = 0

    # Maintenance: approval before the order exists; duplicate start; two approvals at once.
    order_id = f"fz-{run}-order"
    approval = {"approved": True}
    _expect(
        failures,
        "approval before the order exists",
        approver.approval_response(order_id, approval),
        {404},
    )
    orders.start(maintenance_order_body(order_id))
    _expect(
        failures,
        "duplicate order start",
        orders.start_response(maintenance_order_body(order_id)),
        {409},
    )
    orders.wait_for_approval(order_id)
    both = _concurrently([lambda: approver.approval_response(order_id, approval)] * 3)
    if sum(response.status_code == 202 for response in both) < 1:
        failures.append(f"concurrent approvals: none accepted: {[r.status_code for r in both]}")
    for response in both:
        _expect(failures, "concurrent approval", response, {202, 409})
    finished = _wait_terminal(orders, order_id, base_url)
    if orders.outcome(finished) != "released":
        failures.append(f"order after duplicate approvals: {finished}")
    _expect(
        failures,
        "approval after release",
        approver.approval_response(order_id, approval),
        {409},
    )
    checked += 6

    # Fare dispute: decision while none is awaited, then duplicate decisions at once.
    dispute_id = f"fz-{run}-dispute"
    disputes.file(supervised_fare_dispute_body(dispute_id))
    disputes.wait_waiting_for(dispute_id, "supervisor_decision")
    _expect(
        failures,
        "evidence while waiting for a supervisor",
        disputes.evidence_response(dispute_id, {"description": "late"}),
        {409},
    )
    decision = {"decision": "approve"}
    for response in _concurrently([lambda: supervisor.decision_response(dispute_id, decision)] * 3):
        _expect(failures, "concurrent supervisor decision", response, {202, 409})
    _wait_terminal(disputes, dispute_id, base_url)
    refunds = [
        effect
        for effect in app.sandbox("payments", "refund").get("effects", [])
        if str(effect.get("idempotencyKey", "")).startswith(disputes.instance_id(dispute_id) + ":")
    ]
    if len(refunds) != 1:
        failures.append(f"dispute after duplicate decisions: {len(refunds)} refunds, expected 1")
    _expect(
        failures,
        "decision after resolution",
        supervisor.decision_response(dispute_id, decision),
        {409},
    )
    checked += 5

    # Relief: confirmation of a shelter that is not part of it; duplicate confirmations; change after the end.
    request_id = f"fz-{run}-relief"
    relief.start(relief_request_body(request_id, {"shelter-bayview-school": {"water": 1}}))
    relief.wait_shelters_awaiting(request_id)
    _expect(
        failures,
        "confirmation of a shelter outside the request",
        other_desk.confirmation_response(request_id, {"shelterId": "shelter-hilltop-center"}),
        {409},
    )
    confirm = {"shelterId": "shelter-bayview-school"}
    for response in _concurrently([lambda: desk.confirmation_response(request_id, confirm)] * 3):
        _expect(failures, "concurrent confirmation", response, {202, 409})
    _wait_terminal(relief, request_id, base_url)
    _expect(
        failures,
        "change after completion",
        relief.change_response(request_id, {"cancel": True}),
        {409},
    )
    checked += 5
    return checked


def _wait_terminal(client: WorkflowClient, business_id: str, base_url: str) -> Json:
    """Wait for the end (90 s at most), nudging the virtual clock so retry timers fire; the last status."""
    clock = VirtualClock(base_url)
    try:
        return poll_until(
            lambda: client.status(business_id),
            lambda body: body.get("runtimeStatus") in TERMINAL_STATUSES,
            timeout=90,
            what=f"the end of {business_id}",
            interval=0.2,
            between=lambda _: clock.advance(10),
        )
    except PollTimeoutError as timeout:
        return dict(timeout.last or {})
    finally:
        clock.host.close()


# -- instance health ---------------------------------------------------------------------------------


def all_instances(base_url: str, token: str) -> list[Json]:
    """Every instance of the task hub (the management API, paged; `token` signs the calls in)."""
    return list_all_instances(base_url, bearer(token), {"showInput": "false"})


def _unsettled(instances: list[Json]) -> list[Json]:
    """Instances still running that wait for no person."""
    return [
        instance
        for instance in instances
        if instance["runtimeStatus"] in ("Running", "Pending")
        and not (instance.get("customStatus") or {}).get("waitingFor")
    ]


def check_instances(base_url: str, failures: list[str], token: str, days: int = 30) -> int:
    """No instance broken: none failed; after `days` of virtual time each is done or waits for a person."""
    clock = VirtualClock(base_url)
    for _ in range(days * 4):
        clock.advance(6 * 3600)
        time.sleep(0.05)
    app = AppClient(base_url, token=token, timeout=60)
    try:
        listed = poll_until(
            lambda: all_instances(base_url, token),
            lambda listed: not _unsettled([i for i in listed if i["instanceId"] != RETENTION_INSTANCE_ID]),
            timeout=60,
            what="every instance done or waiting for a person",
            interval=0.5,
            between=lambda _: clock.advance(60),
        )
    except PollTimeoutError as timeout:
        listed = list(timeout.last or [])  # reported below as stuck
    finally:
        clock.host.close()
    # The hub's retention orchestration sleeps between sweeps by design; only its failure counts.
    instances = [i for i in listed if i["instanceId"] != RETENTION_INSTANCE_ID]
    housekeeping = [i for i in listed if i["instanceId"] == RETENTION_INSTANCE_ID]
    unsettled = _unsettled(instances)
    for instance in [*instances, *housekeeping]:
        instance_id = str(instance["instanceId"])
        if instance["runtimeStatus"] in UNSUCCESSFUL_STATUSES:
            failures.append(
                f"instance {instance_id} is {instance['runtimeStatus']}: {str(instance.get('output'))[:300]}"
            )
    for instance in unsettled:
        failures.append(f"instance {instance['instanceId']} is stuck: {instance.get('customStatus')}")
    for instance in instances:
        instance_id = str(instance["instanceId"])
        client = client_for(app, instance_id)
        if client is None:
            failures.append(f"instance {instance_id!r} belongs to no workflow")
            continue
        business_id = client.workflow.business_id(instance_id)
        for path in (client.path(business_id), client.path(business_id, "audit")):
            response = app.request("GET", path)
            if response.status_code != 200:
                failures.append(f"GET /api/{path}: HTTP {response.status_code}: {response.text[:200]}")
    return len(instances)


# -- command line ------------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    """Add `fuzz` to `python -m ops`."""
    add_options_command(
        subparsers,
        "fuzz",
        "fuzz the HTTP API (Schemathesis + abuse cases) on a devhost on Azurite",
        __doc__,
        options=FuzzOptions,
        handler=main,
    )


def main(args: argparse.Namespace) -> int:
    """Run the fuzzing; print the figures; exit 1 on any failure."""
    options = options_from(FuzzOptions, args)

    def log(message: str) -> None:
        print(f"fuzz: {message}", file=sys.stderr, flush=True)

    azurite = Azurite.start()
    try:
        report = run_fuzz(options, azurite, log)
    finally:
        azurite.stop()
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    figures = report.schemathesis
    print(
        f"schemathesis: {figures.get('casesGenerated')} cases over {figures.get('operationsTested')} "
        f"operations, {figures.get('casesWithFailures')} with failures (seed {report.seed}); "
        f"abuse and event-order cases: {report.abuse_cases}; instances checked: {report.instances_checked}; "
        f"failures: {len(report.failures)}"
    )
    for failure in report.failures:
        print(f"  FAIL {failure}")
    print(f"report: {options.output}")
    return 0 if report.passed else 1
