"""astrobio-hf: multimodal astrobiology models and archive datasets on the Hugging Face stack.

Importing the package registers the four models with transformers' Auto classes.
"""

from .models import (
    AstroDatacubeConfig,
    AstroDatacubeModel,
    AstroGraphVAE,
    AstroGraphVAEConfig,
    AstroLLMConfig,
    AstroLLMForCausalLM,
    AstroLLMModel,
    AstroMultimodalConfig,
    AstroMultimodalModel,
)

__version__ = "0.1.0"

__all__ = [
    "AstroLLMConfig", "AstroLLMModel", "AstroLLMForCausalLM",
    "AstroGraphVAEConfig", "AstroGraphVAE",
    "AstroDatacubeConfig", "AstroDatacubeModel",
    "AstroMultimodalConfig", "AstroMultimodalModel",
    "__version__",
]
