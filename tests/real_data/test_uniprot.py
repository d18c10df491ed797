"""UniProt builder on the real Swiss-Prot/XML/FASTA/TSV files (read in place), cursor-paged download, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from astrobio_hf.data.modalities.organism_networks import ec_numbers_from_uniprot
from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.uniprot import TSV_FIELDS, Uniprot, split_protein_names
from tests.helpers.http_server import LoopbackArchive, RecordedRequest

KEY = "uniprot"
TSV = "uniprotkb_Human_AND_model_organism_9606_2024_08_07.head200.tsv"
ACCESSIONS = ["P00750", "P56540", "Q51858", "Q51481", "Q8NE62", "P00981", "P28799", "Q01436"]


@pytest.fixture(scope="module")
def uni(real_data_dir: Path) -> Path:
    return real_data_dir / KEY


@pytest.fixture(scope="module")
def entries(uni) -> dict[str, list[dict]]:
    return {fmt: inspect_file(KEY, uni / f"multi_ex.{fmt}", sample=8)["sample"] for fmt in ("txt", "xml", "fasta")}


def test_swissprot_text(entries):
    rows = entries["txt"]
    assert [r["accession"] for r in rows] == ACCESSIONS
    tpa = rows[0]
    assert (tpa["entry_name"], tpa["reviewed"], tpa["protein_name"], tpa["gene_names"]) == \
        ("TPA_HUMAN", True, "Tissue-type plasminogen activator", ["PLAT"])
    assert tpa["accessions"][:3] == ["P00750", "A8K022", "B2R8E8"] and len(tpa["accessions"]) == 10
    assert (tpa["organism"], tpa["taxid"], tpa["lineage"][0], tpa["lineage"][-1]) == \
        ("Homo sapiens (Human)", 9606, "Eukaryota", "Homo")
    assert tpa["ec_numbers"] == ["3.4.21.68"] and tpa["length"] == 562 and len(tpa["sequence"]) == 562
    assert tpa["function"].startswith("Converts the abundant, but inactive, zymogen plasminogen to plasmin")
    assert "Hydrolase" in tpa["keywords"] and tpa["format"] == "swissprot"
    assert rows[4]["ec_numbers"] == ["1.1.99.1"]  # Q8NE62 choline dehydrogenase
    assert [r["taxid"] for r in rows] == [9606, 1049, 297, 287, 9606, 8620, 9606, 10665]


def test_xml_and_fasta_agree_with_the_flat_text(entries):
    for txt, xml, fasta in zip(entries["txt"], entries["xml"], entries["fasta"], strict=True):
        for key in ("accession", "accessions", "entry_name", "reviewed", "taxid", "ec_numbers", "length", "sequence",
                    "gene_names", "lineage", "function", "protein_name"):
            assert xml.get(key) == txt.get(key), (txt["accession"], key)  # the sample leaves out empty values
        assert xml["format"] == "xml" and fasta["format"] == "fasta"
        assert (fasta["accession"], fasta["entry_name"], fasta["sequence"]) == \
            (txt["accession"], txt["entry_name"], txt["sequence"])
    tpa = entries["fasta"][0]
    assert (tpa["protein_name"], tpa["organism"], tpa["gene_names"], tpa["reviewed"]) == \
        ("Tissue-type plasminogen activator", "Homo sapiens", ["PLAT"], True)
    assert entries["fasta"][5]["gene_names"] == []  # P00981 has no GN= field


def test_ec_numbers_match_the_organism_network_reader(uni, tmp_path):
    txt = prepare_source(KEY, data_files=str(uni / "multi_ex.txt"), cache_dir=tmp_path)
    ds = Uniprot(cache_dir=str(tmp_path), data_files=str(uni / "multi_ex.txt")).as_dataset("train")
    assert txt.rows == 8
    assert {ec for row in ds["ec_numbers"] for ec in row} == set(ec_numbers_from_uniprot(uni / "multi_ex.txt"))


def test_tsv_download(uni, tmp_path):
    b = Uniprot(cache_dir=str(tmp_path), data_files=str(uni / TSV))
    b.download_and_prepare()
    ds = b.as_dataset("train")
    assert ds.num_rows == 200 and set(ds["format"]) == {"tsv"}
    first = ds[0]
    assert (first["accession"], first["entry_name"], first["reviewed"], first["length"]) == \
        ("A0A087X1C5", "CP2D7_HUMAN", True, 515)
    assert (first["protein_name"], first["ec_numbers"], first["gene_names"]) == \
        ("Putative cytochrome P450 2D7", ["1.14.14.1"], ["CYP2D7"])
    assert first["organism"] == "Homo sapiens (Human)" and first["taxid"] is None  # no Organism (ID) column
    assert len(first["sequence"]) == 515
    from_tsv = {ec for row in ds["ec_numbers"] for ec in row}
    assert from_tsv == set(ec_numbers_from_uniprot(uni / TSV))


def test_protein_names_column():
    assert split_protein_names("Putative serine/threonine-protein kinase SIK1B (EC 2.7.11.1) (Salt-inducible kinase "
                               "1B)") == (["Putative serine/threonine-protein kinase SIK1B", "Salt-inducible kinase 1B"],
                                          ["2.7.11.1"])
    assert split_protein_names("Granulins (Proepithelin) (PEPI) [Cleaved into: Acrogranin; Granulin-1]") == \
        (["Granulins", "Proepithelin", "PEPI"], [])
    assert split_protein_names("Protein (gene) X") == (["Protein (gene) X"], [])


def test_json_answer(entries, tmp_path):
    """A SYNTHETIC REST JSON answer in UniProt's documented layout, with P00750's values from the real files."""
    tpa = entries["txt"][0]
    answer = {"results": [{
        "entryType": "UniProtKB reviewed (Swiss-Prot)", "primaryAccession": "P00750",
        "secondaryAccessions": tpa["accessions"][1:], "uniProtkbId": "TPA_HUMAN",
        "organism": {"scientificName": "Homo sapiens", "commonName": "Human", "taxonId": 9606,
                     "lineage": tpa["lineage"]},
        "proteinDescription": {"recommendedName": {"fullName": {"value": tpa["protein_name"]},
                                                   "ecNumbers": [{"value": "3.4.21.68"}]}},
        "genes": [{"geneName": {"value": "PLAT"}}],
        "comments": [{"commentType": "FUNCTION", "texts": [{"value": tpa["function"]}]}],
        "keywords": [{"id": "KW-0378", "category": "Molecular function", "name": "Hydrolase"}],
        "sequence": {"value": tpa["sequence"], "length": 562}}]}
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(answer))
    row = inspect_file(KEY, path)["sample"][0]
    for key in ("accession", "accessions", "entry_name", "reviewed", "protein_name", "organism", "taxid", "lineage",
                "ec_numbers", "function", "length", "sequence", "gene_names"):
        assert row[key] == tpa[key], key
    assert row["keywords"] == ["Hydrolase"]


# ------------------------------------------------------------------ download mode (cursor pages over loopback)


def _two_pages(server: LoopbackArchive, uni: Path, path: str = "/uniprotkb/search"):
    """Serve the real TSV as two pages of 100 rows; page 1 carries Link rel="next" with a cursor."""
    lines = (uni / TSV).read_bytes().splitlines(keepends=True)
    pages = {None: lines[0] + b"".join(lines[1:101]), "c2": lines[0] + b"".join(lines[101:201])}

    def body(request: RecordedRequest) -> bytes:
        cursor = request.query.get("cursor", [None])[0]
        route = server.routes[("GET", path)]
        route.headers.clear()  # the helper sends a route's headers after calling this: set Link per page
        route.headers["X-Total-Results"] = "200"
        if cursor is None:
            route.headers["Link"] = f'<{server.url(path)}?query=organism_id%3A9606&format=tsv&size=100&cursor=c2>; ' \
                                    'rel="next"'
        return pages[cursor]

    server.add(path, body, content_type="text/plain; format=tsv", fail_first=[(503, {"Retry-After": "0"})])


def test_cursor_pagination_saves_each_page(uni, tmp_path, monkeypatch):
    with LoopbackArchive() as server:
        _two_pages(server, uni)
        monkeypatch.setenv("ASTROBIO_UNIPROT_URL", server.url())
        builder = Uniprot(cache_dir=str(tmp_path / "cache"), query="organism_id:9606", size=100)
        builder.download_and_prepare()
        ds = builder.as_dataset("train")
        assert ds.num_rows == 200 and ds[0]["accession"] == "A0A087X1C5" and ds[100]["file"].endswith("page0002.tsv")
        assert [r.status for r in server.requests] == [503, 200, 200]
        first, second = server.requests[1:]
        assert {k: v[0] for k, v in first.query.items()} == {"query": "organism_id:9606", "format": "tsv",
                                                             "size": "100", "fields": TSV_FIELDS}
        assert second.query["cursor"] == ["c2"]
        assert ds[0]["release"].startswith("UniProtKB REST search query='organism_id:9606' format=tsv page 1 of 200")
        saved = sorted(p.name.split("-", 1)[1] for p in (tmp_path / "cache" / "downloads").rglob("*") if p.is_file())
        assert saved == ["page0001.tsv", "page0002.tsv", "pages.json"]
        # the saved pages are reused by a fresh builder of the same query (no new request)
        again = Uniprot(cache_dir=str(tmp_path / "cache"), query="organism_id:9606", size=100)
        pairs = again.fetch(again.http_client(), next((tmp_path / "cache" / "downloads").rglob("astrobio/uniprot")))
        assert len(pairs) == 2 and len(server.requests) == 3


def test_pages_short_of_x_total_results_are_refused_and_not_replayed(uni, tmp_path):
    """The second page cut at a line boundary with no Content-Length: 185 entries, UniProt announced 200."""
    lines = (uni / TSV).read_bytes().splitlines(keepends=True)
    with LoopbackArchive() as server:
        _two_pages(server, uni)
        server.routes[("GET", "/uniprotkb/search")].send_length = False
        whole = server.routes[("GET", "/uniprotkb/search")].body

        def cut(request: RecordedRequest) -> bytes:
            body = whole(request)
            return body[: body.index(lines[186])] if request.query.get("cursor") else body

        server.routes[("GET", "/uniprotkb/search")].body = cut
        with pytest.raises(Exception, match="short answer: 185 entries parsed from 2 page.*reports 200"):
            prepare_source("uniprot", cache_dir=tmp_path, base_url=server.url(), query="organism_id:9606",
                           size=100, max_retries=1)
        assert not [p for p in tmp_path.rglob("*-page0*")]


def test_max_pages_and_missing_query(uni, tmp_path):
    with LoopbackArchive() as server:
        _two_pages(server, uni, "/api/uniprotkb/search")
        b = Uniprot(cache_dir=str(tmp_path), base_url=server.url("/api"), query="organism_id:9606", max_pages=1)
        b.download_and_prepare()
    assert b.as_dataset("train").num_rows == 100 and len(server.requests) == 2
    with pytest.raises(ValueError, match="needs query="):
        Uniprot(cache_dir=str(tmp_path / "x"), base_url="http://127.0.0.1:9").download_and_prepare()
    with pytest.raises(ValueError, match="size must be 1..500"):
        Uniprot(cache_dir=str(tmp_path), query="x", size=501)


# ------------------------------------------------------------------ malformed input (from the real files)


def _bad(tmp_path: Path, name: str, data: str | bytes) -> SourceFormatError:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert info.value.file == str(path.resolve())
    return info.value


@pytest.fixture(scope="module")
def sp_text(uni) -> str:
    return (uni / "multi_ex.txt").read_text()


def test_truncated_and_unknown_line_in_flat_text(sp_text, tmp_path):
    cut = sp_text.index("ID   CBBQ_PSEHY")  # entry 3 starts here
    err = _bad(tmp_path, "cut.txt", sp_text[: cut + 400])
    assert err.location.startswith("entry 3 (after P56540), near line") and "bad Swiss-Prot entry" in err.message
    err = _bad(tmp_path, "kw.txt", sp_text.replace("OX   NCBI_TaxID=1049;", "ZZ   NCBI_TaxID=1049;"))
    assert err.location.startswith("entry 2 (after P00750)") and "Unknown keyword 'ZZ'" in err.message


def test_bad_ec_in_de_line(sp_text, tmp_path):
    err = _bad(tmp_path, "ec.txt", sp_text.replace("EC=1.1.99.1;", "EC=1.1.99;"))
    assert err.location == "entry 5 (Q8NE62), DE line EC=" and "'1.1.99' is not an EC number" in err.message


def test_bad_tsv(uni, tmp_path):
    lines = (uni / TSV).read_text().splitlines(keepends=True)[:11]
    no_entry = "".join(line.split("\t", 1)[1] for line in lines)
    err = _bad(tmp_path, "a.tsv", no_entry)
    assert err.location == "line 1 (header)" and "none of the expected columns (Entry" in err.message
    fields = lines[4].split("\t")
    fields[6] = "long"
    err = _bad(tmp_path, "b.tsv", "".join(lines[:4]) + "\t".join(fields) + "".join(lines[5:]))
    assert err.location == "row 4 (line 5), field Length" and "'long' is not a valid int64" in err.message
    short = "".join(lines[:10]) + lines[10][:40]
    assert _bad(tmp_path, "c.tsv", short).location == "line 11"


def test_bad_fasta_and_xml(uni, tmp_path):
    fasta = (uni / "multi_ex.fasta").read_text().replace(">sp|P56540|CBBQ_CHRVI", ">P56540")
    err = _bad(tmp_path, "x.fasta", fasta)
    assert err.location.startswith("entry 2 (P56540)") and "db|accession|entry_name" in err.message
    xml = (uni / "multi_ex.xml").read_bytes()
    err = _bad(tmp_path, "cut.xml", xml[: len(xml) // 2])
    assert "bad UniProt XML" in err.message and err.location.startswith("entry")
    assert "not a UniProt file" in _bad(tmp_path, "n.txt", "hello world\n").message
