"""A loss-curve PNG next to the checkpoint, drawn from the Trainer's `log_history` (what `trainer_state.json` holds)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def loss_series(log_history: Sequence[dict[str, Any]]) -> dict[str, tuple[list[int], list[float]]]:
    """`{"train loss": (steps, values), "eval loss": ...}` plus the named loss components (`<name>_loss`)."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    for entry in log_history:
        step = entry.get("step")
        if step is None:
            continue
        for key, value in entry.items():
            if not isinstance(value, (int, float)):
                continue
            if key == "loss":
                name = "train loss"
            elif key == "eval_loss":
                name = "eval loss"
            elif key == "train_loss":
                continue  # the whole run's average, logged once at the end: not a series beside "train loss"
            elif key.endswith("_loss") and not key.startswith("eval_"):
                name = key  # a named component (classification_loss, physics_loss, ...)
            else:
                continue
            steps, values = series.setdefault(name, ([], []))
            steps.append(int(step))
            values.append(float(value))
    return series


def draw_loss_curve(series: dict[str, tuple[list[int], list[float]]], title: str = "") -> Any:
    """The matplotlib figure of the series; the legend sits to the right of the axes, never over the curves."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
    for name, (steps, values) in series.items():
        main = name in ("train loss", "eval loss")
        ax.plot(steps, values, marker="o" if len(steps) < 30 else None, linewidth=2 if main else 1,
                alpha=1.0 if main else 0.6, label=name)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_title(title or "training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    return fig


def write_loss_curve(log_history: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path | None:
    """Draw the loss series to ``path`` (PNG); None when nothing was logged (no step logged a loss)."""
    series = loss_series(log_history)
    if not series:
        return None
    import matplotlib.pyplot as plt

    fig = draw_loss_curve(series, title)
    try:
        path = Path(path)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


__all__ = ["loss_series", "draw_loss_curve", "write_loss_curve"]
