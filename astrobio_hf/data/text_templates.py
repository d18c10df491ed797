"""The `text` column of the multimodal dataset: a templated description written from catalog values.

The text is generated from a fixed template (no language model, no hand-written prose per planet): one sentence
per group of catalog values, each sentence left out when its values are missing. It states catalog values only and
never the habitability label or the habitable-zone class (that would leak the label into an input).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None  # inf never reaches the text as "inf K"


def _fmt(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, without exponent for everyday magnitudes."""
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text and 1e-4 <= abs(value) < 1e7:
        text = f"{value:.{max(digits - 1 - int(math.floor(math.log10(abs(value)))), 0)}f}"
    return text


def describe_planet(row: Mapping[str, Any]) -> str:
    """A description of one planet from NASA-archive-named values (``pl_name``, ``hostname``, ``st_teff`` ...)."""
    name = str(row.get("pl_name") or "This planet")
    host = row.get("hostname")
    sentences: list[str] = []

    spectype = (row.get("st_spectype") or "").strip()
    teff = _num(row.get("st_teff"))
    if spectype:
        star_desc = f"a star of spectral type {spectype}"
    elif teff is not None:
        star_desc = f"a star with an effective temperature of {_fmt(teff, 4)} K"
    else:
        star_desc = ""
    opening = f"{name} orbits {host}" if host else f"{name} orbits its star"
    if star_desc:
        opening += f", {star_desc}"
    dist = _num(row.get("sy_dist"))
    if dist is not None:
        opening += f", {_fmt(dist)} parsecs from the Sun"
    sentences.append(opening + ".")

    star = []
    if spectype and teff is not None:
        star.append(f"an effective temperature of {_fmt(teff, 4)} K")
    for key, label, unit in (("st_rad", "a radius of", "solar radii"), ("st_mass", "a mass of", "solar masses")):
        v = _num(row.get(key))
        if v is not None:
            star.append(f"{label} {_fmt(v)} {unit}")
    met = _num(row.get("st_met"))
    if met is not None:
        star.append(f"a metallicity of {met:+.2f} dex")
    if star:
        sentences.append("The star has " + _join(star) + ".")

    orbit = []
    per = _num(row.get("pl_orbper"))
    if per is not None:
        orbit.append(f"an orbital period of {_fmt(per)} days")
    a = _num(row.get("pl_orbsmax"))
    if a is not None:
        orbit.append(f"a semi-major axis of {_fmt(a)} AU")
    ecc = _num(row.get("pl_orbeccen"))
    if ecc is not None:
        orbit.append(f"an eccentricity of {_fmt(ecc, 2)}")
    if orbit:
        sentences.append("It has " + _join(orbit) + ".")

    body = []
    rade = _num(row.get("pl_rade"))
    if rade is not None:
        body.append(f"a radius of {_fmt(rade)} Earth radii")
    mass = _num(row.get("pl_bmasse"))
    if mass is not None:
        prov = (row.get("pl_bmassprov") or "").strip().lower()
        if prov == "msini":
            body.append(f"a minimum mass (M sin i) of {_fmt(mass)} Earth masses")
        elif prov.startswith("m-r"):
            body.append(f"a mass of {_fmt(mass)} Earth masses estimated from a mass-radius relation")
        else:
            body.append(f"a mass of {_fmt(mass)} Earth masses")
    if body:
        sentences.append("The planet has " + _join(body) + ".")

    energy = []
    insol = _num(row.get("pl_insol"))
    if insol is not None:
        energy.append(f"receives {_fmt(insol)} times the stellar flux Earth receives")
    eqt = _num(row.get("pl_eqt"))
    if eqt is not None:
        energy.append(f"has a catalog equilibrium temperature of {_fmt(eqt, 4)} K")
    if energy:
        sentences.append("It " + _join(energy) + ".")

    method = (row.get("discoverymethod") or "").strip()
    year = row.get("disc_year")
    facility = (row.get("disc_facility") or "").strip()
    if method:
        found = f"It was discovered by {method.lower()}"
        if year:
            found += f" in {int(year)}"
        if facility:
            found += f" ({facility})"
        sentences.append(found + ".")
    return " ".join(sentences)


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


__all__ = ["describe_planet"]
