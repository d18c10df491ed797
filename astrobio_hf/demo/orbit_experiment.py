"""Can the light curve stand in for the catalog's orbit? The experiment of docs/results.md, "The orbit from the light
curve", as one command:

    python -m astrobio_hf.demo.orbit_experiment [--output outputs/orbit_experiment] [--workers 2]

1. the searched light-curve store of every transiting planet of the packaged catalog (generated mission light
   curves, BLS search; docs/light_curves.md), reused from ``--store`` when its manifest matches this seed, bin count,
   catalog and the SHA-256 of the code that writes it, else written (about 50 minutes on 2 cores);
2. the real-catalog sample with no other observation (no spectra, graphs or FITS light curves: what is measured is
   the light curve), and for each protocol (``full``, ``withheld``, ``withheld-orbit``) `astrobio-hf prepare` of the
   store's planets with the store's folds and search features;
3. `astrobio-hf evaluate --folds 5 --recipe configs/demo_real_cpu.yaml`: the recipe and every baseline (trees and
   logistic regression on the protocol's columns, BLS + trees, the label rule with the searched period) retrained on
   the same host-grouped folds, pooled out-of-fold metrics, paired differences and the ablations;
4. a report (``report.md`` and ``summary.json`` here; with ``--results FILE`` the section between this experiment's
   markers in that file is replaced): the tables, the gap recovered, the period recovery, the command, the machine
   and the time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ..package_data import CATALOG_RELEASE
from .mission_store import DEFAULT_BINS, MANIFEST_NAME, PARQUET_NAME, package_version, source_sha256, write_store
from .period_recovery import period_recovery, recovery_markdown
from .real_sample import write_real_sample
from .run import REPO, run_step, write_recipe

PROTOCOLS = ("full", "withheld", "withheld-orbit")
MODEL = "multimodal model"
SECTION_START = "<!-- orbit-experiment:start (written by python -m astrobio_hf.demo.orbit_experiment) -->"
SECTION_END = "<!-- orbit-experiment:end -->"
#: rows of the report's tables: (method name in results.json, label)
TABLE_METHODS = (
    (MODEL, "multimodal model"), ("model without light_curve", "model without light_curve"),
    ("model without planet_params", "model without planet_params"), ("bls_trees", "BLS + trees"),
    ("label_rule_searched_period", "label rule, searched period"), ("hist_gradient_boosting", "trees"),
    ("logistic_regression", "logistic regression"), ("trees_temperate_x_rocky", "trees, temperate x rocky"),
    ("label_rule", "label rule (catalog inputs)"), ("majority", "majority"))


def store_mismatch(folder: Path, seed: int, n_bins: int) -> str | None:
    """Why the store in ``folder`` cannot serve this run (None: it can)."""
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file() or not (folder / PARQUET_NAME).is_file():
        return "no store"
    manifest = json.loads(manifest_path.read_text())
    expected = {"seed": seed, "n_bins": n_bins, "limit": None, "catalog": CATALOG_RELEASE,
                "source_sha256": source_sha256()}
    wrong = [f"{k} {manifest.get(k)!r} (wanted {v!r})" for k, v in expected.items() if manifest.get(k) != v]
    return "; ".join(wrong) or None


def ensure_store(folder: Path, seed: int, workers: int) -> tuple[dict[str, Any], bool]:
    """The store's manifest, and whether it was written now."""
    why = store_mismatch(folder, seed, DEFAULT_BINS)
    if why is None:
        print(f"[orbit] reusing the light-curve store {folder} (seed, bins, catalog and code hash match)", flush=True)
        return json.loads((folder / MANIFEST_NAME).read_text()), False
    print(f"[orbit] writing the light-curve store {folder} ({why}); about 50 minutes on 2 cores", flush=True)
    return write_store(folder, seed=seed, workers=workers, progress=True), True


