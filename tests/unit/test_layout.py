"""The package root shows the architecture: inference and sharing modules live in their own packages, and the module
import graph has no circle between the pairs that used to import each other (parsed with `ast`, no import run)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "astrobio_hf"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """module -> the astrobio_hf modules it imports anywhere in its body (functions included)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                    + ([node.module] if node.module else []))
                for alias in node.names:  # `from . import models` names a module
                    if f"{base}.{alias.name}" in modules:
                        targets.add(f"{base}.{alias.name}")
                if base in modules:
                    targets.add(base)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in modules)
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args
                  and isinstance(node.args[0], ast.Constant) and node.args[0].value in modules):
                targets.add(node.args[0].value)
        graph[name] = targets - {name}
    return graph


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module == goal:
            return True
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return False


def test_root_holds_no_inference_or_sharing_modules():
    for name in ("predict", "processing", "pipeline", "astro_io", "hub", "dataset_hub", "model_card", "remote_code"):
        assert not (PACKAGE / f"{name}.py").exists(), name
    for name in ("predict", "processing", "pipeline", "astro_io"):
        assert (PACKAGE / "inference" / f"{name}.py").is_file()
    for name in ("hub", "dataset_hub", "model_card", "remote_code"):
        assert (PACKAGE / "sharing" / f"{name}.py").is_file()


def test_no_import_circles_between_the_former_pairs():
    graph = _import_graph()
    pairs = [("astrobio_hf.inference.processing", "astrobio_hf.inference.astro_io"),
             ("astrobio_hf._auto_registration", "astrobio_hf.models")]
    for a, b in pairs:
        assert a in graph and b in graph
        assert not (_reaches(graph, a, b) and _reaches(graph, b, a)), f"{a} and {b} import each other"


def test_training_and_evaluation_do_not_import_each_other_in_a_circle():
    """evaluation/evaluate imported training.tasks, whose metrics import evaluation: importing training.tasks first
    in a fresh process failed (benchmarks do)."""
    graph = _import_graph()
    assert not (_reaches(graph, "astrobio_hf.evaluation.evaluate", "astrobio_hf.training.tasks")
                and _reaches(graph, "astrobio_hf.training.tasks", "astrobio_hf.evaluation.evaluate"))
