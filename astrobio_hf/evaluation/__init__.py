"""Honest evaluation of multimodal checkpoints: baselines on the same rows, rare-class metrics, host-bootstrap
intervals, protocols and ablations (`astrobio-hf evaluate`; see docs/results.md)."""

from .baselines import BASELINES, run_baselines
from .evaluate import EvaluationError, evaluate
from .metrics import METRIC_KEYS, habitability_metrics

__all__ = ["evaluate", "EvaluationError", "run_baselines", "BASELINES", "habitability_metrics", "METRIC_KEYS"]
