"""`python -m ops <command>`: one entry point for every operations command.

Each command lives in its own module that exposes `register(subparsers)`; this file only wires
them together. Operations commands live in `ops/`; the development tools (determinism lint, replay
check, demo, fuzzing, soak) live in `tools/` and keep their `python -m ops` names. Exit codes: 0 ok, 1 a check
failed or an operation failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

# Modules that provide a subcommand, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "tools.determinism_lint.cli",
    "ops.infra_validate",
    "ops.preflight",
    "ops.package",
    "ops.release",
    "tools.replay.cli",
    "ops.instances",
    "ops.audit.cli",
    "tools.demo",
    "tools.fuzz",
    "tools.soak",
    "ops.sign_in",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one subcommand per command module."""
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen command; returns the process exit code."""
    parser = build_parser()
    from ops.audit.cli import rewrite_argv  # noqa: PLC0415 (`ops audit ID` before subcommands existed)

    args = parser.parse_args(rewrite_argv(list(sys.argv[1:] if argv is None else argv)))
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
