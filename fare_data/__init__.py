"""The fare dispute's data files and how they are read: fare rules, trip history, customer directory.

Read by the fare dispute activities (trip look-up, fare rules, customer messages) and by its HTTP
edge (which currencies a claim may be in, checked before an instance starts), so it lives beside
the data rather than in either layer. `FARE_DISPUTE_RULES_FILE` and
`FARE_DISPUTE_TRIP_HISTORY_FILE` point elsewhere (tests, other agencies); the defaults are the
JSON files in this folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

JsonDict = dict[str, Any]

FARE_DATA_DIR = Path(__file__).resolve().parent
RULES_FILE_SETTING = "FARE_DISPUTE_RULES_FILE"
TRIP_HISTORY_FILE_SETTING = "FARE_DISPUTE_TRIP_HISTORY_FILE"
DEFAULT_RULES_FILE = FARE_DATA_DIR / "fare_rules.json"
DEFAULT_TRIP_HISTORY_FILE = FARE_DATA_DIR / "sample_trips.json"


def _data_file(setting: str, default: Path, environ: Mapping[str, str] | None) -> JsonDict:
    env = os.environ if environ is None else environ
    path = Path(env.get(setting, "").strip() or default)
    data: JsonDict = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_fare_rules(environ: Mapping[str, str] | None = None) -> JsonDict:
    """The fare rules document (fare_data/fare_rules.json unless `FARE_DISPUTE_RULES_FILE` is set)."""
    return _data_file(RULES_FILE_SETTING, DEFAULT_RULES_FILE, environ)


def load_trip_history(environ: Mapping[str, str] | None = None) -> JsonDict:
    """Trips and customers (fare_data/sample_trips.json unless `FARE_DISPUTE_TRIP_HISTORY_FILE` is set)."""
    return _data_file(TRIP_HISTORY_FILE_SETTING, DEFAULT_TRIP_HISTORY_FILE, environ)


def accepted_currencies(rules: Mapping[str, Any]) -> list[str]:
    """Currencies the agency charges in (a claim in any other is refused at the HTTP edge)."""
    return [str(code) for code in rules.get("currencies", [])]
