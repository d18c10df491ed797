"""`make demo`: the whole platform offline on CPU, through the same commands a user runs.

1. write the embedded sample (generated planets in the archives' native formats + real package-bundled data);
2. `astrobio-hf prepare --dataset multimodal` on it (the real builders and modality pipelines);
3. `accelerate launch train.py configs/demo_cpu.yaml` (trains, evaluates on the validation split, saves);
4. reload the checkpoint with `from_pretrained` and evaluate on the held-out test split (`train.py --do_eval`);
5. predict for a few named planets; print the metrics and where everything was written (also `summary.json`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ..progress import PREFIX
from .sample import describe_sample, write_demo_sample

REPO = Path(__file__).resolve().parents[2]
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "offline",
           "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def _run(step: str, command: list[str], log: Path) -> None:
    """Run one step as a user would, its output to `log`; stop the demo with the log's tail if it fails."""
    started = time.perf_counter()
    print(f"[demo] {step}: {' '.join(command)}", flush=True)
    with log.open("w") as out, subprocess.Popen(command, cwd=REPO, env={**os.environ, **OFFLINE}, text=True,
                                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as result:
        for line in result.stdout:  # everything to the log; progress lines to the console too
            out.write(line)
            if line.startswith(PREFIX):
                print(f"[demo]   {line[len(PREFIX):].strip()}", flush=True)
    if result.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
        raise SystemExit(f"[demo] {step} failed (exit {result.returncode}); last lines of {log}:\n{tail}")
    print(f"[demo]   done in {time.perf_counter() - started:.1f} s (log: {log})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="outputs/demo", help="folder for everything the demo writes")
    parser.add_argument("--n-hosts", type=int, default=250, help="stars in the generated sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=float, default=None, help="override the recipe's num_train_epochs")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = Path(args.output).resolve()
    out.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent

    manifest = write_demo_sample(out / "sample", seed=args.seed, n_hosts=args.n_hosts)
    print(describe_sample(manifest), flush=True)

    dataset = out / "dataset"
    _run("prepare", [str(bin_dir / "astrobio-hf"), "prepare", "--dataset", "multimodal", "--data-dir",
                     str(out / "sample"), "--output", str(dataset), "--climate", "generate", "--cache-dir",
                     str(out / "cache"), "--seed", str(args.seed)], out / "prepare.log")
    model_dir = out / "model"
    train = [str(bin_dir / "accelerate"), "launch", "--num_processes", "1", "--num_machines", "1",
             "--mixed_precision", "no", "--dynamo_backend", "no", str(REPO / "train.py"),
             str(REPO / "configs" / "demo_cpu.yaml"), "--dataset_path", str(dataset), "--output_dir", str(model_dir)]
    if args.epochs is not None:
        train += ["--num_train_epochs", str(args.epochs)]
    _run("train", train, out / "train.log")
    test_dir = out / "test_eval"
    _run("evaluate on the held-out test split", [
        sys.executable, str(REPO / "train.py"), str(REPO / "configs" / "demo_cpu.yaml"), "--do_train", "false",
        "--do_eval", "true", "--model_name_or_path", str(model_dir), "--eval_split", "test", "--dataset_path",
        str(dataset), "--output_dir", str(test_dir), "--load_best_model_at_end", "false",
    ], out / "test_eval.log")

    from ..predict import predict  # after training: imports torch and the models

    predictions = [predict(model_dir, planet=name, dataset=dataset) for name in manifest["named_planets"]]
    validation = json.loads((model_dir / "eval_results.json").read_text())
    test = json.loads((test_dir / "eval_results.json").read_text())
    keys = ("eval_habitability_accuracy", "eval_habitability_f1", "eval_habitability_roc_auc",
            "eval_hz_class_accuracy", "eval_habitability_labelled", "eval_loss")
    summary = {
        "validation": {k: validation.get(k) for k in keys},
        "test": {k: test.get(k) for k in keys},
        "predictions": [p.to_dict() for p in predictions],
        "paths": {"sample": str(out / "sample"), "dataset": str(dataset), "model": str(model_dir),
                  "model_card": str(model_dir / "README.md"), "test_eval": str(test_dir)},
        "generated": "catalog, exoplanets.org subset, light curves, transmission spectra, climate cubes (EBM)",
        "real": [f"{Path(r['path']).name} ({r['package']}; {r['used_as']})" for r in manifest["real"]],
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))

    from ..commands.predict import format_prediction

    print("\n[demo] metrics (habitability on labelled planets; hz_class too hot / temperate / too cold):")
    for split in ("validation", "test"):
        figures = ", ".join(f"{k.removeprefix('eval_')} {v:.3f}" for k, v in summary[split].items() if v is not None)
        print(f"  {split}: {figures}")
    print("\n[demo] predictions (the checkpoint reloaded with from_pretrained):")
    for prediction in predictions:
        print(format_prediction(prediction))
    print("\n[demo] written:")
    for name, path in summary["paths"].items():
        print(f"  {name}: {path}")
    print(f"  summary: {out / 'summary.json'}")
    print(f"\n[demo] generated inputs: {summary['generated']}")
    print("[demo] real inputs, read from installed packages:")
    for item in summary["real"]:
        print(f"  {item}")
    print(f"[demo] finished in {summary['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
