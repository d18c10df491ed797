"""AstroLLM: a Llama-style decoder (RoPE, grouped-query attention, RMSNorm, SwiGLU) with an evidence projector.

The layers are transformers' own Llama building blocks (attention through the attention registry, RMSNorm, rotary
embedding, SwiGLU MLP) assembled under parameter names identical to `LlamaForCausalLM`, so Llama-family checkpoints
load into it unchanged and LoRA target names are the usual ones. What is ours: the evidence projector, which maps a
fused multimodal embedding to `num_evidence_tokens` prefix embeddings (LLaVA-style), and the flash-attention
fallback, which uses sdpa with a clear message instead of fetching kernels from the Hub.
"""

from __future__ import annotations

import importlib.util
import logging

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.cache_utils import Cache, DynamicCache
from transformers.masking_utils import create_causal_mask
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.models.llama.modeling_llama import (
    LlamaAttention,
    LlamaMLP,
    LlamaRMSNorm,
    LlamaRotaryEmbedding,
)
from transformers.utils.output_capturing import capture_outputs

from .configuration_astro_llm import AstroLLMConfig

logger = logging.getLogger(__name__)

FLASH_ATTENTION_NAMES = ("flash_attention_2", "flash_attention_3")


def flash_attn_available() -> bool:
    """Whether the flash-attn package can be imported (it needs a CUDA build; never true on CPU hosts)."""
    return importlib.util.find_spec("flash_attn") is not None and torch.cuda.is_available()


class AstroLLMDecoderLayer(GradientCheckpointingLayer):
    """One pre-norm decoder block: RMSNorm -> GQA self-attention -> residual, RMSNorm -> SwiGLU -> residual."""

    def __init__(self, config: AstroLLMConfig, layer_idx: int):
        super().__init__()
        self.hidden_size = config.hidden_size
        self.self_attn = LlamaAttention(config=config, layer_idx=layer_idx)
        self.mlp = LlamaMLP(config)
        self.input_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        use_cache: bool | None = False,
        position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
        **kwargs,
    ) -> torch.Tensor:
        residual = hidden_states
        hidden_states, _ = self.self_attn(
            hidden_states=self.input_layernorm(hidden_states),
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            use_cache=use_cache,
            position_embeddings=position_embeddings,
            **kwargs,
        )
        hidden_states = residual + hidden_states
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))


class AstroEvidenceProjector(nn.Module):
    """Maps a fused multimodal embedding `[batch, evidence_dim]` to `[batch, num_evidence_tokens, hidden_size]`.

    A two-layer MLP like LLaVA's projector, widened to emit several prefix tokens from one embedding.
    """

    def __init__(self, config: AstroLLMConfig):
        super().__init__()
        self.num_tokens = config.num_evidence_tokens
        self.hidden_size = config.hidden_size
        self.linear_1 = nn.Linear(config.evidence_dim, config.hidden_size)
        self.act = nn.GELU()
        self.linear_2 = nn.Linear(config.hidden_size, config.hidden_size * config.num_evidence_tokens)

    def forward(self, evidence: torch.Tensor) -> torch.Tensor:
        projected = self.linear_2(self.act(self.linear_1(evidence)))
        return projected.view(evidence.shape[0], self.num_tokens, self.hidden_size)


class AstroLLMPreTrainedModel(PreTrainedModel):
    """Weights init, capability flags and the flash-attention fallback shared by the AstroLLM classes."""

    config: AstroLLMConfig
    config_class = AstroLLMConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["AstroLLMDecoderLayer"]
    _skip_keys_device_placement = ["past_key_values"]
    _supports_flash_attn = True
    _supports_sdpa = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _can_record_outputs = {"hidden_states": AstroLLMDecoderLayer, "attentions": LlamaAttention}

    def _check_and_adjust_attn_implementation(
        self, attn_implementation: str | None, is_init_check: bool = False, allow_all_kernels: bool = False
    ) -> str:
        # transformers would try to fetch flash kernels from the Hub when flash-attn is missing; on an offline or
        # CPU host that fails late and obscurely, so fall back to sdpa here and say why.
        if attn_implementation in FLASH_ATTENTION_NAMES and not flash_attn_available():
            logger.warning(
                "attn_implementation=%r was requested but flash-attn is not usable here (it needs the `gpu` extra "
                "and a CUDA device); falling back to 'sdpa'.",
                attn_implementation,
            )
            attn_implementation = "sdpa"
        return super()._check_and_adjust_attn_implementation(attn_implementation, is_init_check, allow_all_kernels)


