"""The four astrobio-hf models, registered with transformers' Auto classes (and the processor with AutoProcessor)
on import."""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoProcessor

from .. import _auto_registration
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
    from ..processing import AstroMultimodalProcessor

    AutoProcessor.register(AstroMultimodalConfig, AstroMultimodalProcessor, exist_ok=True)


register_auto_classes()
_auto_registration.mark_models_registered()

__all__ = [
    "AstroLLMConfig", "AstroLLMModel", "AstroLLMForCausalLM",
    "AstroGraphVAEConfig", "AstroGraphVAE", "AstroGraphVAEOutput",
    "AstroDatacubeConfig", "AstroDatacubeModel", "AstroDatacubeOutput",
    "AstroMultimodalConfig", "AstroMultimodalModel", "AstroMultimodalOutput",
    "register_auto_classes",
]
