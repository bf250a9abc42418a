"""How an operations command adds itself to `python -m ops`: its help page is its module docstring.

Each command module's `register(subparsers)` calls `add_command`, so every `python -m ops <command>
--help` shows the module docstring laid out as written (paragraphs and examples kept).
"""

from __future__ import annotations

import argparse
from typing import Any


def add_command(subparsers: Any, name: str, summary: str, manual: str | None) -> argparse.ArgumentParser:
    """Add `python -m ops <name>`: `summary` in the command list, `manual` (the docstring) as --help."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, description=manual, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parser
