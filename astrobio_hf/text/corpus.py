"""The project's text corpus for the tokenizer and the LLM: templated planet descriptions plus real annotation text.

Real text comes from the genomic and metabolic sources in their native formats, read with the field's libraries:
GenBank definitions and CDS products/notes (Biopython SeqIO), UniProt protein names and function comments
(Bio.SwissProt), and reaction/metabolite/gene names of metabolic models (cobra). The planet descriptions are templated
from catalog values by the multimodal dataset builder (they say so in docs/data.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from Bio import SeqIO, SwissProt


def genbank_texts(path: str | os.PathLike) -> Iterator[str]:
    """Definition line, then one line per CDS with its product and notes, for every record of a GenBank file."""
    records = 0
    with open(path, encoding="utf-8") as handle:
        for record in SeqIO.parse(handle, "genbank"):
            records += 1
            yield f"{record.description}. Organism: {record.annotations.get('organism', 'unknown')}."
            for feature in record.features:
                if feature.type != "CDS":
                    continue
                parts = feature.qualifiers.get("product", []) + feature.qualifiers.get("note", [])
                ec = feature.qualifiers.get("EC_number", [])
                if parts:
                    yield "; ".join(parts) + (f" (EC {', '.join(ec)})" if ec else "")
    if not records:
        raise ValueError("no GenBank record found (is it a GenBank flat file?)")


def uniprot_texts(path: str | os.PathLike) -> Iterator[str]:
    """Protein description and FUNCTION / CATALYTIC ACTIVITY comments of every Swiss-Prot flat-file entry."""
    records = 0
    with open(path, encoding="utf-8") as handle:
        for record in SwissProt.parse(handle):
            records += 1
            yield f"{record.description} ({record.organism.rstrip('.')})."
            for comment in record.comments:
                if comment.startswith(("FUNCTION:", "CATALYTIC ACTIVITY:", "PATHWAY:")):
                    yield " ".join(comment.split())
    if not records:
        raise ValueError("no Swiss-Prot entry found (is it a UniProt flat file?)")


def metabolic_model_texts(path: str | os.PathLike) -> Iterator[str]:
    """'reaction name: substrates -> products' lines of a metabolic model (SBML or BiGG JSON, read by cobra)."""
    import cobra

    path = Path(path)
    model = cobra.io.load_json_model(str(path)) if path.suffix == ".json" else cobra.io.read_sbml_model(str(path))
    for reaction in model.reactions:
        left = " + ".join(m.name or m.id for m in reaction.reactants)
        right = " + ".join(m.name or m.id for m in reaction.products)
        yield f"{reaction.name or reaction.id}: {left} -> {right}"


def build_corpus(descriptions: Iterable[str] = (), genbank: Iterable[str | os.PathLike] = (),
                 uniprot: Iterable[str | os.PathLike] = (), metabolic: Iterable[str | os.PathLike] = ()) -> list[str]:
    """All texts, descriptions first; a file that cannot be parsed raises an error naming it."""
    texts = [t for t in descriptions if t]
    for paths, reader in ((genbank, genbank_texts), (uniprot, uniprot_texts), (metabolic, metabolic_model_texts)):
        for path in paths:
            try:
                texts.extend(reader(path))
            except (ValueError, OSError, UnicodeDecodeError) as error:
                raise ValueError(f"{path}: cannot read annotation text ({error})") from error
    return texts


__all__ = ["build_corpus", "genbank_texts", "uniprot_texts", "metabolic_model_texts"]
