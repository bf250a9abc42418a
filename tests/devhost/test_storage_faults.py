"""Storage faults under a running devhost (devhost/store.py, devhost/hub_lease.py).

Storage sits behind a loopback TCP proxy (tools/harness/tcp_proxy.py) on its own disk-backed
Azurite, so a test can cut it off, freeze it, kill -9 it, or bring it back empty:
- while storage is away, requests that need it answer 503 with Retry-After within seconds (never
  hang, never 500), status reads from memory still answer, and work already running waits;
- when it is back, every instance finishes, with each event and result recorded once (a restarted
  host rebuilds exactly the same history from storage);
- storage that comes back empty, or never answers at start, stops the host with a message naming
  the setting;
- one host per task hub: a second host refuses (naming the holder); a crashed holder is taken over.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.durable_http import DurableApi
from tests.support.wire import devhost_only, raw_history
from tools.harness import REPO_ROOT, Azurite, HostProcess, blob_connection_string, make_host
from tools.harness.polling import wait_until
from tools.harness.tcp_proxy import TcpProxy

pytestmark = devhost_only

APP = Path(__file__).parent / "apps" / "durability"
# "Within seconds": the request deadline of devhost/store.py is a second after storage is known
# to be away, and a probe notices within about 5 s; a client that waits longer saw a hang.
ANSWER_WITHIN_SECONDS = 12


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[tuple[Azurite, TcpProxy]]:
    """A disk-backed Azurite of this test, reached through a proxy the test can cut."""
    azurite = Azurite.start(location=tmp_path / "azurite")
    proxy = TcpProxy(azurite.port).start()
    yield azurite, proxy
    proxy.stop()
    azurite.stop()


@pytest.fixture
def hosts() -> Iterator[list[HostProcess]]:
    started: list[HostProcess] = []
    yield started
    for host in started:
        host.stop()


def proxied_host(
    storage: tuple[Azurite, TcpProxy], hosts: list[HostProcess], tmp_path: Path, **options: Any
) -> HostProcess:
    azurite, proxy = storage
    run_log = tmp_path / "runs.log"
    run_log.touch()
    env = {
        "AzureWebJobsStorage": blob_connection_string(proxy.port),
        "DURABILITY_RUN_LOG": str(run_log),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    host = make_host(APP, azurite, env=env, **options)
    hosts.append(host)
    return host


def timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def completions(history: list[dict[str, Any]]) -> int:
    return sum(1 for event in history if event["EventType"] == 1)  # ExecutionCompleted


def test_a_storage_outage_answers_503_then_every_instance_finishes_with_each_result_once(
    storage: tuple[Azurite, TcpProxy], hosts: list[HostProcess], tmp_path: Path
) -> None:
    """Cut storage while a chain runs: starts and events get 503 + Retry-After within seconds, the
    status of the running instance still answers, the host says storage is unavailable; after the
    outage the chain and the event-waiting instance finish, and a restarted host rebuilds the same
    histories from storage (no acknowledged write lost, none doubled)."""
    _, proxy = storage
    host = proxied_host(storage, hosts, tmp_path).start()
    api = DurableApi(host.base_url)
    chain = api.start_id("slow_chain", {"steps": 4, "seconds": 0.5})
    waiting = api.start_id("timer_then_event", {"seconds": 1})
    wait_until(lambda: (tmp_path / "runs.log").read_text().count("slow_step") >= 1, 20, "the chain to run")

    proxy.cut()
    started, seconds = timed(lambda: api.start("slow_chain", {"steps": 1, "seconds": 0}, "late-start"))
    assert started.status_code == 503 and started.headers["Retry-After"] == "5", started.text
    assert seconds < ANSWER_WITHIN_SECONDS
    event, seconds = timed(lambda: api.raise_event(waiting, "Proceed", {"by": "outage"}))
    assert event.status_code == 503 and seconds < ANSWER_WITHIN_SECONDS, event.text
    assert api.status(chain).status_code == 202, "the status of a running instance comes from memory"
    health = requests.get(f"{host.base_url}/admin/host/status", timeout=10).json()
    assert health["storage"] == "unavailable" and health["state"] == "Running"
    time.sleep(3)  # the outage lasts: the chain's next commit waits for storage, it is not dropped

    proxy.restore()
    wait_until(
        lambda: (
            requests.get(f"{host.base_url}/admin/host/status", timeout=10).json()["storage"] == "available"
        ),
        30,
        "storage to be seen again",
    )
    # The client sends its event again; 410 when the one that got 503 landed and finished the instance.
    assert api.raise_event(waiting, "Proceed", {"by": "after"}).status_code in (202, 410)
    done = api.wait(chain, timeout=60)
    assert done["runtimeStatus"] == "Completed" and done["output"] == [f"step {i} done" for i in range(4)]
    # A 503 means "not known to be done; send again": the event the host had started to append
    # lands once storage is back, so the instance takes whichever came first, each recorded once.
    assert api.wait(waiting, timeout=60)["output"]["proceed"] in ({"by": "outage"}, {"by": "after"})
    raised = [e for e in raw_history(host.base_url, waiting) if e["EventType"] == 15]
    senders = [json.loads(e["Input"])["by"] for e in raised]
    assert sorted(senders) in (["after"], ["outage"], ["after", "outage"]), "each event recorded once"
    late = api.status("late-start")
    assert late.status_code in (200, 202, 404), "the 503'd start either landed once or not at all"

    before = {instance: raw_history(host.base_url, instance) for instance in (chain, waiting)}
    host.kill()
    host.start()
    for instance, history in before.items():
        after = raw_history(host.base_url, instance)
        assert [e["EventType"] for e in after] == [e["EventType"] for e in history], instance
        assert completions(after) == 1


def test_storage_that_accepts_connections_and_never_answers_gets_503_within_seconds(
    storage: tuple[Azurite, TcpProxy], hosts: list[HostProcess], tmp_path: Path
) -> None:
    """A frozen storage process (connections accepted, no answer): a start answers 503 within
    seconds instead of hanging until the client gives up."""
    _, proxy = storage
    host = proxied_host(storage, hosts, tmp_path).start()
    api = DurableApi(host.base_url)
    proxy.freeze()
    started, seconds = timed(lambda: api.start("slow_chain", {"steps": 1, "seconds": 0}))
    assert started.status_code == 503 and seconds < ANSWER_WITHIN_SECONDS, (started.status_code, seconds)
    proxy.restore()
    wait_until(
        lambda: api.start("slow_chain", {"steps": 1, "seconds": 0}).status_code == 202, 30, "storage back"
    )


def test_storage_that_never_answers_at_start_stops_the_host_naming_the_setting(
    storage: tuple[Azurite, TcpProxy], hosts: list[HostProcess], tmp_path: Path
) -> None:
    _, proxy = storage
    proxy.freeze()
    host = proxied_host(storage, hosts, tmp_path)
    host.command += ["--storage-timeout", "2"]
    with pytest.raises(RuntimeError, match="exited with 1") as failed:
        host.start(timeout=30)
    assert "'AzureWebJobsStorage'" in str(failed.value) and "did not answer within 2 s" in str(failed.value)


def test_storage_that_comes_back_empty_stops_the_host_and_a_restart_refuses_the_empty_hub(
    storage: tuple[Azurite, TcpProxy], hosts: list[HostProcess], tmp_path: Path
) -> None:
    """The storage process is replaced by an empty one: the running host stops with a message
    naming the setting (instead of answering 500s on an empty hub), and a new host refuses the
    hub that vanished unless told `--new-hub`."""
    _, proxy = storage
    host = proxied_host(storage, hosts, tmp_path).start()
    api = DurableApi(host.base_url)
    api.wait(api.start_id("slow_chain", {"steps": 1, "seconds": 0}))
    empty = Azurite.start()  # in memory: nothing of the old hub
    try:
        proxy.retarget(empty.port)
        proxy.cut()
        proxy.restore()
        assert host.process is not None
        host.process.wait(30)
        assert host.process.returncode == 1
        log = host.log_text()
        assert "vanished from the storage account of 'AzureWebJobsStorage'" in log

        again = proxied_host(storage, hosts, tmp_path, hub_name=host.hub_name)
        with pytest.raises(RuntimeError, match="exited with 1") as refused:
            again.start(timeout=30)
        assert "ran here before" in str(refused.value) and "'AzureWebJobsStorage'" in str(refused.value)
        again.command.append("--new-hub")
        again.start(timeout=30)
        assert DurableApi(again.base_url).status("anything").status_code == 404
    finally:
        empty.stop()


def test_a_storage_kill_9_and_restart_on_the_same_data_loses_nothing_acknowledged(
    storage: tuple[Azurite, TcpProxy], hosts: list[HostProcess], tmp_path: Path
) -> None:
    """kill -9 the disk-backed storage under a busy host and restart it on the same data: Azurite
    drops up to 5 s of acknowledged writes; the host rewrites what it lost, every instance
    finishes, and a restarted host rebuilds the same histories from storage."""
    azurite, _ = storage
    host = proxied_host(storage, hosts, tmp_path).start()
    time.sleep(6)  # Azurite saves every 5 s: the hub itself must predate the kill (else it is lost)
    api = DurableApi(host.base_url)
    ids = [api.start_id("fan_out_counted", {"count": 8}) for _ in range(6)]
    chain = api.start_id("slow_chain", {"steps": 6, "seconds": 0.3})
    waiting = api.start_id("timer_then_event", {"seconds": 1})
    wait_until(lambda: (tmp_path / "runs.log").read_text().count("slow_step") >= 2, 20, "work to run")
    assert api.raise_event(waiting, "Proceed", {"by": "before the kill"}).status_code == 202
    azurite.kill()
    time.sleep(1)
    azurite.restart()
    for instance in [*ids, chain, waiting]:
        assert api.wait(instance, timeout=90)["runtimeStatus"] == "Completed", instance
    assert api.wait(waiting)["output"]["proceed"] == {"by": "before the kill"}, "the accepted event survived"
    before = {instance: raw_history(host.base_url, instance) for instance in [*ids, chain, waiting]}
    host.kill()
    host.start()
    for instance, history in before.items():
        after = raw_history(host.base_url, instance)
        assert [e["EventType"] for e in after] == [e["EventType"] for e in history], instance
        assert completions(after) == 1, instance


def test_one_host_per_task_hub_a_second_refuses_naming_the_holder_and_a_crashed_one_is_taken_over(
    storage: tuple[Azurite, TcpProxy], hosts: list[HostProcess], tmp_path: Path
) -> None:
    first = proxied_host(storage, hosts, tmp_path).start()
    second = proxied_host(storage, hosts, tmp_path, hub_name=first.hub_name)
    second.command += ["--lease-wait", "2"]
    with pytest.raises(RuntimeError, match="exited with 1") as refused:
        second.start(timeout=30)
    message = str(refused.value)
    hub = first.hub_name
    assert (
        f"task hub '{hub}'" in message
        and f"port {first.port}" in message
        and "is held by devhost pid" in message
    )

    api = DurableApi(first.base_url)
    instance = api.start_id("timer_then_event", {"seconds": 0})
    api.wait(instance, statuses={"Running"})
    first.kill()
    second.command = [part for part in second.command if part not in ("--lease-wait", "2")]
    second.start(timeout=60)  # the dead holder's lease is broken (same machine) or expires
    api = DurableApi(second.base_url)
    assert api.raise_event(instance, "Proceed", {"by": "successor"}).status_code == 202
    history = api.wait(instance, timeout=30)
    assert history["output"]["proceed"] == {"by": "successor"}


def test_the_devhost_cli_documents_the_storage_and_lease_options() -> None:
    usage = subprocess.run(
        [sys.executable, "-m", "devhost", "start", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    ).stdout
    for option in ("--lease-wait", "--storage-timeout", "--new-hub"):
        assert option in usage
