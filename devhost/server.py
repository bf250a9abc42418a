"""The devhost's HTTP front: the app's HTTP functions, the Durable API and the admin endpoints."""

from __future__ import annotations

import json
import logging
from datetime import UTC
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from multidict import CIMultiDict

from devhost.api_http import WEBHOOK_PATH, json_response, storage_unavailable_response
from devhost.easy_auth import EasyAuthEmulator
from devhost.engine import Engine
from devhost.history import format_history_time
from devhost.loader import FunctionIndex, HttpRoute
from devhost.local_guard import LocalRequestGuard
from devhost.management import ManagementApi
from devhost.storage_calls import StorageUnavailableError
from devhost.worker.pool import UserFunctionError, WorkerCrashedError, WorkerPool

log = logging.getLogger("devhost.http")

# Payloads of several MB are normal for Durable apps (spec §12.2); the app's own API sets its limits.
MAX_REQUEST_BYTES = 200 * 1024 * 1024


class DevHostServer:
    """Builds the aiohttp application that serves every route of the host."""

    def __init__(
        self,
        engine: Engine,
        index: FunctionIndex,
        invoker: WorkerPool,
        port: int,
        easy_auth: EasyAuthEmulator | None = None,
        *,
        guard: LocalRequestGuard | None = None,
    ) -> None:
        self.engine = engine
        self.easy_auth = easy_auth
        self.guard = guard or LocalRequestGuard()
        self.index = index
        self.invoker = invoker
        self.management = ManagementApi(engine)
        self.rpc_base_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}/"
        self.prefix = engine.settings.route_prefix
        engine.client_binding = lambda: self.management.client_binding(
            f"http://127.0.0.1:{port}", self.rpc_base_url
        )

    def application(self) -> web.Application:
        # The guard first: a request from another site or under another host name goes no further.
        middlewares = [self.guard.middleware]
        if self.easy_auth is not None:
            middlewares.append(self.easy_auth.middleware)
        app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=middlewares)
        # [\s\S]: a percent-encoded newline in a path must reach the router too, not aiohttp's 404.
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.dispatch)
        app.on_response_prepare.append(self._date_from_clock)
        return app

    async def _date_from_clock(self, request: web.Request, response: web.StreamResponse) -> None:
        """The `Date` header states the host's clock, virtual or real, as a real host's states its own:
        clients that take "now" from the host (the operations console) then agree with the timestamps
        the host writes into histories."""
        response.headers["Date"] = format_datetime(self.engine.clock.now().astimezone(UTC), usegmt=True)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.rel_url.raw_path
        segments = [unquote(s) for s in raw_path.strip("/").split("/")] if raw_path.strip("/") else []
        if raw_path.startswith(WEBHOOK_PATH + "/") or raw_path == WEBHOOK_PATH:
            depth = len(WEBHOOK_PATH.strip("/").split("/"))
            return await self.management.handle(request, [s for s in segments[depth:] if s != ""])
        if raw_path.startswith("/admin/"):
            return await self.admin(request, segments[1:])
        return await self.user_function(request, raw_path)

    # -- admin ------------------------------------------------------------------------------------

    async def admin(self, request: web.Request, segments: list[str]) -> web.StreamResponse:
        path = "/".join(segments)
        if path == "host/status" and request.method == "GET":
            store = self.engine.store
            return json_response(
                {
                    "id": "devhost",
                    "state": "Running",
                    "version": "devhost",
                    "taskHub": self.engine.settings.hub_name,
                    "virtualClock": self.engine.clock.virtual,
                    "storage": "available" if store.available.is_set() else "unavailable",
                    "storageOutages": store.outages,
                    "storageRepairs": store.repairs,
                }
            )
        if path == "functions" and request.method == "GET":
            return json_response(
                [
                    {
                        "name": f.function_name,
                        "durableName": f.durable_name,
                        "trigger": f.trigger_type,
                        "disabled": f.disabled,
                    }
                    for f in self.index.functions
                ]
            )
        if path == "clock" and request.method == "GET":
            return json_response(self._clock_body())
        if path == "clock/advance" and request.method == "POST":
            return await self.advance_clock(request)
        if len(segments) == 3 and segments[0] == "instances" and request.method == "GET":
            return await self.instance_internals(segments[1], segments[2])
        if path == "workers" and request.method == "GET":
            return json_response({"restarts": self.invoker.restarts, "workers": self.invoker.describe()})
        if path == "metrics" and request.method == "GET":
            return json_response(
                {
                    "storageOperations": self.engine.store.operations,
                    "activityRuns": self.engine.activity_runs,
                    "activitiesRunning": self.engine.activities_running,
                    "episodes": self.invoker.episodes,
                    "orchestratorSeconds": round(self.invoker.orchestrator_seconds, 6),
                    "instancesInMemory": len(self.engine.instances),
                    "pendingTimers": self.engine.timers.pending(),
                    "workerRestarts": self.invoker.restarts,
                }
            )
        return json_response({"error": f"Unknown admin route '/admin/{path}'"}, 404)

    async def instance_internals(self, instance_id: str, view: str) -> web.Response:
        """Wire-level views for tests and debugging: raw history and (opt-in) the payload trace."""
        instance = await self.engine.get_instance(instance_id)
        if instance is None:
            return json_response({"error": f"No instance with ID '{instance_id}'"}, 404)
        if view == "raw-history":
            return json_response(await self.engine.load_history(instance))
        if view == "inbox":  # messages accepted but not yet processed (held while suspended)
            return json_response(
                [
                    {"messageId": message_id, "eventType": event["EventType"], "name": event.get("Name")}
                    for message_id, event in instance.inbox
                ]
            )
        if view == "trace":
            if self.engine.trace is None:
                return json_response(
                    {"error": "Start the host with --trace-payloads to record payloads."}, 409
                )
            return json_response(self.engine.trace.get(instance_id, []))
        return json_response({"error": f"Unknown view '{view}': use raw-history, inbox or trace"}, 404)

    def _clock_body(self) -> dict[str, Any]:
        next_due = self.engine.timers.next_due()
        return {
            "virtual": self.engine.clock.virtual,
            "startedAt": format_history_time(self.engine.clock.started_at),
            "now": format_history_time(self.engine.clock.now()),
            "nextTimer": format_history_time(next_due) if next_due else None,
        }

    async def advance_clock(self, request: web.Request) -> web.Response:
        if not self.engine.clock.virtual:
            return json_response(
                {"error": "The clock is real: start the host with --virtual-clock to advance time."}, 409
            )
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError:
            return json_response({"error": 'Body must be JSON like {"seconds": 3600}', "field": "body"}, 400)
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            return json_response(
                {"error": "'seconds' must be a non-negative number", "field": "seconds"}, 400
            )
        moment = self.engine.clock.advance(float(seconds))
        try:
            await self.engine.store.within_request_deadline(
                self.engine.store.write_document("clock", {"now": moment.isoformat()})
            )
        except StorageUnavailableError as error:
            return storage_unavailable_response(error)
        self.engine.timers.fire_due()
        return json_response(self._clock_body())

    # -- the app's HTTP functions -------------------------------------------------------------

    def _match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route in self.index.http_routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    async def user_function(self, request: web.Request, raw_path: str) -> web.StreamResponse:
        prefix = f"/{self.prefix}/" if self.prefix else "/"
        if not raw_path.startswith(prefix) and raw_path != prefix.rstrip("/"):
            return web.Response(status=404)
        relative = raw_path[len(prefix) :] if raw_path.startswith(prefix) else ""
        # Match on the encoded path and decode each parameter afterwards, as the Functions host
        # does: `%2F` inside an id stays inside that route parameter instead of splitting it.
        found = self._match(request.method, relative.strip("/"))
        if found is None:
            return web.Response(status=404)
        route, encoded_params = found
        route_params = {name: unquote(value) for name, value in encoded_params.items()}
        if route.function.disabled:
            return web.Response(status=404)
        body = await request.read()
        description = {
            "method": request.method,
            "url": str(request.url),
            "headers": dict(request.headers),
            "params": {key: request.query[key] for key in request.query},
            "routeParams": route_params,
            "client": (
                self.management.client_binding(f"{request.scheme}://{request.host}", self.rpc_base_url)
                if route.client_binding_name
                else None
            ),
        }
        try:
            result = await self.invoker.http(route.function, description, body)
        except UserFunctionError as failure:
            log.error("Function '%s' failed:\n%s", route.function.function_name, failure.traceback_text)
            return web.Response(status=500)
        except WorkerCrashedError as error:
            # The Functions host also fails the HTTP requests a dying worker was running (500); the
            # body says why, so a client (or the soak) can tell it from an error of the app.
            log.error("Function '%s' failed: %s", route.function.function_name, error)
            return json_response(
                {
                    "error": f"{error} The request may or may not have taken effect: retry it.",
                    "workerCrashed": True,
                },
                500,
            )
        return web.Response(
            status=result.status, body=result.body or None, headers=CIMultiDict(result.headers)
        )
