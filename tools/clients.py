"""HTTP clients of the three reference workflows, driven the way a user (or a load generator) would.

Shared by `python -m ops demo`, the bench workloads (`bench/workloads/`), the fuzzing and the chaos
soak. They talk only to the app's own HTTP API (route prefix `api`, through `ops.app_client`),
never to the Durable management API, so they work against the devhost (`--easy-auth`) or an Azure
app. Each workflow's routes and instance ids come from its `Workflow` record (workflow_catalogue.py).
Every call but the health check needs a principal: `token` is sent as `Authorization: Bearer` (an
Entra ID access token on Azure, a devhost session token from `ops.sign_in` locally);
`AppClient.signed_in(base_url, principal)` signs in on the devhost. No credential ever goes into a
URL.

API (all synchronous, `requests`-based; every method raises a `WorkflowClientError` subclass):

    app = AppClient("http://127.0.0.1:7071", token=None, timeout=30.0)  # one keep-alive session
    submitter = AppClient.signed_in(base_url, LOCAL_SUBMITTER)           # devhost: signs in first
    approver = submitter.as_principal(LOCAL_APPROVER)                   # same host, another person
    app.health() / app.inventory() / app.sandbox("payments")            # GET /api/health, ...

    orders = MaintenanceOrderClient(app)      # business id = orderId, instance `maintenance-<id>`
    orders.start(maintenance_order_body("demo-1"))                 # 202 body (id, status URLs)
    orders.wait_for_approval("demo-1")                             # stage awaiting_approval
    MaintenanceOrderClient(approver).approve("demo-1", approved=True, comment=None)  # as the approver

    disputes = FareDisputeClient(app)         # business id = disputeId, `fare-dispute-<id>`
    disputes.file(auto_approved_fare_dispute_body("d-1"))          # refunded without a person
    disputes.file(supervised_fare_dispute_body("d-2"))             # waits for a supervisor
    disputes.file(evidence_fare_dispute_body("d-3"))               # evidence first, then supervisor
    disputes.wait_waiting_for("d-2", "supervisor_decision")        # or "evidence"
    FareDisputeClient(supervisor).decide("d-2", "approve")        # or "partial" + refund_amount
    disputes.submit_evidence("d-3", "receipt attached", documents=[{"documentId": "doc-1"}])

    relief = ReliefRequestClient(app)         # business id = requestId, `relief-<id>`
    relief.start(relief_request_body("r-1", {"shelter-bayview-school": {"water": 2}}, priority=2))
    relief.wait_stage("r-1", "awaiting_confirmations")
    relief.change("r-1", shelters={"shelter-hilltop-center": {"blanket": 1}})   # or cancel=True
    ReliefRequestClient(shelter_staff).confirm("r-1", "shelter-bayview-school", received={"water": 2})
    relief.wait_planned("r-1", ["shelter-hilltop-center"], min_revision=2)   # re-planned after the change
    relief.awaiting_shelters(status_body) -> list[str]                    # whom to confirm

  Common to the three (`WorkflowClient`):
    .status(id) -> dict          GET .../{id}: runtimeStatus plus the custom status fields
    .wait_until(id, predicate, what, timeout=60, on_status=None) -> dict
                                 poll the GET endpoint; `on_status(body)` sees every new body (for
                                 progress displays); raises WorkflowTimeoutError (with the last body)
                                 or WorkflowFailedError when the instance ends before the predicate
    .wait_stage(id, stage) / .wait_terminal(id) -> dict
    .wait_for(id, field, accepted values, what) -> dict   a status field reaches one of the values
    .audit(id) -> dict / .audit_url(id) -> str       GET .../{id}/audit (sealed envelope or interim snapshot)
    .instance_id(id) -> str                          the orchestration instance id (for `ops audit`)
    .outcome(body) -> str | None                     the business outcome of a terminal status body
    client_for(app, instance_id) -> WorkflowClient | None   the client of an instance's workflow
    start_awaiting_a_person(app, workflow, id, shelter)      an instance that will wait for a person

  Raw answers, for tests of the API (any body, any status, nothing raised for a 4xx): each
  operation above also has a `*_response` form returning the `requests.Response` as it came:
    start_response(body) / status_response(id) / audit_response(id)
    MaintenanceOrderClient.approval_response(id, body, raw=None)   # raw: malformed JSON text
    FareDisputeClient.evidence_response(id, body) / .decision_response(id, body)
    ReliefRequestClient.change_response(id, body) / .confirmation_response(id, body)
    .respond(method, id=None, *parts, body=None) any route of the workflow; `path`/`route` name them

Errors: `WorkflowHostUnreachableError` (nothing answers: "start it with ./scripts/dev"),
`WorkflowApiError` (an unexpected HTTP status; `.status`, `.body`, `.field` from a 400's
`{"error", "field"}`), `WorkflowTimeoutError` (`.last_status`), `WorkflowFailedError`
(`.last_status`). Payloads are the API's camelCase JSON; the `*_body` helpers build deterministic,
valid requests for the sample data (fare_data/sample_trips.json, data/relief_network.json).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from durable_wire import TERMINAL_STATUSES
from ops.app_client import (
    DEFAULT_BASE_URL,
    AppClient,
    WorkflowApiError,
    WorkflowClientError,
    WorkflowFailedError,
    WorkflowHostUnreachableError,
    WorkflowTimeoutError,
)
from ops.sign_in import (
    LOCAL_APPROVER,
    LOCAL_OPERATOR,
    LOCAL_READER,
    LOCAL_SHELTER_STAFF,
    LOCAL_SUBMITTER,
    LOCAL_SUPERVISOR,
    LocalPrincipal,
    SignInError,
)
from tools.harness.polling import PollTimeoutError, poll_until
from workflow_catalogue import FARE_DISPUTE, MAINTENANCE_ORDER, RELIEF_ROUTING, Workflow, workflow_of

# The app client and its errors are part of this API (ops.app_client holds them for ops commands).
__all__ = [
    "DEFAULT_BASE_URL",
    "AppClient",
    "Cast",
    "FareDisputeClient",
    "LocalPeople",
    "MaintenanceOrderClient",
    "ReliefRequestClient",
    "WorkflowApiError",
    "WorkflowClient",
    "WorkflowClientError",
    "WorkflowFailedError",
    "WorkflowHostUnreachableError",
    "WorkflowTimeoutError",
    "auto_approved_fare_dispute_body",
    "client_for",
    "evidence_fare_dispute_body",
    "fare_dispute_body",
    "maintenance_order_body",
    "relief_request_body",
    "shelter_confirmation_body",
    "start_awaiting_a_person",
    "supervised_fare_dispute_body",
]

Json = dict[str, Any]
StatusCallback = Callable[[Json], None]

POLL_INTERVAL_SECONDS = 0.1


@dataclass(frozen=True)
class LocalPeople:
    """Who plays each part on the devhost (the local principals of `ops.sign_in`)."""

    submitter: LocalPrincipal = LOCAL_SUBMITTER
    approver: LocalPrincipal = LOCAL_APPROVER
    supervisor: LocalPrincipal = LOCAL_SUPERVISOR
    reader: LocalPrincipal = LOCAL_READER
    operator: LocalPrincipal = LOCAL_OPERATOR

    def shelter_staff(self, shelter_id: str) -> LocalPrincipal:
        """The staff member assigned to `shelter_id` (`SignInError` when nobody is)."""
        principal = LOCAL_SHELTER_STAFF.get(shelter_id)
        if principal is None:
            raise SignInError(f"no local shelter staff is assigned to {shelter_id}")
        return principal


@dataclass
class Cast:
    """Who acts in the demo: one signed-in client per person (devhost Easy Auth emulation)."""

    submitter: AppClient
    approver: AppClient
    supervisor: AppClient
    reader: AppClient
    operator: AppClient
    shelter_staff: dict[str, AppClient]
    people: LocalPeople = LocalPeople()  # whom each client acts as

    @classmethod
    def sign_in(cls, base_url: str, timeout: float = 30.0, shelters: tuple[str, ...] = ()) -> Cast:
        """Sign everyone in (`SignInError` when the host offers no emulated sign-in)."""
        cache: dict[str, AppClient] = {}
        people = LocalPeople()

        def client(principal: LocalPrincipal) -> AppClient:
            if principal.user_id not in cache:
                cache[principal.user_id] = AppClient.signed_in(base_url, principal, timeout)
            return cache[principal.user_id]

        return cls(
            submitter=client(people.submitter),
            approver=client(people.approver),
            supervisor=client(people.supervisor),
            reader=client(people.reader),
            operator=client(people.operator),
            shelter_staff={shelter: client(people.shelter_staff(shelter)) for shelter in shelters},
            people=people,
        )

    def staff_of(self, shelter_id: str) -> AppClient:
        """The signed-in desk of `shelter_id` (signing in on first use)."""
        if shelter_id not in self.shelter_staff:
            self.shelter_staff[shelter_id] = self.submitter.as_principal(
                self.people.shelter_staff(shelter_id)
            )
        return self.shelter_staff[shelter_id]


@dataclass
class WorkflowClient:
    """What every workflow's API has in common: start, status, waits and the audit packet."""

    app: AppClient
    workflow: ClassVar[Workflow]  # its API collection, instance ids and name (workflow_catalogue)
    AUDIT: ClassVar[str] = "audit"  # GET .../{id}/audit

    @property
    def name(self) -> str:
        """The workflow in words, for messages ("maintenance order")."""
        return self.workflow.title.lower()

    @classmethod
    def path(cls, business_id: str, *parts: str, encoded: bool = False) -> str:
        """Route of one instance below `/api/` (`<collection>/<id>[/part...]`); the id is
        percent-encoded unless `encoded` says it already is (the fuzzing sends hostile encodings)."""
        return "/".join(
            [cls.workflow.collection, business_id if encoded else quote(business_id, safe=""), *parts]
        )

    def instance_id(self, business_id: str) -> str:
        """The orchestration instance id (what `python -m ops audit` and `ops instances` take)."""
        return self.workflow.instance_id(business_id)

    # -- the raw answers (for tests of the API: any body, any answer) ------------------------------

    def respond(
        self,
        method: str,
        business_id: str | None = None,
        *parts: str,
        body: Any = None,
        raw: str | bytes | None = None,
    ) -> requests.Response:
        """The answer to one call of this workflow's API, whatever its status: `method` on the
        collection (`business_id` None) or on `<collection>/<id>[/part...]`, with `body` as JSON
        (or `raw` text declared as JSON)."""
        return self.app.request(method, self.route(business_id, *parts), body, raw=raw)

    @classmethod
    def route(cls, business_id: str | None = None, *parts: str) -> str:
        """The collection (`business_id` None) or the route of one instance, below `/api/`."""
        return cls.workflow.collection if business_id is None else cls.path(business_id, *parts)

    def start_response(self, body: Any) -> requests.Response:
        """`POST /api/<collection>`, answered as it is."""
        return self.respond("POST", body=body)

    def status_response(self, business_id: str) -> requests.Response:
        """`GET .../{id}`, answered as it is."""
        return self.respond("GET", business_id)

    def audit_response(self, business_id: str) -> requests.Response:
        """`GET .../{id}/audit`, answered as it is."""
        return self.respond("GET", business_id, self.AUDIT)

    def _expect(self, response: requests.Response, expected: Iterable[int] = (202,)) -> Json:
        """The JSON body of an answer of the expected status (else WorkflowApiError naming the
        request as it was sent)."""
        request = response.request
        path = (request.path_url or "").removeprefix("/api/")
        return self.app.answer(str(request.method), path, response, expected)

    # -- the typed calls (for drivers: the demo, fuzzing, soak, benchmarks) ------------------------

    def _start(self, body: Json) -> Json:
        return self._expect(self.start_response(body))

    def start(self, body: Json) -> Json:
        """`POST /api/<resource>` (202 with the instance id and status URLs); 409 for a known id."""
        return self._start(body)

    def status(self, business_id: str) -> Json:
        """`GET .../{id}`: runtimeStatus plus the workflow's custom status (stage, waitingFor, ...)."""
        return self._expect(self.status_response(business_id), (200,))

    def audit(self, business_id: str) -> Json:
        """`GET .../{id}/audit`: `{"packet", "seal"}` once sealed, else `{"packet", "interim": true, ...}`."""
        return self._expect(self.audit_response(business_id), (200,))

    def audit_url(self, business_id: str) -> str:
        """The URL of the audit packet, to print or open."""
        return self.app.url(self.path(business_id, self.AUDIT))

    def outcome(self, body: Json) -> str | None:
        """The business outcome in a status body (None while running)."""
        outcome = body.get("outcome")
        if isinstance(outcome, dict):
            outcome = outcome.get("outcome")
        return str(outcome) if outcome else None

    def wait_until(
        self,
        business_id: str,
        predicate: Callable[[Json], bool],
        what: str,
        *,
        timeout: float = 60.0,
        on_status: StatusCallback | None = None,
        interval: float = POLL_INTERVAL_SECONDS,
    ) -> Json:
        """Poll the GET endpoint until `predicate(body)`; fail fast when the instance ends first."""
        seen: list[Json] = [{}]

        def read() -> Json:
            body = self.status(business_id)
            if on_status is not None and body != seen[0]:
                on_status(body)
            seen[0] = body
            return body

        def ended_first(body: Json) -> None:
            if body.get("runtimeStatus") in TERMINAL_STATUSES:
                raise WorkflowFailedError(
                    f"{self.name} {business_id!r} ended ({body.get('runtimeStatus')}, outcome "
                    f"{self.outcome(body)}) before {what}",
                    body,
                )

        try:
            return poll_until(
                read, predicate, timeout=timeout, what=what, interval=interval, between=ended_first
            )
        except PollTimeoutError as timed_out:
            body = dict(timed_out.last or {})
            raise WorkflowTimeoutError(
                f"{self.name} {business_id!r}: {what} not reached within {timeout:.0f} s "
                f"(last: {body.get('runtimeStatus')}, stage {body.get('stage')})",
                body,
            ) from None

    def wait_for(
        self,
        business_id: str,
        name: str,
        accepted: Collection[object],
        what: str,
        *,
        timeout: float = 60.0,
        on_status: StatusCallback | None = None,
    ) -> Json:
        """Wait until the status body's field `name` holds one of the `accepted` values."""
        return self.wait_until(
            business_id, lambda body: body.get(name) in accepted, what, timeout=timeout, on_status=on_status
        )

    def wait_stage(
        self, business_id: str, stage: str, timeout: float = 60.0, on_status: StatusCallback | None = None
    ) -> Json:
        """Wait until the custom status `stage` is `stage`."""
        return self.wait_for(
            business_id, "stage", (stage,), f"stage {stage!r}", timeout=timeout, on_status=on_status
        )

    def wait_terminal(
        self, business_id: str, timeout: float = 60.0, on_status: StatusCallback | None = None
    ) -> Json:
        """Wait until the instance is Completed, Failed, Terminated or Canceled; returns that body."""
        return self.wait_for(
            business_id, "runtimeStatus", TERMINAL_STATUSES, "the end", timeout=timeout, on_status=on_status
        )


