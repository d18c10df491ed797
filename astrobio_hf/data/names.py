"""Planet / star name normalisation for cross-matching catalogs (NASA archive <-> exoplanets.org).

The catalogs spell one planet differently: case ("Tau Boo b" / "tau Boo b"), spaces and hyphens
("Kepler-107 d" / "Kepler 107 d"), Gliese prefixes ("GJ 436 b" / "Gliese 436 b" / "Gl 436 b"),
Bayer letters spelled out or abbreviated ("epsilon Eri b" / "eps Eri b"), and Unicode look-alikes. :func:`normalize_name` maps all of these to one key; it never merges
names that differ in a digit or letter of the designation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Catalog prefixes with more than one spelling -> one canonical token (matched at the start, whole word).
_PREFIX_ALIASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(gliese|gl|gj)(?=[\s\-_]*\d)"), "gj"),
)
# Greek letters of Bayer designations -> the IAU three-letter abbreviations the NASA archive uses.
_GREEK = {
    "alpha": "alf", "beta": "bet", "gamma": "gam", "delta": "del", "epsilon": "eps", "zeta": "zet", "theta": "tet",
    "iota": "iot", "kappa": "kap", "lambda": "lam", "xi": "ksi", "omicron": "omi", "sigma": "sig",
    "upsilon": "ups", "omega": "ome",
}
_GREEK_WORD = re.compile(r"^(" + "|".join(_GREEK) + r")(?=\s)")
_NON_ALNUM = re.compile(r"[^0-9a-z+]")  # '+' kept: it is part of designations such as "BD+20 2457"


def normalize_name(name: str | None) -> str:
    """A cross-match key: NFKC, case-folded, unified prefixes, separators removed ("" for None/blank)."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKC", str(name)).casefold().strip()
    text = text.replace("\u2212", "-")  # minus sign used in some declination-based names
    text = _GREEK_WORD.sub(lambda m: _GREEK[m.group(1)], text, count=1)
    for pattern, canonical in _PREFIX_ALIASES:
        text = pattern.sub(canonical, text, count=1)
    return _NON_ALNUM.sub("", text)


def build_index(names: Iterable[str | None]) -> dict[str, int]:
    """``normalized name -> first row index`` for a column of names (blank names are left out)."""
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        key = normalize_name(name)
        if key and key not in index:
            index[key] = i
    return index


def cross_match(left: Iterable[str | None], right: Iterable[str | None]) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` where ``left[i]`` and ``right[j]`` have the same normalized name."""
    index = build_index(right)
    return [(i, index[k]) for i, name in enumerate(left) if (k := normalize_name(name)) and k in index]
