"""GTDB builder: genome taxonomy (lineage ranks as columns) and a documented subset of genome metadata.

Download mode fetches the release's tables (base ``https://data.gtdb.ecogenomic.org/releases``; override
``base_url=`` or ``ASTROBIO_GTDB_URL``):

* ``release="latest"``: ``latest/{marker}_{kind}.tsv.gz``,
* a numbered release, e.g. ``release=220``: ``release220/220.0/{marker}_{kind}_r220.tsv.gz``,

with ``kind`` = ``metadata`` | ``taxonomy`` and ``marker`` = ``bac120`` (``domain="bacteria"``) and/or
``ar53`` (``domain="archaea"``; ``ar122`` before R207). ``path=`` overrides the relative path when GTDB
moves a file. No token is needed.

Local mode reads, recognised from the content:

* metadata TSV (``{marker}_metadata[_rNNN].tsv``; header line starting with ``accession``; 110 columns
  in R202): the accession, the parsed ``gtdb_taxonomy`` ranks and the columns of :data:`METADATA_COLUMNS`;
* taxonomy TSV (``{marker}_taxonomy[_rNNN].tsv``; no header; accession and ``d__;p__;c__;o__;f__;g__;s__``).

``.gz`` and single-member ``.tar.gz`` files work. Tables are streamed in record batches by pyarrow's
CSV reader, so a 700 000-genome metadata file is never held in memory at once. GTDB writes ``none``
(and ``na``) for missing values: they become null.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .base import ArchiveBuilder, ArchiveBuilderConfig, DownloadRequest
from .tabular import Column, RawTable, convert_columns

DATA_URL = "https://data.gtdb.ecogenomic.org/releases"
DOMAINS = {"bacteria": ("bac120",), "archaea": ("ar53",), "both": ("bac120", "ar53")}
KINDS = ("metadata", "taxonomy")
RANKS = ("domain", "phylum", "class", "order", "family", "genus", "species")
RANK_PREFIXES = ("d__", "p__", "c__", "o__", "f__", "g__", "s__")
MISSING = ["", "none", "na", "n/a"]
BLOCK_SIZE = 1 << 22  # 4 MiB of text per record batch

#: The metadata columns kept (GTDB's own names and units; see the release's metadata_field_desc.tsv).
METADATA_COLUMNS: tuple[Column, ...] = (
    Column("checkm_completeness", "float64", "%", "CheckM completeness"),
    Column("checkm_contamination", "float64", "%", "CheckM contamination"),
    Column("checkm2_completeness", "float64", "%", "CheckM2 completeness (R214 and later)"),
    Column("checkm2_contamination", "float64", "%", "CheckM2 contamination (R214 and later)"),
    Column("genome_size", "int64", "bp", "Genome size"),
    Column("gc_percentage", "float64", "%", "GC content"),
    Column("coding_density", "float64", "%", "Fraction of the genome in coding sequence"),
    Column("contig_count", "int64", "", "Number of contigs"),
    Column("n50_contigs", "int64", "bp", "Contig N50"),
    Column("protein_count", "int64", "", "Number of predicted proteins"),
    Column("ssu_count", "int64", "", "Number of 16S rRNA genes found"),
    Column("trna_count", "int64", "", "Number of tRNA genes"),
    Column("gtdb_representative", "bool", "", "Genome is the representative of its GTDB species cluster"),
    Column("gtdb_genome_representative", "string", "", "Accession of the species cluster's representative"),
    Column("gtdb_type_species_of_genus", "bool", "", "Genome is the type species of its genus"),
    Column("mimag_high_quality", "bool", "", "MIMAG high-quality draft"),
    Column("mimag_medium_quality", "bool", "", "MIMAG medium-quality draft"),
    Column("ncbi_taxid", "int64", "", "NCBI taxonomy id"),
    Column("ncbi_organism_name", "string", "", "NCBI organism name"),
    Column("ncbi_taxonomy", "string", "", "NCBI taxonomy in GTDB's d__;p__;... form"),
    Column("ncbi_assembly_level", "string", "", "NCBI assembly level (Complete Genome, Contig ...)"),
    Column("ncbi_genome_category", "string", "", "e.g. derived from environmental sample, metagenome"),
    Column("ncbi_isolation_source", "string", "", "NCBI BioSample isolation source"),
    Column("ncbi_translation_table", "int64", "", "Genetic code"),
)
_ID_COLUMNS: tuple[Column, ...] = (
    Column("accession", "string", "", "GTDB genome accession (RS_/GB_ prefix + NCBI assembly)", required=True),
    Column("gtdb_taxonomy", "string", "", "GTDB lineage d__;p__;c__;o__;f__;g__;s__", required=True),
)
ALL_COLUMNS = _ID_COLUMNS + METADATA_COLUMNS
_RELEASE_IN_NAME = re.compile(r"_r(\d+)\b")


class _BatchTable(RawTable):
    """One record batch: data row i is row ``offset + i + 1`` of the file, on line ``first_line + offset + i``."""

    def __init__(self, table: pa.Table, offset: int, first_line: int) -> None:
        super().__init__(table=table)
        self.offset, self.first_line = offset, first_line

    def location(self, row: int) -> str:
        return f"row {self.offset + row + 1} (line {self.first_line + self.offset + row})"


def marker_for(domain_marker: str, release: str) -> str:
    """``ar53`` became the archaeal marker set in R207; earlier releases use ``ar122``."""
    if domain_marker == "ar53" and release != "latest" and int(float(release)) < 207:
        return "ar122"
    return domain_marker


@dataclass
class GtdbConfig(ArchiveBuilderConfig):
    """``release``: ``latest`` or a number (``220``, ``214.1``); ``domain``: bacteria | archaea | both;
    ``kind``: metadata | taxonomy; ``path``: a relative path that replaces the computed one."""

    release: str = "latest"
    domain: str = "both"
    kind: str = "metadata"
    path: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.release = str(self.release)
        if self.release != "latest" and not re.fullmatch(r"\d+(\.\d+)?", self.release):
            raise ValueError(f"gtdb: release must be 'latest' or a number like 220 or 214.1, got {self.release!r}")
        if self.domain not in DOMAINS:
            raise ValueError(f"gtdb: domain must be one of {sorted(DOMAINS)}, got {self.domain!r}")
        if self.kind not in KINDS:
            raise ValueError(f"gtdb: kind must be one of {KINDS}, got {self.kind!r}")


def parse_lineage(text: str) -> dict[str, str | None]:
    """``d__Bacteria;p__...;s__Escherichia flexneri`` -> {domain: Bacteria, ..., species: Escherichia flexneri}.

    Empty ranks (``c__``) are None; anything but the seven prefixed ranks in order is a ValueError.
    """
    parts = [p.strip() for p in text.split(";")]
    if len(parts) != len(RANKS) or any(not p.startswith(prefix) for p, prefix in zip(parts, RANK_PREFIXES, strict=True)):
        raise ValueError(f"{text[:80]!r} is not a GTDB lineage d__;p__;c__;o__;f__;g__;s__")
    return {rank: (p[3:].strip() or None) for rank, p in zip(RANKS, parts, strict=True)}


def lineage_columns(lineage: pa.Array) -> tuple[dict[str, pa.Array], np.ndarray]:
    """:func:`parse_lineage` over a whole column with Arrow kernels: the seven rank columns, and the positions of
    the rows that are not a lineage (their rank values are meaningless; ask :func:`parse_lineage` why)."""
    seven = pc.equal(pc.count_substring(lineage, ";"), len(RANKS) - 1)
    empty = ";".join(RANK_PREFIXES)
    parts = pc.split_pattern(pc.if_else(seven, lineage, pa.scalar(empty, pa.string())), ";")
    good = seven
    ranks: dict[str, pa.Array] = {}
    for index, (rank, prefix) in enumerate(zip(RANKS, RANK_PREFIXES, strict=True)):
        part = pc.utf8_trim_whitespace(pc.list_element(parts, index))
        good = pc.and_(good, pc.starts_with(part, prefix))
        name = pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(part, len(prefix)))
        ranks[rank] = pc.if_else(pc.equal(name, ""), pa.scalar(None, pa.string()), name)
    return ranks, np.flatnonzero(~pc.fill_null(good, False).to_numpy(zero_copy_only=False))


class Gtdb(ArchiveBuilder):
    """GTDB genome metadata and taxonomy tables: one row per genome."""

    BUILDER_CONFIG_CLASS = GtdbConfig
    SOURCE = "gtdb"
    PHYSICAL_RANGES = "gtdb"
    RECORD_KEY = ("accession",)  # one record per key in a file (docs/data.md, "Duplicates")
    DEFAULT_BASE_URL = DATA_URL
    FILE_PATTERNS = ("**/*.tsv", "**/*.tsv.gz", "**/*.tar.gz")
    HOMEPAGE = "https://gtdb.ecogenomic.org"
    CITATION = ("Parks D.H. et al. GTDB: an ongoing census of bacterial and archaeal diversity through a "
                "phylogenetically consistent, rank normalized and complete genome-based taxonomy. "
                "Nucleic Acids Res. 50, D785-D794 (2022).")
    LICENSE = "CC BY-SA 4.0"
    MIN_INTERVAL_S = 1.0

    config: GtdbConfig

    def columns(self) -> tuple[Column, ...]:
        return ALL_COLUMNS

    def data_features(self) -> dict[str, Any]:
        return {
            "accession": datasets.Value("string"),
            "ncbi_accession": datasets.Value("string"),
            "gtdb_taxonomy": datasets.Value("string"),
            **{rank: datasets.Value("string") for rank in RANKS},
            **{c.name: datasets.Value(c.dtype) for c in METADATA_COLUMNS},
        }

    def describe(self) -> str:
        return ("GTDB genomes: accession, GTDB lineage split into domain..species, and (metadata files) CheckM "
                "quality, genome size, GC, NCBI taxon id and organism name; one row per genome.")

    def download_requests(self) -> list[DownloadRequest]:
        c = self.config
        out = []
        for domain_marker in DOMAINS[c.domain]:
            marker = marker_for(domain_marker, c.release)
            if c.path:
                path = c.path
            elif c.release == "latest":
                path = f"latest/{marker}_{c.kind}.tsv.gz"
            else:
                major = c.release.split(".")[0]
                minor = c.release if "." in c.release else f"{major}.0"
                path = f"release{major}/{minor}/{marker}_{c.kind}_r{major}.tsv.gz"
            out.append(DownloadRequest(path=path, filename=Path(path).name, release=f"GTDB {c.release}: {path}"))
            if c.path:
                break
        return out

    # ------------------------------------------------------------------ parsing

    def _open(self, path: Path) -> IO[bytes]:
        """The table's bytes: plain, gzip, or the single TSV member of a ``.tar.gz``."""
        name = path.name.lower()
        try:
            if name.endswith((".tar.gz", ".tgz", ".tar")) and tarfile.is_tarfile(path):
                archive = tarfile.open(path, "r:*")
                members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(".tsv")]
                if len(members) != 1:
                    raise self.error(path, "", f"expected one .tsv inside the tar archive, found "
                                               f"{[m.name for m in members]}")
                member = archive.extractfile(members[0])
                close_member = member.close

                def close() -> None:  # closing the member also closes the archive file
                    close_member()
                    archive.close()

                member.close = close  # type: ignore[method-assign]
                return member  # type: ignore[return-value]
            # io.open / GzipFile: datasets replaces this module's open and gzip.open (see ncbi_genbank.open_text)
            with io.open(path, "rb") as fh:  # noqa: UP020 (see above)
                magic = fh.read(2)
            return gzip.GzipFile(filename=path, mode="rb") if magic == b"\x1f\x8b" else io.open(path, "rb")  # noqa: UP020
        except (OSError, EOFError, tarfile.TarError) as exc:
            raise self.error(path, "", f"cannot read file: {exc}") from None

    def _check_line_end(self, path: Path) -> None:
        """A plain TSV GTDB wrote ends with a line break (a cut .gz fails its trailer check instead)."""
        with open(path, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                return
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 4096))
            tail = fh.read()
        if tail and not tail.endswith((b"\n", b"\r")):
            last = tail[tail.rfind(b"\n") + 1:].decode("utf-8", "replace")
            raise self.error(path, "last line", f"the file ends inside this line ({last[-60:]!r}, no line break after "
                                                "it): cut short? GTDB ends every line with a line break")

    def _first_line(self, path: Path) -> str:
        try:
            with self._open(path) as fh:
                line = fh.readline(1 << 16)
        except (OSError, EOFError) as exc:
            raise self.error(path, "line 1", f"cannot read file: {exc}") from None
        try:
            text = line.decode("utf-8-sig").rstrip("\r\n")
        except UnicodeDecodeError:
            raise self.error(path, "line 1", "not valid UTF-8 text") from None
        if not text.strip():
            raise self.error(path, "line 1", "file is empty" if not line else "first line is blank")
        return text

    def parse_file(self, path: Path) -> Iterator[pa.Table]:
        first = self._first_line(path)
        release = _RELEASE_IN_NAME.search(path.name)
        if release and self.local_files is not None:  # downloads keep the request + retrieval time instead
            self.note_release(path, f"GTDB R{release.group(1)}")
        fields = first.split("\t")
        if fields[0] == "accession":
            missing = [c.name for c in _ID_COLUMNS if c.name not in fields]
            if missing:
                raise self.error(path, f"column {missing[0]}", f"missing required column {missing[0]!r} "
                                                             f"(GTDB metadata header: {first[:120]!r})")
            dupes = sorted({f for f in fields if fields.count(f) > 1})
            if dupes:
                raise self.error(path, "line 1 (header)", f"duplicate columns {dupes}")
            present = [c.name for c in ALL_COLUMNS if c.name in fields]
            batches = self._batches(path, None, present, first_line=2)
        elif len(fields) == 2 and fields[1].startswith("d__"):
            batches = self._batches(path, ["accession", "gtdb_taxonomy"], None, first_line=1)
        else:
            hint = ""
            for other in (",", ";", "|"):
                if "\t" not in first and other in first:
                    hint = f"; the file looks {other!r}-delimited, GTDB tables are tab-separated"
            raise self.error(path, "line 1", "neither a GTDB metadata table (header 'accession\\t...') nor a "
                                             f"taxonomy table (accession<TAB>d__...){hint}: {first[:80]!r}")
        for raw in batches:
            typed = convert_columns(raw, ALL_COLUMNS, source=self.SOURCE, file=path)
            lineage = typed["gtdb_taxonomy"].combine_chunks()
            ranks, bad = lineage_columns(lineage)
            if len(bad):  # the row-by-row parser names the first bad row (or reads exotic whitespace)
                ranks = self._lineage_rows(path, raw, lineage)
            accession = typed["accession"].combine_chunks()
            prefixed = pc.or_(pc.starts_with(accession, "RS_"), pc.starts_with(accession, "GB_"))
            ncbi = pc.if_else(prefixed, pc.utf8_slice_codeunits(accession, 3), accession)
            yield pa.table({**{name: typed[name] for name in typed.column_names}, "ncbi_accession": ncbi, **ranks})
        self._check_line_end(path)  # after the field counts, which name a cut line more precisely

    def _lineage_rows(self, path: Path, raw: RawTable, lineage: pa.Array) -> dict[str, pa.Array]:
        parsed = []
        for i, text in enumerate(lineage.to_pylist()):
            try:
                parsed.append(parse_lineage(text))
            except ValueError as exc:
                raise self.error(path, f"{raw.location(i)}, field gtdb_taxonomy", str(exc)) from None
        return {rank: pa.array([p[rank] for p in parsed], pa.string()) for rank in RANKS}

    def _batches(self, path: Path, names: list[str] | None, include: list[str] | None,
                 first_line: int) -> Iterator[_BatchTable]:
        invalid: list[tuple[int | None, int, int]] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            invalid.append((row.number, row.expected_columns, row.actual_columns))
            return "skip"

        columns = names or include or []
        convert = pacsv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string()), null_values=MISSING,
                                       strings_can_be_null=True, include_columns=include)
        offset = 0
        with self._open(path) as fh:
            try:
                reader = pacsv.open_csv(
                    fh, read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=BLOCK_SIZE),
                    parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False, invalid_row_handler=on_invalid),
                    convert_options=convert)
                for batch in reader:
                    if invalid:
                        break
                    table = pa.Table.from_batches([batch])
                    yield _BatchTable(table, offset, first_line)
                    offset += table.num_rows
            except pa.ArrowInvalid as exc:
                raise self.error(path, f"after row {offset}", f"TSV parse error: {exc}") from None
            except (OSError, EOFError) as exc:
                raise self.error(path, f"after row {offset}", f"cannot read file (truncated?): {exc}") from None
        if invalid:
            number, expected, actual = invalid[0]
            where = f"line {number}" if number is not None else f"after row {offset}"
            raise self.error(path, where, f"expected {expected} fields, found {actual}"
                             + (" (truncated file?)" if actual < expected else ""))
