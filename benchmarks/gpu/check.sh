#!/usr/bin/env bash
# The GPU check in one command, for a GPU host with no network (see benchmarks/gpu/README.md):
#   benchmarks/gpu/check.sh [--out DIR] [check.py options]     # figures under $OUT (or --out)
# Installs the wheels carried in benchmarks/gpu/wheels/ (if any) into a private folder, then runs check.py with
# the repository on PYTHONPATH (nothing is installed into the host's environment).
set -u
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
SITE=${ASTROBIO_GPU_SITE:-/tmp/astrobio_gpu_site}
shopt -s nullglob
wheels=(benchmarks/gpu/wheels/*.whl)
if [ ${#wheels[@]} -gt 0 ]; then
  if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "${wheels[@]}"; then
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
    export ASTROBIO_GPU_WHEELS="${wheels[*]}"
  else
    echo "check.sh: installing the carried wheels failed; the checks will record what is missing" >&2
  fi
else
  echo "check.sh: no wheels in benchmarks/gpu/wheels (run 'python benchmarks/gpu/check.py --fetch-wheels' here and carry that folder)" >&2
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
exec "$PY" benchmarks/gpu/check.py "$@"
