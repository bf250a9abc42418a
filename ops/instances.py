"""`python -m ops instances ...`: read and manage orchestration instances through the management API.

Read-only subcommands: list (alias query), status, history. Mutating subcommands (raise-event,
suspend, resume, terminate, rewind, restart, purge) read the instance first, print their plan and
ask for confirmation unless --yes; restart and purge refuse an instance that is still running
unless --force, and purge refuses an instance whose audit packet is not sealed (it asks the app,
`GET /api/audit/packets/{id}`; seal it with `python -m ops audit seal`) unless --without-audit-packet.
Works against the devhost (default http://127.0.0.1:7071) or an Azure app
($DURABLETASK_EXTENSION_KEY: the durabletask_extension system key, sent as a header; a key on the
command line is refused).

Exit codes: 0 ok, 1 the operation failed (unreachable host, unknown id, refused), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from durable_wire import ACTIVE_STATUSES, RUNTIME_STATUSES, TERMINAL_STATUSES
from ops import durable_client
from ops.app_client import AppClient, WorkflowClientError
from ops.audit.cli import sealed_packet_bytes
from ops.command_line import SubParsers, add_command, add_json_option, comma_separated
from ops.durable_client import (
    DurableClient,
    OpsError,
    add_refused_key_option,
    default_base_url,
    refused_key_given,
)
from ops.sign_in import TOKEN_ENV, token_from_args

SUMMARY = "list, inspect and manage orchestration instances (management API)"
Confirm = Callable[[str], bool]

# The management API client for --base-url/--token; `ops audit` shares it, so it lives in
# ops.durable_client, and this name stays for the callers that import it from here.
client_from_args = durable_client.client_from_args


class UsageError(Exception):
    """Bad arguments: exit code 2."""


def prompt(question: str) -> bool:
    """Ask on the terminal; anything but y/yes is a no."""
    if not sys.stdin.isatty():
        raise UsageError(f"{question} needs confirmation but stdin is not a terminal; pass --yes")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def _iso(value: str, option: str) -> str:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise UsageError(f"{option} {value!r} is not an ISO-8601 time (e.g. 2024-05-01T12:00:00Z)") from error
    return value


def _statuses(statuses: list[str] | None) -> list[str]:
    statuses = statuses or []
    unknown = [s for s in statuses if s not in RUNTIME_STATUSES]
    if unknown:
        raise UsageError(f"--status {', '.join(unknown)} is not one of {', '.join(RUNTIME_STATUSES)}")
    return statuses


def _table(rows: list[list[str]], out: TextIO) -> None:
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out
        )


def _emit(args: argparse.Namespace, document: Any, text: Callable[[TextIO], None]) -> None:
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        text(sys.stdout)


# -- read-only --------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, client: DurableClient) -> int:
    """List instances matching the filters."""
    created_from = _iso(args.created_from, "--created-from") if args.created_from else None
    created_to = _iso(args.created_to, "--created-to") if args.created_to else None
    instances = client.query(
        statuses=_statuses(args.status),
        created_from=created_from,
        created_to=created_to,
        prefix=args.prefix,
        top=args.top,
        all_pages=args.all,
        show_input=args.show_input,
    )

    def text(out: TextIO) -> None:
        rows = [["INSTANCE", "NAME", "STATUS", "CREATED", "UPDATED"]]
        rows += [
            [
                str(i.get("instanceId")),
                str(i.get("name")),
                str(i.get("runtimeStatus")),
                str(i.get("createdTime")),
                str(i.get("lastUpdatedTime")),
            ]
            for i in instances
        ]
        _table(rows, out)
        more = "" if args.all else " (first page; --all for every page)"
        print(
            f"{len(instances)} instance(s){more if args.top and len(instances) >= args.top else ''}", file=out
        )

    _emit(args, {"count": len(instances), "instances": instances}, text)
    return 0


def cmd_status(args: argparse.Namespace, client: DurableClient) -> int:
    """Show one instance's status."""
    status = client.status(args.instance_id, show_input=True)

    def text(out: TextIO) -> None:
        for key in ("instanceId", "name", "runtimeStatus", "createdTime", "lastUpdatedTime"):
            print(f"{key + ':':<17}{status.get(key)}", file=out)
        for key in ("input", "customStatus", "output"):
            print(f"{key + ':':<17}{json.dumps(status.get(key), ensure_ascii=False)}", file=out)

    _emit(args, status, text)
    return 0


def cmd_history(args: argparse.Namespace, client: DurableClient) -> int:
    """Show one instance's history (the status API's historyEvents)."""
    status = client.status(args.instance_id, show_history=True, show_history_output=args.output)
    events: list[dict[str, Any]] = list(status.get("historyEvents") or [])

    def text(out: TextIO) -> None:
        rows = [["TIMESTAMP", "EVENT", "NAME", "DETAIL"]]
        for event in events:
            name = event.get("FunctionName") or event.get("Name") or ""
            detail = ""
            if "Result" in event:
                detail = json.dumps(event["Result"], ensure_ascii=False)[:80]
            elif event.get("Reason"):
                detail = str(event["Reason"])[:80]
            elif event.get("FireAt"):
                detail = f"fires {event['FireAt']}"
            rows.append([str(event.get("Timestamp")), str(event.get("EventType")), str(name), detail])
        _table(rows, out)

    _emit(
        args,
        {
            "instanceId": args.instance_id,
            "runtimeStatus": status.get("runtimeStatus"),
            "historyEvents": events,
        },
        text,
    )
    return 0


