"""`python -m ops soak`: the chaos soak of the three workflows on the devhost on Azurite.

Pass `chaos`: a mixed load (default 60 maintenance orders, 120 fare disputes, 40 relief requests,
with approvals and rejections, evidence and supervisor decisions, relief changes, cancellations
and shelter confirmations) against a devhost (virtual clock) whose sandboxes inject failures
(`SANDBOX_FAULTS_*`: 503s, timeouts, and timeouts after the effect committed; the schedule is keyed
by call identity and drawn from the seed), while, at seeded moments, faults hit it:
- `kills`: the devhost is `kill -9`ed and restarted on the same task hub;
- `worker crashes`: a worker process of the devhost (it runs the app's code out of process, as
  the Functions host does) is `kill -9`ed while an activity runs in it; the host starts a new one
  and runs the interrupted work again;
- `storage outages`: a loopback TCP proxy between the host and Azurite cuts storage off for about
  `--outage-seconds`, then restores it;
- `Azurite kills`: Azurite (disk-backed, owned by the soak) is cut off for 6 s, `kill -9`ed and
  restarted on the same data. The 6 s let it save what it acknowledged: Azurite on disk saves every
  5 s, so a kill right after a write loses it, which Azure Storage never does. The devhost rewrites
  its own lost writes (tests/devhost/test_storage_faults.py kills Azurite without that pause); the
  app's own blobs (ledger, claim-check, sandboxes, inventory) have no such journal.
Pass `deliver-twice`: a third of the load on a fresh hub under `--deliver-activities-twice`.

After each pass the virtual clock moves 30 days (reminders, expiry, escalations, SLAs) and the
checks run, from the app's own HTTP API, the sandbox view and the devhost's raw histories:
- lost: a started business id whose instance does not exist;
- stuck: an instance not Completed with its expected outcome (released, rejected, expired;
  refunded, partially_refunded, rejected; completed, cancelled), Failed ones included;
- duplicated effects: per outside system, two effects of one instance for the same request under
  different keys, more than one refund per dispute, more than one supplier request per order and
  supplier (the sandboxes record one effect per idempotency key; the repeats they absorbed are
  reported as `repeatsAbsorbed`);
- contradictory effects: two different final messages to one customer (released and expired), a
  release certificate with another outcome, a refund of a case that ended without one, a final
  message or donor update that disagrees with the outcome;
- double completions: a history with more than one ExecutionCompleted;
- over-allocation and leaked reservations: per depot and SKU, stock = available + reserved +
  delivered, nothing negative, nothing left reserved once every request finished;
- audit: every instance's packet (`GET .../audit`) is sealed (signed) and complete (instance,
  Completed outcome, activities, the workflow's final outcome, its business documents);
- HTTP: no 500, no 503 outside a storage fault (503s with Retry-After while storage is away are
  counted as expected), no request left unanswered for 60 s (a hang).

`--seed random` draws the seed and prints it. Prints the figures and writes them as JSON (`--output`,
default .artifacts/soak-report.json). Exit 0 when every check passed, 1 otherwise.
tests/reliability/test_soak.py runs a small version on a fresh random seed. Not a timed test: the
default run takes several minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from devhost.testing import DurableHostError
from durable_wire import EVENT_TYPE_NAMES, TERMINAL_STATUSES, EventType
from integrations.selection import SYSTEMS
from ops.command_line import options_from
from ops.durable_client import DurableClient, OpsError
from tools.cli_options import add_options_command, cli_flag
from tools.clients import (
    SANDBOX_SHELTERS,
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
from tools.harness import (
    ARTIFACTS,
    REPO_ROOT,
    Azurite,
    HostProcess,
    PollTimeoutError,
    TcpProxy,
    VirtualClock,
    blob_connection_string,
    make_host,
    poll_until,
)

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
SKUS = ("water", "blanket", "food-ration", "medical-kit", "tarp")
WAIT_SECONDS = 240.0
RESTART_TIMEOUT = 180.0
CLIENT_TIMEOUT_SECONDS = 60.0  # a request unanswered this long is a hang
# A 503 this long after storage came back is still the outage's (the host notices within seconds).
STORAGE_GRACE_SECONDS = 20.0
# Azurite on disk saves what it acknowledged every 5 s; it is cut off this long before a kill -9.
AZURITE_SAVE_SECONDS = 6.0


def _seed(text: str) -> int | None:
    """`--seed N`, or None for `--seed random`."""
    if text.strip().lower() == "random":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number or 'random'") from None


@dataclass
class SoakOptions:
    """Load, faults and seed of one soak (the `cli_flag` fields are the flags of `python -m ops soak`)."""

    orders: int = field(default=60, metadata=cli_flag("maintenance orders"))
    disputes: int = field(default=120, metadata=cli_flag("fare disputes"))
    relief: int = field(default=40, metadata=cli_flag("relief requests"))
    kills: int = field(default=20, metadata=cli_flag("kill -9 of the devhost (chaos pass)"))
    worker_crashes: int = field(default=5, metadata=cli_flag("kill -9 of the devhost while an activity runs"))
    outages: int = field(default=2, metadata=cli_flag("storage cut off by the proxy, then restored"))
    outage_seconds: float = field(
        default=15.0, metadata=cli_flag("mean length of a storage outage (each lasts 0.5-1.5 times this)")
    )
    azurite_kills: int = field(default=2, metadata=cli_flag("kill -9 of Azurite, restarted on the same data"))
    seed: int = field(
        default=7,
        metadata=cli_flag(
            "seeds the mix, the sandbox fault schedule and the fault moments; 'random' draws one (printed)",
            parse=_seed,
        ),
    )
    seed_drawn: bool = False  # `--seed random`
    workers: int = field(default=6, metadata=cli_flag("concurrent clients"))
    deliver_twice_share: float = 1 / 3  # of the load, for the deliver-twice pass
    wait_seconds: float = WAIT_SECONDS  # how long one instance may take to reach a step
    output: Path = field(default=ARTIFACTS / "soak-report.json", metadata=cli_flag("JSON report path"))


@dataclass
class PassReport:
    """Figures of one pass."""

    name: str
    instances: dict[str, int] = field(default_factory=dict)
    kills: int = 0
    worker_crashes: int = 0
    worker_crashes_mid_activity: int = 0
    storage_outages: int = 0
    storage_outage_seconds: float = 0.0
    azurite_kills: int = 0
    restarts: int = 0
    effects_checked: int = 0
    repeats_absorbed: int = 0
    unavailable_answers: int = 0  # 503 + Retry-After while storage was away (expected)
    # 500s the devhost answers for the requests a worker it saw die was running (as the Functions
    # host does); expected after a worker crash, an error otherwise.
    worker_crash_answers: int = 0
    duplicates: list[str] = field(default_factory=list)
    contradictions: list[str] = field(default_factory=list)
    double_completions: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    over_allocation: list[str] = field(default_factory=list)
    audit_incomplete: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not (
            self.duplicates
            or self.contradictions
            or self.double_completions
            or self.lost
            or self.stuck
            or self.over_allocation
            or self.audit_incomplete
            or self.server_errors
            or self.hangs
        )

    def figures(self) -> Json:
        return {
            "pass": self.name,
            "instances": sum(self.instances.values()),
            "kills": self.kills,
            "workerCrashes": self.worker_crashes,
            "workerCrashesMidActivity": self.worker_crashes_mid_activity,
            "storageOutages": self.storage_outages,
            "storageOutageSeconds": round(self.storage_outage_seconds, 1),
            "azuriteKills": self.azurite_kills,
            "effectsChecked": self.effects_checked,
            "repeatsAbsorbed": self.repeats_absorbed,
            "unavailableAnswers": self.unavailable_answers,
            "workerCrashAnswers": self.worker_crash_answers,
            "duplicatesFound": len(self.duplicates),
            "contradictionsFound": len(self.contradictions),
            "doubleCompletionsFound": len(self.double_completions),
            "lostFound": len(self.lost),
            "stuckFound": len(self.stuck),
            "overAllocationFound": len(self.over_allocation),
            "auditIncomplete": len(self.audit_incomplete),
            "serverErrors": len(self.server_errors),
            "hangs": len(self.hangs),
        }


# -- the scenarios -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One instance to drive: its workflow, business id, script and expected outcome."""

    workflow: str  # maintenance | fare | relief
    business_id: str
    script: str
    expected: str


