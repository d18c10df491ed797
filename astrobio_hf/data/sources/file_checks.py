"""The checks every table a builder parses goes through before it reaches the cache, file by file.

* the builder's physical ranges (``PHYSICAL_RANGES``, a table of :data:`..physical_ranges.RANGES`), for the
  builders that do not screen while parsing (those that know the file's line numbers do it themselves);
* the one duplicate policy (:mod:`..duplicates`), keyed by the builder's ``RECORD_KEY``.

Masked values and dropped rows are counted into the builder's per-file quality report.
:class:`ColumnChecksMixin` gives builders the same checks for the parsers that screen a typed table
themselves (they know its line numbers): physical ranges and declared units.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..duplicates import DuplicateFilter
from ..physical_ranges import check_table
from .declared_units import convert_declared_units


class FileChecks:
    """Stateful over the successive tables of one file (row numbers and record keys carry across batches)."""

    def __init__(self, builder: Any, path: str | Path) -> None:
        self.builder, self.path = builder, str(path)
        self.dedup = DuplicateFilter(builder.RECORD_KEY,
                                     lambda row, message: builder.error(self.path, f"row {row + 1}", message))
        self.masked: dict[str, int] = {}
        self.rows = 0

    def apply(self, table: pa.Table) -> pa.Table:
        """``table`` screened (impossible values refused, fill values masked) and without repeated records."""
        ranges = self.builder.PHYSICAL_RANGES
        if ranges:
            offset = self.rows
            table = check_table(table, ranges, counts=self.masked, error=lambda row, name, message: self.builder.error(
                self.path, f"row {offset + row + 1}, field {name}", message))
        self.rows += table.num_rows
        return self.dedup.apply(table)

    def finish(self) -> None:
        """Note what was masked or dropped in the builder's report for this file."""
        findings: dict[str, Any] = self.dedup.findings(f"{self.builder.SOURCE}: {self.path}")
        if self.masked:
            earlier = self.builder.declared_quality(self.path).get("masked", {})
            findings["masked"] = {**earlier, **self.masked}
        if findings:
            self.builder.note_quality(self.path, findings)


class ColumnChecksMixin:
    """Checks of a typed table that a parser applies with its own row locations (part of ``ArchiveBuilder``)."""

    def screen_physical(self, path: str | Path, table: pa.Table, ranges: str,
                        location: Callable[[int], str]) -> pa.Table:
        """Check ``table`` against :data:`physical_ranges.RANGES` ``[ranges]``: impossible values raise
        :class:`SourceFormatError` naming ``location(row)`` and the field; masked ones are counted."""
        counts: dict[str, int] = {}
        table = check_table(table, ranges, counts=counts,
                            error=lambda row, name, message: self.error(path, f"{location(row)}, field {name}", message))
        if counts:
            self.note_quality(path, {"masked": counts})
        return table

    def convert_units(self, path: str | Path, table: pa.Table, declared: dict[str, str]) -> pa.Table:
        """Declared units converted to the columns' (:mod:`.declared_units`); unreadable ones refuse the file."""
        table, notes = convert_declared_units(table, declared, self.columns(),
                                              lambda name, message: self.error(path, f"column {name}", message))
        if notes:
            self.note_quality(path, {"unit_conversions": notes})
        return table
