# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""HTTP functions of the operations console (route prefix `api`).

Who may see and do what comes from the signed-in principal (App Service Authentication, the
`X-MS-CLIENT-PRINCIPAL` headers) and its app roles (identity.roles); no page takes a function key,
and no link or form carries a credential.

- `GET console` (`Operations.Reader`/`Operator`): instances, filtered (workflow, status, created
  time, region, business id text) and paged through the management API.
- `GET console/instance?id=` (same): one instance: where it stands and why, custom status,
  input/output, activities with attempts and durations, events (with the principal who sent them),
  timers, sub-orchestrations, the history timeline, operator actions and pending decisions; for a
  purged instance, its sealed audit packet.
- `GET console/instance/audit?id=&format=json|html|pdf` (same): the sealed audit packet (or a marked
  interim snapshot) as JSON, or its report as HTML or PDF, as a download (the workflow's evidence).
- `GET console/instance/document?id=&name=` (same): a business document sealed with the packet.
- `GET console/decisions` (any role that decides, and the operations roles): pending human
  decisions; a form only where the viewer may decide (role, maker-checker, assigned shelter).
- `POST console/decide`: a decision form → confirmation page → (`confirmed=yes`) the workflow's own
  decision step, in process, as the signed-in principal (console.decisions); 303 back.
- `POST console/instance/action?id=` (`Operations.Operator`): suspend, resume, terminate or rewind →
  confirmation page with a reason → (`confirmed=yes`) the SDK client call, with the principal in
  the reason recorded in history and in the log; 303 back. Purge is deliberately absent.

401 (a page with the sign-in link) without a principal, 403 naming the role needed. Every POST
needs the CSRF cookie and a token for exactly that action and instance (console.csrf).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ParamSpec
from urllib.parse import parse_qsl, quote, urlsplit

import azure.durable_functions as df
import azure.functions as func

from api.audit import REPORT_FORMATS, document_response, packet_response, report_response
from api.errors import ApiError
from audit_packets import (
    STYLE_SHA256,
    Evidence,
    current_evidence,
    packet_from_history,
    packet_redactor,
)
from audit_packets.sealed_store import SealedStore
from audit_packets.service import sealed_for
from console import csrf
from console.catalogue import known_regions
from console.decisions import DecisionFormError, Viewer, decision_from_form, pending_decisions, take_decision
from console.management import (
    Cursor,
    InstanceFilter,
    ManagementApi,
    ManagementError,
    parse_statuses,
    row_from_status,
)
from console.overview import RELIEF_WORKFLOW, Overview, overview_section
from console.pages import (
    OPERATOR_ACTIONS,
    InstanceView,
    Links,
    PageContext,
    auto_refresh_seconds,
    available_actions,
    confirm_page,
    decision_purpose,
    decisions_page,
    instance_page,
    instances_page,
    message_page,
    purged_instance_page,
    security_headers,
    sign_in_page,
    timeline_window,
)
from console.timeline import sub_orchestration_ids
from durable_wire import ACTIVE_STATUSES, INSTANCE_ID
from evidence import profile_for
from identity import (
    AccessDenied,
    Actor,
    AuthenticationRequired,
    IdentityError,
    Permission,
    Principal,
    Role,
    assignments_from_settings,
    principal_from_headers,
)
from telemetry import activity_log, configure_telemetry
from workflow_catalogue import WORKFLOWS, workflow_of

bp = df.Blueprint()

WORKFLOW = "console"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
DECISIONS_SHOWN_PER_KIND = 100
OVERVIEW_MAX_ROWS = 5_000  # instances the list's overview counts at most (API pages of 200)
MAX_NESTED_CHILDREN = 20  # sub-orchestrations read to nest in an instance's timeline
P = ParamSpec("P")
Handler = Callable[P, Awaitable[func.HttpResponse]]


# -- request context ----------------------------------------------------------------------------------


class Session:
    """One request's view of the console: who is signed in, links (paths only), the CSRF secret.

    Links are paths on the console's own base path: nothing is built from the `Host` header, and no
    credential ever goes into a link or form (the session is Easy Auth's cookie).
    """

    def __init__(self, req: func.HttpRequest, client: df.DurableOrchestrationClient | None = None) -> None:
        self.req = req
        parts = urlsplit(req.url)
        path = parts.path
        marker = path.find("/console")
        base = path[: marker + len("/console")] if marker >= 0 else "/api/console"
        self.return_to = path + (f"?{parts.query}" if parts.query and req.method == "GET" else "")
        self.links = Links(base)
        self.secure = parts.scheme == "https"
        self.secret = csrf.cookie_secret(req.headers)
        self.new_secret = self.secret is None
        if self.secret is None:
            self.secret = csrf.new_secret()
        hub = client._orchestration_bindings.task_hub_name if client is not None else ""
        self.context = PageContext(self.links, hub=str(hub or ""), notice=req.params.get("notice", "")[:300])
        self.principal: Principal | None = None

    @classmethod
    def requiring(
        cls, permission: Permission, req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> Session:
        """The request's session once its signed-in principal holds `permission` (401 / 403 otherwise)."""
        session = cls(req, client)
        session.require(permission)
        return session

    def sign_in(self) -> Principal:
        """The signed-in principal (`AuthenticationRequired` otherwise); the pages show who it is."""
        if self.principal is None:
            self.principal = principal_from_headers(self.req.headers)
            shelters = (
                assignments_from_settings().shelters_of(self.principal.principal_id)
                if self.principal.has_role(Role.RELIEF_SHELTER_STAFF)
                else frozenset()
            )
            self.context.viewer = Viewer(self.principal, shelters)
        return self.principal

    def require(self, permission: Permission) -> Actor:
        """The signed-in principal acting with `permission`: 401 / 403 (naming the role) otherwise."""
        return self.sign_in().authorize(permission)

    def watch(self, path: str, params: dict[str, Any], host_now: datetime) -> None:
        """A page that shows live data: its time is the task hub's, it offers refresh and auto-refresh."""
        self.context.now = host_now
        self.context.view = (path, params)
        self.context.auto_refresh = auto_refresh_seconds(self.req.params.get("refresh", ""))

    def token(self, purpose: str) -> str:
        """The CSRF token of a form for `purpose`."""
        assert self.secret is not None
        return csrf.form_token(self.secret, purpose)

    def html(self, page: str, status_code: int = 200) -> func.HttpResponse:
        """An HTML response with the console's security headers (and the CSRF cookie when new)."""
        headers = security_headers()
        if self.new_secret and self.secret:
            headers["Set-Cookie"] = csrf.set_cookie_header(self.secret, self.secure)
        return func.HttpResponse(
            page, status_code=status_code, headers=headers, mimetype="text/html", charset="utf-8"
        )

    def redirect(self, location: str) -> func.HttpResponse:
        """303 See Other (after a POST)."""
        headers = security_headers()
        headers["Location"] = location
        return func.HttpResponse("", status_code=303, headers=headers)

    def form(self) -> dict[str, str]:
        """The posted form (application/x-www-form-urlencoded); the last value of a repeated field."""
        body = self.req.get_body() or b""
        return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))

    def instance_url(self, instance_id: str, notice: str = "") -> str:
        """Path of the page to return to after acting on an instance (not HTML-escaped: a Location).

        The instance page for those who may read it, else the decision queue.
        """
        readable = self.context.can(Permission.READ_OPERATIONS)
        page, params = ("instance", [("id", instance_id)]) if readable else ("decisions", [])
        if notice:
            params.append(("notice", notice))
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
        return f"{self.links.base}/{page}?{query}"

    def back_link(self, instance_id: str) -> str:
        """A link back from a message: the instance page, or the decision queue for deciders."""
        if self.context.can(Permission.READ_OPERATIONS):
            return self.links.instance(instance_id)
        return self.links.to("decisions")