# Each workflow's scripts, dealt in turn, with the outcome each must reach.
ORDER_SCRIPTS = (
    ("approve", "released"),
    ("approve", "released"),
    ("reject", "rejected"),
    ("none", "expired"),
)
DISPUTE_SCRIPTS = (
    ("auto", "refunded"),
    ("approve", "refunded"),
    ("reject", "rejected"),
    ("evidence", "partially_refunded"),
)
RELIEF_SCRIPTS = (
    ("confirm", "completed"),
    ("change", "completed"),
    ("cancel", "cancelled"),
    ("silent", "completed"),
)


def scenarios(options: SoakOptions, run: str, share: float = 1.0) -> list[Scenario]:
    """The load: a deterministic mix per workflow (`share` scales the counts)."""
    found: list[Scenario] = []
    for workflow, id_letter, count, scripts in (
        ("maintenance", "o", options.orders, ORDER_SCRIPTS),
        ("fare", "d", options.disputes, DISPUTE_SCRIPTS),
        ("relief", "r", options.relief, RELIEF_SCRIPTS),
    ):
        for index in range(max(1, round(count * share))):
            script, expected = scripts[index % len(scripts)]
            found.append(Scenario(workflow, f"{run}-{id_letter}{index}", script, expected))
    random.Random(f"{options.seed}:{run}").shuffle(found)
    return found


