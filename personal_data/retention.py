"""The erasure schedule and the erasure itself, in this task hub's payload container.

A schedule record is a small JSON blob `erasure/<due, yyyymmddThhmmssZ>/<instance id, quoted>`:
fixed-width times sort by name, so the due records are the first names of the listing and the
next due time is the first name after them. Writing a record again (a retried or re-delivered
activity) overwrites it with the same content. Erasing deletes the instance's payload blobs, then
its record; a crash between the two only means the next sweep deletes nothing and removes the
record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from blob_clients import container_client
from claim_check import PAYLOADS_CONTAINER_PURPOSE
from contracts import duration_setting, format_duration, utc_text

RETENTION_SETTING = "PERSONAL_DATA_RETENTION"
DEFAULT_RETENTION = "P30D"
SCHEDULE_PREFIX = "erasure/"
_TIME_FORMAT = "%Y%m%dT%H%M%SZ"


def retention_period(environ: Mapping[str, str] | None = None) -> timedelta:
    """`PERSONAL_DATA_RETENTION` (ISO 8601 duration, default P30D); zero or negative is refused."""
    period = duration_setting(RETENTION_SETTING, DEFAULT_RETENTION, environ)
    if period <= timedelta(0):
        raise ValueError(
            f"app setting {RETENTION_SETTING} must be a positive duration, not {format_duration(period)}"
        )
    return period


def parse_utc(text: str) -> datetime:
    """An ISO 8601 time (`Z` or an offset) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class ScheduledErasure:
    """A schedule record as listed: when and whose (its name says both)."""

    due: datetime
    instance_id: str

    @property
    def blob_name(self) -> str:
        """`erasure/<due, yyyymmddThhmmssZ>/<instance id, quoted>`."""
        due = self.due.astimezone(UTC).strftime(_TIME_FORMAT)
        return f"{SCHEDULE_PREFIX}{due}/{quote(self.instance_id, safe='')}"


@dataclass(frozen=True)
class ErasureRecord(ScheduledErasure):
    """One case whose personal payloads are to be erased at `due`, and when it completed."""

    completed_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {
            "instanceId": self.instance_id,
            "completedAt": utc_text(self.completed_at),
            "dueAt": utc_text(self.due),
        }


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did: the cases erased, how many blobs went, and when the next case is due."""

    erased: list[str]
    blobs_deleted: int
    next_due: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "erased": self.erased,
            "blobsDeleted": self.blobs_deleted,
            "nextDueAt": utc_text(self.next_due) if self.next_due else None,
        }


class ErasureSchedule:
    """Schedule records and the personal payloads they point at, in one payload container."""

    def __init__(self, payloads: ContainerClient) -> None:
        self._payloads = payloads

    @classmethod
    def from_settings(cls, environ: Mapping[str, str] | None = None) -> ErasureSchedule:
        """This task hub's payload container (`<prefix>-<hub>-payloads`)."""
        env = os.environ if environ is None else environ
        return cls(container_client(PAYLOADS_CONTAINER_PURPOSE, env))

    def schedule(self, instance_id: str, completed_at: datetime, retention: timedelta) -> ErasureRecord:
        """Record that `instance_id`'s payloads go at `completed_at + retention` (idempotent)."""
        if not instance_id:
            raise ValueError("an instance id is required")
        record = ErasureRecord(
            due=(completed_at + retention).astimezone(UTC),
            instance_id=instance_id,
            completed_at=completed_at.astimezone(UTC),
        )
        self._payloads.get_blob_client(record.blob_name).upload_blob(
            json.dumps(record.to_dict()).encode(),
            overwrite=True,
            content_settings=ContentSettings(content_type="application/json"),
        )
        return record

    def records(self) -> Iterator[ScheduledErasure]:
        """Every scheduled erasure, the earliest first."""
        for blob in self._payloads.list_blobs(name_starts_with=SCHEDULE_PREFIX):
            due_text, _, quoted = str(blob.name).removeprefix(SCHEDULE_PREFIX).partition("/")
            try:
                due = datetime.strptime(due_text, _TIME_FORMAT).replace(tzinfo=UTC)
            except ValueError:
                continue  # not a schedule record: never ours to act on
            yield ScheduledErasure(due, unquote(quoted))

    def sweep(self, now: datetime) -> SweepResult:
        """Erase every case due at or before `now`; the next due time after that."""
        erased: list[str] = []
        deleted = 0
        for record in self.records():
            if record.due > now:
                return SweepResult(erased, deleted, record.due)
            deleted += self.erase(record.instance_id)
            self._delete(record.blob_name)
            erased.append(record.instance_id)
        return SweepResult(erased, deleted, None)

    def erase(self, instance_id: str) -> int:
        """Delete every payload of `instance_id`; how many blobs went."""
        return sum(self._delete(name) for name in self.payloads_of(instance_id))

    def payloads_of(self, instance_id: str) -> list[str]:
        """The names of `instance_id`'s payload blobs: scopes `<id>` and `<id>:<anything>`."""
        own = quote(instance_id, safe="")
        scoped = quote(instance_id + ":", safe="")
        return [
            str(blob.name)
            for blob in self._payloads.list_blobs(name_starts_with=own)
            if str(blob.name).startswith((f"{own}/", scoped))
        ]

    def _delete(self, name: str) -> int:
        try:
            self._payloads.get_blob_client(name).delete_blob()
        except ResourceNotFoundError:
            return 0  # deleted by an earlier sweep that crashed before removing the record
        return 1
