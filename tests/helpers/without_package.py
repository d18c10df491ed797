"""Run a script in a fresh interpreter where astrobio_hf cannot be imported: how remote-code tests prove that a
checkpoint's bundled code works for someone without the package (the editable install would otherwise be found, so
a meta-path finder refuses it before anything else runs; transformers copies the bundle into HF_MODULES_CACHE)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

BLOCK_PACKAGE = """
import importlib.abc, json, sys

class NoAstrobio(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "astrobio_hf":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoAstrobio())

def astrobio_hf_loaded():  # for the script's report: whether astrobio_hf got imported after all
    return any(m.split(".")[0] == "astrobio_hf" for m in sys.modules)
"""


def run_without_package(script: str, *args: str | Path, tmp_path: Path) -> dict:
    """Run ``script`` (after :data:`BLOCK_PACKAGE`) with ``args`` in ``tmp_path``; the JSON of its last output line."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_MODULES_CACHE"] = str(tmp_path / "modules")
    done = subprocess.run([sys.executable, "-c", BLOCK_PACKAGE + textwrap.dedent(script), *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