class Driver:
    """Runs scenarios against a host that may be down for a moment (calls retry until it is back)."""

    def __init__(
        self,
        base_url: str,
        report: PassReport,
        wait_seconds: float = WAIT_SECONDS,
        storage_troubled: Callable[[], bool] = lambda: False,
    ) -> None:
        self.wait_seconds = wait_seconds
        self.base_url = base_url
        self.storage_troubled = storage_troubled
        # Each step acts as the person it needs (devhost Easy Auth emulation): the portal starts and
        # changes, the approver and supervisor decide, each shelter's desk confirms, a reader checks.
        self.cast = Cast.sign_in(base_url, timeout=CLIENT_TIMEOUT_SECONDS, shelters=SANDBOX_SHELTERS)
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
            except WorkflowHostUnreachableError as error:
                if isinstance(error.__cause__, requests.Timeout):
                    with self.lock:
                        self.report.hangs.append(f"{what}: no answer in {CLIENT_TIMEOUT_SECONDS:.0f} s")
            except WorkflowApiError as error:
                if error.status == 409 and attempt > 1 and conflict_ok_on_retry:
                    return None
                if error.status < 500:
                    raise
                with self.lock:
                    if error.status == 503 and self.storage_troubled():
                        self.report.unavailable_answers += 1  # storage away: 503 + Retry-After is right
                    elif self.report.worker_crashes and _worker_crash_answer(error):
                        self.report.worker_crash_answers += 1  # its worker was killed under it
                    else:
                        self.report.server_errors.append(f"{what}: HTTP {error.status}: {error.body}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: the host did not answer for {self.wait_seconds:.0f} s")
            time.sleep(0.5)

    def wait(self, workflow: str, business_id: str, predicate: Callable[[Json], bool], what: str) -> Json:
        """Poll the status until `predicate`, through restarts."""
        client = self.client(workflow)
        try:
            body: Json = poll_until(
                lambda: self.call(f"status {business_id}", lambda: client.status(business_id)),
                lambda body: predicate(body) or body.get("runtimeStatus") in TERMINAL_STATUSES,
                timeout=self.wait_seconds,
                what=what,
                interval=0.3,
            )
        except PollTimeoutError as timed_out:
            raise TimeoutError(f"{workflow} {business_id}: {what} not reached: {timed_out.last}") from None
        return dict(body)

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
        first, second = (
            SANDBOX_SHELTERS[number % len(SANDBOX_SHELTERS)],
            SANDBOX_SHELTERS[(number + 2) % len(SANDBOX_SHELTERS)],
        )
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


def _worker_crash_answer(error: WorkflowApiError) -> bool:
    """Whether a 500 is the devhost's answer for a request its crashed worker was running."""
    return error.status == 500 and isinstance(error.body, dict) and error.body.get("workerCrashed") is True


