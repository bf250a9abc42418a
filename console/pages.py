"""Server-rendered HTML of the console (stdlib only, no script, no front-end build).

Every value from an instance (ids, inputs, custom status, event data, failure texts) reaches the page
only through `esc` (HTML-escaped, quotes included) or `pretty` (escaped JSON), so payloads can never
become markup. The one stylesheet is inline and allowed by its hash in the Content-Security-Policy
(`security_headers`), which otherwise forbids scripts, frames and foreign form targets.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from console.charts import chart_id, parse_time
from console.charts import duration_text as span
from console.decisions import PendingDecision, Viewer
from console.management import RUNTIME_STATUSES, InstanceFilter, InstancePage, InstanceRow
from console.overview import decision_clock, sla_overview
from console.sla import sla_clock_html
from console.timeline import timeline_section
from durable_wire import ACTIVE_STATUSES
from identity import SIGN_IN_PATH, SIGN_OUT_PATH, Permission, Role
from workflow_catalogue import WORKFLOWS

STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}header .hub{margin-left:auto;opacity:.75}
header .who{opacity:.9}header .who a{font-weight:400;text-decoration:underline}
main{padding:1rem 1.2rem;max-width:90rem}
h1{font-size:1.35rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
table{border-collapse:collapse;width:100%;background:#fff;margin:.4rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#eaeef2;font-weight:600}
code,pre{font:12px ui-monospace,monospace}pre{white-space:pre-wrap;margin:0;max-height:18rem;overflow:auto}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;background:#fff;padding:.6rem;
border:1px solid #d0d7de}
label{display:flex;flex-direction:column;font-size:12px;color:#57606a;gap:.15rem}
input,select,textarea{font:inherit;padding:.2rem .3rem}
button{font:inherit;padding:.25rem .7rem;cursor:pointer;border:1px solid #8c959f;border-radius:4px;
background:#fff}
button.primary{background:#1f883d;color:#fff;border-color:#1a7f37}
button.danger{background:#cf222e;color:#fff;border-color:#a40e26}
.status{font-weight:600}.s-Failed,.s-Terminated,.failed{color:#cf222e}.s-Completed,.completed{color:#1a7f37}
.s-Suspended{color:#9a6700}.s-Running,.s-Pending{color:#0969da}
.note{color:#57606a}.notice{background:#dafbe1;border:1px solid #1a7f37;padding:.5rem;margin:.5rem 0}
.error{background:#ffebe9;border:1px solid #cf222e;padding:.5rem;margin:.5rem 0}
.warn{background:#fff8c5;border:1px solid #9a6700;padding:.5rem;margin:.5rem 0}
.actions form,.inline{display:inline-block;margin:0 .3rem .3rem 0}
.decision form{display:flex;flex-wrap:wrap;gap:.4rem;align-items:end}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;background:#fff;padding:.6rem;
border:1px solid #d0d7de}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.pager{margin:.6rem 0;display:flex;gap:1rem}
h3{font-size:1rem;margin:1rem 0 .3rem}
.freshness{margin:0 0 .6rem;color:#57606a;font-size:13px}
@property --age{syntax:'<integer>';inherits:false;initial-value:0}
@keyframes age{from{--age:0}to{--age:86400}}
.age-count{animation:age 86400s linear forwards;counter-reset:age var(--age)}
.age-count::after{content:counter(age)}
@media (prefers-reduced-motion:reduce){.age{display:none}}
figure.chart{margin:.4rem 0 .8rem;background:#fff;border:1px solid #d0d7de;padding:.5rem;min-width:0}
figure.chart>svg{display:block;overflow:hidden}
figure.chart svg text{font:12px system-ui,sans-serif;fill:#1b1f24}
figure.chart svg text.tick{font-size:11px;fill:#3d444d}
figcaption{font-size:12px;color:#57606a;margin-top:.3rem}
details.chart-data{margin-top:.3rem}details.chart-data summary{cursor:pointer;color:#0550ae}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.2rem 1rem;margin:.4rem 0 0;padding:0;
font-size:12px}
ul.legend li{display:flex;align-items:center;gap:.3rem}svg.swatch{flex:none}
.legend-note{font-size:12px;margin:.2rem 0 0}
.table-scroll{overflow-x:auto;max-width:100%}
.chart-pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,max-content);gap:.8rem;
align-items:start}
table.data caption{text-align:left;font-weight:600;padding:.2rem 0}td.num{text-align:right}
.match-count{font-size:15px;margin:.2rem 0 .6rem}
.sla{min-width:9rem}.sla svg{display:block;margin:.1rem 0 .2rem}.sla .note{display:block;font-size:12px}
.sla-text{font-size:13px}.sla-overdue .sla-text{color:#b42318}.sla-due_soon .sla-text{color:#7a4100}
.sla-on_time .sla-text{color:#0550ae}.sla-summary{font-size:15px}
dl.facts dd{overflow-wrap:anywhere}td{overflow-wrap:anywhere}
@media (max-width:48rem){
header{flex-wrap:wrap;gap:.4rem 1rem;padding:.5rem .8rem}header .hub{margin-left:0;width:100%}
main{padding:.6rem}.chart-pair{grid-template-columns:minmax(0,1fr)}
dl.facts{grid-template-columns:minmax(0,1fr)}dl.facts dd{margin-bottom:.3rem}
table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
table.stack tr{border:1px solid #d0d7de;margin:0 0 .6rem;background:#fff}
table.stack td{border:0;border-bottom:1px solid #eaeef2}
table.stack td[data-label]::before{content:attr(data-label);display:block;font-size:11px;color:#57606a}
}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()


def security_headers(extra_style_hashes: Iterable[str] = ()) -> dict[str, str]:
    """Headers of every console response: strict CSP (no script), no caching, no framing."""
    styles = " ".join(f"'sha256-{h}'" for h in (_STYLE_HASH, *extra_style_hashes))
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {styles}; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
    }


def esc(value: Any) -> str:
    """HTML-escaped text (quotes too); None is empty."""
    return escape("" if value is None else str(value), quote=True)


def pretty(value: Any) -> str:
    """Escaped, indented JSON in a <pre>; empty for None."""
    if value is None or value == "":
        return ""
    text = value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False, default=str)
    return f'<pre tabindex="0">{esc(text)}</pre>'  # focusable: a long value scrolls inside it


def when(value: Any) -> str:
    """A timestamp for people: `2026-11-24 10:00:03Z`."""
    parsed = parse_time(value)
    return esc(parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")) if parsed else esc(value)


def between(start: Any, end: Any) -> float | None:
    """Seconds from `start` to `end` (ISO texts), or None."""
    first, last = parse_time(start), parse_time(end)
    return (last - first).total_seconds() if first and last else None


@dataclass(frozen=True)
class Links:
    """Builds console URLs: paths under the console's base path, never with a credential in them."""

    base: str  # e.g. /api/console

    def to(self, path: str = "", **params: Any) -> str:
        """URL of a console path with query parameters (empty ones dropped), HTML-escaped."""
        query = {k: v for k, v in params.items() if v not in (None, "", [])}
        pairs = [(k, x) for k, v in query.items() for x in (v if isinstance(v, list | tuple) else [v])]
        suffix = ("?" + urlencode(pairs)) if pairs else ""
        return esc(f"{self.base}{'/' + path if path else ''}{suffix}")

    def instance(self, instance_id: str) -> str:
        """URL of an instance's page."""
        return self.to("instance", id=instance_id)


