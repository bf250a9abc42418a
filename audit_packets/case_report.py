"""The audit report of one case as a person reads it: built from a sealed (or interim) packet.

Sections: summary (what, who, outcome, duration, SLA), timeline (filed, every step with attempts and
duration, timers, human decisions with principal and role, reminders and escalations), decisions,
side effects (idempotency keys and outside references), exceptions and notes, documents, and the
verification block (digest, signature, key id). Tables and sentences only: no payload is shown as
JSON. What differs between workflows (step names, the outcome in words, who decided, the SLA) comes
from the workflow's `CaseProfile` (evidence/); everything else is read from the packet the same
way for every workflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from audit_packets.document import Document, Facts, Paragraph, Section, Table, bullet_list
from workflow_catalogue import Workflow

Packet = dict[str, Any]
PacketExtras = Callable[[Packet], dict[str, Any]]

# Input fields that name an activity's item, shown next to its step ("Parts requested (supplier-east)").
ITEM_FIELDS = (
    "supplierId",
    "findingCode",
    "template",
    "recipient",
    "status",
    "revision",
    "shelterId",
    "kind",
)
# Input fields that hold idempotency keys (or key prefixes) of an activity's effects.
KEY_FIELDS = ("key", "keyPrefix", "recordKey")
# Result fields that are our own business ids, not references handed back by an outside system.
OWN_ID_FIELDS = frozenset(
    {"requestId", "orderId", "disputeId", "customerId", "tripId", "shelterId", "depotId"}
)
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Decision:
    """One human (or rule) decision as the decisions table shows it."""

    what: str
    by: Any  # a principal record (dict), a typed name (older cases) or None
    decided_at: str | None
    taken_in_at: str | None
    taken: str = "taken"


@dataclass(frozen=True)
class BusinessDocument:
    """A document the case studies promise (certificate, donor report, letter), built from the packet."""

    name: str  # file stem: `release-certificate`
    title: str
    document: Document


def sealed_with_packet_section(instance_id: str, what: str) -> Section:
    """A business document's closing note: it is one of the files the instance's signed packet hashes."""
    return Section(
        "Evidence",
        (
            Paragraph(
                f"This {what} is part of the sealed audit packet of instance {instance_id}, "
                "which lists its SHA-256 and is signed.",
                note=True,
            ),
        ),
    )


def table_section(
    heading: str,
    columns: tuple[tuple[str, float], ...],
    rows: Iterable[tuple[str, ...]],
    empty: str,
    *,
    note: str = "",
) -> Section:
    """A section holding one table (after a quieter `note` paragraph, when one is given).

    `columns` pairs each header with its relative width in the PDF (the widths sum to about 1).
    """
    headers = tuple(header for header, _ in columns)
    table = Table(headers, tuple(rows), empty, tuple(width for _, width in columns))
    return Section(heading, (Paragraph(note, note=True), table) if note else (table,))


@dataclass(frozen=True)
class CaseProfile:
    """What one workflow adds to the generic report; every hook takes the packet."""

    workflow: Workflow  # its names, instance ids and API collection (workflow_catalogue)
    extras: PacketExtras
    outcome_text: Callable[[Packet], str]
    people: Callable[[Packet], list[tuple[str, str]]]
    sla: Callable[[Packet], str]
    decisions: Callable[[Packet], list[Decision]]
    exceptions: Callable[[Packet], list[str]]
    documents: Callable[[Packet], list[BusinessDocument]]
    step_titles: Mapping[str, str] = field(default_factory=dict)
    event_titles: Mapping[str, str] = field(default_factory=dict)
    redact_keys: tuple[str, ...] = ()

    def business_id(self, instance_id: str) -> str:
        """The order, dispute or request id inside an instance id."""
        return self.workflow.business_id(instance_id)

    def step_title(self, name: str) -> str:
        """A step's name in words."""
        return self.step_titles.get(name) or name.replace("_", " ").capitalize()


