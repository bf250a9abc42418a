"""Reads of the Durable management API for the console: instance queries with paging, and filters.

The SDK's `get_status_by` returns the first page only and never sends a continuation token
(spec §10.3), so queries go straight to the management API at the durable client binding's
`rpcBaseUrl` (`GET instances/?runtimeStatus=..&createdTimeFrom=..&instanceIdPrefix=..&top=..` with
the `x-ms-continuation-token` header, spec §11.4), the same endpoint the SDK itself calls. Single
instances and operator actions use the SDK client methods.

"Now": every answer of the management API carries the host's `Date` header, and the console takes
the time of its pages from it (`ManagementApi.host_now`). On Azure that is the real UTC time; on the
devhost with `--virtual-clock` it is the virtual time the instances' timestamps are written in, so
ages, "waiting for" and SLA clocks agree with the instances shown without the app reading anything
devhost-specific. Without a usable header the console falls back to its own clock.

Paging with filters the API does not have (region, text in the business id): the console walks the
API's pages and keeps matching rows. A console page's cursor is the API continuation token of the
API page it stopped in plus how many rows of that page it already consumed, so the next console page
starts exactly where the last one ended, whatever the page sizes.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import azure.durable_functions as df

from audit_packets.history import loads_json
from console.catalogue import regions_of
from workflow_catalogue import RELIEF_ROUTING, WORKFLOWS_BY_NAME, Workflow, workflow_of

CONTINUATION_HEADER = "x-ms-continuation-token"
# The statuses the console's filter offers and its charts show, in display order (no workflow of this
# app is ever Canceled, so that status is not offered).
RUNTIME_STATUSES = ("Running", "Pending", "Suspended", "Completed", "Failed", "Terminated", "ContinuedAsNew")
API_PAGE_SIZE = 200  # rows per management API call when the console filters rows itself
MAX_SCANNED_ROWS = 20_000  # a filtered page never reads more than this many instances
REQUEST_TIMEOUT_SECONDS = 30


class ManagementError(Exception):
    """The management API answered something the console cannot use."""


@dataclass(frozen=True)
class InstanceFilter:
    """What the operator asked the list for; empty fields do not filter."""

    workflow: str = ""
    statuses: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    region: str = ""
    text: str = ""
    with_input: bool = False  # read inputs even when no region is needed (a dispute's currency)

    @property
    def filters_rows(self) -> bool:
        """Whether rows are filtered here (not by the API), so API pages must be scanned."""
        return bool(self.region or self.text)

    @property
    def needs_input(self) -> bool:
        """Whether the orchestration input must be read (regions come from it)."""
        return self.with_input or self.workflow in ("", RELIEF_ROUTING.name) or bool(self.region)

    def api_params(self, top: int) -> dict[str, str]:
        """Query parameters of the management API's instance query."""
        params = {"top": str(top), "showInput": "true" if self.needs_input else "false"}
        if self.statuses:
            params["runtimeStatus"] = ",".join(self.statuses)
        if self.created_from is not None:
            params["createdTimeFrom"] = _iso(self.created_from)
        if self.created_to is not None:
            params["createdTimeTo"] = _iso(self.created_to)
        workflow = WORKFLOWS_BY_NAME.get(self.workflow)
        if workflow is not None:
            params["instanceIdPrefix"] = workflow.instance_prefix
        return params


