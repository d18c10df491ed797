"""Walkthrough: your own catalog (and light curves) -> a prepared dataset -> a trained, evaluated model -> predictions.

A plain Python file with notebook cells (`# %%`; VS Code, PyCharm and Jupytext open it as a notebook). Run it whole:

    .venv/bin/python docs/walkthrough_own_data.py --catalog PSCompPars.csv [--light-curves DIR --cross-ids CSV]
        [--workdir outputs/walkthrough] [--max-steps 60]

`--catalog` is a NASA Exoplanet Archive planet table as you downloaded it (the interactive table's CSV, a TAP CSV,
IPAC or VOTable). To fetch one: `astrobio-hf prepare --source nasa_exoplanet_archive` (TAP, needs the network), or
https://exoplanetarchive.ipac.caltech.edu -> Planetary Systems Composite Data -> Download Table. Everything else runs
offline. docs/own_data.md explains each step and the folder layout for spectra, climate files and metabolic models.
"""

# %% [markdown]
# ## 1. Lay out your inputs
# `prepare --dataset multimodal` reads a folder: `nasa_exoplanet_archive/` (required), `light_curves/` with
# `cross_ids.csv` (host_name,kic,tic,epic), `spectra/`, `climate/climate_map.csv`, `metabolic/graph_map.csv`
# (see `astrobio_hf.data.multimodal.DATA_DIR_LAYOUT`). Links are enough: nothing is copied.

# %%
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog", type=Path, required=True, help="your NASA Exoplanet Archive planet table")
    parser.add_argument("--light-curves", type=Path, default=None, help="folder of Kepler/K2/TESS light-curve FITS")
    parser.add_argument("--cross-ids", type=Path, default=None, help="CSV host_name,kic,tic,epic for the light curves")
    parser.add_argument("--workdir", type=Path, default=Path("outputs/walkthrough"))
    parser.add_argument("--max-steps", type=int, default=60, help="training steps (the demo recipe otherwise)")
    parser.add_argument("--max-planets", type=int, default=None, help="keep the first N planets (a quick run)")
    return parser.parse_args(argv)


def lay_out(args: argparse.Namespace) -> Path:
    inputs = args.workdir / "inputs"
    (inputs / "nasa_exoplanet_archive").mkdir(parents=True, exist_ok=True)
    link = inputs / "nasa_exoplanet_archive" / args.catalog.name
    if not link.exists():
        link.symlink_to(args.catalog.resolve())
    if args.light_curves is not None and not (inputs / "light_curves").exists():
        (inputs / "light_curves").symlink_to(args.light_curves.resolve(), target_is_directory=True)
    if args.cross_ids is not None and not (inputs / "cross_ids.csv").exists():
        (inputs / "cross_ids.csv").symlink_to(args.cross_ids.resolve())
    return inputs


# %% [markdown]
# ## 2. Prepare the multimodal dataset
# The same builders as `astrobio-hf prepare --dataset multimodal --data-dir INPUTS --output DATASET`: one row per
# planet, Kopparapu (2014) labels from the catalog values, host-star splits, a dataset card (README.md) beside it.

# %%
def prepare(inputs: Path, dataset: Path, max_planets: int | None) -> None:
    command = [str(Path(sys.executable).with_name("astrobio-hf")), "prepare", "--dataset", "multimodal",
               "--data-dir", str(inputs), "--output", str(dataset), "--cache-dir", str(dataset.parent / "cache")]
    if max_planets:
        command += ["--max-planets", str(max_planets)]
    subprocess.run(command, check=True)


# %% [markdown]
# ## 3. Train, then evaluate on the held-out test split
# `train.py` with the CPU demo recipe (on a GPU host: `accelerate launch --config_file ... train.py RECIPE`).
# The run writes the checkpoint, its processor (the training transforms), a model card and `loss_curve.png`.

# %%
def train_and_evaluate(dataset: Path, model: Path, max_steps: int) -> dict:
    recipe = str(REPO / "configs" / "demo_cpu.yaml")
    common = ["--dataset_path", str(dataset), "--logging_steps", "10"]
    subprocess.run([sys.executable, str(REPO / "train.py"), recipe, *common, "--output_dir", str(model),
                    "--max_steps", str(max_steps), "--eval_strategy", "no", "--save_strategy", "no",
                    "--load_best_model_at_end", "false", "--overwrite_output_dir"],  # a rerun replaces its model
                   check=True, cwd=REPO)
    subprocess.run([sys.executable, str(REPO / "train.py"), recipe, *common, "--do_train", "false",
                    "--model_name_or_path", str(model), "--eval_split", "test", "--load_best_model_at_end", "false",
                    "--output_dir", str(model.parent / "test_eval")], check=True, cwd=REPO)
    return json.loads((model.parent / "test_eval" / "eval_results.json").read_text())


# %% [markdown]
# ## 4. Predict for any planet
# By catalog values (catalog units), by a row of your own file, by an astropy QTable row with units, or through
# `pipeline("habitability-classification")`. Inputs you do not have are masked and listed, never imputed.

# %%
def predict_examples(model: Path, catalog: Path) -> list[dict]:
    from astropy import units as u
    from astropy.table import QTable
    from transformers import pipeline

    import astrobio_hf  # noqa: F401  (registers the models, the processor and the pipeline)
    from astrobio_hf.inference.predict import catalog_row, predict

    values = {"pl_name": "Kepler-186 f", "pl_orbper": 129.9444, "pl_rade": 1.17, "pl_insol": 0.29,
              "st_teff": 3755.0, "st_rad": 0.52, "st_mass": 0.54}
    row = QTable({"pl_name": ["Kepler-186 f"], "pl_orbper": [129.9444] * u.day, "pl_rade": [7460.0] * u.km,
                  "st_teff": [3755.0] * u.K})
    results = [predict(model, values).to_dict(), predict(model, row[0]).to_dict()]
    try:
        results.append(predict(model, catalog_row(catalog, "TRAPPIST-1 e")).to_dict())
    except KeyError as error:  # your table may not hold it
        print(f"catalog lookup: {error}")
    classify = pipeline("habitability-classification", model=str(model))
    results.append(classify(values))
    return results


# %%
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # train.py runs in the repository: paths given relative to where the walkthrough was started are resolved first
    args.workdir, args.catalog = args.workdir.resolve(), args.catalog.resolve()
    for name in ("light_curves", "cross_ids"):
        if getattr(args, name, None) is not None:
            setattr(args, name, getattr(args, name).resolve())
    if not args.catalog.is_file():
        raise SystemExit(f"--catalog {args.catalog} does not exist (see the docstring for how to download one)")
    inputs = lay_out(args)
    dataset, model = args.workdir / "dataset", args.workdir / "model"
    prepare(inputs, dataset, args.max_planets)
    metrics = train_and_evaluate(dataset, model, args.max_steps)
    print("test split:", {k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)})
    for result in predict_examples(model, args.catalog):
        name = result.get("planet_name")
        label = result.get("label") or result.get("hz_class")
        print(f"{name}: P(habitable) {result['habitability_probability']:.3f}, hz_class {label}, missing inputs "
              f"{result.get('missing_inputs')}")
    print(f"everything is in {args.workdir} (loss curve: {model / 'loss_curve.png'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