@dataclass
class PageContext:
    """What every page needs: links, who is signed in, the task hub name, a notice, the request time."""

    links: Links
    hub: str = ""
    notice: str = ""
    error: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))  # the task hub's clock, when read
    viewer: Viewer | None = None
    view: tuple[str, dict[str, Any]] | None = None  # this page's path and parameters, for its refresh links
    auto_refresh: int = 0  # seconds between reloads the operator chose (0: off)

    def can(self, permission: Permission) -> bool:
        """Whether the signed-in person may do `permission` (False when nobody is signed in)."""
        return self.viewer is not None and self.viewer.can(permission)


AUTO_REFRESH_CHOICES = (0, 30, 120)  # seconds; a <meta http-equiv=refresh> needs no script


def auto_refresh_seconds(text: str) -> int:
    """The `refresh` query parameter if it is one of the offered intervals, else 0 (off)."""
    return int(text) if text.isdigit() and int(text) in AUTO_REFRESH_CHOICES else 0


def freshness(context: PageContext) -> str:
    """When the data was read (task hub clock), a live "updated N s ago", refresh and auto-refresh.

    The seconds count up with a CSS animation (no script); the accessible text is the time read.
    """
    if context.view is None:
        return ""
    path, params = context.view
    read_at = context.now.astimezone(UTC)
    choices = " ".join(
        f'<strong aria-current="true">{_refresh_label(seconds)}</strong>'
        if seconds == context.auto_refresh
        else f'<a href="{context.links.to(path, **params, refresh=seconds or "")}">'
        f"{_refresh_label(seconds)}</a>"
        for seconds in AUTO_REFRESH_CHOICES
    )
    again = context.links.to(path, **params, refresh=context.auto_refresh or "")
    return (
        f'<p class="freshness">Data read at <time datetime="{read_at.strftime("%Y-%m-%dT%H:%M:%SZ")}">'
        f"{read_at.strftime('%Y-%m-%d %H:%M:%S')}Z</time> (task hub clock)"
        '<span class="age" aria-hidden="true"> · updated <span class="age-count"></span> s ago</span> · '
        f'<a href="{again}">Refresh now</a> · auto-refresh: {choices}</p>'
    )


