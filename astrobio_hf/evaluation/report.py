"""The evaluation's outputs: ``results.json``, a Markdown table and a PNG figure (PR curve + reliability diagram)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import METRIC_KEYS

_SHOWN = (("balanced_accuracy", "bal. acc."), ("f1", "F1 (hab.)"), ("precision", "precision"), ("recall", "recall"),
          ("pr_auc", "PR-AUC"), ("roc_auc", "ROC-AUC"), ("hz_macro_f1", "hz macro-F1"), ("ece", "ECE"))


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _cell(entry: dict[str, Any], key: str) -> str:
    value = entry["metrics"].get(key)
    ci = entry.get("ci", {}).get(key)
    if ci and ci.get("replicates") and not math.isnan(ci["low"]):
        return f"{_fmt(value)} [{_fmt(ci['low'])}, {_fmt(ci['high'])}]"
    return _fmt(value)


def markdown_table(results: dict[str, Any]) -> str:
    """One row per method (model, baselines, ablations); 95% host-bootstrap intervals in brackets."""
    rows = results["rows"]
    name = f" ({results['dataset_name']})" if results.get("dataset_name") else ""
    described = results.get("split_description")
    seed = (results.get("cross_validation") or {}).get("seed")
    split = f"`{results['split']}`" + (f" ({described}, folds seed {seed})" if described else "")
    head = (f"Split {split}, protocol `{results['protocol']['name']}`, dataset `{results['dataset']}`{name}: "
            f"{rows['labelled']} labelled planets around {rows['hosts']} hosts, {rows['habitable']} habitable "
            f"(positive rate {_fmt(rows['positive_rate'])}: the chance level of PR-AUC). 95% intervals resample host "
            f"stars ({results['bootstrap']['resamples']} resamples).")
    lines = [head, "", "| method | " + " | ".join(label for _, label in _SHOWN) + " |",
             "|---|" + "---:|" * len(_SHOWN)]
    for entry in results["methods"]:
        lines.append(f"| {entry['name']} | " + " | ".join(_cell(entry, key) for key, _ in _SHOWN) + " |")
    if results.get("paired"):
        lines += ["", paired_table(results)]
    return "\n".join(lines) + "\n"


_PAIRED_SHOWN = (("hz_macro_f1", "hz macro-F1"), ("pr_auc", "PR-AUC"), ("f1", "F1 (hab.)"),
                 ("balanced_accuracy", "bal. acc."), ("roc_auc", "ROC-AUC"))


def _difference(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("difference") is None or math.isnan(entry["difference"]):
        return "n/a"
    low, high = entry.get("low", float("nan")), entry.get("high", float("nan"))
    verdict = "" if math.isnan(low) else (" **+**" if low > 0 else " **-**" if high < 0 else "")
    return f"{entry['difference']:+.3f} [{_fmt(low)}, {_fmt(high)}]{verdict}"


def paired_table(results: dict[str, Any]) -> str:
    """Model minus each other method on the same rows, with paired host-bootstrap intervals."""
    lines = ["Paired differences, model minus method, over the same resampled hosts (95% intervals; **+**: the "
             "interval lies above 0, the model is better; **-**: below 0, the model is worse):", "",
             "| model minus | " + " | ".join(label for _, label in _PAIRED_SHOWN) + " |",
             "|---|" + "---:|" * len(_PAIRED_SHOWN)]
    for entry in results["paired"]:
        lines.append(f"| {entry['b']} | " + " | ".join(_difference(entry["differences"].get(key))
                                                     for key, _ in _PAIRED_SHOWN) + " |")
    return "\n".join(lines)


def write_results(results: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """``results.json`` and ``results.md`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps(results, indent=2, default=float, allow_nan=True) + "\n")
    md_path = out_dir / "results.md"
    md_path.write_text(markdown_table(results))
    return {"json": json_path, "markdown": md_path}


def write_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], positive_rate: float, path: Path,
                 title: str) -> Path:
    """Precision-recall curves and a reliability diagram of each method's habitable probability (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve

    fig, (pr_ax, rel_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, (y, probability) in curves.items():
        if y.sum() > 0:
            precision, recall, _ = precision_recall_curve(y, probability)
            pr_ax.step(recall, precision, where="post", label=name)
        frac, mean = calibration_curve(y, probability, n_bins=10, strategy="uniform")
        rel_ax.plot(mean, frac, marker="o", label=name)
    pr_ax.axhline(positive_rate, color="grey", linestyle="--", label=f"chance ({positive_rate:.3f})")
    pr_ax.set(xlabel="recall (habitable)", ylabel="precision", title="precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    rel_ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    rel_ax.set(xlabel="mean predicted probability", ylabel="fraction habitable", title="reliability",
               xlim=(0, 1), ylim=(0, 1.02))
    pr_ax.legend(fontsize=7)
    rel_ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = ["markdown_table", "paired_table", "write_results", "write_figure", "METRIC_KEYS"]
