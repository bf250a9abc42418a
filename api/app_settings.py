"""App settings the API reads at the edge and passes into a workflow's input (orchestrators never
read settings). Durations are read by `contracts.duration_setting`; whole numbers here."""

from __future__ import annotations

from collections.abc import Mapping

from contracts import InvalidDurationError


def whole_number_setting(name: str, default: int, env: Mapping[str, str]) -> int:
    """The app setting `name` as a whole number (`default` when unset or blank); a bad value is a
    configuration error (500), raised like a bad duration setting."""
    text = env.get(name, "").strip()
    try:
        return int(text) if text else default
    except ValueError:
        raise InvalidDurationError(f"app setting {name} must be a whole number") from None