# -- mutating ---------------------------------------------------------------------------------


def _plan(args: argparse.Namespace, message: str) -> None:
    """The plan goes to stdout, unless stdout carries the --json document."""
    print(message, file=sys.stderr if args.json else sys.stdout)


def _done(args: argparse.Namespace, operation: str, status: dict[str, Any], result: Any, message: str) -> int:
    _emit(
        args,
        {
            "ok": True,
            "operation": operation,
            "instanceId": args.instance_id,
            "previousStatus": status.get("runtimeStatus"),
            "result": result,
        },
        lambda out: print(message, file=out),
    )
    return 0


def mutate(args: argparse.Namespace, client: DurableClient, confirm: Confirm) -> int:
    """Every mutating subcommand: read the instance, refuse or plan, confirm, act."""
    operation: str = args.operation
    status = client.status(args.instance_id, show_input=False)
    current = str(status.get("runtimeStatus"))
    who = f"instance '{args.instance_id}' ({status.get('name')}, {current})"
    data: Any = None
    if operation in ("terminate", "suspend") and current in TERMINAL_STATUSES:
        return _done(args, operation, status, "nothing to do", f"{who} has finished; nothing to {operation}.")
    if operation == "suspend" and current == "Suspended":
        return _done(args, operation, status, "nothing to do", f"{who} is already suspended; nothing to do.")
    if operation == "resume" and current != "Suspended":
        return _done(args, operation, status, "nothing to do", f"{who} is not suspended; nothing to resume.")
    if operation == "rewind" and current != "Failed":
        raise OpsError(f"{who}: rewind applies to Failed instances only")
    if operation == "raise-event":
        if current in TERMINAL_STATUSES:
            raise OpsError(f"{who} has finished; it no longer accepts events")
        try:
            data = json.loads(args.data) if args.data is not None else None
        except ValueError as error:
            raise UsageError(f"--data is not valid JSON: {error}") from error
    if operation in ("restart", "purge") and current in ACTIVE_STATUSES and not args.force:
        consequence = (
            "a restart starts another run of it while this one continues"
            if operation == "restart"
            else "purging deletes the history of a run that is still in flight"
        )
        raise OpsError(f"{who} is still active: {consequence}. Terminate it first, or pass --force.")
    sealed_note = ""
    if operation == "purge":
        sealed_note = _sealed_packet_note(args, who)
    plans = {
        "raise-event": f"raise event '{args.event_name if operation == 'raise-event' else ''}' "
        f"with data {json.dumps(data)} on {who}",
        "suspend": f"suspend {who}",
        "resume": f"resume {who}",
        "terminate": f"terminate {who}",
        "rewind": f"rewind {who} to retry its failed work",
        "restart": f"restart {who} with its original input under "
        + ("the same id" if getattr(args, "same_id", False) else "a new id"),
        "purge": f"purge {who}: delete its status and history for good{sealed_note}",
    }
    plan = plans[operation] + (f" (reason: {args.reason})" if getattr(args, "reason", None) else "")
    _plan(args, f"Plan: {plan} on {client.base_url}")
    if not args.yes and not confirm("Proceed?"):
        print("Aborted; nothing was changed.", file=sys.stderr)
        return 1
    reason = getattr(args, "reason", None) or "by python -m ops instances"
    if operation == "raise-event":
        client.raise_event(args.instance_id, args.event_name, data)
        return _done(
            args, operation, status, "accepted", f"Raised '{args.event_name}' on {args.instance_id}."
        )
    if operation in ("suspend", "resume", "terminate", "rewind"):
        code = client.control(args.instance_id, operation, reason)
        result = "already finished" if code == 410 else "accepted"
        return _done(
            args, operation, status, result, f"{operation.capitalize()} {result} for {args.instance_id}."
        )
    if operation == "restart":
        body = client.restart(args.instance_id, new_instance_id=not args.same_id)
        new_id = body.get("id", args.instance_id)
        return _done(args, operation, status, body, f"Restarted {args.instance_id} as {new_id}.")
    deleted = client.purge(args.instance_id)
    return _done(
        args,
        operation,
        status,
        {"instancesDeleted": deleted},
        f"Purged {args.instance_id} ({deleted} deleted).",
    )


