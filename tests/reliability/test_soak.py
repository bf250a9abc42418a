"""A small fixed-seed chaos soak (`python -m ops soak` scaled down) on Azurite.

Both passes run: the mixed load of the three workflows with sandbox faults and kill -9 of the
devhost at seeded moments, then a deliver-twice pass; nothing lost, stuck or duplicated, no
over-allocation, every audit packet complete. The full soak is `python -m ops soak`.
"""

from __future__ import annotations

from ops.soak import SoakOptions, run_soak
from tests.support.processes import ARTIFACTS, Azurite


def test_small_soak_loses_nothing_duplicates_nothing_and_over_allocates_nothing(azurite: Azurite) -> None:
    options = SoakOptions(
        orders=4,
        disputes=8,
        relief=4,
        kills=3,
        seed=11,
        workers=4,
        output=ARTIFACTS / "soak-report-test.json",
    )
    result = run_soak(options, azurite, log=lambda message: None)
    chaos, twice = result["passes"]
    assert chaos["kills"] == 3
    assert chaos["instances"] == 16 and twice["instances"] >= 3
    for figures in result["passes"]:
        details = figures["details"]
        assert details["lost"] == [] and details["stuck"] == [], details
        assert details["duplicates"] == [] and details["over_allocation"] == [], details
        assert details["audit_incomplete"] == [] and details["server_errors"] == [], details
    assert result["totals"]["effectsChecked"] > 50
    assert result["passed"]
