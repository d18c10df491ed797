"""Our models and collator against stock references doing the same work, interleaved in one run (issue 12).

Rows (all fp32, forward + backward + torch AdamW per train step; medians of interleaved rounds):

* datacube: `astro-datacube-small` vs a stock transformers `VideoMAEModel` (a ViT encoder with a kernel = stride
  Conv3d tubelet embedding) with a linear reconstruction head and an MSE loss, sized to the same token count and
  (within a few %) the same parameter count; the cube's (time, lev) axes are folded into VideoMAE's frame axis so
  its tubelets hold the same number of values as ours.
* multimodal: `astro-multimodal-small` train step: samples/s, FLOPs per step, achieved FLOP/s and the fraction of
  the fp32 matmul peak measured in the same run.
* graph VAE: `astro-graph-vae-small` vs torch_geometric's `VGAE` with a stock GATv2 encoder of the same heads, depth
  and block (residual, dropout, LayerNorm), once at our width and once widened to our parameter count, on the same
  graphs (messages along every edge and its reverse, as ours).
* collator: `MultimodalCollator` on an Arrow take of a batch vs the raw-read floor: the same Arrow take and the same
  columns turned into numpy arrays (fixed-size columns stacked to `[B, ...]`, ragged graph columns flattened).
* llm_generation: `astro-llm-small` greedy cached generation (`generate(use_cache=True)`) vs `LlamaForCausalLM` with
  the same config and weights: new tokens/s (the two must generate the same ids).

Train steps use fused torch AdamW on both sides (`--optimizer` picks foreach or the for-loop one of earlier runs).

FLOPs come from `torch.utils.flop_counter.FlopCounterMode` (matmuls, convolutions, attention; elementwise ops are not
counted), CPU SDPA counted like the CUDA kernels. Inputs are the structured fixtures of tests/helpers (synthetic,
deterministic); throughput does not depend on the values.

    python benchmarks/bench_speed.py --label after --json benchmarks/speed_after.json
    PYTHONPATH=/tmp/before python benchmarks/bench_speed.py --label before --json benchmarks/speed_before.json
    python benchmarks/bench_speed.py --only graph_vae collator --threads 1 --label after_1thread \
        --json benchmarks/speed_after_1thread.json           # (and the same for before_1thread)
    python benchmarks/bench_speed.py --write   # RESULTS.md section from the JSON files, side by side
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.append(ROOT)  # appended: a PYTHONPATH copy of an older astrobio_hf (the "before" run) wins

from benchmarks._common import (  # noqa: E402
    RESULTS,
    count_flops,
    interleaved,
    machine,
    matmul_peak,
    median,
    write_section,
)

SECTION = "Speed against stock references (issue 12)"


# -- train steps ----------
OPTIMIZER = {"fused": True}  # torch.optim.AdamW keywords, set by --optimizer for every row of a run


def train_step(model: torch.nn.Module, loss_fn) -> callable:
    """forward + backward + AdamW step (fused by default, as transformers' Trainer default `adamw_torch_fused`; the
    for-loop AdamW of `--optimizer adamw` pays a per-tensor cost that favours models with fewer parameter tensors)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, **OPTIMIZER)

    def step() -> None:
        loss_fn().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# -- datacube vs stock VideoMAE ----------
def videomae_reference(cfg, target_parameters: int):
    """A stock VideoMAEModel + linear head with our token grid; width chosen to match `target_parameters`."""
    from transformers import VideoMAEConfig, VideoMAEModel

    frames, tubelet = cfg.num_time * cfg.num_levels, cfg.patch_time * cfg.patch_lev
    voxels = cfg.num_variables * tubelet * cfg.patch_lat * cfg.patch_lon

    def build(hidden: int):
        config = VideoMAEConfig(
            image_size=(cfg.num_lat, cfg.num_lon), patch_size=cfg.patch_lat, num_channels=cfg.num_variables,
            num_frames=frames, tubelet_size=tubelet, hidden_size=hidden, num_hidden_layers=cfg.num_hidden_layers,
            num_attention_heads=cfg.num_attention_heads, intermediate_size=4 * hidden, use_mean_pooling=False,
            qkv_bias=True, attn_implementation="sdpa",
        )
        encoder = VideoMAEModel(config)
        return torch.nn.ModuleDict({"encoder": encoder, "head": torch.nn.Linear(hidden, voxels)})

    heads = cfg.num_attention_heads
    candidates = range(heads * 4, 4096, heads * 4)

    def size(hidden: int) -> int:
        with torch.device("meta"):
            return parameters(build(hidden))

    hidden = min(candidates, key=lambda h: abs(size(h) - target_parameters))
    return build(hidden), hidden