def _sealed_packet_note(args: argparse.Namespace, who: str) -> str:
    """What happens to the instance's evidence on a purge; OpsError when it has no sealed packet.

    The sealed packet lives in the audit container, which a purge does not touch; an instance
    without one would lose its only record, so it is refused unless --without-audit-packet.
    """
    if args.without_audit_packet:
        return " (no sealed audit packet is checked for: --without-audit-packet)"
    # The same principal reads the packet (Operations.Reader or Operator) as purges (Operator).
    app = AppClient(args.base_url, token=token_from_args(args))
    try:
        content, why = sealed_packet_bytes(app, args.instance_id)
    except WorkflowClientError as error:
        raise OpsError(f"cannot check the sealed audit packet of {who}: {error}") from error
    if content is None:
        raise OpsError(
            f"{who} has no sealed audit packet ({why}); purging would lose its evidence. Seal it first: "
            f"python -m ops audit seal {args.instance_id} --reason '...' (or pass --without-audit-packet "
            "to purge it without one)"
        )
    digest = str(json.loads(content).get("seal", {}).get("digest", ""))
    return f"; its sealed audit packet (SHA-256 {digest[:16]}…) stays in the audit container"


def run(args: argparse.Namespace, confirm: Confirm | None = None) -> int:
    """Entry point of `python -m ops instances ...`."""
    if getattr(args, "action", None) is None:
        print("Error: choose a subcommand: python -m ops instances --help", file=sys.stderr)
        return 2
    if refused_key_given(args):
        return 2
    client = client_from_args(args)
    try:
        if args.action in ("list", "query"):
            return cmd_list(args, client)
        if args.action == "status":
            return cmd_status(args, client)
        if args.action == "history":
            return cmd_history(args, client)
        return mutate(args, client, confirm or prompt)
    except UsageError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    except OpsError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", default=default_base_url(), help="host URL (default: $OPS_BASE_URL or %(default)s)"
    )
    add_refused_key_option(parser)
    parser.add_argument(
        "--token",
        help=f"bearer token for App Service Authentication (default: ${TOKEN_ENV}): an Entra ID token on "
        "Azure, `python -m ops sign-in` on the devhost with --easy-auth",
    )
    add_json_option(parser)


def _mutating(parser: argparse.ArgumentParser, operation: str) -> None:
    _common(parser)
    parser.add_argument("instance_id", metavar="INSTANCE_ID", help="instance id")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(operation=operation)


def register(subparsers: SubParsers) -> None:
    """Add the `instances` subcommand and its subcommands."""
    parser = add_command(subparsers, "instances", SUMMARY, __doc__, run)
    parser.set_defaults(action=None)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    for name in ("list", "query"):
        listing = actions.add_parser(name, help="list instances (filters, paging)")
        _common(listing)
        listing.add_argument(
            "--status",
            action="extend",
            type=comma_separated,
            metavar="STATUS",
            help=f"runtime status, repeat or comma-separate: {', '.join(RUNTIME_STATUSES)}",
        )
        listing.add_argument("--created-from", metavar="TIME", help="created at or after (ISO-8601, UTC)")
        listing.add_argument("--created-to", metavar="TIME", help="created at or before (ISO-8601, UTC)")
        listing.add_argument("--prefix", help="instance id prefix")
        listing.add_argument("--top", type=int, metavar="N", help="page size (the host's default is 100)")
        listing.add_argument(
            "--all", action="store_true", help="follow continuation tokens through every page"
        )
        listing.add_argument("--show-input", action="store_true", help="include each instance's input")
    status = actions.add_parser("status", help="one instance's status, input, custom status and output")
    _common(status)
    status.add_argument("instance_id", metavar="INSTANCE_ID", help="instance id")
    history = actions.add_parser("history", help="one instance's history events")
    _common(history)
    history.add_argument("instance_id", metavar="INSTANCE_ID", help="instance id")
    history.add_argument("--output", action="store_true", help="include activity and orchestration results")

    raise_event = actions.add_parser("raise-event", help="send an external event to an instance")
    _mutating(raise_event, "raise-event")
    raise_event.add_argument("event_name", metavar="EVENT_NAME", help="event name the orchestrator waits for")
    raise_event.add_argument("--data", metavar="JSON", help="event payload as JSON text (default: null)")
    for name, text in (
        ("suspend", "suspend a running instance"),
        ("resume", "resume a suspended instance"),
        ("terminate", "terminate a running or suspended instance"),
        ("rewind", "rewind a failed instance (retries its failed work)"),
    ):
        sub = actions.add_parser(name, help=text)
        _mutating(sub, name)
        sub.add_argument("--reason", help="reason recorded in history")
    restart = actions.add_parser("restart", help="start the instance's orchestrator again with its input")
    _mutating(restart, "restart")
    restart.add_argument("--same-id", action="store_true", help="reuse the instance id (default: a new id)")
    restart.add_argument(
        "--force", action="store_true", help="restart even though the instance is still active"
    )
    purge = actions.add_parser("purge", help="delete an instance's status and history")
    _mutating(purge, "purge")
    purge.add_argument("--force", action="store_true", help="purge even though the instance is still active")
    purge.add_argument(
        "--without-audit-packet",
        action="store_true",
        help="purge although the instance has no sealed audit packet (its evidence is then lost)",
    )
