"""The errors an HTTP endpoint raises on purpose; `api.handlers.json_errors` maps them to statuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One bad input: where (`order.priority`, `items[2].sku`) and what is wrong with it."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """`{"field": ..., "error": ...}`."""
        return {"field": self.field, "error": self.message}


class ApiError(Exception):
    """A failure with a status code and a JSON body that is safe to show to the caller."""

    status_code = 500

    def body(self) -> dict[str, Any]:
        """The JSON body of the response."""
        return {"error": str(self)}

    def headers(self) -> dict[str, str]:
        """Response headers the status needs (none by default)."""
        return {}


class InvalidRequest(ApiError):  # noqa: N818 (the style guide's name for it)
    """400: the request names the wrong thing or its body does not validate."""

    status_code = 400

    def __init__(self, field: str, message: str, *, errors: list[FieldError] | None = None) -> None:
        self.errors = errors or [FieldError(field, message)]
        first = self.errors[0]
        super().__init__(first.message if len(self.errors) == 1 else "invalid request")
        self.field = first.field

    @classmethod
    def from_errors(cls, errors: list[FieldError]) -> InvalidRequest:
        """One exception for several bad fields (at least one)."""
        if not errors:
            raise ValueError("at least one field error is required")
        return cls(errors[0].field, errors[0].message, errors=errors)

    def body(self) -> dict[str, Any]:
        """`{"error", "field"}` of the first bad field, plus `fields` listing all of them."""
        return {
            "error": str(self),
            "field": self.field,
            "fields": [error.to_dict() for error in self.errors],
        }


class PayloadTooLarge(InvalidRequest):
    """413: the body is larger than the API accepts (names the field `body`)."""

    status_code = 413


class UnsupportedMediaType(InvalidRequest):
    """415: the body is declared as something other than JSON (names the field `body`)."""

    status_code = 415


class InstanceNotFound(ApiError):  # noqa: N818
    """404: no workflow instance with that id."""

    status_code = 404

    def __init__(self, resource: str, identifier: str) -> None:
        super().__init__(f"{resource} {identifier!r} does not exist")


class Conflict(ApiError):  # noqa: N818
    """409: the request is valid but the instance is not in a state that accepts it.

    `location` is the app's own status resource of the instance (`/api/<workflow>/<id>`), never a
    Durable management URL: those carry the system key on Azure (see api/starters.py).
    """

    status_code = 409

    def __init__(self, message: str, *, location: str | None = None, state: str | None = None) -> None:
        super().__init__(message)
        self.location = location
        self.state = state

    def body(self) -> dict[str, Any]:
        """`{"error"}` plus the existing instance's status resource (`statusUrl`) and state when known."""
        body: dict[str, Any] = {"error": str(self)}
        if self.location:
            body["statusUrl"] = self.location
        if self.state:
            body["state"] = self.state
        return body

    def headers(self) -> dict[str, str]:
        """`Location` of the existing instance's status resource, when known."""
        return {"Location": self.location} if self.location else {}


class ServiceUnavailable(ApiError):  # noqa: N818
    """503: storage (or the Durable runtime's store) is unreachable; nothing was done, retry later."""

    status_code = 503
    retry_after_seconds = 5

    def __init__(self, message: str = "storage is unavailable; retry later") -> None:
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        """`{"error", "retryAfter"}` (seconds, as in the header)."""
        return {"error": str(self), "retryAfter": self.retry_after_seconds}

    def headers(self) -> dict[str, str]:
        """`Retry-After`, in seconds."""
        return {"Retry-After": str(self.retry_after_seconds)}
