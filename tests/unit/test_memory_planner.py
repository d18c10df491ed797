"""The memory planner against measurement on this CPU machine, and its command.

(a) model-state bytes (parameters + gradients + optimizer state) after one real optimizer step, within 1%;
(b) peak RSS (VmHWM) of fresh training processes, within 15%, with the framework baseline measured here the same way;
(c) the 13B count, the JSON output and the monotonicity of the verdict.
The activation formulas are also checked term by term against the tensors autograd really saves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from astrobio_hf.cli import main
from astrobio_hf.memory import PlanRequest, build_inventory, normalize_request, plan_for, plan_memory
from astrobio_hf.memory_activations import (
    datacube_activation_terms,
    graph_vae_activation_bytes,
    llm_activation_terms,
    multimodal_activation_terms,
)
from astrobio_hf.models.presets import build_config, build_model
from tests.helpers.model_inputs import hexokinase_graph, lapse_rate_cubes, multimodal_inputs

REPO = Path(__file__).resolve().parents[2]
MODEL_STATE_TERMS = ("parameters", "gradients", "optimizer state")


def _optimizer(name: str, params):
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-4)
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    bnb = pytest.importorskip("bitsandbytes")
    return bnb.optim.AdamW8bit(params, lr=1e-4)


def _inputs(model, preset: str) -> dict:
    if "llm" in preset:
        ids = torch.arange(2 * 8).remainder(model.config.vocab_size).view(2, 8)
        return {"input_ids": ids, "labels": ids}
    if "graph" in preset:
        return {"graph": hexokinase_graph(3)}
    return {"climate_cube": lapse_rate_cubes(model.config, 1)}


def _measured_model_state(model, optimizer) -> int:
    """Bytes of every distinct storage held by parameters, their gradients and the optimizer state."""
    storages: dict[int, int] = {}

    def add(tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()

    for param in model.parameters():
        add(param)
        if param.grad is not None:
            add(param.grad)
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                add(value)
    return sum(storages.values())


@pytest.mark.parametrize("preset, optimizer", [
    ("astro-llm-tiny", "adamw"), ("astro-llm-tiny", "adamw-8bit"), ("astro-llm-small", "adamw"),
    ("astro-llm-small", "adamw-8bit"), ("astro-llm-small", "sgd"), ("astro-datacube-tiny", "adamw"),
    ("astro-graph-vae-small", "adamw-8bit"),
])
def test_model_state_bytes_match_one_real_step_within_one_percent(preset, optimizer):
    torch.manual_seed(0)
    model = build_model(preset)
    opt = _optimizer(optimizer, model.parameters())
    loss = model(**_inputs(model, preset)).loss
    loss.backward()
    opt.step()
    measured = _measured_model_state(model, opt)

    plan = plan_for(preset, strategy="single", optimizer=optimizer, device="cpu", dtype="fp32")
    predicted = sum(plan.device[term] for term in MODEL_STATE_TERMS)
    assert abs(predicted - measured) <= 0.01 * measured, (predicted, measured)


def test_8bit_state_follows_the_per_tensor_rule():
    # the tiny LLM has tensors on both sides of bitsandbytes' 4096-element threshold
    plan32 = plan_for("astro-llm-small", strategy="single", optimizer="adamw", device="cpu")
    plan8 = plan_for("astro-llm-small", strategy="single", optimizer="adamw-8bit", device="cpu")
    n = plan8.num_parameters
    assert 2.0 * n < plan8.device["optimizer state"] < 2.1 * n
    assert plan32.device["optimizer state"] > 8 * n


def _saved_bytes(model, forward) -> int:
    """Bytes of the distinct non-parameter storages autograd saves for backward during `forward()`."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    return sum(seen.values())


@pytest.mark.parametrize("mode, checkpointing", [("fp32", False), ("autocast", False), ("bf16", False),
                                                 ("fp32", True)])
def test_llm_activation_formula_matches_saved_tensors(mode, checkpointing):
    torch.manual_seed(0)
    model = build_model("astro-llm-small")
    if mode == "bf16":
        model = model.to(torch.bfloat16)
    if checkpointing:
        model.activation_checkpointing_enable()
    model.train()
    batch, seq = 2, 64
    ids = torch.arange(batch * seq).remainder(model.config.vocab_size).view(batch, seq)

    def forward():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode != "fp32"):
            return model(input_ids=ids, labels=ids).loss

    measured = _saved_bytes(model, forward)
    terms = llm_activation_terms(model.config, batch, seq, mode, checkpointing)
    predicted = terms["layers"] + terms["head"]
    if mode == "autocast":  # the bf16 copies of the Linear weights autocast keeps for backward
        inventory = build_inventory(model.config)
        predicted += 2 * sum(t.numel for t in inventory.tensors if t.matmul_weight)
    assert abs(predicted - measured) <= 0.01 * measured, (predicted, measured)


