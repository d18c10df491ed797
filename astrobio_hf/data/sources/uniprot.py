"""UniProt builder: UniProtKB entries (accession, names, organism, EC numbers, function, keywords, sequence).

Download mode pages through the REST search (base ``https://rest.uniprot.org``; override ``base_url=``
or ``ASTROBIO_UNIPROT_URL``)::

    GET /uniprotkb/search?query=<query>&format=<tsv|fasta|json|txt|xml>&size=<=500>[&fields=...]

The service pages with cursors: every answer carries ``Link: <next url>; rel="next"`` until the last
page. :meth:`Uniprot.fetch` follows those links; each page is saved (``<hash>-page0001.tsv`` ...) and
parsed like a local file; a manifest of the pages lets a later prepare reuse them. For ``format=tsv``
the request names the columns (``fields=``, :data:`TSV_FIELDS`). No token is needed.

Local mode reads, recognised from the content (``.gz`` works for all):

* Swiss-Prot flat text (``.dat``/``.txt``, the bulk ``uniprot_sprot*.dat.gz`` too) with ``Bio.SwissProt``,
* UniProt XML with ``Bio.SeqIO`` ``"uniprot-xml"``,
* UniProt FASTA (``>sp|P00750|TPA_HUMAN name OS=... OX=... GN=... PE=... SV=...``) with ``Bio.SeqIO``,
* REST TSV downloads (pyarrow through :mod:`tabular`; UniProt's own column titles),
* REST JSON (``{"results": [...]}``).

One row per entry; EC numbers are validated with :func:`organism_networks.normalize_ec` (they feed the
organism networks). Where a format lacks a field it is null (FASTA has no EC/function/keywords; a TSV
without the ``EC number`` column takes EC numbers from the ``(EC x.x.x.x)`` parts of ``Protein names``).
"""

from __future__ import annotations

import datetime as _dt
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

from ..answer_checks import transport_evidence
from ..download import BadAnswerError, HttpClient, is_verified_answer, join_url, request_fingerprint, unverified_marker
from ..modalities.organism_networks import InvalidECNumberError, normalize_ec
from ..physical_ranges import rule, violation_text
from .base import ArchiveBuilder, ArchiveBuilderConfig
from .biofiles import biopython_errors, first_text, iter_records, open_binary, sequence_alphabet_error
from .errors import SourceFormatError
from .tabular import Column, check_line_end, convert_columns, decode_utf8, read_csv_strings, rows

logger = logging.getLogger(__name__)

REST_URL = "https://rest.uniprot.org"
FORMATS = {"tsv": "tsv", "fasta": "fasta", "json": "json", "txt": "dat", "xml": "xml"}
MAX_PAGE_SIZE = 500
#: REST ``fields=`` sent with format=tsv: the columns of a row (titles in :data:`TSV_COLUMNS` aliases).
TSV_FIELDS = ("accession,id,reviewed,protein_name,gene_names,organism_name,organism_id,ec,cc_function,keyword,"
              "length,sequence")

# UniProt's TSV column titles (https://www.uniprot.org/help/return_fields) -> our names.
TSV_COLUMNS: tuple[Column, ...] = (
    Column("accession", "string", "", "Primary accession", required=True, aliases=("Entry",)),
    Column("entry_name", "string", "", "Entry name (mnemonic)", aliases=("Entry Name",)),
    Column("reviewed", "string", "", "reviewed | unreviewed", aliases=("Reviewed",)),
    Column("protein_names", "string", "", "Protein names", aliases=("Protein names",)),
    Column("gene_names", "string", "", "Gene names (space-separated)", aliases=("Gene Names",)),
    Column("organism", "string", "", "Organism", aliases=("Organism",)),
    Column("taxid", "int64", "", "NCBI taxonomy id", aliases=("Organism (ID)",)),
    Column("ec", "string", "", "EC numbers ('; '-separated)", aliases=("EC number",)),
    Column("function", "string", "", "Function [CC]", aliases=("Function [CC]",)),
    Column("keywords", "string", "", "Keywords (';'-separated)", aliases=("Keywords",)),
    Column("length", "int64", "aa", "Sequence length", aliases=("Length",)),
    Column("sequence", "string", "", "Sequence", aliases=("Sequence",)),
)

