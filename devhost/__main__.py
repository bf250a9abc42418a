"""`python -m devhost start`: run a Python v2-model Functions app locally on Azurite, like `func start`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from devhost import known_hubs
from devhost.clock import Clock, parse_clock_start
from devhost.config import (
    ConfigError,
    apply_local_settings,
    load_host_settings,
    load_local_settings,
    validate_hub_name,
)
from devhost.easy_auth import EasyAuthEmulator
from devhost.engine import Engine
from devhost.history import format_history_time
from devhost.hub_lease import DEFAULT_WAIT_SECONDS, LEASE_SECONDS, Holder, HubLease, HubTakenError
from devhost.loader import AppLoadError, FunctionIndex
from devhost.local_guard import LocalRequestGuard
from devhost.server import DevHostServer
from devhost.storage_calls import OPEN_TIMEOUT_SECONDS, StorageUnavailableError
from devhost.store import BlobStore
from devhost.worker.pool import WorkerPool, WorkerSettingError, process_count


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    start = commands.add_parser("start", help="run the app in the current (or given) folder")
    start.add_argument(
        "--script-root", default=".", help="the app folder holding function_app.py (default: .)"
    )
    start.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("FUNCTIONS_PORT", "7071")),
        help="HTTP port (default 7071)",
    )
    start.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    start.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also accept requests whose Host header names NAME (repeatable; loopback names always "
        "are): everything else is refused (DNS rebinding protection)",
    )
    start.add_argument(
        "--virtual-clock",
        action="store_true",
        help='time moves only through POST /admin/clock/advance {"seconds": N}',
    )
    start.add_argument(
        "--clock-start",
        metavar="ISO-8601-UTC",
        help="with --virtual-clock: the instant the clock starts at, e.g. 2026-12-05T13:00:00Z "
        "(default: now); a hub's persisted clock that is later wins",
    )
    start.add_argument(
        "--task-hub",
        metavar="NAME",
        help="use this task hub instead of host.json's hubName (tests isolate hosts sharing one Azurite)",
    )
    start.add_argument(
        "--deliver-activities-twice",
        action="store_true",
        help="run every activity twice with the same input (proves idempotency)",
    )
    start.add_argument(
        "--trace-payloads",
        action="store_true",
        help="keep every orchestration trigger payload and SDK answer (GET /admin/instances/{id}/trace)",
    )
    start.add_argument(
        "--dateutil-timestamps",
        action="store_true",
        help="opt out of the fast history-timestamp parse: let the SDK parse every timestamp with "
        "dateutil, as it does on Azure (5-7x slower replays, same results)",
    )
    start.add_argument(
        "--fast-timestamps",
        action="store_true",
        help="the default now (kept so existing scripts keep working)",
    )
    start.add_argument(
        "--easy-auth",
        action="store_true",
        help="emulate App Service Authentication: sign in at /.auth/login/aad, X-MS-CLIENT-PRINCIPAL "
        "headers for signed-in requests, 401 for the rest (docs/devhost.md)",
    )
    start.add_argument(
        "--lease-wait",
        type=float,
        default=DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help="when another host holds the task hub, wait this long for it before giving up "
        f"(default {DEFAULT_WAIT_SECONDS} s; a crashed holder's lease expires after {LEASE_SECONDS} s)",
    )
    start.add_argument(
        "--storage-timeout",
        type=float,
        default=OPEN_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="at start, stop with an error when storage does not answer within this "
        f"(default {OPEN_TIMEOUT_SECONDS:g})",
    )
    start.add_argument(
        "--new-hub",
        action="store_true",
        help="start even when a task hub this user ran before is gone from storage (begin it empty)",
    )
    start.add_argument("--verbose", action="store_true", help="log every episode and activity")
    return parser


def print_functions(index: FunctionIndex, origin: str, prefix: str) -> None:
    print("\nFunctions:\n")
    for route in index.http_routes:
        methods = ",".join(sorted(route.methods))
        path = f"/{prefix}/{route.template}" if prefix else f"/{route.template}"
        print(f"        {route.function.function_name}: [{methods}] {origin}{path}\n")
    for function in index.functions:
        if function.trigger_type == "httpTrigger":
            continue
        suffix = " (disabled)" if function.disabled else ""
        print(f"        {function.function_name}: {function.trigger_type}{suffix}\n")
    for function in index.unsupported:
        print(
            f"Warning: {function.function_name} uses trigger '{function.trigger_type}', which the devhost "
            "does not run.",
            file=sys.stderr,
        )
    sys.stdout.flush()


async def serve(args: argparse.Namespace) -> int:
    script_root: Path = args.script_root
    try:
        clock = Clock(
            virtual=args.virtual_clock,
            start=parse_clock_start(args.clock_start) if args.clock_start else None,
        )
    except ValueError as error:
        hint = "" if args.virtual_clock else " (add --virtual-clock)"
        print(f"Error: --clock-start: {error}{hint}", file=sys.stderr)
        return 2
    try:
        apply_local_settings(load_local_settings(script_root))
        settings = load_host_settings(script_root)
        if args.task_hub:
            settings = replace(settings, hub_name=validate_hub_name(args.task_hub))
    except ConfigError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    easy_auth = EasyAuthEmulator.enable() if args.easy_auth else None
    if easy_auth is None:
        EasyAuthEmulator.keep_disabled()
    try:
        workers = WorkerPool(
            script_root,
            count=process_count(),
            dateutil_timestamps=args.dateutil_timestamps,
            verbose=args.verbose,
        )
        index = await workers.start()
    except (AppLoadError, WorkerSettingError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    try:
        connection = settings.storage_connection_string()
    except ConfigError as error:
        print(f"Error: {error}", file=sys.stderr)
        await workers.stop()
        return 1
    store = BlobStore(connection, settings.hub_name, settings.storage_connection_name)
    try:
        hub = await store.open(args.storage_timeout)
    except StorageUnavailableError as error:
        print(f"Error: {error}", file=sys.stderr)
        await store.close()
        await workers.stop()
        return 1
    lost_since = known_hubs.vanished(store.url, hub.created)
    if lost_since and not args.new_hub:
        print(
            f"Error: task hub '{settings.hub_name}' ran here before (created {lost_since}) but is gone "
            f"from the storage account of '{settings.storage_connection_name}' ({store.url}): the "
            "storage came back empty (an in-memory Azurite restarted, or its data was deleted), and "
            "every instance of the hub is lost. Restore the storage, or start with --new-hub to "
            "begin the hub empty.",
            file=sys.stderr,
        )
        await store.close()
        await workers.stop()
        return 1
    lease = HubLease(store, Holder.this_process(args.port))
    try:
        await lease.acquire(args.lease_wait, lambda message: print(message, flush=True))
    except HubTakenError as error:
        print(f"Error: {error}", file=sys.stderr)
        await store.close()
        await workers.stop()
        return 1
    known_hubs.remember(store.url, hub.created_at)
    lease_task = asyncio.get_running_loop().create_task(lease.run())
    loop = asyncio.get_running_loop()
    engine = Engine(
        settings,
        index,
        store,
        clock,
        workers,
        deliver_activities_twice=args.deliver_activities_twice,
    )
    if args.trace_payloads:
        engine.trace = {}
    await engine.start()
    server = DevHostServer(
        engine, index, workers, args.port, easy_auth, guard=LocalRequestGuard(args.allow_host)
    )
    runner = web.AppRunner(server.application(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    try:
        await site.start()
    except OSError as error:
        print(
            f"Error: cannot listen on {args.host}:{args.port}: {error.strerror}. Use --port.", file=sys.stderr
        )
        await engine.stop()
        await lease.release()
        await workers.stop()
        await store.close()
        return 1
    if easy_auth is not None:
        # The app's durable client calls the management API on a loopback port of its own.
        server.rpc_base_url = await easy_auth.start_internal_rpc(runner)
    origin = f"http://localhost:{args.port}"
    print(
        f"devhost: task hub '{settings.hub_name}' ({'new, empty' if hub.created else 'resumed'}), "
        f"storage from '{settings.storage_connection_name}'"
        + (f", virtual clock from {format_history_time(clock.now())}" if args.virtual_clock else "")
        + (", activities delivered twice" if args.deliver_activities_twice else "")
        + (f", Easy Auth emulated (sign in at {origin}/.auth/login/aad)" if easy_auth else "")
    )
    print_functions(index, origin, settings.route_prefix)
    print(f"Host started. Durable API: {origin}/runtime/webhooks/durabletask  (Ctrl-C to stop)", flush=True)
    stop = asyncio.Event()

    def on_signal() -> None:
        workers.stopping()
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal)
    stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    assert store.fatal is not None
    fatal: asyncio.Future[Any] = store.fatal
    await asyncio.wait({stopping, fatal}, return_when=asyncio.FIRST_COMPLETED)
    failed = fatal.done()
    if failed:
        print(f"Error: {fatal.result()}", file=sys.stderr, flush=True)
        workers.stopping()
    stopping.cancel()
    print("devhost: stopping", flush=True)
    await runner.cleanup()
    await engine.stop()
    await workers.stop()
    lease_task.cancel()
    if not failed:
        await lease.release()
    await store.close()
    await close_sdk_client_session()
    return 1 if failed else 0


async def close_sdk_client_session() -> None:
    """Close the SDK client's process-wide HTTP session, so a clean stop logs no unclosed session.

    The Python worker never closes it (the process just exits); the devhost stops politely instead.
    The function is SDK-internal, hence looked up defensively.
    """
    try:
        http_utils = importlib.import_module("azure.durable_functions.models.utils.http_utils")
    except ImportError:
        return
    close = getattr(http_utils, "_close_session", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.script_root = Path(args.script_root).resolve()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