# -- small text helpers ----------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 UTC text (any precision) as an aware datetime, else None."""
    if not isinstance(value, str) or len(value) < 19:
        return None
    text = value.strip().replace("Z", "+00:00")
    head, _, rest = text.partition(".")
    if rest:  # .NET writes 7 fractional digits; Python reads at most 6
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(value: Any) -> str:
    """`2026-12-05 15:30:56 UTC`, or the text as it is when it is not a time."""
    moment = parse_time(value)
    if moment is None:
        return str(value) if value not in (None, "") else "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration_text(start: Any, end: Any) -> str:
    """`2 d 3 h 4 min`, `4 min 5 s`, `0.4 s`; `—` when either end is unknown."""
    first, last = parse_time(start), parse_time(end)
    if first is None or last is None:
        return "—"
    seconds = max((last - first).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    parts = [(days, "d"), (hour, "h"), (minute, "min")] if days or hours else [(minute, "min"), (second, "s")]
    return " ".join(f"{amount} {unit}" for amount, unit in parts if amount) or "0 s"


def actor_parts(value: Any) -> tuple[str, str, str]:
    """(name, role, principal id) of who acted: a principal record, a typed name, or nobody."""
    if isinstance(value, Mapping):
        name = str(value.get("name") or value.get("principalId") or "unknown")
        return name, str(value.get("role") or "—"), str(value.get("principalId") or "—")
    if value not in (None, ""):
        return str(value), "—", "none: a name given in the request, not a signed-in principal"
    return "not named", "—", NOT_RECORDED


def actor_text(value: Any) -> str:
    """`Ada Approver (Maintenance.Approver, id 1234)` or the typed name, marked as such."""
    name, role, principal_id = actor_parts(value)
    if isinstance(value, Mapping):
        details = [part for part in (role, f"id {principal_id}") if part not in ("—", "id —")]
        return f"{name} ({', '.join(details)})" if details else name
    if value not in (None, ""):
        return f"{name} (name as given; not a signed-in principal)"
    return name


def money_text(value: Any) -> str:
    """`1.50 EUR` from `{"amount", "currency"}`."""
    if isinstance(value, Mapping) and "amount" in value:
        return f"{value.get('amount')} {value.get('currency') or ''}".strip()
    return "—" if value in (None, "") else str(value)


def output_of(packet: Packet) -> dict[str, Any]:
    """The orchestration output (empty while running)."""
    output = (packet.get("outcome") or {}).get("output")
    return output if isinstance(output, dict) else {}


def input_of(packet: Packet) -> dict[str, Any]:
    """The orchestration input."""
    value = (packet.get("instance") or {}).get("input")
    return value if isinstance(value, dict) else {}


def activities_named(packet: Packet, name: str) -> list[dict[str, Any]]:
    """The packet's activities of one name."""
    return [a for a in packet.get("activities") or [] if a.get("name") == name]


def last_result(activity: Mapping[str, Any]) -> dict[str, Any]:
    """The result of an activity's last attempt (empty when it failed or is missing)."""
    attempts = activity.get("attempts") or []
    result = attempts[-1].get("result") if attempts else None
    return result if isinstance(result, dict) else {}


def finished_at(packet: Packet) -> str | None:
    """When the case finished (its outcome time), None while running."""
    at = (packet.get("outcome") or {}).get("at")
    return str(at) if at else None


# -- generic sections ------------------------------------------------------------------------------


def _item(activity: Mapping[str, Any]) -> str:
    work = activity.get("input")
    if not isinstance(work, Mapping):
        return ""
    for name in ITEM_FIELDS:
        value = work.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    notices = work.get("notices")
    if isinstance(notices, list) and notices:
        return f"{len(notices)} notice" + ("s" if len(notices) != 1 else "")
    return ""


def _attempts_text(activity: Mapping[str, Any]) -> str:
    attempts = activity.get("attempts") or []
    first, last = (attempts[0], attempts[-1]) if attempts else ({}, {})
    took = duration_text(first.get("scheduledAt"), last.get("finishedAt"))
    count = len(attempts)
    text = f"{count} attempt{'s' if count != 1 else ''}, {took}, {activity.get('outcome') or 'running'}"
    failures = [a for a in attempts if a.get("outcome") == "failed"]
    if failures:
        text += f" ({len(failures)} failed: {str(failures[0].get('failure') or '')[:120]})"
    return text


def timeline_rows(packet: Packet, profile: CaseProfile) -> list[tuple[str, str, str, str]]:
    """(time, what happened, who, details), in time order."""
    rows: list[tuple[datetime | None, int, tuple[str, str, str, str]]] = []

    def add(at: Any, what: str, who: str, details: str) -> None:
        rows.append((parse_time(at), len(rows), (when(at), what, who, details)))

    instance = packet.get("instance") or {}
    started_by = next(
        (input_of(packet)[k] for k in ("startedBy", "filedBy", "requestedBy") if input_of(packet).get(k)),
        None,
    )
    add(
        instance.get("createdTime"),
        f"{profile.workflow.title} filed ({profile.workflow.business_label} "
        f"{profile.business_id(str(instance.get('instanceId')))})",
        actor_text(started_by) if started_by else "—",
        f"instance {instance.get('instanceId')}",
    )
    for activity in packet.get("activities") or []:
        attempts = activity.get("attempts") or []
        item = _item(activity)
        title = profile.step_title(str(activity.get("name"))) + (f" ({item})" if item else "")
        add(attempts[0].get("scheduledAt") if attempts else None, title, "workflow", _attempts_text(activity))
    for timer in packet.get("timers") or []:
        purpose = str(timer.get("purpose") or "timer")
        label = "Retry delay" if purpose.startswith("retry") else "Durable timer set"
        add(timer.get("createdAt"), label, "workflow", f"due {when(timer.get('fireAt'))}")
        if timer.get("firedAt"):
            add(
                timer.get("firedAt"),
                "Durable timer fired",
                "workflow",
                f"was due {when(timer.get('fireAt'))}",
            )
    for event in packet.get("events") or []:
        name = str(event.get("name"))
        title = profile.event_titles.get(name) or f"Event '{name}' received"
        who = actor_text(event.get("principal") or event.get("by"))
        add(event.get("receivedAt"), title, who, "")
    for child in packet.get("subOrchestrations") or []:
        name = f"Sub-orchestration {child.get('name')} ({child.get('instanceId')})"
        add(child.get("createdAt"), f"{name} started", "workflow", "")
        if child.get("finishedAt"):
            add(child.get("finishedAt"), f"{name} {child.get('outcome')}", "workflow", "")
    for line in packet.get("timeline") or []:
        if line.get("kind") in ("terminated", "suspended", "resumed"):
            add(line.get("at"), str(line.get("summary")).capitalize(), "operator", "")
    outcome = packet.get("outcome") or {}
    if outcome.get("at") and outcome.get("status") not in (None, "Running"):
        add(
            outcome.get("at"),
            f"Finished: {profile.outcome_text(packet)}",
            "workflow",
            str(outcome.get("status")),
        )
    ordered = sorted(rows, key=lambda row: (row[0] or datetime.max.replace(tzinfo=UTC), row[1]))
    return [row for _, _, row in ordered]


def idempotency_keys(work: Any) -> list[str]:
    """The idempotency keys (or key prefixes) an activity input carries, also inside `notices`."""
    if not isinstance(work, Mapping):
        return []
    keys = [str(work[name]) for name in KEY_FIELDS if isinstance(work.get(name), str)]
    for notice in work.get("notices") or []:
        if isinstance(notice, Mapping) and isinstance(notice.get("key"), str):
            keys.append(str(notice["key"]))
    return keys


def outside_references(result: Any, path: str = "") -> list[str]:
    """`refundId re_…`, `supplierRequestId sr_…`, `routeId …`: ids an outside system handed back."""
    found: list[str] = []
    if isinstance(result, Mapping):
        if "$claimCheck" in result:
            return found
        for key, value in result.items():
            name = str(key)
            if isinstance(value, str) and (name.endswith("Id") and name not in OWN_ID_FIELDS):
                found.append(f"{name} {value}")
            elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                if name.endswith(("Ids", "sent", "notified")) or name in ("sent", "notified"):
                    found.append(f"{name} {', '.join(value)}")
            elif isinstance(value, Mapping | list):
                found.extend(outside_references(value, f"{path}{name}."))
    elif isinstance(result, list):
        for value in result:
            found.extend(outside_references(value, path))
    return list(dict.fromkeys(found))


def side_effect_rows(packet: Packet, profile: CaseProfile) -> list[tuple[str, str, str, str, str]]:
    """(step, idempotency keys, outcome, outside references, finished) for every keyed effect."""
    rows = []
    for activity in packet.get("activities") or []:
        keys = idempotency_keys(activity.get("input"))
        if not keys:
            continue
        attempts = activity.get("attempts") or []
        refs = outside_references(last_result(activity))
        item = _item(activity)
        rows.append(
            (
                profile.step_title(str(activity.get("name"))) + (f" ({item})" if item else ""),
                "\n".join(keys),
                str(activity.get("outcome") or "running"),
                "\n".join(refs) or "—",
                when(attempts[-1].get("finishedAt")) if attempts else "—",
            )
        )
    return rows


def generic_exceptions(packet: Packet, profile: CaseProfile) -> list[str]:
    """Retries, failed steps, termination and the packet's own notes."""
    notes: list[str] = []
    for activity in packet.get("activities") or []:
        attempts = activity.get("attempts") or []
        failed = [a for a in attempts if a.get("outcome") == "failed"]
        if not failed:
            continue
        step = profile.step_title(str(activity.get("name")))
        reason = str(failed[0].get("failure") or "no reason recorded")[:200]
        if activity.get("outcome") == "completed":
            notes.append(f"{step}: {len(failed)} failed attempt(s) before it succeeded (first: {reason}).")
        else:
            notes.append(f"{step}: failed after {len(attempts)} attempt(s): {reason}.")
    outcome = packet.get("outcome") or {}
    if outcome.get("status") == "Terminated":
        notes.append(
            f"Terminated by an operator at {when(outcome.get('at'))}: {outcome.get('reason') or 'no reason'}."
        )
    if outcome.get("status") == "Failed":
        notes.append(f"The workflow failed at {when(outcome.get('at'))}: {str(outcome.get('failure'))[:300]}")
    notes.extend(str(note) for note in packet.get("notes") or [])
    return notes


def decision_rows(decisions: Iterable[Decision]) -> list[tuple[str, str, str, str, str, str, str]]:
    """Rows of the decisions table."""
    rows = []
    for decision in decisions:
        name, role, principal_id = actor_parts(decision.by)
        rows.append(
            (
                decision.what,
                name,
                role,
                principal_id,
                when(decision.decided_at),
                when(decision.taken_in_at),
                decision.taken,
            )
        )
    return rows


def verification_facts(
    envelope: Mapping[str, Any], stored: Mapping[str, Any] | None
) -> list[tuple[str, str]]:
    """The verification block of a sealed envelope."""
    seal = envelope.get("seal") or {}
    sealing = (envelope.get("packet") or {}).get("sealing") or {}
    facts = [
        ("Sealed at", when(sealing.get("sealedAt"))),
        ("Sealed by", str(sealing.get("sealedBy") or "—")),
        *(
            (("Sealed at the request of", actor_text(sealing["operator"])),)
            if sealing.get("operator")
            else ()
        ),
        ("Canonical form", str(seal.get("canonicalization") or "—")),
        ("Digest (SHA-256)", str(seal.get("digest") or "—")),
        ("Signature algorithm", str(seal.get("signatureAlgorithm") or "—")),
        ("Signature", str(seal.get("signature") or "—")),
        ("Key id", str(seal.get("keyId") or "—")),
        ("Key thumbprint (RFC 7638)", str(seal.get("keyThumbprint") or "—")),
    ]
    if stored:
        facts.append(("Stored as", f"{stored.get('container')}/{stored.get('blob')}"))
        facts.append(("Blob version", str(stored.get("version") or "—")))
    return facts


def redaction_sentence(packet: Packet) -> str:
    """The one statement about personal data and redaction."""
    redaction = packet.get("redaction") or {}
    keys = ", ".join(redaction.get("keys") or [])
    marker = redaction.get("marker") or "[redacted]"
    return (
        "Personal data is kept out of this record: customer contact details, card data, evidence "
        "text and free-text notes never enter the workflow's history (they are stored separately and "
        f"referenced), and any other field whose name matches one of: {keys or 'the redaction list'}, "
        f"as well as e-mail addresses, card numbers and phone numbers found in text, appear as {marker}."
    )


# -- the report ------------------------------------------------------------------------------------


def case_report(
    envelope: Mapping[str, Any], profile: CaseProfile, stored: Mapping[str, Any] | None = None
) -> Document:
    """The report of a sealed envelope (`{"packet", "seal"}`) or an interim one (`{"packet", "interim"}`)."""
    packet: Packet = dict(envelope.get("packet") or {})
    instance = packet.get("instance") or {}
    instance_id = str(instance.get("instanceId"))
    business_id = profile.business_id(instance_id)
    sealed = "seal" in envelope
    app = packet.get("app") or {}
    finished = finished_at(packet)
    summary = [
        ("Case", f"{profile.workflow.title} {business_id}"),
        ("Instance id", instance_id),
        (
            "Workflow",
            f"{profile.workflow.orchestrator} "
            f"(app {app.get('version', '—')}, commit {app.get('commit', '—')})",
        ),
        *profile.people(packet),
        ("Outcome", profile.outcome_text(packet)),
        ("Runtime status", str(instance.get("runtimeStatus") or "—")),
        ("Started", when(instance.get("createdTime"))),
        ("Finished", when(finished) if finished else "still running"),
        ("Duration", duration_text(instance.get("createdTime"), finished) if finished else "—"),
        ("SLA", profile.sla(packet)),
        ("Record", "sealed and signed" if sealed else "interim snapshot (not sealed, not the record)"),
    ]
    timeline = timeline_rows(packet, profile)
    decisions = decision_rows(profile.decisions(packet))
    effects = side_effect_rows(packet, profile)
    exceptions = [*profile.exceptions(packet), *generic_exceptions(packet, profile)]
    documents = [
        (
            str(d.get("title")),
            str(d.get("format", "")).upper(),
            str(d.get("sha256")),
            str(d.get("href") or "—"),
        )
        for d in packet.get("documents") or []
    ]
    children = [
        (
            str(child.get("name")),
            str(child.get("instanceId")),
            str(child.get("outcome")),
            ", ".join(
                f"{a.get('name')} ({len(a.get('attempts') or [])} attempt(s), {a.get('outcome')})"
                for a in ((child.get("packet") or {}).get("activities") or [])
            )
            or "—",
        )
        for child in packet.get("subOrchestrations") or []
    ]
    verification: tuple[Facts | Paragraph, ...]
    if sealed:
        verification = (
            Facts(tuple(verification_facts(envelope, stored))),
            Paragraph(
                "To check: python -m ops audit verify <this packet's JSON file or the instance id>. It "
                "rebuilds the canonical form, recomputes the SHA-256 digest and verifies the ES256 "
                "signature with the published public key; any changed byte makes it fail.",
                note=True,
            ),
        )
    else:
        verification = (
            Paragraph(
                "Not sealed: this snapshot was generated from the history while the case was not "
                "finished (or before it was sealed). It has no digest or signature and is not kept as "
                "the record; the sealed packet is written when the case reaches its final state.",
            ),
        )
    sections = (
        Section("Summary", (Facts(tuple(summary)),)),
        table_section(
            "Timeline",
            (("When", 0.18), ("What happened", 0.34), ("Who", 0.22), ("Details", 0.26)),
            timeline,
            "No history.",
        ),
        table_section(
            "Decisions",
            (
                ("Decision", 0.2),
                ("Made by", 0.14),
                ("Role", 0.12),
                ("Principal id", 0.14),
                ("Decided", 0.14),
                ("Taken in", 0.14),
                ("Result", 0.12),
            ),
            decisions,
            "No decision was needed or made.",
        ),
        table_section(
            "Side effects",
            (
                ("Step", 0.2),
                ("Idempotency key", 0.3),
                ("Outcome", 0.1),
                ("Outside references", 0.25),
                ("Finished", 0.15),
            ),
            effects,
            "No effect on an outside system.",
            note="Each effect on an outside system ran under its idempotency key: a retry or a second "
            "delivery returned the recorded outcome instead of acting again.",
        ),
        *(
            (
                table_section(
                    "Sub-orchestrations",
                    (("Sub-orchestration", 0.2), ("Instance", 0.25), ("Outcome", 0.12), ("Its steps", 0.43)),
                    children,
                    "None.",
                ),
            )
            if children
            else ()
        ),
        Section(
            "Exceptions and notes",
            bullet_list(exceptions, "None: every step succeeded at its first attempt."),
        ),
        table_section(
            "Documents",
            (("Document", 0.25), ("Format", 0.08), ("SHA-256", 0.37), ("Download", 0.3)),
            documents,
            "Documents are issued when the case is sealed." if not sealed else "No documents.",
        ),
        Section("Verification", verification),
    )
    return Document(
        title=f"Audit report: {profile.workflow.title} {business_id}",
        subtitle=f"Instance {instance_id} · {'sealed record' if sealed else 'interim snapshot'} · "
        f"task hub {packet.get('taskHub') or '—'}",
        sections=sections,
        footer=redaction_sentence(packet),
        banner=""
        if sealed
        else "Interim snapshot: the case has not been sealed. This is not the audit record.",
        keywords=(instance_id, profile.workflow.name, "audit"),
    )


def event_data(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event's payload when it is an object (else empty)."""
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def timeline_events(packet: Packet, event_name: str) -> list[dict[str, Any]]:
    """The packet's external events of one name."""
    return [e for e in packet.get("events") or [] if e.get("name") == event_name]


def first(items: Iterable[Any], default: Any = None) -> Any:
    """The first item, or `default`."""
    return next(iter(items), default)