FEATURES: dict[str, Any] = {
    "accession": datasets.Value("string"),
    "accessions": datasets.Sequence(datasets.Value("string")),   # primary first, then secondary
    "entry_name": datasets.Value("string"),                      # TPA_HUMAN
    "reviewed": datasets.Value("bool"),                          # Swiss-Prot (True) or TrEMBL (False)
    "protein_name": datasets.Value("string"),                    # recommended (or submitted) full name
    "protein_names": datasets.Sequence(datasets.Value("string")),  # recommended + alternative full names
    "gene_names": datasets.Sequence(datasets.Value("string")),
    "organism": datasets.Value("string"),
    "taxid": datasets.Value("int64"),
    "lineage": datasets.Sequence(datasets.Value("string")),
    "ec_numbers": datasets.Sequence(datasets.Value("string")),
    "function": datasets.Value("string"),                        # CC FUNCTION text, evidence tags removed
    "keywords": datasets.Sequence(datasets.Value("string")),
    "length": datasets.Value("int64"),                           # aa
    "sequence": datasets.Value("string"),
    "format": datasets.Value("string"),                          # swissprot | xml | fasta | tsv | json
}

_EVIDENCE = re.compile(r"\s*\{ECO:[^}]*\}")
_DE_NAME = re.compile(r"\b(RecName|AltName|SubName):\s*Full=([^;]+);")
_DE_EC = re.compile(r"\bEC=([^;\s{]+)")
_PROTEIN_NAMES_EC = re.compile(r"^EC ([0-9n.\-]+)$")
# UniProt FASTA header fields (https://www.uniprot.org/help/fasta-headers): "name OS=.. OX=.. GN=.. PE=.. SV=.."
_FASTA_FIELD = re.compile(r"\s(OS|OX|GN|PE|SV)=")


@dataclass
class UniprotConfig(ArchiveBuilderConfig):
    """``query`` (UniProtKB query syntax, e.g. ``ec:1.1.1.1 AND reviewed:true``), ``format``
    (tsv | fasta | json | txt | xml), ``size`` (entries per page, at most 500), ``max_pages`` (stop
    after this many pages; None: all)."""

    query: str | None = None
    format: str = "tsv"
    size: int = MAX_PAGE_SIZE
    max_pages: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.format not in FORMATS:
            raise ValueError(f"uniprot: format must be one of {sorted(FORMATS)}, got {self.format!r}")
        if not 0 < int(self.size) <= MAX_PAGE_SIZE:
            raise ValueError(f"uniprot: size must be 1..{MAX_PAGE_SIZE} (the service's page limit), got {self.size}")
        if self.max_pages is not None and int(self.max_pages) <= 0:
            raise ValueError("uniprot: max_pages must be positive")


