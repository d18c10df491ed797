"""Ensembl builder: gene annotation (GTF/GFF3), peptide FASTA and REST answers, one row per feature or entry.

Download mode, by ``kind``:

* ``gtf`` / ``gff3`` / ``pep``: Ensembl's FTP site over HTTPS (base ``https://ftp.ensembl.org/pub``;
  override ``base_url=`` or ``ASTROBIO_ENSEMBL_URL``):
  ``release-{N}/gtf/{species}/{Species}.{assembly}.{N}.gtf.gz``,
  ``release-{N}/gff3/{species}/{Species}.{assembly}.{N}[.chromosome.{chromosome}].gff3.gz``,
  ``release-{N}/fasta/{species}/pep/{Species}.{assembly}.pep.all.fa.gz``;
* ``lookup`` / ``overlap``: the REST API (base ``https://rest.ensembl.org``; override ``rest_url=`` or
  ``ASTROBIO_ENSEMBL_REST_URL``): ``/lookup/id/{id}?content-type=application/json`` per id and
  ``/overlap/region/{species}/{region}?feature=gene&content-type=application/json``.

No token is needed. Ensembl allows 15 REST requests/s; we send at most 10/s.

Local mode reads ``.gtf``, ``.gff3``/``.gff``, FASTA (``.fa``/``.fasta``: Ensembl ``pep``/``cdna``/``cds``
headers) and ``.json`` REST answers; ``.gz`` works. GTF/GFF3 columns are split by pyarrow's CSV reader
(tab-delimited, no quoting, strict field count, read in chunks so a 3-million-line GTF is never held in
memory at once) and typed with :func:`tabular.convert_columns`; Biopython has no GTF/GFF reader, and
gtfparse/pyranges/gffutils are not dependencies, so only the attribute column is split here: GTF with
Arrow's regular-expression kernels over whole chunks (:mod:`.gtf_attributes`), GFF3 row by row
(:func:`parse_gff3_attributes`: percent-decoding). FASTA goes through Biopython.
"""

from __future__ import annotations

import io
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..download import redact_url, request_fingerprint, resolve_base_url
from .base import ArchiveBuilder, ArchiveBuilderConfig, DownloadRequest
from .biofiles import first_text, iter_records, open_binary, open_text, sequence_alphabet_error, stem_suffix
from .errors import SourceFormatError
from .gtf_attributes import (
    attribute_values,
    gtf_pairs,
    gtf_pairs_python,
    malformed_rows,
    parse_gtf_attributes,
)
from .tabular import Column, RawTable, convert_columns, rows

FTP_URL = "https://ftp.ensembl.org/pub"
REST_URL = "https://rest.ensembl.org"
#: the REST base URL's override env var is ASTROBIO_ENSEMBL_REST_URL (resolve_base_url on this key)
REST_KEY = "ensembl_rest"
KINDS = ("gtf", "gff3", "pep", "lookup", "overlap")
CHUNK_LINES = 50_000

#: The nine tab-separated GTF/GFF columns (GFF3 spec names; GTF calls ``seqid`` seqname and ``phase`` frame).
FEATURE_COLUMNS: tuple[Column, ...] = (
    Column("seqname", "string", "", "Sequence region (chromosome, scaffold, patch)", required=True),
    # GTF's "source" column; renamed because every row's provenance column "source" is the archive key
    Column("annotation_source", "string", "", "Annotation source (ensembl, havana, insdc ...)"),
    Column("feature", "string", "", "Feature type (gene, transcript, exon, CDS ...)", required=True),
    Column("start", "int64", "bp", "Start, 1-based inclusive", required=True),
    Column("end", "int64", "bp", "End, 1-based inclusive", required=True),
    Column("score", "float64", "", "Score ('.' -> null)"),
    Column("strand", "string", "", "+, - or ."),
    Column("frame", "int64", "", "CDS phase 0-2 ('.' -> null)"),
    Column("attributes", "string", "", "Raw attribute column"),
)
_NATIVE_NAMES = [c.name for c in FEATURE_COLUMNS]

