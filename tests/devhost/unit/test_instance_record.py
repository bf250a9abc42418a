"""The instance record and the pure log rules: folding, rewind, outstanding work, status, controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devhost import history as h
from devhost.blob_names import Record
from devhost.history import Event, compact_json
from devhost.instance import (
    Instance,
    apply_rewind,
    consumed_ids,
    fold_log,
    mark_played,
    message_record,
    outstanding_work,
    pending_control,
    plan_rewind,
    status_from_history,
)
from durable_wire import EventType, RuntimeStatus

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def started() -> Event:
    return h.execution_started(
        T0, name="hello", version="", input_text='"in"', instance_id="i1", execution_id="e1", parent=None
    )


def episode(consumed: list[int], events: list[Event], **extra: object) -> Record:
    return {"t": "ep", "consumed": consumed, "events": events, **extra}


def new_instance() -> Instance:
    return Instance("i1", "hello", "", "e1", '"in"', None, T0, T0)


def test_fold_log_rebuilds_history_and_keeps_unconsumed_messages_in_order() -> None:
    raised_early = h.event_raised(T0, "approval", '"yes"')
    raised_late = h.event_raised(T0 + timedelta(seconds=5), "note", None)
    records: list[Record] = [
        message_record(3, raised_late),
        message_record(1, raised_early),
        episode([0, 1], [h.orchestrator_started(T0), started(), raised_early, h.orchestrator_completed(T0)]),
    ]
    folded = fold_log(records)
    assert [e["EventType"] for e in folded.history] == [
        EventType.ORCHESTRATOR_STARTED,
        EventType.EXECUTION_STARTED,
        EventType.EVENT_RAISED,
        EventType.ORCHESTRATOR_COMPLETED,
    ]
    assert folded.inbox == [(3, raised_late)]
    # Messages consumed in an episode replay as played (spec §3.6); the others do not change.
    assert folded.history[1]["IsPlayed"] and folded.history[2]["IsPlayed"]
    assert not folded.history[0]["IsPlayed"]
    assert folded.continued is None and not folded.custom_status_logged


def test_fold_log_keeps_the_last_custom_status_and_failure_and_a_rewind_clears_the_failure() -> None:
    records: list[Record] = [
        episode([], [h.orchestrator_started(T0)], customStatus='"one"'),
        episode([], [h.orchestrator_completed(T0)], customStatus='"two"', failureDetails="boom"),
    ]
    folded = fold_log(records)
    assert (folded.custom_status, folded.custom_status_logged, folded.failure_details) == (
        '"two"',
        True,
        "boom",
    )
    rewound = fold_log([*records, {"t": "rewind", "positions": [], "reason": "again"}])
    assert rewound.failure_details is None


def test_fold_log_reports_a_continue_as_new_record() -> None:
    record: Record = {"t": "continued", "executionId": "e2", "event": started()}
    assert fold_log([episode([0], [started()]), record]).continued == record


def test_consumed_ids_lists_every_episodes_consumed_messages() -> None:
    records: list[Record] = [episode([0, 2], []), message_record(5, started()), episode([5], [])]
    assert consumed_ids(records) == [0, 2, 5]


def failed_activity_history() -> list[Event]:
    return [
        h.orchestrator_started(T0),
        started(),
        h.task_scheduled(T0, 0, "ok", '"a"'),
        h.task_scheduled(T0, 1, "flaky", '"b"'),
        h.sub_orchestration_created(T0, 2, "child", "", "child-1", None),
        h.orchestrator_completed(T0),
        h.orchestrator_started(T0),
        h.task_completed(T0, 0, '"done"'),
        h.task_failed(T0, 1, "broken", None),
        h.sub_orchestration_failed(T0, 2, "child broke", None),
        h.execution_completed(T0, -1, RuntimeStatus.FAILED, "failed"),
        h.orchestrator_completed(T0),
    ]


def test_plan_rewind_names_failed_tasks_their_scheduling_events_the_completion_and_failed_children() -> None:
    plan = plan_rewind(failed_activity_history())
    assert plan.positions == [3, 4, 8, 9, 10]
    assert plan.children == ["child-1"]


def test_apply_rewind_turns_positions_into_generic_events_but_keeps_a_childs_creation() -> None:
    history = failed_activity_history()
    apply_rewind(history, {"t": "rewind", "positions": [3, 4, 8, 99]})
    assert history[3]["EventType"] == EventType.GENERIC_EVENT
    assert history[3]["EventId"] == 1  # a rewound TaskScheduled keeps its id, so the replay re-allocates it
    assert history[3]["Reason"] == "Rewound: TaskScheduled"
    assert history[8]["EventType"] == EventType.GENERIC_EVENT and history[8]["EventId"] == -1
    assert history[4]["EventType"] == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED
    assert history[4]["Reason"] == "Rewound: SubOrchestrationInstanceCreated"


def test_outstanding_work_is_what_history_scheduled_and_nothing_answered() -> None:
    history = [
        h.orchestrator_started(T0),
        started(),
        h.task_scheduled(T0, 0, "done", None),
        h.task_scheduled(T0, 1, "answered-in-inbox", None),
        h.task_scheduled(T0, 2, "lost", None),
        h.timer_created(T0, 3, "2026-03-01T10:00:00.0000000Z"),
        h.timer_created(T0, 4, "2026-03-01T11:00:00.0000000Z"),
        h.sub_orchestration_created(T0, 5, "child", "", "c", None),
        h.event_sent(T0, 6, "@counter@k", "op", compact_json({"id": "r1"})),
        h.orchestrator_completed(T0),
        h.task_completed(T0, 0, None),
        h.timer_fired(T0, 3, "2026-03-01T10:00:00.0000000Z"),
    ]
    inbox = [(7, h.task_failed(T0, 1, "x", None))]
    outstanding = outstanding_work(history, inbox)
    assert [(e["EventType"], e["EventId"]) for e in outstanding] == [
        (EventType.TASK_SCHEDULED, 2),
        (EventType.TIMER_CREATED, 4),
        (EventType.SUB_ORCHESTRATION_INSTANCE_CREATED, 5),
        (EventType.EVENT_SENT, 6),
    ]


def test_status_from_history() -> None:
    assert status_from_history([], RuntimeStatus.PENDING) == (RuntimeStatus.PENDING, None)
    suspended = [started(), h.execution_suspended(T0, None)]
    assert status_from_history(suspended, RuntimeStatus.PENDING) == (RuntimeStatus.SUSPENDED, None)
    resumed = [*suspended, h.execution_resumed(T0, None)]
    assert status_from_history(resumed, RuntimeStatus.PENDING) == (RuntimeStatus.RUNNING, None)
    completed = h.execution_completed(T0, -1, RuntimeStatus.TERMINATED, "stop")
    assert status_from_history([*resumed, completed], RuntimeStatus.RUNNING) == (
        RuntimeStatus.TERMINATED,
        completed,
    )


def test_pending_control_is_the_last_suspend_or_resume_in_the_inbox() -> None:
    assert pending_control([]) is None
    suspend, resume = h.execution_suspended(T0, None), h.execution_resumed(T0, None)
    raised = h.event_raised(T0, "x", None)
    assert pending_control([(1, suspend), (2, raised)]) == "suspend"
    assert pending_control([(1, suspend), (2, resume), (3, raised)]) == "resume"


def test_mark_played_sets_is_played_on_new_message_events_and_refreshes_their_json() -> None:
    instance = new_instance()
    instance.keep_history([h.orchestrator_started(T0)])
    raised = h.event_raised(T0, "x", None)
    instance.history.extend([raised, h.orchestrator_completed(T0)])
    instance.history_json.extend(compact_json(e) for e in instance.history[1:])
    mark_played(instance)
    assert raised["IsPlayed"] and '"IsPlayed":true' in instance.history_json[1]
    assert not instance.history[2]["IsPlayed"]
    assert instance.played_upto == 3


def test_instance_document_round_trips_and_comes_back_without_history() -> None:
    instance = new_instance()
    instance.status = RuntimeStatus.COMPLETED
    instance.output_text = '"out"'
    instance.executions = ["e0", "e1"]
    back = Instance.from_document(instance.document())
    assert back.document() == instance.document()
    assert back.is_terminal and not back.history_loaded and back.log_created
    assert back.log_name == "logs/i1/e1"
