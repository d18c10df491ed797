"""The `astrobio-hf` command: every module in `astrobio_hf.commands` contributes one subcommand."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from . import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astrobio-hf",
        description="Archive datasets, models, training and delivery for multimodal astrobiology.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # the reader went away (`astrobio-hf inspect ... | head`): stop quietly, as cat or grep do. stdout is pointed at
        # devnull so that the interpreter's final flush does not raise again (Python docs, signal/SIGPIPE notes)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a pipe writer stopped this way


if __name__ == "__main__":
    sys.exit(main())
