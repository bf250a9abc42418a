"""Typed wire contracts shared by the workflows: the model base, money, custom status, durations.

Reference data files that an app setting names are read through `contracts.setting_files`.

Every request body, orchestration input/output, event payload and custom status is a
`ContractModel`: camelCase on the wire, snake_case in Python, validated by pydantic v2. Orchestrators
receive and pass plain dicts (`to_dict()` / `from_dict()`), never SDK-serialised objects, so a moved
class cannot break a running instance's history.

Durations (reminder intervals, deadlines, SLAs, leases) come from app settings as ISO 8601 durations
(`PT24H`, `P2D`, `PT30S`), so tests can shorten them without code changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Self

import isodate
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel


class ContractModel(BaseModel):
    """Base of every wire shape: camelCase aliases, unknown fields rejected, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready wire form (camelCase, None fields left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Validate a wire dict (raises pydantic.ValidationError naming each bad field)."""
        return cls.model_validate(data)


def parse_event(payload: Any, model: type[ContractModel]) -> Any:
    """Parse an external event's payload into `model`; client-raised events may arrive as JSON text."""
    if isinstance(payload, str | bytes):
        # A bare string payload stays as it is: validation then says what was expected.
        with contextlib.suppress(ValueError):
            payload = json.loads(payload)
    return model.from_dict(payload)


# -- money ----------------------------------------------------------------------------------------

_AMOUNT = re.compile(r"^-?\d{1,12}(\.\d{1,4})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Money(ContractModel):
    """An amount as a decimal string (never float) and an ISO 4217 currency code."""

    amount: Decimal
    currency: Annotated[str, Field(min_length=3, max_length=3)]

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_is_decimal_text(cls, value: Any) -> Any:
        if not isinstance(value, str) or not _AMOUNT.fullmatch(value.strip()):
            raise ValueError("must be a decimal string such as '12.50'")
        return value.strip()

    @field_validator("amount")
    @classmethod
    def _amount_not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if not _CURRENCY.fullmatch(value):
            raise ValueError("must be a three-letter ISO 4217 code such as 'EUR'")
        return value


# -- custom status --------------------------------------------------------------------------------


class CustomStatusModel(ContractModel):
    """Base of every workflow's custom status: its wire form leaves falsy values out."""

    def to_dict(self) -> dict[str, Any]:
        """Wire form without falsy values (the SDK drops them anyway, spec §4)."""
        return {key: value for key, value in super().to_dict().items() if value}


class WorkflowStatus(CustomStatusModel):
    """Custom status every workflow publishes: where it is, what it waits for, until when."""

    stage: str
    waiting_for: str | None = None
    deadline_utc: str | None = None
    detail: str | None = None


# -- instants on the wire --------------------------------------------------------------------------


def utc_text(moment: datetime) -> str:
    """Every instant the app writes to the wire: ISO 8601 in UTC, seconds, `Z` (`2026-01-01T00:00:00Z`).

    A naive value is taken as UTC already (as the app's naive values are), never as local time.
    """
    in_utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return in_utc.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- durations from app settings ------------------------------------------------------------------


class InvalidDurationError(ValueError):
    """An app setting that should be an ISO 8601 duration is not one."""


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration (`PT24H`, `P2D`, `PT0.5S`); years and months are refused."""
    try:
        value = isodate.parse_duration(text.strip())
    except (isodate.ISO8601Error, ValueError) as error:
        raise InvalidDurationError(f"{text!r} is not an ISO 8601 duration such as 'PT24H'") from error
    if not isinstance(value, timedelta):
        raise InvalidDurationError(f"{text!r} uses years or months; use days (P30D) instead")
    if value <= timedelta(0):
        raise InvalidDurationError(f"{text!r} must be positive")
    return value


def duration_setting(name: str, default: str, environ: Mapping[str, str] | None = None) -> timedelta:
    """The app setting `name` as a duration (ISO 8601), or `default` when it is unset."""
    env = os.environ if environ is None else environ
    text = env.get(name, "").strip() or default
    try:
        return parse_duration(text)
    except InvalidDurationError as error:
        raise InvalidDurationError(f"app setting {name}: {error}") from error


def format_duration(value: timedelta) -> str:
    """The ISO 8601 form of `value`, for passing durations in orchestration inputs."""
    return str(isodate.duration_isoformat(value))
