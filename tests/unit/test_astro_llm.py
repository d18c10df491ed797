"""AstroLLM: Llama parity, checkpoint compatibility, generation, attention fallback, LoRA and the evidence prefix."""

from __future__ import annotations

import logging

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from astrobio_hf.models.llm import AstroLLMConfig, AstroLLMForCausalLM

TINY = dict(
    vocab_size=97, hidden_size=64, intermediate_size=112, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=128, pad_token_id=0, bos_token_id=1, eos_token_id=2,
)


def tiny_pair(attn: str) -> tuple[LlamaForCausalLM, AstroLLMForCausalLM]:
    """A random tiny Llama and an AstroLLM holding a copy of its weights."""
    torch.manual_seed(0)
    llama = LlamaForCausalLM(LlamaConfig(**TINY, attn_implementation=attn)).eval()
    astro = AstroLLMForCausalLM(AstroLLMConfig(**TINY, attn_implementation=attn)).eval()
    result = astro.load_state_dict(llama.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    return llama, astro


def test_parameter_names_match_llama():
    llama, astro = tiny_pair("eager")
    assert sorted(llama.state_dict()) == sorted(astro.state_dict())
    for name, tensor in llama.state_dict().items():
        assert astro.state_dict()[name].shape == tensor.shape, name


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_logits_and_loss_parity_with_llama(attn):
    llama, astro = tiny_pair(attn)
    assert astro.config._attn_implementation == attn
    input_ids = torch.randint(3, TINY["vocab_size"], (3, 17))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, :4] = 0  # left padding in one row exercises the mask path
    with torch.no_grad():
        ref = llama(input_ids, attention_mask=attention_mask, labels=input_ids)
        out = astro(input_ids, attention_mask=attention_mask, labels=input_ids)
    torch.testing.assert_close(out.logits, ref.logits)
    torch.testing.assert_close(out.loss, ref.loss)


def test_gradients_match_llama():
    llama, astro = tiny_pair("sdpa")
    input_ids = torch.randint(3, TINY["vocab_size"], (2, 9))
    llama(input_ids, labels=input_ids).loss.backward()
    astro(input_ids, labels=input_ids).loss.backward()
    llama_grads = dict(llama.named_parameters())
    for name, param in astro.named_parameters():
        torch.testing.assert_close(param.grad, llama_grads[name].grad, msg=name)


