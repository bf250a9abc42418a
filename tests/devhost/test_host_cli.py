"""The devhost's start-up errors and HTTP edge cases: clear messages, never a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from tests.support.processes import REPO_ROOT, HostProcess, free_port

APPS = Path(__file__).parent / "apps"


def run_devhost(app_dir: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "devhost", "start", "--script-root", str(app_dir), "--port", str(free_port())],
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
