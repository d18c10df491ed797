"""Save a checkpoint that loads with `trust_remote_code=True` where astrobio-hf is not installed.

transformers' `register_for_auto_class` + `save_pretrained` copy the class's module and the modules it imports with
single-dot relative imports (`from .x import y`) into the checkpoint folder. Our models live in nested packages
(`multimodal/modeling_multimodal.py` imports `..datacube.modeling_datacube`, the graph config imports
`astrobio_hf.data.graph_schema`), which that copier cannot follow, so this module does the same job for nested code:
it follows the model's imports inside `astrobio_hf` (parsed with `ast`), writes each module into the checkpoint folder
under its own file name with its package imports rewritten as `from .<file> import ...`, and records the `auto_map`
that `register_for_auto_class` would (``{"AutoConfig": "configuration_x.XConfig", "AutoModel": "modeling_x.X"}``).
A user then needs only transformers and the model's third-party imports (torch, torch_geometric):
`AutoModel.from_pretrained(folder_or_repo, trust_remote_code=True)`.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path
from typing import Any

PACKAGE = "astrobio_hf"


def _module_file(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ImportError(f"cannot locate module {name}")
    return Path(spec.origin)


def _absolute(node: ast.ImportFrom, module: str) -> str | None:
    """The absolute module name of an ImportFrom inside `module` (None when it leaves the package)."""
    if node.level == 0:
        return node.module if node.module and node.module.split(".")[0] == PACKAGE else None
    base = module.split(".")[: -node.level]
    return ".".join(base + ([node.module] if node.module else []))


def bundle_sources(root_modules: list[str]) -> dict[str, str]:
    """`{file name: source}` of the root modules and every astrobio_hf module they import (recursively), with those
    imports rewritten to single-dot imports of the flat file names."""
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    todo = list(root_modules)
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if path.name == "__init__.py":
            raise ValueError(f"{module}: the bundled model code imports a package __init__; import the defining "
                             "module instead")
        flat = path.stem
        if flat in owner:
            if owner[flat] != module:
                raise ValueError(f"two modules bundle to {flat}.py: {owner[flat]} and {module}")
            continue
        owner[flat] = module
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines(keepends=True)
        edits: list[tuple[ast.ImportFrom, str]] = []
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(node, module)
                if target is None or target.split(".")[0] != PACKAGE:
                    continue
                todo.append(target)
                edits.append((node, target.rsplit(".", 1)[-1]))
        for node, flat_target in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
            start, end = node.lineno - 1, node.end_lineno - 1
            head, tail = lines[start][: node.col_offset], lines[end][node.end_col_offset:]
            lines[start: end + 1] = [f"{head}from .{flat_target} import ({names}){tail}"]
        out[f"{flat}.py"] = "".join(lines)
    return out


def add_remote_code(folder: str | Path, config_cls: type | None = None, model_cls: type | None = None
                    ) -> dict[str, str]:
    """Write the bundled code and the `auto_map` into a folder written by `save_pretrained`; returns the auto_map.

    Without classes, they are the folder's config class and its first `architectures` entry (astrobio_hf.models).
    The LLM also maps `AutoModelForCausalLM`."""
    folder = Path(folder)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{folder} has no config.json (a folder written by save_pretrained)")
    config = json.loads(config_file.read_text())
    if config_cls is None or model_cls is None:
        from .. import models

        architecture = (config.get("architectures") or [""])[0]
        model_cls = model_cls or getattr(models, architecture, None)
        if model_cls is None:
            raise ValueError(f"{config_file}: architectures {config.get('architectures')} is not an astrobio-hf model")
        config_cls = config_cls or model_cls.config_class
    for name, text in bundle_sources([config_cls.__module__, model_cls.__module__]).items():
        (folder / name).write_text(text, encoding="utf-8")
    auto_map = {"AutoConfig": f"{config_cls.__module__.rsplit('.', 1)[-1]}.{config_cls.__name__}",
                "AutoModel": f"{model_cls.__module__.rsplit('.', 1)[-1]}.{model_cls.__name__}"}
    if model_cls.__name__.endswith("ForCausalLM"):
        auto_map["AutoModelForCausalLM"] = auto_map["AutoModel"]
    config["auto_map"] = auto_map
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return auto_map


def save_for_remote_code(model: Any, folder: str | Path) -> dict[str, str]:
    """`model.save_pretrained(folder)` plus `add_remote_code`: the folder loads with
    `AutoModel.from_pretrained(folder, trust_remote_code=True)` without astrobio-hf installed."""
    model.save_pretrained(folder)
    return add_remote_code(folder, type(model.config), type(model))


__all__ = ["save_for_remote_code", "add_remote_code", "bundle_sources"]

