"""NCBI GenBank builder: nucleotide (or protein) records from E-utilities, GenBank flat files and NCBI FASTA.

Download mode sends NCBI's E-utilities requests (base ``https://eutils.ncbi.nlm.nih.gov/entrez/eutils``;
override ``base_url=`` or ``ASTROBIO_NCBI_GENBANK_URL``):

1. ``esearch.fcgi?db=<db>&term=<term>&retmax=<n>&retmode=json`` for the record ids (skipped when
   ``ids=`` is given),
2. ``efetch.fcgi?db=<db>&id=<id1,id2,...>&rettype=gb&retmode=text`` in batches of ``batch_size`` ids
   (``rettype=gp``, GenPept, for ``db=protein``); each answer is saved and parsed like a local file.

``tool`` and ``email`` (config, or the ``NCBI_EMAIL`` env var) are sent as NCBI asks. ``NCBI_API_KEY``
(env only) raises NCBI's limit from 3 to 10 requests/s; it is added at send time and never reaches
configs, cache file names, provenance or logs.

Local mode reads GenBank flat files (``.gb``, ``.gbk``, ``.gbff``, ``.genbank``; GenPept ``.gp``) with
Biopython ``SeqIO`` and NCBI FASTA (``.fna``, ``.ffn``, ``.faa``, ``.fasta``, ``.fa``); ``.gz`` works for
all. The format is recognised from the content (``LOCUS`` vs ``>``).

Rows: one per GenBank record or per FASTA entry, with one schema for both (FASTA leaves the
annotation-only columns empty): see :data:`FEATURES` and ``docs/data.md``.

The module also holds the small text-reading helpers the other Biopython-based builders (Ensembl,
UniProt) share: gzip-aware opening, a line-counting reader so Biopython errors can name a line, and
:func:`biopython_errors`, which turns Biopython's parser errors and warnings into
:class:`SourceFormatError`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from ..download import (
    BadAnswerError,
    HttpClient,
    Secrets,
    is_verified_answer,
    join_url,
    read_token,
    redact_url,
    request_fingerprint,
)
from ..modalities.organism_networks import InvalidECNumberError, normalize_ec
from ..physical_ranges import rule
from .base import ArchiveBuilder, ArchiveBuilderConfig
from .biofiles import first_text, iter_records, sequence_alphabet_error, stem_suffix
from .errors import SourceFormatError

logger = logging.getLogger(__name__)

EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
API_KEY_ENV = "NCBI_API_KEY"
EMAIL_ENV = "NCBI_EMAIL"
#: efetch rettype per database: GenBank flat file for nucleotides, GenPept for proteins.
RETTYPES = {"nucleotide": "gb", "protein": "gp"}
FASTA_SUFFIXES = {".fna": "DNA", ".ffn": "DNA", ".faa": "protein", ".fasta": None, ".fa": None, ".fas": None}
# NCBI FASTA deflines ("gi|45478711|ref|NC_005816.1|"): the token after one of these database tags is
# the accession.version (NCBI "FASTA defline" conventions); Biopython leaves the id unsplit.
_DEFLINE_DBS = {"ref", "gb", "emb", "dbj", "tpg", "tpe", "tpd", "pdb", "sp", "tr", "pir", "prf", "gnl"}
_ORGANISM_BRACKET = re.compile(r"\s*\[([^\[\]]+)\]\s*$")

FEATURES: dict[str, Any] = {
    "record_type": datasets.Value("string"),      # "genbank" | "fasta"
    "id": datasets.Value("string"),               # accession.version (NC_005816.1)
    "accession": datasets.Value("string"),        # NC_005816
    "version": datasets.Value("int64"),           # 1
    "name": datasets.Value("string"),             # LOCUS name / FASTA first word
    "definition": datasets.Value("string"),       # DEFINITION / FASTA description
    "organism": datasets.Value("string"),
    "taxonomy": datasets.Sequence(datasets.Value("string")),
    "taxid": datasets.Value("int64"),             # NCBI taxon id from the source feature
    "molecule_type": datasets.Value("string"),    # DNA, RNA, protein ...
    "topology": datasets.Value("string"),         # circular | linear
    "division": datasets.Value("string"),         # GenBank division (BCT, PLN ...)
    "date": datasets.Value("string"),             # LOCUS date as written (21-JUL-2008)
    "length": datasets.Value("int64"),            # bp or aa
    "sequence": datasets.Value("string"),         # None when include_sequence=False or undefined (CONTIG)
    "n_features": datasets.Value("int64"),
    "n_genes": datasets.Value("int64"),
    "n_cds": datasets.Value("int64"),
    "n_rrna": datasets.Value("int64"),
    "n_trna": datasets.Value("int64"),
    "ec_numbers": datasets.Sequence(datasets.Value("string")),   # unique, CDS /EC_number (not pseudo)
    "products": datasets.Sequence(datasets.Value("string")),     # CDS /product, feature order
    "protein_ids": datasets.Sequence(datasets.Value("string")),  # CDS /protein_id, feature order
    "dbxrefs": datasets.Sequence(datasets.Value("string")),      # DBLINK (Project:..., BioSample:...)
}


def split_fasta_id(first_word: str) -> str:
    """The accession.version of an NCBI FASTA id: ``gi|45478711|ref|NC_005816.1|`` -> ``NC_005816.1``."""
    tokens = first_word.split("|")
    for i, token in enumerate(tokens[:-1]):
        if token in _DEFLINE_DBS and tokens[i + 1]:
            return tokens[i + 1]
    return first_word


def accession_and_version(accession_version: str) -> tuple[str, int | None]:
    """``NC_005816.1`` -> (``NC_005816``, 1); no version -> (text, None)."""
    head, dot, tail = accession_version.rpartition(".")
    if dot and head and tail.isdigit():
        return head, int(tail)
    return accession_version, None


def fasta_description(record: Any) -> tuple[str, str | None]:
    """(description without the id, organism from a trailing ``[Organism name]`` if present)."""
    text = record.description
    if text.startswith(record.id):
        text = text[len(record.id):]
    text = text.strip()
    match = _ORGANISM_BRACKET.search(text)
    if match:
        return text[: match.start()].strip(), match.group(1).strip()
    return text, None


def sequence_text(record: Any) -> str | None:
    """The record's sequence as text, or ``None`` when the file defines none (CONTIG/WGS records)."""
    from Bio.Seq import UndefinedSequenceError

    try:
        return str(record.seq)
    except UndefinedSequenceError:
        return None


