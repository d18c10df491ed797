"""Planet catalogs: impossible values, duplicates, errors that point the right way, older formats.

Every file here is SYNTHETIC, written in the NASA Exoplanet Archive's own layouts (TAP CSV, the
pre-2021 "Confirmed Planets" column names, astropy's ECSV) with one deliberate fault each.
"""

from __future__ import annotations

import pytest

from astrobio_hf.data.physical_ranges import RANGES, ranges_markdown
from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.text_templates import describe_planet

KEY = "nasa_exoplanet_archive"
HEADER = "pl_name,hostname,pl_orbper,st_teff,pl_orbeccen,disc_year"


def planets(n: int = 12) -> list[str]:
    return [f"Toy-{i} b,Toy-{i},{3 + i}.5,{5000 + 10 * i},0.1,2020" for i in range(1, n + 1)]


def csv(tmp_path, rows: list[str], header: str = HEADER, name: str = "t.csv"):
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(rows) + ("\n" if rows else ""))
    return path


def prepare(path, tmp_path, **kw):
    return prepare_source(KEY, data_files=str(path), cache_dir=tmp_path / "cache", **kw)


@pytest.mark.parametrize("field_index, value, field, shown", [
    (3, "1e400", "st_teff", "inf"),        # overflows float64 to inf
    (3, "inf", "st_teff", "inf"),
    (2, "-3.5", "pl_orbper", "-3.5"),      # a negative period
    (2, "0", "pl_orbper", "0.0"),
    (5, "1850", "disc_year", "1850.0"),
])
def test_impossible_catalog_values_are_refused_with_file_row_and_field(tmp_path, field_index, value, field, shown):
    rows = planets()
    cells = rows[6].split(",")
    cells[field_index] = value
    rows[6] = ",".join(cells)
    with pytest.raises(SourceFormatError) as info:
        prepare(csv(tmp_path, rows), tmp_path)
    message = str(info.value)
    assert "t.csv, row 7 (line 8), field " + field in message
    assert f"value {shown} of {field} is outside its possible range" in message
    assert not list((tmp_path / "cache").rglob("dataset_info.json"))  # nothing half-prepared


def test_nan_is_missing_and_counted_and_a_published_negative_eccentricity_is_masked(tmp_path):
    rows = planets()
    rows[1] = rows[1].replace(",0.1,", ",-0.011,")
    rows[2] = rows[2].replace("5030", "NaN")
    result = prepare(csv(tmp_path, rows), tmp_path)
    assert result.rows == 12
    assert result.quality == {"t.csv": {"masked": {"pl_orbeccen: outside [0, 1)": 1, "st_teff: NaN": 1}}}
    from astrobio_hf.data.sources import get_builder

    table = get_builder(KEY, data_files=str(tmp_path / "t.csv"), cache_dir=str(tmp_path / "cache")).as_dataset("train")
    assert table[1]["pl_orbeccen"] is None and table[2]["st_teff"] is None


def test_inf_never_reaches_the_text():
    text = describe_planet({"pl_name": "X b", "hostname": "X", "st_teff": float("inf"), "pl_orbper": 3.0})
    assert "inf" not in text


def test_repeated_planets_are_dropped_and_reported(tmp_path):
    rows = planets(50) * 5  # 50 planets, each 5 times: 250 rows
    result = prepare(csv(tmp_path, rows), tmp_path)
    assert result.rows == 50
    found = result.quality["t.csv"]
    assert found["duplicate_rows_dropped"] == 200 and found["duplicated"][:2] == ["Toy-1 b", "Toy-2 b"]


def test_one_planet_with_two_different_records_is_refused(tmp_path):
    rows = planets()
    rows.append(rows[3].replace("2020", "2021"))
    with pytest.raises(SourceFormatError, match=r"row 13 \(line 14\), field pl_name: pl_name 'Toy-4 b' appears "
                                                r"again with different values \(first at row 4 \(line 5\)\)"):
        prepare(csv(tmp_path, rows), tmp_path)


def test_integer_overflow_names_its_row_and_value(tmp_path):
    rows = planets()
    rows[10] = rows[10].replace(",2020", ",99999999999999999999")
    with pytest.raises(SourceFormatError) as info:
        prepare(csv(tmp_path, rows), tmp_path)
    assert "row 11 (line 12), field disc_year: value '99999999999999999999' is not a valid int64 (outside the " \
           "64-bit integer range)" in str(info.value)


