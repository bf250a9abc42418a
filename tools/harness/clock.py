"""A devhost's virtual clock: read it, move it forward, move it to an instant.

Built on `devhost.testing.HostClient` (its `/admin/clock` calls): one way to move time for the
tests, the fuzzing, the soak and the benchmarks. Only a host started with `--virtual-clock` lets
time be moved; timers that come due fire (asynchronously: poll for what they cause).
"""

from __future__ import annotations

from datetime import UTC, datetime

from devhost.testing import HostClient


class VirtualClock:
    """The clock of the host at `base_url` (or of a `HostClient`, a started `DevHost` included)."""

    def __init__(self, host: HostClient | str) -> None:
        self.host = HostClient(host) if isinstance(host, str) else host

    def now(self) -> datetime:
        """The host's time, virtual or real, as an aware UTC datetime."""
        return self.host.clock().astimezone(UTC)

    def advance(self, seconds: float) -> datetime:
        """Move time forward by `seconds`; returns the new time."""
        return self.host.advance_clock(seconds=seconds).astimezone(UTC)

    def advance_to(self, moment: datetime) -> None:
        """Move time forward to `moment` (never backwards: an instant already past changes nothing)."""
        seconds = (moment - self.now()).total_seconds()
        if seconds > 0:
            self.advance(seconds)


def advance_clock(base_url: str, seconds: float) -> datetime:
    """Move the virtual clock of the host at `base_url` forward by `seconds`; the new time."""
    clock = VirtualClock(base_url)
    try:
        return clock.advance(seconds)
    finally:
        clock.host.close()
