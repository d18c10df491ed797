"""Evaluation protocols of the multimodal dataset: which inputs the model may see.

The habitability label is a closed-form rule (:mod:`labels`) of the insolation, the host's Teff and the planet's
size. Under ``full`` every input is kept, so a model can read the label's main input straight from ``planet_params``.
The other protocols remove columns at train and test time (and from every baseline's inputs):

* ``withheld``: the columns that carry the insolation directly, ``pl_insol`` and ``pl_eqt`` (the equilibrium
  temperature is a function of the insolation alone). The insolation can still be *inferred* (L from R and Teff,
  a from P and M), which is the point: the model must learn it rather than read it.
* ``withheld-orbit``: the orbit as well, ``pl_orbper`` and ``pl_orbsmax`` with ``pl_insol`` and ``pl_eqt``. What is
  left of the orbit is what an observation carries: the light curves are then never folded at the catalog period
  (the light-curve join bins them in time instead), so a model must find the orbit in the photometry.

Under both, climate cubes made by the energy-balance generator (whose input is the insolation) are removed; cubes read
from GCM files are kept (they are observations of a model run, not a function of the catalog column). What always
stays: radius, mass, eccentricity, the star's Teff, radius, mass, metallicity, log g, distance, spectra.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Protocol = Literal["full", "withheld", "withheld-orbit"]
#: planet_params columns each protocol removes.
REMOVED_COLUMNS: dict[str, tuple[str, ...]] = {
    "full": (),
    "withheld": ("pl_insol", "pl_eqt"),
    "withheld-orbit": ("pl_orbper", "pl_orbsmax", "pl_insol", "pl_eqt"),
}
PROTOCOLS: tuple[str, ...] = tuple(REMOVED_COLUMNS)
#: planet_params columns removed under ``withheld``.
WITHHELD_COLUMNS: tuple[str, ...] = REMOVED_COLUMNS["withheld"]
#: protocols under which the catalog period must not reach any input (light curves are not folded at it)
ORBIT_WITHHELD: frozenset[str] = frozenset({"withheld-orbit"})


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    return protocol


def removed_columns(protocol: str) -> tuple[str, ...]:
    """The ``planet_params`` columns ``protocol`` removes."""
    return REMOVED_COLUMNS[check_protocol(protocol)]


def removes_insolation(protocol: str) -> bool:
    """Whether inputs made from the insolation (energy-balance climate cubes) are removed."""
    return "pl_insol" in removed_columns(protocol)


def can_evaluate(prepared: str, protocol: str) -> bool:
    """A dataset prepared under ``prepared`` can be scored under ``protocol`` when that removes at least as much."""
    return set(removed_columns(prepared)) <= set(removed_columns(protocol))


def hidden_modalities(prepared: str, protocol: str, searched_light_curves: bool = False) -> tuple[str, ...]:
    """Modalities to hide when a dataset prepared under ``prepared`` is scored under a stricter ``protocol``: the
    climate cubes (the generator's input is the insolation) and, when the orbit is withheld at test time only, the
    light curves (the dataset folded them at the catalog period), unless ``searched_light_curves``: curves from a
    searched light-curve store are folded at the period the search found under every protocol."""
    if not can_evaluate(prepared, protocol):
        raise ValueError(f"a dataset prepared under {prepared!r} cannot be scored under {protocol!r}")
    hidden = []
    if removes_insolation(protocol) and not removes_insolation(prepared):
        hidden.append("climate_cube")
    if protocol in ORBIT_WITHHELD and prepared not in ORBIT_WITHHELD and not searched_light_curves:
        hidden.append("light_curve")
    return tuple(hidden)


def protocol_param_names(names: Sequence[str], protocol: str) -> tuple[str, ...]:
    """The ``planet_params`` columns a model sees under ``protocol``."""
    drop = removed_columns(protocol)
    return tuple(n for n in names if n not in drop)


def describe_protocol(protocol: str) -> dict[str, object]:
    """What the protocol removed (recorded in the dataset spec and in evaluation results)."""
    drop = removed_columns(protocol)
    modalities = ["climate cubes generated from the insolation (energy-balance model)"] if drop else []
    if protocol in ORBIT_WITHHELD:
        modalities.append("light curves folded at the catalog period (binned in time instead)")
    return {"name": protocol, "removed_columns": list(drop), "removed_modalities": modalities}


__all__ = ["PROTOCOLS", "REMOVED_COLUMNS", "WITHHELD_COLUMNS", "ORBIT_WITHHELD", "Protocol", "check_protocol",
           "removed_columns", "removes_insolation", "can_evaluate", "hidden_modalities", "describe_protocol", "protocol_param_names"]
