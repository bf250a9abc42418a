"""The Durable HTTP management API (spec §11), also serving as the SDK client's RPC endpoint."""

from __future__ import annotations

import asyncio
import base64
import json
import traceback
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from devhost import history as h
from devhost.engine import Engine
from devhost.entities import entity_key_problem, entity_scheduler_id, parse_entity_id
from devhost.history import Event, compact_json, parse_json_or_string
from devhost.instance import Instance, InstanceExistsError, InvalidOperationError
from devhost.store import RETRY_AFTER_SECONDS, StorageUnavailableError
from durable_wire import EVENT_TYPE_NAMES, EventType, RuntimeStatus

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
JSON_TYPE = "application/json; charset=utf-8"
CONTINUATION_HEADER = "x-ms-continuation-token"


class ApiError(Exception):
    """An error answered with the extension's error body (spec §11.1)."""

    def __init__(
        self,
        status: int,
        message: str,
        exception_message: str | None = None,
        exception_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.exception_message = exception_message
        self.exception_type = exception_type

    def response(self) -> web.Response:
        body: dict[str, Any] = {"Message": self.message}
        if self.exception_message is not None:
            body.update(
                ExceptionMessage=self.exception_message,
                ExceptionType=self.exception_type or "System.ArgumentException",
                StackTrace=None,
            )
        return json_response(body, self.status)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=compact_json(body),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def storage_unavailable_response(error: Exception) -> web.Response:
    """503 + Retry-After; the text carries "status code 503", which the SDK client's errors repeat."""
    return json_response(
        {"Message": str(error), "ExceptionType": "StorageUnavailable"},
        503,
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def empty_response(status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, headers=headers)


def bool_query(request: web.Request, name: str, default: bool) -> bool:
    """Case-insensitive boolean query values; unparseable ones fall back to the default."""
    value = request.query.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return default


def instance_id_problem(instance_id: str) -> str | None:
    """Why an instance id is invalid (spec §12.5), or None."""
    if not instance_id:
        return "Instance ID must not be empty."
    if len(instance_id) > 256:
        return "Instance ID must not be longer than 256 characters."
    if instance_id.startswith("@"):
        return "Instance ID must not start with '@'."
    if any(c in "/\\?#" or ord(c) < 32 or ord(c) == 127 for c in instance_id):
        return "Instance ID must not contain '/', '\\', '?', '#' or control characters."
    return None


class ManagementApi:
    """Routes `/runtime/webhooks/durabletask/...` requests to the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
        urls = self.management_urls(_origin(request), instance_id, with_rewind=False)
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
            raise _not_found()
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
                raise _not_found()
            instance_id = rest[0]
            if len(rest) == 1:
                if method == "GET":
                    return await self.status(request, instance_id)
                if method == "DELETE":
                    return await self.purge(instance_id)
                raise _not_found()
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
            raise _not_found()
        if head == "entities":
            return await self.entities(request, rest)
        raise _not_found()

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
        input_text = await _body_token(request)
        version = request.query.get("version")
        try:
            await self.engine.start_orchestration(
                function.durable_name, instance_id, input_text, version=version
            )
        except InstanceExistsError as error:
            raise ApiError(
                500,
                "Something went wrong while processing your request",
                str(error),
                "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException",
            ) from error
        return await self._wait_or_check_status(request, instance_id)

    async def _wait_or_check_status(self, request: web.Request, instance_id: str) -> web.Response:
        timeout = _float_query(request, "timeout")
        interval = _float_query(request, "pollingInterval")
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
        created_from = _time_query(request, "createdTimeFrom")
        created_to = _time_query(request, "createdTimeTo")
        prefix = request.query.get("instanceIdPrefix", "")
        show_input = bool_query(request, "showInput", True)
        top = _int_query(request, "top") or 100
        if top <= 0:
            raise ApiError(
                400, "One or more of the arguments submitted is incorrect", "'top' must be positive"
            )
        token = request.headers.get(CONTINUATION_HEADER) or ""
        offset = _decode_token(token)
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
        headers = {CONTINUATION_HEADER: _encode_token(next_offset) if next_offset < len(matches) else ""}
        return json_response(bodies, 200, headers)

    async def raise_event(self, request: web.Request, instance_id: str, event_name: str) -> web.Response:
        instance = await self.engine.get_instance(instance_id)
        if instance is None:
            return empty_response(404)
        if instance.is_terminal:
            return empty_response(410)
        if request.content_type != "application/json":
            raise ApiError(400, "Only application/json request content is supported")
        input_text = await _body_token(request)
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
        try:
            await self.engine.start_orchestration(
                instance.name, new_id, instance.input_text, version=instance.version
            )
        except InstanceExistsError as error:
            raise ApiError(
                500,
                "Something went wrong while processing your request",
                str(error),
                "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException",
            ) from error
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
        created_from = _time_query(request, "createdTimeFrom")
        if created_from is None:
            return json_response("Please provide value for 'createdTimeFrom' parameter.", 400)
        created_to = _time_query(request, "createdTimeTo") or self.engine.clock.now()
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

    # -- entities -------------------------------------------------------------------------------

    async def entities(self, request: web.Request, rest: list[str]) -> web.Response:
        method = request.method
        if method == "GET" and len(rest) <= 1:
            return await self.list_entities(request, rest[0] if rest else None)
        if len(rest) != 2:
            raise _not_found()
        name, key = rest
        if key == "$" and method == "GET":
            key = ""
        if not name:
            raise ApiError(400, "Entity name must not be empty.")
        problem = entity_key_problem(key)
        if problem:
            raise ApiError(400, problem)
        if method == "GET":
            entity = await self.engine.entities.get(entity_scheduler_id(name, key))
            if entity is None or not entity.exists or entity.state_text is None:
                return empty_response(404)
            return json_response(parse_json_or_string(entity.state_text))
        if method not in ("POST", "DELETE"):
            raise _not_found()
        if self.engine.index.entity(name) is None:
            raise ApiError(400, f"No entity function named '{name}' was found.")
        operation = "delete" if method == "DELETE" else request.query.get("op")
        if not operation:
            raise ApiError(400, "The 'op' query parameter is required.")
        body = await request.read()
        input_text: str | None = None
        if body:
            if request.content_type == "application/json":
                try:
                    input_text = compact_json(json.loads(body))
                except ValueError as error:
                    raise ApiError(400, f"Could not parse JSON content: {error}") from error
            else:
                input_text = compact_json(body.decode("utf-8", "replace"))
        # The stored text is already the request input: a client's body is a JSON string token whose
        # compact text is the JSON text of a JSON string, as for orchestrator calls (spec §9.4, §9.5).
        await self.engine.entities.signal(name, key, operation, input_text)
        return empty_response(202)

    async def list_entities(self, request: web.Request, name: str | None) -> web.Response:
        fetch_state = bool_query(request, "fetchState", False)
        top = _int_query(request, "top") or 100
        offset = _decode_token(request.headers.get(CONTINUATION_HEADER) or "")
        matches = sorted(
            (
                e
                for e in self.engine.entities.entities.values()
                if e.exists and (name is None or e.name == name.lower())
            ),
            key=lambda e: e.scheduler_id,
        )
        page = matches[offset : offset + top]
        bodies = [
            {
                "entityId": {"name": e.name, "key": e.key},
                "lastOperationTime": (e.last_operation or self.engine.clock.now()).strftime(
                    "%Y-%m-%dT%H:%M:%S.%f"
                )[:-3]
                + "Z",
                "state": parse_json_or_string(e.state_text) if fetch_state else None,
            }
            for e in page
        ]
        next_offset = offset + len(page)
        headers = {CONTINUATION_HEADER: _encode_token(next_offset) if next_offset < len(matches) else ""}
        return json_response(bodies, 200, headers)


def history_for_api(history: list[Event], *, show_input: bool, show_output: bool) -> list[dict[str, Any]]:
    """The status API's `historyEvents` transformation (spec §11.3)."""
    scheduled: dict[int, Event] = {
        e["EventId"]: e
        for e in history
        if e["EventType"] in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)
    }
    result: list[dict[str, Any]] = []
    for event in history:
        event_type = event["EventType"]
        if event_type in (
            EventType.ORCHESTRATOR_STARTED,
            EventType.ORCHESTRATOR_COMPLETED,
            EventType.TASK_SCHEDULED,
            EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        ):
            continue
        item = {k: v for k, v in event.items() if k not in ("EventId", "IsPlayed")}
        item["EventType"] = EVENT_TYPE_NAMES.get(event_type, str(event_type))
        if event_type in (
            EventType.TASK_COMPLETED,
            EventType.TASK_FAILED,
            EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
            EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
        ):
            origin = scheduled.get(item.pop("TaskScheduledId", -1))
            if origin is not None:
                item["FunctionName"] = origin.get("Name")
                item["ScheduledTime"] = origin.get("Timestamp")
                if origin["EventType"] == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
                    item["InstanceId"] = origin.get("InstanceId")
                if show_input:
                    item["Input"] = origin.get("Input")
        if event_type == EventType.TIMER_FIRED:
            item.pop("TimerId", None)
        if event_type == EventType.EXECUTION_STARTED:
            item["FunctionName"] = item.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                item.pop(key, None)
        if event_type == EventType.EXECUTION_COMPLETED:
            item["OrchestrationStatus"] = RuntimeStatus.NAMES.get(
                int(event["OrchestrationStatus"]), "Unknown"
            )
        if event_type in (
            EventType.TASK_COMPLETED,
            EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
            EventType.EXECUTION_COMPLETED,
        ):
            if show_output:
                item["Result"] = parse_json_or_string(event.get("Result"))
            else:
                item.pop("Result", None)
        if not show_input:
            item.pop("Input", None)
        result.append(item)
    return result


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _not_found() -> ApiError:
    return ApiError(404, "Not found")


async def _body_token(request: web.Request) -> str | None:
    """The request body as compact JSON text; an empty body is no input; bad JSON is a 400."""
    body = await request.read()
    if not body.strip():
        return None
    try:
        return compact_json(json.loads(body))
    except ValueError as error:
        raise ApiError(
            400, "Invalid JSON content", str(error), "Newtonsoft.Json.JsonReaderException"
        ) from error


def _float_query(request: web.Request, name: str) -> float | None:
    value = request.query.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError as error:
        raise ApiError(
            400, "One or more of the arguments submitted is incorrect", f"'{name}' must be a number"
        ) from error


def _int_query(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as error:
        raise ApiError(
            400, "One or more of the arguments submitted is incorrect", f"'{name}' must be an integer"
        ) from error


def _time_query(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return h.parse_time(unquote(value))
    except ValueError as error:
        raise ApiError(
            400,
            "One or more of the arguments submitted is incorrect",
            f"'{name}' is not a valid ISO-8601 time",
        ) from error


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError) as error:
        raise ApiError(400, "The continuation token is not valid.") from error


__all__ = ["WEBHOOK_PATH", "ApiError", "ManagementApi", "parse_entity_id"]
