"""AstroLLM: the Llama-compatible decoder of astrobio-hf."""

from .configuration_astro_llm import AstroLLMConfig
from .modeling_astro_llm import (
    AstroEvidenceProjector,
    AstroLLMForCausalLM,
    AstroLLMModel,
    AstroLLMPreTrainedModel,
)

__all__ = [
    "AstroLLMConfig",
    "AstroLLMModel",
    "AstroLLMForCausalLM",
    "AstroLLMPreTrainedModel",
    "AstroEvidenceProjector",
]