# -- maintenance order ------------------------------------------------------------------------------

MAINTENANCE_APPROVAL_STAGE = "awaiting_approval"
# Part numbers the sandbox catalogue spreads over its three suppliers (one each).
SAMPLE_PART_NUMBERS = ("P-0", "P-1", "P-4")


def maintenance_order_body(
    order_id: str, *, asset_id: str = "A320-MSN-4711", inspector: str = "Ines Inspector"
) -> Json:
    """A valid order: two findings whose parts come from all three sandbox suppliers."""
    first, second, third = SAMPLE_PART_NUMBERS
    return {
        "orderId": order_id,
        "assetId": asset_id,
        "customer": {"name": "Pat Customer", "email": "pat.customer@example.com"},
        "inspection": {
            "inspector": inspector,
            "findings": [
                {"code": "CORR-12", "severity": "high", "partNumbers": [first, second]},
                {"code": "WEAR-3", "severity": "low", "partNumbers": [third, first]},
            ],
        },
    }


@dataclass
class MaintenanceOrderClient(WorkflowClient):
    """`/api/maintenance-orders`: start, approval decision, status, audit."""

    workflow: ClassVar[Workflow] = MAINTENANCE_ORDER
    APPROVAL: ClassVar[str] = "approval"  # POST .../{orderId}/approval

    def start(self, body: Json) -> Json:
        """`POST /api/maintenance-orders` (202); 409 for a known orderId raises WorkflowApiError."""
        return self._start(body)

    def approve(self, order_id: str, *, approved: bool, comment: str | None = None) -> Json:
        """`POST .../{orderId}/approval` (202) as the client's principal (a `Maintenance.Approver`)."""
        body: Json = {"approved": approved}
        if comment:
            body["comment"] = comment
        return self._expect(self.approval_response(order_id, body))

    def approval_response(
        self, order_id: str, body: Any, *, raw: str | bytes | None = None
    ) -> requests.Response:
        """`POST .../{orderId}/approval` with any body (or `raw` text), answered as it is."""
        return self.respond("POST", order_id, self.APPROVAL, body=body, raw=raw)

    def wait_for_approval(
        self, order_id: str, timeout: float = 60.0, on_status: StatusCallback | None = None
    ) -> Json:
        """Wait until the order waits for its approval decision."""
        return self.wait_stage(order_id, MAINTENANCE_APPROVAL_STAGE, timeout, on_status)