def console_errors(handler: Handler[P]) -> Handler[P]:
    """Turn failures into an HTML error page (500 with a generic text; the traceback is logged)."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> func.HttpResponse:
        try:
            return await handler(*args, **kwargs)
        except AuthenticationRequired as error:
            session = Session(_request_of(args, kwargs))
            return session.html(sign_in_page(session.context, str(error), session.return_to), 401)
        except AccessDenied as error:
            session = Session(_request_of(args, kwargs))
            with contextlib.suppress(IdentityError):
                session.sign_in()
            page = message_page(session.context, "Not allowed", str(error))
            return session.html(page, 403)
        except csrf.CsrfError as error:
            session = Session(_request_of(args, kwargs))
            page = message_page(session.context, "Form refused", str(error), session.links.to())
            return session.html(page, 403)
        except ManagementError as error:
            configure_telemetry().warning("console: management API: %s", error)
            session = Session(_request_of(args, kwargs))
            return session.html(message_page(session.context, "Task hub unavailable", str(error)), 502)
        except Exception:
            configure_telemetry().exception("unhandled error in console function %s", handler.__name__)
            session = Session(_request_of(args, kwargs))
            page = message_page(session.context, "Console error", "internal error (logged)")
            return session.html(page, 500)

    return wrapper


def console_route(route: str, method: str) -> Callable[[Handler[P]], Any]:
    """Register a console function `(req, client)` as `method route` (auth level FUNCTION, like every
    console function), with the Durable client and `console_errors`."""

    def register(handler: Handler[P]) -> Any:
        routed = bp.route(route=route, methods=[method], auth_level=func.AuthLevel.FUNCTION)
        return routed(bp.durable_client_input(client_name="client")(console_errors(handler)))

    return register


# -- pages --------------------------------------------------------------------------------------------


@console_route("console", "GET")
async def console_instances(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """The instance list."""
    session = Session.requiring(Permission.READ_OPERATIONS, req, client)
    created_from, created_to = req.params.get("createdFrom", ""), req.params.get("createdTo", "")
    statuses = parse_statuses(_all_values(req, "status"))
    wanted = InstanceFilter(
        workflow=req.params.get("workflow", "").strip(),
        statuses=statuses,
        created_from=_form_time(created_from),
        created_to=_form_time(created_to),
        region=req.params.get("region", "").strip(),
        text=req.params.get("q", "").strip()[:100],
    )
    size = _page_size(req.params.get("size", ""))
    cursor_text = req.params.get("cursor", "")
    api = ManagementApi(client)
    page = await api.instances(wanted, Cursor.decode(cursor_text), size)
    counted, truncated = await api.scan(wanted, OVERVIEW_MAX_ROWS)
    session.watch(
        "",
        {**_list_params(req), "cursor": cursor_text},
        api.host_now(),
    )
    overview = overview_section(
        Overview(counted, truncated, wanted.created_from, wanted.created_to, session.context.now),
        workflow_link=lambda name: session.links.to(**{**_list_params(req), "workflow": name}),
        instance_link=session.links.instance,
        show_relief=wanted.workflow in ("", RELIEF_WORKFLOW),
    )
    html = instances_page(
        session.context, page, wanted, known_regions(), size, cursor_text, created_from, created_to, overview
    )
    return session.html(html)


@console_route("console/instance", "GET")
async def console_instance(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """One instance."""
    session = Session.requiring(Permission.READ_OPERATIONS, req, client)
    instance_id = req.params.get("id", "")
    api = ManagementApi(client)
    data = await api.instance_status(instance_id) if instance_id else None
    if data is None:
        kept = (
            await asyncio.to_thread(sealed_for, SealedStore.from_settings(), instance_id, None)
            if instance_id
            else None
        )
        if kept is not None:
            return session.html(purged_instance_page(session.context, instance_id, json.loads(kept.content)))
        return session.html(
            message_page(
                session.context,
                "Unknown instance",
                f"No instance with id {instance_id!r}.",
                session.links.to(),
            ),
            404,
        )
    children = {}
    for child_id in sub_orchestration_ids(data)[:MAX_NESTED_CHILDREN]:
        child = await api.instance_status(child_id)
        if child is not None:
            children[child_id] = child
    zoom = {"from": req.params.get("from", ""), "until": req.params.get("until", "")}
    session.watch("instance", {"id": instance_id, **zoom}, api.host_now())
    row = row_from_status(data)
    packet = packet_from_history(data, packet_redactor())
    sealed = await asyncio.to_thread(sealed_for, SealedStore.from_settings(), instance_id, data)
    decisions = pending_decisions([row]) if row.runtime_status in ACTIVE_STATUSES else []
    view = InstanceView(
        row=row,
        packet=packet,
        decisions=decisions,
        action_tokens={
            name: session.token(_action_purpose(name, instance_id))
            for name in available_actions(row.runtime_status)
        },
        decision_tokens={decision_purpose(d): session.token(decision_purpose(d)) for d in decisions},
        status=data,
        children=children,
        redact=packet_redactor(),
        window=timeline_window(req.params.get("from", ""), req.params.get("until", "")),
        sealed=json.loads(sealed.content) if sealed is not None else None,
    )
    return session.html(instance_page(session.context, view))


@console_route("console/instance/audit", "GET")
async def console_instance_audit(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """The audit packet (`format=json`, the sealed bytes or a marked interim snapshot) or its report
    (`format=html` or `pdf`), as a download; the same evidence the workflow's own routes serve."""
    session = Session.requiring(Permission.READ_OPERATIONS, req, client)
    instance_id = req.params.get("id", "")
    evidence = await _evidence(client, instance_id)
    if evidence is None:
        return session.html(
            message_page(session.context, "Unknown instance", f"No instance with id {instance_id!r}."), 404
        )
    report_format = req.params.get("format", "json")
    if report_format in REPORT_FORMATS:
        response = report_response(evidence, report_format)
    else:
        response = packet_response(evidence)
    return _as_download(
        response, evidence, "audit-report" if report_format in REPORT_FORMATS else "audit-packet"
    )


