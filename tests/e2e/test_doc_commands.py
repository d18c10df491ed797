"""Every command in README.md and docs/*.md, as written, from the repository root and from another folder.

What "runs" means per kind of command (so that the test stays fast; each kind says why):

* `astrobio-hf ...`: parsed by the real CLI parser (a renamed flag or subcommand fails here). Those whose inputs exist
  after `make demo` (`outputs/demo/model`, `outputs/demo/dataset`, the shipped catalog) or need none run for real,
  from another folder that holds a small `outputs/demo` tree trained here by train.py (the demo itself takes
  minutes); commands that need no inputs (`models --presets`, `estimate-memory`, `--help` forms) also run from the
  repository root. Commands with placeholders (DATASET, ORG/NAME, ~/dumps) or the network are parsed only.
* `accelerate launch` / `python train.py` / `torchrun` / `sbatch`: a training run takes minutes, so the script, the
  recipe and the accelerate config must exist at the paths written (from the repository root), and every flag must
  be one train.py knows, also the recipe's keys.
* `python docs/walkthrough_own_data.py`, `python -m astrobio_hf.<module>` (the demo, the light-curve store):
  `--help` from both folders (full runs:
  tests/e2e/test_walkthrough.py and tests/e2e/test_demo.py); `python -m pytest FILES`: the files exist.
* `make TARGET`: the Makefile has the target.
* Python blocks compile, and every `from astrobio_hf... import NAME` they hold resolves; the README's prediction
  block runs in the other folder's `outputs/demo` tree.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from astrobio_hf.cli import build_parser
from astrobio_hf.training.cli_args import RECIPE_SUFFIXES, _parser, load_recipe
from tests.conftest import REPO_ROOT
from tests.helpers.multimodal_rows import SPEC, make_splits

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
PLACEHOLDERS = re.compile(r"\.\.\.|~/|\b(DATASET|MODEL|INPUTS|ORG|RECIPE|MAIN|DUMP|FILE|FITS|NC|SBML|X\.yaml)\b|"
                          r"s3://|PSCompPars\.csv|record\.json|tess\.\.\.|/work/shared|path/to|\$\(\(|\bN\b")
#: astrobio-hf subcommands that need the network, a hub or minutes of work: parsed only
PARSE_ONLY = ("prepare", "push", "push-dataset", "validate-sources", "tokenizer", "to-parquet", "inspect")
# this checkout's package (a worktree's venv may hold an editable install of another checkout)
ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
BIN = Path(sys.executable).parent


def blocks(language: str) -> list[tuple[str, int, str]]:
    """(file, line, body) of every fenced block of ``language``."""
    out = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for found in re.finditer(rf"```{language}\n(.*?)```", text, re.S):
            out.append((doc.name, text[: found.start()].count("\n") + 1, found.group(1)))
    return out


def shell_commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of each command line: continuations joined, comments, optional [..] parts and env prefixes
    dropped."""
    found = []
    for name, line, body in blocks("bash"):
        for command in body.replace("\\\n", " ").splitlines():
            command = re.sub(r"\s\[[^\]]*\]", "", command)
            argv = shlex.split(command, comments=True)
            while argv and ENV_ASSIGNMENT.match(argv[0]):
                argv = argv[1:]
            if argv and argv[0] != "export":
                found.append((f"{name}:{line}: {command.strip()[:90]}", argv))
    return found


COMMANDS = shell_commands()


