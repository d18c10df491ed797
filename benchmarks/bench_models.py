"""Training-step throughput (samples/s) of the graph VAE, the datacube model and the multimodal model.

Inputs are SYNTHETIC and deterministic: the structured fixtures of tests/helpers/model_inputs.py (hexokinase
bipartite graphs with real element counts, lapse-rate temperature cubes, analytic transit/absorption shapes). They
have the shapes and structure of real inputs; throughput does not depend on the values. A step is forward + backward
+ torch AdamW; the median over several timed rounds is reported.

    python benchmarks/bench_models.py --quick          # tiny presets: a smoke test, prints only
    python benchmarks/bench_models.py --write          # small presets, updates benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks._common import interleaved, median, write_section  # noqa: E402

SECTION = "Model step throughput: graph VAE, datacube, multimodal"


def make_inputs(preset: str, model, batch: int, graph_copies: int) -> dict:
    from torch_geometric.data import Batch

    from tests.helpers.model_inputs import hexokinase_graph, lapse_rate_cubes, multimodal_inputs

    if "graph-vae" in preset:
        return {"graph": Batch.from_data_list([hexokinase_graph(graph_copies) for _ in range(batch)])}
    if "datacube" in preset:
        return {"climate_cube": lapse_rate_cubes(model.config, batch)}
    return multimodal_inputs(model.config, batch)


def main(argv: list[str] | None = None) -> int:
    from astrobio_hf.models.presets import build_model, count_parameters

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="small", choices=("tiny", "small", "seed"))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--graph-copies", type=int, default=16, help="hexokinase reactions per graph (6 nodes each)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny presets and sizes: a smoke test of the script")
    parser.add_argument("--write", action="store_true", help="update this script's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.batch, args.graph_copies, args.rounds, args.steps = "tiny", 2, 2, 1, 1

    rows = []
    for family in ("astro-graph-vae", "astro-datacube", "astro-multimodal"):
        preset = f"{family}-{args.size}"
        torch.manual_seed(0)
        model = build_model(preset).train()
        inputs = make_inputs(preset, model, args.batch, args.graph_copies)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

        def step(model=model, inputs=inputs, optimizer=optimizer) -> None:
            model(**inputs).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        step()  # warm-up
        seconds = median(interleaved({preset: step}, args.rounds, args.steps)[preset])
        rows.append(f"| {preset} | {count_parameters(preset):,} | {args.batch} | {seconds * 1e3:.0f} | "
                    f"{args.batch / seconds:.1f} |")
        print(rows[-1], flush=True)
    body = "\n".join([
        f"Synthetic structured inputs (tests/helpers/model_inputs.py); graphs of {args.graph_copies} hexokinase "
        f"reactions ({6 * args.graph_copies} nodes); step = forward + backward + AdamW, fp32; median of "
        f"{args.rounds} rounds of {args.steps} steps.",
        "",
        "| preset | parameters | batch | step, ms (median) | samples/s |",
        "|---|---:|---:|---:|---:|",
        *rows,
    ])
    print(body)
    if args.write:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