# --------------------------------------------------------------------------- the builder


@dataclass
class NcbiGenbankConfig(ArchiveBuilderConfig):
    """Download options: ``term`` (esearch query) or ``ids`` (accessions/UIDs, list or comma-separated),
    ``db`` (nucleotide | protein), ``retmax`` (ids taken from esearch), ``batch_size`` (ids per efetch),
    ``tool``/``email`` (NCBI asks for them), ``include_sequence`` (keep the sequence column)."""

    db: str = "nucleotide"
    term: str | None = None
    ids: Any = None
    retmax: int = 20
    batch_size: int = 100
    include_sequence: bool = True
    tool: str = "astrobio-hf"
    email: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.db not in RETTYPES:
            raise ValueError(f"ncbi_genbank: db must be one of {sorted(RETTYPES)}, got {self.db!r}")
        if isinstance(self.ids, (str, int)):
            self.ids = [i.strip() for i in str(self.ids).split(",") if i.strip()]
        elif self.ids is not None:
            self.ids = [str(i).strip() for i in self.ids]
        if int(self.retmax) <= 0 or int(self.batch_size) <= 0:
            raise ValueError("ncbi_genbank: retmax and batch_size must be positive")
        if isinstance(self.include_sequence, str):
            self.include_sequence = self.include_sequence.strip().lower() in {"1", "true", "yes"}