FEATURES: dict[str, Any] = {
    "record_type": datasets.Value("string"),  # gtf | gff3 | fasta | rest
    "seqname": datasets.Value("string"),
    "annotation_source": datasets.Value("string"),  # GTF column 2: ensembl, havana, insdc ...
    "feature": datasets.Value("string"),      # gene, transcript, exon, CDS ... / pep, cdna / REST feature_type
    "start": datasets.Value("int64"),
    "end": datasets.Value("int64"),
    "score": datasets.Value("float64"),
    "strand": datasets.Value("string"),
    "frame": datasets.Value("int64"),
    "id": datasets.Value("string"),           # the feature's own identifier (see docs)
    "parent": datasets.Value("string"),       # GFF3/REST Parent
    "gene_id": datasets.Value("string"),      # unversioned stable ids (ENSG..., ENST..., ENSP..., ENSE...)
    "gene_name": datasets.Value("string"),
    "gene_biotype": datasets.Value("string"),
    "transcript_id": datasets.Value("string"),
    "transcript_name": datasets.Value("string"),
    "transcript_biotype": datasets.Value("string"),
    "protein_id": datasets.Value("string"),
    "exon_id": datasets.Value("string"),
    "exon_number": datasets.Value("int64"),
    "description": datasets.Value("string"),
    "assembly": datasets.Value("string"),
    "length": datasets.Value("int64"),        # residues (FASTA) or end - start + 1 (features)
    "sequence": datasets.Value("string"),     # FASTA only
    "attributes": [{"key": datasets.Value("string"), "value": datasets.Value("string")}],
}

_STABLE_VERSION = re.compile(r"^(ENS[A-Z]*[GTPE]\d+)\.\d+$")
# Ensembl FASTA location token: coord_system:assembly:seq_region:start:end:strand
_FASTA_LOCATION = re.compile(r"^([A-Za-z_]+):([^:]*):(.+):(\d+):(\d+):(-?1)$")


def parse_gff3_attributes(text: str) -> list[tuple[str, str]]:
    """``ID=gene:ENSG1;Name=X%3BY`` -> [(ID, gene:ENSG1), (Name, X;Y)] (GFF3 percent-decoding); '.' -> []."""
    text = text.strip()
    if text in ("", "."):
        return []
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise ValueError(f"attribute {part[:40]!r} is not tag=value")
        pairs.append((urllib.parse.unquote(key), urllib.parse.unquote(value)))
    return pairs


def unversioned(stable_id: str | None) -> str | None:
    """``ENSG00000198727.2`` -> ``ENSG00000198727`` (other ids unchanged)."""
    if not stable_id:
        return stable_id or None
    match = _STABLE_VERSION.match(stable_id)
    return match.group(1) if match else stable_id


def _strand(value: Any) -> str:
    return {1: "+", -1: "-", "1": "+", "-1": "-", "+": "+", "-": "-"}.get(value, ".")


class _LineTable(RawTable):
    """A chunk of feature lines: row i sits on physical line ``lines[i]`` (comment lines interleave)."""

    def __init__(self, table: pa.Table, lines: list[int]) -> None:
        super().__init__(table=table)
        self.lines = lines

    def location(self, row: int) -> str:
        return f"line {self.lines[row]}"


@dataclass
class EnsemblConfig(ArchiveBuilderConfig):
    """``kind``: gtf | gff3 | pep | lookup | overlap (download mode); ``species``/``assembly``/``release``
    name the FTP files; ``chromosome`` picks one GFF3 per-chromosome file; ``ids`` (lookup) and ``region``
    (overlap, e.g. ``MT:1-16569``); ``feature_types``: REST overlap ``feature=`` values (default gene) and a
    filter on GTF/GFF3 rows (default: all); ``rest_url`` overrides the REST base."""

    kind: str = "gtf"
    species: str = "homo_sapiens"
    assembly: str = "GRCh38"
    release: int = 112
    chromosome: str | None = None
    ids: Any = None
    region: str | None = None
    feature_types: Any = None
    rest_url: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind not in KINDS:
            raise ValueError(f"ensembl: kind must be one of {KINDS}, got {self.kind!r}")
        self.ids = _as_list(self.ids)
        self.feature_types = _as_list(self.feature_types)
        if self.chromosome is not None and self.kind != "gff3":
            raise ValueError("ensembl: chromosome= picks a per-chromosome GFF3 file; use it with kind='gff3'")
        self.release = int(self.release)


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value]


