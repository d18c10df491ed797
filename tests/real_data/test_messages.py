"""Errors that name the actual problem, its file, row and field (issue 21, point 8); mutated copies of real files."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from astrobio_hf.data.modalities.metabolic_graphs import MetabolicGraphError, load_metabolic_graph
from astrobio_hf.data.physical_ranges import rule, violation_text
from astrobio_hf.data.prepare import inspect_file
from astrobio_hf.data.sources import SourceFormatError
from tests.real_data.test_keck_koa import koa_answer

TOI = "nasa_exoplanet_archive/astroquery_ipac/toi_expect_0.txt"
TESS = "tess/tess2022302161335-s0058-0000000021132157-0247-s_lc.fits"
CORE = "kegg_metabolic/sbml_bigg/e_coli_core"


def test_a_cut_ipac_table_is_named_as_cut(real_data_dir, tmp_path):
    path = tmp_path / "toi.tbl"
    path.write_bytes((real_data_dir / TOI).read_bytes()[:15000])  # astropy: "IndexError: list index out of range"
    with pytest.raises(SourceFormatError, match=r"toi\.tbl, line \d+: the file ends inside this line"):
        inspect_file("nasa_exoplanet_archive", path, table="toi")


def test_a_koa_cell_that_is_not_a_number_names_row_and_field(tmp_path):
    path = koa_answer(tmp_path / "koa.tbl")
    lines = path.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith(("\\", "|")))
    lines[first] = lines[first].replace("900.0", "nota!")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceFormatError, match=rf"koa\.tbl, row 1 \(line {first + 1}\), field elaptime: 'nota!' is "
                                                r"not a number"):
        inspect_file("keck_koa", path)


def test_a_tess_file_given_to_koa_is_named(real_data_dir):
    with pytest.raises(SourceFormatError, match=r"HDU 0 \(PRIMARY\): this is a TESS file .*read it with the "
                                                r"tess_mast builder"):
        inspect_file("keck_koa", real_data_dir / TESS)


def test_html_saved_as_json_for_gemini(tmp_path):
    path = tmp_path / "m101.json"
    path.write_text("<!DOCTYPE html><html><head><title>Gemini Archive: 502 Bad Gateway</title></head></html>")
    with pytest.raises(SourceFormatError, match=r"line 1: an HTML page, not a JSON answer.*502 Bad Gateway"):
        inspect_file("gemini_archive", path)


@pytest.mark.parametrize("value", ["abc", ""])
def test_sbml_stoichiometry_that_is_not_a_number(real_data_dir, tmp_path, value):
    text = (real_data_dir / f"{CORE}.xml").read_text()
    path = tmp_path / "core.xml"
    path.write_text(re.sub(r'stoichiometry="1"', f'stoichiometry="{value}"', text, count=1))
    with pytest.raises(MetabolicGraphError, match=r"reaction 'ACALD', metabolite 'acald_c': stoichiometric "
                                                  r"coefficient is not a number"):
        load_metabolic_graph(path)


def test_a_text_coefficient_in_a_json_model_names_the_reaction(real_data_dir, tmp_path):
    model = json.loads((real_data_dir / f"{CORE}.json").read_text())
    reaction = model["reactions"][0]
    metabolite = next(iter(reaction["metabolites"]))
    reaction["metabolites"][metabolite] = "abc"
    path = tmp_path / "core.json"
    path.write_text(json.dumps(model))
    with pytest.raises(MetabolicGraphError, match=rf"core\.json: reaction '{reaction['id']}', metabolite "
                                                  rf"'{metabolite}': stoichiometric coefficient 'abc' is not a number"):
        load_metabolic_graph(path)


def test_inspect_refuses_a_header_only_csv_as_prepare_does(real_data_dir, tmp_path):
    path = tmp_path / "header_only.csv"
    path.write_text((real_data_dir / "nasa_exoplanet_archive/tap_style_2025/PSCompPars.csv").read_text()
                    .splitlines(keepends=True)[0])
    with pytest.raises(SourceFormatError, match="no rows: the builder makes no record from this file"):
        inspect_file("nasa_exoplanet_archive", path)


def test_messages_print_plain_numbers():
    assert "np.float64" not in violation_text(rule("planet_catalog", "st_teff"), np.float64(352.37))
    assert "value 352.37 of st_teff" in violation_text(rule("planet_catalog", "st_teff"), np.float64(352.37))