# -- fare dispute -----------------------------------------------------------------------------------


def fare_dispute_body(
    dispute_id: str, trip_id: str, reason: str, amount: str, *, customer_id: str, currency: str = "EUR"
) -> Json:
    """A dispute as the support portal files it."""
    return {
        "disputeId": dispute_id,
        "customerId": customer_id,
        "tripId": trip_id,
        "reason": reason,
        "claimedAmount": {"amount": amount, "currency": currency},
    }


def auto_approved_fare_dispute_body(dispute_id: str) -> Json:
    """Overcharge of 4.50 EUR on `trip-overcharged`: confirmed by the fare rules, under the 15.00
    auto-approve limit, so it is refunded without any person (no event, no timer)."""
    return fare_dispute_body(dispute_id, "trip-overcharged", "overcharge", "4.50", customer_id="cust-ana")


def evidence_fare_dispute_body(dispute_id: str) -> Json:
    """Overcharge of 2.00 EUR on `trip-correct`, which was charged its tariff: the fare rules cannot
    confirm it, so the case asks for evidence, then waits for a supervisor."""
    return fare_dispute_body(dispute_id, "trip-correct", "overcharge", "2.00", customer_id="cust-ana")


def supervised_fare_dispute_body(dispute_id: str) -> Json:
    """Cancelled airport trip charged 42.50 EUR: confirmed, but above the auto-approve limit, so the
    case waits for a supervisor decision (post it at once: only the SLA timer runs meanwhile)."""
    return fare_dispute_body(dispute_id, "trip-airport", "cancelled_trip", "42.50", customer_id="cust-ben")