class AstroLLMModel(AstroLLMPreTrainedModel):
    """The decoder stack without a head; returns the final hidden states and the KV cache."""

    def __init__(self, config: AstroLLMConfig):
        super().__init__(config)
        self.padding_idx = config.pad_token_id
        self.vocab_size = config.vocab_size
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, self.padding_idx)
        self.layers = nn.ModuleList(
            [AstroLLMDecoderLayer(config, layer_idx) for layer_idx in range(config.num_hidden_layers)]
        )
        self.norm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = LlamaRotaryEmbedding(config=config)
        self.gradient_checkpointing = False
        self.post_init()

    @capture_outputs
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("AstroLLMModel.forward needs exactly one of input_ids or inputs_embeds.")
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids)
        use_cache = self.config.use_cache if use_cache is None else use_cache
        if use_cache and past_key_values is None:
            past_key_values = DynamicCache(config=self.config)
        if position_ids is None:
            past_seen = past_key_values.get_seq_length() if past_key_values is not None else 0
            position_ids = (torch.arange(inputs_embeds.shape[1], device=inputs_embeds.device) + past_seen).unsqueeze(0)

        causal_mask = create_causal_mask(
            config=self.config,
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            past_key_values=past_key_values,
            position_ids=position_ids,
        )
        hidden_states = inputs_embeds
        position_embeddings = self.rotary_emb(hidden_states, position_ids=position_ids)
        for decoder_layer in self.layers[: self.config.num_hidden_layers]:
            hidden_states = decoder_layer(
                hidden_states,
                attention_mask=causal_mask,
                position_embeddings=position_embeddings,
                position_ids=position_ids,
                past_key_values=past_key_values,
                use_cache=use_cache,
                **kwargs,
            )
        return BaseModelOutputWithPast(last_hidden_state=self.norm(hidden_states), past_key_values=past_key_values)


class AstroLLMForCausalLM(AstroLLMPreTrainedModel, GenerationMixin):
    """AstroLLM with a language-model head; optional evidence prefix from the multimodal model."""

    _tied_weights_keys = {"lm_head.weight": "model.embed_tokens.weight"}
    _tp_plan = {"lm_head": "colwise_gather_output"}
    _fsdp_plan = {"lm_head": "keep_full_weight"}

    def __init__(self, config: AstroLLMConfig):
        super().__init__(config)
        self.model = AstroLLMModel(config)
        self.vocab_size = config.vocab_size
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.evidence_projector = AstroEvidenceProjector(config) if config.num_evidence_tokens > 0 else None
        self.post_init()

    def prepend_evidence(
        self,
        inputs_embeds: torch.Tensor,
        evidence: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        position_ids: torch.LongTensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.LongTensor | None, torch.LongTensor | None]:
        """Put the projected evidence tokens in front of the text; they attend normally and are never predicted."""
        if self.evidence_projector is None:
            raise ValueError(
                "`evidence` was passed but this AstroLLM has no evidence projector; set "
                "config.num_evidence_tokens > 0 and config.evidence_dim."
            )
        if evidence.dim() != 2 or evidence.shape[-1] != self.config.evidence_dim:
            raise ValueError(
                f"evidence must have shape [batch, {self.config.evidence_dim}] (config.evidence_dim), "
                f"got {tuple(evidence.shape)}."
            )
        prefix = self.evidence_projector(evidence.to(inputs_embeds.dtype))
        batch, num_prefix = prefix.shape[:2]
        inputs_embeds = torch.cat([prefix, inputs_embeds], dim=1)
        if attention_mask is not None:
            attention_mask = torch.cat([attention_mask.new_ones(batch, num_prefix), attention_mask], dim=1)
        if labels is not None:
            labels = torch.cat([labels.new_full((batch, num_prefix), -100), labels], dim=1)
        if position_ids is not None:
            prefix_positions = torch.arange(num_prefix, device=position_ids.device).expand(position_ids.shape[0], -1)
            position_ids = torch.cat([prefix_positions, position_ids + num_prefix], dim=1)
        return inputs_embeds, attention_mask, labels, position_ids

    def prepare_inputs_for_generation(self, input_ids, past_key_values=None, attention_mask=None, **kwargs):
        """Feed the evidence prefix on the first step only; later steps see it through the KV cache."""
        evidence = kwargs.pop("evidence", None)
        model_inputs = super().prepare_inputs_for_generation(
            input_ids, past_key_values=past_key_values, attention_mask=attention_mask, **kwargs
        )
        if evidence is None:
            return model_inputs
        cached = past_key_values.get_seq_length() if isinstance(past_key_values, Cache) else 0
        if cached == 0:
            model_inputs["evidence"] = evidence
            return model_inputs
        # The cache holds the prefix, the text mask and positions do not: extend them by the prefix length.
        num_prefix = self.config.num_evidence_tokens
        mask = model_inputs.get("attention_mask")
        if mask is not None and mask.dim() == 2:
            model_inputs["attention_mask"] = torch.cat([mask.new_ones(mask.shape[0], num_prefix), mask], dim=1)
        if model_inputs.get("position_ids") is not None:
            model_inputs["position_ids"] = model_inputs["position_ids"] + num_prefix
        return model_inputs

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        evidence: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        if evidence is not None:
            if inputs_embeds is None:
                inputs_embeds = self.model.embed_tokens(input_ids)
                input_ids = None
            inputs_embeds, attention_mask, labels, position_ids = self.prepend_evidence(
                inputs_embeds, evidence, attention_mask, labels, position_ids
            )
        outputs: BaseModelOutputWithPast = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            **kwargs,
        )
        hidden_states = outputs.last_hidden_state
        slice_indices = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden_states[:, slice_indices, :])
        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.vocab_size, **kwargs)
        output = CausalLMOutputWithPast(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        return output if return_dict is not False else output.to_tuple()


__all__ = ["AstroLLMModel", "AstroLLMForCausalLM", "AstroLLMPreTrainedModel", "AstroEvidenceProjector"]
