"""A fresh virtual environment that has torch/transformers but cannot import astrobio_hf.

`python -m venv --without-pip` plus one `.pth` line naming this venv's site-packages: the packages are importable,
but `.pth` files inside a directory added that way are not processed, so the editable-install hook of astrobio_hf
never runs. Commands run with a cwd outside the repository and without PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path


def make_fresh_venv(root: Path) -> Path:
    """Create the venv under ``root``; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    packages = [str(Path(p).resolve()) for p in site.getsitepackages()]
    (Path(purelib) / "parent_packages.pth").write_text("\n".join(packages) + "\n")
    return python


def run_in(python: Path, code: str, *args: str, cwd: Path, modules_cache: Path) -> dict:
    """Run ``code`` there; it prints one JSON line last."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HF_MODULES_CACHE"] = str(modules_cache)
    done = subprocess.run([str(python), "-c", textwrap.dedent(code), *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
