"""NCBI GenBank builder on the real NC_005816 files (read in place), E-utilities download mode, bad input."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from astrobio_hf.data.modalities.organism_networks import ec_numbers_from_genbank
from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.ncbi_genbank import NcbiGenbank
from tests.helpers.http_server import LoopbackArchive

KEY = "ncbi_genbank"


@pytest.fixture(scope="module")
def ncbi(real_data_dir: Path) -> Path:
    return real_data_dir / KEY


@pytest.fixture(scope="module")
def gb_row(ncbi, tmp_path_factory) -> dict:
    b = NcbiGenbank(cache_dir=str(tmp_path_factory.mktemp("gb")), data_files=str(ncbi / "NC_005816.gb"))
    b.download_and_prepare()
    ds = b.as_dataset("train")
    assert ds.num_rows == 1
    return ds[0]


def test_genbank_record_row(gb_row, ncbi):
    r = gb_row
    assert (r["record_type"], r["id"], r["accession"], r["version"], r["name"]) == \
        ("genbank", "NC_005816.1", "NC_005816", 1, "NC_005816")
    assert r["definition"] == "Yersinia pestis biovar Microtus str. 91001 plasmid pPCP1, complete sequence"
    assert r["organism"] == "Yersinia pestis biovar Microtus str. 91001" and r["taxid"] == 229193
    assert r["taxonomy"][0] == "Bacteria" and r["taxonomy"][-1] == "Yersinia"
    assert (r["molecule_type"], r["topology"], r["division"], r["date"]) == ("DNA", "circular", "BCT", "21-JUL-2008")
    assert r["length"] == 9609 and len(r["sequence"]) == 9609 and r["sequence"].startswith("TGTAACGAACGGTGCAATAG")
    assert (r["n_genes"], r["n_cds"], r["n_rrna"], r["n_trna"]) == (10, 10, 0, 0)
    assert r["n_features"] == 41
    assert r["ec_numbers"] == ["3.4.23.48"]
    assert r["products"][0] == "putative transposase" and "outer membrane protease" in r["products"]
    assert len(r["products"]) == 10 and r["protein_ids"][0] == "NP_995567.1"
    assert r["dbxrefs"] == ["Project:58037"]
    assert (r["source"], r["file"], r["release"]) == (KEY, "NC_005816.gb", "")
    # the same EC numbers the organism-network pipeline reads from this file
    assert set(r["ec_numbers"]) == set(ec_numbers_from_genbank(ncbi / "NC_005816.gb"))


def test_fasta_files_rows_match_the_genbank_record(ncbi, gb_row):
    counts = {s: inspect_file(KEY, ncbi / f"NC_005816.{s}", sample=10) for s in ("gb", "fna", "faa", "ffn")}
    assert {s: info["rows"] for s, info in counts.items()} == {"gb": 1, "fna": 1, "faa": 10, "ffn": 10}
    fna = counts["fna"]["sample"][0]
    assert fna["id"] == "NC_005816.1" and fna["sequence"] == gb_row["sequence"] and fna["molecule_type"] == "DNA"
    faa = counts["faa"]["sample"]
    assert [e["id"] for e in faa] == gb_row["protein_ids"]  # the .faa holds the record's CDS translations
    assert faa[0]["definition"] == "putative transposase" and faa[0]["length"] == 340
    assert faa[0]["organism"] == "Yersinia pestis biovar Microtus str. 91001" and faa[0]["molecule_type"] == "protein"
    ffn = counts["ffn"]["sample"]
    assert ffn[0]["name"] == "ref|NC_005816.1|:87-1109" and ffn[0]["length"] == 1109 - 87 + 1
    # the .ffn titles are the CDS products (hypothetical proteins carry their locus tag: "... YP_pPCP04")
    assert all(e["definition"].startswith(p) for e, p in zip(ffn, gb_row["products"], strict=True))


def test_data_dir_reads_all_formats(ncbi, tmp_path):
    result = prepare_source(KEY, data_dir=ncbi, cache_dir=tmp_path)
    assert result.rows == 22 and "ec_numbers" in result.columns
    again = prepare_source(KEY, data_dir=ncbi, cache_dir=tmp_path)
    assert again.from_cache and again.rows == 22


def test_gzip_and_no_sequence(ncbi, tmp_path):
    gz = tmp_path / "NC_005816.gb.gz"
    gz.write_bytes(gzip.compress((ncbi / "NC_005816.gb").read_bytes()))
    info = inspect_file(KEY, gz)
    assert info["rows"] == 1 and info["sample"][0]["length"] == 9609
    lean = inspect_file(KEY, ncbi / "NC_005816.faa", include_sequence=False)
    assert lean["rows"] == 10 and "sequence" not in lean["sample"][0]


# ------------------------------------------------------------------ download mode (loopback E-utilities)

# A SYNTHETIC esearch answer following NCBI's documented JSON layout (retmode=json).
ESEARCH = {"header": {"type": "esearch", "version": "0.3"},
           "esearchresult": {"count": "2", "retmax": "2", "retstart": "0", "idlist": ["45478711", "NC_005816.1"],
                             "translationset": [], "querytranslation": "pPCP1[All Fields]"}}


def test_download_esearch_then_batched_efetch_with_api_key(ncbi, tmp_path, monkeypatch, caplog):
    key = "ncbi-key-0123456789abcdef"
    monkeypatch.setenv("NCBI_API_KEY", key)
    monkeypatch.setenv("NCBI_EMAIL", "someone@example.org")
    caplog.set_level(logging.DEBUG)
    with LoopbackArchive() as server:
        server.add("/entrez/eutils/esearch.fcgi", json.dumps(ESEARCH).encode(), content_type="application/json")
        server.add("/entrez/eutils/efetch.fcgi", ncbi / "NC_005816.gb", content_type="text/plain",
                   fail_first=[(503, {"Retry-After": "0"})])
        monkeypatch.setenv("ASTROBIO_NCBI_GENBANK_URL", server.url("/entrez/eutils"))
        builder = NcbiGenbank(cache_dir=str(tmp_path / "cache"), term="pPCP1", retmax=5, batch_size=1)
        assert builder.http_client().min_interval_s == pytest.approx(0.1)  # 10 requests/s with a key
        builder.download_and_prepare()
    ds = builder.as_dataset("train")
    assert ds.num_rows == 2 and set(ds["id"]) == {"NC_005816.1"}
    search, *fetches = server.requests
    assert search.path == "/entrez/eutils/esearch.fcgi"
    assert {k: v[0] for k, v in search.query.items()} == {
        "db": "nucleotide", "term": "pPCP1", "retmax": "5", "retmode": "json", "tool": "astrobio-hf",
        "email": "someone@example.org", "api_key": key}
    assert [r.status for r in fetches] == [503, 200, 200]
    assert [r.query["id"] for r in fetches[1:]] == [["45478711"], ["NC_005816.1"]]
    for r in fetches:
        assert (r.query["db"], r.query["rettype"], r.query["retmode"], r.query["api_key"]) == \
            (["nucleotide"], ["gb"], ["text"], [key])
    assert ds[0]["release"].startswith("E-utilities efetch db=nucleotide rettype=gb (term='pPCP1'; ids 1-1 of 2)")
    # the key never reaches logs, cache files, file names or provenance
    assert key not in caplog.text and "esearch.fcgi" in caplog.text
    for path in (tmp_path / "cache").rglob("*"):
        assert key not in path.name
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    assert not any(key in r for r in ds["release"])


def test_download_ids_skip_esearch_and_rate_without_key(ncbi, tmp_path, monkeypatch):
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    with LoopbackArchive() as server:
        server.add("/eutils/efetch.fcgi", ncbi / "NC_005816.gb", content_type="text/plain")
        b = NcbiGenbank(cache_dir=str(tmp_path), base_url=server.url("/eutils"), ids="NC_005816.1")
        assert b.http_client().min_interval_s == pytest.approx(0.34)  # NCBI: 3 requests/s without a key
        b.download_and_prepare()
    assert [r.path for r in server.requests] == ["/eutils/efetch.fcgi"]
    assert server.requests[0].query["id"] == ["NC_005816.1"] and "api_key" not in server.requests[0].query
    assert b.as_dataset("train")[0]["ec_numbers"] == ["3.4.23.48"]


def test_download_esearch_without_hits_and_without_query(tmp_path):
    empty = {"esearchresult": {"count": "0", "retmax": "0", "idlist": []}}
    with LoopbackArchive() as server:
        server.add("/e/esearch.fcgi", json.dumps(empty).encode(), content_type="application/json")
        b = NcbiGenbank(cache_dir=str(tmp_path), base_url=server.url("/e"), term="no such thing")
        with pytest.raises(SourceFormatError, match="matched no nucleotide records"):
            b.download_and_prepare()
    with pytest.raises(ValueError, match="needs term="):
        NcbiGenbank(cache_dir=str(tmp_path / "x"), base_url="http://127.0.0.1:9").download_and_prepare()


# ------------------------------------------------------------------ malformed input (from the real files)


@pytest.fixture(scope="module")
def gb_text(ncbi) -> str:
    return (ncbi / "NC_005816.gb").read_text()


def _bad(tmp_path: Path, name: str, text: str | bytes) -> SourceFormatError:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert info.value.file == str(path.resolve())
    return info.value


def test_truncated_genbank(gb_text, tmp_path):
    err = _bad(tmp_path, "cut.gb", gb_text[: len(gb_text) // 2])
    assert err.location.startswith("record 1") and "near line" in err.location and "bad GenBank record" in err.message


def test_genbank_without_terminator_is_an_error_not_a_warning(gb_text, tmp_path):
    err = _bad(tmp_path, "noend.gb", gb_text.replace("\n//", ""))
    assert "record 1" in err.location and "Premature end of file" in err.message


def test_bad_ec_number_names_record_and_cds(gb_text, tmp_path):
    err = _bad(tmp_path, "ec.gb", gb_text.replace('/EC_number="3.4.23.48"', '/EC_number="3.4.x"'))
    assert err.location == "record 1 (NC_005816.1), CDS YP_pPCP08, qualifier /EC_number"
    assert "'3.4.x' is not an EC number" in err.message


def test_unknown_format_empty_and_non_utf8(gb_text, tmp_path):
    assert "neither a GenBank flat file" in _bad(tmp_path, "x.gb", "hello\n").message
    assert _bad(tmp_path, "empty.gb", "").message == "file is empty"
    data = gb_text.encode()
    err = _bad(tmp_path, "latin1.gb", data[:200] + b"\xe9" + data[200:])
    assert "not valid UTF-8" in err.message


def test_fasta_entry_without_sequence(ncbi, tmp_path):
    text = (ncbi / "NC_005816.faa").read_text()
    second = text.index(">", 1)
    err = _bad(tmp_path, "nosq.faa", text[:second] + ">gi|1|ref|NP_000000.1| empty entry\n" + text[second:])
    assert err.location.startswith("entry 2 (gi|1|ref|NP_000000.1|)") and err.message == "entry has no sequence"


def test_skip_mode_keeps_good_files(ncbi, gb_text, tmp_path):
    data = tmp_path / "dump"
    data.mkdir()
    (data / "good.gb").write_text(gb_text)
    (data / "bad.gb").write_text(gb_text[:3000])
    result = prepare_source(KEY, data_dir=data, cache_dir=tmp_path / "c", on_bad_file="skip")
    assert result.rows == 1 and [Path(s["file"]).name for s in result.skipped_files] == ["bad.gb"]
