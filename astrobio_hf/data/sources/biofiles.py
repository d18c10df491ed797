"""Reading native biological files with Biopython: gzip-transparent UTF-8 handles, line counting, and parser
errors (and Biopython's parser *warnings*) turned into SourceFormatError naming the file, the record and the line.
Shared by the GenBank, Ensembl and UniProt builders."""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import SourceFormatError


class LineCountingReader(io.TextIOBase):
    """A text handle that counts the lines handed out, so a parser error can name the line it reached."""

    def __init__(self, handle: IO[str]) -> None:
        super().__init__()
        self._handle = handle
        self.line = 0

    def readable(self) -> bool:
        return True

    def readline(self, size: int = -1) -> str:  # type: ignore[override]
        text = self._handle.readline(size)
        self.line += text.count("\n") or (1 if text else 0)
        return text

    def read(self, size: int | None = -1) -> str:
        text = self._handle.read(-1 if size is None else size)
        self.line += text.count("\n")
        return text

    def __next__(self) -> str:
        text = self.readline()
        if not text:
            raise StopIteration
        return text

    def __iter__(self) -> LineCountingReader:
        return self


# Builder modules are patched by ``datasets`` for streaming when a builder is created (module-level ``open``
# becomes fsspec's ``xopen``, ``gzip.open`` its ``xgzip_open``, which leaves the file handle open): local files
# are therefore opened with ``io.open`` and ``gzip.GzipFile``, which it does not replace.


def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic bytes (``.gz`` downloads, whatever their name)."""
    with io.open(path, "rb") as fh:  # noqa: UP020 (see above)
        return fh.read(2) == b"\x1f\x8b"


def open_text(path: Path) -> IO[str]:
    """The file as strict UTF-8 text, gunzipped when it is gzip data."""
    if is_gzip(path):
        return io.TextIOWrapper(gzip.GzipFile(filename=path, mode="rb"), encoding="utf-8", errors="strict")
    return io.open(path, encoding="utf-8", errors="strict")  # noqa: UP020


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped when it is gzip data (for parsers that want binary, e.g. XML)."""
    return gzip.GzipFile(filename=path, mode="rb") if is_gzip(path) else io.open(path, "rb")  # noqa: UP020


def first_text(path: Path, source: str, size: int = 4096) -> str:
    """The first characters of the (possibly gzipped) file, stripped; errors name the file."""
    try:
        with open_binary(path) as fh:
            head = fh.read(size)
    except (OSError, EOFError) as exc:
        raise SourceFormatError(source, str(path), "", f"cannot read file: {exc}") from None
    text = head.decode("utf-8", "replace").lstrip("\ufeff").lstrip()
    if not text:
        raise SourceFormatError(source, str(path), "line 1", "file is empty")
    return text


def stem_suffix(path: Path) -> str:
    """The suffix that names the format, ignoring a trailing ``.gz`` (``x.faa.gz`` -> ``.faa``)."""
    name = path.name.lower()
    name = name[:-3] if name.endswith(".gz") else name
    return Path(name).suffix


@contextlib.contextmanager
def biopython_errors(source: str, path: Path, reader: LineCountingReader | None, what: str,
                     where: list[str]) -> Iterator[None]:
    """Run a Biopython parse; its errors and parser warnings become one :class:`SourceFormatError`.

    Biopython only *warns* on some damage (a truncated record without ``//``, an unparsable feature
    location) and would return a silently wrong record; here every ``BiopythonParserWarning`` is an
    error. ``where`` holds the current record's description (updated by the caller as it goes);
    the reader's line count adds the line the parser had reached.
    """
    from Bio import BiopythonParserWarning

    def location() -> str:
        parts = [w for w in where if w]
        if reader is not None and reader.line:
            parts.append(f"near line {reader.line}")
        return ", ".join(parts)

    with warnings.catch_warnings():
        warnings.simplefilter("error", BiopythonParserWarning)
        try:
            yield
        except SourceFormatError:
            raise
        except UnicodeDecodeError as exc:
            raise SourceFormatError(source, str(path), location(),
                                    f"not valid UTF-8 text (byte 0x{exc.object[exc.start:exc.end].hex()})") from None
        except BiopythonParserWarning as exc:
            raise SourceFormatError(source, str(path), location(), f"bad {what}: {_one_line(exc)}") from None
        except (ValueError, AssertionError, IndexError, KeyError, EOFError, OSError, SyntaxError) as exc:
            # Biopython's parsers raise these plain types on malformed input (SwissProtParserError is a
            # ValueError; ParseError from ElementTree a SyntaxError); gzip raises EOFError/OSError.
            raise SourceFormatError(source, str(path), location(),
                                    f"bad {what}: {type(exc).__name__}: {_one_line(exc) or _failed_check(exc)}") \
                from None


def _failed_check(exc: BaseException) -> str:
    """What a message-less exception (a bare ``assert`` inside Biopython) was checking: its source line."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "(no message)"
    last = frames[-1]
    return (f"the parser's check `{(last.line or '').strip()}` failed in {last.name} "
            f"({Path(last.filename).name} line {last.lineno}): the element breaks the format's rules")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def iter_records(source: str, path: Path, parse: Callable[[IO[str]], Iterable[Any]], what: str, *,
                 unit: str = "entry", record_id: Callable[[Any], str] = lambda record: record.id,
                 empty_message: str | None = None) -> Iterator[tuple[str, Any, LineCountingReader]]:
    """Each record of `parse` over the file, with its location (``"entry 3 (P12345)"``) and the line reader.

    Parser errors name that location and the line reached; `empty_message` makes a file with no record an error.
    """
    where = [f"{unit} 1"]
    count = 0
    with open_text(path) as raw:
        reader = LineCountingReader(raw)
        with biopython_errors(source, path, reader, what, where):
            for record in parse(reader):
                count += 1
                ident = record_id(record)
                where[0] = f"{unit} {count} ({ident})"
                yield where[0], record, reader
                where[0] = f"{unit} {count + 1} (after {ident})"
    if count == 0 and empty_message:
        raise SourceFormatError(source, str(path), "", empty_message)



@functools.cache
def sequence_letters(molecule: str | None) -> frozenset[str]:
    """IUPAC letters (Biopython's ``IUPACData``, either case) of ``"DNA"``/``"RNA"``, ``"protein"`` or ``None``
    (unknown: any of them), plus gaps ``-``/``.`` and, for proteins, the stop ``*``."""
    from Bio.Data import IUPACData

    nucleotide = IUPACData.ambiguous_dna_letters + IUPACData.ambiguous_rna_letters + "-."
    protein = IUPACData.extended_protein_letters + "-.*"
    letters = {"DNA": nucleotide, "RNA": nucleotide, "protein": protein}.get(molecule or "", nucleotide + protein)
    return frozenset(letters + letters.lower())


def sequence_alphabet_error(sequence: str, molecule: str | None) -> str | None:
    """Why ``sequence`` is not written in its molecule's letters (:func:`sequence_letters`), or ``None``."""
    bad = set(sequence) - sequence_letters(molecule)
    if not bad:
        return None
    position = min(sequence.index(c) for c in bad)
    return (f"sequence holds {''.join(sorted(bad))[:20]!r}, not {molecule or 'IUPAC'} letters (first at residue "
            f"{position + 1}: {sequence[max(0, position - 5):position + 10]!r})")