def _refresh_label(seconds: int) -> str:
    return "off" if not seconds else f"every {span(seconds)}"


def layout(context: PageContext, title: str, body: str) -> str:
    """The whole page around `body`: navigation for what the viewer may see, and who is signed in."""
    links = context.links
    notice = f'<div class="notice" role="status">{esc(context.notice)}</div>' if context.notice else ""
    error = f'<div class="error" role="alert">{esc(context.error)}</div>' if context.error else ""
    hub = f'<span class="hub">task hub {esc(context.hub)}</span>' if context.hub else ""
    navigation = []
    if context.can(Permission.READ_OPERATIONS):
        navigation.append(f'<a href="{links.to()}">Instances</a>')
    if context.can(Permission.VIEW_DECISION_QUEUE):
        navigation.append(f'<a href="{links.to("decisions")}">Pending decisions</a>')
    reload = (
        f'<meta http-equiv="refresh" content="{context.auto_refresh}">'
        if context.auto_refresh and context.view is not None
        else ""
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{reload}'
        f"<title>{esc(title)} · Workflows console</title><style>{STYLE}</style></head><body>\n"
        f"<header>{''.join(navigation)}{hub}{signed_in(context)}</header>\n"
        f"<main>{notice}{error}<h1>{esc(title)}</h1>\n{freshness(context)}{body}\n</main></body></html>\n"
    )


def signed_in(context: PageContext) -> str:
    """`Signed in as Ada Approver (Maintenance.Approver) · sign out`, or nothing when nobody is."""
    if context.viewer is None:
        return ""
    principal = context.viewer.principal
    roles = ", ".join(role.value for role in principal.known_roles()) or "no app role"
    sign_out = f"{SIGN_OUT_PATH}?post_logout_redirect_uri={SIGN_IN_PATH}"
    return (
        f'<span class="who" title="principal id {esc(principal.principal_id)}">Signed in as '
        f"<strong>{esc(principal.name)}</strong> ({esc(roles)}) · "
        f'<a href="{esc(sign_out)}">sign out</a></span>'
    )


def sign_in_page(context: PageContext, message: str, return_to: str) -> str:
    """The 401 page: why, and the sign-in link that comes back to `return_to` (a path on this host)."""
    target = f"{SIGN_IN_PATH}?{urlencode({'post_login_redirect_uri': return_to})}"
    return layout(
        context,
        "Sign in",
        f'<div class="warn">{esc(message)}</div>'
        f'<p><a href="{esc(target)}">Sign in with Microsoft Entra ID</a></p>',
    )


def scrolling(table: str, label: str) -> str:
    """A table in a box that scrolls sideways on a narrow screen (focusable, so keyboards can scroll it)."""
    return f'<div class="table-scroll" tabindex="0" role="region" aria-label="{esc(label)}">{table}</div>'


def status_badge(status: str) -> str:
    """A runtime status, coloured."""
    return f'<span class="status s-{esc(status)}">{esc(status)}</span>'


def _selected(chosen: bool) -> str:
    return " selected" if chosen else ""


def hidden(name: str, value: Any) -> str:
    """A hidden form field."""
    return f'<input type="hidden" name="{esc(name)}" value="{esc(value)}">'


# -- instance list ------------------------------------------------------------------------------------


