"""`make demo`: the main job offline on CPU, on the REAL planet catalog, through the commands a user runs.

1. write the sample: the packaged NASA Exoplanet Archive snapshot (5,967 real planets) plus light curves and spectra
   generated from each planet's own parameters (``--sample generated``: the fully generated population instead);
2. for each protocol (``full``; ``withheld`` = no pl_insol / pl_eqt): `astrobio-hf prepare --dataset multimodal`
   (the NASA builder reads the snapshot like a user's dump), `accelerate launch train.py RECIPE`,
   `astrobio-hf evaluate` on the held-out test split, and `astrobio-hf evaluate --folds 5`: the recipe and every
   baseline retrained on host-grouped folds, every labelled planet scored out of fold, paired differences
   (both rewrite the model card);
3. reload the full-protocol checkpoint with `from_pretrained` and predict for named planets and for reference
   planets given by values (Earth twin, hot Jupiter, cold giant) next to the label rule's answer;
4. print the results tables and where everything went (also `summary.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..progress import PREFIX
from .real_sample import write_real_sample
from .reference_cases import REFERENCE_CASES, rule_answer
from .sample import describe_sample, write_demo_sample

REPO = Path(__file__).resolve().parents[2]
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "offline",
           "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}
#: recipe, split shares and climate source per sample kind
SAMPLES: dict[str, dict[str, Any]] = {
    "real": {"recipe": "demo_real_cpu.yaml", "fractions": ("0.6", "0.2", "0.2"), "climate": "none",
             "protocols": ("full", "withheld")},
    "generated": {"recipe": "demo_cpu.yaml", "fractions": ("0.8", "0.1", "0.1"), "climate": "generate",
                  "protocols": ("full",)},
}


def run_step(step: str, command: list[str], log: Path) -> None:
    """Run one step as a user would, its output to `log`; stop the demo with the log's tail if it fails."""
    started = time.perf_counter()
    print(f"[demo] {step}: {' '.join(command)}", flush=True)
    with log.open("w") as out, subprocess.Popen(command, cwd=REPO, env={**os.environ, **OFFLINE}, text=True,
                                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as result:
        for line in result.stdout:  # everything to the log; progress lines but the per-epoch evaluations to the console
            out.write(line)
            if line.startswith(PREFIX) and not line[len(PREFIX):].lstrip().startswith("eval:"):
                print(f"[demo]   {line[len(PREFIX):].strip()}", flush=True)
    if result.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
        raise SystemExit(f"[demo] {step} failed (exit {result.returncode}); last lines of {log}:\n{tail}")
    print(f"[demo]   done in {time.perf_counter() - started:.1f} s (log: {log.name})", flush=True)


def write_recipe(recipe: Path, target: Path, epochs: float | None) -> Path:
    """The demo's recipe as run (``--epochs`` applied), beside its outputs: train.py and the folds read this file."""
    import yaml

    from ..training.cli_args import load_recipe

    values = load_recipe(recipe)
    if epochs is not None:
        values["num_train_epochs"] = epochs
    target.write_text(f"# {recipe.name} as `make demo` ran it" + (f" (num_train_epochs {epochs})" if epochs else "")
                      + "\n" + yaml.safe_dump(values, sort_keys=False))
    return target


def _suffix(protocol: str) -> str:
    return "" if protocol == "full" else f"_{protocol}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="outputs/demo", help="folder for everything the demo writes")
    parser.add_argument("--sample", choices=sorted(SAMPLES), default="real",
                        help="real: the packaged NASA catalog (default); generated: the generated population")
    parser.add_argument("--n-hosts", type=int, default=250, help="stars in the generated sample")
    parser.add_argument("--max-planets", type=int, default=None, help="real sample: keep the first N catalog rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=float, default=None, help="override the recipe's num_train_epochs")
    parser.add_argument("--resamples", type=int, default=200, help="host-bootstrap resamples of the evaluation")
    parser.add_argument("--folds", type=int, default=5, help="out-of-fold evaluation folds (0: the test split only)")
    parser.add_argument("--workers", type=int, default=2, help="folds trained side by side (one per core)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fold worker")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    kind = SAMPLES[args.sample]
    out = Path(args.output).resolve()
    out.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    cli = str(bin_dir / "astrobio-hf")

    if args.sample == "real":
        manifest = write_real_sample(out / "sample", seed=args.seed, max_planets=args.max_planets)
    else:
        manifest = write_demo_sample(out / "sample", seed=args.seed, n_hosts=args.n_hosts)
    print(describe_sample(manifest), flush=True)

    timings: dict[str, float] = {"sample": manifest["seconds"]}
    results: dict[str, dict[str, Any]] = {}
    crossval: dict[str, dict[str, Any]] = {}
    recipe = write_recipe(REPO / "configs" / kind["recipe"], out / "recipe.yaml", args.epochs)
    for protocol in kind["protocols"]:
        dataset, model_dir = out / f"dataset{_suffix(protocol)}", out / f"model{_suffix(protocol)}"
        t = time.perf_counter()
        run_step(f"prepare ({protocol})", [cli, "prepare", "--dataset", "multimodal", "--data-dir", str(out / "sample"),
                                       "--output", str(dataset), "--climate", kind["climate"], "--cache-dir",
                                       str(out / "cache"), "--seed", str(args.seed), "--protocol", protocol,
                                       "--split-fractions", *kind["fractions"]], out / f"prepare{_suffix(protocol)}.log")
        timings[f"prepare_{protocol}"] = time.perf_counter() - t
        train = [str(bin_dir / "accelerate"), "launch", "--num_processes", "1", "--num_machines", "1",
                 "--mixed_precision", "no", "--dynamo_backend", "no", str(REPO / "train.py"),
                 str(recipe), "--dataset_path", str(dataset), "--output_dir", str(model_dir),
                 "--overwrite_output_dir"]  # a new demo replaces the previous demo's model
        t = time.perf_counter()
        run_step(f"train ({protocol})", train, out / f"train{_suffix(protocol)}.log")
        timings[f"train_{protocol}"] = time.perf_counter() - t
        t = time.perf_counter()
        run_step(f"evaluate on the held-out test split ({protocol})",
             [cli, "evaluate", "--model", str(model_dir), "--dataset", str(dataset), "--split", "test",
              "--resamples", str(args.resamples), "--seed", str(args.seed)], out / f"evaluate{_suffix(protocol)}.log")
        timings[f"evaluate_{protocol}"] = time.perf_counter() - t
        results[protocol] = json.loads((model_dir / "evaluation" / f"test_{protocol}" / "results.json").read_text())
        if args.folds:
            t = time.perf_counter()
            run_step(f"{args.folds}-fold out-of-fold evaluation ({protocol})",
                 [cli, "evaluate", "--model", str(model_dir), "--dataset", str(dataset), "--folds", str(args.folds),
                  "--recipe", str(recipe), "--workers", str(args.workers), "--threads", str(args.threads),
                  "--resamples", str(args.resamples), "--seed", str(args.seed)],
                 out / f"crossval{_suffix(protocol)}.log")
            timings[f"crossval_{protocol}"] = time.perf_counter() - t
            crossval[protocol] = json.loads((model_dir / "evaluation" / f"cv{args.folds}_{protocol}" /
                                             "results.json").read_text())

    from ..inference.predict import predict  # after training: imports torch and the models

    model_dir, dataset = out / "model", out / "dataset"
    predictions = [predict(model_dir, planet=name, dataset=dataset) for name in manifest["named_planets"]]
    references = [(case, rule_answer(values), predict(model_dir, values))
                  for case, values in REFERENCE_CASES.items()]
    validation = json.loads((model_dir / "eval_results.json").read_text())
    summary = {
        "sample": args.sample,
        "validation": {k: v for k, v in validation.items() if k.startswith("eval_")},
        "test": {protocol: {m["name"]: m["metrics"] for m in r["methods"]} for protocol, r in results.items()},
        "test_rows": {protocol: r["rows"] for protocol, r in results.items()},
        "cross_validation": {protocol: {"methods": {m["name"]: m["metrics"] for m in r["methods"]},
                                        "paired": {p["b"]: p["differences"] for p in r["paired"]},
                                        "folds": r["cross_validation"]["folds"], "seed": r["cross_validation"]["seed"],
                                        "rows": r["rows"]}
                             for protocol, r in crossval.items()},
        "predictions": [p.to_dict() for p in predictions],
        "reference_cases": [{"case": case, "rule_habitability": rule[0], "rule_hz_class": rule[1],
                             **prediction.to_dict()} for case, rule, prediction in references],
        "paths": {"sample": "sample", "dataset": "dataset", "model": "model", "model_card": "model/README.md",
                  **{f"results_{p}": f"model{_suffix(p)}/evaluation/test_{p}" for p in results},
                  **{f"crossval_{p}": f"model{_suffix(p)}/evaluation/cv{args.folds}_{p}" for p in crossval}},
        "real": [f"{Path(r['path']).name} ({r['package']}; {r['used_as']})" for r in manifest["real"]],
        "seconds": {**{k: round(v, 1) for k, v in timings.items()}, "total": round(time.perf_counter() - started, 1)},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))

    from ..commands.predict import format_prediction

    for protocol in crossval:
        folder = out / f"model{_suffix(protocol)}" / "evaluation" / f"cv{args.folds}_{protocol}"
        print(f"\n[demo] results, protocol {protocol}, {args.folds}-fold out of fold ({folder / 'figure.png'}):")
        print((folder / "results.md").read_text())
    for protocol in results:
        folder = out / f"model{_suffix(protocol)}" / "evaluation" / f"test_{protocol}"
        print(f"\n[demo] results, protocol {protocol} (held-out test split; {folder / 'figure.png'}):")
        print((folder / "results.md").read_text())
    print("[demo] predictions (the full-protocol checkpoint reloaded with from_pretrained):")
    for prediction in predictions:
        print(format_prediction(prediction))
    print("\n[demo] reference planets given by values, next to the label rule's answer:")
    for case, (habitability, hz_class), prediction in references:
        rule = "no label" if habitability is None else ("habitable" if habitability else "not habitable")
        print(f"{case}: rule says {rule}, {hz_class}")
        print(format_prediction(prediction))
    print(f"\n[demo] written under {out}: " + ", ".join(f"{k} {v}" for k, v in summary["paths"].items()))
    print("[demo] real inputs:")
    for item in summary["real"]:
        print(f"  {item}")
    print(f"[demo] finished in {summary['seconds']['total']} s ("
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