class Uniprot(ArchiveBuilder):
    """UniProtKB entries from REST search pages or Swiss-Prot/XML/FASTA/TSV/JSON files, one row each."""

    BUILDER_CONFIG_CLASS = UniprotConfig
    SOURCE = "uniprot"
    RECORD_KEY = ("accession",)  # one record per key in a file (docs/data.md, "Duplicates")
    DEFAULT_BASE_URL = REST_URL
    FILE_PATTERNS = tuple(f"**/*{s}{gz}" for s in (".dat", ".txt", ".xml", ".fasta", ".fa", ".tsv", ".json")
                          for gz in ("", ".gz"))
    HOMEPAGE = "https://www.uniprot.org"
    CITATION = "The UniProt Consortium. UniProt: the Universal Protein Knowledgebase in 2023. Nucleic Acids Res. 51, D523."
    LICENSE = "CC BY 4.0"
    MIN_INTERVAL_S = 0.2

    config: UniprotConfig

    def data_features(self) -> dict[str, Any]:
        return dict(FEATURES)

    def describe(self) -> str:
        return ("UniProtKB entries: accession, entry name, protein names, genes, organism and taxon id, EC numbers, "
                "function text, keywords, length and sequence; one row per entry, with provenance.")

    # ------------------------------------------------------------------ download mode (cursor pages)

    def fetch(self, client: HttpClient, download_dir: Path, force: bool = False) -> list[tuple[str, str]]:
        """GET the search, then follow ``Link: <...>; rel="next"`` page by page; every page is saved."""
        c = self.config
        if not c.query:
            raise ValueError("uniprot download mode needs query= (UniProtKB query syntax, e.g. 'ec:2.7.1.1')")
        params: dict[str, Any] = {"query": c.query, "format": c.format, "size": int(c.size)}
        if c.format == "tsv":
            params["fields"] = TSV_FIELDS
        url = join_url(self.base_url, "uniprotkb/search")
        stem = request_fingerprint("GET", url, {**params, "max_pages": c.max_pages})
        manifest = download_dir / f"{stem}-pages.json"
        release = f"UniProtKB REST search query={c.query!r} format={c.format}"
        if manifest.is_file() and not force:
            saved = json.loads(manifest.read_text(encoding="utf-8"))
            if all(is_verified_answer(download_dir / p["file"]) for p in saved["pages"]):
                logger.info("%s: reusing %d saved pages %s", self.SOURCE, len(saved["pages"]), manifest)
                return [(str(download_dir / p["file"]), p["release"]) for p in saved["pages"]]
        download_dir.mkdir(parents=True, exist_ok=True)
        pages: list[dict[str, str]] = []
        next_url: str | None = url
        next_params: dict[str, Any] | None = params
        total: str | None = None
        whole = True  # every page's transfer proved whole (Content-Length or chunked end)
        while next_url:
            response = client.get(next_url, next_params)
            whole = whole and transport_evidence(dict(response.headers)) is not None
            number = len(pages) + 1
            dest = download_dir / f"{stem}-page{number:04d}.{FORMATS[c.format]}"
            part = dest.with_name(dest.name + ".part")
            part.write_bytes(response.content)
            os.replace(part, dest)
            retrieved = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            total = response.headers.get("X-Total-Results") or total
            pages.append({"file": dest.name, "release": f"{release} page {number}"
                          + (f" of {total} results" if total else "") + f" (retrieved {retrieved})"})
            # the cursor URL is absolute and already holds query/format/size
            next_url, next_params = response.links.get("next", {}).get("url"), None
            if c.max_pages is not None and number >= int(c.max_pages):
                break
        files = [download_dir / p["file"] for p in pages]
        self._check_total(files, total, stopped_early=bool(next_url), whole=whole)
        manifest.write_text(json.dumps({"query": c.query, "pages": pages}, indent=1), encoding="utf-8")
        return [(str(download_dir / p["file"]), p["release"]) for p in pages]

    def _check_total(self, files: list[Path], total: str | None, *, stopped_early: bool, whole: bool) -> None:
        """The saved pages hold the ``X-Total-Results`` UniProt announced (all of them unless ``max_pages``
        stopped early); with no total and a transfer nothing proved whole, the pages are marked for one run."""
        checked = total is not None and total.strip().isdigit() and not stopped_early
        if checked:
            try:
                got = sum(self.count_rows(f) for f in files)
            except SourceFormatError:
                got = None
            if got != int(total):
                for f in files:
                    f.unlink(missing_ok=True)
                found = "pages that do not parse" if got is None else f"{got} entries parsed from {len(files)} page(s)"
                raise BadAnswerError(f"{self.SOURCE}: short answer: {found}, UniProt's X-Total-Results reports "
                                     f"{total} (cut transfer?); the pages were not kept")
        for f in files:
            marker = unverified_marker(f)
            if checked or whole:
                marker.unlink(missing_ok=True)
            else:
                marker.write_text("completeness not checkable\n", encoding="utf-8")
        if not (checked or whole):
            logger.warning("%s: the pages' completeness cannot be checked (no X-Total-Results and a transfer with "
                           "no length); they are used for this run only", self.SOURCE)

    # ------------------------------------------------------------------ parsing

    def parse_file(self, path: Path) -> Iterator[dict[str, Any]]:
        head = first_text(path, self.SOURCE)
        first_line = head.splitlines()[0]
        if head.startswith("ID   "):
            parsed = self._parse_swissprot(path)
        elif head.startswith("<"):
            parsed = self._parse_xml(path)
        elif head.startswith(">"):
            parsed = self._parse_fasta(path)
        elif head[0] in "{[":
            parsed = self._parse_json(path)
        elif "\t" in first_line or first_line.strip() == "Entry":
            parsed = self._parse_tsv(path)
        else:
            raise self.error(path, "line 1", "not a UniProt file (Swiss-Prot text, XML, FASTA, TSV or JSON): "
                                             f"starts with {head[:40]!r}")
        count = 0
        for row in parsed:
            count += 1
            self._check_length(path, f"entry {count} ({row.get('accession')})", row)
            yield row
        if count == 0:
            raise self.error(path, "", "no UniProt entries in the file")

    def _check_length(self, path: Path, where: str, row: dict[str, Any]) -> None:
        """``length`` within the protein range of :data:`physical_ranges.RANGES` and equal to the sequence's."""
        length = row.get("length")
        if length is None:
            return
        spec = rule("protein", "length")
        if spec.outside(np.array([float(length)])).any():
            raise self.error(path, f"{where}, field length", violation_text(spec, length))
        sequence = row.get("sequence")
        if sequence and len(sequence) != length:
            raise self.error(path, f"{where}, field length",
                             f"length {length} disagrees with the sequence's {len(sequence)} residues")

    def _check_mass(self, path: Path, where: str, mass: Any) -> None:
        """The molecular weight an entry declares (SQ line MW, XML/JSON sequence mass) within the protein range;
        it is not stored, but a file that declares an impossible one is not what it claims."""
        if mass in (None, ""):
            return
        spec = rule("protein", "mass")
        try:
            value = float(mass)
        except (TypeError, ValueError):
            raise self.error(path, f"{where}, field mass", f"sequence mass {mass!r} is not a number") from None
        if spec.outside(np.array([value])).any():
            raise self.error(path, f"{where}, field mass", violation_text(spec, value))

    def _ec(self, values: list[str], path: Path, where: str) -> list[str]:
        out: list[str] = []
        for value in values:
            try:
                ec = normalize_ec(value, where="")  # the location goes in once, through self.error
            except InvalidECNumberError as exc:
                raise self.error(path, where, str(exc)) from None
            if ec not in out:
                out.append(ec)
        return out

    # -- Swiss-Prot flat text

    def _parse_swissprot(self, path: Path) -> Iterator[dict[str, Any]]:
        from Bio import SwissProt

        def accession(record: Any) -> str:
            return record.accessions[0] if record.accessions else record.entry_name

        for where, record, _ in iter_records(self.SOURCE, path, SwissProt.parse, "Swiss-Prot entry",
                                             record_id=accession):
            yield self._swissprot_row(record, path, where)

    def _swissprot_row(self, record: Any, path: Path, where: str) -> dict[str, Any]:
        self._check_mass(path, where, record.seqinfo[1] if record.seqinfo else None)
        # Bio.SwissProt leaves the DE lines as one string: names and EC= are picked out with two regexes.
        description = _EVIDENCE.sub("", record.description or "")
        top = re.split(r"\b(?:Contains|Includes):", description)[0]  # components are other proteins
        names = [name.strip() for _, name in _DE_NAME.findall(top)]
        functions = [_EVIDENCE.sub("", c[len("FUNCTION:"):]).strip() for c in record.comments
                     if c.startswith("FUNCTION:")]
        taxid = record.taxonomy_id[0] if record.taxonomy_id else None
        return {
            "accession": record.accessions[0] if record.accessions else None,
            "accessions": list(record.accessions),
            "entry_name": record.entry_name,
            "reviewed": record.data_class == "Reviewed",
            "protein_name": names[0] if names else None,
            "protein_names": names,
            "gene_names": _swissprot_gene_names(record.gene_name),
            "organism": (record.organism or "").rstrip(".").strip() or None,
            "taxid": int(taxid) if taxid and str(taxid).isdigit() else None,
            "lineage": list(record.organism_classification),
            "ec_numbers": self._ec(_DE_EC.findall(description), path, f"{where}, DE line EC="),
            "function": " ".join(functions) or None,
            "keywords": [_EVIDENCE.sub("", k).strip() for k in record.keywords],
            "length": int(record.sequence_length),
            "sequence": record.sequence,
            "format": "swissprot",
        }

    # -- XML

    def _parse_xml(self, path: Path) -> Iterator[dict[str, Any]]:
        from Bio import SeqIO

        where = ["entry 1"]
        count = 0
        with open_binary(path) as handle:  # Bio's uniprot-xml parser wants bytes
            with biopython_errors(self.SOURCE, path, None, "UniProt XML", where):
                for record in SeqIO.parse(handle, "uniprot-xml"):
                    count += 1
                    where[0] = f"entry {count} ({record.id})"
                    row = self._xml_row(record, path, where[0])
                    where[0] = f"entry {count + 1} (after {record.id})"
                    yield row

    def _xml_row(self, record: Any, path: Path, where: str) -> dict[str, Any]:
        self._check_mass(path, where, record.annotations.get("sequence_mass"))
        ann = record.annotations
        names = [*ann.get("recommendedName_fullName", []), *ann.get("alternativeName_fullName", []),
                 *ann.get("submittedName_fullName", [])]
        # EC numbers: <ecNumber> inside the names (current XML; Bio keys end in _ecNumber) and the
        # <dbReference type="EC"> of older exports (Bio puts them in dbxrefs)
        ecs = [v for k, vals in ann.items() if k.endswith("_ecNumber") for v in vals]
        ecs += [x[3:] for x in record.dbxrefs if x.startswith("EC:")]
        taxids = [x.partition(":")[2] for x in record.dbxrefs if x.startswith("NCBI Taxonomy:")]
        genes = [ann["gene_name_primary"]] if ann.get("gene_name_primary") else []
        for key in ("gene_name_synonym", "gene_name_ordered locus", "gene_name_ORF"):
            genes += [g for g in ann.get(key, []) if g not in genes]
        return {
            "accession": record.id,
            "accessions": list(ann.get("accessions", [record.id])),
            "entry_name": record.name,
            "reviewed": ann.get("dataset") == "Swiss-Prot",
            "protein_name": names[0] if names else (record.description or None),
            "protein_names": names,
            "gene_names": genes,
            "organism": ann.get("organism") or None,
            "taxid": int(taxids[0]) if taxids and taxids[0].isdigit() else None,
            "lineage": list(ann.get("taxonomy", [])),
            "ec_numbers": self._ec(ecs, path, f"{where}, ecNumber"),
            "function": " ".join(ann.get("comment_function", [])) or None,
            "keywords": list(ann.get("keywords", [])),
            "length": int(ann.get("sequence_length") or len(record.seq)),
            "sequence": str(record.seq),
            "format": "xml",
        }

    # -- FASTA

    def _parse_fasta(self, path: Path) -> Iterator[dict[str, Any]]:
        from Bio import SeqIO

        for where, record, reader in iter_records(self.SOURCE, path, lambda h: SeqIO.parse(h, "fasta"), "FASTA entry"):
            yield self._fasta_row(record, path, f"{where}, near line {reader.line}")

    def _fasta_row(self, record: Any, path: Path, where: str) -> dict[str, Any]:
        parts = record.id.split("|")
        if len(parts) != 3 or parts[0] not in ("sp", "tr"):
            raise self.error(path, where, f"header id {record.id!r} is not UniProt's db|accession|entry_name")
        if len(record.seq) == 0:
            raise self.error(path, where, "entry has no sequence")
        problem = sequence_alphabet_error(str(record.seq), "protein")
        if problem:
            raise self.error(path, where, problem)
        text = record.description[len(record.id):].strip()
        pieces = _FASTA_FIELD.split(" " + text)
        name, fields = pieces[0].strip(), dict(zip(pieces[1::2], (p.strip() for p in pieces[2::2]), strict=True))
        taxid = fields.get("OX", "")
        return {
            **dict.fromkeys(FEATURES),
            "accession": parts[1],
            "accessions": [parts[1]],
            "entry_name": parts[2],
            "reviewed": parts[0] == "sp",
            "protein_name": name or None,
            "protein_names": [name] if name else [],
            "gene_names": [fields["GN"]] if fields.get("GN") else [],
            "organism": fields.get("OS"),
            "taxid": int(taxid) if taxid.isdigit() else None,
            "lineage": [],
            "ec_numbers": [],
            "keywords": [],
            "length": len(record.seq),
            "sequence": str(record.seq),
            "format": "fasta",
        }

    # -- TSV

    def _parse_tsv(self, path: Path) -> Iterator[dict[str, Any]]:
        with open_binary(path) as fh:
            data = fh.read()
        text = decode_utf8(data, path, self.SOURCE)
        raw = read_csv_strings(text, path, self.SOURCE, delimiter="\t", expected=["Entry"])
        check_line_end(text, path, self.SOURCE, "UniProt's REST TSV")
        typed = convert_columns(raw, TSV_COLUMNS, source=self.SOURCE, file=path)
        has_ec_column = "EC number" in raw.table.column_names
        for i, row in enumerate(rows(typed)):
            where = f"{raw.location(i)} ({row['accession']})"
            names, name_ecs = split_protein_names(row["protein_names"] or "")
            ec_values = [v.strip() for v in (row["ec"] or "").split(";")] if has_ec_column else name_ecs
            function = row["function"]
            if function:
                function = _EVIDENCE.sub("", function).strip()
                function = function[len("FUNCTION:"):].strip() if function.startswith("FUNCTION:") else function
            yield {
                "accession": row["accession"],
                "accessions": [row["accession"]],
                "entry_name": row["entry_name"],
                "reviewed": None if row["reviewed"] is None else row["reviewed"].lower() == "reviewed",
                "protein_name": names[0] if names else None,
                "protein_names": names,
                "gene_names": (row["gene_names"] or "").split(),
                "organism": row["organism"],
                "taxid": row["taxid"],
                "lineage": [],
                "ec_numbers": self._ec([v for v in ec_values if v], path,
                                       f"{where}, field {'EC number' if has_ec_column else 'Protein names'}"),
                "function": function or None,
                "keywords": [k.strip() for k in (row["keywords"] or "").split(";") if k.strip()],
                "length": row["length"],
                "sequence": row["sequence"],
                "format": "tsv",
            }

    # -- JSON

    def _parse_json(self, path: Path) -> Iterator[dict[str, Any]]:
        try:
            with open_binary(path) as fh:
                answer = json.loads(fh.read().decode("utf-8"))
        except (ValueError, EOFError, OSError) as exc:
            raise self.error(path, "", f"not a JSON document: {exc}") from None
        if isinstance(answer, dict) and "messages" in answer and "results" not in answer:
            raise self.error(path, "messages", f"the REST answer is an error: {answer['messages']}")
        entries = answer.get("results") if isinstance(answer, dict) and "results" in answer else \
            answer if isinstance(answer, list) else [answer]
        if not isinstance(entries, list):
            raise self.error(path, "results", "expected a list of entries")
        for i, entry in enumerate(entries):
            yield self._json_row(entry, path, f"results[{i}]")

    def _json_row(self, entry: Any, path: Path, where: str) -> dict[str, Any]:
        if not isinstance(entry, dict) or not entry.get("primaryAccession"):
            raise self.error(path, f"{where}, field primaryAccession", "entry has no primaryAccession")
        desc = entry.get("proteinDescription") or {}
        named = [desc.get("recommendedName"), *(desc.get("alternativeNames") or []),
                 *(desc.get("submissionNames") or [])]
        names = [n["fullName"]["value"] for n in named if isinstance(n, dict) and n.get("fullName")]
        ecs = [e.get("value", "") for n in named if isinstance(n, dict) for e in n.get("ecNumbers") or []]
        organism = entry.get("organism") or {}
        sequence = entry.get("sequence") or {}
        self._check_mass(path, where, sequence.get("molWeight") if isinstance(sequence, dict) else None)
        genes = []
        for gene in entry.get("genes") or []:
            if gene.get("geneName"):
                genes.append(gene["geneName"]["value"])
            for key in ("synonyms", "orderedLocusNames", "orfNames"):
                genes += [g["value"] for g in gene.get(key) or []]
        functions = [t["value"] for c in entry.get("comments") or [] if c.get("commentType") == "FUNCTION"
                     for t in c.get("texts") or []]
        scientific, common = organism.get("scientificName"), organism.get("commonName")
        length = sequence.get("length")
        if length is not None and not isinstance(length, int):
            raise self.error(path, f"{where}, field sequence.length", f"value {length!r} is not an integer")
        return {
            "accession": entry["primaryAccession"],
            "accessions": [entry["primaryAccession"], *(entry.get("secondaryAccessions") or [])],
            "entry_name": entry.get("uniProtkbId"),
            "reviewed": "reviewed" in str(entry.get("entryType", "")).lower()
            and "unreviewed" not in str(entry.get("entryType", "")).lower(),
            "protein_name": names[0] if names else None,
            "protein_names": names,
            "gene_names": genes,
            "organism": f"{scientific} ({common})" if scientific and common else scientific,
            "taxid": organism.get("taxonId"),
            "lineage": list(organism.get("lineage") or []),
            "ec_numbers": self._ec(ecs, path, f"{where}, ecNumbers"),
            "function": " ".join(functions) or None,
            "keywords": [k.get("name") for k in entry.get("keywords") or [] if k.get("name")],
            "length": length,
            "sequence": sequence.get("value"),
            "format": "json",
        }


