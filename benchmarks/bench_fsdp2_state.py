"""FSDP2 with the sharded 8-bit AdamW, 2 ranks on CPU (gloo): optimizer-state bytes per rank vs unsharded.

Runs the worker of tests/distributed (torch `fully_shard` over a 2-process gloo group, tiny AstroLLM, synthetic token
ids, 4 training steps + a DCP save/load) and compares each rank's optimizer-state bytes with a single-process
bitsandbytes AdamW8bit on the same unsharded model after one step.

    python benchmarks/bench_fsdp2_state.py [--write]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WORKER = REPO / "tests" / "distributed" / "sharded_8bit_worker.py"
SECTION = "FSDP2: sharded 8-bit AdamW state per rank"


def _worker_module():
    spec = importlib.util.spec_from_file_location("sharded_8bit_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unsharded_state_bytes(worker) -> int:
    from astrobio_hf.training.optimizers import create_optimizer
    from astrobio_hf.training.sharded_optim import optimizer_state_bytes

    model = worker.build_tiny_model(0)
    optimizer = create_optimizer(model, "adamw_bnb_8bit", lr=1e-3)
    ids = torch.randint(0, model.config.vocab_size, (2, 32))
    model(input_ids=ids, labels=ids).loss.backward()
    optimizer.step()
    return optimizer_state_bytes(optimizer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    worker = _worker_module()
    out = Path(tempfile.mkdtemp())
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(out), str(port), str(rank)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for rank in range(2)]
    logs = [p.communicate(timeout=600)[0] for p in procs]
    if any(p.returncode for p in procs):
        print("\n".join(log[-3000:] for log in logs))
        return 1
    results = torch.load(out / "results.pt", weights_only=False)
    single = unsharded_state_bytes(worker)
    rows = [f"| rank {r['rank']} ({r['optimizer_type']}) | {r['state_bytes']:,} | {r['state_bytes'] / single:.3f} |"
            for r in results["per_rank"]]
    body = "\n".join([
        f"Tiny AstroLLM ({sum(p.numel() for p in worker.build_tiny_model(0).parameters()):,} parameters), world size "
        f"{results['world_size']} (gloo, CPU), FSDP2 `fully_shard` per decoder layer, sharded 8-bit AdamW; synthetic "
        "token ids. Tensors under 4096 elements keep fp32 state in bitsandbytes.",
        "",
        "| optimizer state | bytes | fraction of unsharded |",
        "|---|---:|---:|",
        f"| unsharded, 1 process (bitsandbytes AdamW8bit) | {single:,} | 1.000 |",
        *rows,
    ])
    print(body)
    if args.write:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