def _metric(result: dict, method: str, key: str) -> tuple[float, float, float] | None:
    for entry in result["methods"]:
        if entry["name"] == method:
            ci = entry["ci"].get(key) or {}
            return entry["metrics"][key], ci.get("low", float("nan")), ci.get("high", float("nan"))
    return None


def _paired(result: dict, method: str, key: str) -> dict | None:
    for entry in result["paired"]:
        if entry["b"] == method:
            return entry["differences"][key]
    return None


def _fmt(value: tuple[float, float, float] | None) -> str:
    return "-" if value is None else f"{value[0]:.3f} [{value[1]:.3f}, {value[2]:.3f}]"


def _fmt_diff(value: dict | None) -> str:
    return "-" if value is None else f"{value['difference']:+.3f} [{value['low']:+.3f}, {value['high']:+.3f}]"


def summarise(results: dict[str, dict]) -> dict[str, Any]:
    """The targets of the experiment, computed from the three protocols' out-of-fold results."""
    def hz(protocol: str, method: str) -> float:
        value = _metric(results[protocol], method, "hz_macro_f1")
        return float("nan") if value is None else value[0]

    model_full, trees_orbit, model_orbit = hz("full", MODEL), hz("withheld-orbit", "hist_gradient_boosting"), \
        hz("withheld-orbit", MODEL)
    gap = model_full - trees_orbit
    orbit = results["withheld-orbit"]
    ablation = _paired(orbit, "model without light_curve", "hz_macro_f1")
    out = {
        "hz_macro_f1": {"model_full": model_full, "trees_withheld_orbit": trees_orbit,
                        "model_withheld_orbit": model_orbit, "gap": gap,
                        "recovered_fraction": (model_orbit - trees_orbit) / gap if gap else float("nan")},
        "light_curve_ablation_hz_macro_f1": ablation,
        "model_vs_bls_trees": {key: {"model": (_metric(orbit, MODEL, key) or [float("nan")])[0],
                                     "bls_trees": (_metric(orbit, "bls_trees", key) or [float("nan")])[0],
                                     "paired": _paired(orbit, "bls_trees", key)}
                               for key in ("hz_macro_f1", "pr_auc")},
    }
    out["targets"] = {
        "recovers >= 80% of the gap": out["hz_macro_f1"]["recovered_fraction"] >= 0.8,
        "light_curve ablation interval above 0": ablation is not None and ablation["low"] > 0,
        "model >= BLS + trees, hz macro-F1": out["model_vs_bls_trees"]["hz_macro_f1"]["model"]
        >= out["model_vs_bls_trees"]["hz_macro_f1"]["bls_trees"],
        "model >= BLS + trees, PR-AUC": out["model_vs_bls_trees"]["pr_auc"]["model"]
        >= out["model_vs_bls_trees"]["pr_auc"]["bls_trees"],
    }
    return out


