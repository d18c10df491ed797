"""Organism metabolic networks from genome annotations: EC numbers -> reactions of a reference model -> subgraph.

EC numbers come from GenBank CDS features (`/EC_number`, read with Biopython SeqIO) or UniProt records (Swiss-Prot
flat text `DE ... EC=` through `Bio.SwissProt`, or a UniProt TSV download with an `EC number` column). They are
matched EXACTLY against the `ec-code` annotations of a cobra reference model's reactions (an incomplete EC such as
`2.7.1.-` only matches the same incomplete code, so a vague annotation never switches on a whole sub-class). The
organism network is the subnetwork of matched reactions plus their metabolites (`metabolic_graphs.cobra_model_to_graph`).

Annotations without any EC number raise `NoECNumbersError` (naming the source) rather than returning an empty
network: a genome that gives no EC numbers says nothing about its metabolism. Annotations whose EC numbers all miss
the reference model return an `OrganismNetwork` with `graph=None` and the EC numbers listed as unmatched.

BiGG core-model exports (e_coli_core JSON/SBML) carry no `ec-code` annotations; `transfer_ec_annotations` copies
them from a genome-scale model of the same namespace (cobra ships BiGG's iJO1366, whose reaction ids e_coli_core
shares).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from torch_geometric.data import Data

from astrobio_hf.data.modalities.metabolic_graphs import cobra_model_to_graph

# EC number syntax (IUBMB): four fields, the last three may be '-' (incomplete); the fourth may be 'nN'
# (preliminary). Validation only; Biopython has already split the records into qualifiers/description fields.
_EC_PATTERN = re.compile(r"^\d+\.(?:\d+|-)\.(?:\d+|-)\.(?:n?\d+|-)$")
# Swiss-Prot keeps EC numbers inside the DE text (`RecName: Full=...; EC=3.4.21.68;`, newer releases add
# `{ECO:...}` evidence); Bio.SwissProt returns that text unparsed, so the EC tokens are picked out here.
_SWISSPROT_EC = re.compile(r"\bEC=([0-9n.\-]+)")
# UniProt TSV downloads without the `EC number` column still name EC numbers in `Protein names`:
# `Putative cytochrome P450 2D7 (EC 1.14.14.1)`.
_PROTEIN_NAMES_EC = re.compile(r"\(EC ([0-9n.\-]+)\)")

ECAnnotations = dict[str, list[str]]  # EC number -> ids of the genes/proteins that carry it


class NoECNumbersError(ValueError):
    """Genome or proteome annotations that contain no EC number at all (the message names the source)."""


class InvalidECNumberError(ValueError):
    """An annotation value that is not an EC number (the message names the file and the gene or entry)."""


def normalize_ec(value: str, *, where: str) -> str:
    """`EC 1.1.1.1` / `EC:1.1.1.1` / ` 1.1.1.1 ` -> `1.1.1.1`; anything else raises InvalidECNumberError."""
    code = value.strip()
    for prefix in ("EC:", "EC ", "ec:"):
        code = code.removeprefix(prefix)
    code = code.strip()
    if not _EC_PATTERN.match(code):
        raise InvalidECNumberError(
            (f"{where}: " if where else "") + f"{value!r} is not an EC number (expected four fields like 2.7.1.11 or 2.7.1.-)"
        )
    return code


def _add(annotations: ECAnnotations, ec: str, gene: str) -> None:
    genes = annotations.setdefault(ec, [])
    if gene not in genes:
        genes.append(gene)


def _open_text(path: Path) -> TextIO:
    return gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else path.open(encoding="utf-8")


def _require_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    return path


def ec_numbers_from_genbank(path: str | Path) -> ECAnnotations:
    """EC numbers of the CDS features (`/EC_number`) of every record in a GenBank flat file (`.gb`, `.gbk`, `.gz`).

    Pseudogenes (`/pseudo`, `/pseudogene`) are skipped: they encode no working enzyme. Genes are named by
    `/locus_tag`, else `/protein_id`, else `/gene`, else `record:location`.
    """
    from Bio import SeqIO

    path = _require_file(path)
    annotations: ECAnnotations = {}
    records = 0
    try:
        with _open_text(path) as handle:
            for record in SeqIO.parse(handle, "genbank"):
                records += 1
                for feature in record.features:
                    if feature.type != "CDS" or {"pseudo", "pseudogene"} & set(feature.qualifiers):
                        continue
                    qualifiers = feature.qualifiers
                    gene = next(
                        (qualifiers[key][0] for key in ("locus_tag", "protein_id", "gene") if qualifiers.get(key)),
                        f"{record.id}:{feature.location}",
                    )
                    for value in qualifiers.get("EC_number", []):
                        _add(annotations, normalize_ec(value, where=f"{path}: record {record.id} CDS {gene}"), gene)
    except InvalidECNumberError:
        raise
    except (ValueError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise ValueError(f"{path}: not a readable GenBank flat file ({exc})") from exc
    if records == 0:
        raise ValueError(f"{path}: no GenBank records (expected LOCUS ... // blocks)")
    return annotations


def ec_numbers_from_uniprot(path: str | Path) -> ECAnnotations:
    """EC numbers of UniProtKB entries: Swiss-Prot flat text (`.txt`, `.dat`, optionally `.gz`) or a UniProt TSV
    download (`.tsv`, `.tsv.gz`) with an `Entry` column and an `EC number` column (values separated by `; `),
    or, when that column was not requested, the `(EC x.x.x.x)` parts of the `Protein names` column."""
    path = _require_file(path)
    stem = path.name[: -len(".gz")] if path.name.endswith(".gz") else path.name
    if stem.lower().endswith(".tsv"):
        return _ec_numbers_from_uniprot_tsv(path)
    return _ec_numbers_from_swissprot(path)


def _ec_numbers_from_swissprot(path: Path) -> ECAnnotations:
    from Bio import SwissProt

    annotations: ECAnnotations = {}
    records = 0
    try:
        with _open_text(path) as handle:
            for record in SwissProt.parse(handle):
                records += 1
                accession = record.accessions[0] if record.accessions else record.entry_name
                for value in _SWISSPROT_EC.findall(record.description or ""):
                    _add(annotations, normalize_ec(value, where=f"{path}: entry {accession} DE line"), accession)
    except InvalidECNumberError:
        raise
    except (ValueError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise ValueError(f"{path}: not a readable Swiss-Prot flat file ({exc})") from exc
    if records == 0:
        raise ValueError(f"{path}: no Swiss-Prot entries (expected ID ... // blocks)")
    return annotations


def _ec_numbers_from_uniprot_tsv(path: Path) -> ECAnnotations:
    import pandas as pd

    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable UniProt TSV ({exc})") from exc
    if "Entry" not in table.columns or not {"EC number", "Protein names"} & set(table.columns):
        raise ValueError(
            f"{path}: UniProt TSV needs an 'Entry' column and an 'EC number' (or 'Protein names') column; "
            f"columns are {list(table.columns)}"
        )
    use_ec_column = "EC number" in table.columns
    column = "EC number" if use_ec_column else "Protein names"
    annotations: ECAnnotations = {}
    for row_number, (entry, text) in enumerate(zip(table["Entry"], table[column], strict=True), start=2):
        values = (part.strip() for part in text.split(";")) if use_ec_column else _PROTEIN_NAMES_EC.findall(text)
        for value in filter(None, values):
            _add(annotations, normalize_ec(value, where=f"{path}: line {row_number} ({entry}) {column!r}"), entry)
    return annotations


def model_ec_index(model: Any) -> dict[str, list[str]]:
    """EC number -> ids of the reference model's reactions annotated with it (`annotation["ec-code"]`)."""
    index: dict[str, list[str]] = {}
    for reaction in model.reactions:
        codes = reaction.annotation.get("ec-code") or []
        for code in [codes] if isinstance(codes, str) else codes:
            index.setdefault(str(code).strip(), []).append(reaction.id)
    return index


