"""AstroLLM: transformers' Llama with an evidence prefix (LLaVA-style) and a flash-attention fallback.

Following transformers' modular convention for derived architectures, the classes here subclass `LlamaModel` and
`LlamaForCausalLM` and add only what differs: the config class and `model_type`, the evidence projector that maps a
fused multimodal embedding to `num_evidence_tokens` prefix embeddings, and the fallback to sdpa when flash-attn is
requested but unusable. Layers, forward signatures, cache plumbing, masks and output fields are upstream's, so they
follow upstream changes (such as 5.24's rename of `past_key_values` to `cache`) instead of silently diverging.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import torch
from torch import nn
from transformers.modeling_outputs import CausalLMOutputWithPast, ModelOutput
from transformers.models.llama.modeling_llama import LlamaForCausalLM, LlamaModel, LlamaPreTrainedModel

from .configuration_astro_llm import AstroLLMConfig

logger = logging.getLogger(__name__)

FLASH_ATTENTION_NAMES = ("flash_attention_2", "flash_attention_3")


def flash_attn_available() -> bool:
    """Whether the flash-attn package can be imported (it needs a CUDA build; never true on CPU hosts)."""
    return importlib.util.find_spec("flash_attn") is not None and torch.cuda.is_available()


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


class AstroLLMPreTrainedModel(LlamaPreTrainedModel):
    """Llama's pretrained-model base with AstroLLM's config and the flash-attention fallback."""

    config: AstroLLMConfig
    config_class = AstroLLMConfig

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


class AstroLLMModel(AstroLLMPreTrainedModel, LlamaModel):
    """The decoder stack without a head: `LlamaModel` under AstroLLM's config."""


class AstroLLMForCausalLM(AstroLLMPreTrainedModel, LlamaForCausalLM):
    """`LlamaForCausalLM` with an optional evidence prefix from the multimodal model."""

    def __init__(self, config: AstroLLMConfig):
        # LlamaForCausalLM.__init__ would build a plain LlamaModel; build ours (same parameter names) instead.
        LlamaPreTrainedModel.__init__(self, config)
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

    def _update_model_kwargs_for_generation(
        self, outputs: ModelOutput, model_kwargs: dict[str, Any], *args, **kwargs
    ) -> dict[str, Any]:
        """After the prefill, the evidence prefix lives in the KV cache: stop feeding it, and make the text's
        attention mask and positions cover it (without a cache every step re-feeds the whole prefix instead)."""
        model_kwargs = super()._update_model_kwargs_for_generation(outputs, model_kwargs, *args, **kwargs)
        if model_kwargs.get("evidence") is None or not model_kwargs.get("use_cache", True):
            return model_kwargs
        model_kwargs.pop("evidence")
        num_prefix = self.config.num_evidence_tokens
        mask = model_kwargs.get("attention_mask")
        if mask is not None:
            model_kwargs["attention_mask"] = torch.cat([mask.new_ones(mask.shape[0], num_prefix), mask], dim=1)
        if model_kwargs.get("position_ids") is not None:
            model_kwargs["position_ids"] = model_kwargs["position_ids"] + num_prefix
        return model_kwargs

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        *,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        evidence: torch.Tensor | None = None,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        """`LlamaForCausalLM.forward`, with `evidence` `[batch, evidence_dim]` projected into prefix tokens."""
        if evidence is not None:
            if inputs_embeds is None:
                inputs_embeds = self.model.embed_tokens(input_ids)
                input_ids = None
            inputs_embeds, attention_mask, labels, position_ids = self.prepend_evidence(
                inputs_embeds, evidence, attention_mask, labels, position_ids
            )
        return super().forward(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            labels=labels,
            **kwargs,
        )


__all__ = ["AstroLLMModel", "AstroLLMForCausalLM", "AstroLLMPreTrainedModel", "AstroEvidenceProjector"]