def report_markdown(results: dict[str, dict], summary: dict[str, Any], recovery: pd.DataFrame, *, command: str,
                    machine: str, code: str, seconds: dict[str, float], store: dict[str, Any], store_written: bool) -> str:
    """The docs/results.md section (between the experiment's markers)."""
    first = results["withheld-orbit"]
    rows = first["rows"]
    lines = [SECTION_START, "", "## The orbit from the light curve (transiting planets, three protocols)", "",
             f"Command: `{command}` (seed {first['cross_validation']['seed']}), {code}; machine: {machine}; "
             f"{seconds['total'] / 60:.1f} min in all (" + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()
                                                                  if k != "total") + ")"
             + ("" if store_written else f"; the light-curve store was reused (written in {store['seconds'] / 60:.0f}"
                f" min by `python -m astrobio_hf.demo.mission_light_curves`, {store.get('workers')} workers)") + ".",
             "",
             f"Rows: the {store['counts']['planets']} transiting planets of the catalog, each with a generated mission "
             f"light curve searched by BLS ({store['counts']['found']} with a signal found); {rows['labelled']} "
             f"labelled on {rows['hosts']} hosts, {rows['habitable']} habitable. {first['cross_validation']['folds']}"
             "-fold host-grouped cross-validation, the same folds for every method and protocol, every labelled "
             "planet scored once out of fold; 95% host-bootstrap intervals "
             f"({first['bootstrap']['resamples']} resamples). `withheld-orbit` removes pl_orbper, pl_orbsmax, pl_insol"
             " and pl_eqt from every input; the light curves are folded at the period the search found, and the "
             "model gets the search's period, duration, depth, SNR and the a, S they imply with the star's mass and "
             "luminosity (docs/light_curves.md).", "",
             "hz_class macro-F1 / habitable PR-AUC, pooled out of fold:", "",
             "| method | " + " | ".join(f"{p} hz macro-F1 | {p} PR-AUC" for p in PROTOCOLS) + " |",
             "|---|" + "---:|" * (2 * len(PROTOCOLS))]
    for method, label in TABLE_METHODS:
        cells = []
        for protocol in PROTOCOLS:
            cells += [_fmt(_metric(results[protocol], method, "hz_macro_f1")),
                      _fmt(_metric(results[protocol], method, "pr_auc"))]
        if any(c != "-" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Paired differences, model minus each method (same resampled hosts), `withheld-orbit`:", "",
              "| model minus | hz macro-F1 | PR-AUC | F1 at the validation threshold |", "|---|---:|---:|---:|"]
    for method, label in TABLE_METHODS[1:]:
        if _paired(first, method, "hz_macro_f1") is not None:
            lines.append(f"| {label} | " + " | ".join(_fmt_diff(_paired(first, method, k))
                                                     for k in ("hz_macro_f1", "pr_auc", "f1")) + " |")
    hz = summary["hz_macro_f1"]
    targets = summary["targets"]
    lines += ["", "Targets:", "",
              f"- Gap recovered: the model under `withheld-orbit` ({hz['model_withheld_orbit']:.3f}) against trees "
              f"without the orbit ({hz['trees_withheld_orbit']:.3f}) and the model under `full` "
              f"({hz['model_full']:.3f}): **{100 * hz['recovered_fraction']:.0f}%** of the gap "
              f"(target 80%: {'met' if targets['recovers >= 80% of the gap'] else 'missed'}).",
              f"- Without light_curve, hz macro-F1 changes by {_fmt_diff(summary['light_curve_ablation_hz_macro_f1'])}"
              " (model minus ablation; target: interval above 0: "
              f"{'met' if targets['light_curve ablation interval above 0'] else 'missed'}).",
              "- Against BLS + trees: hz macro-F1 "
              f"{summary['model_vs_bls_trees']['hz_macro_f1']['model']:.3f} vs "
              f"{summary['model_vs_bls_trees']['hz_macro_f1']['bls_trees']:.3f}, PR-AUC "
              f"{summary['model_vs_bls_trees']['pr_auc']['model']:.3f} vs "
              f"{summary['model_vs_bls_trees']['pr_auc']['bls_trees']:.3f} (target: at least match: "
              + ", ".join(f"{k.split(', ')[1]} {'met' if v else 'missed'}" for k, v in targets.items()
                          if k.startswith("model >=")) + ").",
              "",
              "Period recovery of the search (the catalog period is read here only, never by a model input; "
              "denominator: planets with at least two transits in their mission's baseline):", "",
              recovery_markdown(recovery), "", SECTION_END]
    return "\n".join(lines) + "\n"