def _swissprot_gene_names(gene_name: Any) -> list[str]:
    """Bio.SwissProt's ``gene_name`` (list of dicts in Biopython >= 1.83, else the raw GN text) -> names."""
    out: list[str] = []
    if isinstance(gene_name, str):
        for _key, value in re.findall(r"(\w+)=([^;]+);", _EVIDENCE.sub("", gene_name)):
            out += [v.strip() for v in value.split(",") if v.strip()]
        return out
    for gene in gene_name or []:
        for key in ("Name", "Synonyms", "OrderedLocusNames", "ORFNames"):
            values = gene.get(key) or []
            for value in [values] if isinstance(values, str) else values:
                value = _EVIDENCE.sub("", value).strip()
                if value and value not in out:
                    out.append(value)
    return out


def split_protein_names(text: str) -> tuple[list[str], list[str]]:
    """UniProt's ``Protein names`` column -> (names, EC numbers).

    ``Name (EC 2.7.11.1) (Alt name) [Cleaved into: ...]``: the recommended name, then each trailing
    top-level parenthesised group (nested parentheses kept); ``(EC ...)`` groups are EC numbers.
    """
    text = re.split(r"\s\[(?:Cleaved into|Includes):", text)[0].strip()
    groups: list[str] = []
    while text.endswith(")"):
        depth = 0
        for i in range(len(text) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(text[i], 0)
            if depth == 0:
                break
        if depth != 0 or i == 0 or text[i - 1] != " ":
            break  # unbalanced, or the parenthesis belongs to the name itself: "Protein (gene) X"
        groups.insert(0, text[i + 1:-1])
        text = text[:i].rstrip()
    names = [text] if text else []
    ecs = []
    for group in groups:
        match = _PROTEIN_NAMES_EC.match(group)
        if match:
            ecs.append(match.group(1))
        else:
            names.append(group)
    return names, ecs
