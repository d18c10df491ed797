"""Cut local files are refused, naming file and line (issue 21, point 2); mutated copies of the real files."""

from __future__ import annotations

import pytest

from astrobio_hf.data.prepare import prepare_source
from astrobio_hf.data.sources import SourceFormatError

NE = "jwst/transmission_spectra/NE-WASP_39b_NIRISS_transmission_spectrum.csv"
PSCOMP = "nasa_exoplanet_archive/tap_style_2025/PSCompPars.csv"


def test_a_transmission_table_cut_mid_line_is_refused(real_data_dir, tmp_path):
    text = (real_data_dir / NE).read_text()
    lines = text.splitlines(keepends=True)
    path = tmp_path / "NIRISS_cut.csv"
    path.write_text("".join(lines[:60]) + lines[60][:9])  # order 2's rows lost, the last one cut in its 2nd field
    with pytest.raises(SourceFormatError, match=r"NIRISS_cut\.csv.*line 61: 2 fields where the header has 6"):
        prepare_source("jwst_mast", data_files=str(path), cache_dir=tmp_path / "c", target_name="WASP-39 b")


def test_a_catalog_cut_inside_the_last_field_of_its_last_line_is_refused(real_data_dir, tmp_path):
    lines = (real_data_dir / PSCOMP).read_text().splitlines(keepends=True)[:31]
    path = tmp_path / "PSCompPars.csv"
    path.write_text("".join(lines[:-1]) + lines[-1].rstrip("\n")[:-2])  # the last value loses its last digits
    with pytest.raises(SourceFormatError, match=r"PSCompPars\.csv, line 31: the file ends inside this line .*cut "
                                                r"short\?"):
        prepare_source("nasa_exoplanet_archive", data_files=str(path), cache_dir=tmp_path / "c")


def test_a_gtdb_table_cut_inside_its_last_field_is_refused(real_data_dir, tmp_path):
    text = (real_data_dir / "gtdb" / "bac120_taxonomy_r202.first5.tsv").read_text()
    path = tmp_path / "bac120_taxonomy_r202.tsv"
    path.write_text(text.rstrip("\n")[:-3])
    with pytest.raises(SourceFormatError, match=r"last line: the file ends inside this line"):
        prepare_source("gtdb", data_files=str(path), cache_dir=tmp_path / "c")
