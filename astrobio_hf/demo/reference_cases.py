"""Reference planets given by values, which the label rule classifies without ambiguity: a check a user can read.

Values in the NASA Exoplanet Archive's units (pscomppars columns). The Earth twin is the Earth around the Sun; the
hot Jupiter is HD 209458 b's published parameters; the cold giant is Jupiter. Each is printed next to the rule's own
answer (`astrobio_hf.data.labels.label_planet`), so a reader sees at once where the model agrees with the rule.
"""

from __future__ import annotations

from typing import Any

from ..data.labels import label_planet

REFERENCE_CASES: dict[str, dict[str, float | str]] = {
    "Earth twin (by values)": {
        "pl_name": "Earth twin", "pl_orbper": 365.256, "pl_orbsmax": 1.0, "pl_rade": 1.0, "pl_bmasse": 1.0,
        "pl_orbeccen": 0.0167, "pl_insol": 1.0, "pl_eqt": 255.0, "st_teff": 5772.0, "st_rad": 1.0, "st_mass": 1.0,
        "st_met": 0.0, "st_logg": 4.44, "sy_dist": 10.0},
    "hot Jupiter (HD 209458 b values)": {
        "pl_name": "hot Jupiter", "pl_orbper": 3.5247, "pl_orbsmax": 0.0475, "pl_rade": 15.6, "pl_bmasse": 232.0,
        "pl_orbeccen": 0.0, "pl_insol": 1000.0, "pl_eqt": 1450.0, "st_teff": 6065.0, "st_rad": 1.2,
        "st_mass": 1.12, "st_met": 0.0, "st_logg": 4.36, "sy_dist": 48.3},
    "cold giant (Jupiter values)": {
        "pl_name": "cold giant", "pl_orbper": 4332.6, "pl_orbsmax": 5.2, "pl_rade": 11.21, "pl_bmasse": 317.8,
        "pl_orbeccen": 0.0489, "pl_insol": 0.037, "pl_eqt": 110.0, "st_teff": 5772.0, "st_rad": 1.0,
        "st_mass": 1.0, "st_met": 0.0, "st_logg": 4.44, "sy_dist": 10.0},
}


def rule_answer(values: dict[str, Any]) -> tuple[int | None, str | None]:
    """(habitability, hz_class) of the label rule for catalog values."""
    label = label_planet(**{k: values.get(k) for k in ("st_teff", "pl_insol", "st_rad", "pl_orbsmax", "pl_rade",
                                                       "pl_bmasse")})
    return label.habitability, label.hz_class


__all__ = ["REFERENCE_CASES", "rule_answer"]
