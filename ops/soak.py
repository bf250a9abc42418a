"""`python -m ops soak`: the chaos soak of the three workflows on the devhost on Azurite.

Pass `chaos`: a mixed load (default 60 maintenance orders, 120 fare disputes, 40 relief requests,
with approvals and rejections, evidence and supervisor decisions, relief changes, cancellations
and shelter confirmations) against a devhost (virtual clock) whose sandboxes inject failures
(`SANDBOX_FAULTS_*`: 503s, timeouts, and timeouts after the effect committed), while the devhost
is `kill -9`ed at seeded random moments (default 20) and restarted on the same task hub.
Pass `deliver-twice`: a third of the load on a fresh hub under `--deliver-activities-twice`.

After each pass the virtual clock moves 30 days (reminders, expiry, escalations, SLAs) and the
checks run, from the app's own HTTP API and the sandbox view only:
- lost: a started business id whose instance does not exist;
- stuck: an instance not Completed with its expected outcome (released, rejected, expired;
  refunded, partially_refunded, rejected; completed, cancelled);
- duplicated effects: per outside system, two effects of one instance for the same request under
  different keys,
  more than one refund per dispute, more than one supplier request per order and supplier, more
  than one reservation line per key (the sandboxes record one effect per idempotency key; the
  repeats they absorbed are reported as `repeatsAbsorbed`);
- over-allocation: per depot and SKU, stock = available + reserved + delivered, nothing negative,
  and nothing left reserved once every request finished;
- audit: every instance's packet (`GET .../audit`) is complete (instance, Completed outcome,
  activities, the workflow's final outcome).

Prints the figures and writes them as JSON (`--output`, default .artifacts/soak-report.json).
Exit 0 when every check passed, 1 otherwise. tests/reliability/test_soak.py runs a small fixed-seed
version. Not a timed test: the default run takes several minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from ops.workflow_clients import (
    Cast,
    FareDisputeClient,
    MaintenanceOrderClient,
    ReliefRequestClient,
    WorkflowApiError,
    WorkflowClient,
    WorkflowHostUnreachableError,
    auto_approved_fare_dispute_body,
    evidence_fare_dispute_body,
    maintenance_order_body,
    relief_request_body,
    supervised_fare_dispute_body,
)
from tests.support.processes import ARTIFACTS, REPO_ROOT, Azurite, HostProcess, make_host

Json = dict[str, Any]
Log = Callable[[str], None]

# Every outside system fails now and then: before acting, by timing out, or after committing.
FAULTS = {
    "SANDBOX_FAULTS_SUPPLIERS": "transient:1/5,timeout_after_commit:1/7",
    "SANDBOX_FAULTS_DOCUMENTS": "timeout_after_commit:1/6",
    "SANDBOX_FAULTS_PAYMENTS": "timeout_after_commit:1/3",
    "SANDBOX_FAULTS_CUSTOMER_MESSAGING": "transient:1/5,timeout_after_commit:1/9",
    "SANDBOX_FAULTS_DRIVER_MESSAGING": "timeout_after_commit:1/5",
    "SANDBOX_FAULTS_DONOR_PORTAL": "transient:1/4",
    "SANDBOX_FAULTS_INVENTORY": "timeout_after_commit:1/6",
}
SYSTEMS = (
    "suppliers",
    "documents",
    "payments",
    "customer_messaging",
    "driver_messaging",
    "donor_portal",
    "inventory",
)
SHELTERS = (
    "shelter-bayview-school",
    "shelter-lighthouse-church",
    "shelter-riverside-arena",
    "shelter-hilltop-center",
    "shelter-marsh-road-clinic",
)
SKUS = ("water", "blanket", "food-ration", "medical-kit", "tarp")
WAIT_SECONDS = 240.0
RESTART_TIMEOUT = 180.0


@dataclass
class SoakOptions:
    """Load, faults and kills of one soak."""

    orders: int = 60
    disputes: int = 120
    relief: int = 40
    kills: int = 20
    seed: int = 7
    workers: int = 6
    deliver_twice_share: float = 1 / 3  # of the load, for the deliver-twice pass
    wait_seconds: float = WAIT_SECONDS  # how long one instance may take to reach a step
    output: Path = ARTIFACTS / "soak-report.json"


@dataclass
class PassReport:
    """Figures of one pass."""

    name: str
    instances: dict[str, int] = field(default_factory=dict)
    kills: int = 0
    restarts: int = 0
    effects_checked: int = 0
    repeats_absorbed: int = 0
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    over_allocation: list[str] = field(default_factory=list)
    audit_incomplete: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not (
            self.duplicates
            or self.lost
            or self.stuck
            or self.over_allocation
            or self.audit_incomplete
            or self.server_errors
        )

    def figures(self) -> Json:
        return {
            "pass": self.name,
            "instances": sum(self.instances.values()),
            "kills": self.kills,
            "effectsChecked": self.effects_checked,
            "repeatsAbsorbed": self.repeats_absorbed,
            "duplicatesFound": len(self.duplicates),
            "lostFound": len(self.lost),
            "stuckFound": len(self.stuck),
            "overAllocationFound": len(self.over_allocation),
            "auditIncomplete": len(self.audit_incomplete),
            "serverErrors": len(self.server_errors),
        }


# -- the scenarios -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One instance to drive: its workflow, business id, script and expected outcome."""

    workflow: str  # maintenance | fare | relief
    business_id: str
    script: str
    expected: str


