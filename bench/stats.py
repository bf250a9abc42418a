"""Summaries over repeated runs: median, min and max of each metric."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

Metrics = dict[str, float]


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of one metric over the runs that produced it (plus the raw values)."""
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "runs": len(ordered),
        "values": list(values),
    }


def summarise_runs(runs: Sequence[Metrics]) -> dict[str, dict[str, Any]]:
    """Per metric name, the summary over every run that reported it."""
    names: list[str] = []
    for run in runs:
        names.extend(name for name in run if name not in names)
    return {name: summary([run[name] for run in runs if name in run]) for name in names}


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p50 of [1, 2, 3, 4] is 2; p95 of 50 samples is the 48th)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]
