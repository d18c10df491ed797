"""astrobio-hf: multimodal astrobiology models and archive datasets on the Hugging Face stack.

`import astrobio_hf` is light (no torch): the public names below load on first use (PEP 562), and the four models,
the processor and the habitability pipeline are registered with transformers' Auto classes and pipeline registry as
soon as those are imported (before or after this package; see `astrobio_hf._auto_registration`).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from . import _auto_registration

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first attribute access)
_LAZY_NAMES: dict[str, str] = {
    **dict.fromkeys(("AstroLLMConfig", "AstroLLMModel", "AstroLLMForCausalLM", "AstroGraphVAEConfig", "AstroGraphVAE",
                     "AstroDatacubeConfig", "AstroDatacubeModel", "AstroMultimodalConfig", "AstroMultimodalModel",
                     "register_auto_classes"), "astrobio_hf.models"),
    "AstroMultimodalProcessor": "astrobio_hf.inference.processing",
    "HabitabilityPipeline": "astrobio_hf.inference.pipeline",
    "predict": "astrobio_hf.inference.predict",
    "PlanetPrediction": "astrobio_hf.inference.predict",
}

__all__ = [
    "AstroLLMConfig", "AstroLLMModel", "AstroLLMForCausalLM",
    "AstroGraphVAEConfig", "AstroGraphVAE",
    "AstroDatacubeConfig", "AstroDatacubeModel",
    "AstroMultimodalConfig", "AstroMultimodalModel", "register_auto_classes",
    "AstroMultimodalProcessor", "HabitabilityPipeline", "predict", "PlanetPrediction",
    "__version__",
]

if TYPE_CHECKING:
    from .inference.pipeline import HabitabilityPipeline
    from .inference.predict import PlanetPrediction, predict
    from .inference.processing import AstroMultimodalProcessor
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
        register_auto_classes,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'astrobio_hf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY_NAMES])


_auto_registration.install()


class _NoMissingKernelNote(logging.Filter):
    """bitsandbytes logs, when imported on a CPU with AVX512-BF16 (transformers imports it through peft), that its
    optional 4-bit CPU kernels (the `kernels` package) are missing. astrobio-hf runs no 4-bit matmul; the line is
    noise on every command."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "gemm_4bit_forward" not in record.getMessage()


logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_NoMissingKernelNote())
