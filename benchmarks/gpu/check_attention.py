"""Attention check: AstroLLM with `sdpa` (PyTorch's flash kernel forced) vs `eager`, bf16, and the flash-attn fallback.

One model (the `astro-llm-1b` shape cut to 4 layers: 32 heads of 64, grouped-query attention 8:1) in bf16 runs the
same batch with each attention implementation; both are compared with an fp32 eager reference of the same weights
(TF32 off), so the tolerance is relative to the error bf16 itself makes:
- causal, no padding: sdpa inside `sdpa_kernel(FLASH_ATTENTION)` (it raises if the flash kernel cannot run, so a
  pass proves the flash path ran);
- a right-padded batch: sdpa with its default kernel choice (flash does not take a mask), compared on real tokens.
Pass: rel(sdpa, eager) <= 2e-2, rel(sdpa, fp32) <= 2 rel(eager, fp32) + 1e-3, no NaN, next-token argmax agreement
>= 0.97. Token ids are drawn at random: this compares two kernels computing one function, on any valid input.

Then `flash_attention_2` is requested (constructor and `from_pretrained`) on a host without flash-attn: it must
fall back to sdpa with a logged message and without reaching for the Hub.

    python benchmarks/gpu/check_attention.py --out OUT/attention.json [--smoke]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.gpu._common import main_for, relative_error  # noqa: E402

NAME = "attention"
TOLERANCE = {"sdpa_vs_eager": 2e-2, "vs_fp32_factor": 2.0, "vs_fp32_slack": 1e-3, "argmax_agreement": 0.97}


def sizes(smoke: bool) -> dict:
    if smoke:
        return {"preset": "astro-llm-tiny", "overrides": {}, "batch": 2, "seq": 32, "device": "cpu"}
    return {"preset": "astro-llm-1b", "overrides": {"num_hidden_layers": 4}, "batch": 4, "seq": 1024, "device": "cuda"}


def plan(smoke: bool) -> dict:
    from astrobio_hf.models.presets import build_config

    s = sizes(smoke)
    config = build_config(s["preset"], **s["overrides"])
    return {**s, "heads": config.num_attention_heads, "kv_heads": config.num_key_value_heads,
            "head_dim": config.head_dim, "tolerance": TOLERANCE,
            "cases": ["causal, no padding (sdpa forced to the flash kernel)", "right-padded batch (sdpa default)",
                      "flash_attention_2 requested without flash-attn"]}


def _logits(model, ids, mask=None):
    import torch

    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask, use_cache=False).logits.float()


def _compare(sdpa, eager, reference, keep=None) -> dict:
    if keep is not None:
        sdpa, eager, reference = sdpa[keep], eager[keep], reference[keep]
    rel_sdpa_eager = relative_error(sdpa, eager)
    rel_sdpa_ref = relative_error(sdpa, reference)
    rel_eager_ref = relative_error(eager, reference)
    agreement = float((sdpa.argmax(-1) == eager.argmax(-1)).float().mean())
    passed = (rel_sdpa_eager <= TOLERANCE["sdpa_vs_eager"]
              and rel_sdpa_ref <= TOLERANCE["vs_fp32_factor"] * rel_eager_ref + TOLERANCE["vs_fp32_slack"]
              and agreement >= TOLERANCE["argmax_agreement"])  # NaN fails every comparison
    return {"rel_sdpa_vs_eager": rel_sdpa_eager, "rel_sdpa_vs_fp32": rel_sdpa_ref, "rel_eager_vs_fp32": rel_eager_ref,
            "max_abs_sdpa_vs_eager": float((sdpa - eager).abs().max()), "argmax_agreement": agreement,
            "passed": passed}


def compare_kernels(s: dict) -> dict:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from astrobio_hf.models import AstroLLMForCausalLM
    from astrobio_hf.models.presets import build_config

    device = s["device"]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    with torch.device(device):
        model = AstroLLMForCausalLM(build_config(s["preset"], attn_implementation="eager", **s["overrides"])).eval()
    generator = torch.Generator(device="cpu").manual_seed(1)
    ids = torch.randint(0, model.config.vocab_size, (s["batch"], s["seq"]), generator=generator).to(device)
    mask = torch.ones_like(ids)
    mask[0, s["seq"] * 3 // 4:] = 0  # row 0 right-padded by a quarter
    keep = mask.bool()

    reference = {"causal": _logits(model, ids), "padded": _logits(model, ids, mask)}  # fp32 eager
    model.to(torch.bfloat16)
    eager = {"causal": _logits(model, ids), "padded": _logits(model, ids, mask)}
    model.set_attn_implementation("sdpa")
    if model.config._attn_implementation != "sdpa":
        raise RuntimeError(f"set_attn_implementation('sdpa') left {model.config._attn_implementation!r}")
    result: dict = {}
    flash_forced = device.startswith("cuda")
    try:
        if flash_forced:
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                sdpa_causal = _logits(model, ids)
        else:
            sdpa_causal = _logits(model, ids)
    except RuntimeError as error:  # the flash kernel refused these inputs: say so, compare the default choice
        result["flash_kernel_error"] = str(error)[:500]
        flash_forced = False
        sdpa_causal = _logits(model, ids)
    sdpa_padded = _logits(model, ids, mask)
    result["causal"] = {**_compare(sdpa_causal, eager["causal"], reference["causal"]),
                        "sdpa_backend": "FLASH_ATTENTION (forced)" if flash_forced else "default choice"}
    result["padded"] = {**_compare(sdpa_padded, eager["padded"], reference["padded"], keep),
                        "sdpa_backend": "default choice (a mask rules out flash)"}
    result["parameters"] = sum(p.numel() for p in model.parameters())
    return result


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def flash_fallback() -> dict:
    """Request flash_attention_2 through the constructor and from_pretrained; record the choice and the message."""
    import warnings

    from astrobio_hf.models import AstroLLMForCausalLM
    from astrobio_hf.models.presets import build_config

    installed = importlib.util.find_spec("flash_attn") is not None
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            built = AstroLLMForCausalLM(build_config("astro-llm-tiny", attn_implementation="flash_attention_2"))
            with tempfile.TemporaryDirectory() as tmp:
                built.save_pretrained(tmp)
                loaded = AstroLLMForCausalLM.from_pretrained(tmp, attn_implementation="flash_attention_2")
    finally:
        root.removeHandler(handler)
    messages = handler.messages + [f"warning: {w.message}" for w in caught]
    flash_messages = [m for m in messages if "flash" in m.lower()]
    chosen = {"constructor": built.config._attn_implementation, "from_pretrained": loaded.config._attn_implementation}
    if installed:
        passed = all(v.startswith("flash_attention") for v in chosen.values())
    else:
        passed = all(v == "sdpa" for v in chosen.values()) and bool(flash_messages)
    return {"flash_attn_installed": installed, "implementation": chosen, "messages": flash_messages[:4],
            "passed": passed}


def run(args: argparse.Namespace) -> dict:
    s = sizes(args.smoke)
    kernels = compare_kernels(s)
    fallback = flash_fallback()
    passed = kernels["causal"]["passed"] and kernels["padded"]["passed"] and fallback["passed"]
    return {"kernels": kernels, "flash_attention_2_request": fallback, "passed": passed}


if __name__ == "__main__":
    sys.exit(main_for(NAME, plan, run))
