"""Renders an audit packet as one self-contained HTML page (inline CSS, no script).

Used by `ops audit` (written next to the JSON) and by the operations console (download).

Every piece of text from the packet goes through `html.escape`: payloads come from users and
must never become markup.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from typing import Any

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:72rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.8rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,pre{font:12px ui-monospace,monospace;white-space:pre-wrap;margin:0}
.failed{color:#b42318}.completed{color:#067647}.note{color:#57606a;font-style:italic}
section.child{margin-left:1.5rem;padding-left:1rem;border-left:3px solid #d0d7de}
"""


def _text(value: Any) -> str:
    return escape("" if value is None else str(value))


def _json(value: Any) -> str:
    if value is None:
        return ""
    return f"<pre>{escape(json.dumps(value, indent=1, ensure_ascii=False))}</pre>"


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="note">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _outcome_class(outcome: Any) -> str:
    return "failed" if str(outcome).lower() in ("failed", "terminated") else "completed"


def _badge(outcome: Any) -> str:
    return f'<span class="{_outcome_class(outcome)}">{_text(outcome)}</span>'


def _section(packet: dict[str, Any], level: int) -> str:
    instance = packet["instance"]
    outcome = packet["outcome"]
    h = f"h{min(level + 2, 6)}"
    parts = [
        f"<{h}>Summary</{h}>",
        _table(
            ["field", "value"],
            [
                ["instance", f"<code>{_text(instance['instanceId'])}</code>"],
                ["orchestrator", _text(instance["name"])],
                [
                    "status",
                    _badge(outcome.get("status")),
                ],
                ["created", _text(instance["createdTime"])],
                ["last updated", _text(instance["lastUpdatedTime"])],
                ["input", _json(instance["input"])],
                [
                    "outcome",
                    _json({k: v for k, v in outcome.items() if k not in ("status",)}) or "(still running)",
                ],
            ],
            "",
        ),
        f"<{h}>Custom status</{h}>",
        _json(packet["customStatus"]["current"]) or '<p class="note">none set</p>',
        f'<p class="note">{_text(packet["customStatus"]["note"])}</p>',
        f"<{h}>Activities</{h}>",
        _table(
            ["activity", "attempt", "scheduled", "finished", "outcome", "input", "result / failure"],
            [
                [
                    _text(activity["name"]),
                    f"{attempt['attempt']} of {len(activity['attempts'])}",
                    _text(attempt.get("scheduledAt")),
                    _text(attempt.get("finishedAt")),
                    _badge(attempt["outcome"]),
                    _json(activity["input"]) if attempt["attempt"] == 1 else "(same)",
                    _json(
                        attempt.get("result") if attempt["outcome"] == "completed" else attempt.get("failure")
                    ),
                ]
                for activity in packet["activities"]
                for attempt in activity["attempts"]
            ],
            "no activities ran",
        ),
        f"<{h}>Events</{h}>",
        _table(
            ["event", "received", "by", "data"],
            [
                [
                    _text(e["name"]),
                    _text(e["receivedAt"]),
                    _text(_who(e)),
                    _json(e["data"]),
                ]
                for e in packet["events"]
            ],
            "no external events",
        ),
        f"<{h}>Timers</{h}>",
        _table(
            ["purpose", "created", "due", "fired"],
            [
                [
                    _text(t["purpose"]),
                    _text(t["createdAt"]),
                    _text(t["fireAt"]),
                    _text(t["firedAt"] or "(not fired)"),
                ]
                for t in packet["timers"]
            ],
            "no timers",
        ),
    ]
    if packet["entityOperations"]:
        parts += [
            f"<{h}>Entity operations</{h}>",
            _table(
                ["entity", "operation", "sent", "input", "result"],
                [
                    [
                        _text(o["entity"]),
                        _text(o["operation"]) + (" (signal)" if o["signal"] else ""),
                        _text(o["sentAt"]),
                        _json(o["input"]),
                        _json(o["result"]),
                    ]
                    for o in packet["entityOperations"]
                ],
                "",
            ),
        ]
    parts += [
        f"<{h}>Timeline</{h}>",
        _table(
            ["time", "kind", "what"],
            [[_text(t["at"]), _text(t["kind"]), _text(t["summary"])] for t in packet["timeline"]],
            "no history",
        ),
    ]
    for note in packet["notes"]:
        parts.append(f'<p class="note">{_text(note)}</p>')
    for child in packet["subOrchestrations"]:
        title = f"Sub-orchestration {child['name']} ({child['instanceId']}): {child['outcome']}"
        inner = _section(child["packet"], level + 1) if child.get("packet") else ""
        parts.append(f'<section class="child"><{h}>{_text(title)}</{h}>{inner}</section>')
    return "\n".join(parts)


STYLE_SHA256 = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
"""Hash of the inline stylesheet, for a Content-Security-Policy that allows only it."""


def render_html(packet: dict[str, Any]) -> str:
    """The whole report page."""
    instance = packet["instance"]
    title = f"Audit: {instance['name']} {instance['instanceId']}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_text(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n"
        f"<h1>{_text(title)}</h1>\n"
        f'<p class="note">Generated {_text(packet.get("generatedAt"))} from {_text(packet.get("source"))}. '
        "Sensitive fields are shown as [redacted]; redacted keys: "
        f"{_text(', '.join(packet.get('redactedKeys', [])))} and the project's telemetry list.</p>\n"
        f"{_section(packet, 0)}\n</body></html>\n"
    )


def _who(event: dict[str, Any]) -> str:
    """`Name (principal id, role)` for an authenticated principal, else the named actor or a note."""
    principal = event.get("principal")
    if isinstance(principal, dict) and principal.get("principalId"):
        role = f", {principal['role']}" if principal.get("role") else ""
        return f"{principal.get('name') or ''} (principal {principal['principalId']}{role})"
    return str(event.get("by") or "(not named)")
