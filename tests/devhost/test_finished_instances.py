"""Finished instances leave memory (history at once, documents once newer ones finished) and stay
fully visible: status with history, queries, events refused with 410, purge, and after a restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devhost.testing import DevHost

SAMPLES = Path(__file__).parent / "apps" / "samples"
WEBHOOK = "/runtime/webhooks/durabletask"


def test_finished_instances_are_read_back_from_storage_when_asked(
    devhost_factory: Callable[..., DevHost],
) -> None:
    host = devhost_factory(SAMPLES, settings={"DEVHOST_FINISHED_INSTANCES_IN_MEMORY": "2"})
    ids = [host.start_orchestration("hello_orchestrator", instance_id=f"done-{n}") for n in range(5)]
    for instance_id in ids:
        host.wait_for(instance_id, "Completed")
    host.wait_until(
        lambda: host.metrics()["instancesInMemory"] <= 2, what="all but 2 documents to leave memory"
    )

    oldest = host.status(ids[0], history=True)
    assert oldest is not None and oldest["output"] == ["Hello Seattle", "Hello Tokyo", "Hello London"]
    assert next(e["EventType"] for e in oldest["historyEvents"]) == "ExecutionStarted"
    assert len(host.raw_history(ids[1])) > 10

    listed = host.get(f"{WEBHOOK}/instances", params={"instanceIdPrefix": "done-"}).json()
    assert sorted(i["instanceId"] for i in listed) == ids
    assert all(i["output"] == oldest["output"] for i in listed)
    completed = host.get(f"{WEBHOOK}/instances", params={"runtimeStatus": "Completed", "top": "2"})
    assert len(completed.json()) == 2 and completed.headers["x-ms-continuation-token"]

    assert host.post(f"{WEBHOOK}/instances/{ids[2]}/raiseEvent/late", json={}).status_code == 410

    host.restart()
    after = host.get(f"{WEBHOOK}/instances", params={"instanceIdPrefix": "done-"}).json()
    assert sorted(i["instanceId"] for i in after) == ids

    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    purged = host.delete(
        f"{WEBHOOK}/instances", params={"createdTimeFrom": since, "runtimeStatus": "Completed"}
    )
    assert purged.json() == {"instancesDeleted": 5}
    assert host.status(ids[0]) is None