def test_datacube_activation_formula_matches_saved_tensors():
    torch.manual_seed(0)
    model = build_model("astro-datacube-small").train()
    cubes = lapse_rate_cubes(model.config, 1)
    measured = _saved_bytes(model, lambda: model(climate_cube=cubes).loss)
    predicted = datacube_activation_terms(model.config, 1, "fp32", False)["saved"]
    assert abs(predicted - measured) <= 0.03 * measured, (predicted, measured)


def test_graph_vae_activation_formula_matches_saved_tensors():
    from torch_geometric.data import Batch

    torch.manual_seed(0)
    model = build_model("astro-graph-vae-small").train()
    graph = hexokinase_graph(20)  # 120 nodes, 100 edges
    batch = Batch.from_data_list([graph, graph])
    measured = _saved_bytes(model, lambda: model(graph=batch).loss)
    predicted = graph_vae_activation_bytes(model.config, 2, graph.num_nodes, graph.num_edges, "fp32", False)
    assert abs(predicted - measured) <= 0.10 * measured, (predicted, measured)


def test_multimodal_activation_formula_matches_saved_tensors():
    torch.manual_seed(0)
    model = build_model("astro-multimodal-small").train()
    inputs = multimodal_inputs(model.config, 1)
    graph = inputs["graph"]
    measured = _saved_bytes(model, lambda: model(**inputs).loss)
    terms = multimodal_activation_terms(model.config, 1, 1, graph.num_nodes, graph.num_edges, "fp32", False)
    assert abs(terms["saved"] - measured) <= 0.05 * measured, (terms["saved"], measured)


# ------------------------------------------------------------------------------------------- peak RSS, fresh process
# Peak RSS is read from /proc/self/status VmHWM, the high-water mark of this process image: ru_maxrss would also
# carry the parent's (pytest's) resident size across fork + exec.
CHILD = r"""
import json, sys
import torch, transformers
import astrobio_hf.models
def peak():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
spec = json.loads(sys.argv[1])
if spec.get("baseline"):
    print(json.dumps({"peak": peak()}))
    sys.exit()
from astrobio_hf.models.presets import build_model
from tests.helpers.model_inputs import lapse_rate_cubes
torch.manual_seed(0)
model = build_model(spec["preset"], **spec["overrides"]).train()
if spec["gc"]:
    model.activation_checkpointing_enable()
params = model.parameters()
opt = (torch.optim.AdamW(params, lr=1e-4) if spec["optimizer"] == "adamw"
       else torch.optim.SGD(params, lr=1e-3, momentum=0.9))
if "llm" in spec["preset"]:
    ids = torch.randint(0, model.config.vocab_size, (spec["batch"], spec["seq"]), generator=torch.Generator().manual_seed(0))
    inputs = {"input_ids": ids, "labels": ids}
else:
    inputs = {"climate_cube": lapse_rate_cubes(model.config, spec["batch"])}
for _ in range(2):
    model(**inputs).loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
print(json.dumps({"peak": peak()}))
"""

RSS_CASES = [
    {"preset": "astro-llm-small", "optimizer": "adamw", "batch": 4, "seq": 256, "gc": False, "overrides": {}},
    {"preset": "astro-llm-small", "optimizer": "sgd", "batch": 4, "seq": 256, "gc": True, "overrides": {}},
    # one season instead of twelve months keeps the CPU time short
    {"preset": "astro-datacube-small", "optimizer": "adamw", "batch": 1, "seq": 1, "gc": False,
     "overrides": {"num_time": 3}},
]


def _peak_rss(spec: dict) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])["peak"]


@pytest.fixture(scope="module")
def framework_baseline() -> int:
    """Peak RSS of a process that only imports python + torch + transformers + our models, measured now."""
    return _peak_rss({"baseline": True})


