"""GTDB builder on the real R202 metadata/taxonomy excerpts (read in place), .gz/.tar.gz, download mode, bad input."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pyarrow as pa
import pytest

from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.gtdb import Gtdb, lineage_columns, parse_lineage
from tests.helpers.http_server import LoopbackArchive

KEY = "gtdb"
AR = "ar122_metadata_r202.first5.tsv"
BAC = "bac120_metadata_r202.first5.tsv"
TAX = "bac120_taxonomy_r202.first5.tsv"


@pytest.fixture(scope="module")
def gtdb(real_data_dir: Path) -> Path:
    return real_data_dir / KEY


@pytest.fixture(scope="module")
def archaea(gtdb, tmp_path_factory):
    b = Gtdb(cache_dir=str(tmp_path_factory.mktemp("ar")), data_files=str(gtdb / AR))
    b.download_and_prepare()
    return b.as_dataset("train")


def test_archaeal_metadata(archaea):
    assert archaea.num_rows == 4
    r = archaea[0]
    assert (r["accession"], r["ncbi_accession"]) == ("GB_GCA_000200715.1", "GCA_000200715.1")
    assert [r[k] for k in ("domain", "phylum", "class", "order", "family", "genus", "species")] == \
        ["Archaea", "Thermoproteota", "Nitrososphaeria", "Nitrososphaerales", "Nitrosopumilaceae", "Cenarchaeum",
         "Cenarchaeum symbiosum"]
    assert (r["checkm_completeness"], r["checkm_contamination"], r["genome_size"]) == (99.03, 0.0, 2045086)
    assert r["gc_percentage"] == pytest.approx(57.3798631198789) and r["contig_count"] == 6
    assert (r["ncbi_taxid"], r["ncbi_organism_name"]) == (414004, "Cenarchaeum symbiosum A")
    assert (r["gtdb_representative"], r["mimag_high_quality"], r["gtdb_type_species_of_genus"]) == (True, True, False)
    assert r["ncbi_genome_category"] == "derived from environmental sample"
    assert r["checkm2_completeness"] is None  # an R214+ column, absent from R202
    assert r["ncbi_isolation_source"].startswith("10-20 meters below sea level")
    assert (r["release"], r["file"], r["source"]) == ("GTDB R202", AR, KEY)
    assert archaea[1]["ncbi_isolation_source"] is None  # GTDB writes "none"


def test_bacterial_metadata_and_taxonomy(gtdb, tmp_path):
    bac = inspect_file(KEY, gtdb / BAC, sample=4)
    assert bac["rows"] == 4 and bac["release"] == "GTDB R202"
    first = bac["sample"][0]
    assert (first["accession"], first["genus"], first["species"]) == \
        ("GB_GCA_000013845.2", "Clostridium_P", "Clostridium_P perfringens")
    assert first["gtdb_genome_representative"] == "RS_GCF_000013285.1" and first["gtdb_representative"] is False
    tax = inspect_file(KEY, gtdb / TAX, sample=5)
    assert tax["rows"] == 5
    assert [s["ncbi_accession"] for s in tax["sample"]][:2] == ["GCF_014075335.1", "GCF_002310555.1"]
    assert {s["species"] for s in tax["sample"]} == {"Escherichia flexneri"}
    assert "checkm_completeness" not in tax["sample"][0]  # taxonomy files carry no metadata
    assert prepare_source(KEY, data_dir=gtdb, cache_dir=tmp_path).rows == 13


def test_gzip_and_tar_gz(gtdb, tmp_path):
    data = (gtdb / AR).read_bytes()
    (tmp_path / "ar53_metadata.tsv.gz").write_bytes(gzip.compress(data))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("ar122_metadata_r202.tsv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "ar122_metadata_r202.tar.gz").write_bytes(buffer.getvalue())
    plain = inspect_file(KEY, gtdb / AR, sample=4)["sample"]
    for name in ("ar53_metadata.tsv.gz", "ar122_metadata_r202.tar.gz"):
        info = inspect_file(KEY, tmp_path / name, sample=4)
        assert info["rows"] == 4 and info["sample"] == plain, name


def test_lineage_parser():
    assert parse_lineage("d__Archaea;p__Thaumarchaeota;c__;o__X;f__Y;g__Z;s__")["class"] is None
    with pytest.raises(ValueError, match="not a GTDB lineage"):
        parse_lineage("Archaea;Crenarchaeota;Nitrososphaeria")


def test_lineage_columns_match_the_lineage_parser(gtdb):
    """The Arrow-kernel lineage split (the prepare path) against parse_lineage, row for row: the real lineages,
    empty ranks, spaces (ASCII and no-break) around ranks, and texts that are not lineages."""
    real = [line.split("\t")[1].strip() for line in (gtdb / TAX).read_text().splitlines()]
    good = [*real, "d__Archaea;p__Thaumarchaeota;c__;o__X;f__Y;g__Z;s__", " d__A ; p__ B;c__C;o__;f__;g__;s__ S t ",
            "d__A;p__B;c__C;o__D;f__E;g__F;s__\u00a0Escherichia coli\u00a0"]
    bad = ["Archaea;Crenarchaeota;Nitrososphaeria", "d__A;p__B;c__C;o__D;f__E;g__F;s__G;x__H", "d__A;p__B;c__C;o__D;f__E;s__F;g__G",
           "", "p__A;d__B;c__C;o__D;f__E;g__F;s__G"]
    ranks, flagged = lineage_columns(pa.array(good + bad, pa.string()))
    assert flagged.tolist() == list(range(len(good), len(good) + len(bad)))
    for i, text in enumerate(good):
        assert {rank: ranks[rank][i].as_py() for rank in ranks} == parse_lineage(text), text
    for text in bad:
        with pytest.raises(ValueError, match="not a GTDB lineage"):
            parse_lineage(text)


# ------------------------------------------------------------------ download mode (loopback data server)


def test_download_latest_both_domains(gtdb, tmp_path, monkeypatch):
    with LoopbackArchive() as server:
        server.add("/releases/latest/bac120_metadata.tsv.gz", gzip.compress((gtdb / BAC).read_bytes()),
                   content_type="application/gzip", fail_first=[(503, {"Retry-After": "0"})])
        server.add("/releases/latest/ar53_metadata.tsv.gz", gzip.compress((gtdb / AR).read_bytes()),
                   content_type="application/gzip")
        monkeypatch.setenv("ASTROBIO_GTDB_URL", server.url("/releases"))
        result = prepare_source(KEY, cache_dir=tmp_path)
    assert result.rows == 8
    assert [(r.path, r.status) for r in server.requests] == [
        ("/releases/latest/bac120_metadata.tsv.gz", 503), ("/releases/latest/bac120_metadata.tsv.gz", 200),
        ("/releases/latest/ar53_metadata.tsv.gz", 200)]


def test_download_numbered_release_paths(gtdb, tmp_path):
    with LoopbackArchive() as server:
        server.add("/r/release202/202.0/ar122_taxonomy_r202.tsv.gz", gzip.compress((gtdb / TAX).read_bytes()))
        b = Gtdb(cache_dir=str(tmp_path), base_url=server.url("/r"), release=202, domain="archaea", kind="taxonomy")
        b.download_and_prepare()
    ds = b.as_dataset("train")
    assert ds.num_rows == 5 and ds[0]["release"].startswith("GTDB 202: release202/202.0/ar122_taxonomy_r202.tsv.gz")
    assert [r.query for r in server.requests] == [{}]
    assert [req.path for req in Gtdb(cache_dir=str(tmp_path), release="220", domain="archaea").download_requests()] \
        == ["release220/220.0/ar53_metadata_r220.tsv.gz"]
    with pytest.raises(ValueError, match="domain must be one of"):
        Gtdb(cache_dir=str(tmp_path), domain="viruses")


# ------------------------------------------------------------------ malformed input (from the real files)


@pytest.fixture(scope="module")
def ar_lines(gtdb) -> list[str]:
    return (gtdb / AR).read_text().splitlines(keepends=True)


def _bad(tmp_path: Path, name: str, data: str | bytes) -> SourceFormatError:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert info.value.file == str(path.resolve())
    return info.value


def _edit(lines: list[str], line: int, column: str, value: str) -> str:
    header = lines[0].rstrip("\n").split("\t")
    fields = lines[line - 1].rstrip("\n").split("\t")
    fields[header.index(column)] = value
    return "".join(lines[: line - 1]) + "\t".join(fields) + "\n" + "".join(lines[line:])


def test_truncated_row(ar_lines, tmp_path):
    err = _bad(tmp_path, "cut_metadata.tsv", "".join(ar_lines)[:-300])
    assert err.location == "line 5" and "expected 110 fields" in err.message and "truncated" in err.message


def test_bad_value_and_lineage(ar_lines, tmp_path):
    err = _bad(tmp_path, "v.tsv", _edit(ar_lines, 3, "checkm_completeness", "ninety"))
    assert err.location == "row 2 (line 3), field checkm_completeness" and "'ninety' is not a valid float64" in err.message
    err = _bad(tmp_path, "l.tsv", _edit(ar_lines, 4, "gtdb_taxonomy", "Archaea;Thermoproteota"))
    assert err.location == "row 3 (line 4), field gtdb_taxonomy" and "not a GTDB lineage" in err.message


def test_wrong_delimiter_missing_column_truncated_gzip(ar_lines, gtdb, tmp_path):
    err = _bad(tmp_path, "c.tsv", "".join(line.replace("\t", ",") for line in ar_lines))
    assert err.location == "line 1" and "looks ','-delimited" in err.message
    header = ar_lines[0].split("\t")
    drop = header.index("gtdb_taxonomy")
    text = "".join("\t".join(f for i, f in enumerate(line.rstrip("\n").split("\t")) if i != drop) + "\n"
                   for line in ar_lines)
    err = _bad(tmp_path, "m.tsv", text)
    assert err.location == "column gtdb_taxonomy" and "missing required column" in err.message
    gz = gzip.compress((gtdb / AR).read_bytes() * 20)
    err = _bad(tmp_path, "cut.tsv.gz", gz[: len(gz) * 2 // 3])
    assert "end-of-stream" in err.message or "truncated" in err.message
    assert _bad(tmp_path, "e.tsv", "").message == "file is empty"
