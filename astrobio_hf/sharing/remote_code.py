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
PROCESSOR_MODULE = "astrobio_hf.inference.processing"
PIPELINE_MODULE = "astrobio_hf.inference.pipeline"
PIPELINE_TASK = "habitability-classification"


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


def _imports(module: str) -> tuple[str, list[tuple[ast.ImportFrom, str, bool]]]:
    """The module's source and its astrobio_hf imports: (node, absolute target, whether at module level)."""
    source = _module_file(module).read_text(encoding="utf-8")
    tree = ast.parse(source)
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _absolute(node, module)
            if target is not None and target.split(".")[0] == PACKAGE:
                found.append((node, target, id(node) in top))
    return source, found


def _closure(module: str, owner: dict[str, str], optional: set[str]) -> str | None:
    """Add `module` and what it needs to `owner` ({flat name: module}); the reason it cannot be bundled, else None.

    An import inside a function whose module cannot be bundled (a package, a file name taken twice) is recorded in
    `optional`: it stays an absolute import, needed only when that function runs (reading light-curve or spectrum
    files in the processor, for instance)."""
    path = _module_file(module)
    if path.name == "__init__.py":
        return f"{module} is a package __init__; import the defining module instead"
    flat = path.stem
    if flat in owner:
        return None if owner[flat] == module else f"two modules bundle to {flat}.py: {owner[flat]} and {module}"
    trial = dict(owner)
    trial[flat] = module
    trial_optional = set(optional)
    for _, target, at_top in _imports(module)[1]:
        if target in trial_optional:
            continue
        reason = _closure(target, trial, trial_optional)
        if reason is not None:
            if at_top:
                return f"{module} imports {target}: {reason}"
            trial_optional.add(target)
    owner.clear()
    owner.update(trial)
    optional.clear()
    optional.update(trial_optional)
    return None


def bundle_sources(root_modules: list[str]) -> dict[str, str]:
    """`{file name: source}` of the root modules and every astrobio_hf module they import (recursively), with those
    imports rewritten to single-dot imports of the flat file names.

    Imports inside functions that cannot be flattened stay absolute, wrapped in ``try``/``except ImportError`` (which
    transformers' dependency check skips) with a message saying that part needs astrobio-hf installed."""
    owner: dict[str, str] = {}
    optional: set[str] = set()
    for root in root_modules:
        reason = _closure(root, owner, optional)
        if reason is not None:
            raise ValueError(f"cannot bundle {root} for remote code: {reason}")
    out: dict[str, str] = {}
    for flat, module in owner.items():
        source, imports = _imports(module)
        lines = source.splitlines(keepends=True)
        for node, target, _ in sorted(imports, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
            start, end = node.lineno - 1, node.end_lineno - 1
            head, tail = lines[start][: node.col_offset], lines[end][node.end_col_offset:]
            if target in optional:
                pad = " " * node.col_offset
                replacement = (f"{head}try:\n{pad}    from {target} import ({names})\n"
                               f"{pad}except ImportError as _missing:\n"
                               f"{pad}    raise ImportError(\"this needs astrobio-hf installed ({target}); the "
                               f"bundled code covers catalog values and arrays\") from _missing{tail}")
            else:
                replacement = f"{head}from .{target.rsplit('.', 1)[-1]} import ({names}){tail}"
            lines[start: end + 1] = [replacement]
        out[f"{flat}.py"] = "".join(lines)
    return out


def add_remote_code(folder: str | Path, config_cls: type | None = None, model_cls: type | None = None
                    ) -> dict[str, str]:
    """Write the bundled code and the `auto_map` into a folder written by `save_pretrained`; returns the auto_map.

    Without classes, they are the folder's config class and its first `architectures` entry (astrobio_hf.models).
    The LLM also maps `AutoModelForCausalLM`. A multimodal folder also gets the processor (`auto_map` in
    `processor_config.json`, when the folder has one) and the `habitability-classification` pipeline
    (`custom_pipelines` in `config.json`)."""
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
    roots = [config_cls.__module__, model_cls.__module__]
    multimodal = config.get("model_type") == "astro_multimodal"
    if multimodal:
        roots += [PROCESSOR_MODULE, PIPELINE_MODULE]
    for name, text in bundle_sources(roots).items():
        (folder / name).write_text(text, encoding="utf-8")
    auto_map = {"AutoConfig": f"{config_cls.__module__.rsplit('.', 1)[-1]}.{config_cls.__name__}",
                "AutoModel": f"{model_cls.__module__.rsplit('.', 1)[-1]}.{model_cls.__name__}"}
    if model_cls.__name__.endswith("ForCausalLM"):
        auto_map["AutoModelForCausalLM"] = auto_map["AutoModel"]
    config["auto_map"] = auto_map
    if multimodal:
        # the form Pipeline.save_pretrained writes for a registered custom pipeline
        config["custom_pipelines"] = {PIPELINE_TASK: {"impl": "pipeline.HabitabilityPipeline", "pt": ["AutoModel"],
                                                      "tf": [], "type": "multimodal"}}
        processor_file = folder / "processor_config.json"
        if processor_file.is_file():
            processor = json.loads(processor_file.read_text())
            processor["auto_map"] = {"AutoProcessor": "processing.AstroMultimodalProcessor"}
            processor_file.write_text(json.dumps(processor, indent=2, sort_keys=True) + "\n")
            auto_map = {**auto_map, "AutoProcessor": processor["auto_map"]["AutoProcessor"]}
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return auto_map


def save_for_remote_code(model: Any, folder: str | Path) -> dict[str, str]:
    """`model.save_pretrained(folder)` plus `add_remote_code`: the folder loads with
    `AutoModel.from_pretrained(folder, trust_remote_code=True)` without astrobio-hf installed."""
    model.save_pretrained(folder)
    return add_remote_code(folder, type(model.config), type(model))


__all__ = ["save_for_remote_code", "add_remote_code", "bundle_sources"]