@pytest.mark.parametrize("spec", RSS_CASES, ids=[f"{c['preset']}-{c['optimizer']}-gc{int(c['gc'])}" for c in RSS_CASES])
def test_cpu_peak_rss_predicted_within_15_percent(spec, framework_baseline):
    measured = _peak_rss(spec)
    request = PlanRequest(strategy="single", device="cpu", dtype="fp32", optimizer=spec["optimizer"],
                          micro_batch=spec["batch"], seq_len=spec["seq"], grad_checkpointing=spec["gc"],
                          host_baseline_bytes=framework_baseline)
    plan = plan_memory(build_config(spec["preset"], **spec["overrides"]), request)
    assert plan.device["framework baseline (python + torch + transformers)"] == framework_baseline
    assert abs(plan.device_total - measured) <= 0.15 * measured, (plan.device_total, measured)


# ------------------------------------------------------------------------------------------- the seed question, CLI
def test_13b_json_reports_num_parameters(capsys):
    code = main(["estimate-memory", "--preset", "astro-llm-13b", "--strategy", "fsdp2-offload-8bit", "--gpus", "2",
                 "--gpu-mem", "24", "--micro-batch", "1", "--seq-len", "2048", "--grad-checkpointing", "--json"])
    assert code == 0
    plan = json.loads(capsys.readouterr().out)
    assert 13.0e9 <= plan["num_parameters"] <= 13.3e9
    assert plan["request"]["strategy"] == "fsdp-offload" and plan["request"]["optimizer"] == "adamw-8bit"
    assert plan["device_total"] == sum(plan["device"].values())
    assert isinstance(plan["fits"], bool) and plan["max_micro_batch"] >= 0


def test_table_output_and_config_path(tmp_path, capsys):
    build_config("astro-llm-tiny").save_pretrained(tmp_path)
    assert main(["estimate-memory", "--config", str(tmp_path / "config.json"), "--strategy", "ddp", "--gpus", "2",
                 "--gpu-mem", "8", "--seq-len", "128"]) == 0
    out = capsys.readouterr().out
    assert "| **total** |" in out and "verdict: fits" in out


def test_bad_inputs_give_clear_errors(tmp_path, capsys):
    assert main(["estimate-memory", "--preset", "astro-llm-huge"]) == 2
    assert "unknown preset" in capsys.readouterr().err
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    assert main(["estimate-memory", "--config", str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err
    with pytest.raises(ValueError, match="single"):
        normalize_request(PlanRequest(strategy="fsdp", device="cpu"))


STRATEGY_OPTIMIZERS = [("single", "adamw"), ("ddp", "adamw-8bit"), ("fsdp", "adamw"), ("fsdp-offload", "adamw-8bit"),
                       ("lora", "adamw"), ("qlora", "paged-adamw-8bit")]


@pytest.mark.parametrize("strategy, optimizer", STRATEGY_OPTIMIZERS)
def test_verdicts_are_monotonic_and_max_batch_is_tight(strategy, optimizer):
    config = build_config("astro-llm-1b")
    for gpus in (1, 2, 4):
        verdicts = [plan_memory(config, PlanRequest(strategy=strategy, optimizer=optimizer, gpus=gpus, gpu_mem_gb=mem,
                                                    micro_batch=2, seq_len=1024)).fits
                    for mem in (4, 8, 16, 24, 40, 80)]
        assert verdicts == sorted(verdicts), (gpus, verdicts)  # False... then True...
    for mem in (8, 24, 80):
        by_gpus = [plan_memory(config, PlanRequest(strategy=strategy, optimizer=optimizer, gpus=g, gpu_mem_gb=mem,
                                                   micro_batch=2, seq_len=1024)).fits for g in (1, 2, 4, 8)]
        assert by_gpus == sorted(by_gpus), (mem, by_gpus)
    request = PlanRequest(strategy=strategy, optimizer=optimizer, gpus=2, gpu_mem_gb=24, seq_len=1024)
    best = plan_memory(config, request).max_micro_batch
    if best > 0:
        assert plan_memory(config, PlanRequest(**{**request.__dict__, "micro_batch": best})).fits
    assert not plan_memory(config, PlanRequest(**{**request.__dict__, "micro_batch": best + 1})).fits


def test_sharding_divides_model_state_across_ranks():
    config = build_config("astro-llm-1b")
    one = plan_memory(config, PlanRequest(strategy="fsdp", optimizer="adamw", gpus=1))
    four = plan_memory(config, PlanRequest(strategy="fsdp", optimizer="adamw", gpus=4))
    state = "optimizer state (shard)"
    assert abs(four.device[state] * 4 - one.device[state]) <= 0.01 * one.device[state]
    offload = plan_memory(config, PlanRequest(strategy="fsdp-offload", optimizer="adamw", gpus=4))
    assert state not in offload.device and offload.host_per_rank[state] == four.device[state]
