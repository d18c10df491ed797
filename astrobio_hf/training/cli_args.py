"""Parse `train.py` arguments: an optional YAML/JSON recipe first, then command-line flags that override it."""

from __future__ import annotations

import json
from pathlib import Path

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


def parse_train_args(argv: list[str]) -> tuple[ModelArguments, DataArguments, AstroTrainingArguments]:
    """`[recipe.yaml] [--flag value ...]` -> the three argument dataclasses (flags win over the recipe)."""
    parser = HfArgumentParser((ModelArguments, DataArguments, AstroTrainingArguments))
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


__all__ = ["parse_train_args", "load_recipe"]
