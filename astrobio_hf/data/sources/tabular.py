"""Shared readers for tabular archive answers: CSV/TSV (pyarrow), IPAC and VOTable (astropy).

Every reader returns a :class:`RawTable`: all values as strings (``None`` for missing), the units the
file declares, and how to name a row's place in the file. :func:`convert_columns` then turns it into
typed columns following a list of :class:`Column` specs, raising :class:`SourceFormatError` with the
file, row/line and field on any problem. Builders of other tabular sources (ESO/KOA TAP answers,
GTDB, UniProt TSV) reuse these.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import SourceFormatError

DTYPES = ("float64", "int64", "string", "bool")


@dataclass(frozen=True)
class Column:
    """One documented column of an archive table: name in the output, Arrow dtype, unit, description."""

    name: str
    dtype: str = "float64"
    unit: str = ""
    description: str = ""
    required: bool = False
    #: Other spellings of the column in native files (first match wins after ``name``).
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"Column {self.name}: dtype must be one of {DTYPES}, got {self.dtype!r}")


@dataclass
class RawTable:
    """A parsed table before typing: string columns, declared units, and a row -> location function."""

    table: pa.Table
    units: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    first_data_line: int | None = None  # 1-based physical line of data row 0 (text formats)
    meta: dict[str, str] = field(default_factory=dict)

    def location(self, row: int) -> str:
        """``row N`` (1-based data row), plus the physical line where it is known."""
        if self.first_data_line is None:
            return f"row {row + 1}"
        return f"row {row + 1} (line {self.first_data_line + row})"


# --------------------------------------------------------------------------- raw text


#: leading bytes of compressed containers a text table may arrive in (name -> magic)
_COMPRESSED = {"bzip2": b"BZh", "zip": b"PK\x03\x04", "xz": b"\xfd7zXZ\x00", "zstandard": b"\x28\xb5\x2f\xfd"}


def read_bytes(path: str | Path, source: str) -> bytes:
    """The file's bytes, gunzipped when it is gzip-compressed (whatever its name); an empty file is an error.

    Other compressed containers are named as such instead of failing later as "not valid UTF-8".
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SourceFormatError(source, str(path), "", f"cannot read file: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise SourceFormatError(source, str(path), "", f"gzip-compressed file is damaged or cut short: {exc}") \
                from None
    for name, magic in _COMPRESSED.items():
        if data.startswith(magic):
            raise SourceFormatError(source, str(path), "", f"a {name}-compressed file, not a text table: decompress "
                                                           "it first (gzip files are read directly)")
    if not data.strip():
        raise SourceFormatError(source, str(path), "line 1", "file is empty")
    return data


def check_line_end(text: str, path: str | Path, source: str, producer: str) -> None:
    """Refuse a table whose last line has no line break after it: ``producer`` ends every line with one, so the
    file was cut inside that line (a cut inside its last field leaves a valid but wrong number: 307. for 307.88)."""
    if text and not text.endswith(("\n", "\r")):
        number = text.count("\n") + 1
        last = text[text.rfind("\n") + 1:]
        raise SourceFormatError(source, str(path), f"line {number}",
                                f"the file ends inside this line ({last[-60:]!r}, no line break after it): cut "
                                f"short? {producer} ends every line with a line break")


def decode_utf8(data: bytes, path: str | Path, source: str) -> str:
    """Strict UTF-8 decoding (a BOM is dropped); the error names the line and byte offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start:exc.end].hex()
        raise SourceFormatError(source, str(path), f"line {line}",
                                f"not valid UTF-8 text (byte 0x{bad} at offset {exc.start})") from None


def sniff_format(text: str) -> str:
    """``"ipac"``, ``"votable"``, ``"ecsv"`` or ``"csv"`` from the first non-blank characters of a table file."""
    head = text.lstrip()[:512]
    if head.startswith("# %ECSV"):  # astropy's / astroquery's enhanced CSV
        return "ecsv"
    if head.startswith(("\\", "|")):
        return "ipac"
    if head.startswith("<?xml") or head.startswith("<VOTABLE") or "<VOTABLE" in head:
        return "votable"
    return "csv"


# --------------------------------------------------------------------------- CSV / TSV


def read_csv_strings(text: str, path: str | Path, source: str, *, delimiter: str = ",", skip_lines: int = 0,
                     expected: Sequence[str] = ()) -> RawTable:
    """Delimited text -> all-string :class:`RawTable` with pyarrow, strict about field counts.

    ``skip_lines`` physical lines (a comment preamble) are skipped before the header. A row with the
    wrong number of fields (a truncated file) or a header that looks delimited by something else is
    a :class:`SourceFormatError`. ``expected``: column names used to word the wrong-delimiter error.
    """
    lines = text.splitlines()
    if len(lines) <= skip_lines or not lines[skip_lines].strip():
        raise SourceFormatError(source, str(path), f"line {skip_lines + 1}", "no header line found")
    header_line = lines[skip_lines]
    header = next(iter(_split_header(header_line, delimiter)))
    if len(header) == 1:
        for other in (";", "\t", "|", ","):
            if other != delimiter and other in header_line:
                raise SourceFormatError(
                    source, str(path), f"line {skip_lines + 1} (header)",
                    f"header has a single field; the file looks {other!r}-delimited, expected {delimiter!r}")
    if expected and not set(expected) & set(header):
        raise SourceFormatError(source, str(path), f"line {skip_lines + 1} (header)",
                                f"none of the expected columns ({', '.join(list(expected)[:5])}, ...) in the header "
                                f"{header_line[:120]!r}; wrong delimiter or not a {source} table?")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise SourceFormatError(source, str(path), f"line {skip_lines + 1} (header)", f"duplicate columns {dupes}")

    invalid: list[tuple[int | None, int, int]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(skip_rows=skip_lines, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                 strings_can_be_null=True, null_values=[""],
                                                 quoted_strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        raise SourceFormatError(source, str(path), "", f"CSV parse error: {exc}") from None
    if invalid:
        number, expected_n, actual = invalid[0]
        where = f"line {number}" if number is not None else "a data row"
        hint = " (truncated file?)" if actual < expected_n else ""
        raise SourceFormatError(source, str(path), where,
                                f"expected {expected_n} fields, found {actual}{hint}"
                                + (f"; {len(invalid)} bad rows in all" if len(invalid) > 1 else ""))
    return RawTable(table=table, first_data_line=skip_lines + 2)


def _split_header(line: str, delimiter: str) -> Iterator[list[str]]:
    import csv  # the stdlib csv reader only splits the one header line (quotes honoured)

    yield from csv.reader([line], delimiter=delimiter)


# --------------------------------------------------------------------------- IPAC / VOTable (astropy)


def read_astropy_strings(path: str | Path, source: str, fmt: str) -> RawTable:
    """IPAC table (``fmt="ipac"``), VOTable (``"votable"``) or ECSV (``"ecsv"``) -> all-string
    :class:`RawTable`, units kept."""
    from astropy.io import ascii as astro_ascii
    from astropy.table import Table

    try:
        if fmt == "ipac":
            table = astro_ascii.read(str(path), format="ipac", guess=False)
        elif fmt == "ecsv":
            table = Table.read(str(path), format="ascii.ecsv")
        else:
            table = Table.read(str(path), format="votable")
    except Exception as exc:  # astropy raises many types (ValueError, InconsistentTableError, ...)
        failed = re.match(r"Column (\S+) failed to convert", str(exc))
        if fmt == "ipac" and failed:
            _name_bad_ipac_cell(path, source, failed.group(1), exc)
        raise SourceFormatError(source, str(path), "", f"cannot parse as {fmt}: {type(exc).__name__}: {exc}") \
            from None
    arrays: dict[str, pa.Array] = {}
    units: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for name in table.colnames:
        col = table[name]
        if col.unit is not None:
            units[name] = str(col.unit)
        if getattr(col, "description", None):
            descriptions[name] = str(col.description)
        values = col.tolist() if hasattr(col, "mask") else list(col)  # masked entries -> None
        arrays[name] = pa.array([None if v is None else _as_text(v) for v in values], type=pa.string())
    meta = {str(k): str(v) for k, v in (table.meta.get("keywords") or {}).items()}
    return RawTable(table=pa.table(arrays), units=units, descriptions=descriptions, meta=meta)


def _name_bad_ipac_cell(path: str | Path, source: str, column: str, exc: Exception) -> None:
    """astropy names only the column an IPAC cell failed to convert in; find the row from the fixed-width layout.

    Written here because astropy's IPAC reader applies the header's type row whatever converters are given:
    the column spans the characters between its two ``|`` in the header line, as the IPAC format defines.
    """
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    header = next((line for line in lines if line.startswith("|")), "")
    bars = [i for i, c in enumerate(header) if c == "|"]
    names = [header[a + 1:b].strip() for a, b in zip(bars, bars[1:], strict=False)]
    if column not in names:
        return
    left, right = bars[names.index(column)], bars[names.index(column) + 1]
    data = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.startswith(("\\", "|"))]
    for row, (number, line) in enumerate(data, start=1):
        value = line[left:right + 1].strip()
        try:
            float(value)
        except ValueError:
            if value.lower() in ("null", "nan", ""):
                continue
            raise SourceFormatError(source, str(path), f"row {row} (line {number}), field {column}",
                                    f"{value!r} is not a number (the header types {column} as a number)") from None


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


# --------------------------------------------------------------------------- typing


def find_column(raw: RawTable, spec: Column) -> str | None:
    """The native name of ``spec`` in ``raw`` (exact name, then aliases, then case-insensitive)."""
    names = raw.table.column_names
    for candidate in (spec.name, *spec.aliases):
        if candidate in names:
            return candidate
    lowered = {n.lower(): n for n in names}
    for candidate in (spec.name, *spec.aliases):
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    return None


def convert_columns(raw: RawTable, specs: Sequence[Column], *, source: str, file: str | Path,
                    row_filter: Callable[[pa.Table], pa.Array] | None = None) -> pa.Table:
    """Typed table with exactly the ``specs`` columns (absent optional ones are all-null).

    Raises :class:`SourceFormatError` for a missing required column, an empty required field, or a
    value that is not of the column's type (naming the row/line and the field).
    """
    table = raw.table
    if row_filter is not None:
        table = table.filter(row_filter(table))
    out: dict[str, pa.Array] = {}
    for spec in specs:
        native = find_column(raw, spec)
        if native is None:
            if spec.required:
                found = ", ".join(table.column_names[:12]) + (" ..." if table.num_columns > 12 else "")
                raise SourceFormatError(source, str(file), f"column {spec.name}",
                                        f"missing required column {spec.name!r} (found: {found})")
            out[spec.name] = pa.nulls(table.num_rows, type=_arrow_type(spec.dtype))
            continue
        column = table.column(native).combine_chunks()
        if spec.required and column.null_count:
            row = pc.index(pc.is_null(column), True).as_py()
            raise SourceFormatError(source, str(file), f"{raw.location(row)}, field {native}",
                                    f"required field {native!r} is empty")
        out[spec.name] = _cast(column, spec, raw, source, file, native)
    return pa.table(out)


def _arrow_type(dtype: str) -> pa.DataType:
    return {"float64": pa.float64(), "int64": pa.int64(), "string": pa.string(), "bool": pa.bool_()}[dtype]


_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n"}


def _cast(column: pa.Array, spec: Column, raw: RawTable, source: str, file: str | Path, native: str) -> pa.Array:
    if spec.dtype == "string":
        return pc.utf8_trim_whitespace(column.cast(pa.string()))
    text = pc.utf8_trim_whitespace(column.cast(pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    try:
        if spec.dtype == "float64":
            return text.cast(pa.float64())
        if spec.dtype == "int64":
            try:
                return text.cast(pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                as_float = text.cast(pa.float64())  # "2007.0" is an integer written as a float
                integral = pc.fill_null(pc.equal(as_float, pc.floor(as_float)), True)
                if not pc.all(integral).as_py():
                    raise pa.ArrowInvalid("non-integral value") from None
                return as_float.cast(pa.int64())
        lowered = pc.utf8_lower(text)
        bad = pc.and_(pc.invert(pc.is_in(lowered, pa.array(sorted(_TRUE | _FALSE)))), pc.is_valid(lowered))
        if pc.any(bad).as_py():
            raise pa.ArrowInvalid("not a boolean")
        truth = pc.is_in(lowered, pa.array(sorted(_TRUE)))
        return pc.if_else(pc.is_valid(lowered), truth, pa.scalar(None, pa.bool_()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        row, value = _first_bad(text, spec.dtype)
        hint = ""
        if spec.dtype == "int64":
            try:
                if float(value).is_integer():
                    hint = " (outside the 64-bit integer range)"
            except ValueError:
                pass
        raise SourceFormatError(source, str(file), f"{raw.location(row)}, field {native}",
                                f"value {value!r} is not a valid {spec.dtype}{hint}") from None


def _first_bad(text: pa.Array, dtype: str) -> tuple[int, str]:
    # Only on the error path: find the first offending cell to name it in the message.
    for i, value in enumerate(text.to_pylist()):
        if value is None:
            continue
        try:
            number = float(value)
            if dtype == "int64" and not (number.is_integer() and -(2 ** 63) <= int(number) < 2 ** 63):
                return i, value  # a fraction, or an integer too large for int64
            if dtype == "bool" and value.lower() not in _TRUE | _FALSE:
                return i, value
        except ValueError:
            if dtype != "bool" or value.lower() not in _TRUE | _FALSE:
                return i, value
    return 0, "?"


def rows(table: pa.Table) -> Iterator[dict]:
    """Row dicts from a typed table, converted in record batches (not cell by cell)."""
    for batch in table.to_batches(max_chunksize=4096):
        yield from batch.to_pylist()


def units_text(specs: Sequence[Column], file_units: Mapping[str, str] | None = None) -> str:
    """A human-readable ``name [unit]: description`` list for a DatasetInfo description."""
    file_units = file_units or {}
    out = []
    for spec in specs:
        unit = file_units.get(spec.name) or spec.unit
        out.append(f"- {spec.name} ({spec.dtype})" + (f" [{unit}]" if unit else "")
                   + (f": {spec.description}" if spec.description else ""))
    return "\n".join(out)