@console_route("console/instance/document", "GET")
async def console_instance_document(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """A business document sealed with the packet (`name=release-certificate.pdf`), as a download."""
    session = Session.requiring(Permission.READ_OPERATIONS, req, client)  # as the audit download beside it
    instance_id = req.params.get("id", "")
    evidence = await _evidence(client, instance_id)
    if evidence is None:
        return session.html(
            message_page(session.context, "Unknown instance", f"No instance with id {instance_id!r}."), 404
        )
    try:
        response = document_response(evidence, req.params.get("name", ""))
    except ApiError as error:
        return session.html(message_page(session.context, "No such document", str(error)), error.status_code)
    return _as_download(response, evidence, "document")


async def _evidence(client: df.DurableOrchestrationClient, instance_id: str) -> Evidence | None:
    if not INSTANCE_ID.fullmatch(instance_id):
        return None  # no instance has it: the API could not address it
    return await current_evidence(client, instance_id, profile_for(instance_id))


def _as_download(response: func.HttpResponse, evidence: Evidence, stem: str) -> func.HttpResponse:
    """The response with the console's headers and a download file name (the style hash kept for HTML)."""
    headers = security_headers((STYLE_SHA256,))
    for name in (
        "Audit-Packet-Sealed",
        "Audit-Packet-Version",
        "Audit-Packet-Digest",
        "Audit-Packet-Verification",
    ):
        if name in response.headers:
            headers[name] = response.headers[name]
    disposition = response.headers.get("Content-Disposition")
    if not disposition:
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in evidence.instance_id)
        disposition = f'attachment; filename="{stem}-{safe}.json"'
    headers["Content-Disposition"] = disposition.replace("inline;", "attachment;")
    return func.HttpResponse(
        response.get_body(), status_code=response.status_code, headers=headers, mimetype=response.mimetype
    )