@dataclass(frozen=True)
class Cursor:
    """Where a console page starts: an API continuation token and rows of that page already shown."""

    token: str = ""
    skip: int = 0

    def encode(self) -> str:
        """URL-safe text for a `cursor` query parameter."""
        raw = json.dumps({"t": self.token, "s": self.skip}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor in a query parameter; a malformed one starts from the beginning."""
        if not text:
            return cls()
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            return cls(str(data["t"]), max(0, int(data["s"])))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return cls()


@dataclass
class InstanceRow:
    """One instance as the list shows it."""

    instance_id: str
    name: str
    runtime_status: str
    created_time: str
    last_updated_time: str
    custom_status: Any
    workflow: Workflow | None
    regions: list[str]
    raw: dict[str, Any] = field(repr=False)

    @property
    def business_id(self) -> str:
        """Order, dispute or request id; the whole instance id for other orchestrations."""
        return self.workflow.business_id(self.instance_id) if self.workflow else self.instance_id

    @property
    def stage(self) -> str:
        """The custom status `stage`, if the workflow sets one."""
        custom = self.custom_status
        return str(custom.get("stage") or "") if isinstance(custom, dict) else ""

    @property
    def waiting_for(self) -> str:
        """The custom status `waitingFor`, if set."""
        custom = self.custom_status
        return str(custom.get("waitingFor") or "") if isinstance(custom, dict) else ""


@dataclass
class InstancePage:
    """A console page of instances and the cursor of the next one (None at the end)."""

    rows: list[InstanceRow]
    next_cursor: Cursor | None
    scanned: int


def row_from_status(status: dict[str, Any]) -> InstanceRow:
    """An `InstanceRow` from one status object of the management API."""
    instance_id = str(status.get("instanceId") or "")
    name = str(status.get("name") or "")
    workflow = workflow_of(instance_id, name or None)
    custom = status.get("customStatus")
    if isinstance(custom, str):
        with contextlib.suppress(ValueError):
            custom = json.loads(custom)
    regions = regions_of(workflow, loads_json(status.get("input")))
    return InstanceRow(
        instance_id=instance_id,
        name=name,
        runtime_status=str(status.get("runtimeStatus") or ""),
        created_time=str(status.get("createdTime") or ""),
        last_updated_time=str(status.get("lastUpdatedTime") or ""),
        custom_status=custom,
        workflow=workflow,
        regions=regions,
        raw=status,
    )


def matches(row: InstanceRow, wanted: InstanceFilter) -> bool:
    """Whether a row passes the filters the API cannot apply (region, text in the business id)."""
    if wanted.region and wanted.region not in row.regions:
        return False
    return not wanted.text or wanted.text.casefold() in row.business_id.casefold()


class ManagementApi:
    """The management API behind a durable client binding (its `rpcBaseUrl`)."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        # The binding's RPC base URL is what every SDK client call uses; the SDK keeps it private.
        base = client._orchestration_bindings.rpc_base_url
        if not base:
            raise ManagementError("the durable client binding has no rpcBaseUrl")
        self.base_url = base if base.endswith("/") else base + "/"
        self.host_time: datetime | None = None

    def host_now(self) -> datetime:
        """The host's time from the last answer's `Date` header, else this process's UTC time."""
        return self.host_time or datetime.now(UTC)

    def _note_host_time(self, headers: Mapping[str, str]) -> None:
        moment = http_date(headers.get("Date", ""))
        if moment is not None:
            self.host_time = moment

    async def instance_status(self, instance_id: str) -> dict[str, Any] | None:
        """`GET instances/{id}` with input, history and history outputs; None for an unknown instance."""
        params = {"showHistory": "true", "showHistoryOutput": "true", "showInput": "true"}
        url = f"{self.base_url}instances/{quote(instance_id, safe='')}?{urlencode(params)}"
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
            self._note_host_time(response.headers)
            if response.status == 404:
                return None
            if response.status not in (200, 202):
                raise ManagementError(f"instance status answered {response.status}")
            body = await response.json(content_type=None)
        if not isinstance(body, dict) or not body.get("runtimeStatus"):
            return None
        return body

    async def query_page(self, params: dict[str, str], token: str) -> tuple[list[dict[str, Any]], str]:
        """One page of `GET instances/` and the continuation token of the next ('' at the end)."""
        headers = {CONTINUATION_HEADER: token} if token else {}
        url = f"{self.base_url}instances/?{urlencode(params)}"
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers) as response,
        ):
            self._note_host_time(response.headers)
            if response.status != 200:
                raise ManagementError(f"instance query answered {response.status}")
            body = await response.json(content_type=None)
            next_token = response.headers.get(CONTINUATION_HEADER, "") or ""
        if not isinstance(body, list):
            raise ManagementError("instance query did not answer a list")
        return [item for item in body if isinstance(item, dict)], next_token

    async def instances(self, wanted: InstanceFilter, cursor: Cursor, size: int) -> InstancePage:
        """One console page of instances matching `wanted`, starting at `cursor`."""
        top = API_PAGE_SIZE if wanted.filters_rows else size
        params = wanted.api_params(top)
        token, skip = cursor.token, cursor.skip
        rows: list[InstanceRow] = []
        scanned = 0
        while True:
            statuses, next_token = await self.query_page(params, token)
            for index, status in enumerate(statuses):
                if index < skip:
                    continue
                scanned += 1
                row = row_from_status(status)
                if not matches(row, wanted):
                    continue
                rows.append(row)
                if len(rows) == size:
                    more = index + 1 < len(statuses) or bool(next_token)
                    following = Cursor(token, index + 1) if index + 1 < len(statuses) else Cursor(next_token)
                    return InstancePage(rows, following if more else None, scanned)
            if not next_token or not statuses or scanned >= MAX_SCANNED_ROWS:
                return InstancePage(rows, Cursor(next_token) if next_token else None, scanned)
            token, skip = next_token, 0

    async def all_instances(self, wanted: InstanceFilter, limit: int = MAX_SCANNED_ROWS) -> list[InstanceRow]:
        """Every instance matching `wanted` (up to `limit` read), following continuation tokens."""
        rows, _ = await self.scan(wanted, limit)
        return rows

    async def scan(
        self, wanted: InstanceFilter, limit: int = MAX_SCANNED_ROWS
    ) -> tuple[list[InstanceRow], bool]:
        """Like `all_instances`, and whether the scan stopped at `limit` with more left to read."""
        params = wanted.api_params(API_PAGE_SIZE)
        token = ""
        rows: list[InstanceRow] = []
        read = 0
        while True:
            statuses, token = await self.query_page(params, token)
            read += len(statuses)
            rows.extend(row for row in map(row_from_status, statuses) if matches(row, wanted))
            if not token or not statuses:
                return rows, False
            if read >= limit:
                return rows, True


def parse_statuses(values: Iterable[str]) -> tuple[str, ...]:
    """Known runtime status names from query values (comma-separated or repeated), in a fixed order."""
    wanted = {part.strip() for value in values for part in value.split(",") if part.strip()}
    return tuple(status for status in RUNTIME_STATUSES if status in wanted)


def http_date(text: str) -> datetime | None:
    """An HTTP `Date` header value (RFC 9110 IMF-fixdate) as an aware UTC datetime, or None."""
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
