"""Run one `astrobio-hf` subcommand as a standalone script, with exactly the CLI's flags.

Each command module in `astrobio_hf/commands/` defines `register(subparsers)`, which adds its parser to the
CLI. :class:`_OneCommand` stands in for argparse's subparsers object so that the same `register` fills this
script's own `ArgumentParser` instead: the script and the CLI can never disagree about a flag.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any


class _OneCommand:
    """The one method of argparse's subparsers action that `register` calls: `add_parser(name, **kw)`."""

    def __init__(self, prog: str) -> None:
        self.prog = prog
        self.parser: argparse.ArgumentParser | None = None

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        summary = kwargs.pop("help", None)
        kwargs.setdefault("description", summary)
        self.parser = argparse.ArgumentParser(prog=self.prog, **kwargs)
        return self.parser


def command_parser(register: Callable[[Any], None], prog: str) -> argparse.ArgumentParser:
    """The parser a command's `register` builds, as a standalone parser named `prog`."""
    holder = _OneCommand(prog)
    register(holder)
    if holder.parser is None:
        raise RuntimeError(f"{register.__module__}.register added no parser")
    return holder.parser


def run_command(register: Callable[[Any], None], prog: str, argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: sys.argv[1:]) with the command's flags and run it; returns the exit code."""
    parser = command_parser(register, prog)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)
