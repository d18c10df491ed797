"""Parse `train.py` arguments: an optional YAML/JSON recipe first, then command-line flags that override it."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser

from .arguments import AstroTrainingArguments, DataArguments, ModelArguments

RECIPE_SUFFIXES = (".yaml", ".yml", ".json")


def load_recipe(path: str | Path) -> dict:
    """The key/value pairs of a recipe file; a clear error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recipe {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        recipe = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"recipe {path} is not valid {path.suffix[1:].upper()}: {error}") from error
    if not isinstance(recipe, dict):
        raise ValueError(f"recipe {path} must be a mapping of argument names to values")
    return recipe


def _parser() -> HfArgumentParser:
    parser = HfArgumentParser((ModelArguments, DataArguments, AstroTrainingArguments))
    # argparse would take --learning_rat as --learning_rate; recipe keys are strict, so are flags
    parser.allow_abbrev = False
    return parser


def parse_train_args(argv: list[str]) -> tuple[ModelArguments, DataArguments, AstroTrainingArguments]:
    """`[recipe.yaml] [--flag value ...]` -> the three argument dataclasses (flags win over the recipe)."""
    parser = _parser()
    recipe: dict = {}
    if argv and argv[0].endswith(RECIPE_SUFFIXES):
        recipe = load_recipe(argv[0])
        argv = argv[1:]
        known = {action.dest for action in parser._actions}
        unknown = sorted(set(recipe) - known)
        if unknown:
            raise ValueError(f"recipe has unknown arguments: {', '.join(unknown)}")
        # lists in a recipe become the same strings a command line would give
        parser.set_defaults(**recipe)
        for action in parser._actions:
            if action.dest in recipe:
                action.required = False
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    return model_args, data_args, training_args


def command_line_keys(argv: list[str]) -> list[str]:
    """The argument names given on the command line (after the recipe file), in the order given."""
    flags = argv[1:] if argv and argv[0].endswith(RECIPE_SUFFIXES) else argv
    parser = _parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
        action.required = False
    given, _ = parser.parse_known_args(flags)
    return list(vars(given))


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def effective_arguments(argv: list[str], *args: Any) -> dict[str, Any]:
    """What the run really used: every argument set by the recipe or the command line, with the value in force after
    the overrides (a valid recipe itself: cross-validation retrains from it). ``args``: the parsed dataclasses."""
    recipe = load_recipe(argv[0]) if argv and argv[0].endswith(RECIPE_SUFFIXES) else {}
    values: dict[str, Any] = {}
    for parsed in args:
        values.update(parsed.to_dict() if hasattr(parsed, "to_dict") else dataclasses.asdict(parsed))
    keys = list(recipe) + [k for k in command_line_keys(argv) if k not in recipe]
    return {k: _plain(values[k]) for k in keys if k in values}


def run_notes(argv: list[str]) -> dict[str, Any]:
    """Where the arguments came from, for the model card: the recipe file's name and the command-line overrides."""
    notes: dict[str, Any] = {}
    if argv and argv[0].endswith(RECIPE_SUFFIXES):
        notes["recipe_file"] = Path(argv[0]).name
    overridden = command_line_keys(argv)
    if overridden:
        notes["command_line_overrides"] = overridden
    return notes


__all__ = ["parse_train_args", "load_recipe", "effective_arguments", "run_notes", "command_line_keys"]