def instances_page(  # noqa: PLR0917 (the page's parts, each named at the call)
    context: PageContext,
    page: InstancePage,
    wanted: InstanceFilter,
    regions: list[str],
    size: int,
    cursor_text: str,
    created_from: str,
    created_to: str,
    overview: str = "",
) -> str:
    """The instance list with its filter form, the overview charts of what it matches, and pager."""
    links = context.links
    workflow_options = '<option value="">all</option>' + "".join(
        f'<option value="{esc(w.name)}"{_selected(w.name == wanted.workflow)}>{esc(w.title)}</option>'
        for w in WORKFLOWS
    )
    status_options = "".join(
        f'<option value="{esc(s)}"{" selected" if s in wanted.statuses else ""}>{esc(s)}</option>'
        for s in RUNTIME_STATUSES
    )
    region_options = '<option value="">all</option>' + "".join(
        f'<option value="{esc(r)}"{" selected" if r == wanted.region else ""}>{esc(r)}</option>'
        for r in regions
    )
    filters = (
        f'<form class="filters" method="get" action="{links.to()}" aria-label="filters">'
        f'<label>Workflow<select name="workflow">{workflow_options}</select></label>'
        f'<label>Status<select name="status" multiple size="3">{status_options}</select></label>'
        '<label>Created from (UTC)<input type="datetime-local" name="createdFrom" '
        f'value="{esc(created_from)}"></label>'
        f'<label>Created to (UTC)<input type="datetime-local" name="createdTo" value="{esc(created_to)}">'
        "</label>"
        f'<label>Region<select name="region">{region_options}</select></label>'
        f'<label>Business id contains<input type="search" name="q" value="{esc(wanted.text)}" '
        'placeholder="order, dispute or request id"></label>'
        f'<label>Per page<input type="number" name="size" min="10" max="200" value="{size}"></label>'
        '<button class="primary" type="submit">Filter</button>'
        f'<a href="{links.to()}">reset</a></form>'
    )
    rows = "".join(_instance_row(context, row) for row in page.rows)
    table = (
        '<h2>Instance list</h2><table class="stack instances"><thead><tr><th>business id</th>'
        "<th>workflow</th><th>status</th><th>stage</th>"
        "<th>waiting for</th><th>region</th><th>created</th><th>age</th><th>last update</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if page.rows
        else '<p class="note">No instance matches these filters.</p>'
    )
    params = _filter_params(wanted, size, created_from, created_to)
    pager = ['<div class="pager">']
    if cursor_text:
        pager.append(f'<a href="{links.to(**params)}">« first page</a>')
    if page.next_cursor is not None:
        pager.append(
            f'<a rel="next" href="{links.to(**params, cursor=page.next_cursor.encode())}">next page »</a>'
        )
    pager.append(
        f'<span class="note">{len(page.rows)} shown, {page.scanned} read from the task hub</span></div>'
    )
    return layout(context, "Instances", filters + overview + table + "".join(pager))


def _filter_params(wanted: InstanceFilter, size: int, created_from: str, created_to: str) -> dict[str, Any]:
    return {
        "workflow": wanted.workflow,
        "status": list(wanted.statuses),
        "createdFrom": created_from,
        "createdTo": created_to,
        "region": wanted.region,
        "q": wanted.text,
        "size": str(size),
    }


def _instance_row(context: PageContext, row: InstanceRow) -> str:
    age = (
        span(between(row.created_time, context.now.isoformat()))
        if row.runtime_status in ACTIVE_STATUSES
        else ""
    )
    return (
        f'<tr><td data-label="business id"><a href="{context.links.instance(row.instance_id)}">'
        f"{esc(row.business_id)}</a></td>"
        f'<td data-label="workflow">{esc(row.workflow.title if row.workflow else row.name)}</td>'
        f'<td data-label="status">{status_badge(row.runtime_status)}</td>'
        f'<td data-label="stage">{esc(row.stage)}</td>'
        f'<td data-label="waiting for">{esc(row.waiting_for)}</td>'
        f'<td data-label="region">{esc(", ".join(row.regions))}</td>'
        f'<td data-label="created">{when(row.created_time)}</td><td data-label="age">{esc(age)}</td>'
        f'<td data-label="last update">{when(row.last_updated_time)}</td></tr>'
    )


# -- one instance -------------------------------------------------------------------------------------

OPERATOR_ACTIONS = {
    "suspend": (
        "Suspend",
        ("Running", "Pending"),
        "The instance stops processing until resumed; events and timers queue up.",
    ),
    "resume": (
        "Resume",
        ("Suspended",),
        "The instance continues with what queued up while it was suspended.",
    ),
    "terminate": (
        "Terminate",
        ("Running", "Pending", "Suspended"),
        "The instance ends now as Terminated. It cannot be resumed; compensations do not run.",
    ),
    "rewind": (
        "Rewind",
        ("Failed",),
        "The failed instance goes back to before the failure and retries the failed step.",
    ),
}


def available_actions(runtime_status: str) -> list[str]:
    """The operator actions that apply to an instance in this runtime status (never purge)."""
    return [name for name, (_, states, _) in OPERATOR_ACTIONS.items() if runtime_status in states]