@dataclass
class FareDisputeClient(WorkflowClient):
    """`/api/fare-disputes`: file, evidence, supervisor decision, status, audit."""

    workflow: ClassVar[Workflow] = FARE_DISPUTE
    EVIDENCE: ClassVar[str] = "evidence"  # POST .../{disputeId}/evidence
    SUPERVISOR_DECISION: ClassVar[str] = "supervisor-decision"  # POST .../{disputeId}/supervisor-decision

    def file(self, body: Json) -> Json:
        """`POST /api/fare-disputes` (202); 409 for a known disputeId raises WorkflowApiError."""
        return self._start(body)

    def start(self, body: Json) -> Json:
        """Same as `file` (every client has `start`)."""
        return self.file(body)

    def submit_evidence(self, dispute_id: str, description: str, documents: list[Json] | None = None) -> Json:
        """`POST .../{disputeId}/evidence` (202); 409 unless the case waits for evidence."""
        body: Json = {"description": description, "documents": documents or []}
        return self._expect(self.evidence_response(dispute_id, body))

    def evidence_response(self, dispute_id: str, body: Any) -> requests.Response:
        """`POST .../{disputeId}/evidence` with any body, answered as it is."""
        return self.respond("POST", dispute_id, self.EVIDENCE, body=body)

    def decide(
        self,
        dispute_id: str,
        decision: str,
        *,
        refund_amount: Json | None = None,
        note: str | None = None,
    ) -> Json:
        """`POST .../{disputeId}/supervisor-decision` (approve | partial | reject; 202), as the client's
        principal (a `FareDispute.Supervisor` who did not file the dispute)."""
        body: Json = {"decision": decision}
        if refund_amount is not None:
            body["refundAmount"] = refund_amount
        if note:
            body["note"] = note
        return self._expect(self.decision_response(dispute_id, body))

    def decision_response(self, dispute_id: str, body: Any) -> requests.Response:
        """`POST .../{disputeId}/supervisor-decision` with any body, answered as it is."""
        return self.respond("POST", dispute_id, self.SUPERVISOR_DECISION, body=body)

    def wait_waiting_for(
        self, dispute_id: str, input_name: str, timeout: float = 60.0, on_status: StatusCallback | None = None
    ) -> Json:
        """Wait until the case waits for `input_name` (`evidence` or `supervisor_decision`)."""
        what = f"waiting for {input_name}"
        return self.wait_for(
            dispute_id, "waitingFor", (input_name,), what, timeout=timeout, on_status=on_status
        )


