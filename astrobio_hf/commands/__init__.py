"""Subcommands of `astrobio-hf`: each module defines `register(subparsers)` and sets `func` on its parser."""
