"""What the GPU host's image holds, the wheels that travel with the checkout, and an audit of what the checks import.

The GPU host cannot download anything: every module the checks import must be in the Python standard library, in
the host image, in this repository, or in a wheel carried in `benchmarks/gpu/wheels/`. The dry run imports every
check with the packages the image lacks blocked (`BLOCKED`), and compares the imported top-level modules with
`IMAGE_PACKAGES` (distribution names, mapped to import names through the installed metadata of this machine).
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.metadata
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WHEEL_DIR = REPO / "benchmarks" / "gpu" / "wheels"
MIB = 1024**2
# The device tool moves at most this much of the checkout (tracked and untracked-not-ignored files plus the paths
# named in `carry`) to the GPU host per call.
TRAVEL_LIMIT_BYTES = 64 * MIB

# The nvidia-h200 image's Python packages (python 3.12.3; torch 2.11.0+cu130, transformers 5.17.0, accelerate
# 1.15.0, torch-geometric 2.8.0.post1, huggingface_hub 1.33.0, tokenizers 0.23.2), as the device tool's notes list
# them (read on a machine running the image on 2026-11-17). Distribution names.
IMAGE_PACKAGES = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools
formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna
imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver
lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe
matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals
networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime
nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13
nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft
pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments
pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist
python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image
scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers
statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm
tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope
triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl
zipp
""".split())

# Import names the image lacks and no check may need unless its wheel is carried. pyarrow is in the image but
# `datasets` (and with it astrobio_hf.data's builders) is not: the checks never import the data side.
BLOCKED = ("datasets", "bitsandbytes", "flash_attn", "torchao")
# The numpy-only modules of astrobio_hf.data that may load there: the graph VAE's node-feature layout, and the
# planet_params transforms of the processor that `astrobio_hf.models` registers with AutoProcessor.
#: Packages the image lacks that repository code imports only inside functions the checks never call (name -> why).
LAZY_OFF_GPU_PATH = {"astropy": "the processor's astropy Quantity/Table/TimeSeries inputs (predict), not the checks"}
NUMPY_ONLY_DATA_MODULES = ("astrobio_hf.data", "astrobio_hf.data.graph_schema", "astrobio_hf.data.planet_features")


@dataclass(frozen=True)
class Wheel:
    """A wheel the GPU checks bring along, pinned to the file `--fetch-wheels` downloads (python 3.12, x86-64)."""

    name: str
    version: str
    filename: str
    size: int
    purpose: str


WHEELS = (
    Wheel("bitsandbytes", "0.50.2", "bitsandbytes-0.50.2-py3-none-manylinux_2_24_x86_64.whl", 43_139_553,
          "8-bit AdamW kernels for the FSDP2 check (ShardedAdamW8bit); ships libbitsandbytes_cuda130.so"),
    Wheel("torchao", "0.18.0", "torchao-0.18.0-cp310-abi3-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
          3_372_585, "fallback 8-bit AdamW (torchao.optim.AdamW8bit) if bitsandbytes does not load there"),
)
# Considered and not carried: flash-attn has no wheel for this torch/CUDA pair (an sdist that needs nvcc and the
# CUDA headers to build for minutes), so the attention check asserts the sdpa fallback instead.
NOT_CARRIED = {"flash-attn": "sdist only (needs nvcc and a long build); the check verifies the sdpa fallback"}

PIP_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
                 "manylinux2014_x86_64", "manylinux1_x86_64")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def fetch_wheels(dest: Path = WHEEL_DIR) -> list[Path]:
    """Download the pinned wheels for the GPU host (python 3.12, manylinux x86-64) with pip; check name and size."""
    dest.mkdir(parents=True, exist_ok=True)
    platforms = [arg for platform in PIP_PLATFORMS for arg in ("--platform", platform)]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
               "--implementation", "cp", *platforms, "-d", str(dest),
               *(f"{w.name}=={w.version}" for w in WHEELS)]
    subprocess.run(command, check=True)
    paths = []
    for wheel in WHEELS:
        path = dest / wheel.filename
        if not path.is_file():
            raise FileNotFoundError(f"pip did not produce {path.name} in {dest}")
        if path.stat().st_size != wheel.size:
            raise ValueError(f"{path}: {path.stat().st_size} bytes, the manifest says {wheel.size}; update WHEELS")
        paths.append(path)
    return paths