def _relief_ready(body: Json, shelters: set[str]) -> bool:
    progress = body.get("shelters") or {}
    return (
        body.get("stage") == "awaiting_confirmations"
        and not body.get("pendingChanges")
        and shelters <= set(progress)
        and all((state or {}).get("state") != "planning" for state in progress.values())
    )


# -- faults ------------------------------------------------------------------------------------------


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


class StorageRig:
    """The soak's own Azurite (on disk, so a kill -9 keeps its data) behind a proxy that can cut it."""

    def __init__(self, log: Log) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.location = Path(tempfile.mkdtemp(prefix="soak-azurite-", dir=ARTIFACTS))
        self.azurite = Azurite.start(location=self.location)
        self.proxy = TcpProxy(self.azurite.port).start()
        self.log = log
        self._windows: list[list[float]] = []  # [start, end] of each storage fault (end 0: going on)
        self._lock = threading.Lock()

    @property
    def connection_string(self) -> str:
        return blob_connection_string(self.proxy.port)

    def troubled(self) -> bool:
        """Whether storage is away now or came back less than `STORAGE_GRACE_SECONDS` ago."""
        now = time.monotonic()
        with self._lock:
            return any(end == 0 or now <= end + STORAGE_GRACE_SECONDS for _, end in self._windows)

    def _begin(self) -> list[float]:
        window = [time.monotonic(), 0.0]
        with self._lock:
            self._windows.append(window)
        return window

    def _end(self, window: list[float]) -> float:
        with self._lock:
            window[1] = time.monotonic()
        return window[1] - window[0]

    def outage(self, seconds: float) -> float:
        """Cut storage off for `seconds`; how long it was away."""
        window = self._begin()
        self.proxy.cut()
        time.sleep(seconds)
        self.proxy.restore()
        return self._end(window)

    def kill_azurite(self, down_seconds: float) -> float:
        """Cut storage off until Azurite saved, kill -9 it, restart it on the same data and port."""
        window = self._begin()
        self.proxy.cut()
        time.sleep(AZURITE_SAVE_SECONDS)
        self.azurite.kill()
        time.sleep(down_seconds)
        self.azurite = self.azurite.restart()
        self.proxy.restore()
        return self._end(window)

    def stop(self) -> None:
        self.proxy.stop()
        self.azurite.stop()
        shutil.rmtree(self.location, ignore_errors=True)