@console_route("console/decisions", "GET")
async def console_decisions(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """The queue of pending human decisions."""
    session = Session.requiring(Permission.VIEW_DECISION_QUEUE, req, client)
    api = ManagementApi(client)
    rows = []
    for workflow in WORKFLOWS:
        # Inputs name who started each case (maker-checker) and a dispute's currency.
        wanted = InstanceFilter(workflow=workflow.name, statuses=("Running", "Suspended"), with_input=True)
        rows += await api.all_instances(wanted)
    decisions = pending_decisions(rows)
    session.watch("decisions", {}, api.host_now())
    tokens = {decision_purpose(d): session.token(decision_purpose(d)) for d in decisions}
    return session.html(
        decisions_page(session.context, decisions, tokens, DECISIONS_SHOWN_PER_KIND, len(rows))
    )


# -- actions ------------------------------------------------------------------------------------------


@console_route("console/decide", "POST")
async def console_decide(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A decision: checked, confirmed by the signed-in person, then taken by the workflow's own step."""
    session = Session(req, client)
    principal = session.sign_in()
    form = session.form()
    kind, instance_id, shelter_id = form.get("kind", ""), form.get("id", ""), form.get("shelterId", "")
    purpose = f"decide|{kind}|{instance_id}|{shelter_id if kind == 'shelter_confirmation' else ''}"
    csrf.check(req.headers, req.url, form.get("csrf", ""), purpose)
    workflow = workflow_of(instance_id)
    if workflow is None:
        return session.html(
            message_page(session.context, "Decision refused", f"{instance_id!r} is not a workflow instance."),
            400,
        )
    back = session.back_link(instance_id)
    try:
        decision = decision_from_form(
            kind, instance_id, workflow.business_id(instance_id), form, principal.name
        )
    except DecisionFormError as error:
        return session.html(
            message_page(session.context, "Decision not sent", f"{error.field}: {error}", back), 400
        )
    actor = principal.authorize(decision.permission)
    if form.get("confirmed") != "yes":
        fields = {k: v for k, v in form.items() if k not in ("confirmed",)}
        page = confirm_page(
            session.context,
            "Confirm the decision",
            f"{decision.summary}. It is recorded with your principal ({actor.describe()}) and cannot be "
            "taken back.",
            session.links.to("decide"),
            fields,
            "Send decision",
            danger=decision.body.get("approved") is False or decision.body.get("decision") == "reject",
            details=decision.body,
        )
        return session.html(page)
    journal = activity_log(WORKFLOW, "decide", instance_id).bind(
        principal_id=actor.principal_id, principal_name=actor.name, role=actor.role or ""
    )
    try:
        await take_decision(client, decision, actor)
    except (ApiError, IdentityError) as error:
        journal.warning("decision refused by the workflow", kind=kind, status=str(error.status_code))
        message = f"The workflow refused the decision ({error.status_code}): {_reason(error)}"
        return session.html(
            message_page(session.context, "Decision not accepted", message, back), error.status_code
        )
    journal.info("decision recorded", kind=kind)
    return session.redirect(session.instance_url(instance_id, f"Sent: {decision.summary}."))


@console_route("console/instance/action", "POST")
async def console_instance_action(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Suspend, resume, terminate or rewind one instance, after a confirmation with a reason."""
    session = Session(req, client)
    actor = session.require(Permission.OPERATE_INSTANCES)
    form = session.form()
    instance_id = req.params.get("id", "") or form.get("id", "")
    action = form.get("action", "")
    csrf.check(req.headers, req.url, form.get("csrf", ""), _action_purpose(action, instance_id))
    # The SDK puts the id into its URLs unencoded: check it before `x#` could reach instance `x`.
    known = INSTANCE_ID.fullmatch(instance_id) is not None
    status = await client.get_status(instance_id, show_input=False) if known else None
    if status is None or status.runtime_status is None:
        return session.html(
            message_page(session.context, "Unknown instance", f"No instance with id {instance_id!r}."), 404
        )
    state = status.runtime_status.value
    back = session.links.instance(instance_id)
    if action not in OPERATOR_ACTIONS or action not in available_actions(state):
        message = f"{action or 'no action'} does not apply to an instance that is {state}."
        return session.html(message_page(session.context, "Action refused", message, back), 409)
    label, _, effect = OPERATOR_ACTIONS[action]
    reason = form.get("reason", "").strip()[:500]
    if form.get("confirmed") != "yes" or not reason:
        page = confirm_page(
            session.context,
            f"{label} {instance_id}?",
            f"{label} instance {instance_id} (now {state}). {effect}",
            session.links.to("instance/action", id=instance_id),
            {"id": instance_id, "action": action, "csrf": form.get("csrf", "")},
            label,
            danger=action == "terminate",
            reason_field=True,
        )
        return session.html(page)
    operation: Mapping[str, Callable[[str, str], Awaitable[Any]]] = {
        "suspend": client.suspend,
        "resume": client.resume,
        "terminate": client.terminate,
        "rewind": client.rewind,
    }
    # The reason is what the management API records in history: it names who acted, not just why.
    await operation[action](instance_id, f"console: {reason} (by {actor.describe()})")
    activity_log(WORKFLOW, action, instance_id).bind(
        principal_id=actor.principal_id, principal_name=actor.name, role=actor.role or ""
    ).info("operator action", action=action, reason=reason)
    return session.redirect(session.instance_url(instance_id, f"{label} requested: {reason}"))


# -- helpers ------------------------------------------------------------------------------------------


def _request_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> func.HttpRequest:
    """The HTTP request among a function's arguments (the binding is named `req`)."""
    found = kwargs.get("req", args[0] if args else None)
    if not isinstance(found, func.HttpRequest):
        raise TypeError("console functions take the HTTP request as `req`")
    return found


def _reason(error: ApiError | IdentityError) -> str:
    """An error's message, naming the field or the roles when the answer did."""
    body = error.body()
    field = body.get("field")
    text = str(body.get("error") or error)
    return f"{field}: {text}" if field else text


def _action_purpose(action: str, instance_id: str) -> str:
    return f"action|{action}|{instance_id}"


def _all_values(req: func.HttpRequest, name: str) -> list[str]:
    """Every value of a repeated query parameter (`status=Running&status=Failed`)."""
    query = urlsplit(req.url).query
    values = [value for key, value in parse_qsl(query) if key == name]
    single = req.params.get(name)
    return values or ([single] if single else [])


def _form_time(text: str) -> datetime | None:
    """A `datetime-local` value (taken as UTC), or None."""
    if not text.strip():
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _list_params(req: func.HttpRequest) -> dict[str, Any]:
    """The list's filter parameters as the request gave them (for links that keep the filters)."""
    return {
        "workflow": req.params.get("workflow", ""),
        "status": _all_values(req, "status"),
        "createdFrom": req.params.get("createdFrom", ""),
        "createdTo": req.params.get("createdTo", ""),
        "region": req.params.get("region", ""),
        "q": req.params.get("q", ""),
        "size": req.params.get("size", ""),
    }


def _page_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return max(10, min(MAX_PAGE_SIZE, value))
