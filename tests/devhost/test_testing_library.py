"""devhost.testing as a team uses it: failure messages that explain, a host that brings its own
Azurite, and the Easy Auth emulation through sign_in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from devhost.testing import DevHost, DurableHostError

SAMPLES = Path(__file__).parent / "apps" / "samples"


def test_a_wait_that_fails_shows_the_status_the_history_and_the_host_log(
    devhost_session_factory: Callable[..., DevHost],
) -> None:
    host = devhost_session_factory(SAMPLES)
    # The SDK's get_input() cannot read a bare JSON list as input: the orchestrator fails.
    instance_id = host.start_orchestration("approval_workflow", [1])
    with pytest.raises(DurableHostError) as failure:
        host.wait_for(instance_id, "Completed")
    message = str(failure.value)
    assert f"instance '{instance_id}' finished as Failed while waiting for Completed." in message
    assert "Last status:" in message and "must be str, bytes or bytearray, not list" in message
    assert "history events:" in message and "ExecutionStarted FunctionName='approval_workflow'" in message
    assert "host log (" in message and str(host.log_path) in message


def test_a_wait_that_times_out_says_so(devhost_session_factory: Callable[..., DevHost]) -> None:
    host = devhost_session_factory(SAMPLES)
    instance_id = host.start_orchestration("approval_workflow", {"timeoutSeconds": 3600})
    with pytest.raises(DurableHostError, match=r"did not reach Completed within 0.5 s"):
        host.wait_for(instance_id, "Completed", timeout=0.5)
    with pytest.raises(ValueError, match="unknown runtime status"):
        host.wait_for(instance_id, "Done")
    host.terminate(instance_id, "test over")
    assert host.wait_for(instance_id, "Terminated")["output"] == "test over"


def test_a_host_without_an_azurite_starts_and_stops_its_own(tmp_path: Path) -> None:
    with DevHost(SAMPLES, log_path=tmp_path / "host.log") as host:
        assert host.azurite is not None
        azurite = host.azurite.process
        assert azurite is not None and azurite.poll() is None
        instance_id = host.start_orchestration("hello_orchestrator")
        assert host.wait_for(instance_id, "Completed")["output"][0] == "Hello Seattle"
    assert azurite.wait(10) is not None, "its Azurite stopped with it"


def test_easy_auth_hosts_need_a_signed_in_principal(devhost_factory: Callable[..., DevHost]) -> None:
    host = devhost_factory(SAMPLES, easy_auth=True)
    assert host.get("/runtime/webhooks/durabletask/instances").status_code == 401
    with pytest.raises(DurableHostError, match="answered 401"):
        host.start_orchestration("hello_orchestrator")
    host.sign_in("test-ada", "Ada", roles=["Operations.Reader"])
    instance_id = host.start_orchestration("hello_orchestrator")
    assert host.wait_for(instance_id, "Completed")["output"][1] == "Hello Tokyo"
    host.sign_out()
    assert host.get(f"/runtime/webhooks/durabletask/instances/{instance_id}").status_code == 401