# -- relief routing ---------------------------------------------------------------------------------

RELIEF_AWAITING_STAGE = "awaiting_confirmations"


# The shelters of the sandbox relief network (data/relief_network.json) that the soak and the
# benchmarks spread their relief requests over, in a fixed order (seeded runs pick by index).
SANDBOX_SHELTERS = (
    "shelter-bayview-school",
    "shelter-lighthouse-church",
    "shelter-riverside-arena",
    "shelter-hilltop-center",
    "shelter-marsh-road-clinic",
)


def relief_request_body(
    request_id: str, shelters: Mapping[str, Mapping[str, int]], priority: int = 3
) -> Json:
    """A relief request from `{shelterId: {sku: pallets}}` (priority 1 is the most urgent)."""
    return {"requestId": request_id, "priority": priority, "shelters": _shelter_list(shelters)}


def shelter_confirmation_body(shelter_id: str, received: Mapping[str, int] | None = None) -> Json:
    """A shelter's confirmation that its pallets arrived (`{sku: pallets}` received)."""
    return {
        "shelterId": shelter_id,
        "receivedItems": [{"sku": sku, "pallets": count} for sku, count in (received or {}).items()],
    }


def _shelter_list(shelters: Mapping[str, Mapping[str, int]]) -> list[Json]:
    return [
        {"shelterId": shelter, "items": [{"sku": sku, "pallets": count} for sku, count in items.items()]}
        for shelter, items in shelters.items()
    ]


