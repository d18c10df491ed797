"""The columns of the multimodal dataset: the contract between `multimodal/` (writer) and `collator.py` (reader).

One row per planet. Every modality is optional, with a boolean `<modality>_mask` column. The array modalities
(spectrum `[C, L]`, light curve `[C, L]`, climate cube `[vars, time, lev, lat, lon]`) are stored flattened in
fixed-size float32 list columns and are null when absent, so an absent cube costs nothing and a batch is one Arrow
take whose buffers reshape straight into tensors (datasets' ArrayND columns are ~16x slower to gather at random).
Fixed grids (the spectrum's wavelengths, the light curve's phase grid, the cube's coordinates) are the same for every
row and live in the spec's metadata, not in the rows.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import datasets
import numpy as np

from ..models.multimodal.configuration_multimodal import DEFAULT_PLANET_PARAMS, HZ_CLASSES

ARRAY_MODALITIES: tuple[str, ...] = ("spectrum", "light_curve", "climate_cube")
UNLABELLED = -100  # the label value of a planet with no habitability label (ignored by the loss)
#: label columns of a row: the habitability label, its hz band and its size half (the factorised head's labels)
LABEL_COLUMNS: tuple[str, ...] = ("habitability", "hz_class", "rocky")


@dataclass(frozen=True)
class MultimodalSpec:
    """Shapes of one multimodal dataset; the model config must agree (see `check_model_config`)."""

    planet_param_names: tuple[str, ...] = DEFAULT_PLANET_PARAMS
    spectrum_channels: int = 3  # value, error, valid flag
    spectrum_length: int = 64
    light_curve_channels: int = 2  # flux, valid flag
    light_curve_length: int = 64
    #: the light curve's search features (`modalities.transit_features`), empty when the curves come without a search
    light_curve_feature_names: tuple[str, ...] = ()
    climate_cube_shape: tuple[int, int, int, int, int] = (2, 2, 4, 8, 16)  # [vars, time, lev, lat, lon]
    hz_class_names: tuple[str, ...] = HZ_CLASSES
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MultimodalSpec:
        data = dict(data)
        for key in ("planet_param_names", "light_curve_feature_names", "climate_cube_shape", "hz_class_names"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    def shape(self, modality: str) -> tuple[int, ...]:
        """Per-row shape of an array modality: spectrum, light_curve or climate_cube."""
        return {
            "spectrum": (self.spectrum_channels, self.spectrum_length),
            "light_curve": (self.light_curve_channels, self.light_curve_length),
            "climate_cube": tuple(self.climate_cube_shape),
        }[modality]

    def size(self, modality: str) -> int:
        return int(math.prod(self.shape(modality)))

    def encode_row(self, row: dict) -> dict:
        """A row with array modalities as nd-arrays (or flat lists) -> the stored form: flat float32, None if absent."""
        row = dict(row)
        for modality in ARRAY_MODALITIES:
            value = row.get(modality)
            if not row.get(f"{modality}_mask") or value is None:
                row[modality] = None
                continue
            array = np.asarray(value, dtype=np.float32)
            if array.size != self.size(modality):
                raise ValueError(
                    f"row {row.get('planet_name')!r}: {modality} has {array.size} values, the spec's shape "
                    f"{self.shape(modality)} holds {self.size(modality)}"
                )
            row[modality] = array.reshape(-1)
        if self.light_curve_feature_names:
            value = row.get("light_curve_features")
            if not row.get("light_curve_mask") or value is None:
                row["light_curve_features"] = None
            else:
                array = np.asarray(value, dtype=np.float32).reshape(-1)
                if array.size != len(self.light_curve_feature_names):
                    raise ValueError(f"row {row.get('planet_name')!r}: light_curve_features has {array.size} values, "
                                     f"the spec names {len(self.light_curve_feature_names)} "
                                     f"({list(self.light_curve_feature_names)})")
                row["light_curve_features"] = array
        return row

    def features(self) -> datasets.Features:
        """Typed Arrow features of a multimodal row."""
        p = len(self.planet_param_names)
        search = ({"light_curve_features": datasets.List(datasets.Value("float32"),
                                                         length=len(self.light_curve_feature_names))}
                  if self.light_curve_feature_names else {})
        return datasets.Features({
            "planet_name": datasets.Value("string"),
            "host_name": datasets.Value("string"),
            "provenance": datasets.List({
                "source": datasets.Value("string"),
                "release": datasets.Value("string"),
                "file": datasets.Value("string"),
                "generated": datasets.Value("bool"),
            }),
            "planet_params": datasets.List(datasets.Value("float32"), length=p),
            "planet_params_mask": datasets.List(datasets.Value("bool"), length=p),
            "spectrum": datasets.List(datasets.Value("float32"), length=self.size("spectrum")),
            "spectrum_mask": datasets.Value("bool"),
            "light_curve": datasets.List(datasets.Value("float32"), length=self.size("light_curve")),
            "light_curve_mask": datasets.Value("bool"),
            **search,
            "climate_cube": datasets.List(datasets.Value("float32"), length=self.size("climate_cube")),
            "climate_cube_mask": datasets.Value("bool"),
            "climate_cube_generated": datasets.Value("bool"),
            "graph_x": datasets.List(datasets.List(datasets.Value("float32"))),
            "graph_edge_index": datasets.List(datasets.List(datasets.Value("int64"))),
            "graph_edge_attr": datasets.List(datasets.List(datasets.Value("float32"))),
            "graph_mask": datasets.Value("bool"),
            "graph_id": datasets.Value("string"),
            "text": datasets.Value("string"),
            "habitability": datasets.Value("int64"),
            "hz_class": datasets.Value("int64"),
            "rocky": datasets.Value("int64"),
        })

    @classmethod
    def from_model_config(cls, config) -> MultimodalSpec:
        """The shapes an `AstroMultimodalConfig` expects (for records that come without their dataset)."""
        return cls(
            planet_param_names=tuple(config.planet_param_names),
            spectrum_channels=config.spectrum_channels,
            spectrum_length=config.spectrum_length,
            light_curve_channels=config.light_curve_channels,
            light_curve_length=config.light_curve_length,
            light_curve_feature_names=tuple(getattr(config, "light_curve_feature_names", ()) or ()),
            climate_cube_shape=tuple(config.datacube_config.grid_shape),
            hz_class_names=tuple(config.hz_class_names),
        )

    def check_model_config(self, config) -> None:
        """Raise a ValueError naming the field where an `AstroMultimodalConfig` disagrees with this dataset."""
        cube = config.datacube_config
        expected = {
            "planet_param_names": (tuple(config.planet_param_names), self.planet_param_names),
            "spectrum_channels": (config.spectrum_channels, self.spectrum_channels),
            "spectrum_length": (config.spectrum_length, self.spectrum_length),
            "light_curve_channels": (config.light_curve_channels, self.light_curve_channels),
            "light_curve_length": (config.light_curve_length, self.light_curve_length),
            "light_curve_feature_names": (tuple(getattr(config, "light_curve_feature_names", ()) or ()),
                                          self.light_curve_feature_names),
            "datacube_config.grid_shape": (tuple(cube.grid_shape), tuple(self.climate_cube_shape)),
            "num_hz_classes": (config.num_hz_classes, len(self.hz_class_names)),
        }
        for name, (model_value, data_value) in expected.items():
            if model_value != data_value:
                raise ValueError(
                    f"model config {name} is {model_value!r} but the dataset has {data_value!r}; build the model "
                    "config from the dataset spec (MultimodalSpec) or prepare the dataset with the model's shapes."
                )


SPEC_FILENAME = "multimodal_spec.json"


def save_multimodal_dataset(splits: datasets.DatasetDict, spec: MultimodalSpec, path: str | os.PathLike) -> Path:
    """Save the splits with `save_to_disk` and the spec beside them (written last: its presence marks a whole save)."""
    path = Path(path)
    splits.save_to_disk(str(path))
    tmp = path / f".{SPEC_FILENAME}.tmp"
    tmp.write_text(json.dumps(spec.to_dict(), indent=2))
    os.replace(tmp, path / SPEC_FILENAME)
    return path


def load_multimodal_dataset(path: str | os.PathLike) -> tuple[datasets.DatasetDict, MultimodalSpec]:
    """Load what `save_multimodal_dataset` wrote (memory-mapped Arrow; wrap splits in `ArrowBatches` to train)."""
    path = Path(path)
    spec_file = path / SPEC_FILENAME
    if not spec_file.is_file():
        raise FileNotFoundError(
            f"{path} is not a prepared multimodal dataset: {SPEC_FILENAME} is missing (prepare it with "
            "`astrobio-hf prepare --dataset multimodal`)."
        )
    spec = MultimodalSpec.from_dict(json.loads(spec_file.read_text()))
    splits = datasets.load_from_disk(str(path))
    if not isinstance(splits, datasets.DatasetDict):
        raise ValueError(f"{path} holds a single Dataset; a multimodal dataset is a DatasetDict of splits.")
    for name, split in splits.items():
        if split.features != spec.features():
            missing = sorted(set(spec.features()) - set(split.features))
            raise ValueError(f"{path} split {name!r} does not match its spec (missing columns: {missing}); a dataset "
                             "prepared by an older astrobio_hf lacks the newer label columns: prepare it again.")
    return splits, spec


def checkpoint_spec(path: str | Path) -> MultimodalSpec | None:
    """The dataset spec saved beside a multimodal checkpoint (its processor's, else multimodal_spec.json)."""
    folder = Path(path)
    processor = folder / "processor_config.json"
    if processor.is_file():
        data = json.loads(processor.read_text()).get("spec")
        if data:
            return MultimodalSpec.from_dict(data)
    if (folder / SPEC_FILENAME).is_file():
        return MultimodalSpec.from_dict(json.loads((folder / SPEC_FILENAME).read_text()))
    return None


__all__ = ["checkpoint_spec", "MultimodalSpec", "UNLABELLED", "LABEL_COLUMNS", "ARRAY_MODALITIES",
           "save_multimodal_dataset", "load_multimodal_dataset", "SPEC_FILENAME"]
