"""AstroLLM: Llama parity, checkpoint compatibility, generation, attention fallback, LoRA and the evidence prefix."""

from __future__ import annotations

import inspect
import logging
import warnings

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, LlamaModel

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


def left_padded_prompt(batch: int = 3, length: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    """A prompt batch whose rows are left-padded by 0, 2 and 4 tokens (the layout generate() expects)."""
    torch.manual_seed(7)
    prompt = torch.randint(3, TINY["vocab_size"], (batch, length))
    mask = torch.ones_like(prompt)
    for row in range(batch):
        pad = 2 * row
        prompt[row, :pad] = TINY["pad_token_id"]
        mask[row, :pad] = 0
    return prompt, mask


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_greedy_generation_with_cache_equals_llama(attn):
    llama, astro = tiny_pair(attn)
    prompt, mask = left_padded_prompt()
    settings = dict(attention_mask=mask, max_new_tokens=12, do_sample=False, pad_token_id=TINY["pad_token_id"])
    reference = llama.generate(prompt, use_cache=True, **settings)
    cached = astro.generate(prompt, use_cache=True, **settings)
    uncached = astro.generate(prompt, use_cache=False, **settings)
    assert torch.equal(cached, reference)
    assert torch.equal(uncached, reference)


def test_greedy_generation_is_the_argmax_of_full_forward_passes():
    _, astro = tiny_pair("sdpa")
    prompt = torch.randint(3, TINY["vocab_size"], (2, 5))
    cached = astro.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=8, do_sample=False)
    seq = prompt
    with torch.no_grad():
        for _ in range(8):
            next_token = astro(seq, use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
            seq = torch.cat([seq, next_token], dim=1)
    eos = TINY["eos_token_id"]
    for row in range(2):
        stop = (seq[row, 5:] == eos).nonzero()
        end = 5 + (int(stop[0]) + 1 if len(stop) else 8)
        assert torch.equal(cached[row, :end], seq[row, :end])


def test_seeded_sampling_with_cache_equals_llama():
    llama, astro = tiny_pair("sdpa")
    prompt, mask = left_padded_prompt()
    settings = dict(attention_mask=mask, max_new_tokens=10, do_sample=True, top_k=20, temperature=0.9,
                    pad_token_id=TINY["pad_token_id"])
    torch.manual_seed(123)
    reference = llama.generate(prompt, **settings)
    torch.manual_seed(123)
    ours = astro.generate(prompt, **settings)
    torch.manual_seed(123)
    again = astro.generate(prompt, **settings)
    assert torch.equal(ours, reference)
    assert torch.equal(ours, again)
    assert int(ours.max()) < TINY["vocab_size"]


# The KV cache's argument and output field as the installed transformers names them (`cache` since 5.24,
# `past_key_values` before): AstroLLM must follow upstream whichever it is.
CACHE_NAME = "cache" if "cache" in inspect.signature(LlamaModel.forward).parameters else "past_key_values"


def test_kv_cache_is_upstreams():
    llama, astro = tiny_pair("sdpa")
    prompt = torch.randint(3, TINY["vocab_size"], (1, 6))
    with torch.no_grad():
        ours, reference = astro(prompt, use_cache=True), llama(prompt, use_cache=True)
    assert type(ours[CACHE_NAME]) is type(reference[CACHE_NAME])
    assert ours[CACHE_NAME].get_seq_length() == reference[CACHE_NAME].get_seq_length() == 6
    next_token = torch.tensor([[5]])
    with torch.no_grad():
        step = astro(next_token, **{CACHE_NAME: ours[CACHE_NAME]}).logits
        full = astro(torch.cat([prompt, next_token], dim=1), use_cache=False).logits[:, -1:]
    torch.testing.assert_close(step, full)


def test_flash_attention_request_falls_back_to_sdpa(caplog):
    with caplog.at_level(logging.WARNING, logger="astrobio_hf.models.llm.modeling_astro_llm"):
        model = AstroLLMForCausalLM(AstroLLMConfig(**TINY, attn_implementation="flash_attention_2"))
    assert model.config._attn_implementation == "sdpa"
    assert "flash-attn is not usable here" in caplog.text
    model.set_attn_implementation("flash_attention_2")
    assert model.config._attn_implementation == "sdpa"


def checkpointed_gradients(model, input_ids: torch.Tensor, use_reentrant: bool | None) -> dict[str, torch.Tensor]:
    """Gradients of one training step in train mode with the config's default `use_cache=True` left on."""
    model.train()
    model.zero_grad()
    assert model.config.use_cache
    if use_reentrant is not None:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": use_reentrant})
    model(input_ids, labels=input_ids).loss.backward()
    return {name: param.grad.clone() for name, param in model.named_parameters()}


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_gradient_checkpointing_gives_llamas_gradients(use_reentrant):
    llama, astro = tiny_pair("sdpa")
    input_ids = torch.randint(3, TINY["vocab_size"], (2, 9))
    plain = checkpointed_gradients(astro, input_ids, use_reentrant=None)
    reference = checkpointed_gradients(llama, input_ids, use_reentrant)
    ours = checkpointed_gradients(astro, input_ids, use_reentrant)
    assert all(layer.gradient_checkpointing for layer in astro.model.layers)
    for name, grad in ours.items():
        torch.testing.assert_close(grad, reference[name], msg=name)
        torch.testing.assert_close(grad, plain[name], msg=name)


def test_training_forward_with_checkpointing_keeps_no_cache():
    _, astro = tiny_pair("sdpa")
    astro.train()
    astro.activation_checkpointing_enable()
    input_ids = torch.randint(3, TINY["vocab_size"], (2, 9))
    assert astro(input_ids, labels=input_ids).get(CACHE_NAME) is None


def test_our_code_raises_no_cache_rename_warning():
    """Every path of ours (forward, evidence, cached generation, checkpointed training) uses upstream's names."""
    _, astro = tiny_pair("sdpa")
    prompt, mask = left_padded_prompt()
    model = evidence_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        astro.generate(prompt, attention_mask=mask, max_new_tokens=4, do_sample=False,
                       pad_token_id=TINY["pad_token_id"])
        model.generate(prompt, attention_mask=mask, evidence=torch.zeros(3, 24), max_new_tokens=4,
                       do_sample=False, pad_token_id=TINY["pad_token_id"])
        astro.train()
        astro.activation_checkpointing_enable()
        astro(prompt, labels=prompt).loss.backward()
    assert not [str(w.message) for w in caught if "past_key_values" in str(w.message)]


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


def manual_greedy(model: AstroLLMForCausalLM, prompt: torch.Tensor, mask: torch.Tensor, evidence: torch.Tensor,
                  steps: int) -> torch.Tensor:
    """Greedy decoding by full forward passes (no cache), with positions counted over the unpadded tokens."""
    seq, seq_mask = prompt, mask
    with torch.no_grad():
        for _ in range(steps):
            positions = (seq_mask.cumsum(-1) - 1).clamp(min=0)
            logits = model(seq, attention_mask=seq_mask, position_ids=positions, evidence=evidence,
                           use_cache=False).logits
            seq = torch.cat([seq, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
            seq_mask = torch.cat([seq_mask, seq_mask.new_ones(seq_mask.shape[0], 1)], dim=1)
    return seq


def test_evidence_generation_with_cache_equals_manual_greedy_loop():
    model = evidence_model()
    prompt, mask = left_padded_prompt()
    evidence = torch.linspace(-2, 2, 72).view(3, 24)
    settings = dict(attention_mask=mask, evidence=evidence, max_new_tokens=8, do_sample=False,
                    pad_token_id=TINY["pad_token_id"], eos_token_id=None)
    cached = model.generate(prompt, use_cache=True, **settings)
    uncached = model.generate(prompt, use_cache=False, **settings)
    manual = manual_greedy(model, prompt, mask, evidence, steps=8)
    assert torch.equal(cached, manual)
    assert torch.equal(uncached, manual)
    # the evidence really conditions what is generated
    assert not torch.equal(model.generate(prompt, **{**settings, "evidence": -evidence}), cached)


def test_evidence_errors_are_clear():
    with pytest.raises(ValueError, match="no evidence projector"):
        AstroLLMForCausalLM(AstroLLMConfig(**TINY))(torch.tensor([[5, 6]]), evidence=torch.zeros(1, 24))
    with pytest.raises(ValueError, match=r"evidence must have shape \[batch, 24\]"):
        evidence_model()(torch.tensor([[5, 6]]), evidence=torch.zeros(1, 7))
