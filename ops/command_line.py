"""How an operations command adds itself to `python -m ops`: its help page is its module docstring.

Each command module's `register(subparsers)` calls `add_command` with the command's name, its
`SUMMARY` (the line `python -m ops --help` lists) and its handler, so every `python -m ops <command>
--help` shows the module docstring laid out as written (paragraphs and examples kept).
`add_json_option` is the `--json` switch the commands share and `print_result` prints what it
switches between; `options_from` builds a command's options dataclass from the parsed arguments of
the same names; `comma_separated` is the `type=` of an option that takes `a,b` lists.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    Options = TypeVar("Options", bound=DataclassInstance)
else:
    Options = TypeVar("Options")

# What `register(subparsers)` receives (a string: the class cannot be subscripted at run time).
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler = Callable[[argparse.Namespace], int]

# What `--json` does in every command that does not say more.
JSON_HELP = "print one JSON document on stdout"


def add_command(
    subparsers: Any, name: str, summary: str, manual: str | None, handler: Handler | None = None
) -> argparse.ArgumentParser:
    """Add `python -m ops <name>`: `summary` in the command list, `manual` (the docstring) as --help,
    `handler` run with the parsed arguments (a command with subcommands sets one per subcommand)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, description=manual, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def add_json_option(parser: argparse.ArgumentParser, help_text: str = JSON_HELP) -> None:
    """The `--json` switch: the command prints its result as JSON instead of text."""
    parser.add_argument("--json", action="store_true", help=help_text)


def comma_separated(value: str) -> list[str]:
    """The names in one option value (`a,b`), blanks dropped: `type=` of a comma-separated option."""
    return [name.strip() for name in value.split(",") if name.strip()]


def print_result(as_json: bool, document: Any, text: str) -> None:
    """A command's result on stdout: `document` as indented JSON (--json), else `text` (if any)."""
    if as_json:
        print(json.dumps(document, indent=2))
    elif text:
        print(text)


def options_from(options_type: type[Options], args: argparse.Namespace, **computed: Any) -> Options:
    """An `options_type` dataclass from the parsed arguments named like its fields; `computed` gives
    the fields whose value is worked out rather than taken as parsed, and a field no argument names
    keeps its default."""
    names = [field.name for field in dataclasses.fields(options_type) if hasattr(args, field.name)]
    return options_type(**({name: getattr(args, name) for name in names} | computed))
