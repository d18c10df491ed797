"""`astrobio-hf models --presets`: the named model sizes and their parameter counts."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list model presets and their parameter counts")
    parser.add_argument("--presets", action="store_true", help="print the preset table (the default)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def preset_rows() -> list[dict]:
    """One row per preset with its parameter count, counted on the meta device."""
    from ..models.presets import count_parameters, list_presets

    return [
        {
            "preset": preset.name,
            "model_type": preset.model_type,
            "parameters": count_parameters(preset.name),
            "use": preset.description,
        }
        for preset in list_presets()
    ]


def format_count(n: int) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def run(args: argparse.Namespace) -> int:
    rows = preset_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| preset | model type | parameters | exact | use |")
    print("|---|---|---:|---:|---|")
    for row in rows:
        print(f"| {row['preset']} | {row['model_type']} | {format_count(row['parameters'])} | "
              f"{row['parameters']:,} | {row['use']} |")
    return 0