class Faults:
    """The pass's faults, in a seeded order at seeded moments, while the load runs (rest after it)."""

    def __init__(
        self,
        host: HostProcess,
        rig: StorageRig,
        plan: list[str],
        *,
        seed: int,
        report: PassReport,
        log: Log,
        outage_seconds: float,
    ) -> None:
        self.host = host
        self.rig = rig
        self.plan = list(plan)
        self.random = random.Random(seed)
        self.report = report
        self.log = log
        self.outage_seconds = outage_seconds
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="soak-faults", daemon=True)

    @staticmethod
    def plan_of(options: SoakOptions, seed: int) -> list[str]:
        plan = (
            ["kill"] * options.kills
            + ["worker-crash"] * options.worker_crashes
            + ["outage"] * options.outages
            + ["azurite-kill"] * options.azurite_kills
        )
        random.Random(f"{seed}:faults").shuffle(plan)
        return plan

    def run(self) -> None:
        while self.plan and not pause(self.stop, self.random.uniform(1.0, 5.0)):
            self.strike(self.plan.pop(0))

    def finish(self) -> None:
        """Stop the timer thread, then strike what is left (the load may end first)."""
        self.stop.set()
        self.thread.join()
        while self.plan:
            self.strike(self.plan.pop(0))
            time.sleep(self.random.uniform(0.2, 1.5))

    def strike(self, kind: str) -> None:
        if kind == "kill":
            self.restart_host()
            self.report.kills += 1
            self.log(f"kill -9 #{self.report.kills}, restarted")
        elif kind == "worker-crash":
            pid, mid_activity = self.worker_to_crash()
            self.report.worker_crashes += 1  # first: the requests it fails are answered at once
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # the pool restarts it and retries its work
            self.report.worker_crashes_mid_activity += int(mid_activity)
            moment = "mid-activity" if mid_activity else "no activity running"
            self.log(f"worker crash #{self.report.worker_crashes} ({moment})")
        elif kind == "outage":
            seconds = self.rig.outage(self.outage_seconds * self.random.uniform(0.5, 1.5))
            self.report.storage_outages += 1
            self.report.storage_outage_seconds += seconds
            self.log(f"storage outage #{self.report.storage_outages}: {seconds:.1f} s")
        elif kind == "azurite-kill":
            seconds = self.rig.kill_azurite(self.random.uniform(0.5, 2.0))
            self.report.azurite_kills += 1
            self.report.storage_outage_seconds += seconds
            self.log(
                f"Azurite kill -9 #{self.report.azurite_kills}, back on the same data after {seconds:.1f} s"
            )

    def restart_host(self) -> None:
        self.host.kill()
        time.sleep(self.random.uniform(0.0, 1.0))
        self.host.start(RESTART_TIMEOUT)
        self.report.restarts += 1

    def worker_to_crash(self, seconds: float = 15.0) -> tuple[int, bool]:
        """A worker process with an activity in flight (pid, True), or after `seconds` any worker."""
        deadline = time.monotonic() + seconds
        any_pid = 0
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException, ValueError):
                workers = requests.get(f"{self.host.base_url}/admin/workers", timeout=5).json()["workers"]
                metrics = requests.get(f"{self.host.base_url}/admin/metrics", timeout=5).json()
                busy = [w for w in workers if w.get("ready") and int(w.get("inFlight") or 0) > 0]
                any_pid = any_pid or next((int(w["pid"]) for w in workers if w.get("pid")), 0)
                if busy and int(metrics.get("activitiesRunning") or 0) > 0:
                    return int(busy[0]["pid"]), True
            time.sleep(0.02)
        return any_pid, False


# -- one pass ----------------------------------------------------------------------------------------


def run_pass(
    name: str,
    rig: StorageRig,
    load: list[Scenario],
    *,
    plan: list[str],
    seed: int,
    workers: int,
    deliver_twice: bool,
    log: Log,
    outage_seconds: float = 15.0,
    wait_seconds: float = WAIT_SECONDS,
) -> PassReport:
    """Drive the load on a fresh hub (with faults), move the clock 30 days, then check everything."""
    report = PassReport(name=name, instances=dict(Counter(s.workflow for s in load)))
    started = time.monotonic()
    env = {
        **FAULTS,
        "SANDBOX_FAULTS_SEED": str(seed),
        "STORAGE_CONTAINER_PREFIX": f"sk{uuid.uuid4().hex[:10]}",
        "INTEGRATIONS_MODE": "sandbox",
        "EFFECT_LEDGER_LEASE": "PT1S",
        "AzureWebJobsStorage": rig.connection_string,
    }
    host = make_host(
        REPO_ROOT, rig.azurite, virtual_clock=True, deliver_twice=deliver_twice, env=env, easy_auth=True
    ).start()
    driver = Driver(host.base_url, report, wait_seconds, rig.troubled)
    driver.call("load the network's stock", driver.app.inventory)
    nudger_stop = threading.Event()
    nudger = threading.Thread(target=_nudge_clock, args=(host.base_url, nudger_stop), daemon=True)
    nudger.start()
    faults = Faults(host, rig, plan, seed=seed, report=report, log=log, outage_seconds=outage_seconds)
    faults.thread.start()
    failures: list[str] = []
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(driver.drive, scenario): scenario for scenario in load}
            for future, scenario in futures.items():
                error = future.exception()
                if error is not None:
                    failures.append(f"{scenario.workflow} {scenario.business_id}: {error}")
        log(f"{name}: load sent ({len(load)} instances), {report.restarts} restarts so far")
        faults.finish()
        nudger_stop.set()
        nudger.join()
        settle(driver, load, log)
        check_pass(driver, load, report)
        report.stuck += failures
    finally:
        nudger_stop.set()
        faults.stop.set()
        host.stop()
    report.seconds = round(time.monotonic() - started, 1)
    return report