@dataclass
class InstanceView:
    """What the instance page shows."""

    row: InstanceRow
    packet: dict[str, Any]
    decisions: list[PendingDecision]
    action_tokens: dict[str, str]
    decision_tokens: dict[str, str]
    status: Mapping[str, Any] | None = None  # status JSON with historyEvents, for the timeline
    children: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # sub-orchestrations' status
    redact: Callable[[Any], Any] | None = None  # for names shown in the timeline
    window: tuple[datetime, datetime] | None = None  # the timeline zoomed to [from, until]
    sealed: dict[str, Any] | None = None  # the sealed envelope, when the instance has one


def _evidence_links(links: Links, instance_id: str, sealed: dict[str, Any] | None) -> str:
    """Where the audit packet stands (sealed or not) and its downloads: packet, report, documents."""
    packet_link = links.to("instance/audit", id=instance_id, format="json")
    html_link = links.to("instance/audit", id=instance_id, format="html")
    pdf_link = links.to("instance/audit", id=instance_id, format="pdf")
    if sealed is not None:
        seal = sealed.get("seal") or {}
        state = (
            f"Sealed audit packet (SHA-256 <code>{esc(str(seal.get('digest', ''))[:16])}…</code>, "
            f"key <code>{esc(seal.get('keyId'))}</code>)"
        )
    else:
        state = "Audit packet not sealed yet (an interim snapshot until the case is sealed)"
    documents = []
    for document in ((sealed or {}).get("packet") or {}).get("documents") or []:
        file_name = f"{document.get('name')}.{document.get('format')}"
        href = links.to("instance/document", id=instance_id, name=file_name)
        label = f"{document.get('title')} ({str(document.get('format', '')).upper()})"
        documents.append(f'<a href="{href}" download>{esc(label)}</a>')
    extra = f"<br>Documents: {' · '.join(documents)}" if documents else ""
    return (
        f'<p>{state}: <a href="{packet_link}" download>JSON</a> · <a href="{html_link}" download>HTML '
        f'report</a> · <a href="{pdf_link}" download>PDF report</a>{extra}</p>'
    )


