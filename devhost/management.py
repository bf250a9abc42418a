"""The Durable HTTP management API (spec §11), also serving as the SDK client's RPC endpoint."""

from __future__ import annotations

import asyncio
import traceback
import uuid
from typing import Any
from urllib.parse import quote

from aiohttp import web

from devhost import history as h
from devhost.api_http import (
    CONTINUATION_HEADER,
    WEBHOOK_PATH,
    ApiError,
    body_token,
    bool_query,
    decode_token,
    empty_response,
    encode_token,
    float_query,
    instance_id_problem,
    int_query,
    json_response,
    not_found,
    request_origin,
    storage_unavailable_response,
    time_query,
)
from devhost.engine import Engine
from devhost.entity_api import EntityApi
from devhost.history import compact_json, parse_json_or_string
from devhost.history_view import history_for_api
from devhost.instance import Instance, InstanceExistsError, InvalidOperationError
from devhost.storage_calls import StorageUnavailableError
from durable_wire import RuntimeStatus


class ManagementApi:
    """Routes `/runtime/webhooks/durabletask/...` requests to the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.entity_api = EntityApi(engine.entities, engine.index, engine.clock)

    # -- URLs -----------------------------------------------------------------------------------

    def management_urls(self, origin: str, instance_id: str, *, with_rewind: bool) -> dict[str, str]:
        base = f"{origin}{WEBHOOK_PATH}/instances/{instance_id}"
        hub = quote(self.engine.settings.hub_name)
        query = f"taskHub={hub}&connection=Storage"
        urls = {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{query}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{base}?{query}",
            "restartPostUri": f"{base}/restart?{query}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{query}",
        }
        if not with_rewind:
            del urls["rewindPostUri"]
        return urls

    def client_binding(self, origin: str, rpc_base_url: str) -> str:
        """The `durableClient` binding string (spec §10.1)."""
        hub = self.engine.settings.hub_name
        base = f"{origin}{WEBHOOK_PATH}"
        return compact_json(
            {
                "taskHubName": hub,
                "connectionName": None,
                "creationUrls": {
                    "createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?",
                    "createAndWaitOnNewInstancePostUri": (
                        f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
                        "?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&"
                    ),
                },
                "managementUrls": self.management_urls(origin, "INSTANCEID", with_rewind=True),
                "baseUrl": base,
                "requiredQueryStringParameters": "",
                "rpcBaseUrl": rpc_base_url,
                "httpBaseUrl": None,
            }
        )

    def check_status_response(self, request: web.Request, instance_id: str) -> web.Response:
        urls = self.management_urls(request_origin(request), instance_id, with_rewind=False)
        return json_response(urls, 202, {"Location": urls["statusQueryGetUri"], "Retry-After": "10"})

    # -- dispatch -------------------------------------------------------------------------------

    async def handle(self, request: web.Request, segments: list[str]) -> web.Response:
        try:
            # While storage is away, a request that needs it is answered 503 within seconds; what it
            # started still lands once storage is back (devhost/store.py).
            return await self.engine.store.within_request_deadline(self._route(request, segments))
        except StorageUnavailableError as error:
            return storage_unavailable_response(error)
        except ApiError as error:
            return error.response()
        except InvalidOperationError as error:
            return ApiError(
                500,
                "Something went wrong while processing your request",
                str(error),
                "System.InvalidOperationException",
            ).response()
        except Exception as error:
            traceback.print_exc()
            return ApiError(
                500, "Something went wrong while processing your request", str(error), type(error).__name__
            ).response()

    async def _route(self, request: web.Request, segments: list[str]) -> web.Response:
        method = request.method
        if not segments:
            raise not_found()
        head, rest = segments[0].lower(), segments[1:]
        if head == "orchestrators" and method == "POST" and rest:
            instance_id = "/".join(rest[1:]) if len(rest) > 1 else None
            return await self.start(request, rest[0], instance_id)
        if head == "instances":
            if not rest:
                if method == "GET":
                    return await self.query(request)
                if method == "DELETE":
                    return await self.purge_by_filter(request)
                raise not_found()
            instance_id = rest[0]
            if len(rest) == 1:
                if method == "GET":
                    return await self.status(request, instance_id)
                if method == "DELETE":
                    return await self.purge(instance_id)
                raise not_found()
            operation = rest[1].lower()
            if method == "POST" and operation == "raiseevent" and len(rest) == 3:
                return await self.raise_event(request, instance_id, rest[2])
            if (
                method == "POST"
                and len(rest) == 2
                and operation in ("terminate", "suspend", "resume", "rewind")
            ):
                return await self.control(request, instance_id, operation)
            if method == "POST" and len(rest) == 2 and operation == "restart":
                return await self.restart(request, instance_id)
            raise not_found()
        if head == "entities":
            return await self.entity_api.entities(request, rest)
        raise not_found()

    # -- orchestrations ---------------------------------------------------------------------

    async def start(self, request: web.Request, function_name: str, instance_id: str | None) -> web.Response:
        function = self.engine.index.orchestrator(function_name)
        if function is None or function.disabled:
            raise ApiError(
                400,
                "One or more of the arguments submitted is incorrect",
                f"The function '{function_name}' doesn't exist, is disabled, or is not an orchestrator "
                "function. Additional info: No orchestrator functions are currently registered!"
                if not self.engine.index.orchestrators
                else f"The function '{function_name}' doesn't exist, is disabled, or is not an orchestrator "
                f"function. Additional info: The following are the known orchestrator functions: "
                f"{', '.join(sorted(f.durable_name for f in self.engine.index.orchestrators.values()))}.",
            )
        if instance_id is None:
            instance_id = uuid.uuid4().hex
        problem = instance_id_problem(instance_id)
        if problem:
            raise ApiError(400, "One or more of the arguments submitted is incorrect", problem)
        input_text = await body_token(request)
        version = request.query.get("version")
        await self._start_new(function.durable_name, instance_id, input_text, version)
        return await self._wait_or_check_status(request, instance_id)

    async def _start_new(
        self, name: str, instance_id: str, input_text: str | None, version: str | None
    ) -> None:
        """Start an instance; an id that is taken answers 500 as the extension does."""
        try:
            await self.engine.start_orchestration(name, instance_id, input_text, version=version)
        except InstanceExistsError as error:
            raise ApiError(
                500,
                "Something went wrong while processing your request",
                str(error),
                "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException",
            ) from error

    async def _wait_or_check_status(self, request: web.Request, instance_id: str) -> web.Response:
        timeout = float_query(request, "timeout")
        interval = float_query(request, "pollingInterval")
        if timeout is None or interval is None:
            return self.check_status_response(request, instance_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            instance = await self.engine.get_instance(instance_id)
            if instance is not None and instance.is_terminal:
                if instance.status == RuntimeStatus.COMPLETED:
                    return json_response(parse_json_or_string(instance.output_text), 200)
                failed_500 = instance.status == RuntimeStatus.FAILED and bool_query(
                    request, "returnInternalServerErrorOnFailure", False
                )
                body = await self.status_body(
                    instance, show_input=True, show_history=False, show_output=False
                )
                return json_response(body, 500 if failed_500 else 200)
            if loop.time() >= deadline:
                return self.check_status_response(request, instance_id)
            await asyncio.sleep(max(0.05, min(interval, deadline - loop.time())))

    async def status(self, request: web.Request, instance_id: str) -> web.Response:
        instance = await self.engine.get_instance(instance_id)
        if instance is None:
            return empty_response(404)
        body = await self.status_body(
            instance,
            show_input=bool_query(request, "showInput", True),
            show_history=bool_query(request, "showHistory", False),
            show_output=bool_query(request, "showHistoryOutput", False),
        )
        if not instance.is_terminal:
            return json_response(body, 202, {"Location": str(request.url), "Retry-After": "5"})
        if instance.status == RuntimeStatus.FAILED and bool_query(
            request, "returnInternalServerErrorOnFailure", False
        ):
            return json_response(body, 500)
        return json_response(body, 200)

    async def status_body(
        self, instance: Instance, *, show_input: bool, show_history: bool, show_output: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": instance.name,
            "instanceId": instance.instance_id,
            "runtimeStatus": instance.status,
            "input": parse_json_or_string(instance.input_text) if show_input else None,
            "customStatus": parse_json_or_string(instance.custom_status_text),
            "output": parse_json_or_string(instance.output_text),
            "createdTime": h.format_status_time(instance.created),
            "lastUpdatedTime": h.format_status_time(instance.last_updated),
        }
        if show_history:
            history = await self.engine.load_history(instance)
            body["historyEvents"] = history_for_api(history, show_input=show_input, show_output=show_output)
        return body

    async def query(self, request: web.Request) -> web.Response:
        statuses = {
            value.strip()
            for raw in request.query.getall("runtimeStatus", [])
            for value in raw.split(",")
            if value.strip()
        }
        statuses &= RuntimeStatus.ALL
        created_from = time_query(request, "createdTimeFrom")
        created_to = time_query(request, "createdTimeTo")
        prefix = request.query.get("instanceIdPrefix", "")
        show_input = bool_query(request, "showInput", True)
        top = int_query(request, "top") or 100
        if top <= 0:
            raise ApiError(
                400, "One or more of the arguments submitted is incorrect", "'top' must be positive"
            )
        token = request.headers.get(CONTINUATION_HEADER) or ""
        offset = decode_token(token)
        matches = [
            summary
            for summary in self.engine.instance_summaries()
            if summary.instance_id.startswith(prefix)
            and (not statuses or summary.status in statuses)
            and (created_from is None or summary.created >= created_from)
            and (created_to is None or summary.created <= created_to)
        ]
        matches.sort(key=lambda i: (i.created, i.instance_id))
        page = [await self.engine.get_instance(s.instance_id) for s in matches[offset : offset + top]]
        bodies = [
            await self.status_body(i, show_input=show_input, show_history=False, show_output=False)
            for i in page
            if i is not None
        ]
        next_offset = offset + len(page)
        headers = {CONTINUATION_HEADER: encode_token(next_offset) if next_offset < len(matches) else ""}
        return json_response(bodies, 200, headers)

    async def raise_event(self, request: web.Request, instance_id: str, event_name: str) -> web.Response:
        instance = await self.engine.get_instance(instance_id)
        if instance is None:
            return empty_response(404)
        if instance.is_terminal:
            return empty_response(410)
        if request.content_type != "application/json":
            raise ApiError(400, "Only application/json request content is supported")
        input_text = await body_token(request)
        await self.engine.raise_event(instance, event_name, input_text)
        return empty_response(202)

    async def control(self, request: web.Request, instance_id: str, operation: str) -> web.Response:
        instance = await self.engine.get_instance(instance_id)
        if instance is None:
            return empty_response(404)
        reason = request.query.get("reason")
        if operation == "rewind":
            if instance.status in (RuntimeStatus.COMPLETED, RuntimeStatus.TERMINATED, RuntimeStatus.CANCELED):
                return empty_response(410)
            if instance.status != RuntimeStatus.FAILED:
                raise InvalidOperationError(
                    "The rewind operation is only supported on failed orchestration instances."
                )
            await self.engine.rewind(instance, reason)
            return empty_response(202)
        if instance.is_terminal:
            return empty_response(410)
        if operation == "terminate":
            await self.engine.terminate(instance, reason)
        elif operation == "suspend":
            await self.engine.suspend(instance, reason)
        else:
            await self.engine.resume(instance, reason)
        return empty_response(202)

    async def restart(self, request: web.Request, instance_id: str) -> web.Response:
        instance = await self.engine.get_instance(instance_id)
        if instance is None:
            raise ApiError(400, "InstanceId does not match a valid orchestration instance.")
        new_id = uuid.uuid4().hex if bool_query(request, "restartWithNewInstanceId", True) else instance_id
        await self._start_new(instance.name, new_id, instance.input_text, instance.version)
        return await self._wait_or_check_status(request, new_id)

    async def purge(self, instance_id: str) -> web.Response:
        if instance_id.startswith("@"):
            entity = await self.engine.entities.get(instance_id)
            if entity is None:
                return empty_response(404)
            await self.engine.entities.purge(entity)
            return json_response({"instancesDeleted": 1})
        instance = await self.engine.get_instance(instance_id)
        if instance is None:
            return empty_response(404)
        if not instance.is_terminal:
            raise ApiError(
                500,
                "Something went wrong while processing your request",
                "Only orchestrations in a terminal state can be purged, but the orchestration with instance "
                f"ID {instance_id} has status {instance.status}",
                "System.InvalidOperationException",
            )
        await self.engine.purge(instance)
        return json_response({"instancesDeleted": 1})

    async def purge_by_filter(self, request: web.Request) -> web.Response:
        created_from = time_query(request, "createdTimeFrom")
        if created_from is None:
            return json_response("Please provide value for 'createdTimeFrom' parameter.", 400)
        created_to = time_query(request, "createdTimeTo") or self.engine.clock.now()
        statuses = {
            value.strip() for raw in request.query.getall("runtimeStatus", []) for value in raw.split(",")
        } & RuntimeStatus.TERMINAL
        deleted = 0
        for summary in self.engine.instance_summaries():
            if not (created_from <= summary.created <= created_to):
                continue
            if statuses and summary.status not in statuses:
                continue
            instance = await self.engine.get_instance(summary.instance_id)
            if instance is None or not instance.is_terminal:
                continue
            await self.engine.purge(instance)
            deleted += 1
        if deleted == 0:
            return empty_response(404)
        return json_response({"instancesDeleted": deleted})


__all__ = ["ManagementApi"]