def travelling_bytes(repo: Path = REPO) -> int:
    """Bytes of what the device tool sends besides carried paths: tracked plus untracked, not ignored files."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo,
                             capture_output=True, check=True).stdout.decode()
    return sum((repo / name).stat().st_size for name in listing.split("\0") if name and (repo / name).is_file())


def wheel_plan(repo: Path = REPO) -> dict:
    """The wheels to carry, whether each is present in benchmarks/gpu/wheels, and the total against the limit."""
    rows, problems = [], []
    present = {p.name for p in WHEEL_DIR.glob("*.whl")} if WHEEL_DIR.is_dir() else set()
    for wheel in WHEELS:
        path = WHEEL_DIR / wheel.filename
        size = path.stat().st_size if path.is_file() else None
        if size is not None and size != wheel.size:
            problems.append(f"{path}: {size} bytes, the manifest says {wheel.size}")
        rows.append({"name": wheel.name, "version": wheel.version, "file": wheel.filename, "bytes": wheel.size,
                     "present": size is not None, "purpose": wheel.purpose})
    extra = sorted(present - {w.filename for w in WHEELS})
    if extra:
        problems.append(f"wheels in {WHEEL_DIR} not in the manifest (they would travel too): {extra}")
    wheels = sum(w.size for w in WHEELS)
    tree = travelling_bytes(repo)
    total = wheels + tree
    if total > TRAVEL_LIMIT_BYTES:
        problems.append(f"checkout {tree / MIB:.1f} MiB + wheels {wheels / MIB:.1f} MiB = {total / MIB:.1f} MiB "
                        f"exceeds the {TRAVEL_LIMIT_BYTES / MIB:.0f} MiB the device tool carries")
    return {"wheels": rows, "wheel_mib": round(wheels / MIB, 2), "checkout_mib": round(tree / MIB, 2),
            "total_mib": round(total / MIB, 2), "limit_mib": TRAVEL_LIMIT_BYTES / MIB, "not_carried": NOT_CARRIED,
            "problems": problems, "ok": not problems}


class HideModules(importlib.abc.MetaPathFinder):
    """Wraps one meta-path finder so that it does not see NAME (or its submodules): with every finder wrapped,
    `import NAME` raises ModuleNotFoundError and `importlib.util.find_spec(NAME)` returns None, exactly as when NAME
    is not installed (libraries probe optional packages with find_spec)."""

    def __init__(self, finder, names: set[str]):
        self.finder, self.names = finder, names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names or not hasattr(self.finder, "find_spec"):
            return None
        return self.finder.find_spec(fullname, path, target)

    def find_distributions(self, *args, **kwargs):  # importlib.metadata asks every finder for installed dists
        finder = getattr(self.finder, "find_distributions", None)
        hidden = {normalize(n) for n in self.names}
        return [d for d in (finder(*args, **kwargs) if finder else []) if normalize(d.metadata["Name"] or "") not in hidden]

    def invalidate_caches(self):
        if hasattr(self.finder, "invalidate_caches"):
            self.finder.invalidate_caches()


def install_blocker(names: tuple[str, ...] = BLOCKED) -> None:
    """Make `names` look uninstalled in this interpreter (for the dry run and tests, before anything imports them)."""
    already = sorted(n for n in names if n in sys.modules)
    if already:
        raise RuntimeError(f"cannot simulate the absence of modules already imported: {already}")
    hidden = set(names)
    sys.meta_path[:] = [HideModules(finder, hidden) for finder in sys.meta_path]


def imported_names(path: Path) -> dict[str, set[str]]:
    """Top-level names a source file imports: {"module": at import time, "lazy": inside functions}."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, set[str]] = {"module": set(), "lazy": set()}

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found["lazy" if lazy else "module"].update(a.name.split(".")[0] for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found["lazy" if lazy else "module"].add(child.module.split(".")[0])
            visit(child, inner)

    visit(tree, False)
    return found


def foreign_imports(files: list[Path], allowed_wheels: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Imports of this repository's `files` that neither the standard library, the image, this repo nor a carried
    wheel provides, split into import-time ("module") and function-level ("lazy") ones, as 'name (file)'."""
    image = {normalize(d) for d in IMAGE_PACKAGES} | {normalize(w) for w in allowed_wheels}
    distributions = importlib.metadata.packages_distributions()
    local = {"astrobio_hf", "benchmarks", "tests"}
    foreign: dict[str, list[str]] = {"module": [], "lazy": []}
    for path in sorted(files):
        for kind, names in imported_names(path).items():
            for name in sorted(names):
                if name in sys.stdlib_module_names or name in local or name == "__future__":
                    continue
                dists = {normalize(d) for d in distributions.get(name, [name])}
                if not dists & image:
                    foreign[kind].append(f"{name} ({path.relative_to(REPO)})")
    return foreign


__all__ = ["BLOCKED", "LAZY_OFF_GPU_PATH", "NUMPY_ONLY_DATA_MODULES", "IMAGE_PACKAGES", "NOT_CARRIED", "WHEELS", "WHEEL_DIR", "TRAVEL_LIMIT_BYTES", "HideModules",
           "fetch_wheels", "foreign_imports", "imported_names", "install_blocker", "travelling_bytes", "wheel_plan"]
