"""The opt-in `--fast-timestamps` parse leaves the SDK's output byte-identical.

Real trigger payloads are recorded from a devhost run (`--trace-payloads`), then replayed through
the SDK in a fresh interpreter twice, with dateutil and with the fast parse; every answer must be
the same string, byte for byte.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from tests.support.durable_http import DurableApi
from tests.support.processes import REPO_ROOT, HostProcess
from tests.support.wire import devhost_only, trace

SAMPLES = Path(__file__).parent / "apps" / "samples"

REPLAY_BOTH_WAYS = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import function_app
from devhost import fast_timestamps
functions = {f.get_function_name(): f for f in function_app.myApp.get_functions()}
cases = json.load(sys.stdin)
answers = []
for name, payload in cases:
    handle = functions[name].get_user_function()
    fast_timestamps.disable()
    slow = handle(context=payload)
    fast_timestamps.enable()
    fast = handle(context=payload)
    answers.append([slow, fast])
json.dump(answers, sys.stdout)
"""


@devhost_only
def test_sdk_answers_are_byte_identical_with_fast_timestamps(start_host: Callable[..., HostProcess]) -> None:
    host = start_host(SAMPLES, trace_payloads=True)
    api = DurableApi(host.base_url)
    cases: list[tuple[str, str]] = []
    for name, body in [("clock_and_ids", None), ("flaky_work", None), ("backup_site_content", 5)]:
        started = requests.post(f"{host.base_url}/api/orchestrators/{name}", json=body, timeout=30)
        instance_id = started.json()["id"]
        assert api.wait(instance_id)["runtimeStatus"] == "Completed"
        cases += [(name, json.dumps(entry["payload"])) for entry in trace(host.base_url, instance_id)]
    assert len(cases) >= 10

    result = subprocess.run(
        [sys.executable, "-c", REPLAY_BOTH_WAYS, str(SAMPLES), str(REPO_ROOT)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answers = json.loads(result.stdout)
    assert len(answers) == len(cases)
    for (name, _), (slow, fast) in zip(cases, answers, strict=True):
        assert fast == slow, f"{name}: answers differ"
    clock_answers = [json.loads(slow) for (name, _), (slow, _) in zip(cases, answers, strict=True)]
    finished = [
        a
        for (name, _), a in zip(cases, clock_answers, strict=True)
        if name == "clock_and_ids" and a["isDone"]
    ]
    assert finished, "the clock orchestration completed in the replays"
    assert "datetime.datetime(" in finished[0]["output"][0], "reprs with tzinfo were compared too"