def transfer_ec_annotations(target: Any, donor: Any) -> int:
    """Copy `ec-code` annotations from `donor` reactions to `target` reactions with the same id (BiGG ids).

    Reactions of `target` that already have an `ec-code` keep it. Returns how many reactions were annotated.
    """
    transferred = 0
    for reaction in target.reactions:
        if reaction.annotation.get("ec-code") or reaction.id not in donor.reactions:
            continue
        codes = donor.reactions.get_by_id(reaction.id).annotation.get("ec-code")
        if codes:
            reaction.annotation["ec-code"] = list(codes) if not isinstance(codes, str) else codes
            transferred += 1
    return transferred


@dataclass
class OrganismNetwork:
    """The subnetwork of a reference model that an organism's EC numbers switch on, with the matching report."""

    graph: Data | None  # None when no EC number matched a reaction of the reference model
    reaction_ids: list[str]
    matched_ec: dict[str, list[str]]  # EC number -> reference-model reaction ids it matched
    unmatched_ec: list[str]  # EC numbers of the organism with no reaction in the reference model
    ec_sources: ECAnnotations = field(default_factory=dict)  # EC number -> organism genes/proteins carrying it
    source: str = ""

    def summary(self) -> str:
        """One line for logs: how many EC numbers matched and how big the network is."""
        total = len(self.matched_ec) + len(self.unmatched_ec)
        size = "no graph" if self.graph is None else f"{self.graph.num_nodes} nodes, {self.graph.num_edges} edges"
        return (
            f"{self.source}: {len(self.matched_ec)}/{total} EC numbers matched -> "
            f"{len(self.reaction_ids)} reactions ({size})"
        )


