"""Operating a deployment: release preflight, packaging, release, replay check, instances, audit.

`python -m ops` also dispatches to the development tools in `tools/` (lint, demo, fuzz, soak).
"""
