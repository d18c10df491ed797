"""SBML faults on the real e_coli_core model: each error names the reaction/metabolite or the line."""

from __future__ import annotations

import re

import pytest

from astrobio_hf.data.modalities.metabolic_graphs import MetabolicGraphError, load_metabolic_graph


@pytest.fixture(scope="module")
def sbml(real_data_dir):
    return (real_data_dir / "kegg_metabolic" / "sbml_bigg" / "e_coli_core.xml").read_text()


def test_coefficient_that_overflows_float32_is_refused(sbml, tmp_path):
    first = re.search(r'stoichiometry="([^"]+)"', sbml).group(0)
    path = tmp_path / "big.xml"
    path.write_text(sbml.replace(first, 'stoichiometry="1e39"', 1))
    with pytest.raises(MetabolicGraphError, match=r"big\.xml: reaction 'ACALD', metabolite 'acald_c': stoichiometric "
                                                  r"coefficient -1e\+39 is outside its possible range"):
        load_metabolic_graph(path)


def test_cut_sbml_names_line_and_column(sbml, tmp_path):
    path = tmp_path / "cut.xml"
    path.write_text(sbml[: len(sbml) // 2])
    with pytest.raises(MetabolicGraphError, match=r"cut\.xml: not a valid SBML model: line \d+, column \d+: XML "
                                                  r"content is not well-formed"):
        load_metabolic_graph(path)


def test_undefined_species_names_its_line(sbml, tmp_path):
    path = tmp_path / "unknown.xml"
    path.write_text(re.sub(r'species="M_[a-z0-9_]+"', 'species="M_nonexistent_c"', sbml, count=1))
    with pytest.raises(MetabolicGraphError, match=r"unknown\.xml: not a valid SBML model: line \d+: reference to "
                                                  r"undefined id 'nonexistent_c'"):
        load_metabolic_graph(path)