def scenarios(options: SoakOptions, run: str, share: float = 1.0) -> list[Scenario]:
    """The load: a deterministic mix per workflow (`share` scales the counts)."""
    found: list[Scenario] = []
    orders = (("approve", "released"), ("approve", "released"), ("reject", "rejected"), ("none", "expired"))
    for index in range(max(1, round(options.orders * share))):
        script, expected = orders[index % len(orders)]
        found.append(Scenario("maintenance", f"{run}-o{index}", script, expected))
    disputes = (
        ("auto", "refunded"),
        ("approve", "refunded"),
        ("reject", "rejected"),
        ("evidence", "partially_refunded"),
    )
    for index in range(max(1, round(options.disputes * share))):
        script, expected = disputes[index % len(disputes)]
        found.append(Scenario("fare", f"{run}-d{index}", script, expected))
    relief = (
        ("confirm", "completed"),
        ("change", "completed"),
        ("cancel", "cancelled"),
        ("silent", "completed"),
    )
    for index in range(max(1, round(options.relief * share))):
        script, expected = relief[index % len(relief)]
        found.append(Scenario("relief", f"{run}-r{index}", script, expected))
    random.Random(f"{options.seed}:{run}").shuffle(found)
    return found


class Driver:
    """Runs scenarios against a host that may be down for a moment (calls retry until it is back)."""

    def __init__(self, base_url: str, report: PassReport, wait_seconds: float = WAIT_SECONDS) -> None:
        self.wait_seconds = wait_seconds
        # Each step acts as the person it needs (devhost Easy Auth emulation): the portal starts and
        # changes, the approver and supervisor decide, each shelter's desk confirms, a reader checks.
        self.cast = Cast.sign_in(base_url, timeout=60, shelters=SHELTERS)
        self.app = self.cast.reader
        self.orders = MaintenanceOrderClient(self.cast.submitter)
        self.disputes = FareDisputeClient(self.cast.submitter)
        self.relief = ReliefRequestClient(self.cast.submitter)
        self.report = report
        self.lock = threading.Lock()

    def client(self, workflow: str) -> WorkflowClient:
        return {"maintenance": self.orders, "fare": self.disputes, "relief": self.relief}[workflow]

    def call(self, what: str, action: Callable[[], Any], *, conflict_ok_on_retry: bool = True) -> Any:
        """`action` until it answers; a 409 after a lost answer means the first attempt landed."""
        deadline = time.monotonic() + self.wait_seconds
        attempt = 0
        while True:
            attempt += 1
            try:
                return action()
            except WorkflowHostUnreachableError:
                pass
            except WorkflowApiError as error:
                if error.status == 409 and attempt > 1 and conflict_ok_on_retry:
                    return None
                if error.status < 500:
                    raise
                with self.lock:
                    self.report.server_errors.append(f"{what}: HTTP {error.status}: {error.body}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: the host did not answer for {self.wait_seconds:.0f} s")
            time.sleep(0.5)

    def wait(self, workflow: str, business_id: str, predicate: Callable[[Json], bool], what: str) -> Json:
        """Poll the status until `predicate`, through restarts."""
        client = self.client(workflow)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            body = self.call(f"status {business_id}", lambda: client.status(business_id))
            if predicate(body):
                return dict(body)
            if body.get("runtimeStatus") in ("Completed", "Failed", "Terminated"):
                return dict(body)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{workflow} {business_id}: {what} not reached: {body}")
            time.sleep(0.3)

    def drive(self, scenario: Scenario) -> None:
        """Start the instance and send what its script says, when it waits for it."""
        workflow, business_id, script = scenario.workflow, scenario.business_id, scenario.script
        if workflow == "maintenance":
            self.call(f"start {business_id}", lambda: self.orders.start(maintenance_order_body(business_id)))
            if script == "none":
                return
            self.wait(workflow, business_id, lambda b: b.get("stage") == "awaiting_approval", "approval")
            self.call(
                f"approve {business_id}",
                lambda: MaintenanceOrderClient(self.cast.approver).approve(
                    business_id, approved=script == "approve"
                ),
            )
        elif workflow == "fare":
            body = {
                "auto": auto_approved_fare_dispute_body,
                "approve": supervised_fare_dispute_body,
                "reject": supervised_fare_dispute_body,
                "evidence": evidence_fare_dispute_body,
            }[script](business_id)
            self.call(f"file {business_id}", lambda: self.disputes.file(body))
            if script == "auto":
                return
            if script == "evidence":
                self.wait(workflow, business_id, lambda b: b.get("waitingFor") == "evidence", "evidence")
                self.call(
                    f"evidence {business_id}",
                    lambda: self.disputes.submit_evidence(business_id, "receipt attached"),
                )
            self.wait(
                workflow, business_id, lambda b: b.get("waitingFor") == "supervisor_decision", "decision"
            )
            decision = {"approve": "approve", "reject": "reject", "evidence": "partial"}[script]
            amount = {"amount": "1.00", "currency": "EUR"} if decision == "partial" else None
            self.call(
                f"decide {business_id}",
                lambda: FareDisputeClient(self.cast.supervisor).decide(
                    business_id, decision, refund_amount=amount
                ),
            )
        else:
            self._drive_relief(scenario)

    def _drive_relief(self, scenario: Scenario) -> None:
        business_id, script = scenario.business_id, scenario.script
        number = int(business_id.rsplit("r", 1)[-1])
        first, second = SHELTERS[number % len(SHELTERS)], SHELTERS[(number + 2) % len(SHELTERS)]
        sku = SKUS[number % len(SKUS)]
        body = relief_request_body(business_id, {first: {sku: 1 + number % 3}}, priority=1 + number % 5)
        self.call(f"start {business_id}", lambda: self.relief.start(body))
        planned = self.wait(
            "relief", business_id, lambda b: _relief_ready(b, {first}), "every shelter planned"
        )
        if planned.get("runtimeStatus") != "Running":
            return
        if script == "cancel":
            self.call(
                f"cancel {business_id}",
                lambda: self.relief.change(business_id, cancel=True, change_id="cancel"),
            )
            return
        if script == "silent":
            return  # no confirmation: escalations, then resolved as unconfirmed
        if script == "change":
            self.call(
                f"change {business_id}",
                lambda: self.relief.change(business_id, shelters={second: {"blanket": 1}}, change_id="add-1"),
            )
            planned = self.wait(
                "relief",
                business_id,
                lambda b: _relief_ready(b, {first, second}) and int(b.get("revision") or 0) >= 2,
                "re-planned",
            )
        for shelter in ReliefRequestClient.awaiting_shelters(planned):
            self._confirm(business_id, shelter)

    def _confirm(self, business_id: str, shelter: str) -> None:
        staff = ReliefRequestClient(self.cast.staff_of(shelter))
        self.call(f"confirm {business_id} {shelter}", lambda: staff.confirm(business_id, shelter))