def test_llama_checkpoint_loads_both_ways(tmp_path):
    llama, _ = tiny_pair("sdpa")
    llama.save_pretrained(tmp_path / "llama")
    astro, info = AstroLLMForCausalLM.from_pretrained(tmp_path / "llama", output_loading_info=True)
    assert info["missing_keys"] == set() or not info["missing_keys"]
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    for name, tensor in llama.state_dict().items():
        assert torch.equal(astro.state_dict()[name], tensor), name

    astro.save_pretrained(tmp_path / "astro")
    back, info = LlamaForCausalLM.from_pretrained(tmp_path / "astro", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    input_ids = torch.randint(3, TINY["vocab_size"], (1, 11))
    with torch.no_grad():
        torch.testing.assert_close(back.eval()(input_ids).logits, llama(input_ids).logits)


def test_save_and_load_is_bit_exact(tmp_path):
    _, astro = tiny_pair("sdpa")
    astro.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded = AstroLLMForCausalLM.from_pretrained(tmp_path).eval()
    assert loaded.config.model_type == "astro_llm"
    for name, tensor in astro.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    input_ids = torch.randint(3, TINY["vocab_size"], (2, 7))
    with torch.no_grad():
        assert torch.equal(loaded(input_ids).logits, astro(input_ids).logits)


def test_generate_greedy_uses_kv_cache_consistently():
    _, astro = tiny_pair("sdpa")
    prompt = torch.randint(3, TINY["vocab_size"], (2, 5))
    mask = torch.ones_like(prompt)
    cached = astro.generate(prompt, attention_mask=mask, max_new_tokens=8, do_sample=False, use_cache=True)
    uncached = astro.generate(prompt, attention_mask=mask, max_new_tokens=8, do_sample=False, use_cache=False)
    assert torch.equal(cached, uncached)
    # greedy decoding is the argmax of a full forward pass at every step
    seq = prompt
    with torch.no_grad():
        for _ in range(8):
            next_token = astro(seq).logits[:, -1].argmax(-1, keepdim=True)
            seq = torch.cat([seq, next_token], dim=1)
    eos = TINY["eos_token_id"]
    for row in range(2):
        stop = (seq[row, 5:] == eos).nonzero()
        end = 5 + (int(stop[0]) + 1 if len(stop) else 8)
        assert torch.equal(cached[row, :end], seq[row, :end])


def test_generate_sampling_is_seeded_and_in_vocab():
    _, astro = tiny_pair("sdpa")
    prompt = torch.randint(3, TINY["vocab_size"], (2, 4))
    mask = torch.ones_like(prompt)
    torch.manual_seed(123)
    first = astro.generate(prompt, attention_mask=mask, max_new_tokens=6, do_sample=True, top_k=20, temperature=0.9)
    torch.manual_seed(123)
    second = astro.generate(prompt, attention_mask=mask, max_new_tokens=6, do_sample=True, top_k=20, temperature=0.9)
    assert torch.equal(first, second)
    assert first.shape[1] <= 10 and int(first.max()) < TINY["vocab_size"]


def test_flash_attention_request_falls_back_to_sdpa(caplog):
    with caplog.at_level(logging.WARNING, logger="astrobio_hf.models.llm.modeling_astro_llm"):
        model = AstroLLMForCausalLM(AstroLLMConfig(**TINY, attn_implementation="flash_attention_2"))
    assert model.config._attn_implementation == "sdpa"
    assert "flash-attn is not usable here" in caplog.text
    model.set_attn_implementation("flash_attention_2")
    assert model.config._attn_implementation == "sdpa"


def test_gradient_checkpointing_gives_same_gradients():
    _, astro = tiny_pair("sdpa")
    astro.train()
    input_ids = torch.randint(3, TINY["vocab_size"], (2, 9))
    astro(input_ids, labels=input_ids).loss.backward()
    plain = {n: p.grad.clone() for n, p in astro.named_parameters()}
    astro.zero_grad()
    astro.gradient_checkpointing_enable()
    assert all(layer.gradient_checkpointing for layer in astro.model.layers)
    astro(input_ids, labels=input_ids).loss.backward()
    for name, param in astro.named_parameters():
        torch.testing.assert_close(param.grad, plain[name], msg=name)


@pytest.mark.parametrize(
    "overrides, field",
    [
        (dict(hidden_size=66), "hidden_size"),
        (dict(num_key_value_heads=3), "num_key_value_heads"),
        (dict(num_hidden_layers=0), "num_hidden_layers"),
        (dict(num_evidence_tokens=2), "evidence_dim"),
    ],
)
def test_bad_config_names_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        AstroLLMConfig(**{**TINY, **overrides})


def evidence_model() -> AstroLLMForCausalLM:
    torch.manual_seed(1)
    return AstroLLMForCausalLM(AstroLLMConfig(**TINY, evidence_dim=24, num_evidence_tokens=3)).eval()


def test_evidence_prefix_conditions_the_text_and_is_never_a_target():
    model = evidence_model()
    input_ids = torch.randint(3, TINY["vocab_size"], (2, 6))
    evidence = torch.linspace(-1, 1, 48).view(2, 24)
    out = model(input_ids, evidence=evidence, labels=input_ids)
    assert out.logits.shape == (2, 3 + 6, TINY["vocab_size"])
    # only text tokens are targets; the first one is predicted from the last evidence token (as in LLaVA)
    predicting_text = out.logits[:, 2:-1].reshape(-1, TINY["vocab_size"])
    manual = torch.nn.functional.cross_entropy(predicting_text, input_ids.reshape(-1))
    torch.testing.assert_close(out.loss, manual)
    other = model(input_ids, evidence=-evidence).logits[:, 3:]
    assert not torch.allclose(other, out.logits[:, 3:])
    out.loss.backward()
    assert model.evidence_projector.linear_1.weight.grad.abs().sum() > 0


def test_evidence_generation_with_cache_matches_without():
    model = evidence_model()
    prompt = torch.randint(3, TINY["vocab_size"], (2, 5))
    mask = torch.ones_like(prompt)
    evidence = torch.linspace(-2, 2, 48).view(2, 24)
    cached = model.generate(prompt, attention_mask=mask, evidence=evidence, max_new_tokens=6, do_sample=False)
    uncached = model.generate(
        prompt, attention_mask=mask, evidence=evidence, max_new_tokens=6, do_sample=False, use_cache=False
    )
    assert torch.equal(cached, uncached)


def test_evidence_errors_are_clear():
    with pytest.raises(ValueError, match="no evidence projector"):
        AstroLLMForCausalLM(AstroLLMConfig(**TINY))(torch.tensor([[5, 6]]), evidence=torch.zeros(1, 24))
    with pytest.raises(ValueError, match=r"evidence must have shape \[batch, 24\]"):
        evidence_model()(torch.tensor([[5, 6]]), evidence=torch.zeros(1, 7))
