"""Every instance status a host's management API lists (`GET instances`, all pages).

The API answers a page at a time and announces the next one in `x-ms-continuation-token`; the
fuzzing, the console benchmark and the tests' `DurableApi` all want the whole list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
CONTINUATION_HEADER = "x-ms-continuation-token"


def list_all_instances(
    base_url: str, headers: Mapping[str, str], params: Mapping[str, str], *, page_size: int = 500
) -> list[dict[str, Any]]:
    """Every status `GET instances` lists for `params` (pages of `page_size`), continuation followed."""
    found: list[dict[str, Any]] = []
    continuation = ""
    while True:
        response = requests.get(
            f"{base_url}{WEBHOOK_PATH}/instances",
            params={"top": str(page_size), **params},
            headers={**headers, **({CONTINUATION_HEADER: continuation} if continuation else {})},
            timeout=60,
        )
        response.raise_for_status()
        found += response.json()
        continuation = response.headers.get(CONTINUATION_HEADER, "")
        if not continuation:
            return found
