"""Development tools, never deployed: the test harness and workflow clients, the demo, the fuzzing,
the soak and the determinism linter.

`ops/` operates a deployment; `tools/` is for the people who build and test the app. The commands
are still started as `python -m ops <command>` (ops/__main__.py dispatches to them).
"""
