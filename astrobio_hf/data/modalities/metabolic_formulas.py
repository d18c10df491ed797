"""Chemical formulas of metabolites: element counts and molecular mass for metabolic-graph node features.

Formulas are parsed by cobra (`cobra.Metabolite.elements`), never by a regex of our own; molecular masses use
cobra's table of standard atomic weights. KEGG compound formulas come from KEGG COMPOUND flat files read with
Biopython (`Bio.KEGG.Compound.parse`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cobra import Metabolite
from cobra.core.formula import elements_and_molecular_weights

from astrobio_hf.data.graph_schema import ELEMENTS


@dataclass(frozen=True)
class Composition:
    """What a formula tells the node features: counts of the tracked elements and the rest, and the mass."""

    counts: tuple[float, ...]  # atoms of each element in `graph_schema.ELEMENTS`, in that order
    other_atoms: float  # atoms of every other symbol (metals, halogens, generic groups such as R)
    has_generic_symbol: bool  # a symbol that is not a chemical element (R, X, ...): the mass is unknown
    molecular_weight: float | None  # g/mol from cobra's atomic weights; None with a generic symbol


def parse_elements(formula: str | None) -> dict[str, float] | None:
    """Element counts of `formula` as cobra parses them, or None when there is no usable formula.

    cobra refuses formulas with parentheses (polymers such as KEGG's `C2H4NO2R(C2H2NOR)n`) and warns; those, empty
    formulas and formulas with a count cobra cannot read all count as unknown here.
    """
    if formula is None or not str(formula).strip():
        return None
    with warnings.catch_warnings():
        # cobra warns on every unparseable formula; the caller records "formula unknown" in the features instead.
        warnings.simplefilter("ignore", UserWarning)
        elements = Metabolite("formula_probe", formula=str(formula).strip()).elements
    if not elements:
        return None
    return {str(symbol): float(count) for symbol, count in elements.items()}


def composition(elements: Mapping[str, float] | None) -> Composition | None:
    """Split parsed element counts into the tracked elements, the other atoms and the molecular weight."""
    if not elements:
        return None
    counts = tuple(float(elements.get(symbol, 0.0)) for symbol in ELEMENTS)
    other = float(sum(count for symbol, count in elements.items() if symbol not in ELEMENTS))
    generic = any(symbol not in elements_and_molecular_weights for symbol in elements)
    weight = None
    if not generic:
        weight = float(sum(count * elements_and_molecular_weights[symbol] for symbol, count in elements.items()))
        if not math.isfinite(weight):
            weight = None
    return Composition(counts, other, generic, weight)


def load_kegg_compound_formulas(path: str | Path) -> dict[str, str]:
    """KEGG compound id (`C00099`) -> formula, from a KEGG COMPOUND flat file (REST `get` output or a dump).

    Records without a FORMULA line (peptides such as trypsin) are left out. Raises ValueError naming the file when
    Biopython cannot parse it or it holds no compound records.
    """
    from Bio.KEGG import Compound  # local import: Bio.KEGG is only needed for KEGG sources

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"KEGG COMPOUND flat file not found: {path}")
    formulas: dict[str, str] = {}
    records = 0
    try:
        with path.open(encoding="utf-8") as handle:
            for record in Compound.parse(handle):
                records += 1
                entry = (record.entry or "").strip()
                if not entry:
                    raise ValueError(f"record {records} has no ENTRY line")
                if record.formula and record.formula.strip():
                    formulas[entry] = record.formula.strip()
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable KEGG COMPOUND flat file ({exc})") from exc
    if records == 0:
        raise ValueError(f"{path}: no KEGG COMPOUND records (expected 'ENTRY ... Compound' blocks ending in '///')")
    return formulas
