"""The finished-instance index keeps the most recent in memory and indexes the rest."""

from __future__ import annotations

from datetime import UTC, datetime

from devhost.finished import FinishedInstances

CREATED = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_only_the_most_recently_finished_stay_in_memory() -> None:
    finished = FinishedInstances(kept=2)
    for instance_id in "abc":
        finished.finished(instance_id)
    assert finished.overflow() == ["a"]
    assert finished.overflow() == []
    finished.stored("a", "Completed", CREATED)
    assert finished.in_storage("a") and not finished.in_storage("c")
    assert [(s.instance_id, s.status, s.created) for s in finished.summaries()] == [
        ("a", "Completed", CREATED)
    ]


def test_an_instance_read_back_or_started_again_leaves_the_index() -> None:
    finished = FinishedInstances(kept=1)
    finished.stored("a", "Failed", CREATED)
    finished.finished("a")  # read back into memory
    assert not finished.in_storage("a")
    finished.stored("b", "Completed", CREATED)
    finished.forget("b")
    assert len(finished) == 0