def _nudge_clock(base_url: str, stop: threading.Event) -> None:
    """Retry timers (5 s) follow the virtual clock: move it 10 s twice a second during the load."""
    clock = VirtualClock(base_url)
    while not pause(stop, 0.5):
        with contextlib.suppress(requests.RequestException, DurableHostError):  # the host may be restarting
            clock.advance(10)
    clock.host.close()


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
            if _status(driver, scenario).get("runtimeStatus") not in TERMINAL_STATUSES
        ]
        if pending:
            driver.call("clock", lambda: _advance(base_url, 3600))
            time.sleep(0.5)
    log(f"settled: {len(load) - len(pending)} of {len(load)} finished")


def _advance(base_url: str, seconds: float) -> None:
    try:
        response = requests.post(f"{base_url}/admin/clock/advance", json={"seconds": seconds}, timeout=30)
    except requests.ConnectionError as error:
        raise WorkflowHostUnreachableError(str(error)) from error
    if response.status_code >= 500:
        raise WorkflowApiError("clock", response.status_code, response.text)
    response.raise_for_status()


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
    """Lost, stuck, duplicated and contradictory effects, double completions, over-allocation, audits."""
    outcomes: Counter[str] = Counter()
    finals: dict[str, tuple[Scenario, str | None]] = {}
    for scenario in load:
        client = driver.client(scenario.workflow)
        label = f"{scenario.workflow} {scenario.business_id}"
        status = _status(driver, scenario)
        if status.get("httpStatus") == 404:
            report.lost.append(label)
            continue
        outcome = client.outcome(status)
        instance_id = client.instance_id(scenario.business_id)
        finals[instance_id] = (scenario, outcome)
        outcomes[f"{scenario.workflow}:{outcome}"] += 1
        history = check_completions(driver, instance_id, label, report)
        if status.get("runtimeStatus") != "Completed" or outcome != scenario.expected:
            why = _failure_text(driver, client.instance_id(scenario.business_id))
            report.stuck.append(
                f"{label}: {status.get('runtimeStatus')} outcome {outcome} (expected {scenario.expected}), "
                f"stage {status.get('stage')}"
                + (f"; failure: {why}" if why else "")
                + f"; last events: {_history_tail(history)}"
            )
        check_audit(driver, scenario, report)
    report.outcomes = dict(sorted(outcomes.items()))
    views = {system: _sandbox_view(driver, system) for system in SYSTEMS}
    check_effects(views, set(finals), report)
    check_contradictions(views, finals, report)
    check_inventory(driver, report)


def _failure_text(driver: Driver, instance_id: str) -> str:
    """Why a Failed instance failed (the management API's output), so a stuck one can be diagnosed."""
    try:
        reader = driver.cast.reader  # the management API needs a signed-in operations principal
        status = DurableClient(reader.base_url, token=reader.token).status(instance_id, show_input=False)
    except OpsError:
        return ""
    if status.get("runtimeStatus") != "Failed":
        return ""
    return str(status.get("output") or "")[:400]


def check_audit(driver: Driver, scenario: Scenario, report: PassReport) -> None:
    """The packet is sealed and holds the instance, a Completed outcome, activities, the final outcome."""
    client = driver.client(scenario.workflow)
    label = f"{scenario.workflow} {scenario.business_id}"
    try:
        reader = type(client)(driver.cast.reader)  # audit packets are for Operations.Reader
        envelope = driver.call(f"audit {scenario.business_id}", lambda: reader.audit(scenario.business_id))
    except WorkflowApiError as error:
        report.audit_incomplete.append(f"{label}: HTTP {error.status}")
        return
    packet = envelope.get("packet") or {}
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
            ("seal", bool((envelope.get("seal") or {}).get("signature"))),
            ("documents", bool(packet.get("documents"))),
        )
        if not present
    ]
    if missing:
        report.audit_incomplete.append(f"{label}: missing {', '.join(missing)}")


