"""Which observatory a FITS file comes from (TELESCOP / OBSERVAT / ORIGIN / INSTRUME cards), so that a
builder refuses a file from another archive instead of reading it as its own.

Only positive identifications count: a file whose cards name no known facility (IRAF-processed frames
often lose TELESCOP) is accepted; a Gemini frame handed to ``subaru_smoka`` or an ESO ADP handed to
``keck_koa`` is refused with a message naming what the file is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import SourceFormatError

CARDS = ("TELESCOP", "OBSERVAT", "ORIGIN", "INSTRUME")

#: facility -> (card, upper-case text that card holds for it: prefix "=" means the whole value)
SIGNATURES: dict[str, tuple[tuple[str, str], ...]] = {
    "ESO": (("TELESCOP", "ESO-"), ("ORIGIN", "=ESO"), ("OBSERVAT", "PARANAL"), ("OBSERVAT", "LA SILLA")),
    "Gemini": (("TELESCOP", "GEMINI"), ("OBSERVAT", "GEMINI"), ("ORIGIN", "GEMINI")),
    "Keck": (("TELESCOP", "KECK"), ("OBSERVAT", "KECK")),
    "Subaru": (("TELESCOP", "SUBARU"), ("OBSERVAT", "NAOJ"), ("ORIGIN", "NAOJ")),
    "JWST": (("TELESCOP", "=JWST"),),
    "HST": (("TELESCOP", "=HST"),),
    "TESS": (("TELESCOP", "=TESS"),),
    "Kepler": (("TELESCOP", "=KEPLER"),),
}


def _matches(value: str, pattern: str) -> bool:
    return value == pattern[1:] if pattern.startswith("=") else pattern in value


def identify(headers: Sequence[Any]) -> tuple[set[str], dict[str, str]]:
    """``(facilities the cards name, the cards themselves)`` from one or more FITS headers."""
    cards: dict[str, str] = {}
    for header in headers:
        for key in CARDS:
            if key not in cards and header.get(key) not in (None, ""):
                cards[key] = str(header.get(key)).strip()
    found = {facility for facility, signs in SIGNATURES.items()
             if any(_matches(cards.get(card, "").upper(), text) for card, text in signs)}
    return found, cards


def refuse_other_archive(source: str, path: Any, headers: Sequence[Any], own: Sequence[str],
                         builder_for: dict[str, str] | None = None) -> None:
    """Raise :class:`SourceFormatError` when the cards name another facility and none of ``own``."""
    found, cards = identify(headers)
    if not found or found & set(own):
        return
    what = "/".join(sorted(found))
    shown = ", ".join(f"{k}={v!r}" for k, v in cards.items())
    hint = {"ESO": "eso_archive", "Gemini": "gemini_archive", "Keck": "keck_koa", "Subaru": "subaru_smoka",
            "JWST": "jwst_mast", "TESS": "tess_mast", "Kepler": "kepler_k2_mast", **(builder_for or {})}
    others = sorted({hint[f] for f in found if f in hint})
    raise SourceFormatError(source, str(path), "HDU 0 (PRIMARY)",
                            f"this is a {what} file ({shown}), not from {' or '.join(own)}"
                            + (f"; read it with the {' or '.join(others)} builder" if others else ""))
