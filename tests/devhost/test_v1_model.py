"""v1 programming-model apps (one folder per function with function.json) run like v2 apps.

The app in apps/v1_model uses each binding shape of the v1 model: orchestrationTrigger (with a
scriptFile and entryPoint of its own, and without), activityTrigger, entityTrigger, httpTrigger
with a `$return` output and with a named output, durableClient and the older orchestrationClient,
and shared code imported relatively through the `__app__` package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHost
from tools.harness import REPO_ROOT

V1_APP = Path(__file__).parent / "apps" / "v1_model"


@pytest.fixture(scope="module")
def v1_host(devhost_session_factory: Callable[..., DevHost]) -> DevHost:
    return devhost_session_factory(V1_APP)


def test_functions_are_indexed_by_folder_name_with_their_triggers(v1_host: DevHost) -> None:
    functions = {f["name"]: f["trigger"] for f in v1_host.get("/admin/functions").json()}
    assert functions == {
        "CountTo": "orchestrationTrigger",
        "Counter": "entityTrigger",
        "HelloSequence": "orchestrationTrigger",
        "HttpStart": "httpTrigger",
        "ReadCounter": "httpTrigger",
        "SayHello": "activityTrigger",
    }
    assert "HttpStart: [POST] http://localhost:" in v1_host.log_text()


def test_http_starter_with_durable_client_runs_an_orchestrator_from_its_own_script_file(
    v1_host: DevHost,
) -> None:
    response = v1_host.post("/api/orchestrators/HelloSequence", json=["Lisbon", "Oslo"])
    assert response.status_code == 202, response.text
    urls = response.json()
    assert urls["statusQueryGetUri"].startswith(
        f"http://127.0.0.1:{v1_host.port}/runtime/webhooks/durabletask/"
    )
    status = v1_host.wait_for(urls["id"], "Completed")
    assert status["output"] == ["Hello Lisbon", "Hello Oslo"]
    completed = [e for e in v1_host.history(urls["id"]) if e["EventType"] == "TaskCompleted"]
    assert [e["FunctionName"] for e in completed] == ["SayHello", "SayHello"]


def test_entity_created_with_entity_create_is_signalled_and_called(v1_host: DevHost) -> None:
    instance_id = v1_host.start_orchestration("CountTo", {"key": "v1-a", "times": 3})
    assert v1_host.wait_for(instance_id, "Completed")["output"] == 3


def test_named_http_output_and_orchestration_client_binding(v1_host: DevHost) -> None:
    instance_id = v1_host.start_orchestration("CountTo", {"key": "v1-b", "times": 2})
    v1_host.wait_for(instance_id, "Completed")
    response = v1_host.get("/api/counter/v1-b")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"exists": True, "value": 2}
    assert v1_host.get("/api/counter/never-used").json() == {"exists": False, "value": None}


def _run_devhost(app_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devhost", "start", "--script-root", str(app_dir), "--port", "0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(REPO_ROOT),
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        },
    )


ACTIVITY_TRIGGER = {"name": "n", "type": "activityTrigger", "direction": "in"}


@pytest.mark.parametrize(
    ("folder_name", "function_json", "script", "said"),
    [
        pytest.param(
            "NoTrigger",
            {"bindings": [{"name": "x", "type": "blob"}]},
            "def main(x):\n    return x\n",
            ["NoTrigger/function.json: a function needs exactly one trigger binding, found 0"],
            id="function_json_without_a_trigger_is_refused_naming_the_file",
        ),
        pytest.param(
            "Orphan",
            {"entryPoint": "handle", "bindings": [ACTIVITY_TRIGGER]},
            "def main(n):\n    return n\n",
            ["has no function 'handle' (entryPoint"],
            id="missing_entry_point_is_refused_naming_it",
        ),
        pytest.param(
            "Broken",
            {"bindings": [ACTIVITY_TRIGGER]},
            "raise RuntimeError('no configuration for Broken')\n",
            ["a function script failed to import", "RuntimeError: no configuration for Broken"],
            id="a_v1_script_that_fails_to_import_stops_the_start_with_its_traceback",
        ),
    ],
)
def test_a_bad_v1_function_folder_stops_the_start_saying_why(
    tmp_path: Path, folder_name: str, function_json: dict[str, Any], script: str, said: list[str]
) -> None:
    folder = tmp_path / folder_name
    folder.mkdir()
    (folder / "function.json").write_text(json.dumps(function_json))
    (folder / "__init__.py").write_text(script)
    result = _run_devhost(tmp_path)
    assert result.returncode == 1
    for words in said:
        assert words in result.stderr
