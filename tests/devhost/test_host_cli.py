"""The devhost's start-up errors and HTTP edge cases: clear messages, never a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from tools.harness import REPO_ROOT, HostProcess, free_port

APPS = Path(__file__).parent / "apps"


def run_devhost(
    app_dir: Path, env: dict[str, str], *flags: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **env}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "devhost",
            "start",
            "--script-root",
            str(app_dir),
            "--port",
            str(free_port()),
            *flags,
        ],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_app_that_fails_to_import_stops_the_start_with_its_traceback() -> None:
    result = run_devhost(
        APPS / "broken", {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "TASKHUB_NAME": "broken"}
    )
    assert result.returncode == 1
    assert "function_app.py failed to import" in result.stderr
    assert "RuntimeError: configuration module missing: SETTINGS_PATH" in result.stderr
    assert "Traceback" in result.stderr


def test_unreachable_storage_names_the_setting_and_how_to_start_azurite() -> None:
    port = free_port()  # nothing listens there
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
    result = run_devhost(APPS / "samples", {"AzureWebJobsStorage": connection, "TASKHUB_NAME": "unreachable"})
    assert result.returncode == 1
    assert "AzureWebJobsStorage" in result.stderr
    assert "Azurite" in result.stderr


def test_missing_storage_setting_is_explained(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AzureWebJobsStorage"}
    (tmp_path / "function_app.py").write_text("import azure.durable_functions as df\napp = df.DFApp()\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devhost",
            "start",
            "--script-root",
            str(tmp_path),
            "--port",
            str(free_port()),
        ],
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "'AzureWebJobsStorage' is not set" in result.stderr


def test_folder_without_function_app_is_refused(tmp_path: Path) -> None:
    result = run_devhost(tmp_path, {"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert result.returncode == 1
    assert "function_app.py does not exist" in result.stderr


def test_unknown_routes_are_404_and_bad_management_requests_are_400(
    start_host: Callable[..., HostProcess],
) -> None:
    host = start_host(APPS / "samples")
    base = host.base_url
    assert requests.get(f"{base}/api/no-such-route", timeout=10).status_code == 404
    assert requests.get(f"{base}/nowhere", timeout=10).status_code == 404
    assert requests.get(f"{base}/runtime/webhooks/durabletask/bogus", timeout=10).status_code == 404
    bad_json = requests.post(
        f"{base}/runtime/webhooks/durabletask/orchestrators/hello_orchestrator",
        data="{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["Message"] == "Invalid JSON content"
    bad_top = requests.get(
        f"{base}/runtime/webhooks/durabletask/instances/", params={"top": "many"}, timeout=10
    )
    assert bad_top.status_code == 400
    bad_time = requests.get(
        f"{base}/runtime/webhooks/durabletask/instances/", params={"createdTimeFrom": "yesterday"}, timeout=10
    )
    assert bad_time.status_code == 400
    bad_token = requests.get(
        f"{base}/runtime/webhooks/durabletask/instances/",
        headers={"x-ms-continuation-token": "%%%"},
        timeout=10,
    )
    assert bad_token.status_code == 400
    # The host is still healthy after all of that.
    assert requests.get(f"{base}/admin/host/status", timeout=10).json()["state"] == "Running"


def test_functions_are_listed_at_start(start_host: Callable[..., HostProcess]) -> None:
    host = start_host(APPS / "samples")
    log = host.log_text()
    assert "http_start: [GET,POST] http://localhost:" in log
    assert "/api/orchestrators/{functionName}" in log
    assert "hello_orchestrator: orchestrationTrigger" in log
    listed = requests.get(f"{host.base_url}/admin/functions", timeout=10).json()
    assert {
        "name": "Counter",
        "durableName": "Counter",
        "trigger": "entityTrigger",
        "disabled": False,
    } in listed


def test_the_virtual_clock_starts_at_the_pinned_instant_and_only_moves_forward(
    start_host: Callable[..., HostProcess],
) -> None:
    """`--clock-start` pins the calendar a test runs on, whatever the real date is."""
    host = start_host(APPS / "samples", virtual_clock=True, clock_start="2027-03-27T23:59:30Z")
    clock = requests.get(f"{host.base_url}/admin/clock", timeout=10).json()
    assert clock["virtual"] is True
    assert clock["startedAt"] == clock["now"] == "2027-03-27T23:59:30.0000000Z"
    advanced = requests.post(f"{host.base_url}/admin/clock/advance", json={"seconds": 31}, timeout=10).json()
    assert advanced["now"] == "2027-03-28T00:00:01.0000000Z" and advanced["startedAt"] == clock["startedAt"]
    # The Date header of every answer states the host's clock (the console takes "now" from it).
    listed = requests.get(f"{host.base_url}/runtime/webhooks/durabletask/instances", timeout=10)
    assert listed.headers["Date"] == "Sun, 28 Mar 2027 00:00:01 GMT"
    assert "virtual clock from 2027-03-27T23:59:30" in host.log_text()


def test_a_restart_keeps_the_hub_s_later_clock_over_the_pinned_start(
    start_host: Callable[..., HostProcess],
) -> None:
    host = start_host(APPS / "samples", virtual_clock=True, clock_start="2026-12-05T13:00:00Z")
    requests.post(
        f"{host.base_url}/admin/clock/advance", json={"seconds": 3600}, timeout=10
    ).raise_for_status()
    host.restart()
    assert (
        requests.get(f"{host.base_url}/admin/clock", timeout=10)
        .json()["now"]
        .startswith("2026-12-05T14:00:00")
    )


def test_a_bad_clock_start_is_a_usage_error_that_says_how_to_write_it() -> None:
    env = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "TASKHUB_NAME": "clock"}
    naive = run_devhost(APPS / "samples", env, "--virtual-clock", "--clock-start", "2026-12-05T13:00:00")
    assert naive.returncode == 2
    assert "--clock-start" in naive.stderr and "end it with Z" in naive.stderr
    garbled = run_devhost(APPS / "samples", env, "--virtual-clock", "--clock-start", "next saturday")
    assert garbled.returncode == 2 and "2026-12-05T13:00:00Z" in garbled.stderr
    real = run_devhost(APPS / "samples", env, "--clock-start", "2026-12-05T13:00:00Z")
    assert real.returncode == 2 and "--virtual-clock" in real.stderr