def instance_page(context: PageContext, view: InstanceView) -> str:
    """An instance: facts, why it stands where it stands, actions, decisions, timeline, audit downloads."""
    links = context.links
    row, packet = view.row, view.packet
    outcome = packet.get("outcome") or {}
    facts = [
        ("instance id", f"<code>{esc(row.instance_id)}</code>"),
        ("workflow", esc(row.workflow.title if row.workflow else row.name)),
        ("orchestrator", esc(row.name)),
        ("runtime status", status_badge(row.runtime_status)),
        ("stage", esc(row.stage) or '<span class="note">not set</span>'),
        ("waiting for", esc(row.waiting_for) or '<span class="note">nothing</span>'),
        ("region", esc(", ".join(row.regions)) or '<span class="note">none</span>'),
        ("created", when(row.created_time)),
        (
            "last update",
            f"{when(row.last_updated_time)} "
            f"({esc(span(between(row.last_updated_time, context.now.isoformat())))} ago)",
        ),
    ]
    body = ['<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>"]
    body.append(_diagnosis(row, packet))
    if view.status is not None:

        def zoom_link(window: tuple[datetime, datetime] | None) -> str:
            bounds = {"from": _iso(window[0]), "until": _iso(window[1])} if window else {}
            return links.to("instance", id=row.instance_id, **bounds, refresh=context.auto_refresh or "")

        body.append(
            timeline_section(
                view.status,
                context.now,
                children=view.children,
                redact=view.redact or _same,
                window=view.window,
                zoom_link=zoom_link,
            )
        )
    body.append(_evidence_links(links, row.instance_id, view.sealed))
    actions = available_actions(row.runtime_status)
    if actions and not context.can(Permission.OPERATE_INSTANCES):
        body.append(
            '<h2>Operator actions</h2><p class="note">Suspend, resume, terminate and rewind need the role '
            f"{esc(Role.OPERATIONS_OPERATOR.value)}.</p>"
        )
    elif actions:
        forms = "".join(
            f'<form method="post" action="{links.to("instance/action", id=row.instance_id)}">'
            f"{hidden('action', name)}{hidden('csrf', view.action_tokens[name])}"
            '<button type="submit" '
            f'class="{"danger" if name == "terminate" else ""}">{esc(OPERATOR_ACTIONS[name][0])}…</button>'
            "</form>"
            for name in actions
        )
        body.append(
            f'<h2>Operator actions</h2><div class="actions">{forms}</div>'
            '<p class="note">Each action asks for a reason and a confirmation first. Purge is not offered '
            "here.</p>"
        )
    if view.decisions:
        body.append(
            "<h2>Pending decisions</h2>" + decision_table(context, view.decisions, view.decision_tokens)
        )
    body.append("<h2>Custom status</h2>" + (pretty(row.custom_status) or '<p class="note">none set</p>'))
    if outcome.get("status") in ("Failed",) or outcome.get("failure"):
        body.append("<h2>Failure</h2>" + pretty(outcome.get("failure")))
    elif "output" in outcome:
        body.append("<h2>Output</h2>" + pretty(outcome.get("output")))
    elif outcome.get("reason"):
        body.append("<h2>Termination reason</h2>" + pretty(outcome.get("reason")))
    body.append(
        "<h2>Input</h2>" + (pretty(packet.get("instance", {}).get("input")) or '<p class="note">none</p>')
    )
    body.append(_activities(packet))
    body.append(_events_timers_children(context, packet))
    body.append(_timeline(packet))
    notes = "".join(f"<li>{esc(n)}</li>" for n in packet.get("notes") or [])
    if notes:
        body.append(f'<ul class="note">{notes}</ul>')
    return layout(
        context, f"{row.workflow.title if row.workflow else row.name} {row.business_id}", "".join(body)
    )


def _same(value: Any) -> Any:
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def timeline_window(start: str, end: str) -> tuple[datetime, datetime] | None:
    """The zoom of an instance's timeline from its `from`/`until` parameters, if both are sound."""
    first, last = parse_time(start), parse_time(end)
    return (first, last) if first and last and first < last else None


def _diagnosis(row: InstanceRow, packet: dict[str, Any]) -> str:
    """A plain-words reading of where the instance stands and what to do."""
    status = row.runtime_status
    failed_attempts = sum(
        1
        for a in packet.get("activities") or []
        for attempt in a.get("attempts") or []
        if attempt.get("outcome") == "failed"
    )
    lines: list[str] = []
    if status == "Failed":
        lines.append(
            "The orchestration failed (see Failure below). Fix the cause (a setting, a downstream system), "
            "then Rewind to retry the failed step."
        )
    elif status == "Suspended":
        lines.append("An operator suspended this instance: it processes nothing until resumed.")
    elif status == "Pending":
        lines.append(
            "Started but not yet picked up by the host: check that the app is running and the task hub's "
            "queues drain."
        )
    elif status == "Running" and row.waiting_for:
        lines.append(
            f"Waiting for the external event '{row.waiting_for}'. If it never arrives, someone holding the "
            "role for it takes it from Pending decisions (the workflow's own decision step, as that person) "
            "or the sender repeats it; the workflow's timers remind, escalate or expire it on their own."
        )
    elif status == "Running":
        lines.append(
            f"Working (stage '{row.stage or 'not set'}'). Activities still in flight are not listed by the "
            "status API; the last update time shows when it last made progress."
        )
    if failed_attempts:
        lines.append(
            f"{failed_attempts} failed activity attempt(s) so far: read the failure texts in Activities."
        )
    if not lines:
        return ""
    css = "error" if status == "Failed" else "warn"
    return f'<div class="{css}">' + "<br>".join(esc(line) for line in lines) + "</div>"


def table_section(title: str, headers: Iterable[str], rows: list[str], empty: str | None) -> str:
    """`<h2>title</h2>` over a scrolling table of `rows` (each a `<tr>`), or the `empty` note
    (nothing at all when `empty` is None) when there are no rows."""
    if not rows:
        return f'<h2>{title}</h2><p class="note">{empty}</p>' if empty is not None else ""
    head = "".join(f"<th>{header}</th>" for header in headers)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f"<h2>{title}</h2>" + scrolling(table, title)


def _activities(packet: dict[str, Any]) -> str:
    rows = []
    for activity in packet.get("activities") or []:
        attempts = activity.get("attempts") or []
        for attempt in attempts:
            duration = span(between(attempt.get("scheduledAt"), attempt.get("finishedAt")))
            detail = (
                attempt.get("result") if attempt.get("outcome") == "completed" else attempt.get("failure")
            )
            rows.append(
                f"<tr><td>{esc(activity.get('name'))}</td><td>{esc(attempt.get('attempt'))} of "
                f"{len(attempts)}</td>"
                f"<td>{when(attempt.get('scheduledAt'))}</td><td>{when(attempt.get('finishedAt'))}</td>"
                f"<td>{esc(duration)}</td><td "
                f'class="{esc(attempt.get("outcome"))}">{esc(attempt.get("outcome"))}</td>'
                f"<td>{pretty(detail)}</td></tr>"
            )
    headers = ("activity", "attempt", "scheduled", "finished", "duration", "outcome", "result / failure")
    return table_section("Activities", headers, rows, "No activity has finished yet.")


def _events_timers_children(context: PageContext, packet: dict[str, Any]) -> str:
    events = [
        f"<tr><td>{esc(e.get('name'))}</td><td>{when(e.get('receivedAt'))}</td>"
        f"<td>{_event_sender(e)}</td>"
        f"<td>{pretty(e.get('data'))}</td></tr>"
        for e in packet.get("events") or []
    ]
    timers = [
        f"<tr><td>{esc(t.get('purpose'))}</td><td>{when(t.get('createdAt'))}</td>"
        f"<td>{when(t.get('fireAt'))}</td>"
        f"<td>{when(t.get('firedAt')) or '<span class=note>not fired</span>'}</td></tr>"
        for t in packet.get("timers") or []
    ]
    children = [
        f"<tr><td>{esc(c.get('name'))}</td><td><a "
        f'href="{context.links.instance(str(c.get("instanceId") or ""))}">'
        f"{esc(c.get('instanceId'))}</a></td><td>{when(c.get('createdAt'))}</td>"
        f"<td>{when(c.get('finishedAt'))}</td>"
        f"<td>{esc(c.get('outcome'))}</td></tr>"
        for c in packet.get("subOrchestrations") or []
    ]
    return (
        table_section(
            "External events", ("event", "received", "by", "data"), events, "No external event received."
        )
        + table_section("Timers", ("purpose", "created", "due", "fired"), timers, "No durable timer.")
        + table_section(
            "Sub-orchestrations",
            ("orchestrator", "instance", "created", "finished", "outcome"),
            children,
            None,  # most instances have none: no heading then
        )
    )


def _timeline(packet: dict[str, Any]) -> str:
    lines = [
        f"<tr><td>{when(t.get('at'))}</td><td>{esc(t.get('kind'))}</td><td>{esc(t.get('summary'))}</td></tr>"
        for t in packet.get("timeline") or []
    ]
    return table_section("History timeline", ("time", "kind", "what"), lines, "No history yet.")


# -- pending decisions --------------------------------------------------------------------------------

DECISION_TITLES = {
    "maintenance_approval": "Maintenance approvals",
    "supervisor_decision": "Supervisor decisions (fare disputes)",
    "shelter_confirmation": "Missing shelter confirmations (relief)",
}


def decision_purpose(decision: PendingDecision) -> str:
    """The CSRF purpose of a decision form: kind, instance and subject."""
    return f"decide|{decision.kind}|{decision.row.instance_id}|{decision.shelter_id}"


def decision_table(context: PageContext, decisions: list[PendingDecision], tokens: Mapping[str, str]) -> str:
    """A table of pending decisions, each with its form (the form asks for confirmation next)."""
    rows = []
    for decision in decisions:
        row = decision.row
        clock = sla_clock_html(decision_clock(decision, context.now), chart_id("sc"))
        rows.append(
            f'<tr class="decision" id="{esc(_anchor(decision))}"><td data-label="business id"><a '
            f'href="{context.links.instance(row.instance_id)}">{esc(row.business_id)}</a>'
            f"{'<br>shelter ' + esc(decision.shelter_id) if decision.shelter_id else ''}</td>"
            f'<td data-label="SLA clock">{clock}</td>'
            f'<td data-label="status / stage">{status_badge(row.runtime_status)}<br>{esc(row.stage)}</td>'
            f'<td data-label="waiting since (last update)">{when(row.last_updated_time)}<br><span '
            f"class=note>{esc(span(between(row.last_updated_time, context.now.isoformat())))} ago</span></td>"
            f'<td data-label="detail">{esc(decision.detail)}</td>'
            f'<td data-label="decide">'
            f"{_decision_form(context, decision, tokens.get(decision_purpose(decision), ''))}</td></tr>"
        )
    return (
        '<table class="stack decisions"><thead><tr><th>business id</th><th>SLA clock (time left)</th>'
        "<th>status / stage</th><th>waiting since (last update)</th>"
        f"<th>detail</th><th>decide</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _event_sender(event: Mapping[str, Any]) -> str:
    """Who sent an event: the authenticated principal (name, id, role) when recorded, else the named one."""
    principal = event.get("principal")
    if isinstance(principal, Mapping) and principal.get("principalId"):
        role = f", {principal.get('role')}" if principal.get("role") else ""
        return (
            f"{esc(principal.get('name'))}<br><span class=note>principal {esc(principal.get('principalId'))}"
            f"{esc(role)}</span>"
        )
    return esc(event.get("by") or "")


def _anchor(decision: PendingDecision) -> str:
    return f"d-{decision.row.instance_id}-{decision.shelter_id}".rstrip("-")


def _decision_form(context: PageContext, decision: PendingDecision, token: str) -> str:
    row = decision.row
    refusal = context.viewer.refusal(decision) if context.viewer is not None else "sign in first"
    if refusal is not None:
        return f'<span class="note">{esc(refusal)}</span>'
    common = (
        f'<form method="post" action="{context.links.to("decide")}">'
        f"{hidden('kind', decision.kind)}{hidden('id', row.instance_id)}{hidden('csrf', token)}"
    )
    if decision.kind == "maintenance_approval":
        return (
            common + '<label>Comment<input name="comment" maxlength="2000"></label>'
            '<button class="primary" type="submit" name="decision" value="approve">Approve…</button>'
            '<button class="danger" type="submit" name="decision" value="reject">Reject…</button></form>'
        )
    if decision.kind == "supervisor_decision":
        return (
            common
            + hidden("currency", decision.currency)
            + f'<label>Partial refund ({esc(decision.currency or "amount")})<input name="refundAmount" '
            'inputmode="decimal" size="8"></label>'
            '<label>Note<input name="note" maxlength="2000"></label>'
            '<button class="primary" type="submit" name="decision" value="approve">Approve…</button>'
            '<button type="submit" name="decision" value="partial">Partial…</button>'
            '<button class="danger" type="submit" name="decision" value="reject">Reject…</button></form>'
        )
    return (
        common
        + hidden("shelterId", decision.shelter_id)
        + '<button class="primary" type="submit">Confirm receipt…</button></form>'
    )


def decisions_page(
    context: PageContext, decisions: list[PendingDecision], tokens: Mapping[str, str], limit: int, read: int
) -> str:
    """The queue of pending decisions, grouped by kind, soonest due first."""
    who = context.viewer.principal.name if context.viewer is not None else "the signed-in person"
    parts = [
        f'<p class="note">{len(decisions)} pending decision(s) among {read} running or suspended '
        "instance(s). "
        f"Decisions are taken as {esc(who)}: each form shows what will be recorded and asks for "
        "confirmation; the workflow's own decision step then checks it (the same as its API). Only the "
        "decisions your roles allow have a form.</p>",
        sla_overview(decisions, context.now),
    ]
    for kind, title in DECISION_TITLES.items():
        group = [d for d in decisions if d.kind == kind]
        parts.append(f"<h2>{esc(title)} ({len(group)})</h2>")
        if not group:
            parts.append('<p class="note">Nothing waits.</p>')
            continue
        parts.append(decision_table(context, group[:limit], tokens))
        if len(group) > limit:
            parts.append(f'<p class="note">Showing the {limit} soonest due of {len(group)}.</p>')
    return layout(context, "Pending decisions", "".join(parts))


# -- confirmation and error pages ---------------------------------------------------------------------


def confirm_page(  # noqa: PLR0917 (title, text, target, fields, button: each named at the call)
    context: PageContext,
    title: str,
    summary: str,
    action_url: str,
    fields: Mapping[str, str],
    button: str,
    danger: bool,
    details: Any = None,
    reason_field: bool = False,
) -> str:
    """A confirmation step: says exactly what will happen, re-posts the fields with `confirmed=yes`."""
    inputs = "".join(hidden(name, value) for name, value in fields.items())
    reason = (
        '<p><label>Reason (recorded in the instance history)<input name="reason" required maxlength="500" '
        'size="60"></label></p>'
        if reason_field
        else ""
    )
    body = (
        f'<div class="warn">{esc(summary)}</div>'
        + (f"<h2>Request body</h2>{pretty(details)}" if details is not None else "")
        + f'<form method="post" action="{action_url}">{inputs}{hidden("confirmed", "yes")}{reason}'
        f'<button type="submit" class="{"danger" if danger else "primary"}">{esc(button)}</button> '
        f'<a href="{context.links.instance(fields.get("id", ""))}">cancel</a></form>'
    )
    return layout(context, title, body)


def purged_instance_page(context: PageContext, instance_id: str, sealed: dict[str, Any]) -> str:
    """An instance whose history is gone (purged) but whose sealed audit packet remains."""
    body = (
        f'<div class="warn">No history of {esc(instance_id)} remains (it was purged). Its sealed audit '
        "packet, report and documents are kept in the audit container.</div>"
        + _evidence_links(context.links, instance_id, sealed)
    )
    return layout(context, f"Instance {instance_id} (purged)", body)


def message_page(context: PageContext, title: str, message: str, back: str | None = None) -> str:
    """An error or information page with a way back."""
    link = f'<p><a href="{back}">back</a></p>' if back else ""
    return layout(context, title, f'<div class="error">{esc(message)}</div>{link}')