def test_header_only_csv_names_the_file(tmp_path):
    with pytest.raises(SourceFormatError, match=r"t\.csv: no rows to prepare: the file\(s\) hold no data rows"):
        prepare(csv(tmp_path, []), tmp_path)


LEGACY_HEADER = ("pl_hostname,pl_letter,pl_name,pl_discmethod,pl_pnum,pl_orbper,pl_orbsmax,pl_orbeccen,pl_bmassj,"
                 "pl_radj,pl_disc,pl_facility,pl_controvflag,pl_ttvflag,st_dist,st_teff,st_mass,st_rad,st_metfe,"
                 "gaia_gmag,ra,dec")
LEGACY_ROW = ("Kepler-22,b,Kepler-22 b,Transit,1,289.8623,0.849,,0.09,0.21,2011,Kepler,0,0,194.7,5518,0.97,0.98,"
              "-0.29,11.5,284.2,47.88")


def test_pre_2021_export_loads_through_the_alias_map(tmp_path):
    path = csv(tmp_path, [LEGACY_ROW], header=LEGACY_HEADER, name="planets_2019.csv")
    info = inspect_file(KEY, path)
    row = info["sample"][0]
    assert row["hostname"] == "Kepler-22" and row["discoverymethod"] == "Transit" and row["disc_year"] == 2011
    assert row["disc_facility"] == "Kepler" and row["sy_pnum"] == 1 and row["sy_dist"] == 194.7
    assert row["st_met"] == -0.29 and row["sy_gaiamag"] == 11.5 and row["pl_controv_flag"] == 0
    assert info["quality"]["legacy_columns"]["pl_hostname"] == "hostname"


def test_pre_2021_votable_and_ecsv(tmp_path):
    from astropy.table import Table

    names = LEGACY_HEADER.split(",")
    values = LEGACY_ROW.split(",")
    table = Table(rows=[[_typed(v) for v in values]], names=names, masked=True)
    table["pl_orbeccen"].mask = [True]
    table.write(tmp_path / "old.vot", format="votable")
    table.write(tmp_path / "old.ecsv", format="ascii.ecsv")
    for name in ("old.vot", "old.ecsv"):
        info = inspect_file(KEY, tmp_path / name)
        row = info["sample"][0]
        assert info["rows"] == 1 and row["hostname"] == "Kepler-22" and row["disc_year"] == 2011, name
        assert "pl_orbeccen" not in row and row["pl_orbper"] == pytest.approx(289.8623)


def test_ecsv_units_are_kept(tmp_path):
    import astropy.units as u
    from astropy.table import QTable

    table = QTable({"pl_name": ["A b"], "hostname": ["A"], "pl_orbper": [3.5] * u.day, "st_teff": [5700.0] * u.K})
    table.write(tmp_path / "astroquery.ecsv", format="ascii.ecsv")
    info = inspect_file(KEY, tmp_path / "astroquery.ecsv")
    assert info["rows"] == 1 and info["units"] == {"pl_orbper": "d", "st_teff": "K"}


def _typed(value: str):
    if value == "":
        return 0.0
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


def test_ranges_are_documented_in_data_md():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text()
    assert ranges_markdown() in doc, "regenerate the table in docs/data.md from physical_ranges.ranges_markdown()"
    assert set(RANGES) >= {"planet_catalog", "light_curve", "spectrum", "protein", "metabolic", "climate"}


def test_gzip_input_is_read_and_other_compression_is_named(tmp_path):
    import bz2
    import gzip

    text = (HEADER + "\n" + "\n".join(planets()) + "\n").encode()
    (tmp_path / "g.csv").write_bytes(gzip.compress(text))  # gzip under a plain .csv name
    assert inspect_file(KEY, tmp_path / "g.csv")["rows"] == 12
    (tmp_path / "cut.csv").write_bytes(gzip.compress(text)[:-12])
    with pytest.raises(SourceFormatError, match=r"cut\.csv: gzip-compressed file is damaged or cut short"):
        inspect_file(KEY, tmp_path / "cut.csv")
    (tmp_path / "b.csv").write_bytes(bz2.compress(text))
    with pytest.raises(SourceFormatError, match=r"b\.csv: a bzip2-compressed file, not a text table"):
        inspect_file(KEY, tmp_path / "b.csv")