class NcbiGenbank(ArchiveBuilder):
    """GenBank/GenPept records (E-utilities or flat files) and NCBI FASTA entries, one row each."""

    BUILDER_CONFIG_CLASS = NcbiGenbankConfig
    SOURCE = "ncbi_genbank"
    # id + name: an .ffn names each CDS by its location on one accession (id NC_005816.1, name ...|:c1340-9)
    RECORD_KEY = ("id", "name", "record_type")
    DEFAULT_BASE_URL = EUTILS_URL
    FILE_PATTERNS = tuple(f"**/*{suffix}{gz}" for suffix in (".gb", ".gbk", ".gbff", ".genbank", ".gp", *FASTA_SUFFIXES)
                          for gz in ("", ".gz"))
    HOMEPAGE = "https://www.ncbi.nlm.nih.gov/books/NBK25501/"
    CITATION = ("Sayers E. The E-utilities In-Depth: Parameters, Syntax and More. Entrez Programming Utilities Help, "
                "NCBI; Benson D.A. et al. GenBank. Nucleic Acids Res.")
    LICENSE = "NCBI data: public domain (see NCBI's policies; some submitters may claim rights)"
    #: NCBI: at most 3 requests/s without an API key (10/s with one: see http_client).
    MIN_INTERVAL_S = 0.34
    MIN_INTERVAL_WITH_KEY_S = 0.1

    config: NcbiGenbankConfig

    def data_features(self) -> dict[str, Any]:
        return dict(FEATURES)

    def describe(self) -> str:
        return ("NCBI GenBank records (one row per record: accession, organism, taxonomy, length, sequence, feature "
                "counts, CDS EC numbers and products) and NCBI FASTA entries (one row per entry), with provenance.")

    # ------------------------------------------------------------------ download mode

    def secrets(self) -> Secrets:
        key = read_token(API_KEY_ENV)  # optional: raises the rate limit only
        return Secrets(params={"api_key": key}) if key else Secrets()

    def polite_interval_s(self, secrets: Secrets) -> float:
        return self.MIN_INTERVAL_WITH_KEY_S if secrets.params else self.MIN_INTERVAL_S

    def _identity_params(self) -> dict[str, str]:
        email = self.config.email or read_env_email()
        return {"tool": self.config.tool, **({"email": email} if email else {})}

    def fetch(self, client: HttpClient, download_dir: Path, force: bool = False) -> list[tuple[str, str]]:
        """esearch (unless ``ids``) then batched efetch; each answer saved, reused unless ``force``."""
        retrieved = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        db = self.config.db
        if self.config.ids:
            ids, origin = list(self.config.ids), f"ids={','.join(self.config.ids)}"
        elif self.config.term:
            ids, origin = self._esearch(client, download_dir, force), f"term={self.config.term!r}"
        else:
            raise ValueError("ncbi_genbank download mode needs term= (an Entrez query) or ids= (accessions)")
        out = []
        size = int(self.config.batch_size)
        for start in range(0, len(ids), size):
            batch = ids[start:start + size]
            params = {"db": db, "id": ",".join(batch), "rettype": RETTYPES[db], "retmode": "text",
                      **self._identity_params()}
            url = join_url(self.base_url, "efetch.fcgi")
            dest = download_dir / f"{request_fingerprint('GET', url, params)}-efetch_{start // size + 1:04d}.gb"
            if is_verified_answer(dest) and not force:
                logger.info("%s: reusing saved answer %s", self.SOURCE, dest)
            else:
                client.download(url, dest, params=params, validate=functools.partial(self._check_records,
                                                                                     expected=len(batch)))
            release = (f"E-utilities efetch db={db} rettype={RETTYPES[db]} ({origin}; ids {start + 1}-"
                       f"{start + len(batch)} of {len(ids)}) (retrieved {retrieved})")
            out.append((str(dest), release))
        return out

    def _check_records(self, path: Path, expected: int) -> str:
        """An efetch answer holds one record per id asked for (a body cut between records parses, but short)."""
        got = self.count_rows(path)
        if got != expected:
            raise BadAnswerError(f"short answer: {got} records parsed, {expected} ids were asked for (cut transfer, "
                                 "or ids NCBI does not know)")
        return f"{got} records, one per id asked for"

    def _esearch(self, client: HttpClient, download_dir: Path, force: bool) -> list[str]:
        params = {"db": self.config.db, "term": self.config.term, "retmax": int(self.config.retmax),
                  "retmode": "json", **self._identity_params()}
        url = join_url(self.base_url, "esearch.fcgi")
        dest = download_dir / f"{request_fingerprint('GET', url, params)}-esearch.json"
        if dest.is_file() and not force:
            logger.info("%s: reusing saved answer %s", self.SOURCE, dest)
        else:
            client.download(url, dest, params=params)
        try:
            answer = json.loads(dest.read_text(encoding="utf-8"))
            result = answer["esearchresult"]
        except (ValueError, KeyError, TypeError) as exc:
            dest.unlink(missing_ok=True)  # do not reuse a bad answer next time
            raise SourceFormatError(self.SOURCE, str(dest), "esearchresult",
                                    f"not an esearch JSON answer ({type(exc).__name__}: {exc})") from None
        if result.get("ERROR"):
            dest.unlink(missing_ok=True)
            raise SourceFormatError(self.SOURCE, str(dest), "esearchresult.ERROR", str(result["ERROR"]))
        ids = [str(i) for i in result.get("idlist", [])]
        if not ids:
            raise SourceFormatError(self.SOURCE, str(dest), "esearchresult.idlist",
                                    f"the term {self.config.term!r} matched no {self.config.db} records "
                                    f"({redact_url(url, params)})")
        return ids

    # ------------------------------------------------------------------ parsing

    def parse_file(self, path: Path) -> Iterator[dict[str, Any]]:
        head = first_text(path, self.SOURCE)
        if head.startswith("LOCUS"):
            yield from self._parse_genbank(path)
        elif head.startswith(">"):
            yield from self._parse_fasta(path)
        else:
            raise self.error(path, "line 1", f"neither a GenBank flat file (LOCUS line) nor FASTA ('>' header): "
                                             f"starts with {head[:40]!r}")

    def _parse_genbank(self, path: Path) -> Iterator[dict[str, Any]]:
        from Bio import SeqIO

        for where, record, _ in iter_records(self.SOURCE, path, lambda h: SeqIO.parse(h, "genbank"), "GenBank record",
                                             unit="record",
                                             empty_message="no GenBank records (expected LOCUS ... // blocks)"):
            yield self._genbank_row(record, path, where)

    def _check_feature(self, path: Path, where: str, record: Any, index: int, feature: Any, length: int) -> None:
        """A feature lies on its record: 0 <= start <= end <= record length (``genbank_feature`` ranges)."""
        try:
            start, end = int(feature.location.start), int(feature.location.end)
        except (TypeError, ValueError, AttributeError):
            return  # unknown positions (<, >) without a number: Biopython keeps them fuzzy
        label = next((feature.qualifiers[k][0] for k in ("locus_tag", "gene", "protein_id")
                      if feature.qualifiers.get(k)), "")
        at = f"{where}, feature {index} ({feature.type}{' ' + label if label else ''}), location"
        spec = rule("genbank_feature", "start")
        if spec.outside(np.array([float(start)])).any() or end < start:
            raise self.error(path, at, f"location {feature.location} is impossible (start {start}, end {end})")
        if length and end > length:
            raise self.error(path, at, f"location {feature.location} ends at {end:,} on a record of {length:,} bp "
                                       f"({record.id})")

    def _genbank_row(self, record: Any, path: Path, where: str) -> dict[str, Any]:
        ann = record.annotations
        counts = {"gene": 0, "CDS": 0, "rRNA": 0, "tRNA": 0}
        ec_numbers: list[str] = []
        products: list[str] = []
        protein_ids: list[str] = []
        taxid = None
        length = len(record.seq)
        for index, feature in enumerate(record.features, start=1):
            self._check_feature(path, where, record, index, feature, length)
            if feature.type in counts:
                counts[feature.type] += 1
            qualifiers = feature.qualifiers
            if feature.type == "source" and taxid is None:
                for xref in qualifiers.get("db_xref", []):
                    if xref.startswith("taxon:") and xref[6:].isdigit():
                        taxid = int(xref[6:])
            if feature.type != "CDS":
                continue
            products.extend(qualifiers.get("product", []))
            protein_ids.extend(qualifiers.get("protein_id", []))
            if {"pseudo", "pseudogene"} & set(qualifiers):
                continue  # a pseudogene encodes no working enzyme (same rule as organism_networks)
            gene = next((qualifiers[k][0] for k in ("locus_tag", "protein_id", "gene") if qualifiers.get(k)),
                        str(feature.location))
            for value in qualifiers.get("EC_number", []):
                try:
                    ec = normalize_ec(value, where="")  # the location goes in once, through self.error
                except InvalidECNumberError as exc:
                    raise self.error(path, f"{where}, CDS {gene}, qualifier /EC_number", str(exc)) from None
                if ec not in ec_numbers:
                    ec_numbers.append(ec)
        accessions = ann.get("accessions") or [record.name]
        version = ann.get("sequence_version")
        return {
            "record_type": "genbank",
            "id": record.id,
            "accession": accessions[0],
            "version": int(version) if version is not None else accession_and_version(record.id)[1],
            "name": record.name,
            "definition": record.description,
            "organism": ann.get("organism"),
            "taxonomy": list(ann.get("taxonomy") or []),
            "taxid": taxid,
            "molecule_type": ann.get("molecule_type"),
            "topology": ann.get("topology"),
            "division": ann.get("data_file_division"),
            "date": ann.get("date"),
            "length": len(record.seq),
            "sequence": sequence_text(record) if self.config.include_sequence else None,
            "n_features": len(record.features),
            "n_genes": counts["gene"],
            "n_cds": counts["CDS"],
            "n_rrna": counts["rRNA"],
            "n_trna": counts["tRNA"],
            "ec_numbers": ec_numbers,
            "products": products,
            "protein_ids": protein_ids,
            "dbxrefs": list(record.dbxrefs),
        }

    def _parse_fasta(self, path: Path) -> Iterator[dict[str, Any]]:
        from Bio import SeqIO

        molecule = FASTA_SUFFIXES.get(stem_suffix(path))
        for where, record, reader in iter_records(self.SOURCE, path, lambda h: SeqIO.parse(h, "fasta"),
                                                  "FASTA entry", empty_message="no FASTA entries"):
            if len(record.seq) == 0:
                raise self.error(path, f"{where}, near line {reader.line}", "entry has no sequence")
            problem = sequence_alphabet_error(str(record.seq), molecule)
            if problem:
                raise self.error(path, f"{where}, near line {reader.line}", problem)
            accession_version = split_fasta_id(record.id)
            accession, version = accession_and_version(accession_version)
            definition, organism = fasta_description(record)
            yield {
                **dict.fromkeys(FEATURES),
                "record_type": "fasta",
                "id": accession_version,
                "accession": accession,
                "version": version,
                "name": record.id,
                "definition": definition,
                "organism": organism,
                "taxonomy": [],
                "molecule_type": molecule,
                "length": len(record.seq),
                "sequence": str(record.seq) if self.config.include_sequence else None,
                "ec_numbers": [],
                "products": [],
                "protein_ids": [],
                "dbxrefs": [],
            }


def read_env_email() -> str | None:
    """The contact e-mail NCBI asks for, from ``NCBI_EMAIL`` (not a secret; kept out of configs by default)."""
    return os.environ.get(EMAIL_ENV, "").strip() or None