def organism_network(model: Any, ec_annotations: Mapping[str, Sequence[str]], *, source: str = "") -> OrganismNetwork:
    """Map an organism's EC numbers onto `model` and build the graph of the matched reactions.

    Raises `NoECNumbersError` when `ec_annotations` is empty, and ValueError when the reference model has no
    `ec-code` annotations at all (see `transfer_ec_annotations`).
    """
    source = source or "organism annotations"
    if not ec_annotations:
        raise NoECNumbersError(f"{source}: the annotations contain no EC numbers, so no metabolic network follows")
    index = model_ec_index(model)
    if not index:
        raise ValueError(
            f"reference model {model.id!r} has no reaction with an 'ec-code' annotation; "
            "annotate it first (e.g. transfer_ec_annotations from a genome-scale model)"
        )
    matched = {ec: sorted(set(index[ec])) for ec in sorted(ec_annotations) if ec in index}
    unmatched = sorted(ec for ec in ec_annotations if ec not in index)
    wanted = {reaction_id for ids in matched.values() for reaction_id in ids}
    reaction_ids = [reaction.id for reaction in model.reactions if reaction.id in wanted]
    graph = cobra_model_to_graph(model, source=source, reactions=reaction_ids) if reaction_ids else None
    return OrganismNetwork(
        graph=graph,
        reaction_ids=reaction_ids,
        matched_ec=matched,
        unmatched_ec=unmatched,
        ec_sources={ec: list(genes) for ec, genes in ec_annotations.items()},
        source=source,
    )


def organism_network_from_files(model: Any, paths: Iterable[str | Path]) -> OrganismNetwork:
    """`organism_network` over the EC numbers of GenBank (`.gb`, `.gbk`, `.gbff`) and UniProt files together."""
    paths = [Path(p) for p in paths]
    combined: ECAnnotations = {}
    for path in paths:
        stem = path.name[: -len(".gz")] if path.name.endswith(".gz") else path.name
        is_genbank = stem.lower().endswith((".gb", ".gbk", ".gbff", ".genbank"))
        found = ec_numbers_from_genbank(path) if is_genbank else ec_numbers_from_uniprot(path)
        for ec, genes in found.items():
            for gene in genes:
                _add(combined, ec, gene)
    return organism_network(model, combined, source=", ".join(str(p) for p in paths))