def program(argv: list[str]) -> str:
    return Path(argv[0]).name


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a documented command: `.venv/bin/X` is this environment's X (the test may run from another venv path)."""
    executable = BIN / Path(argv[0]).name if argv[0].startswith(".venv/bin/") or "/" not in argv[0] else argv[0]
    done = subprocess.run([str(executable), *argv[1:]], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{argv} in {cwd}: {done.stdout[-1500:]}{done.stderr[-3000:]}"
    return done


def check_train_flags(argv: list[str], where: str) -> None:
    """train.py's recipe (a path from the repository root) and flags: all known to its parser."""
    script = next(i for i, a in enumerate(argv) if a.endswith("train.py"))
    rest = argv[script + 1:]
    assert (REPO_ROOT / argv[script]).is_file(), where
    parser = _parser()
    known = {action.dest for action in parser._actions}
    if rest and rest[0].endswith(RECIPE_SUFFIXES):
        recipe = REPO_ROOT / rest[0]
        if "RECIPE" not in rest[0]:
            assert recipe.is_file(), f"{where}: {rest[0]} does not exist"
            assert set(load_recipe(recipe)) <= known, where
        rest = rest[1:]
    for action in parser._actions:
        action.default, action.required = argparse.SUPPRESS, False
    _, unknown = parser.parse_known_args(rest)
    assert not unknown, f"{where}: train.py does not know {unknown}"


def check_paths(argv: list[str], where: str) -> None:
    """Repository files a command names (configs, accelerate configs, scripts) exist from the repository root."""
    for arg in argv:
        if arg.startswith(("configs/", "accelerate_configs/", "docs/", "tests/", "benchmarks/", "data_scripts/")) \
                and not PLACEHOLDERS.search(arg) and "*" not in arg:
            assert (REPO_ROOT / arg).exists(), f"{where}: {arg} does not exist"


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    """Another folder holding what `make demo` leaves in outputs/demo: a model trained by train.py on a small
    prepared dataset (train/validation/test; one planet named Kepler-186 f) and that dataset."""
    import datasets

    from astrobio_hf.data.multimodal_schema import save_multimodal_dataset
    from train import main as train

    root = tmp_path_factory.mktemp("elsewhere")
    splits = make_splits(12, 6)
    test = splits["validation"].map(lambda r, i: {"planet_name": f"Test {i} b", "host_name": f"Test {i}"},
                                    with_indices=True)
    named = splits["train"].map(lambda r, i: {"planet_name": "Kepler-186 f" if i == 2 else r["planet_name"]},
                                with_indices=True)
    dataset = save_multimodal_dataset(datasets.DatasetDict({"train": named, "validation": splits["validation"],
                                                            "test": test}), SPEC, root / "outputs/demo/dataset")
    train(["--dataset_path", str(dataset), "--output_dir", str(root / "outputs/demo/model"), "--do_train",
           "--max_steps", "2", "--use_cpu", "--report_to", "none", "--disable_tqdm", "true", "--save_strategy", "no"])
    return root


def runnable(argv: list[str]) -> bool:
    return not any(PLACEHOLDERS.search(a) for a in argv)


@pytest.mark.timeout(1200)
def test_every_documented_shell_command(elsewhere):
    assert len(COMMANDS) > 40  # the extraction found the commands
    parser = build_parser()
    ran = {"root": 0, "elsewhere": 0}
    for where, argv in COMMANDS:
        name = program(argv)
        check_paths(argv, where)
        if name == "astrobio-hf":
            try:
                parser.parse_args(argv[1:])
            except SystemExit as error:
                pytest.fail(f"{where}: the CLI does not accept it ({error})")
            # what `make demo` leaves must be what the command names
            for flag, value in zip(argv, argv[1:], strict=False):
                if flag in ("--model", "--dataset", "--from-disk") and value.startswith("outputs/demo/"):
                    marker = "config.json" if flag == "--model" else "multimodal_spec.json"
                    assert (elsewhere / value / marker).is_file(), f"{where}: {value} is not what make demo writes"
            if argv[1] in PARSE_ONLY or not runnable(argv):
                continue
            needs_outputs = any(a.startswith("outputs/") for a in argv)
            if not needs_outputs:
                run(argv, REPO_ROOT)
                ran["root"] += 1
            run(argv, elsewhere)
            ran["elsewhere"] += 1
        elif name in ("accelerate", "torchrun", "sbatch") or (name == "python" and "train.py" in " ".join(argv)):
            if any(a.endswith("train.py") for a in argv):
                check_train_flags(argv, where)
        elif name == "python" and argv[1:3] == ["-m", "pytest"]:
            assert all((REPO_ROOT / a).is_file() for a in argv[3:]), where
        elif name == "python" and argv[1] == "-m" and argv[2].split(".")[0] == "astrobio_hf":
            for cwd in (REPO_ROOT, elsewhere):  # the demo and the light-curve store take minutes: their --help
                run([argv[0], "-m", argv[2], "--help"], cwd)
        elif name == "python" and argv[1].endswith(".py"):
            assert (REPO_ROOT / argv[1]).is_file(), where
            run([argv[0], str(REPO_ROOT / argv[1]), "--help"], elsewhere)
            run([argv[0], argv[1], "--help"], REPO_ROOT)
        elif name == "make":
            assert re.search(rf"^{re.escape(argv[1])}:", (REPO_ROOT / "Makefile").read_text(), re.M), where
        else:
            pytest.fail(f"{where}: no rule for {name!r}; add one to this test")
    assert ran["root"] >= 2 and ran["elsewhere"] >= 8, ran  # models, estimate-memory; + predict, evaluate


def test_python_blocks_compile_and_their_imports_resolve():
    import importlib

    for name, line, body in blocks("python"):
        tree = ast.parse(body, filename=f"{name}:{line}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("astrobio_hf"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(
                        f"{node.module}.{alias.name}"), f"{name}:{line}: {node.module}.{alias.name}"


def test_readme_prediction_block_runs_in_another_folder(elsewhere):
    [body] = [b for n, _, b in blocks("python") if n == "README.md" and "score_catalog" in b]
    done = subprocess.run([sys.executable, "-c", body], cwd=elsewhere, env=ENV, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
