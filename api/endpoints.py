# mypy: disable-error-code="untyped-decorator"
# (azure-functions-durable 1.x decorators carry no types; the functions themselves are fully typed)
"""How the API's HTTP functions are declared, once, instead of a decorator stack on every endpoint.

- `durable_route`: the route (anonymous at the host: api.access authorizes the principal), the
  Durable client binding `client` and `json_errors`, in the order the Functions host reads them;
  with `name`, the function is registered (and logged) under that name.
- `workflow_route`: a workflow endpoint. The generated HTTP function authorizes the principal for
  the endpoint's permission, reads the business id from the route when it has one, and hands a
  `Call` to the endpoint's handler; the HTTP function is registered under the handler's name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import azure.durable_functions as df
import azure.functions as func

from api.access import authorize
from api.handlers import json_errors
from api.validation import ModelT, parse_body, route_identifier
from identity import Actor, Permission

Handler = TypeVar("Handler", bound=Callable[..., Any])
HttpFunction = Callable[[func.HttpRequest, df.DurableOrchestrationClient], Awaitable[func.HttpResponse]]


def named(name: str) -> Callable[[Handler], Handler]:
    """Give a generated handler its registered name, which is also what json_errors logs."""

    def rename(handler: Handler) -> Handler:
        handler.__name__ = handler.__qualname__ = name
        return handler

    return rename


def durable_route(
    blueprint: df.Blueprint, route: str, method: str, *, name: str | None = None
) -> Callable[[HttpFunction], Any]:
    """Register an HTTP function `(req, client)` as `method route` with the Durable client and json_errors."""

    def register(function: HttpFunction) -> Any:
        handled = json_errors(named(name)(function) if name else function)
        routed = blueprint.route(route=route, methods=[method], auth_level=func.AuthLevel.ANONYMOUS)(
            blueprint.durable_client_input(client_name="client")(handled)
        )
        return blueprint.function_name(name=name)(routed) if name else routed

    return register


@dataclass(frozen=True)
class Call:
    """One authorized call of a workflow endpoint: the request, the Durable client, who acts and the
    business id in the route ('' on a collection)."""

    req: func.HttpRequest
    client: df.DurableOrchestrationClient
    actor: Actor
    business_id: str

    def body(self, model: type[ModelT]) -> ModelT:
        """The JSON body validated into `model` (400, 413 or 415 naming the field otherwise)."""
        return parse_body(self.req, model)


CallHandler = Callable[[Call], Awaitable[func.HttpResponse]]


def workflow_route(
    blueprint: df.Blueprint, method: str, route: str, permission: Permission
) -> Callable[[CallHandler], CallHandler]:
    """Register the decorated handler as the HTTP function `method route`, named like the handler.

    The function authorizes the principal for `permission` (401/403) before anything else, then reads
    the route's business id parameter (`{disputeId}`: a 400 naming it when malformed), and answers
    what the handler returns.
    """
    parameter = route.partition("{")[2].partition("}")[0]

    def register(handler: CallHandler) -> CallHandler:
        async def endpoint(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
            actor = authorize(req, permission)
            business_id = route_identifier(req, parameter) if parameter else ""
            return await handler(Call(req, client, actor, business_id))

        endpoint.__doc__ = handler.__doc__
        durable_route(blueprint, route, method, name=handler.__name__)(endpoint)
        return handler

    return register
