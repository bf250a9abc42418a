"""`python -m bench`: the benchmark command (normally started by ./scripts/bench)."""

from bench.cli import main

raise SystemExit(main())