def datacube_row(batch: int, rounds: int) -> dict:
    from astrobio_hf.models.presets import build_model
    from tests.helpers.model_inputs import lapse_rate_cubes

    torch.manual_seed(0)
    ours = build_model("astro-datacube-small").train()
    cfg = ours.config
    cubes = lapse_rate_cubes(cfg, batch)
    reference, ref_hidden = videomae_reference(cfg, parameters(ours))
    reference.train()
    b, v, t, lv, y, x = cubes.shape
    frames = cubes.permute(0, 2, 3, 1, 4, 5).reshape(b, t * lv, v, y, x)  # [B, frames, channels, lat, lon]
    tubelet = cfg.patch_time * cfg.patch_lev
    target = frames.reshape(b, t * lv // tubelet, tubelet, v, y // cfg.patch_lat, cfg.patch_lat,
                            x // cfg.patch_lon, cfg.patch_lon)
    target = target.permute(0, 1, 4, 6, 3, 2, 5, 7).reshape(b, -1, v * tubelet * cfg.patch_lat * cfg.patch_lon)

    def reference_loss():
        hidden = reference["encoder"](pixel_values=frames).last_hidden_state
        return torch.nn.functional.mse_loss(reference["head"](hidden), target)

    steps = {"ours": train_step(ours, lambda: ours(climate_cube=cubes).loss),
             "reference": train_step(reference, reference_loss)}
    flops = {"ours": count_flops(steps["ours"]), "reference": count_flops(steps["reference"])}  # also warms up
    times = interleaved(steps, rounds, 1)
    seconds = {k: median(v) for k, v in times.items()}
    return {
        "batch": batch, "tokens": cfg.num_patches, "stem_channels": list(getattr(cfg, "stem_channels", [])),
        "parameters": {"ours": parameters(ours), "reference": parameters(reference)},
        "reference_hidden": ref_hidden, "ours_hidden": cfg.hidden_size,
        "seconds": seconds, "all_seconds": times, "flops": flops,
        "speed_ratio": seconds["reference"] / seconds["ours"],
    }


# -- multimodal ----------
def multimodal_row(batch: int, rounds: int, matmul_size: int = 1024, matmul_repeats: int = 20) -> dict:
    """The multimodal train step, interleaved with an fp32 square matmul whose median rate is the peak it is
    compared to (measured in the same rounds, so machine load hits both)."""
    from astrobio_hf.models.presets import build_model
    from tests.helpers.model_inputs import multimodal_inputs

    torch.manual_seed(0)
    model = build_model("astro-multimodal-small").train()
    inputs = multimodal_inputs(model.config, batch)
    step = train_step(model, lambda: model(**inputs).loss)
    flops = count_flops(step)
    a, b = torch.randn(matmul_size, matmul_size), torch.randn(matmul_size, matmul_size)
    torch.matmul(a, b)
    times = interleaved({"ours": step, "matmul": lambda: torch.matmul(a, b)}, rounds, 1)
    times["matmul"] = interleaved({"matmul": lambda: torch.matmul(a, b)}, rounds, matmul_repeats)["matmul"]
    seconds = median(times["ours"])
    peak = 2 * matmul_size**3 / median(times["matmul"])
    return {"batch": batch, "parameters": parameters(model), "seconds": seconds, "all_seconds": times["ours"],
            "samples_per_s": batch / seconds, "flops": flops, "flops_per_s": flops / seconds,
            "peak_flops": peak, "fraction_of_peak": flops / seconds / peak}


def multimodal_before_after_row(v1_models: Path, batch: int, rounds: int) -> dict:
    """The v1 multimodal step (two climate-encoder passes, CNN stem) interleaved with today's in ONE process, so machine
    load hits both alike. `v1_models` holds a copy of the v1 `astrobio_hf/models` package renamed
    `astrobio_v1_models` (its imports are package-relative)."""
    import importlib

    from astrobio_hf.models.presets import build_model
    from tests.helpers.model_inputs import multimodal_inputs

    sys.path.insert(0, str(v1_models))
    v1_presets = importlib.import_module("astrobio_v1_models.presets")
    torch.manual_seed(0)
    models = {"before": v1_presets.build_model("astro-multimodal-small").train(),
              "after": build_model("astro-multimodal-small").train()}
    steps = {}
    for name, model in models.items():
        inputs = multimodal_inputs(model.config, batch)
        steps[name] = train_step(model, lambda m=model, i=inputs: m(**i).loss)
        steps[name]()  # warm-up
    times = interleaved(steps, rounds, 1)
    seconds = {k: median(v) for k, v in times.items()}
    return {"batch": batch, "seconds": seconds, "all_seconds": times,
            "samples_per_s": {k: batch / v for k, v in seconds.items()},
            "speedup": seconds["before"] / seconds["after"]}


# -- graph VAE vs PyG VGAE ----------
def vgae_reference(cfg, hidden_size: int | None = None):
    """torch_geometric VGAE with a stock GATv2 encoder of our heads and depth, residual + dropout + LayerNorm blocks
    as ours (dropout `cfg.dropout`, active in training like ours), width `hidden_size` (default: ours)."""
    from torch_geometric.nn import GATv2Conv
    from torch_geometric.nn.models import VGAE

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            h, heads = hidden_size or cfg.hidden_size, cfg.num_attention_heads
            self.input = torch.nn.Linear(cfg.node_feature_dim, h)
            self.convs = torch.nn.ModuleList(GATv2Conv(h, h // heads, heads=heads, edge_dim=cfg.edge_attr_dim + 1)
                                             for _ in range(cfg.num_layers))
            self.norms = torch.nn.ModuleList(torch.nn.LayerNorm(h) for _ in range(cfg.num_layers))
            self.dropout = torch.nn.Dropout(cfg.dropout)
            self.mu = torch.nn.Linear(h, cfg.latent_dim)
            self.logstd = torch.nn.Linear(h, cfg.latent_dim)

        def forward(self, x, edge_index, edge_attr):
            hidden = self.input(x)
            for conv, norm in zip(self.convs, self.norms, strict=True):
                update = self.dropout(torch.nn.functional.gelu(conv(hidden, edge_index, edge_attr)))
                hidden = norm(hidden + update)
            return self.mu(hidden), self.logstd(hidden)

    return VGAE(Encoder())


def vgae_same_parameters(cfg, target: int):
    """The reference widened (in steps of the head count) to the parameter count closest to `target`: ours carries
    an MLP edge decoder and a feature decoder that VGAE (inner-product decoder) has no weights for."""
    widths = range(cfg.num_attention_heads, 8 * cfg.hidden_size, cfg.num_attention_heads)
    width = min(widths, key=lambda h: abs(parameters(vgae_reference(cfg, h)) - target))
    return vgae_reference(cfg, width), width


def graph_vae_row(graphs: int, copies: int, rounds: int, repeats: int) -> dict:
    from torch_geometric.data import Batch

    from astrobio_hf.models.presets import build_model
    from tests.helpers.model_inputs import hexokinase_graph

    torch.manual_seed(0)
    ours = build_model("astro-graph-vae-small").train()
    batch = Batch.from_data_list([hexokinase_graph(copies) for _ in range(graphs)])
    references = {"reference": vgae_reference(ours.config).train()}
    references["reference_same_parameters"], wide = vgae_same_parameters(ours.config, parameters(ours))
    references["reference_same_parameters"].train()
    # the same message graph as ours: every edge and its reverse, with a +1/-1 direction flag
    both = torch.cat([batch.edge_index, batch.edge_index.flip(0)], dim=1)
    flag = torch.ones(batch.edge_index.size(1), 1)
    attrs = torch.cat([torch.cat([batch.edge_attr, flag], 1), torch.cat([batch.edge_attr, -flag], 1)])
    x = torch.sign(batch.x) * torch.log1p(batch.x.abs())

    def reference_loss(reference):
        z = reference.encode(x, both, attrs)
        return reference.recon_loss(z, batch.edge_index) + reference.kl_loss() / batch.num_nodes

    steps = {"ours": train_step(ours, lambda: ours(graph=batch).loss)}
    steps.update({name: train_step(model, lambda m=model: reference_loss(m)) for name, model in references.items()})
    flops = {name: count_flops(step) for name, step in steps.items()}
    for step in steps.values():
        step()
    times = interleaved(steps, rounds, repeats)
    seconds = {k: median(v) for k, v in times.items()}
    return {"graphs": graphs, "nodes": batch.num_nodes, "edges": batch.num_edges, "optimizer": dict(OPTIMIZER),
            "parameters": {"ours": parameters(ours), **{k: parameters(m) for k, m in references.items()}},
            "reference_same_parameters_width": wide, "seconds": seconds, "flops": flops,
            "speed_ratio": seconds["reference"] / seconds["ours"],
            "speed_ratio_same_parameters": seconds["reference_same_parameters"] / seconds["ours"]}


# -- collator vs the raw read ----------
def collator_row(rows: int, batch_size: int, rounds: int, repeats: int) -> dict:
    import datasets
    import pyarrow as pa

    from astrobio_hf.data.collator import ArrowBatches, MultimodalCollator
    from tests.helpers.multimodal_rows import SPEC, row

    dataset = datasets.Dataset.from_list([SPEC.encode_row(row(i)) for i in range(rows)], features=SPEC.features())
    arrow = ArrowBatches(dataset)
    collator = MultimodalCollator(SPEC)
    order = np.random.default_rng(0).permutation(rows)
    batches = [order[i:i + batch_size].tolist() for i in range(0, rows - batch_size + 1, batch_size)]
    columns = [name for name in dataset.column_names
               if name.startswith(("planet_params", "spectrum", "light_curve", "climate_cube", "graph_"))
               or name in ("habitability", "hz_class")]
    columns = [c for c in columns if c not in ("climate_cube_generated", "graph_id")]

    def flat(column: pa.ChunkedArray) -> np.ndarray:
        array = column.combine_chunks()
        while pa.types.is_list(array.type) or pa.types.is_fixed_size_list(array.type) \
                or pa.types.is_large_list(array.type):
            array = array.flatten()
        return array.to_numpy(zero_copy_only=False)

    def raw_read() -> None:
        for indices in batches:
            table = arrow.__getitems__(indices)
            for name in columns:
                values = flat(table.column(name))
                if not name.startswith("graph_"):
                    np.stack(values.reshape(len(indices), -1))

    def collate() -> None:
        for indices in batches:
            collator(arrow.__getitems__(indices))

    raw_read()
    collate()
    times = interleaved({"ours": collate, "reference": raw_read}, rounds, repeats)
    seconds = {k: median(v) for k, v in times.items()}
    samples = len(batches) * batch_size
    return {"rows": rows, "batch_size": batch_size, "columns": columns,
            "samples_per_s": {k: samples / s for k, s in seconds.items()},
            "speed_ratio": seconds["reference"] / seconds["ours"]}


# -- AstroLLM vs Llama cached generation ----------
def llm_generation_row(preset: str, batch: int, prompt: int, new_tokens: int, rounds: int) -> dict:
    """Greedy cached generation (`generate(use_cache=True, do_sample=False)`, exactly `new_tokens` each) of AstroLLM
    and LlamaForCausalLM with the same config and weights (`bench_llm_throughput.build_pair`), interleaved; both must
    generate the same ids. Prompts are random token ids (throughput does not depend on them)."""
    from benchmarks.bench_llm_throughput import build_pair

    astro, llama = (model.eval() for model in build_pair(preset))
    ids = torch.randint(0, astro.config.vocab_size, (batch, prompt), generator=torch.Generator().manual_seed(0))
    kwargs = dict(attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                  do_sample=False, use_cache=True, pad_token_id=astro.generation_config.eos_token_id)
    generated: dict[str, torch.Tensor] = {}

    def generate(name: str, model) -> callable:
        def run() -> None:
            with torch.no_grad():
                generated[name] = model.generate(ids, **kwargs)
        return run

    steps = {"ours": generate("ours", astro), "reference": generate("reference", llama)}
    for step in steps.values():
        step()
    if not torch.equal(generated["ours"], generated["reference"]):
        raise RuntimeError("AstroLLM and Llama generated different ids from the same weights")
    times = interleaved(steps, rounds, 1)
    seconds = {k: median(v) for k, v in times.items()}
    return {"preset": preset, "batch": batch, "prompt": prompt, "new_tokens": new_tokens,
            "parameters": parameters(astro), "seconds": seconds, "all_seconds": times,
            "tokens_per_s": {k: batch * new_tokens / v for k, v in seconds.items()},
            "speed_ratio": seconds["reference"] / seconds["ours"]}


# -- RESULTS.md ----------
def _g(flops: float) -> str:
    return f"{flops / 1e9:,.1f}"


GRAPH_SIDES = ("ours", "reference", "reference_same_parameters")
RUNS = ("before", "after", "before_1thread", "after_1thread", "final", "final_1thread")


def _width(runs: list[tuple[str, dict]]) -> str:
    widths = {r["graph_vae"]["reference_same_parameters_width"] for _, r in runs
              if "reference_same_parameters_width" in r.get("graph_vae", {})}
    return "width " + " / ".join(map(str, sorted(widths))) if widths else "-"


def _generation(runs: list[tuple[str, dict]]) -> str:
    g = next((r["llm_generation"] for _, r in runs if "llm_generation" in r), None)
    if g is None:
        return "-"
    return (f"`{g['preset']}` ({g['parameters']:,} parameters), batch {g['batch']}, {g['prompt']}-token prompts, "
            f"{g['new_tokens']} new tokens each, greedy with the KV cache; both models generate identical ids")


def compose(runs: list[tuple[str, dict]]) -> str:
    """The RESULTS.md body: one column per run (a run may hold only some rows: '-' elsewhere)."""
    head = "| row | " + " | ".join(f"{label} ({r.get('threads', 2)} threads, {r.get('optimizer', 'for-loop')} AdamW)"
                                   for label, r in runs) + " |"
    sep = "|---|" + "---:|" * len(runs)

    def line(name: str, key: str, fmt) -> str:
        return f"| {name} | " + " | ".join(fmt(r[key]) if key in r else "-" for _, r in runs) + " |"

    def pair(a: float, b: float, digits: int = 2) -> str:
        return f"{a:,.{digits}f} / {b:,.{digits}f}"

    lines = [
        "One column per run of `benchmarks/bench_speed.py`: before = `astrobio_hf` of commit 67c1e0e (the branch "
        "point, `git archive` into /tmp/wt12_before, first on PYTHONPATH); after = the first pass of this branch "
        "(datacube, multimodal, collator); final = the second pass (graph VAE, generation row, fused AdamW in every "
        "train step of both sides, the PyG reference with our blocks' dropout and a second reference widened to "
        "our parameter count). Each run interleaves ours with the reference on the 2-core machine shared with "
        "other engineers' jobs (their load moved the seconds by up to 10x between minutes), so read the medians' "
        "RATIOS (reference time / our time: > 1 = ours faster), not the seconds, and compare ratios within a "
        "column. The 1-thread columns repeat the small-op rows with torch on one thread, where the 2-thread "
        "figures are dominated by thread contention.",
        "",
        head, sep,
        line("datacube-small: parameters ours / stock VideoMAE", "datacube",
             lambda d: f"{d['parameters']['ours']:,} / {d['parameters']['reference']:,}"),
        line("datacube-small: CNN stem", "datacube", lambda d: str(d["stem_channels"] or "none")),
        line("datacube-small batch 2 step, s: ours / reference", "datacube",
             lambda d: pair(d["seconds"]["ours"], d["seconds"]["reference"])),
        line("datacube-small GFLOP/step: ours / reference", "datacube",
             lambda d: pair(d["flops"]["ours"] / 1e9, d["flops"]["reference"] / 1e9, 1)),
        line("**datacube speed ratio** (target >= 1)", "datacube", lambda d: f"**{d['speed_ratio']:.2f}**"),
        line("multimodal-small batch 4 step, s", "multimodal", lambda d: f"{d['seconds']:.2f}"),
        line("**multimodal-small samples/s** (target 10x before)", "multimodal",
             lambda d: f"**{d['samples_per_s']:.3f}**"),
        line("multimodal-small GFLOP/step", "multimodal", lambda d: f"{d['flops'] / 1e9:,.1f}"),
        line("multimodal achieved GFLOP/s", "multimodal", lambda d: f"{d['flops_per_s'] / 1e9:.1f}"),
        line("fp32 matmul GFLOP/s (1024^2, median, interleaved with the step)", "multimodal",
             lambda d: f"{d['peak_flops'] / 1e9:.1f}" if "peak_flops" in d else "-"),
        line("**multimodal fraction of fp32 matmul peak** (aim >= 40%)", "multimodal",
             lambda d: f"**{100 * d['fraction_of_peak']:.0f}%**" if "peak_flops" in d else "- (peak not interleaved)"),
        line("multimodal-small samples/s, v1 / this branch, interleaved in one process", "multimodal_before_after",
             lambda d: pair(d["samples_per_s"]["before"], d["samples_per_s"]["after"], 3)),
        line("**multimodal speed-up in one process** (target >= 10)", "multimodal_before_after",
             lambda d: f"**{d['speedup']:.1f}x**"),
        line("graph-vae-small: parameters ours / PyG VGAE same width / same parameter count", "graph_vae",
             lambda d: " / ".join(f"{d['parameters'][k]:,}" if k in d["parameters"] else "-" for k in GRAPH_SIDES)),
        line("graph-vae-small GFLOP/step: ours / same width / same parameter count", "graph_vae",
             lambda d: " / ".join(f"{d['flops'][k] / 1e9:.3f}" if k in d["flops"] else "-" for k in GRAPH_SIDES)),
        line("graph-vae-small step, ms: ours / same width / same parameter count", "graph_vae",
             lambda d: " / ".join(f"{1e3 * d['seconds'][k]:,.1f}" if k in d["seconds"] else "-" for k in GRAPH_SIDES)),
        line("**graph VAE speed ratio, same width** (target >= 1)", "graph_vae",
             lambda d: f"**{d['speed_ratio']:.2f}**"),
        line("**graph VAE speed ratio, same parameter count** (target >= 1)", "graph_vae",
             lambda d: f"**{d['speed_ratio_same_parameters']:.2f}**" if "speed_ratio_same_parameters" in d else "-"),
        line("collator samples/s: ours / raw read", "collator",
             lambda d: pair(d["samples_per_s"]["ours"], d["samples_per_s"]["reference"], 0)),
        line("**collator speed ratio** (target >= 0.5)", "collator", lambda d: f"**{d['speed_ratio']:.2f}**"),
        line("llm-small cached greedy generation, new tokens/s: AstroLLM / Llama", "llm_generation",
             lambda d: pair(d["tokens_per_s"]["ours"], d["tokens_per_s"]["reference"], 0)),
        line("**generation speed ratio** (target: parity)", "llm_generation",
             lambda d: f"**{d['speed_ratio']:.2f}**"),
    ]
    sizes = next(r for _, r in runs if "graph_vae" in r)
    lines += [
        "",
        f"Graph VAE: {sizes['graph_vae']['graphs']} graphs, {sizes['graph_vae']['nodes']} nodes, "
        f"{sizes['graph_vae']['edges']} edges. Collator: {sizes['collator']['rows']} rows of the test fixture "
        f"(tests/helpers/multimodal_rows.py, tiny shapes), batch {sizes['collator']['batch_size']}, raw read = "
        "the same Arrow take + numpy arrays of the same columns. Graph VAE reference: torch_geometric `VGAE` with "
        "stock `GATv2Conv` residual + LayerNorm blocks of our heads and depth (final columns: with our blocks' "
        "dropout, which the earlier columns' reference lacked; the same-parameter-count reference is widened to "
        f"{_width(runs)}, as ours also carries an MLP edge decoder and a feature decoder). Generation: "
        f"{_generation(runs)}. Runs:",
        "",
        *[f"- {label}: `{r['command']}` ({r['date']}; {r['machine']})"
          + "".join(f"; rows {', '.join(x['rows'])} rerun with `{x['command']}`" for x in r.get("reruns", []))
          for label, r in runs],
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import datetime
    import subprocess

    from benchmarks._common import command_line

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", default="after")
    parser.add_argument("--json", type=Path, help="write this run's figures here")
    parser.add_argument("--v1-models", type=Path, default=None,
                        help="a copy of the v1 astrobio_hf/models renamed astrobio_v1_models: adds the multimodal "
                             "before/after row measured interleaved in this run")
    parser.add_argument("--merge", action="store_true", help="replace only the measured rows of an existing --json")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, = cores)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="datacube multimodal graph_vae collator llm_generation")
    parser.add_argument("--optimizer", choices=("fused", "foreach", "for-loop"), default="fused",
                        help="torch AdamW implementation for every train-step row (default fused)")
    parser.add_argument("--write", action="store_true",
                        help="compose the RESULTS.md section from the benchmarks/speed_<run>.json files")
    args = parser.parse_args(argv)
    if args.write:
        folder = Path(__file__).resolve().parent
        runs = [(label, json.loads((folder / f"speed_{label}.json").read_text())) for label in RUNS
                if (folder / f"speed_{label}.json").exists()]
        body = compose(runs)
        reading = folder / "speed_reading.md"  # the hand-written reading of the figures, kept across --write
        if reading.exists():
            body += "\n\n" + reading.read_text().strip()
        print(body)
        write_section(SECTION, body, RESULTS)
        return 0

    import astrobio_hf

    if args.threads:
        torch.set_num_threads(args.threads)
    OPTIMIZER.clear()
    OPTIMIZER.update({"fused": {"fused": True}, "foreach": {"foreach": True}, "for-loop": {"foreach": False}}[
        args.optimizer])
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    result = {"label": args.label, "astrobio_hf": os.path.dirname(astrobio_hf.__file__), "commit": commit,
              "command": command_line(), "machine": machine(), "date": datetime.date.today().isoformat(),
              "threads": torch.get_num_threads(), "optimizer": args.optimizer}
    print(json.dumps({k: result[k] for k in ("label", "astrobio_hf", "machine")}), flush=True)
    wanted = set(args.only or ["datacube", "multimodal", "graph_vae", "collator", "llm_generation"])
    result["peak_flops"] = matmul_peak(torch.float32, 1024, 5)
    if "collator" in wanted:
        result["collator"] = collator_row(256, 32, max(20, 6 * args.rounds), 3)
        print("collator", json.dumps(result["collator"]["samples_per_s"]), flush=True)
    if "graph_vae" in wanted:
        result["graph_vae"] = graph_vae_row(4, 16, max(20, 6 * args.rounds), 5)
        print("graph_vae", json.dumps(result["graph_vae"]["seconds"]), flush=True)
    if "datacube" in wanted:
        result["datacube"] = datacube_row(2, args.rounds)
        print("datacube", json.dumps(result["datacube"]["seconds"]), result["datacube"]["flops"], flush=True)
    if "multimodal" in wanted:
        result["multimodal"] = multimodal_row(4, args.rounds)
        print("multimodal", result["multimodal"]["samples_per_s"], result["multimodal"]["flops"], flush=True)
    if "llm_generation" in wanted:
        result["llm_generation"] = llm_generation_row("astro-llm-small", 4, 32, 64, max(6, 2 * args.rounds))
        print("llm generation", json.dumps(result["llm_generation"]["tokens_per_s"]), flush=True)
    if args.v1_models:
        wanted.add("multimodal_before_after")
        result["multimodal_before_after"] = multimodal_before_after_row(args.v1_models, 4, args.rounds)
        print("multimodal before/after", json.dumps(result["multimodal_before_after"]["seconds"]), flush=True)
    if args.json:
        if args.merge and args.json.exists():
            merged = json.loads(args.json.read_text())
            merged.setdefault("reruns", []).append({**{k: result[k] for k in ("command", "date", "commit")},
                                                    "rows": sorted(wanted)})
            result = {**merged, **{k: v for k, v in result.items() if k in wanted}}
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
