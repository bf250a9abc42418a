"""The bounded fuzzing run (`python -m ops fuzz` with few examples and a fixed seed) on Azurite.

Schemathesis from openapi.json (examples, coverage, fuzzing and stateful phases: every documented
route answers as documented), the explicit abuse cases, duplicate and out-of-order events, then
every instance the run created: none broken. The longer run is `python -m ops fuzz --max-examples 200`.
"""

from __future__ import annotations

from tools.fuzz import FuzzOptions, run_fuzz
from tools.harness import ARTIFACTS, Azurite


def test_bounded_fuzzing_finds_no_5xx_no_undocumented_error_and_no_broken_instance(azurite: Azurite) -> None:
    options = FuzzOptions(max_examples=5, seed=20261130, output=ARTIFACTS / "fuzz-report-test.json")
    report = run_fuzz(options, azurite, log=lambda message: None)
    assert report.failures == []
    assert report.schemathesis["operationsTested"] == 26  # 17 + the 9 evidence routes
    assert report.schemathesis["casesGenerated"] > 300
    assert report.abuse_cases > 200
    assert report.instances_checked >= 3