class Ensembl(ArchiveBuilder):
    """Ensembl GTF/GFF3 features, peptide FASTA entries and REST lookup/overlap answers."""

    BUILDER_CONFIG_CLASS = EnsemblConfig
    SOURCE = "ensembl"
    DEFAULT_BASE_URL = FTP_URL
    FILE_PATTERNS = tuple(f"**/*{s}{gz}" for s in (".gtf", ".gff3", ".gff", ".fa", ".fasta", ".json")
                          for gz in ("", ".gz"))
    HOMEPAGE = "https://www.ensembl.org"
    CITATION = "Harrison P.W. et al. Ensembl 2024. Nucleic Acids Res. 52, D891-D899 (2024)."
    LICENSE = "Ensembl data: no restrictions (Ensembl data policy)"
    MIN_INTERVAL_S = 0.1

    config: EnsemblConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # download mode: the cache key must also follow the REST base (its env override is not a kwarg)
        if kwargs.get("data_dir") is None and kwargs.get("data_files") is None and kwargs.get("hash") is None:
            ftp = resolve_base_url(self.SOURCE, kwargs.get("base_url"), self.DEFAULT_BASE_URL)
            rest = resolve_base_url(REST_KEY, kwargs.get("rest_url"), REST_URL)
            kwargs["hash"] = request_fingerprint("BASE", redact_url(ftp), {"rest": redact_url(rest)})
        super().__init__(*args, **kwargs)

    def data_features(self) -> dict[str, Any]:
        return dict(FEATURES)

    def describe(self) -> str:
        return ("Ensembl gene annotation: one row per GTF/GFF3 feature, Ensembl FASTA entry or REST lookup/overlap "
                "object, with coordinates (1-based, inclusive), stable ids, names, biotypes and all attributes.")

    # ------------------------------------------------------------------ download mode

    @property
    def rest_url(self) -> str:
        """REST base: config ``rest_url`` > ``ASTROBIO_ENSEMBL_REST_URL`` > https://rest.ensembl.org."""
        return resolve_base_url(REST_KEY, self.config.rest_url, REST_URL)

    def download_requests(self) -> list[DownloadRequest]:
        c = self.config
        species_file = c.species[:1].upper() + c.species[1:]
        prefix = f"{species_file}.{c.assembly}"
        if c.kind == "gtf":
            path = f"release-{c.release}/gtf/{c.species}/{prefix}.{c.release}.gtf.gz"
        elif c.kind == "gff3":
            part = f".chromosome.{c.chromosome}" if c.chromosome else ""
            path = f"release-{c.release}/gff3/{c.species}/{prefix}.{c.release}{part}.gff3.gz"
        elif c.kind == "pep":
            path = f"release-{c.release}/fasta/{c.species}/pep/{prefix}.pep.all.fa.gz"
        elif c.kind == "lookup":
            if not c.ids:
                raise ValueError("ensembl kind='lookup' needs ids= (stable ids, list or comma-separated)")
            json_params = {"content-type": "application/json"}
            return [DownloadRequest(path=f"{self.rest_url}/lookup/id/{urllib.parse.quote(i)}",
                                    filename=f"lookup_{re.sub(r'[^A-Za-z0-9_.-]', '_', i)}.json",
                                    params=json_params, release=f"Ensembl REST lookup/id/{i}") for i in c.ids]
        else:
            if not c.region:
                raise ValueError("ensembl kind='overlap' needs region= (e.g. 'MT:1-16569' or 'X:1000000-1100000')")
            features = c.feature_types or ["gene"]
            return [DownloadRequest(
                path=f"{self.rest_url}/overlap/region/{c.species}/{urllib.parse.quote(c.region, safe=':-,.')}",
                filename=f"overlap_{re.sub(r'[^A-Za-z0-9_.-]', '_', c.region)}.json",
                params={"feature": features, "content-type": "application/json"},
                release=f"Ensembl REST overlap/region/{c.species}/{c.region} feature={','.join(features)}")]
        return [DownloadRequest(path=path, filename=Path(path).name, release=f"Ensembl release {c.release}: {path}")]

    # ------------------------------------------------------------------ parsing

    def parse_file(self, path: Path) -> Iterator[dict[str, Any]]:
        head = first_text(path, self.SOURCE)
        suffix = stem_suffix(path)
        if head[0] in "{[":
            yield from self._parse_rest_json(path)
        elif head.startswith(">"):
            yield from self._parse_fasta(path)
        elif head.startswith("##gff-version 3") or suffix in (".gff3", ".gff"):
            yield from self._parse_features(path, "gff3")
        elif suffix == ".gtf" or head.startswith("#!") or "\t" in head.splitlines()[0]:
            yield from self._parse_features(path, "gtf")
        else:
            raise self.error(path, "line 1", f"not GTF, GFF3, FASTA or an Ensembl REST JSON answer: {head[:40]!r}")

    # -- GTF / GFF3

    def _line_chunks(self, path: Path, kind: str,
                     header: dict[str, str]) -> Iterator[tuple[list[str], list[int]]]:
        """Feature lines in chunks with their physical line numbers; ``#!`` header directives go into
        ``header`` (filled before the first chunk) and the genome build into the release column."""
        lines: list[str] = []
        numbers: list[int] = []
        released = False
        with open_text(path) as fh:
            try:
                for number, line in enumerate(fh, 1):
                    if line.startswith("#"):
                        if line.startswith("##FASTA"):
                            break  # GFF3: sequences follow; not features
                        key, _, value = line.lstrip("#!").strip().partition(" ")
                        if line.startswith("#!") and value:
                            header[key] = value.strip()
                        continue
                    if not line.strip():
                        continue
                    if not released:
                        self._note_header(path, header)
                        released = True
                    lines.append(line)
                    numbers.append(number)
                    if len(lines) >= CHUNK_LINES:
                        yield lines, numbers
                        lines, numbers = [], []
            except UnicodeDecodeError as exc:
                raise self.error(path, f"line {len(numbers) and numbers[-1] + 1 or 1}",
                                 f"not valid UTF-8 text (byte 0x{exc.object[exc.start:exc.end].hex()})") from None
            except (EOFError, OSError) as exc:
                raise self.error(path, "", f"cannot read {kind} file: {exc}") from None
        if not released:
            raise self.error(path, "", f"no {kind.upper()} feature lines")
        if lines:
            yield lines, numbers

    def _note_header(self, path: Path, header: dict[str, str]) -> None:
        build = header.get("genome-build")
        updated = header.get("genebuild-last-updated")
        if build or updated:
            self.note_release(path, " ".join(p for p in (build, f"genebuild {updated}" if updated else "") if p))

    def _read_chunk(self, path: Path, lines: list[str], numbers: list[int]) -> _LineTable:
        invalid: list[tuple[int, int, int]] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            invalid.append((row.number or 1, row.expected_columns, row.actual_columns))
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO("".join(lines).encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=_NATIVE_NAMES, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(_NATIVE_NAMES, pa.string()),
                                                 null_values=["."], strings_can_be_null=True))
        if invalid:
            number, expected, actual = invalid[0]
            raise self.error(path, f"line {numbers[number - 1]}",
                             f"expected {expected} tab-separated fields, found {actual}"
                             + (" (truncated file?)" if actual < expected else ""))
        return _LineTable(table, numbers)

    def _parse_features(self, path: Path, kind: str) -> Iterator[dict[str, Any] | pa.Table]:
        wanted = set(self.config.feature_types or ())
        header: dict[str, str] = {}
        for lines, numbers in self._line_chunks(path, kind, header):
            assembly = header.get("genome-version") or header.get("genome-build")
            raw = self._read_chunk(path, lines, numbers)
            typed = convert_columns(raw, FEATURE_COLUMNS, source=self.SOURCE, file=path)
            self._check_columns(path, typed, numbers)
            if kind == "gtf":
                table = self._gtf_table(path, typed, numbers, wanted, assembly)
                if table.num_rows:
                    yield table
                continue
            for i, row in enumerate(rows(typed)):
                if wanted and row["feature"] not in wanted:
                    continue
                try:
                    pairs = parse_gff3_attributes(row["attributes"] or "")
                except ValueError as exc:
                    raise self.error(path, f"line {numbers[i]}, field attributes", str(exc)) from None
                self._check_order(path, row["start"], row["end"], numbers[i])
                out = self._gff3_row(row, pairs)
                out["assembly"] = assembly
                yield out

    def _check_columns(self, path: Path, typed: pa.Table, numbers: list[int]) -> None:
        """GTF/GFF columns 4-8 as the formats define them: start >= 1 (1-based), strand + - . (GFF3 also ?),
        frame/phase 0, 1, 2 or '.' (read as null); the first bad row is named by its line."""
        checks = (
            ("start", pc.less(typed["start"], 1), "positions are 1-based: start must be >= 1"),
            ("strand", pc.invert(pc.is_in(typed["strand"], pa.array(["+", "-", ".", "?", ""]))),
             "strand must be '+', '-' or '.'"),
            ("frame", pc.invert(pc.is_in(typed["frame"], pa.array([0, 1, 2], pa.int64()))),
             "frame (phase) must be 0, 1, 2 or '.'"),
        )
        for name, bad, rule_text in checks:
            bad = pc.and_(pc.fill_null(bad, False), pc.is_valid(typed[name]))
            if pc.any(bad).as_py():
                row = pc.index(bad, True).as_py()
                raise self.error(path, f"line {numbers[row]}, field {name}",
                                 f"{name} {typed[name][row].as_py()!r}: {rule_text}")

    def _check_order(self, path: Path, start: int, end: int, line: int) -> None:
        if end < start:
            raise self.error(path, f"line {line}, field end", f"end {end} is before start {start}")

    def _check_attributes(self, path: Path, text: pa.Array, rows: np.ndarray, lines: np.ndarray) -> None:
        """The row-by-row parser over the rows the pattern flagged: the first that does not parse raises, naming
        its line. (The pattern and the parser read the same grammar, tested on random texts; should a flagged row
        parse all the same, the chunk is split by the parser, so the rows are still right.)"""
        for row in rows:
            try:
                parse_gtf_attributes(text[int(row)].as_py() or "")
            except ValueError as exc:
                raise self.error(path, f"line {lines[row]}, field attributes", str(exc)) from None

    def _gtf_table(self, path: Path, typed: pa.Table, numbers: list[int], wanted: set[str],
                   assembly: str | None) -> pa.Table:
        """One chunk of GTF features as a table of :data:`FEATURES` columns (the rows ``wanted`` keeps)."""
        lines = np.asarray(numbers)
        if wanted:
            keep = pc.is_in(typed["feature"], pa.array(sorted(wanted)))
            typed, lines = typed.filter(keep), lines[keep.to_numpy(zero_copy_only=False)]
        text = typed["attributes"].combine_chunks()
        start, end = typed["start"].combine_chunks(), typed["end"].combine_chunks()
        bad_text = malformed_rows(text)
        bad_order = np.flatnonzero(pc.less(end, start).to_numpy(zero_copy_only=False))
        first_bad_order = bad_order[0] if len(bad_order) else len(lines)
        # a row's attributes are checked before its coordinates, rows in file order
        self._check_attributes(path, text, bad_text[bad_text <= first_bad_order], lines)
        if len(bad_order):
            row = int(bad_order[0])
            self._check_order(path, start[row].as_py(), end[row].as_py(), int(lines[row]))
        pairs = gtf_pairs_python(text.to_pylist()) if len(bad_text) else gtf_pairs(text)
        ids = {key: attribute_values(pairs, key) for key in (
            "gene_id", "gene_name", "gene_biotype", "transcript_id", "transcript_name", "transcript_biotype",
            "protein_id", "exon_id", "exon_number")}
        no_gene = pc.fill_null(pc.equal(ids["gene_id"], ""), True)
        if pc.any(no_gene).as_py():  # GTF 2.2 requires gene_id on every row; free text parses as odd pairs
            row = pc.index(no_gene, True).as_py()
            raise self.error(path, f"line {lines[row]}, field attributes",
                             f"no gene_id attribute (GTF rows carry 'gene_id \"...\";'): {text[row].as_py()[:80]!r}")
        feature = typed["feature"].combine_chunks()
        transcript = ids["transcript_id"]
        transcript_or_gene = pc.if_else(pc.fill_null(pc.not_equal(transcript, ""), False), transcript, ids["gene_id"])
        identifier = pc.case_when(
            pc.make_struct(pc.equal(feature, "exon"), pc.equal(feature, "CDS"), pc.equal(feature, "gene")),
            ids["exon_id"], ids["protein_id"], ids["gene_id"], transcript_or_gene)
        n = typed.num_rows
        columns = {name: pa.nulls(n, pa.string()) for name in ("parent", "description", "sequence")}
        columns.update({name: typed[name] for name in _NATIVE_NAMES if name != "attributes"})
        columns.update({key: value for key, value in ids.items() if key != "exon_number"})
        columns.update(
            record_type=pa.array(["gtf"] * n, pa.string()), id=identifier,
            strand=_strand_or_dot(typed["strand"]), exon_number=integers_or_null(ids["exon_number"]),
            assembly=pa.array([assembly] * n, pa.string()), length=pc.add(pc.subtract(end, start), 1),
            attributes=pairs)
        return pa.table(columns)

    def _base_row(self, row: dict[str, Any], pairs: list[tuple[str, str]], record_type: str) -> dict[str, Any]:
        out = {**dict.fromkeys(FEATURES), **{k: row[k] for k in _NATIVE_NAMES if k != "attributes"}}
        out["record_type"] = record_type
        out["strand"] = row["strand"] or "."
        out["length"] = row["end"] - row["start"] + 1
        out["attributes"] = [{"key": k, "value": v} for k, v in pairs]
        return out

    def _gff3_row(self, row: dict[str, Any], pairs: list[tuple[str, str]]) -> dict[str, Any]:
        out = self._base_row(row, pairs, "gff3")
        attrs = dict(pairs)
        ident, parent = attrs.get("ID"), attrs.get("Parent")
        out["id"], out["parent"] = ident, parent
        kind = (ident or "").partition(":")[0]  # Ensembl ids are typed: gene:, transcript:, CDS:
        parent_kind, _, parent_id = (parent or "").partition(":")
        out["gene_id"] = attrs.get("gene_id") or (parent_id if parent_kind == "gene" else None)
        out["transcript_id"] = attrs.get("transcript_id") or (parent_id if parent_kind == "transcript" else None)
        out["protein_id"] = attrs.get("protein_id")
        out["exon_id"] = attrs.get("exon_id")
        out["exon_number"] = _int_or_none(attrs.get("rank"))
        out["description"] = attrs.get("description")
        if kind == "gene" or "gene_id" in attrs:
            out["gene_name"], out["gene_biotype"] = attrs.get("Name"), attrs.get("biotype")
        elif kind == "transcript" or "transcript_id" in attrs:
            out["transcript_name"], out["transcript_biotype"] = attrs.get("Name"), attrs.get("biotype")
        return out

    # -- FASTA

    def _parse_fasta(self, path: Path) -> Iterator[dict[str, Any]]:
        from Bio import SeqIO

        for where, record, reader in iter_records(self.SOURCE, path, lambda h: SeqIO.parse(h, "fasta"), "FASTA entry",
                                                  empty_message="no FASTA entries"):
            if len(record.seq) == 0:
                raise self.error(path, f"{where}, near line {reader.line}", "entry has no sequence")
            molecule = "protein" if " pep " in f" {record.description} " else None
            problem = sequence_alphabet_error(str(record.seq), molecule)
            if problem:
                raise self.error(path, f"{where}, near line {reader.line}", problem)
            yield self._fasta_row(record, path, where)

    def _fasta_row(self, record: Any, path: Path, where: str) -> dict[str, Any]:
        """Ensembl FASTA header: ``>ENSP... pep chromosome:GRCh38:MT:14747:15887:1 gene:ENSG... ...
        description:text`` (``description:`` runs to the end of the line)."""
        text = record.description[len(record.id):].strip()
        text, _, description = text.partition("description:")
        tokens = text.split()
        out = {**dict.fromkeys(FEATURES), "record_type": "fasta", "id": record.id, "strand": "."}
        out["feature"] = tokens[0] if tokens and ":" not in tokens[0] else None
        pairs: list[tuple[str, str]] = []
        for token in tokens[1 if out["feature"] else 0:]:
            location = _FASTA_LOCATION.match(token)
            if location and out["seqname"] is None:
                system, assembly, seqname, start, end, strand = location.groups()
                out.update(seqname=seqname, start=int(start), end=int(end), strand=_strand(strand),
                           assembly=assembly or None)
                pairs.append((system, token.partition(":")[2]))
                continue
            key, sep, value = token.partition(":")
            if not sep:
                raise self.error(path, where, f"header token {token!r} is not key:value (Ensembl FASTA header)")
            pairs.append((key, value))
        attrs = dict(pairs)
        out["gene_id"] = unversioned(attrs.get("gene"))
        out["transcript_id"] = unversioned(attrs.get("transcript"))
        out["protein_id"] = unversioned(record.id) if out["feature"] == "pep" else None
        out["gene_name"] = attrs.get("gene_symbol")
        out["gene_biotype"] = attrs.get("gene_biotype")
        out["transcript_biotype"] = attrs.get("transcript_biotype")
        out["description"] = description.strip() or None
        if out["description"]:
            pairs.append(("description", out["description"]))
        out["attributes"] = [{"key": k, "value": v} for k, v in pairs]
        out["sequence"] = str(record.seq)
        out["length"] = len(record.seq)
        return out

    # -- REST JSON

    def _parse_rest_json(self, path: Path) -> Iterator[dict[str, Any]]:
        try:
            with open_binary(path) as fh:
                answer = json.loads(fh.read().decode("utf-8"))
        except (ValueError, EOFError, OSError) as exc:
            raise self.error(path, "", f"not a JSON document: {exc}") from None
        if isinstance(answer, dict) and "error" in answer:
            raise self.error(path, "error", f"the REST answer is an error: {answer['error']}")
        objects = answer if isinstance(answer, list) else [answer]
        for i, obj in enumerate(objects):
            where = f"[{i}]" if isinstance(answer, list) else "object"
            yield self._rest_row(obj, path, where)

    def _rest_row(self, obj: Any, path: Path, where: str) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise self.error(path, where, f"expected a JSON object, got {type(obj).__name__}")
        for key in ("id", "start", "end", "seq_region_name"):
            if obj.get(key) in (None, ""):
                raise self.error(path, f"{where}, field {key}", f"required field {key!r} is missing")
        for key in ("start", "end"):
            if not isinstance(obj[key], int) or isinstance(obj[key], bool):
                raise self.error(path, f"{where}, field {key}", f"value {obj[key]!r} is not an integer")
        feature = str(obj.get("feature_type") or obj.get("object_type") or "").lower() or None
        ident, parent = str(obj["id"]), obj.get("Parent")
        name = obj.get("external_name") or obj.get("display_name")
        out = {**dict.fromkeys(FEATURES), "record_type": "rest", "feature": feature, "id": ident, "parent": parent,
               "seqname": str(obj["seq_region_name"]), "start": obj["start"], "end": obj["end"],
               "strand": _strand(obj.get("strand")), "annotation_source": obj.get("source"),
               "description": obj.get("description"), "assembly": obj.get("assembly_name")}
        out["length"] = obj["end"] - obj["start"] + 1
        is_gene, is_transcript = feature == "gene", feature == "transcript"
        out["gene_id"] = ident if is_gene else obj.get("gene_id") or (parent if is_transcript else None)
        out["transcript_id"] = ident if is_transcript else obj.get("transcript_id") or (
            parent if feature in ("exon", "cds", "translation") else None)
        out["protein_id"] = obj.get("protein_id") or (ident if feature == "translation" else None)
        out["exon_id"] = ident if feature == "exon" else None
        out["exon_number"] = _int_or_none(obj.get("rank"))
        if is_gene:
            out["gene_name"], out["gene_biotype"] = name, obj.get("biotype")
        elif is_transcript:
            out["transcript_name"], out["transcript_biotype"] = name, obj.get("biotype")
        out["attributes"] = [{"key": str(k), "value": json.dumps(v) if isinstance(v, (dict, list)) else str(v)}
                             for k, v in obj.items() if v is not None]
        return out


def _strand_or_dot(strand: pa.ChunkedArray) -> pa.Array:
    """A missing or empty strand is ``.`` (as ``row["strand"] or "."``)."""
    given = pc.fill_null(pc.not_equal(strand, ""), False)
    return pc.if_else(given, strand, pa.scalar(".", pa.string()))


def integers_or_null(text: pa.Array) -> pa.Array:
    """Text to int64 where it is an integer (as Python's ``int`` reads it), null elsewhere (as :func:`_int_or_none`)."""
    integral = pc.fill_null(pc.match_substring_regex(text, r"^\s*[+-]?\d+(?:_\d+)*\s*$"), False)
    digits = pc.replace_substring(pc.utf8_trim_whitespace(pc.if_else(integral, text, pa.scalar(None, pa.string()))),
                                  "_", "")
    return digits.cast(pa.int64())


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


__all__ = ["Ensembl", "EnsemblConfig", "SourceFormatError", "parse_gff3_attributes", "parse_gtf_attributes"]
