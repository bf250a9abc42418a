"""Conformance items 36-50 (spec §15): the public HTTP management API (§11, §12.5)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from tests.devhost.conformance_a import started_running
from tests.devhost.conformance_b_support import (
    STATUS_KEYS,
    STATUS_TIME,
    completed,
    finished_each_way,
    is_json_or_empty,
    parse_status_time,
    unique,
    wait_for,
)
from tests.support.durable_http import WEBHOOK, DurableApi
from tests.support.wire import devhost_only, raw_history, trace


def _query(api: DurableApi, token: str | None = None, **params: str) -> requests.Response:
    headers = {"x-ms-continuation-token": token} if token else {}
    return requests.get(f"{api.webhook}/instances/", params=params, headers=headers, timeout=30)


def _ids(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)
    return [str(item["instanceId"]) for item in body]


def _purge(api: DurableApi, instance_id: str) -> requests.Response:
    return requests.delete(f"{api.webhook}/instances/{quote(instance_id, safe='')}", timeout=30)


def test_c36_invalid_instance_ids_are_rejected_with_400(api: DurableApi) -> None:
    suffix = unique("c36")
    invalid = {
        "too long": "a" * 257,
        "starts with @": f"@{suffix}",
        "slash": f"{suffix}/x",
        "backslash": f"{suffix}\\x",
        "question mark": f"{suffix}?x",
        "hash": f"{suffix}#x",
    }
    for reason, instance_id in invalid.items():
        response = api.start("hello_sequence", instance_id=instance_id)
        assert response.status_code == 400, (reason, response.status_code, response.text)
        assert api.status(instance_id).status_code == 404, reason
    # 256 characters is the maximum, not beyond it
    longest = (suffix + "b" * 256)[:256]
    response = api.start("hello_sequence", instance_id=longest)
    assert response.status_code == 202, response.text
    assert response.json()["id"] == longest
    assert api.wait(longest)["runtimeStatus"] == "Completed"


def test_c37_status_of_unknown_instance_is_404_with_empty_body(api: DurableApi) -> None:
    response = api.status(unique("c37-unknown"))
    assert response.status_code == 404
    assert response.content == b""


def test_c38_status_is_202_with_location_and_retry_after_while_running_or_suspended(api: DurableApi) -> None:
    instance_id = started_running(api, "b_wait_event")
    expected_path = f"{WEBHOOK}/instances/{instance_id}"
    try:
        for expected in ("Running", "Suspended"):
            if expected == "Suspended":
                assert api.post(instance_id, "suspend", reason="c38").status_code == 202
                wait_for(api, instance_id, {"Suspended"})
            response = api.status(instance_id)
            assert response.status_code == 202, (expected, response.status_code)
            assert response.json()["runtimeStatus"] == expected
            assert response.headers.get("Retry-After") == "5", expected
            location = response.headers.get("Location")
            assert location, expected
            assert urlsplit(location).path == expected_path, (expected, location)
            assert location.startswith(api.base_url), (expected, location)
    finally:
        api.post(instance_id, "terminate", reason="cleanup")


def test_c39_status_code_is_200_when_finished_and_500_for_failed_on_request(api: DurableApi) -> None:
    done, failed, terminated = finished_each_way(api, reason="c39")

    for instance_id, status in ((done, "Completed"), (failed, "Failed"), (terminated, "Terminated")):
        response = api.status(instance_id)
        assert response.status_code == 200, (status, response.status_code)
        assert response.json()["runtimeStatus"] == status

    response = api.status(failed, returnInternalServerErrorOnFailure="true")
    assert response.status_code == 500
    assert response.json()["runtimeStatus"] == "Failed"
    for instance_id in (done, terminated):
        response = api.status(instance_id, returnInternalServerErrorOnFailure="true")
        assert response.status_code == 200
    running = started_running(api, "b_wait_event")
    try:
        assert api.status(running, returnInternalServerErrorOnFailure="true").status_code == 202
    finally:
        api.post(running, "terminate", reason="cleanup")


def test_c40_status_body_has_exactly_the_documented_keys(api: DurableApi) -> None:
    done = completed(api, "b_echo", {"v": 40})
    running = started_running(api, "b_wait_event", {"v": 41})
    try:
        for instance_id in (done, running):
            body = api.status(instance_id).json()
            assert set(body) == STATUS_KEYS, body
            assert body["instanceId"] == instance_id
            assert re.match(STATUS_TIME, body["createdTime"]), body["createdTime"]
            assert re.match(STATUS_TIME, body["lastUpdatedTime"]), body["lastUpdatedTime"]
            assert parse_status_time(body["lastUpdatedTime"]) >= parse_status_time(body["createdTime"])

            with_history = api.status(instance_id, showHistory="true").json()
            assert set(with_history) == {*STATUS_KEYS, "historyEvents"}, with_history.keys()
            assert isinstance(with_history["historyEvents"], list)

            without = api.status(instance_id, showHistory="false").json()
            assert set(without) == STATUS_KEYS
    finally:
        api.post(running, "terminate", reason="cleanup")


def test_c41_show_input_defaults_to_true(api: DurableApi) -> None:
    instance_id = completed(api, "b_echo", {"a": 1})
    assert api.status(instance_id).json()["input"] == {"a": 1}
    assert api.status(instance_id, showInput="true").json()["input"] == {"a": 1}
    hidden = api.status(instance_id, showInput="false").json()
    assert "input" in hidden
    assert hidden["input"] is None
    assert hidden["output"] == {"a": 1}


def test_c42_query_pages_with_top_and_continuation_token(api: DurableApi) -> None:
    prefix = unique("c42")
    expected = {f"{prefix}-{i:03d}" for i in range(103)}
    for number, instance_id in enumerate(sorted(expected)):
        assert api.start("b_echo", {"n": number}, instance_id).status_code == 202

    # without a filter: 200, a JSON array, the header
    unfiltered = requests.get(f"{api.webhook}/instances", timeout=30)
    assert unfiltered.status_code == 200
    assert isinstance(unfiltered.json(), list)

    # default page size 100
    first = _query(api, instanceIdPrefix=prefix)
    first_ids = _ids(first)
    assert len(first_ids) == 100
    token = first.headers.get("x-ms-continuation-token")
    assert token, "a continuation token must announce the next page"
    second = _query(api, token, instanceIdPrefix=prefix)
    second_ids = _ids(second)
    assert len(second_ids) == 3
    assert not second.headers.get("x-ms-continuation-token")
    assert set(first_ids) | set(second_ids) == expected
    assert not set(first_ids) & set(second_ids)

    # top=40: 40 + 40 + 23
    seen: list[str] = []
    sizes: list[int] = []
    next_token: str | None = None
    for _ in range(10):
        page = _query(api, next_token, instanceIdPrefix=prefix, top="40")
        page_ids = _ids(page)
        sizes.append(len(page_ids))
        seen.extend(page_ids)
        next_token = page.headers.get("x-ms-continuation-token") or None
        if not next_token:
            break
    assert sizes == [40, 40, 23]
    assert sorted(seen) == sorted(expected)


def test_c43_query_filters_by_status_time_and_prefix(api: DurableApi) -> None:
    prefix = unique("c43")
    done = completed(api, "b_echo", {"n": 1}, f"{prefix}-done")
    failed = completed(api, "b_fail", {"n": 2}, f"{prefix}-failed")
    running = started_running(api, "b_wait_event", {"n": 3}, f"{prefix}-running")
    other = completed(api, "b_echo", {"n": 4}, unique("c43other"))
    try:
        assert _ids(_query(api, instanceIdPrefix=prefix)).__len__() == 3
        assert set(_ids(_query(api, instanceIdPrefix=prefix))) == {done, failed, running}
        assert other not in _ids(_query(api, instanceIdPrefix=prefix))
        assert _ids(_query(api, instanceIdPrefix=prefix, runtimeStatus="Running,Pending")) == [running]
        assert set(_ids(_query(api, instanceIdPrefix=prefix, runtimeStatus="Completed,Failed"))) == {
            done,
            failed,
        }
        repeated = requests.get(
            f"{api.webhook}/instances",
            params=[
                ("instanceIdPrefix", prefix),
                ("runtimeStatus", "Completed"),
                ("runtimeStatus", "Failed"),
            ],
            timeout=30,
        )
        assert set(_ids(repeated)) == {done, failed}
        assert _ids(_query(api, instanceIdPrefix=prefix, runtimeStatus="Terminated")) == []
        assert _ids(_query(api, instanceIdPrefix=prefix, runtimeStatus="Completed")) == [done]
        assert _ids(_query(api, instanceIdPrefix=prefix, runtimeStatus="Failed")) == [failed]
    finally:
        api.post(running, "terminate", reason="cleanup")

    # createdTimeFrom / createdTimeTo (the client's %Y-%m-%dT%H:%M:%S.%fZ form)
    window = unique("c43w")
    early = completed(api, "b_echo", {"n": 5}, f"{window}-early")
    time.sleep(1.2)
    late = completed(api, "b_echo", {"n": 6}, f"{window}-late")
    early_created = parse_status_time(api.status(early).json()["createdTime"])
    late_created = parse_status_time(api.status(late).json()["createdTime"])
    assert late_created > early_created

    def fmt(moment: Any) -> str:
        return str(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))

    assert _ids(_query(api, instanceIdPrefix=window, createdTimeFrom=fmt(late_created))) == [late]
    to_early = fmt(early_created + timedelta(seconds=1))
    assert _ids(_query(api, instanceIdPrefix=window, createdTimeTo=to_early)) == [early]
    both = _query(
        api,
        instanceIdPrefix=window,
        createdTimeFrom=fmt(early_created),
        createdTimeTo=fmt(late_created + timedelta(seconds=1)),
    )
    assert set(_ids(both)) == {early, late}


def test_c44_terminate_status_codes_and_reason_as_output(api: DurableApi) -> None:
    instance_id = started_running(api, "b_wait_event")
    response = api.post(instance_id, "terminate", reason="stopped by c44")
    assert response.status_code == 202
    status = wait_for(api, instance_id, {"Terminated"})
    assert status["output"] == "stopped by c44"

    assert api.post(instance_id, "terminate", reason="again").status_code == 410
    finished = completed(api, "b_echo", {"x": 1})
    assert api.post(finished, "terminate", reason="late").status_code == 410
    assert api.status(finished).json()["runtimeStatus"] == "Completed"
    assert api.post(unique("c44-unknown"), "terminate", reason="nobody").status_code == 404


@devhost_only
def test_c45_suspend_holds_episodes_and_events_until_resume(api: DurableApi, base_url: str) -> None:
    instance_id = started_running(api, "b_wait_event", {"tag": "c45"})
    assert api.post(instance_id, "suspend", reason="hold").status_code == 202
    assert wait_for(api, instance_id, {"Suspended"})["runtimeStatus"] == "Suspended"
    episodes = len(trace(base_url, instance_id))

    assert api.raise_event(instance_id, "Go", {"ok": True}).status_code == 202
    time.sleep(1.5)
    assert api.status(instance_id).json()["runtimeStatus"] == "Suspended"
    assert len(trace(base_url, instance_id)) == episodes, "no orchestrator episode may run while suspended"
    assert not [e for e in raw_history(base_url, instance_id) if e["EventType"] == 15], (
        "no event may be appended while suspended"
    )

    assert api.post(instance_id, "resume", reason="go on").status_code == 202
    status = api.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"input": {"tag": "c45"}, "event": {"ok": True}}
    types = [e["EventType"] for e in raw_history(base_url, instance_id)]
    assert 19 in types and 20 in types and 15 in types, types
    assert types.index(19) < types.index(20) < types.index(15), types

    # an activity that finishes while the instance is suspended: its result waits for resume
    sleeper = api.start_id("b_sleep_once")
    deadline = time.monotonic() + 10
    while not [e for e in raw_history(base_url, sleeper) if e["EventType"] == 4]:
        assert time.monotonic() < deadline, "b_sleep never scheduled"
        time.sleep(0.02)
    assert api.post(sleeper, "suspend", reason="hold").status_code == 202
    wait_for(api, sleeper, {"Suspended"})
    episodes = len(trace(base_url, sleeper))
    time.sleep(2)  # the 1 s activity has finished by now
    assert api.status(sleeper).json()["runtimeStatus"] == "Suspended"
    assert len(trace(base_url, sleeper)) == episodes
    assert not [e for e in raw_history(base_url, sleeper) if e["EventType"] == 5]
    assert api.post(sleeper, "resume", reason="go on").status_code == 202
    done = api.wait(sleeper)
    assert done["runtimeStatus"] == "Completed"
    assert done["output"] == {"slept": 1.0}
    types = [e["EventType"] for e in raw_history(base_url, sleeper)]
    assert types.index(20) < types.index(5), types


def _assert_refused_in_state(
    response: requests.Response, operation: str, instance_id: str, state: str
) -> None:
    """The extension's 500 for an operation that the instance's runtime status does not allow."""
    assert response.status_code == 500
    assert response.json()["Message"] == "Something went wrong while processing your request"
    assert response.json()["ExceptionMessage"] == (
        f"Cannot {operation} the orchestration instance {instance_id} "
        f"because instance is in the {state} state."
    )


def test_c46_suspend_twice_and_resume_running_answer_500(api: DurableApi) -> None:
    instance_id = started_running(api, "b_wait_event")
    try:
        response = api.post(instance_id, "resume", reason="not suspended")
        _assert_refused_in_state(response, "resume", instance_id, "Running")
        assert api.post(instance_id, "suspend", reason="first").status_code == 202
        wait_for(api, instance_id, {"Suspended"})
        response = api.post(instance_id, "suspend", reason="second")
        _assert_refused_in_state(response, "suspend", instance_id, "Suspended")
        assert api.status(instance_id).json()["runtimeStatus"] == "Suspended"
    finally:
        api.post(instance_id, "terminate", reason="cleanup")


def test_c47_single_purge_of_finished_instances(api: DurableApi) -> None:
    done, failed, terminated = finished_each_way(api, reason="c47")
    for instance_id in (done, failed, terminated):
        response = _purge(api, instance_id)
        assert response.status_code == 200, (instance_id, response.status_code, response.text)
        assert response.json() == {"instancesDeleted": 1}
        assert api.status(instance_id).status_code == 404
    response = _purge(api, unique("c47-unknown"))
    assert response.status_code == 404
    assert response.content == b""
    assert _purge(api, done).status_code == 404  # already purged


def test_c48_purge_by_filter_requires_created_time_from_and_404s_on_no_match(api: DurableApi) -> None:
    response = requests.delete(f"{api.webhook}/instances/", params={"runtimeStatus": "Completed"}, timeout=30)
    assert response.status_code == 400
    assert response.json() == "Please provide value for 'createdTimeFrom' parameter."
    response = requests.delete(
        f"{api.webhook}/instances/",
        params={"createdTimeFrom": "2099-01-01T00:00:00.000000Z", "createdTimeTo": "2099-01-02T00:00:00Z"},
        timeout=30,
    )
    assert response.status_code == 404


def test_c49_restart_with_new_instance_id_keeps_the_input(api: DurableApi) -> None:
    original = completed(api, "b_echo", {"a": 1, "b": [2, 3]})
    response = api.post(original, "restart", restartWithNewInstanceId="true")
    assert response.status_code == 202, response.text
    body = response.json()
    new_id = body["id"]
    assert new_id and new_id != original
    assert new_id in body["statusQueryGetUri"]
    status = api.wait(new_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["name"] == "b_echo"
    assert status["input"] == {"a": 1, "b": [2, 3]}
    assert status["output"] == {"a": 1, "b": [2, 3]}
    assert api.status(original).json()["runtimeStatus"] == "Completed"


def test_c50_every_api_response_body_is_empty_or_json(api: DurableApi) -> None:
    done = completed(api, "b_echo", {"n": 1})
    running = started_running(api, "b_wait_event")
    unknown = unique("c50-unknown")
    hook = api.webhook
    responses: dict[str, requests.Response] = {}
    try:
        responses["start ok"] = api.start("b_echo", {"n": 1})
        responses["start unknown function"] = api.start("b_no_such_orchestrator")
        responses["start invalid json"] = requests.post(
            f"{hook}/orchestrators/b_echo",
            data="{nope",
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        responses["start bad id"] = api.start("b_echo", {"n": 1}, "@bad")
        responses["start running id"] = api.start("b_wait_event", None, running)
        responses["status 200"] = api.status(done)
        responses["status 202"] = api.status(running)
        responses["status history"] = api.status(done, showHistory="true", showHistoryOutput="true")
        responses["status 404"] = api.status(unknown)
        responses["query"] = requests.get(f"{hook}/instances", timeout=30)
        responses["raise 202"] = api.raise_event(running, "Other", 1)
        responses["raise 404"] = api.raise_event(unknown, "E", 1)
        responses["raise 410"] = api.raise_event(done, "E", 1)
        responses["raise 400 content type"] = requests.post(
            f"{hook}/instances/{running}/raiseEvent/E",
            data="x",
            headers={"Content-Type": "text/plain"},
            timeout=30,
        )
        responses["raise 400 invalid json"] = requests.post(
            f"{hook}/instances/{running}/raiseEvent/E",
            data="{",
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        responses["resume 500"] = api.post(running, "resume")
        responses["suspend 202"] = api.post(running, "suspend")
        responses["suspend 500"] = api.post(running, "suspend")
        responses["resume 202"] = api.post(running, "resume")
        responses["terminate 404"] = api.post(unknown, "terminate")
        responses["terminate 410"] = api.post(done, "terminate")
        responses["rewind 404"] = api.post(unknown, "rewind")
        responses["rewind 410"] = api.post(done, "rewind")
        responses["restart 400"] = api.post(unknown, "restart")
        responses["purge 404"] = _purge(api, unknown)
        responses["purge filter 400"] = requests.delete(f"{hook}/instances/", timeout=30)
        responses["purge filter 404"] = requests.delete(
            f"{hook}/instances/", params={"createdTimeFrom": "2099-01-01T00:00:00Z"}, timeout=30
        )
        responses["entity 404"] = requests.get(f"{hook}/entities/b_counter/{unknown}", timeout=30)
        responses["entity list"] = requests.get(f"{hook}/entities/b_counter", timeout=30)
        responses["entity signal"] = requests.post(
            f"{hook}/entities/b_counter/{unknown}", params={"op": "add"}, json=1, timeout=30
        )
        responses["unknown route"] = requests.get(f"{hook}/nothing-here", timeout=30)
        responses["terminate 202"] = api.post(running, "terminate", reason="c50")
    finally:
        api.post(running, "terminate", reason="cleanup")
    bad = {
        name: (r.status_code, r.content[:200])
        for name, r in responses.items()
        if not is_json_or_empty(r.content)
    }
    assert not bad, bad
    # sanity: the battery really produced the statuses it is named after
    assert responses["status 404"].status_code == 404
    assert responses["raise 410"].status_code == 410
    assert responses["suspend 500"].status_code == 500
