"""Malformed events raised past the API: refused on the record, and the dispute keeps waiting.

The API validates every evidence submission and supervisor decision, so a malformed event can only
come through the Durable management API (an operator's script, a forged call). The orchestrator
must neither fail nor take it: it records the refusal (`accepted: false`, "malformed event") and
waits on, so the real submission and decision that follow still decide the case.
"""

from __future__ import annotations

from typing import Any

from contracts.fare_dispute import EVIDENCE_SUBMITTED_EVENT, SUPERVISOR_DECISION_EVENT, instance_id_for
from tests.fare_dispute.support import DisputeHost, JsonDict, claim
from tests.support.durable_http import DurableApi
from tests.support.identity import OPERATOR, SUPERVISOR
from tools.harness.polling import wait_until

MALFORMED_EVIDENCE: dict[str, Any] = {"documentCount": "lots"}  # no evidence reference, not a count
MALFORMED_DECISION: dict[str, Any] = {"decision": "refund everything", "supervisor": ""}


def raise_and_wait_taken(host: DisputeHost, dispute_id: str, event_name: str, data: Any) -> None:
    """Raise `event_name` through the management API and wait until an episode has taken it."""
    instance_id = instance_id_for(dispute_id)
    operator = DurableApi(host.base_url, host.tokens.token(OPERATOR))
    raised = operator.raise_event(instance_id, event_name, data)
    assert raised.status_code == 202, raised.text

    def taken() -> bool:
        # A history holds an event only once an episode has taken it and committed.
        named = [event for event in host.history(dispute_id) if event.get("Name") == event_name]
        return any(event["EventType"] == "EventRaised" for event in named)

    wait_until(taken, timeout=30, what=f"{event_name} taken by {instance_id}")


def test_malformed_evidence_and_decision_are_refused_and_the_case_waits_on(
    dispute_host: DisputeHost, dispute_id: str
) -> None:
    dispute_host.file_ok(claim(dispute_id, "trip-correct", "overcharge", "2.00"))
    dispute_host.waiting_for(dispute_id, "evidence")

    raise_and_wait_taken(dispute_host, dispute_id, EVIDENCE_SUBMITTED_EVENT, MALFORMED_EVIDENCE)
    view = dispute_host.view_ok(dispute_id)
    assert (view["runtimeStatus"], view.get("waitingFor")) == ("Running", "evidence"), view
    evidence = {"description": "Receipt attached", "documents": [{"documentId": "upload-9", "name": "r.jpg"}]}
    assert dispute_host.evidence(dispute_id, evidence).status_code == 202

    dispute_host.waiting_for(dispute_id, "supervisor_decision")
    raise_and_wait_taken(dispute_host, dispute_id, SUPERVISOR_DECISION_EVENT, MALFORMED_DECISION)
    view = dispute_host.view_ok(dispute_id)
    assert (view["runtimeStatus"], view.get("waitingFor")) == ("Running", "supervisor_decision"), view
    assert dispute_host.decide(dispute_id, {"decision": "reject"}).status_code == 202

    result: JsonDict = dispute_host.resolved(dispute_id)["result"]
    assert result["outcome"] == "rejected", result
    assert [(d["decidedBy"], d["decision"], d["accepted"], d.get("detail")) for d in result["decisions"]] == [
        ("customer", "evidence", False, "malformed event"),
        ("customer", "evidence", True, "1 documents"),
        ("unknown", "decision", False, "malformed event"),
        (SUPERVISOR.name, "reject", True, None),
    ]
    assert dispute_host.refunds(dispute_id) == []
