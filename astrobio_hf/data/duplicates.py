"""The one duplicate policy of every builder: identical records dropped and reported, conflicting ones refused.

A table's *record key* is what names one record of it (``pl_name`` in PSCompPars, KOI + ``koi_delivname``
in a Kepler KOI table that holds several deliveries, ``accession`` in GTDB and UniProt ...; each builder
declares its own, see docs/data.md). Within one file:

* a row equal to an earlier row with the same key in every column is dropped, counted in the prepare
  report (``duplicate_rows_dropped``, ``duplicated``: the first few keys) and logged;
* a row whose key was seen with different values is refused (two different records under one name are a
  conflict no rule can settle), naming both rows.

Rows are compared by a fingerprint of all their values, built with Arrow casts (no Python object per
value for flat columns), so the check stays linear in the file whatever its batches.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

logger = logging.getLogger(__name__)
_SEPARATOR = "\x1f"
_NULL = "\x00"
#: at most this many example keys are listed in the report
EXAMPLES = 5


def _as_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One string per row that differs whenever the values differ (nulls distinct from every value)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_nested(column.type):  # lists, structs: no Arrow cast to string
        return pa.array([_NULL if v is None else repr(v) for v in column.to_pylist()], pa.string())
    if pa.types.is_floating(column.type):  # -0.0 == 0.0 but casts differently; NaN is NaN
        column = pc.if_else(pc.equal(column, 0), pa.scalar(0, column.type), column)
    return pc.fill_null(pc.cast(column, pa.string()), _NULL)


def _joined(table: pa.Table, names: list[str]) -> list[str]:
    if len(names) == 1:
        return _as_text(table.column(names[0])).to_pylist()
    return pc.binary_join_element_wise(*(_as_text(table.column(n)) for n in names), _SEPARATOR).to_pylist()


@dataclass
class DuplicateFilter:
    """Applies the policy to the successive tables of one file (``key`` columns; ``ignore``: not compared).

    ``location(row)`` names a row in messages (``row`` counts the file's data rows from 0);
    ``refuse(row, message)`` builds the exception for a conflict.
    """

    key: tuple[str, ...]
    refuse: Callable[[int, str], Exception]
    location: Callable[[int], str] = lambda row: f"row {row + 1}"
    ignore: tuple[str, ...] = ()
    dropped: int = 0
    examples: list[str] = field(default_factory=list)
    _first: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    _rows_seen: int = 0

    def apply(self, table: pa.Table, rows: list[int] | None = None) -> pa.Table:
        """``table`` without rows repeating an earlier one; ``rows``: each row's number in the file (default: in
        order after the rows of the earlier tables)."""
        present = [k for k in self.key if k in table.column_names]
        if not present or not table.num_rows:
            self._rows_seen += table.num_rows
            return table
        rows = rows if rows is not None else list(range(self._rows_seen, self._rows_seen + table.num_rows))
        self._rows_seen += table.num_rows
        keys = _joined(table, present)
        compared = [n for n in table.column_names if n not in self.ignore]
        values = _joined(table, compared)
        key_nulls = pc.is_null(table.column(present[0])).to_pylist()
        keep = [True] * table.num_rows
        for index, (key, text) in enumerate(zip(keys, values, strict=True)):
            if key_nulls[index]:  # a row without a name cannot repeat a record
                continue
            digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
            first = self._first.get(key)
            if first is None:
                self._first[key] = (rows[index], digest)
            elif first[1] == digest:
                keep[index] = False
                self.dropped += 1
                shown = self._show(table, present, index)
                if len(self.examples) < EXAMPLES and shown not in self.examples:
                    self.examples.append(shown)
            else:
                raise self.refuse(rows[index], f"{self._show(table, present, index, labelled=True)} appears again with "
                                  f"different values (first at {self.location(first[0])}); the table holds one row "
                                  f"per {' + '.join(present)}")
        return table if all(keep) else table.filter(pa.array(keep))

    @staticmethod
    def _show(table: pa.Table, names: list[str], index: int, *, labelled: bool = False) -> str:
        values = [table.column(n)[index].as_py() for n in names]
        if labelled:
            return " + ".join(f"{n} {v!r}" for n, v in zip(names, values, strict=True))
        return " / ".join(str(v) for v in values)

    def findings(self, where: str) -> dict[str, object]:
        """What goes into the prepare report (empty when nothing was dropped); the drop is logged for ``where``."""
        if not self.dropped:
            return {}
        logger.warning("%s: dropped %d repeated rows (e.g. %s)", where, self.dropped, ", ".join(self.examples))
        return {"duplicate_rows_dropped": self.dropped, "duplicated": list(self.examples)}
