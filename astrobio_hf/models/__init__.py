"""The four astrobio-hf models, registered with transformers' Auto classes (and the processor with AutoProcessor)
on import.

This package does not import `astrobio_hf._auto_registration`: the import hook imports this package, and its pending
registration finds it already registered (importing a loaded module again is a no-op)."""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoProcessor

from .datacube import AstroDatacubeConfig, AstroDatacubeModel, AstroDatacubeOutput
from .graph_vae import AstroGraphVAE, AstroGraphVAEConfig, AstroGraphVAEOutput
from .llm import AstroLLMConfig, AstroLLMForCausalLM, AstroLLMModel
from .multimodal import AstroMultimodalConfig, AstroMultimodalModel, AstroMultimodalOutput


def register_auto_classes() -> None:
    """Make `AutoConfig`/`AutoModel` (and `AutoModelForCausalLM` for the LLM) resolve our model types."""
    for config_cls, model_cls in (
        (AstroLLMConfig, AstroLLMModel),
        (AstroGraphVAEConfig, AstroGraphVAE),
        (AstroDatacubeConfig, AstroDatacubeModel),
        (AstroMultimodalConfig, AstroMultimodalModel),
    ):
        AutoConfig.register(config_cls.model_type, config_cls, exist_ok=True)
        AutoModel.register(config_cls, model_cls, exist_ok=True)
    AutoModelForCausalLM.register(AstroLLMConfig, AstroLLMForCausalLM, exist_ok=True)
    from ..inference.processing import AstroMultimodalProcessor

    AutoProcessor.register(AstroMultimodalConfig, AstroMultimodalProcessor, exist_ok=True)


register_auto_classes()

__all__ = [
    "AstroLLMConfig", "AstroLLMModel", "AstroLLMForCausalLM",
    "AstroGraphVAEConfig", "AstroGraphVAE", "AstroGraphVAEOutput",
    "AstroDatacubeConfig", "AstroDatacubeModel", "AstroDatacubeOutput",
    "AstroMultimodalConfig", "AstroMultimodalModel", "AstroMultimodalOutput",
    "register_auto_classes",
]
