"""Benchmark harness (issue 10): devhost workloads on Azurite, the durabletask peer, the SDK floor.

Run it with `./scripts/bench`; see docs/benchmarks.md. Not part of the test suite.
"""