@dataclass
class ReliefRequestClient(WorkflowClient):
    """`/api/relief-requests`: start, changes, shelter confirmations, status, audit."""

    workflow: ClassVar[Workflow] = RELIEF_ROUTING
    CHANGES: ClassVar[str] = "changes"  # POST .../{requestId}/changes
    SHELTER_CONFIRMATIONS: ClassVar[str] = (
        "shelter-confirmations"  # POST .../{requestId}/shelter-confirmations
    )

    def start(self, body: Json) -> Json:
        """`POST /api/relief-requests` (202); 409 known requestId, 400 unknown shelter or SKU."""
        return self._start(body)

    def change(
        self,
        request_id: str,
        *,
        shelters: Mapping[str, Mapping[str, int]] | None = None,
        remove_shelter_ids: list[str] | None = None,
        cancel: bool = False,
        change_id: str | None = None,
    ) -> Json:
        """`POST .../{requestId}/changes` (202): add or re-size shelters, remove them, or cancel.

        Pass `change_id` to make a retried change idempotent (the workflow ignores a repeated id).
        """
        body: Json = {}
        if change_id:
            body["changeId"] = change_id
        if cancel:
            body["cancel"] = True
        if shelters:
            body["shelters"] = _shelter_list(shelters)
        if remove_shelter_ids:
            body["removeShelterIds"] = list(remove_shelter_ids)
        return self._expect(self.change_response(request_id, body))

    def change_response(self, request_id: str, body: Any) -> requests.Response:
        """`POST .../{requestId}/changes` with any body, answered as it is."""
        return self.respond("POST", request_id, self.CHANGES, body=body)

    def confirm(self, request_id: str, shelter_id: str, received: Mapping[str, int] | None = None) -> Json:
        """`POST .../{requestId}/shelter-confirmations` (202); 409 unless that shelter awaits pallets."""
        body = shelter_confirmation_body(shelter_id, received)
        return self._expect(self.confirmation_response(request_id, body))

    def confirmation_response(self, request_id: str, body: Any) -> requests.Response:
        """`POST .../{requestId}/shelter-confirmations` with any body, answered as it is."""
        return self.respond("POST", request_id, self.SHELTER_CONFIRMATIONS, body=body)

    def wait_shelters_awaiting(
        self,
        request_id: str,
        shelter_ids: Iterable[str] | None = None,
        timeout: float = 60.0,
        on_status: StatusCallback | None = None,
    ) -> Json:
        """Wait until the request waits for confirmations with no change pending and every shelter
        in `shelter_ids` (default: every shelter still in `planning`) awaiting its pallets."""
        wanted = set(shelter_ids) if shelter_ids is not None else None

        def ready(body: Json) -> bool:
            shelters: Mapping[str, Any] = body.get("shelters") or {}
            if body.get("stage") != RELIEF_AWAITING_STAGE or body.get("pendingChanges"):
                return False
            names = wanted if wanted is not None else set(shelters)
            states = {name: (shelters.get(name) or {}).get("state") for name in names}
            if wanted is None:
                return all(state != "planning" for state in states.values())
            return all(state == "awaiting" for state in states.values())

        what = f"shelters {sorted(wanted)} awaiting" if wanted else "every shelter planned"
        return self.wait_until(request_id, ready, what, timeout=timeout, on_status=on_status)

    def wait_planned(
        self,
        request_id: str,
        shelter_ids: Iterable[str] = (),
        *,
        min_revision: int = 0,
        timeout: float = 60.0,
        on_status: StatusCallback | None = None,
    ) -> Json:
        """Wait until the request waits for confirmations with no change pending, plan `revision`
        at least `min_revision`, every shelter in `shelter_ids` part of it and no shelter still in
        `planning` (shelters then await, or got nothing: `nothing_to_deliver`). After a change, pass
        the changed shelters or the next revision: the status read just after may predate it."""
        wanted = set(shelter_ids)

        def ready(body: Json) -> bool:
            shelters: Mapping[str, Any] = body.get("shelters") or {}
            return (
                body.get("stage") == RELIEF_AWAITING_STAGE
                and not body.get("pendingChanges")
                and int(body.get("revision") or 0) >= min_revision
                and wanted <= set(shelters)
                and all((progress or {}).get("state") != "planning" for progress in shelters.values())
            )

        what = f"plan revision {min_revision}+ with {sorted(wanted)}" if wanted else "every shelter planned"
        return self.wait_until(request_id, ready, what, timeout=timeout, on_status=on_status)

    @staticmethod
    def awaiting_shelters(body: Json) -> list[str]:
        """Shelters of a status body that await their pallets (sorted)."""
        shelters: Mapping[str, Any] = body.get("shelters") or {}
        return sorted(
            name for name, progress in shelters.items() if (progress or {}).get("state") == "awaiting"
        )


