"""Evaluation protocols of the multimodal dataset: which inputs the model may see.

The habitability label is a closed-form rule (:mod:`labels`) of the insolation, the host's Teff and the planet's
size. Under ``full`` every input is kept, so a model can read the label's main input straight from ``planet_params``.
Under ``withheld`` the columns that carry the insolation directly are removed at train and test time:

* ``pl_insol`` and ``pl_eqt`` (the equilibrium temperature is a function of the insolation alone) from
  ``planet_params``;
* climate cubes made by the energy-balance generator, whose input is the insolation (cubes read from GCM files are
  kept: they are observations of a model run, not a function of the catalog column).

What stays: period, semi-major axis, radius, mass, eccentricity, the star's Teff, radius, mass, metallicity, log g,
distance, light curves and spectra. The insolation can still be *inferred* from them (L from R and Teff, a from P and
M), which is the point: the model must learn it rather than read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Protocol = Literal["full", "withheld"]
PROTOCOLS: tuple[str, ...] = ("full", "withheld")
#: planet_params columns removed under ``withheld``.
WITHHELD_COLUMNS: tuple[str, ...] = ("pl_insol", "pl_eqt")


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    return protocol


def protocol_param_names(names: Sequence[str], protocol: str) -> tuple[str, ...]:
    """The ``planet_params`` columns a model sees under ``protocol``."""
    check_protocol(protocol)
    return tuple(n for n in names if protocol == "full" or n not in WITHHELD_COLUMNS)


def describe_protocol(protocol: str) -> dict[str, object]:
    """What the protocol removed (recorded in the dataset spec and in evaluation results)."""
    check_protocol(protocol)
    if protocol == "full":
        return {"name": "full", "removed_columns": [], "removed_modalities": []}
    return {"name": "withheld", "removed_columns": list(WITHHELD_COLUMNS),
            "removed_modalities": ["climate cubes generated from the insolation (energy-balance model)"]}


__all__ = ["PROTOCOLS", "WITHHELD_COLUMNS", "Protocol", "check_protocol", "describe_protocol",
           "protocol_param_names"]