def check_completions(driver: Driver, instance_id: str, label: str, report: PassReport) -> list[Json]:
    """At most one ExecutionCompleted in the instance's history (two hosts once completed one twice)."""
    url = f"{driver.base_url}/admin/instances/{quote(instance_id, safe='')}/raw-history"
    history: list[Json] = driver.call(f"history {instance_id}", lambda: _raw_history(url))
    completed = sum(1 for event in history if event.get("EventType") == EventType.EXECUTION_COMPLETED)
    if completed > 1:
        report.double_completions.append(f"{label}: {completed} ExecutionCompleted events")
    return history


def _history_tail(history: list[Json], count: int = 12) -> str:
    """The last history events in short (what a stuck instance last did), for the report."""
    events = [
        e
        for e in history
        if e.get("EventType") not in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED)
    ][-count:]
    return ", ".join(
        f"{EVENT_TYPE_NAMES.get(int(e.get('EventType', -1)), e.get('EventType'))}"
        f"({e.get('Name') or e.get('TaskScheduledId', e.get('TimerId', e.get('EventId', '')))})"
        f"@{str(e.get('Timestamp', ''))[5:19]}"
        + (f"->{str(e.get('FireAt'))[5:19]}" if e.get("FireAt") else "")
        for e in events
    )


def _raw_history(url: str) -> list[Json]:
    try:
        response = requests.get(url, timeout=CLIENT_TIMEOUT_SECONDS)
    except requests.ConnectionError as error:
        raise WorkflowHostUnreachableError(str(error)) from error
    if response.status_code != 200:
        raise WorkflowApiError("raw history", response.status_code, response.text)
    return list(response.json())


def check_effects(views: dict[str, Json], instance_ids: set[str], report: PassReport) -> None:
    """No outside system acted twice for one request; per-business limits hold."""
    for system, view in views.items():
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


MAINTENANCE_FINAL_STEPS = ("released", "rejected", "expired")
RELIEF_FINAL_STATUSES = ("completed", "cancelled", "failed")
NO_REFUND_OUTCOMES = ("rejected", "insufficient_evidence", "trip_not_found")


def check_contradictions(
    views: dict[str, Json], finals: dict[str, tuple[Scenario, str | None]], report: PassReport
) -> None:
    """Effects that contradict each other or the outcome (what two hosts on one hub once produced)."""
    by_owner: dict[str, dict[str, list[Json]]] = defaultdict(lambda: defaultdict(list))
    for system, view in views.items():
        for effect in view.get("effects", []):
            owner = _owner(effect, set(finals))
            if owner is not None:
                by_owner[owner][system].append(effect)
    for instance_id, (scenario, outcome) in finals.items():
        effects = by_owner.get(instance_id, {})
        label = f"{scenario.workflow} {scenario.business_id}"
        keys = {str(e["idempotencyKey"]): e for system in effects.values() for e in system}
        if scenario.workflow == "maintenance":
            told = sorted(
                step for step in MAINTENANCE_FINAL_STEPS if f"{instance_id}:notify_customer:{step}" in keys
            )
            if len(told) > 1 or (told and told != [outcome]):
                report.contradictions.append(f"{label}: customer told {told}, outcome {outcome}")
            if f"{instance_id}:release_certificate" in keys and outcome != "released":
                report.contradictions.append(f"{label}: release certificate issued, outcome {outcome}")
        elif scenario.workflow == "fare":
            resolved = keys.get(f"{instance_id}:notify_customer:resolved")
            told = ((resolved or {}).get("request") or {}).get("parameters", {}).get("outcome")
            if resolved is not None and told != outcome:
                report.contradictions.append(f"{label}: customer told {told}, outcome {outcome}")
            if f"{instance_id}:issue_refund" in keys and outcome in NO_REFUND_OUTCOMES:
                report.contradictions.append(f"{label}: refunded, outcome {outcome}")
        else:
            statuses = sorted(
                {
                    str((e.get("request") or {}).get("status"))
                    for e in effects.get("donor_portal", [])
                    if (e.get("request") or {}).get("status") in RELIEF_FINAL_STATUSES
                }
            )
            if len(statuses) > 1 or (statuses and statuses != [outcome]):
                report.contradictions.append(f"{label}: donors told {statuses}, outcome {outcome}")


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


