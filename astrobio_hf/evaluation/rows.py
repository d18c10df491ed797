"""The labelled rows of one split as arrays: labels, hosts, the planet_params matrix and its catalog columns.

Shared by the baselines and the model evaluation so that every method is scored on exactly the same rows (labelled
planets of the named split, in dataset order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import datasets
import numpy as np

from ..data.multimodal_schema import LABEL_COLUMNS, UNLABELLED, MultimodalSpec
from ..data.names import normalize_name
from ..data.planet_features import transform_of


@dataclass
class SplitRows:
    """Labelled rows of one split: ``indices`` into the split, labels, host keys, planet_params (+mask)."""

    name: str
    indices: np.ndarray
    planet_names: list[str]
    hosts: list[str]
    habitability: np.ndarray
    hz_class: np.ndarray
    rocky: np.ndarray  # the size label (-100 = no radius or mass)
    params: np.ndarray
    mask: np.ndarray
    param_names: tuple[str, ...]
    #: the light curves' transit-search features (NaN = no light curve or not found), when the dataset has them
    search: np.ndarray | None = None
    search_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.indices)

    def subset(self, index: np.ndarray, name: str) -> SplitRows:
        """The rows at positions ``index`` (cross-validation folds of one pooled set of rows)."""
        index = np.asarray(index, dtype=int)
        return SplitRows(name=name, indices=self.indices[index], planet_names=[self.planet_names[i] for i in index],
                         hosts=[self.hosts[i] for i in index], habitability=self.habitability[index],
                         hz_class=self.hz_class[index], rocky=self.rocky[index], params=self.params[index],
                         mask=self.mask[index], param_names=self.param_names,
                         search=None if self.search is None else self.search[index], search_names=self.search_names)

    def features(self, drop: Sequence[str] = (), search: bool = False) -> np.ndarray:
        """planet_params (missing = 0) next to the observed mask, columns in ``drop`` removed: the tabular input;
        ``search`` appends the transit search's features the same way (missing or not found = 0, flagged)."""
        keep = [j for j, n in enumerate(self.param_names) if n not in drop]
        values = np.where(self.mask[:, keep], np.nan_to_num(self.params[:, keep]), 0.0)
        parts = [values, self.mask[:, keep].astype(np.float64)]
        if search:
            if self.search is None:
                raise ValueError(f"rows of {self.name!r} have no light_curve_features (a dataset prepared with a "
                                 "light-curve store has them)")
            found = np.isfinite(self.search)
            parts += [np.where(found, self.search, 0.0), found.astype(np.float64)]
        return np.concatenate(parts, axis=1)

    def catalog_values(self, drop: Sequence[str] = ()) -> dict[str, list[float | None]]:
        """planet_params decoded back to catalog units (log10 columns exponentiated; missing = None)."""
        out: dict[str, list[float | None]] = {}
        for j, name in enumerate(self.param_names):
            if name in drop:
                continue
            column = self.params[:, j].astype(np.float64)
            if transform_of(name) == "log10":
                column = 10.0 ** column
            out[name] = [float(v) if ok and np.isfinite(v) else None for v, ok in zip(column, self.mask[:, j],
                                                                                     strict=True)]
        return out


def split_rows(dataset: datasets.Dataset, spec: MultimodalSpec, name: str) -> SplitRows:
    """The labelled rows (habitability known) of ``dataset``."""
    columns = dataset.with_format("numpy", columns=list(LABEL_COLUMNS))[:]
    habitability = np.asarray(columns["habitability"], dtype=int)
    keep = np.flatnonzero(habitability != UNLABELLED)
    table = dataset.with_format(None).select(keep)
    params = np.asarray(table["planet_params"], dtype=np.float32).reshape(len(keep), -1)
    mask = np.asarray(table["planet_params_mask"], dtype=bool).reshape(len(keep), -1)
    hosts = [normalize_name(h) or normalize_name(p) for h, p in zip(table["host_name"], table["planet_name"],
                                                                   strict=True)]
    search = None
    if spec.light_curve_feature_names:
        k = len(spec.light_curve_feature_names)
        search = np.asarray([np.full(k, np.nan) if v is None else v for v in table["light_curve_features"]],
                            dtype=np.float64).reshape(len(keep), k)
    return SplitRows(name=name, indices=keep, planet_names=list(table["planet_name"]), hosts=hosts,
                     habitability=habitability[keep], hz_class=np.asarray(columns["hz_class"], dtype=int)[keep],
                     rocky=np.asarray(columns["rocky"], dtype=int)[keep],
                     params=params, mask=mask, param_names=tuple(spec.planet_param_names), search=search,
                     search_names=tuple(spec.light_curve_feature_names))


__all__ = ["SplitRows", "split_rows"]
