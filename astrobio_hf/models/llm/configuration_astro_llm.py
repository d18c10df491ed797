"""Configuration of AstroLLM, the Llama-style decoder of astrobio-hf."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig
from transformers.modeling_rope_utils import RopeParameters


@strict
class AstroLLMConfig(PreTrainedConfig):
    """Configuration of [`AstroLLMForCausalLM`].

    The fields are LlamaConfig's (same names, same meaning) so Llama-family checkpoints load unchanged, plus the
    evidence projector: `evidence_dim` is the width of a fused multimodal embedding and `num_evidence_tokens` the
    number of prefix embeddings it becomes (0 disables the projector). Defaults describe a small model; the named
    sizes, up to the 13B seed size, are in `astrobio_hf.models.presets`.
    """

    model_type = "astro_llm"
    keys_to_ignore_at_inference = ["past_key_values"]
    base_model_tp_plan = {
        "layers.*.self_attn.q_proj": "colwise",
        "layers.*.self_attn.k_proj": "colwise",
        "layers.*.self_attn.v_proj": "colwise",
        "layers.*.self_attn.o_proj": "rowwise",
        "layers.*.mlp.gate_proj": "colwise",
        "layers.*.mlp.up_proj": "colwise",
        "layers.*.mlp.down_proj": "rowwise",
    }

    vocab_size: int = 32000
    hidden_size: int = 512
    intermediate_size: int = 1408
    num_hidden_layers: int = 8
    num_attention_heads: int = 8
    num_key_value_heads: int | None = None
    hidden_act: str = "silu"
    max_position_embeddings: int = 2048
    initializer_range: float = 0.02
    rms_norm_eps: float = 1e-6
    use_cache: bool = True
    pad_token_id: int | None = None
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 2
    pretraining_tp: int | None = 1
    tie_word_embeddings: bool = False
    rope_parameters: RopeParameters | dict | None = None
    attention_bias: bool = False
    attention_dropout: int | float | None = 0.0
    mlp_bias: bool = False
    head_dim: int | None = None
    evidence_dim: int | None = None
    num_evidence_tokens: int = 0

    def __post_init__(self, **kwargs):
        if self.num_attention_heads is not None and self.num_attention_heads > 0 and self.head_dim is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
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
