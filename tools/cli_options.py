"""Command-line options declared once, on the options dataclass of a command (soak, fuzz).

A field declared as `field(default=..., metadata=cli_flag(help))` is a `--flag` of the command: the
flag is the field's name with dashes, its type the field's annotation (or `parse`), its default the
field's. `add_options` adds those flags to a parser in field order, `add_options_command` adds a
whole command so declared; `ops.command_line.options_from` builds the dataclass from the parsed
arguments. A new option is one line in the dataclass, not three places to keep equal.
"""

from __future__ import annotations

import argparse
import typing
from collections.abc import Callable
from dataclasses import Field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def cli_flag(help: str, parse: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """The metadata that makes a dataclass field a flag (`parse` when its annotation cannot parse it)."""
    return {"help": help, "parse": parse}


def _flags(options: type[DataclassInstance]) -> list[Field[Any]]:
    return [option for option in fields(options) if "help" in option.metadata]


def add_options(parser: argparse.ArgumentParser, options: type[DataclassInstance]) -> None:
    """Add one `--flag` per `cli_flag` field of `options`, in field order."""
    annotations = typing.get_type_hints(options)
    for option in _flags(options):
        parser.add_argument(
            "--" + option.name.replace("_", "-"),
            type=option.metadata["parse"] or annotations[option.name],
            default=option.default,
            help=option.metadata["help"],
        )


def add_options_command(
    subparsers: Any,
    name: str,
    summary: str,
    manual: str,
    *,
    options: type[DataclassInstance],
    handler: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    """Add `python -m ops <name>`: `summary` in the command list, the first line of `manual` (the
    module docstring) as its description, one flag per `cli_flag` field of `options`, `handler`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, description=manual.splitlines()[0]
    )
    add_options(parser, options)
    parser.set_defaults(handler=handler)
    return parser
