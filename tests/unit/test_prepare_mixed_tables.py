"""A data folder holding two NASA Exoplanet Archive tables (PSCompPars and a TOI list): the error names the other
table and how to choose, instead of a missing-column error."""

from __future__ import annotations

import shutil

from astrobio_hf.cli import main as cli


def test_second_table_in_a_data_dir_is_named(real_data_dir, tmp_path, capsys):
    nasa = real_data_dir / "nasa_exoplanet_archive"
    folder = tmp_path / "dumps"
    folder.mkdir()
    shutil.copy(nasa / "astroquery_ipac" / "toi_expect_0.txt", folder)
    shutil.copy(nasa / "tap_style_2025" / "PSCompPars.csv", folder)
    assert cli(["prepare", "--source", "nasa_exoplanet_archive", "--data-dir", str(folder),
                "--cache-dir", str(tmp_path / "cache")]) == 1
    err = capsys.readouterr().err
    assert "missing required column 'pl_name': this file holds the 'toi' table, not 'pscomppars'" in err
    assert "--config table=toi" in err
