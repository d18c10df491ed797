"""One duplicate policy for every builder (issue 21, point 6), on mutated copies of the real files.

Identical repeated records are dropped and reported; two different records under one record key are
refused naming both rows; the key follows the table (a Kepler KOI table holds one row per KOI and delivery).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from astrobio_hf.data.prepare import prepare_source
from astrobio_hf.data.sources import SourceFormatError


def _prepare(key: str, path: Path, tmp_path: Path, **kwargs):
    return prepare_source(key, data_files=str(path), cache_dir=tmp_path / "cache", **kwargs)


def test_exoplanets_org_repeats_dropped_and_conflicts_refused(real_data_dir, tmp_path):
    lines = (real_data_dir / "exoplanets_org" / "exoplanets.csv").read_text().splitlines(keepends=True)
    head, rows = lines[:2], lines[2:42]
    path = tmp_path / "exoplanets.csv"
    path.write_text("".join(head + rows + rows[:5]))  # 40 planets + 5 repeats
    result = _prepare("exoplanets_org", path, tmp_path)
    assert result.rows == 40
    assert result.quality["exoplanets.csv"]["duplicate_rows_dropped"] == 5
    assert result.quality["exoplanets.csv"]["duplicated"][0] == rows[0].split(",")[0]
    changed = rows[3].replace(rows[3].split(",")[3], "99.5", 1)  # same NAME, another period
    path.write_text("".join(head + rows + [changed]))
    with pytest.raises(SourceFormatError, match=r"row 41: name 'Kepler-\S+ \w' appears again with different values "
                                                r"\(first at row 4\)"):
        _prepare("exoplanets_org", path, tmp_path / "b")


def test_gemini_genbank_gtdb_repeats_are_dropped_and_reported(real_data_dir, tmp_path):
    records = json.loads((real_data_dir / "gemini" / "m101.json").read_text())
    gemini = tmp_path / "m101.json"
    gemini.write_text(json.dumps(records[:40] + records[:5]))
    assert _prepare("gemini_archive", gemini, tmp_path / "g").rows == 40

    faa = (real_data_dir / "ncbi_genbank" / "NC_005816.faa").read_text()
    first = ">" + faa.split(">")[1]
    genbank = tmp_path / "NC_005816.faa"
    genbank.write_text(faa + first + first)
    result = _prepare("ncbi_genbank", genbank, tmp_path / "n")
    assert result.rows == 10 and result.quality["NC_005816.faa"]["duplicate_rows_dropped"] == 2

    lines = (real_data_dir / "gtdb" / "bac120_metadata_r202.first5.tsv").read_text().splitlines(keepends=True)
    gtdb = tmp_path / "bac120_metadata_r202.tsv"
    gtdb.write_text("".join(lines + lines[1:3]))
    result = _prepare("gtdb", gtdb, tmp_path / "t")
    assert result.rows == len(lines) - 1 and result.quality[gtdb.name]["duplicate_rows_dropped"] == 2


KOI_HEADER = "kepid,kepoi_name,koi_delivname,koi_disposition,koi_period,koi_prad\n"


def test_a_koi_table_holds_one_row_per_koi_and_delivery(tmp_path):
    # CONSTRUCTED in the layout of the archive's KOI tables (q1_q17_dr24_koi, q1_q17_dr25_koi): K00001.01 is
    # delivered twice with revised values, which is not a conflict
    path = tmp_path / "koi.csv"
    path.write_text(KOI_HEADER + "11446443,K00001.01,q1_q17_dr24_koi,CONFIRMED,2.47061317,13.04\n"
                    "11446443,K00001.01,q1_q17_dr25_koi,CONFIRMED,2.470613377,12.85\n"
                    "10666592,K00002.01,q1_q17_dr25_koi,CONFIRMED,2.204735417,16.1\n")
    assert _prepare("nasa_exoplanet_archive", path, tmp_path, table="cumulative").rows == 3
    path.write_text(path.read_text() + "10666592,K00002.01,q1_q17_dr25_koi,CONFIRMED,2.2047,16.1\n")
    with pytest.raises(SourceFormatError, match=r"row 4 \(line 5\), field kepoi_name: kepoi_name 'K00002.01' \+ "
                                                r"koi_delivname 'q1_q17_dr25_koi' appears again with different"):
        _prepare("nasa_exoplanet_archive", path, tmp_path / "b", table="cumulative")