def replace_section(path: Path, section: str) -> None:
    """Put ``section`` between the experiment's markers in ``path`` (appended when the markers are absent)."""
    text = path.read_text() if path.is_file() else ""
    start, end = text.find(SECTION_START), text.find(SECTION_END)
    if start >= 0 and end > start:
        text = text[:start] + section.rstrip("\n") + text[end + len(SECTION_END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"


def code_version() -> str:
    """The package version and commit, marked when the working tree differs from it (the figures are that code's)."""
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, text=True,
                               capture_output=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        dirty = ""
    return package_version() + (" with uncommitted changes" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m astrobio_hf.demo.orbit_experiment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("outputs/orbit_experiment"))
    parser.add_argument("--store", type=Path, default=None,
                        help="the light-curve store folder (default OUTPUT/light_curve_store); reused when current")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="processes for the store and the folds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fold worker")
    parser.add_argument("--resamples", type=int, default=200, help="host-bootstrap resamples")
    parser.add_argument("--recipe", type=Path, default=REPO / "configs" / "demo_real_cpu.yaml")
    parser.add_argument("--results", type=Path, default=None,
                        help="a markdown file whose orbit-experiment section is replaced (docs/results.md)")
    args = parser.parse_args(argv)
    command = "python -m astrobio_hf.demo.orbit_experiment " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.perf_counter()
    code = code_version()  # before anything runs: the code the figures come from
    out = args.output.resolve()
    out.mkdir(parents=True, exist_ok=True)
    store_dir = (args.store or out / "light_curve_store").resolve()
    cli = str(Path(sys.executable).parent / "astrobio-hf")
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    store, store_written = ensure_store(store_dir, args.seed, args.workers)
    seconds["store"] = time.perf_counter() - t
    t = time.perf_counter()
    write_real_sample(out / "sample", seed=args.seed, light_curve_fraction=0.0, spectrum_fraction=0.0,
                      graph_fraction=0.0)
    recipe = write_recipe(args.recipe, out / "recipe.yaml", None)
    seconds["sample"] = time.perf_counter() - t
    results: dict[str, dict] = {}
    for protocol in PROTOCOLS:
        dataset, evaluation = out / f"dataset_{protocol}", out / f"cv{args.folds}_{protocol}"
        t = time.perf_counter()
        run_step(f"prepare ({protocol})", [cli, "prepare", "--dataset", "multimodal", "--data-dir", str(out / "sample"),
                                       "--output", str(dataset), "--light-curve-store", str(store_dir),
                                       "--store-planets-only", "--cache-dir", str(out / "cache"),
                                       "--seed", str(args.seed), "--protocol", protocol], out / f"prepare_{protocol}.log")
        if evaluation.exists():  # a result of an earlier run must not stand for this one if this one fails
            shutil.rmtree(evaluation)
        run_step(f"{args.folds}-fold out-of-fold evaluation ({protocol})",
             [cli, "evaluate", "--dataset", str(dataset), "--folds", str(args.folds), "--recipe", str(recipe),
              "--output", str(evaluation), "--workers", str(args.workers), "--threads", str(args.threads),
              "--resamples", str(args.resamples), "--seed", str(args.seed)], out / f"crossval_{protocol}.log")
        seconds[protocol] = time.perf_counter() - t
        results[protocol] = json.loads((evaluation / "results.json").read_text())
    seconds["total"] = time.perf_counter() - started

    table = pd.read_parquet(store_dir / PARQUET_NAME, columns=["mission", "search_period", "truth_period",
                                                               "n_transits_in_baseline"])
    recovery = period_recovery(table)
    summary = summarise(results)
    section = report_markdown(results, summary, recovery, command=command, machine=machine(), code=code,
                              seconds=seconds,
                              store=store, store_written=store_written)
    (out / "report.md").write_text(section)
    (out / "summary.json").write_text(json.dumps(
        {"command": command, "code": code, "machine": machine(), "seconds": seconds, "store": {k: store.get(k) for k in (
            "seed", "n_bins", "catalog", "source_sha256", "counts")}, "store_written_now": store_written,
         **summary, "period_recovery": recovery.to_dict(orient="records")}, indent=2, default=float))
    if args.results is not None:
        replace_section(args.results, section)
    print(section)
    print(f"[orbit] finished in {seconds['total']:.0f} s; report {out / 'report.md'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
