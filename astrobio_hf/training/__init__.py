"""Training: arguments, AstroTrainer, callbacks, metrics and checkpoint handling for `accelerate launch train.py`."""

from .arguments import AstroTrainingArguments, DataArguments, ModelArguments
from .trainer import AstroTrainer

__all__ = ["AstroTrainer", "AstroTrainingArguments", "DataArguments", "ModelArguments"]