def _relief_ready(body: Json, shelters: set[str]) -> bool:
    progress = body.get("shelters") or {}
    return (
        body.get("stage") == "awaiting_confirmations"
        and not body.get("pendingChanges")
        and shelters <= set(progress)
        and all((state or {}).get("state") != "planning" for state in progress.values())
    )


# -- kills -------------------------------------------------------------------------------------------


def pause(stop: threading.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True as soon as `stop` is set.

    Plain short sleeps instead of `stop.wait(seconds)`: under libfaketime (the suite runs under
    `faketime` to check awkward dates) the monotonic clock is faked and a timed wait on a
    threading primitive never times out.
    """
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(0.05, left))
    return True


class Killer:
    """kill -9 the host at seeded random moments and restart it on the same task hub."""

    def __init__(self, host: HostProcess, kills: int, seed: int, report: PassReport, log: Log) -> None:
        self.host = host
        self.remaining = kills
        self.random = random.Random(seed)
        self.report = report
        self.log = log
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="soak-killer", daemon=True)

    def run(self) -> None:
        while self.remaining > 0 and not pause(self.stop, self.random.uniform(1.0, 5.0)):
            self.kill_and_restart()

    def kill_and_restart(self) -> None:
        self.host.kill()
        self.report.kills += 1
        self.remaining -= 1
        time.sleep(self.random.uniform(0.0, 1.0))
        self.host.start(RESTART_TIMEOUT)
        self.report.restarts += 1
        self.log(f"kill -9 #{self.report.kills}, restarted")

    def finish(self) -> None:
        """Stop the timer thread, then do the kills that are left (the load may end first)."""
        self.stop.set()
        self.thread.join()
        while self.remaining > 0:
            self.kill_and_restart()
            time.sleep(self.random.uniform(0.2, 1.5))


# -- one pass ----------------------------------------------------------------------------------------


def run_pass(
    name: str,
    azurite: Azurite,
    load: list[Scenario],
    *,
    kills: int,
    seed: int,
    workers: int,
    deliver_twice: bool,
    log: Log,
    wait_seconds: float = WAIT_SECONDS,
) -> PassReport:
    """Drive the load on a fresh hub (with kills), move the clock 30 days, then check everything."""
    report = PassReport(name=name, instances=dict(Counter(s.workflow for s in load)))
    started = time.monotonic()
    env = {
        **FAULTS,
        "STORAGE_CONTAINER_PREFIX": f"sk{uuid.uuid4().hex[:10]}",
        "INTEGRATIONS_MODE": "sandbox",
        "EFFECT_LEDGER_LEASE": "PT1S",
    }
    host = make_host(
        REPO_ROOT, azurite, virtual_clock=True, deliver_twice=deliver_twice, env=env, easy_auth=True
    ).start()
    driver = Driver(host.base_url, report, wait_seconds)
    nudger_stop = threading.Event()
    nudger = threading.Thread(target=_nudge_clock, args=(host.base_url, nudger_stop), daemon=True)
    nudger.start()
    killer = Killer(host, kills, seed, report, log)
    killer.thread.start()
    failures: list[str] = []
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(driver.drive, scenario): scenario for scenario in load}
            for future, scenario in futures.items():
                error = future.exception()
                if error is not None:
                    failures.append(f"{scenario.workflow} {scenario.business_id}: {error}")
        log(f"{name}: load sent ({len(load)} instances), {report.kills} kills so far")
        killer.finish()
        nudger_stop.set()
        nudger.join()
        settle(driver, load, log)
        check_pass(driver, load, report)
        report.stuck += failures
    finally:
        nudger_stop.set()
        killer.stop.set()
        host.stop()
    report.seconds = round(time.monotonic() - started, 1)
    return report


def _nudge_clock(base_url: str, stop: threading.Event) -> None:
    """Retry timers (5 s) follow the virtual clock: move it 10 s twice a second during the load."""
    while not pause(stop, 0.5):
        with contextlib.suppress(requests.RequestException):  # the host may be restarting
            requests.post(f"{base_url}/admin/clock/advance", json={"seconds": 10}, timeout=10)


def settle(driver: Driver, load: list[Scenario], log: Log) -> None:
    """Move the clock 30 days in 6-hour steps, then wait until every instance has finished."""
    base_url = driver.app.base_url
    for _ in range(30 * 4):
        driver.call("clock", lambda: _advance(base_url, 6 * 3600))
        time.sleep(0.05)
    deadline = time.monotonic() + driver.wait_seconds
    pending = list(load)
    while pending and time.monotonic() < deadline:
        pending = [
            scenario
            for scenario in pending
            if _status(driver, scenario).get("runtimeStatus") not in ("Completed", "Failed", "Terminated")
        ]
        if pending:
            driver.call("clock", lambda: _advance(base_url, 3600))
            time.sleep(0.5)
    log(f"settled: {len(load) - len(pending)} of {len(load)} finished")


def _advance(base_url: str, seconds: float) -> None:
    try:
        requests.post(
            f"{base_url}/admin/clock/advance", json={"seconds": seconds}, timeout=30
        ).raise_for_status()
    except requests.ConnectionError as error:
        raise WorkflowHostUnreachableError(str(error)) from error


def _status(driver: Driver, scenario: Scenario) -> Json:
    client = driver.client(scenario.workflow)
    try:
        return dict(
            driver.call(f"status {scenario.business_id}", lambda: client.status(scenario.business_id))
        )
    except WorkflowApiError as error:
        return {"httpStatus": error.status}


# -- checks ------------------------------------------------------------------------------------------


def check_pass(driver: Driver, load: list[Scenario], report: PassReport) -> None:
    """Lost, stuck, duplicated effects, over-allocation and audit completeness."""
    outcomes: Counter[str] = Counter()
    for scenario in load:
        client = driver.client(scenario.workflow)
        label = f"{scenario.workflow} {scenario.business_id}"
        status = _status(driver, scenario)
        if status.get("httpStatus") == 404:
            report.lost.append(label)
            continue
        outcome = client.outcome(status)
        outcomes[f"{scenario.workflow}:{outcome}"] += 1
        if status.get("runtimeStatus") != "Completed" or outcome != scenario.expected:
            report.stuck.append(
                f"{label}: {status.get('runtimeStatus')} outcome {outcome} (expected {scenario.expected}), "
                f"stage {status.get('stage')}"
            )
        check_audit(driver, scenario, report)
    report.outcomes = dict(sorted(outcomes.items()))
    check_effects(driver, load, report)
    check_inventory(driver, report)


def check_audit(driver: Driver, scenario: Scenario, report: PassReport) -> None:
    """The packet has the instance, a Completed outcome, its activities and the final outcome."""
    client = driver.client(scenario.workflow)
    label = f"{scenario.workflow} {scenario.business_id}"
    try:
        reader = type(client)(driver.cast.reader)  # audit packets are for Operations.Reader
        packet = driver.call(f"audit {scenario.business_id}", lambda: reader.audit(scenario.business_id))
    except WorkflowApiError as error:
        report.audit_incomplete.append(f"{label}: HTTP {error.status}")
        return
    missing = [
        name
        for name, present in (
            (
                "instance",
                (packet.get("instance") or {}).get("instanceId") == client.instance_id(scenario.business_id),
            ),
            ("outcome", (packet.get("outcome") or {}).get("status") == "Completed"),
            ("activities", bool(packet.get("activities"))),
            ("finalOutcome", bool(packet.get("finalOutcome"))),
            ("document", bool(packet.get("document"))),
        )
        if not present
    ]
    if missing:
        report.audit_incomplete.append(f"{label}: missing {', '.join(missing)}")


def check_effects(driver: Driver, load: list[Scenario], report: PassReport) -> None:
    """No outside system acted twice for one request; per-business limits hold."""
    instance_ids = {driver.client(s.workflow).instance_id(s.business_id) for s in load}
    for system in SYSTEMS:
        view = _sandbox_view(driver, system)
        effects = [e for e in view.get("effects", []) if _owner(e, instance_ids)]
        report.effects_checked += len(effects)
        report.repeats_absorbed += sum(
            1 for call in view.get("calls", []) if call.get("outcome") == "duplicate"
        )
        by_request: dict[str, list[str]] = defaultdict(list)
        for effect in effects:
            owner = _owner(effect, instance_ids)
            request = json.dumps([owner, effect["operation"], effect["request"]], sort_keys=True)
            by_request[request].append(str(effect["idempotencyKey"]))
        for keys in by_request.values():
            if len(keys) > 1:
                report.duplicates.append(f"{system}: one instance's request acted {len(keys)} times: {keys}")
        if system == "payments":
            per_dispute = Counter(_owner(e, instance_ids) for e in effects if e["operation"] == "refund")
            report.duplicates += [
                f"payments: {n} refunds for {owner}" for owner, n in per_dispute.items() if n > 1
            ]
        if system == "suppliers":
            per_supplier = Counter(
                (_owner(e, instance_ids), json.dumps(e["request"].get("supplierId"))) for e in effects
            )
            report.duplicates += [
                f"suppliers: {n} requests for {owner} to {supplier}"
                for (owner, supplier), n in per_supplier.items()
                if n > 1
            ]


def _sandbox_view(driver: Driver, system: str) -> Json:
    return dict(driver.call(f"sandbox {system}", lambda: driver.app.sandbox(system)))


def _owner(effect: Json, instance_ids: set[str]) -> str | None:
    key = str(effect.get("idempotencyKey") or "")
    owner = key.split(":", 1)[0]
    return owner if owner in instance_ids else None


def check_inventory(driver: Driver, report: PassReport) -> None:
    """stock = available + reserved + delivered, nothing negative, nothing left reserved."""
    levels = driver.call("inventory", driver.app.inventory).get("levels", [])
    for level in levels:
        where = f"{level['depotId']}/{level['sku']}"
        if level["stock"] != level["available"] + level["reserved"] + level["delivered"]:
            report.over_allocation.append(f"{where}: stock != available + reserved + delivered: {level}")
        if min(level["available"], level["reserved"], level["delivered"]) < 0:
            report.over_allocation.append(f"{where}: negative: {level}")
        if level["reserved"] != 0:
            report.over_allocation.append(
                f"{where}: {level['reserved']} pallets still reserved after the end"
            )


# -- the soak ----------------------------------------------------------------------------------------


def run_soak(options: SoakOptions, azurite: Azurite, log: Log) -> Json:
    """Both passes; the report (figures per pass, totals, every finding)."""
    run = f"s{options.seed}-{uuid.uuid4().hex[:4]}"
    passes = [
        run_pass(
            "chaos",
            azurite,
            scenarios(options, run),
            kills=options.kills,
            seed=options.seed,
            workers=options.workers,
            deliver_twice=False,
            log=log,
            wait_seconds=options.wait_seconds,
        ),
        run_pass(
            "deliver-twice",
            azurite,
            scenarios(options, f"{run}x", options.deliver_twice_share),
            kills=0,
            seed=options.seed + 1,
            workers=options.workers,
            deliver_twice=True,
            log=log,
            wait_seconds=options.wait_seconds,
        ),
    ]
    totals: Counter[str] = Counter()
    for report in passes:
        for key, value in report.figures().items():
            if isinstance(value, int):
                totals[key] += value
    return {
        "command": "python -m ops soak",
        "options": {**asdict(options), "output": str(options.output)},
        "passed": all(report.passed for report in passes),
        "totals": dict(totals),
        "passes": [{**report.figures(), "details": asdict(report)} for report in passes],
    }


def register(subparsers: Any) -> None:
    """Add `soak` to `python -m ops`."""
    parser = subparsers.add_parser(
        "soak",
        help="chaos soak: mixed load, sandbox faults, kill -9 and deliver-twice on a devhost on Azurite",
        description=__doc__.splitlines()[0],
    )
    defaults = SoakOptions()
    parser.add_argument("--orders", type=int, default=defaults.orders, help="maintenance orders")
    parser.add_argument("--disputes", type=int, default=defaults.disputes, help="fare disputes")
    parser.add_argument("--relief", type=int, default=defaults.relief, help="relief requests")
    parser.add_argument(
        "--kills", type=int, default=defaults.kills, help="kill -9 of the devhost (chaos pass)"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seeds the mix and the kill moments")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="concurrent clients")
    parser.add_argument("--output", type=Path, default=defaults.output, help="JSON report path")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Run the soak, print the figures, write the JSON; exit 1 when a check failed."""
    options = SoakOptions(
        orders=args.orders,
        disputes=args.disputes,
        relief=args.relief,
        kills=args.kills,
        seed=args.seed,
        workers=args.workers,
        output=args.output,
    )

    def log(message: str) -> None:
        print(f"soak: {message}", file=sys.stderr, flush=True)

    azurite = Azurite.start()
    try:
        result = run_soak(options, azurite, log)
    finally:
        azurite.stop()
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    for figures in result["passes"]:
        details = figures["details"]
        print(
            f"{figures['pass']}: {figures['instances']} instances {details['instances']}, "
            f"{figures['kills']} kills, {figures['effectsChecked']} effects checked "
            f"({figures['repeatsAbsorbed']} repeats absorbed), {figures['duplicatesFound']} duplicates, "
            f"{figures['lostFound']} lost, {figures['stuckFound']} stuck, "
            f"{figures['overAllocationFound']} over-allocation, {figures['auditIncomplete']} incomplete "
            f"audits, {figures['serverErrors']} 5xx, {details['seconds']} s"
        )
        for kind in ("duplicates", "lost", "stuck", "over_allocation", "audit_incomplete", "server_errors"):
            for finding in details[kind][:20]:
                print(f"  {kind}: {finding}")
    print(f"{'PASSED' if result['passed'] else 'FAILED'}; report: {options.output}")
    return 0 if result["passed"] else 1
