"""A small chaos soak (`python -m ops soak` scaled down) on a fresh random seed every run.

Both passes run: the mixed load of the three workflows with sandbox faults, kill -9 of the devhost
(one of them while an activity runs), a storage outage and a kill -9 of Azurite, then a
deliver-twice pass; nothing lost, stuck, duplicated or contradictory, no history completed twice,
no over-allocation or leaked reservation, every audit packet complete, no 500 and no hang. The seed
is printed (and named in every assertion): rerun it with `python -m ops soak --seed N` and the
counts below. The full soak is `python -m ops soak`.
"""

from __future__ import annotations

from tools.harness import ARTIFACTS
from tools.soak import SoakOptions, draw_seed, run_soak, summary


def test_small_soak_on_a_random_seed_loses_duplicates_and_contradicts_nothing() -> None:
    seed = draw_seed()
    print(f"small soak seed {seed}")
    options = SoakOptions(
        orders=4,
        disputes=8,
        relief=4,
        kills=2,
        worker_crashes=1,
        outages=1,
        outage_seconds=3,
        azurite_kills=1,
        seed=seed,
        seed_drawn=True,
        workers=4,
        output=ARTIFACTS / "soak-report-test.json",
    )
    result = run_soak(options, log=lambda message: print(f"soak: {message}"))
    report = f"seed {seed}:\n{summary(result)}"
    chaos, twice = result["passes"]
    assert chaos["kills"] == 2 and chaos["workerCrashes"] == 1, report
    assert chaos["storageOutages"] == 1 and chaos["azuriteKills"] == 1, report
    assert chaos["instances"] == 16 and twice["instances"] >= 3, report
    for figures in result["passes"]:
        details = figures["details"]
        assert details["lost"] == [] and details["stuck"] == [], report
        assert details["duplicates"] == [] and details["contradictions"] == [], report
        assert details["double_completions"] == [] and details["over_allocation"] == [], report
        assert details["audit_incomplete"] == [] and details["server_errors"] == [], report
        assert details["hangs"] == [], report
    assert result["totals"]["effectsChecked"] > 50, report
    assert result["passed"], report
