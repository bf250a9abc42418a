"""The HTTP edge shared by the workflows: request validation and the one error-mapping wrapper."""

from api.errors import (
    ApiError,
    Conflict,
    FieldError,
    InstanceNotFound,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from api.handlers import error_response, json_errors, json_response
from api.starters import existing_instance, start_once
from api.validation import json_body, parse_body, route_identifier, validate

__all__ = [
    "ApiError",
    "Conflict",
    "FieldError",
    "InstanceNotFound",
    "InvalidRequest",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "error_response",
    "existing_instance",
    "json_body",
    "json_errors",
    "json_response",
    "parse_body",
    "route_identifier",
    "start_once",
    "validate",
]