def run_soak(options: SoakOptions, log: Log) -> Json:
    """Both passes on the soak's own storage; the report (figures per pass, totals, every finding)."""
    run = f"s{options.seed}-{uuid.uuid4().hex[:4]}"
    rig = StorageRig(log)
    try:
        passes = [
            run_pass(
                "chaos",
                rig,
                scenarios(options, run),
                plan=Faults.plan_of(options, options.seed),
                seed=options.seed,
                workers=options.workers,
                deliver_twice=False,
                log=log,
                outage_seconds=options.outage_seconds,
                wait_seconds=options.wait_seconds,
            ),
            run_pass(
                "deliver-twice",
                rig,
                scenarios(options, f"{run}x", options.deliver_twice_share),
                plan=[],
                seed=options.seed + 1,
                workers=options.workers,
                deliver_twice=True,
                log=log,
                wait_seconds=options.wait_seconds,
            ),
        ]
    finally:
        rig.stop()
    totals: Counter[str] = Counter()
    for report in passes:
        for key, value in report.figures().items():
            if isinstance(value, int):
                totals[key] += value
    return {
        "command": "python -m ops soak",
        "seed": options.seed,
        "seedDrawnAtRandom": options.seed_drawn,
        "options": {**asdict(options), "output": str(options.output)},
        "passed": all(report.passed for report in passes),
        "totals": dict(totals),
        "passes": [{**report.figures(), "details": asdict(report)} for report in passes],
    }


def draw_seed() -> int:
    """A fresh seed (for `--seed random` and the small soak of the test suite)."""
    return random.SystemRandom().randint(1, 999_999)


def register(subparsers: Any) -> None:
    """Add `soak` to `python -m ops`."""
    add_options_command(
        subparsers,
        "soak",
        "chaos soak: mixed load, sandbox faults, kill -9 of host and storage, outages, deliver-twice",
        __doc__,
        options=SoakOptions,
        handler=main,
    )


def main(args: argparse.Namespace) -> int:
    """Run the soak, print the figures, write the JSON; exit 1 when a check failed."""
    seed = args.seed if args.seed is not None else draw_seed()
    options = options_from(SoakOptions, args, seed=seed, seed_drawn=args.seed is None)

    def log(message: str) -> None:
        print(f"soak: {message}", file=sys.stderr, flush=True)

    print(f"soak: seed {seed}" + (" (drawn at random)" if options.seed_drawn else ""), flush=True)
    result = run_soak(options, log)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print(summary(result))
    print(f"{'PASSED' if result['passed'] else 'FAILED'} (seed {seed}); report: {options.output}")
    return 0 if result["passed"] else 1


def summary(result: Json) -> str:
    """The figures of each pass and every finding (at most 20 of a kind), as printed."""
    lines = []
    for figures in result["passes"]:
        details = figures["details"]
        lines.append(
            f"{figures['pass']}: {figures['instances']} instances {details['instances']}, "
            f"{figures['kills']} kills, {figures['workerCrashes']} worker crashes "
            f"({figures['workerCrashesMidActivity']} mid-activity), "
            f"{figures['storageOutages']} storage outages and {figures['azuriteKills']} Azurite kills "
            f"({figures['storageOutageSeconds']} s without storage), "
            f"{figures['unavailableAnswers']} 503s while storage was away, "
            f"{figures['workerCrashAnswers']} 500s of requests a crashed worker ran; "
            f"{figures['effectsChecked']} effects checked ({figures['repeatsAbsorbed']} repeats absorbed), "
            f"{figures['duplicatesFound']} duplicates, {figures['contradictionsFound']} contradictory, "
            f"{figures['doubleCompletionsFound']} double completions, {figures['lostFound']} lost, "
            f"{figures['stuckFound']} failed or stuck, {figures['overAllocationFound']} over-allocation "
            f"or leaked reservations, {figures['auditIncomplete']} incomplete audits, "
            f"{figures['serverErrors']} 5xx, {figures['hangs']} hangs, {details['seconds']} s"
        )
        for kind in (
            "duplicates",
            "contradictions",
            "double_completions",
            "lost",
            "stuck",
            "over_allocation",
            "audit_incomplete",
            "server_errors",
            "hangs",
        ):
            for finding in details[kind][:20]:
                lines.append(f"  {kind}: {finding}")
    return "\n".join(lines)
