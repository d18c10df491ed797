"""Small multimodal datasets in the prepared-dataset format, for trainer tests (test fixtures, not data).

Rows carry structured values (see model_inputs.py); labels follow a learnable rule (habitability = 1 for even rows,
whose planet parameters are shifted up) so that training tests can see the loss fall.
"""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np

from astrobio_hf.data.multimodal_schema import UNLABELLED, MultimodalSpec, save_multimodal_dataset
from astrobio_hf.models.multimodal import MULTIMODAL_PRESETS, AstroMultimodalConfig
from tests.helpers.model_inputs import hexokinase_graph, lapse_rate_cubes

SPEC = MultimodalSpec()


def row(i: int, spec: MultimodalSpec = SPEC, unlabelled: tuple[int, ...] = ()) -> dict:
    """Row i: modalities present in a rotating pattern, graphs of different sizes."""
    p = len(spec.planet_param_names)
    graph = hexokinase_graph(1 + i % 3)
    has_graph = i % 2 == 0
    cube = lapse_rate_cubes(AstroMultimodalConfig(**MULTIMODAL_PRESETS["tiny"]).datacube_config, 1)[0].numpy()
    label = i % 2 == 0
    return {
        "planet_name": f"Planet {i} b",
        "host_name": f"Planet {i}",
        "provenance": [{"source": "test", "release": "fixture", "file": "", "generated": True}],
        "planet_params": np.linspace(0, 1, p, dtype=np.float32) + (1.0 if label else -1.0) + 0.01 * i,
        "planet_params_mask": [j % 4 != i % 4 for j in range(p)],
        "spectrum": _spectrum(spec, i),
        "spectrum_mask": i % 3 == 0,
        "light_curve": _light_curve(spec, i),
        "light_curve_mask": i % 3 == 1,
        "climate_cube": cube + 0.01 * i,
        "climate_cube_mask": i % 4 == 0,
        "climate_cube_generated": True,
        "graph_x": graph.x.tolist() if has_graph else [],
        "graph_edge_index": graph.edge_index.tolist() if has_graph else [[], []],
        "graph_edge_attr": graph.edge_attr.tolist() if has_graph else [],
        "graph_mask": has_graph,
        "graph_id": f"hexokinase x{1 + i % 3}" if has_graph else "",
        "text": f"Planet {i} b orbits the star Planet {i} with an insolation of {0.5 + 0.1 * i:.1f} Earth units.",
        "habitability": UNLABELLED if i in unlabelled else int(label),
        "hz_class": UNLABELLED if i in unlabelled else (1 if label else 2),
        "rocky": UNLABELLED if i in unlabelled else int(label),
    }


def _spectrum(spec: MultimodalSpec, i: int) -> np.ndarray:
    """An absorption band whose centre moves with i; channels value, error, valid flag."""
    grid = np.linspace(0, 1, spec.spectrum_length, dtype=np.float32)
    value = 1 - 0.2 * np.exp(-(((grid - 0.2 - 0.03 * (i % 10)) / 0.05) ** 2))
    return np.stack([value, np.full_like(grid, 0.01), np.ones_like(grid)])[: spec.spectrum_channels]


def _light_curve(spec: MultimodalSpec, i: int) -> np.ndarray:
    """A box transit whose depth grows with i; channels flux, valid flag."""
    phase = np.linspace(-0.5, 0.5, spec.light_curve_length, dtype=np.float32)
    flux = 1 - 0.002 * (1 + i % 7) * (np.abs(phase) < 0.05)
    return np.stack([flux, np.ones_like(flux)])[: spec.light_curve_channels].astype(np.float32)


def make_splits(n_train: int = 16, n_eval: int = 8, unlabelled: tuple[int, ...] = ()) -> datasets.DatasetDict:
    features = SPEC.features()
    return datasets.DatasetDict({
        "train": datasets.Dataset.from_list([SPEC.encode_row(row(i, unlabelled=unlabelled)) for i in range(n_train)],
                                            features=features),
        "validation": datasets.Dataset.from_list([SPEC.encode_row(row(100 + i)) for i in range(n_eval)],
                                                 features=features),
    })


def write_dataset(path: Path, n_train: int = 16, n_eval: int = 8) -> Path:
    """A prepared multimodal dataset directory (what `astrobio-hf prepare --dataset multimodal` writes)."""
    return save_multimodal_dataset(make_splits(n_train, n_eval), SPEC, path)


def tiny_checkpoint(root: Path) -> Path:
    """A multimodal checkpoint written by train.py in-process: 2 steps on `write_dataset(root / "data", 8, 4)`."""
    from train import main as train

    dataset = write_dataset(root / "data", n_train=8, n_eval=4)
    train(["--dataset_path", str(dataset), "--output_dir", str(root / "model"), "--do_train", "--max_steps", "2",
           "--use_cpu", "--report_to", "none", "--disable_tqdm", "true", "--save_strategy", "no"])
    return root / "model"
