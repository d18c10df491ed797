"""Does an observation file belong to the planet it is given for? Its header names a star (or planet); the planet's
catalog values name the planet, its host and possibly catalog numbers. A file of another star is refused (the caller
may override with ``force``) rather than silently scored as this planet's.

Headers that name the star by catalog number only (SPOC light curves: ``OBJECT = 'KIC 11442793'``) cannot be matched
with a host *name*; they are accepted when the values carry that number (``kic``, ``tic_id``, ``epic``) and refused
otherwise, with a message saying how to confirm.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..data.names import normalize_name

#: catalog-number prefixes of headers -> catalog-value keys that may carry the same number
ID_KEYS: dict[str, tuple[str, ...]] = {"KIC": ("kic", "kepid", "kic_id"), "TIC": ("tic_id", "tic", "ticid"),
                                       "EPIC": ("epic", "epic_id", "epicid")}
_NUMBERED = re.compile(r"^\s*(KIC|TIC|EPIC)[\s_-]*0*(\d+)\s*$", re.IGNORECASE)
_PLANET_LETTER = re.compile(r"\s+[a-z]$")


class ObservationIdentityError(ValueError):
    """An observation file's header names another star or planet than the one predicted."""


def host_of(values: Mapping[str, Any]) -> str:
    """The host star's name: ``hostname``, else the planet name without its letter ("Kepler-186 f" -> "Kepler-186")."""
    host = str(values.get("hostname") or "").strip()
    if host:
        return host
    return _PLANET_LETTER.sub("", str(values.get("pl_name") or "").strip())


def _number(value: Any) -> str | None:
    text = str(value if value is not None else "").strip()
    digits = re.sub(r"^(KIC|TIC|EPIC)[\s_-]*", "", text, flags=re.IGNORECASE).lstrip("0")
    return digits if digits.isdigit() else None


def check_observation(kind: str, file: str, header_name: str | None, values: Mapping[str, Any],
                      planet_name: str | None = None) -> None:
    """Raise `ObservationIdentityError` when ``header_name`` (the file's OBJECT/TARGNAME) is not the planet's."""
    if not header_name or not str(header_name).strip():
        return  # the file names nobody: nothing to compare
    planet = planet_name or str(values.get("pl_name") or "")
    host = host_of({**values, "pl_name": planet})
    if not planet and not host:
        return  # the planet has no name to compare with
    numbered = _NUMBERED.match(str(header_name))
    if numbered:
        prefix, number = numbered.group(1).upper(), numbered.group(2)
        given = [(key, _number(values.get(key))) for key in ID_KEYS[prefix] if values.get(key) not in (None, "")]
        if any(n == number for _, n in given):
            return
        said = f" ({', '.join(f'{k}={values.get(k)}' for k, _ in given)} in the values)" if given else ""
        raise ObservationIdentityError(
            f"{kind} {file} names the star {prefix} {number} only, and nothing says that {host or planet} is "
            f"{prefix} {number}{said}. Give {ID_KEYS[prefix][0]}={number} with the values if it is, or --force "
            "(force=True) to use the file anyway.")
    named = normalize_name(str(header_name))
    if named in {normalize_name(host), normalize_name(planet)} - {""}:
        return
    raise ObservationIdentityError(
        f"{kind} {file} is of {str(header_name).strip()!r} (its header), not of {planet or host}"
        + (f" (host {host})" if host and planet else "")
        + ": another star's observation would be scored as this planet's. Give --force (force=True) to use it anyway.")


__all__ = ["check_observation", "host_of", "ObservationIdentityError", "ID_KEYS"]
