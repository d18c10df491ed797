"""AstroLLM vs transformers' LlamaForCausalLM: training tokens/s at an identical config, and FLOP/s vs matmul peak.

Both models get the same config and the same weights (AstroLLM uses Llama's parameter names). Each training step is
forward + backward + torch AdamW step on a synthetic batch of random token ids (synthetic: throughput does not depend
on token values). The two models are timed in alternating order over several rounds; the table reports median
tokens/s and the AstroLLM / Llama ratio, in fp32 and in bf16 autocast (fp32 weights).

Achieved FLOP/s uses the PaLM (Chowdhery et al. 2022, appendix B) training count per step:
    6 * N * tokens + 12 * L * S * (heads * head_dim) * tokens
with N the parameters excluding the input embedding (a lookup, not a matmul), L layers, S the sequence length; no
discount for the causal mask. It is reported as a fraction of this machine's measured matmul peak in the same dtype
(a large square torch.matmul, measured in this script).

    python benchmarks/bench_llm_throughput.py --quick            # smoke test, prints only
    python benchmarks/bench_llm_throughput.py --write            # full run, updates benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import interleaved, matmul_peak, median, write_section  # noqa: E402

SECTION = "LLM training throughput: AstroLLM vs LlamaForCausalLM"


def build_pair(preset: str, device: str = "cpu"):
    """An AstroLLMForCausalLM and a LlamaForCausalLM with the same config and the same weights, on `device`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from astrobio_hf.models import AstroLLMForCausalLM
    from astrobio_hf.models.presets import build_config, get_preset

    torch.manual_seed(0)
    with torch.device(device):
        astro = AstroLLMForCausalLM(build_config(preset, attn_implementation="sdpa"))
        llama = LlamaForCausalLM(LlamaConfig(**get_preset(preset).config_kwargs, attn_implementation="sdpa"))
    llama.load_state_dict(astro.state_dict(), strict=True)
    for model in (astro, llama):
        if model.config._attn_implementation != "sdpa":
            raise RuntimeError(f"{type(model).__name__} uses {model.config._attn_implementation}, expected sdpa")
    return astro.train(), llama.train()


def train_step_fn(model, batch: int, seq: int, bf16: bool):
    """A closure doing one forward + backward + AdamW step on a fixed synthetic batch."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (batch, seq), generator=generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def flops_per_step(config, batch: int, seq: int, num_params: int) -> float:
    n = num_params - config.vocab_size * config.hidden_size  # the input embedding is a lookup
    tokens = batch * seq
    attention = 12 * config.num_hidden_layers * seq * config.num_attention_heads * config.head_dim
    return 6 * n * tokens + attention * tokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="astro-llm-small")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=6, help="alternating A/B rounds")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per model per round")
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--bf16-rounds", type=int, default=None,
                        help="rounds for bf16 autocast (default: --rounds); CPUs without native bf16 matmul "
                             "(no AVX-512 BF16 / AMX) run bf16 an order of magnitude slower")
    parser.add_argument("--bf16-matmul-size", type=int, default=None, help="matmul size of the bf16 peak probe")
    parser.add_argument("--quick", action="store_true", help="tiny preset and sizes: a smoke test of the script")
    parser.add_argument("--write", action="store_true", help="update this script's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.preset, args.batch, args.seq, args.rounds, args.steps, args.matmul_size = "astro-llm-tiny", 2, 32, 2, 1, 256

    astro, llama = build_pair(args.preset)
    num_params = sum(p.numel() for p in astro.parameters())
    flops = flops_per_step(astro.config, args.batch, args.seq, num_params)
    tokens = args.batch * args.seq
    rows = []
    for label, bf16 in (("fp32", False), ("bf16 autocast", True)):
        steps = {"AstroLLM": train_step_fn(astro, args.batch, args.seq, bf16),
                 "Llama": train_step_fn(llama, args.batch, args.seq, bf16)}
        for step in list(steps.values()) * (1 if bf16 else 2):  # warm-up: allocations, optimizer state, kernels
            step()
        rounds = (args.bf16_rounds or args.rounds) if bf16 else args.rounds
        times = interleaved(steps, rounds, args.steps)
        size = (args.bf16_matmul_size or args.matmul_size) if bf16 else args.matmul_size
        peak = matmul_peak(torch.bfloat16 if bf16 else torch.float32, size, repeats=3)
        tps = {name: tokens / median(t) for name, t in times.items()}
        for name in steps:
            achieved = flops * tps[name] / tokens
            rows.append(f"| {label} | {name} | {tps[name]:,.0f} | {achieved / 1e9:.1f} | {peak / 1e9:.1f} | "
                        f"{achieved / peak:.1%} |")
        rows.append(f"| {label} | **ratio AstroLLM / Llama** | **{tps['AstroLLM'] / tps['Llama']:.3f}** | | | |")
    body = "\n".join([
        f"Preset `{args.preset}` ({num_params:,} parameters), batch {args.batch} x {args.seq} tokens, "
        f"{args.rounds} (fp32) / {args.bf16_rounds or args.rounds} (bf16) alternating rounds of {args.steps} steps "
        "(median). Step = forward + backward + AdamW; "
        "synthetic random token ids. FLOPs/step = 6 N tokens + 12 L S (heads x head_dim) tokens "
        f"(PaLM; N excludes the input embedding) = {flops / 1e9:.2f} GFLOP.",
        "",
        "| precision | model | tokens/s (median) | achieved GFLOP/s | matmul peak GFLOP/s | fraction of peak |",
        "|---|---|---:|---:|---:|---:|",
        *rows,
    ])
    print(body)
    if args.write:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
