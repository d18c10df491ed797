"""Ensembl builder on the real release-97 GTF and peptide FASTA (read in place), FTP/REST download mode, bad input."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.ensembl import Ensembl, parse_gff3_attributes, parse_gtf_attributes
from tests.helpers.http_server import LoopbackArchive

KEY = "ensembl"
GTF = "human.ensembl.97.patch.gtf"
PEP = "human.ensembl.97.patch.pep.fa"


@pytest.fixture(scope="module")
def ens(real_data_dir: Path) -> Path:
    return real_data_dir / KEY


@pytest.fixture(scope="module")
def gtf(ens, tmp_path_factory):
    b = Ensembl(cache_dir=str(tmp_path_factory.mktemp("gtf")), data_files=str(ens / GTF))
    b.download_and_prepare()
    return b.as_dataset("train")


def test_gtf_features(gtf, ens):
    assert gtf.num_rows == 50
    native = Counter(line.split("\t")[2] for line in (ens / GTF).read_text().splitlines() if not line.startswith("#"))
    assert Counter(gtf["feature"]) == native and native["exon"] == 23 and native["gene"] == 3
    genes = {r["gene_name"]: r for r in gtf if r["feature"] == "gene"}
    assert set(genes) == {"MT-RNR1", "MT-CYB", "XYLT1"}
    cyb = genes["MT-CYB"]
    assert (cyb["seqname"], cyb["start"], cyb["end"], cyb["strand"], cyb["annotation_source"]) == \
        ("MT", 14747, 15887, "+", "insdc")
    assert cyb["source"] == KEY  # provenance
    assert (cyb["id"], cyb["gene_id"], cyb["gene_biotype"], cyb["length"]) == \
        ("ENSG00000198727", "ENSG00000198727", "protein_coding", 1141)
    assert cyb["score"] is None and cyb["frame"] is None and cyb["assembly"] == "GRCh38"
    assert cyb["release"] == "GRCh38.p12 genebuild 2019-03" and cyb["file"] == GTF
    cds = next(r for r in gtf if r["feature"] == "CDS" and r["gene_name"] == "MT-CYB")
    assert cds["frame"] == 0 and cds["id"] == cds["protein_id"] == "ENSP00000354554" and cds["exon_number"] == 1
    xylt1 = next(r for r in gtf if r["feature"] == "transcript" and r["transcript_id"] == "ENST00000644858")
    assert (xylt1["seqname"], xylt1["strand"], xylt1["transcript_name"]) == ("CHR_HG2263_PATCH", "-", "XYLT1-207")
    assert {"key": "tag", "value": "basic"} in xylt1["attributes"]
    exon = next(r for r in gtf if r["feature"] == "exon" and r["exon_id"] == "ENSE00003822481")
    assert exon["id"] == "ENSE00003822481" and exon["exon_number"] == 1 and exon["transcript_id"] == "ENST00000644858"


def test_peptides_match_the_gtf(ens, gtf):
    info = inspect_file(KEY, ens / PEP, sample=5)
    assert info["rows"] == 2
    cyb, xylt1 = info["sample"]
    assert (cyb["id"], cyb["protein_id"], cyb["gene_id"], cyb["transcript_id"]) == \
        ("ENSP00000354554.2", "ENSP00000354554", "ENSG00000198727", "ENST00000361789")
    assert (cyb["feature"], cyb["gene_name"], cyb["length"], cyb["sequence"][:10]) == ("pep", "MT-CYB", 380, "MTPMRKTNPL")
    assert cyb["description"] == "mitochondrially encoded cytochrome b [Source:HGNC Symbol;Acc:HGNC:7427]"
    gene = next(r for r in gtf if r["feature"] == "gene" and r["gene_name"] == "MT-CYB")
    assert (cyb["seqname"], cyb["start"], cyb["end"], cyb["strand"]) == (gene["seqname"], gene["start"], gene["end"], "+")
    assert xylt1["strand"] == "-" and xylt1["seqname"] == "CHR_HG2263_PATCH" and xylt1["length"] == 959


def test_data_dir_and_feature_filter(ens, tmp_path):
    assert prepare_source(KEY, data_dir=ens, cache_dir=tmp_path).rows == 52
    genes = inspect_file(KEY, ens / GTF, feature_types="gene,CDS")
    assert genes["rows"] == 3 + 13


def _gff3_from_gtf(ens: Path) -> str:
    """A GFF3 file written from the real GTF's MT-CYB lines in Ensembl's GFF3 layout (typed ids, Parent,
    percent-encoded values). SYNTHETIC in form, real in values: there is no real Ensembl GFF3 file here."""
    rows = [line.split("\t") for line in (ens / GTF).read_text().splitlines()
            if not line.startswith("#") and 'gene_name "MT-CYB"' in line]
    out = ["##gff-version 3", "#!genome-build GRCh38.p12", "##sequence-region   MT 1 16569"]
    attrs = {"gene": "ID=gene:ENSG00000198727;Name=MT-CYB;biotype=protein_coding;description=cytochrome b%3B "
                     "mitochondrial;gene_id=ENSG00000198727;version=2",
             "transcript": "ID=transcript:ENST00000361789;Parent=gene:ENSG00000198727;Name=MT-CYB-201;"
                           "biotype=protein_coding;transcript_id=ENST00000361789;version=2",
             "exon": "Parent=transcript:ENST00000361789;Name=ENSE00001436646;exon_id=ENSE00001436646;rank=1",
             "CDS": "ID=CDS:ENSP00000354554;Parent=transcript:ENST00000361789;protein_id=ENSP00000354554"}
    for r in rows:
        if r[2] in attrs:
            out.append("\t".join([r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], attrs[r[2]]]))
            out.append("###")
    return "\n".join(out) + "\n"


def test_gff3(ens, tmp_path):
    path = tmp_path / "mt.gff3"
    path.write_text(_gff3_from_gtf(ens))
    info = inspect_file(KEY, path, sample=10)
    assert info["rows"] == 4 and info["release"] == "GRCh38.p12"
    gene, transcript, exon, cds = info["sample"]
    assert (gene["id"], gene["gene_id"], gene["gene_name"], gene["gene_biotype"]) == \
        ("gene:ENSG00000198727", "ENSG00000198727", "MT-CYB", "protein_coding")
    assert gene["description"] == "cytochrome b; mitochondrial"  # %3B decoded
    assert (transcript["gene_id"], transcript["transcript_id"], transcript["transcript_name"]) == \
        ("ENSG00000198727", "ENST00000361789", "MT-CYB-201")
    assert (exon["transcript_id"], exon["exon_id"], exon["exon_number"]) == ("ENST00000361789", "ENSE00001436646", 1)
    assert (cds["protein_id"], cds["frame"], cds["start"], cds["end"]) == ("ENSP00000354554", 0, 14747, 15887)


def test_attribute_parsers():
    assert parse_gtf_attributes('gene_id "G1"; exon_number 3; note "a \\"q\\"; b";') == \
        [("gene_id", "G1"), ("exon_number", "3"), ("note", 'a "q"; b')]
    assert parse_gff3_attributes("ID=a;Dbxref=x%2Cy,z;") == [("ID", "a"), ("Dbxref", "x,y,z")]
    with pytest.raises(ValueError, match="cannot parse attribute"):
        parse_gtf_attributes('gene_id "G1"; "dangling')


def _reference_gtf_row(line: str, assembly: str | None) -> dict:
    """One GTF line by the rules of docs/SOURCES and the builder's docstring, in plain Python (the parity reference
    of the Arrow-kernel table path)."""
    fields = [field.strip() for field in line.rstrip("\n").split("\t")]  # typed columns are trimmed
    attrs = dict(parse_gtf_attributes(fields[8]))
    start, end = int(fields[3]), int(fields[4])
    null = lambda v: None if v == "." else v  # noqa: E731
    ids = {k: attrs.get(k) for k in ("gene_id", "gene_name", "gene_biotype", "transcript_id", "transcript_name",
                                     "transcript_biotype", "protein_id", "exon_id")}
    try:
        exon_number = int(attrs.get("exon_number")) if attrs.get("exon_number") else None
    except ValueError:
        exon_number = None
    feature = fields[2]
    ident = (ids["exon_id"] if feature == "exon" else ids["protein_id"] if feature == "CDS"
             else ids["gene_id"] if feature == "gene" else ids["transcript_id"] or ids["gene_id"])
    return {"record_type": "gtf", "seqname": fields[0], "annotation_source": null(fields[1]), "feature": feature,
            "start": start, "end": end, "score": None if fields[5] == "." else float(fields[5]),
            "strand": null(fields[6]) or ".", "frame": None if fields[7] == "." else int(fields[7]), "id": ident,
            "parent": None, **ids, "exon_number": exon_number, "description": None, "assembly": assembly,
            "length": end - start + 1, "sequence": None,
            "attributes": [{"key": k, "value": v} for k, v in parse_gtf_attributes(fields[8])]}


def _prepared_rows(path: Path, tmp_path: Path) -> list[dict]:
    b = Ensembl(cache_dir=str(tmp_path / path.stem), data_files=str(path))
    b.download_and_prepare()
    return [{k: v for k, v in r.items() if k not in ("source", "release", "file")} for r in b.as_dataset("train")]


def test_gtf_table_path_matches_the_python_reference_row_for_row(ens, gtf_lines, tmp_path):
    real = [line for line in gtf_lines if not line.startswith("#")]
    assert _prepared_rows(ens / GTF, tmp_path) == [_reference_gtf_row(line, "GRCh38") for line in real]
    # the corners the real file lacks: a repeated key, an empty transcript id, a non-integer exon number, a
    # score, a ';' and escaped quotes inside a value, bare values, no strand, a no-break space, and a control
    # character that the table path uses as a separator (that chunk takes the Python path)
    corners = [
        'X\tsrc\ttranscript\t5\t9\t0.5\t.\t.\tgene_id "G1"; transcript_id ""; tag "a"; tag "b";\n',
        'X\tsrc\texon\t5\t9\t.\t+\t.\tgene_id "G1"; exon_number "2.5"; exon_id "E1"; note "x; \\"y\\"";\n',
        'X\tsrc\tCDS\t5\t9\t.\t-\t2\tgene_id G1; protein_id P1; exon_number 07\n',
        'X\tsrc\tgene\t5\t5\t.\t+\t.\tgene_id "G1"; note "a\u00a0b"; tag "t\x1fu";\u00a0\n',
    ]
    path = tmp_path / "corners.gtf"
    path.write_text("#!genome-build GRCh38.p14\n" + "".join(corners), encoding="utf-8")
    assert _prepared_rows(path, tmp_path) == [_reference_gtf_row(line, "GRCh38.p14") for line in corners]


# ------------------------------------------------------------------ download mode (loopback FTP and REST)


def test_download_ftp_gtf_path_and_retry(ens, tmp_path, monkeypatch):
    path = "/pub/release-97/gtf/homo_sapiens/Homo_sapiens.GRCh38.97.gtf.gz"
    with LoopbackArchive() as server:
        server.add(path, gzip.compress((ens / GTF).read_bytes()), content_type="application/gzip",
                   fail_first=[(503, {"Retry-After": "0"})])
        monkeypatch.setenv("ASTROBIO_ENSEMBL_URL", server.url("/pub"))
        result = prepare_source(KEY, cache_dir=tmp_path, release=97)
    assert result.rows == 50
    assert [(r.path, r.status) for r in server.requests] == [(path, 503), (path, 200)]


def test_download_ftp_pep_and_gff3_chromosome_paths(ens, tmp_path):
    with LoopbackArchive() as server:
        server.add("/pub/release-97/fasta/homo_sapiens/pep/Homo_sapiens.GRCh38.pep.all.fa.gz",
                   gzip.compress((ens / PEP).read_bytes()))
        server.add("/pub/release-97/gff3/homo_sapiens/Homo_sapiens.GRCh38.97.chromosome.MT.gff3.gz",
                   gzip.compress(_gff3_from_gtf(ens).encode()))
        pep = Ensembl(cache_dir=str(tmp_path), base_url=server.url("/pub"), kind="pep", release=97)
        pep.download_and_prepare()
        gff = Ensembl(cache_dir=str(tmp_path), base_url=server.url("/pub"), kind="gff3", release=97, chromosome="MT")
        gff.download_and_prepare()
    assert pep.as_dataset("train").num_rows == 2 and gff.as_dataset("train").num_rows == 4
    assert [r.status for r in server.requests] == [200, 200]


# A SYNTHETIC REST lookup answer in the documented /lookup/id layout, with MT-CYB's values from the real GTF.
LOOKUP = {"id": "ENSG00000198727", "object_type": "Gene", "display_name": "MT-CYB", "biotype": "protein_coding",
          "species": "homo_sapiens", "seq_region_name": "MT", "start": 14747, "end": 15887, "strand": 1,
          "assembly_name": "GRCh38", "version": 2, "source": "insdc", "logic_name": "mt_genbank_import",
          "db_type": "core", "description": "mitochondrially encoded cytochrome b [Source:HGNC Symbol;Acc:HGNC:7427]",
          "canonical_transcript": "ENST00000361789.2"}


def test_download_rest_lookup_and_overlap(tmp_path, monkeypatch):
    overlap = [{**LOOKUP, "feature_type": "gene", "external_name": "MT-CYB", "gene_id": "ENSG00000198727"}]
    del overlap[0]["object_type"], overlap[0]["display_name"]
    with LoopbackArchive() as server:
        server.add("/lookup/id/ENSG00000198727", json.dumps(LOOKUP).encode(), content_type="application/json",
                   fail_first=[(503, {"Retry-After": "0"})])
        server.add("/overlap/region/homo_sapiens/MT:14000-16000", json.dumps(overlap).encode(),
                   content_type="application/json")
        monkeypatch.setenv("ASTROBIO_ENSEMBL_REST_URL", server.url())
        look = Ensembl(cache_dir=str(tmp_path), kind="lookup", ids="ENSG00000198727")
        look.download_and_prepare()
        over = Ensembl(cache_dir=str(tmp_path), kind="overlap", region="MT:14000-16000")
        over.download_and_prepare()
    lookup_req, lookup_ok, overlap_req = server.requests
    assert lookup_ok.path == "/lookup/id/ENSG00000198727" and lookup_ok.query == {"content-type": ["application/json"]}
    assert overlap_req.query == {"feature": ["gene"], "content-type": ["application/json"]}
    for ds in (look.as_dataset("train"), over.as_dataset("train")):
        row = ds[0]
        assert ds.num_rows == 1 and row["record_type"] == "rest" and row["feature"] == "gene"
        assert (row["gene_id"], row["gene_name"], row["gene_biotype"]) == ("ENSG00000198727", "MT-CYB", "protein_coding")
        assert (row["seqname"], row["start"], row["end"], row["strand"], row["assembly"]) == \
            ("MT", 14747, 15887, "+", "GRCh38")
        assert {"key": "logic_name", "value": "mt_genbank_import"} in row["attributes"]
    assert look.as_dataset("train")[0]["release"].startswith("Ensembl REST lookup/id/ENSG00000198727 (retrieved ")


def test_download_rest_needs_ids_or_region(tmp_path):
    with pytest.raises(ValueError, match="needs ids="):
        Ensembl(cache_dir=str(tmp_path), kind="lookup").download_and_prepare()
    with pytest.raises(ValueError, match="chromosome="):
        Ensembl(cache_dir=str(tmp_path), kind="gtf", chromosome="MT")


# ------------------------------------------------------------------ malformed input (from the real GTF)


@pytest.fixture(scope="module")
def gtf_lines(ens) -> list[str]:
    return (ens / GTF).read_text().splitlines(keepends=True)


def _bad(tmp_path: Path, name: str, data: str | bytes) -> SourceFormatError:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert info.value.file == str(path.resolve())
    return info.value


def _edit(lines: list[str], number: int, column: int, value: str) -> str:
    fields = lines[number - 1].rstrip("\n").split("\t")
    fields[column] = value
    return "".join(lines[: number - 1]) + "\t".join(fields) + "\n" + "".join(lines[number:])


def test_short_line(gtf_lines, tmp_path):
    text = "".join(gtf_lines[:20]) + "\t".join(gtf_lines[20].split("\t")[:8]) + "\n" + "".join(gtf_lines[21:])
    err = _bad(tmp_path, "short.gtf", text)
    assert err.location == "line 21" and "expected 9 tab-separated fields, found 8" in err.message


def test_bad_coordinate_and_order(gtf_lines, tmp_path):
    err = _bad(tmp_path, "start.gtf", _edit(gtf_lines, 12, 3, "12x"))
    assert err.location == "line 12, field start" and "'12x' is not a valid int64" in err.message
    err = _bad(tmp_path, "order.gtf", _edit(gtf_lines, 12, 4, "10"))
    assert err.location == "line 12, field end" and "before start" in err.message


def test_bad_attributes(gtf_lines, tmp_path):
    err = _bad(tmp_path, "attr.gtf", _edit(gtf_lines, 9, 8, 'gene_id "ENSG00000211459; gene_version "2";'))
    assert err.location == "line 9, field attributes" and "cannot parse attribute" in err.message
    # the first bad row in file order is named, whichever check it fails
    both = _edit(_edit(gtf_lines, 12, 4, "10").splitlines(keepends=True), 15, 8, 'gene_id "unterminated;')
    assert _bad(tmp_path, "both.gtf", both).location == "line 12, field end"
    both = _edit(_edit(gtf_lines, 15, 4, "10").splitlines(keepends=True), 12, 8, 'gene_id "unterminated;')
    assert _bad(tmp_path, "both2.gtf", both).location == "line 12, field attributes"
    # rows that feature_types leaves out are not read
    exon_line = next(i for i, line in enumerate(gtf_lines, 1) if not line.startswith("#") and "\texon\t" in line)
    path = tmp_path / "bad_exon.gtf"
    path.write_text(_edit(gtf_lines, exon_line, 8, 'gene_id "unterminated;'))
    assert inspect_file(KEY, path, feature_types="gene")["rows"] == 3


def test_rest_error_answer_and_truncated_gzip(gtf_lines, tmp_path):
    err = _bad(tmp_path, "e.json", '{"error": "ID \'X\' not found"}')
    assert err.location == "error" and "the REST answer is an error: ID 'X' not found" in err.message
    err = _bad(tmp_path, "cut.json", json.dumps([LOOKUP])[:-30])
    assert "not a JSON document" in err.message
    gz = gzip.compress("".join(gtf_lines).encode())
    err = _bad(tmp_path, "cut.gtf.gz", gz[: len(gz) // 2])
    assert "cannot read" in err.message and "end-of-stream marker" in err.message
