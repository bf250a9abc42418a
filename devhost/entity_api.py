"""The entity routes of the Durable HTTP API (spec §9.5, §11): read, signal and list entities."""

from __future__ import annotations

import json

from aiohttp import web

from devhost.api_http import (
    CONTINUATION_HEADER,
    ApiError,
    bool_query,
    decode_token,
    empty_response,
    encode_token,
    int_query,
    json_response,
    not_found,
)
from devhost.clock import Clock
from devhost.entities import EntityHost, entity_key_problem, entity_scheduler_id
from devhost.history import compact_json, parse_json_or_string
from devhost.loader import FunctionIndex


class EntityApi:
    """`/entities/{name}/{key}` and `/entities[/{name}]` of the management API."""

    def __init__(self, entities: EntityHost, index: FunctionIndex, clock: Clock) -> None:
        self._entities = entities
        self._index = index
        self._clock = clock

    async def entities(self, request: web.Request, rest: list[str]) -> web.Response:
        method = request.method
        if method == "GET" and len(rest) <= 1:
            return await self.list_entities(request, rest[0] if rest else None)
        if len(rest) != 2:
            raise not_found()
        name, key = rest
        if key == "$" and method == "GET":
            key = ""
        if not name:
            raise ApiError(400, "Entity name must not be empty.")
        problem = entity_key_problem(key)
        if problem:
            raise ApiError(400, problem)
        if method == "GET":
            entity = await self._entities.get(entity_scheduler_id(name, key))
            if entity is None or not entity.exists or entity.state_text is None:
                return empty_response(404)
            return json_response(parse_json_or_string(entity.state_text))
        if method not in ("POST", "DELETE"):
            raise not_found()
        if self._index.entity(name) is None:
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
        await self._entities.signal(name, key, operation, input_text)
        return empty_response(202)

    async def list_entities(self, request: web.Request, name: str | None) -> web.Response:
        fetch_state = bool_query(request, "fetchState", False)
        top = int_query(request, "top") or 100
        offset = decode_token(request.headers.get(CONTINUATION_HEADER) or "")
        matches = sorted(
            (
                e
                for e in self._entities.entities.values()
                if e.exists and (name is None or e.name == name.lower())
            ),
            key=lambda e: e.scheduler_id,
        )
        page = matches[offset : offset + top]
        bodies = [
            {
                "entityId": {"name": e.name, "key": e.key},
                "lastOperationTime": (e.last_operation or self._clock.now()).strftime("%Y-%m-%dT%H:%M:%S.%f")[
                    :-3
                ]
                + "Z",
                "state": parse_json_or_string(e.state_text) if fetch_state else None,
            }
            for e in page
        ]
        next_offset = offset + len(page)
        headers = {CONTINUATION_HEADER: encode_token(next_offset) if next_offset < len(matches) else ""}
        return json_response(bodies, 200, headers)
