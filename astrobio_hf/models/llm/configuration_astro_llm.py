"""Configuration of AstroLLM, the Llama-style decoder of astrobio-hf."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import LlamaConfig


@strict
class AstroLLMConfig(LlamaConfig):
    """Configuration of [`AstroLLMForCausalLM`]: `LlamaConfig` plus the evidence projector.

    Every Llama field is inherited (same names, same meaning), so Llama-family checkpoints load unchanged. Ours:
    `evidence_dim` is the width of a fused multimodal embedding and `num_evidence_tokens` the number of prefix
    embeddings it becomes (0 disables the projector). Defaults describe a small model; the named sizes, up to the
    13B seed size, are in `astrobio_hf.models.presets`.
    """

    model_type = "astro_llm"

    hidden_size: int = 512
    intermediate_size: int = 1408
    num_hidden_layers: int = 8
    num_attention_heads: int = 8
    evidence_dim: int | None = None
    num_evidence_tokens: int = 0

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        # @strict wraps validator errors in its own exception type; run the check here too so callers get a plain
        # ValueError naming the field.
        self.validate_architecture()

    def validate_architecture(self):
        """Reject shapes the decoder cannot build, naming the field at fault."""
        for name in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                     "num_attention_heads", "num_key_value_heads", "max_position_embeddings"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"AstroLLMConfig.{name} must be a positive integer, got {value!r}.")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"AstroLLMConfig.hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})."
            )
        if self.num_attention_heads % self.num_key_value_heads != 0:
            raise ValueError(
                f"AstroLLMConfig.num_attention_heads ({self.num_attention_heads}) must be a multiple of "
                f"num_key_value_heads ({self.num_key_value_heads}) for grouped-query attention."
            )
        if self.num_evidence_tokens < 0:
            raise ValueError(f"AstroLLMConfig.num_evidence_tokens must be >= 0, got {self.num_evidence_tokens}.")
        if self.num_evidence_tokens > 0 and (self.evidence_dim is None or self.evidence_dim <= 0):
            raise ValueError(
                "AstroLLMConfig.evidence_dim must be a positive integer when num_evidence_tokens > 0 "
                f"(got evidence_dim={self.evidence_dim!r})."
            )


__all__ = ["AstroLLMConfig"]