CLIENTS_BY_WORKFLOW: dict[str, type[WorkflowClient]] = {
    client.workflow.name: client
    for client in (MaintenanceOrderClient, FareDisputeClient, ReliefRequestClient)
}


def client_for(app: AppClient, instance_id: str) -> WorkflowClient | None:
    """The client of the workflow an instance belongs to (by its id prefix), if any."""
    workflow = workflow_of(instance_id)
    return CLIENTS_BY_WORKFLOW[workflow.name](app) if workflow else None


def start_awaiting_a_person(
    app: AppClient, workflow: Workflow, business_id: str, shelter: str = SANDBOX_SHELTERS[0]
) -> None:
    """Start an instance that goes on to wait for a person: a maintenance order (its approver), a
    supervised fare dispute (a supervisor) or a relief request of one blanket for `shelter` (that
    shelter's confirmation). For loads of waiting instances (the console benchmark)."""
    if workflow.name == MAINTENANCE_ORDER.name:
        MaintenanceOrderClient(app).start(maintenance_order_body(business_id))
    elif workflow.name == FARE_DISPUTE.name:
        FareDisputeClient(app).file(supervised_fare_dispute_body(business_id))
    elif workflow.name == RELIEF_ROUTING.name:
        ReliefRequestClient(app).start(relief_request_body(business_id, {shelter: {"blanket": 1}}))
    else:
        raise ValueError(f"no waiting instance is known for the workflow {workflow.name!r}")
