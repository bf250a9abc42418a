"""Finished instances leave memory: the most recent stay, the rest are a small index entry each.

A hub's finished instances are never needed again for running work, only for queries and status
calls. The engine keeps the documents of the last `KEPT_IN_MEMORY` to finish; older ones are
reduced to what a query filters and sorts on (status, creation time) and their documents are read
back from storage when a status call or a query page asks for them. Memory therefore stays flat
however many instances complete.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

KEPT_IN_MEMORY = 1000
KEPT_SETTING = "DEVHOST_FINISHED_INSTANCES_IN_MEMORY"  # tuning (and tests): how many documents stay


@dataclass(frozen=True, slots=True)
class InstanceSummary:
    """What a query filters and sorts on, for every instance of the hub."""

    instance_id: str
    status: str
    created: datetime


class FinishedInstances:
    """The order in which instances finished, and the index of those only in storage."""

    def __init__(self, kept: int | None = None) -> None:
        self.kept = kept if kept is not None else int(os.environ.get(KEPT_SETTING) or KEPT_IN_MEMORY)
        self._order: OrderedDict[str, None] = OrderedDict()
        self._stored: dict[str, tuple[str, float]] = {}  # id -> (status, created POSIX time)

    def finished(self, instance_id: str) -> None:
        """Record that an instance finished, or was read back from storage: it is the newest now."""
        self._order[instance_id] = None
        self._order.move_to_end(instance_id)
        self._stored.pop(instance_id, None)

    def overflow(self) -> list[str]:
        """The oldest ids beyond what stays in memory, taken out of the line."""
        overflow = []
        while len(self._order) > self.kept:
            oldest, _ = self._order.popitem(last=False)
            overflow.append(oldest)
        return overflow

    def keep(self, instance_id: str) -> None:
        """Not now (the instance is busy): it goes to the end of the line, to leave later."""
        self._order[instance_id] = None

    def stored(self, instance_id: str, status: str, created: datetime) -> None:
        """The instance's document is only in storage from now on."""
        self._order.pop(instance_id, None)
        self._stored[instance_id] = (status, created.timestamp())

    def forget(self, instance_id: str) -> None:
        """Purged or started anew: no longer a finished instance."""
        self._order.pop(instance_id, None)
        self._stored.pop(instance_id, None)

    def in_storage(self, instance_id: str) -> bool:
        return instance_id in self._stored

    def summaries(self) -> list[InstanceSummary]:
        return [
            InstanceSummary(instance_id, status, datetime.fromtimestamp(created, UTC))
            for instance_id, (status, created) in self._stored.items()
        ]

    def __len__(self) -> int:
        return len(self._stored)
