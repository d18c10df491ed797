"""LoRA on AstroLLM through peft: the usual Llama target names, training, adapter save/reload and merge."""

from __future__ import annotations

import torch
from peft import LoraConfig, PeftModel, get_peft_model

from astrobio_hf.models.llm import AstroLLMConfig, AstroLLMForCausalLM

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
TINY = dict(
    vocab_size=97, hidden_size=64, intermediate_size=112, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=128,
)


def base_model() -> AstroLLMForCausalLM:
    torch.manual_seed(0)
    return AstroLLMForCausalLM(AstroLLMConfig(**TINY))


def trained_lora(steps: int = 5):
    model = get_peft_model(base_model(), LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, lora_dropout=0.0))
    input_ids = torch.arange(3, 35).view(2, 16) % TINY["vocab_size"]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(steps):
        loss = model(input_ids=input_ids, labels=input_ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return model.eval(), input_ids, losses


def test_lora_wraps_every_usual_target_and_trains_only_adapters():
    model, _, losses = trained_lora()
    wrapped = {name.split(".")[-1] for name, module in model.named_modules() if hasattr(module, "lora_A")}
    assert wrapped == set(TARGETS)
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    assert losses[-1] < losses[0]
    base = base_model()
    frozen = {n.replace("base_model.model.", "").replace(".base_layer", ""): p for n, p in model.named_parameters()}
    for name, param in base.named_parameters():
        assert torch.equal(frozen[name], param), f"base weight {name} changed"


def test_adapter_saves_reloads_and_merges(tmp_path):
    model, input_ids, _ = trained_lora()
    with torch.no_grad():
        expected = model(input_ids=input_ids).logits
    model.save_pretrained(tmp_path)
    assert (tmp_path / "adapter_model.safetensors").is_file()
    reloaded = PeftModel.from_pretrained(base_model(), tmp_path).eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids=input_ids).logits, expected)
    merged = reloaded.merge_and_unload()
    assert isinstance(merged, AstroLLMForCausalLM)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(merged(input_ids=input_ids).logits, expected, atol=1e-5, rtol=1e-4)
