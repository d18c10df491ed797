"""Metabolic-network graphs from the real SBML / BiGG JSON / KGML / GenBank / UniProt files (read in place)."""

from __future__ import annotations

import importlib.resources
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import cobra
import numpy as np
import pyarrow as pa
import pytest
import torch
from Bio import SeqIO
from Bio.Seq import Seq
from Bio.SeqFeature import FeatureLocation, SeqFeature
from Bio.SeqRecord import SeqRecord
from torch_geometric.data import Batch

from astrobio_hf.data import graph_schema as schema
from astrobio_hf.data.modalities import metabolic_graph_records as records
from astrobio_hf.data.modalities import metabolic_graphs as mg
from astrobio_hf.data.modalities.metabolic_formulas import load_kegg_compound_formulas
from astrobio_hf.data.modalities.organism_networks import (
    InvalidECNumberError,
    NoECNumbersError,
    ec_numbers_from_genbank,
    ec_numbers_from_uniprot,
    organism_network,
    organism_network_from_files,
    transfer_ec_annotations,
)

BALANCE_COLUMNS = [*schema.ELEMENT_COLUMNS, schema.CHARGE_COLUMN]


@pytest.fixture(scope="module")
def bigg_dir(real_data_dir: Path) -> Path:
    return real_data_dir / "kegg_metabolic" / "sbml_bigg"


@pytest.fixture(scope="module")
def core_model(bigg_dir: Path) -> cobra.Model:
    return cobra.io.load_json_model(str(bigg_dir / "e_coli_core.json"))


@pytest.fixture(scope="module")
def core_graph(bigg_dir: Path):
    return mg.load_metabolic_graph(bigg_dir / "e_coli_core.json")


@pytest.fixture(scope="module")
def ijo1366() -> cobra.Model:
    """BiGG's genome-scale E. coli model as shipped inside the cobra wheel (carries `ec-code` annotations)."""
    return cobra.io.read_sbml_model(str(importlib.resources.files("cobra.data") / "iJO1366.xml.gz"))


@pytest.fixture(scope="module")
def core_with_ec(bigg_dir: Path, ijo1366: cobra.Model) -> cobra.Model:
    model = cobra.io.load_json_model(str(bigg_dir / "e_coli_core.json"))
    assert transfer_ec_annotations(model, ijo1366) > 0
    return model


def _edge_set(graph) -> set[tuple[str, str, float]]:
    ids = graph.node_ids
    return {
        (ids[s], ids[t], float(c))
        for s, t, c in zip(
            graph.edge_index[0].tolist(), graph.edge_index[1].tolist(), graph.edge_attr[:, 0].tolist(), strict=True
        )
    }


def _cobra_edge_set(reactions) -> set[tuple[str, str, float]]:
    """The edges the graph must have, straight from cobra's stoichiometry: substrate -> reaction -> product."""
    edges = set()
    for reaction in reactions:
        for met, coef in reaction.metabolites.items():
            if coef < 0:
                edges.add((met.id, reaction.id, float(np.float32(-coef))))
            elif coef > 0:
                edges.add((reaction.id, met.id, float(np.float32(coef))))
    return edges


# ------------------------------------------------------------------------------------------ cobra models


def test_e_coli_core_node_and_edge_counts(core_graph, core_model):
    n_edges = sum(1 for r in core_model.reactions for c in r.metabolites.values() if c != 0)
    assert core_graph.num_metabolites == 72 and core_graph.num_reactions == 95
    assert core_graph.x.shape == (167, schema.NODE_FEATURE_DIM) and core_graph.x.dtype == torch.float32
    assert core_graph.edge_index.shape == (2, n_edges) and core_graph.edge_index.dtype == torch.long
    assert core_graph.edge_attr.shape == (n_edges, 1) and core_graph.edge_attr.dtype == torch.float32
    assert core_graph.node_ids == [m.id for m in core_model.metabolites] + [r.id for r in core_model.reactions]
    assert _edge_set(core_graph) == _cobra_edge_set(core_model.reactions)
    # bipartite: every edge joins a metabolite and a reaction
    is_met = core_graph.x[:, schema.IS_METABOLITE_COLUMN].bool()
    src, dst = core_graph.edge_index
    assert torch.all(is_met[src] != is_met[dst])
    assert torch.all(core_graph.x[:, schema.IS_METABOLITE_COLUMN] + core_graph.x[:, schema.IS_REACTION_COLUMN] == 1)


def test_e_coli_core_spot_values(core_graph, core_model):
    x, ids = core_graph.x, core_graph.node_ids
    glc = x[ids.index("glc__D_e")]
    assert glc[list(schema.ELEMENT_COLUMNS)].tolist() == [6, 12, 0, 6, 0, 0]  # C6H12O6
    assert glc[schema.CHARGE_COLUMN] == 0 and glc[schema.IS_METABOLITE_COLUMN] == 1
    assert glc[mg.COMPARTMENT_COLUMNS["e"]] == 1 and glc[mg.COMPARTMENT_COLUMNS["c"]] == 0
    assert glc[mg.LOG_MOLECULAR_WEIGHT_COLUMN] == pytest.approx(math.log1p(180.156), abs=1e-3)
    atp = core_model.metabolites.get_by_id("atp_c")
    row = x[ids.index("atp_c")]
    assert row[list(schema.ELEMENT_COLUMNS)].tolist() == [atp.elements.get(e, 0) for e in schema.ELEMENTS]
    assert row[schema.CHARGE_COLUMN] == atp.charge == -4
    for reaction in core_model.reactions:
        row = x[ids.index(reaction.id)]
        assert row[mg.REVERSIBLE_COLUMN] == float(reaction.reversibility), reaction.id
        assert row[mg.LOWER_BOUND_SIGN_COLUMN] == np.sign(reaction.lower_bound), reaction.id
        assert row[mg.LOG_GENE_COUNT_COLUMN] == pytest.approx(math.log1p(len(reaction.genes))), reaction.id
        n_substrates = sum(c < 0 for c in reaction.metabolites.values())
        assert row[mg.LOG_IN_DEGREE_COLUMN] == pytest.approx(math.log1p(n_substrates)), reaction.id
    assert x[ids.index("PGI"), mg.REVERSIBLE_COLUMN] == 1 and x[ids.index("PFK"), mg.REVERSIBLE_COLUMN] == 0
    assert x[ids.index("EX_glc__D_e"), mg.EXCHANGE_COLUMN] == 1 and x[ids.index("PGI"), mg.EXCHANGE_COLUMN] == 0
    assert x[:, mg.EXCHANGE_COLUMN].sum() == len(core_model.exchanges)
    biomass = x[ids.index("Biomass_Ecoli_core")]
    assert biomass[mg.BIOMASS_COLUMN] == 1 and biomass[mg.OBJECTIVE_COLUMN] == 1
    assert x[ids.index("GLCpts"), mg.TRANSPORT_COLUMN] == 1 and x[ids.index("PGI"), mg.TRANSPORT_COLUMN] == 0
    assert x[:, mg.FORMULA_UNKNOWN_COLUMN].sum() == 0  # every e_coli_core metabolite has a formula
    assert torch.count_nonzero(x[:, mg.FIRST_RESERVED_COLUMN :]) == 0
    assert torch.count_nonzero(x[:, list(mg.KEGG_TYPE_COLUMNS.values())]) == 0  # not a KGML graph


def test_json_sbml_and_gzipped_sbml_give_the_same_graph(core_graph, bigg_dir):
    for name in ("e_coli_core.xml", "textbook.xml.gz"):
        other = mg.load_metabolic_graph(bigg_dir / name)
        assert other.node_ids == core_graph.node_ids, name
        assert torch.equal(other.x, core_graph.x), name
        assert torch.equal(other.edge_index, core_graph.edge_index), name
        assert torch.equal(other.edge_attr, core_graph.edge_attr), name


def test_elemental_balance_from_the_graph_matches_cobra(core_graph, core_model):
    """Per reaction, products minus substrates weighted by |stoichiometry| over the element and charge columns
    equals cobra's own mass balance check: zero for every balanced reaction (what the graph VAE relies on)."""
    x, (src, dst), coef = core_graph.x.double(), core_graph.edge_index, core_graph.edge_attr[:, 0].double()
    is_product_edge = core_graph.x[src, schema.IS_REACTION_COLUMN].bool()
    reaction_node = torch.where(is_product_edge, src, dst)
    metabolite_node = torch.where(is_product_edge, dst, src)
    sign = torch.where(is_product_edge, 1.0, -1.0).double()
    flow = (sign * coef).unsqueeze(1) * x[metabolite_node][:, BALANCE_COLUMNS]
    imbalance = torch.zeros(x.shape[0], len(BALANCE_COLUMNS), dtype=torch.float64).index_add_(0, reaction_node, flow)
    names = [*schema.ELEMENTS, "charge"]
    balanced = 0
    for reaction in core_model.reactions:
        expected = reaction.check_mass_balance()
        got = imbalance[core_graph.node_ids.index(reaction.id)]
        for k, name in enumerate(names):
            assert got[k].item() == pytest.approx(expected.get(name, 0.0), abs=1e-4), (reaction.id, name)
        balanced += not expected
    assert balanced > 50  # most of e_coli_core balances (exchanges and biomass do not)
    assert torch.all(imbalance[core_graph.node_ids.index("PGI")] == 0)


def test_graph_dict_round_trip_and_arrow(core_graph):
    record = records.graph_to_dict(core_graph)
    assert isinstance(record["x"][0][0], float) and len(record["x"][0]) == schema.NODE_FEATURE_DIM
    for restored in (records.graph_from_dict(record), records.graph_from_dict(pa.Table.from_pylist([record]).to_pylist()[0])):
        assert torch.equal(restored.x, core_graph.x)
        assert torch.equal(restored.edge_index, core_graph.edge_index)
        assert torch.equal(restored.edge_attr, core_graph.edge_attr)
        assert restored.node_ids == core_graph.node_ids and restored.node_names == core_graph.node_names
        assert (restored.num_metabolites, restored.num_reactions) == (72, 95)
        assert restored.source == core_graph.source


def test_graph_rows_in_a_datasets_dataset(core_graph, real_data_dir):
    import datasets

    kgml = mg.load_metabolic_graph(real_data_dir / "kegg_metabolic" / "kgml" / "eco00010.xml")
    table = datasets.Dataset.from_list(
        [records.graph_to_dict(core_graph), records.graph_to_dict(kgml)], features=records.graph_features()
    )
    for fmt in (None, "numpy"):
        table.set_format(fmt)
        back = [records.graph_from_dict(table[i]) for i in range(2)]
        for original, restored in zip((core_graph, kgml), back, strict=True):
            assert torch.equal(restored.x, original.x) and torch.equal(restored.edge_index, original.edge_index)
    batch = Batch.from_data_list(back)
    assert batch.num_nodes == core_graph.num_nodes + kgml.num_nodes
    assert batch.num_edges == core_graph.num_edges + kgml.num_edges


# ------------------------------------------------------------------------------------------ KEGG KGML


@pytest.mark.parametrize("name", ["ko00010.xml", "eco00010.xml"])  # eco00010 has an xml-stylesheet PI, no DOCTYPE
def test_kgml_graph_counts_from_the_file(real_data_dir, name):
    path = real_data_dir / "kegg_metabolic" / "kgml" / name
    root = ET.parse(path).getroot()
    entries = {e.get("id"): e for e in root.findall("entry")}
    compounds = [e.get("id") for e in root.findall("entry") if e.get("type") == "compound"]
    reactions = root.findall("reaction")
    n_edges = sum(len(r.findall("substrate")) + len(r.findall("product")) for r in reactions)

    graph = mg.load_metabolic_graph(path)
    assert graph.num_metabolites == len(compounds) and graph.num_reactions == len(reactions)
    assert graph.num_edges == n_edges and graph.x.shape == (len(compounds) + len(reactions), 64)
    assert torch.all(graph.edge_attr == 1.0)  # KGML has no stoichiometry
    assert graph.node_ids == compounds + [r.get("id") for r in reactions]
    expected_edges = set()
    for r in reactions:
        expected_edges |= {(s.get("id"), r.get("id"), 1.0) for s in r.findall("substrate")}
        expected_edges |= {(r.get("id"), p.get("id"), 1.0) for p in r.findall("product")}
    assert _edge_set(graph) == expected_edges
    for r in reactions:
        row = graph.x[graph.node_ids.index(r.get("id"), len(compounds))]
        assert row[mg.REVERSIBLE_COLUMN] == float(r.get("type") == "reversible")
        catalyst = entries[r.get("id")]
        assert row[mg.KEGG_TYPE_COLUMNS[catalyst.get("type")]] == 1
        assert row[mg.LOG_GENE_COUNT_COLUMN] == pytest.approx(math.log1p(len(catalyst.get("name").split())))
    metabolites = graph.x[: len(compounds)]
    assert torch.all(metabolites[:, mg.KEGG_TYPE_COLUMNS["compound"]] == 1)
    assert torch.all(metabolites[:, mg.FORMULA_UNKNOWN_COLUMN] == 1)  # no formula source given
    assert torch.all(metabolites[:, list(schema.ELEMENT_COLUMNS)] == 0)


def test_kegg_compound_formulas_fill_the_element_columns(real_data_dir, tmp_path):
    flatfile = real_data_dir / "kegg_metabolic" / "flatfile" / "compound.sample"
    formulas = load_kegg_compound_formulas(flatfile)
    # independent reading of the flat file: ENTRY and FORMULA lines of each '///'-terminated record
    expected, entry = {}, None
    for line in flatfile.read_text().splitlines():
        if line.startswith("ENTRY"):
            entry = line.split()[1]
        elif line.startswith("FORMULA"):
            expected[entry] = line.split(None, 1)[1].strip()
    assert formulas == expected and "C00298" not in formulas  # trypsin has no FORMULA line

    # ko00010 with the sample file: only compounds present in the sample get a formula
    ko = mg.load_metabolic_graph(real_data_dir / "kegg_metabolic" / "kgml" / "ko00010.xml", compound_formulas=formulas)
    known = [name.split(":")[1] in formulas for name in ko.node_names[: ko.num_metabolites]]
    assert ko.x[: ko.num_metabolites, mg.FORMULA_UNKNOWN_COLUMN].tolist() == [float(not k) for k in known]

    # A small KGML document (synthetic, written here) whose compounds are in the real compound.sample.
    kgml = tmp_path / "synthetic.xml"
    kgml.write_text(
        '<?xml version="1.0"?>\n<pathway name="path:test01" org="ko" number="01" title="test">\n'
        '  <entry id="1" name="cpd:C00099" type="compound"/>\n'
        '  <entry id="2" name="cpd:C00017" type="compound"/>\n'
        '  <entry id="3" name="cpd:C00023" type="compound"/>\n'
        '  <entry id="4" name="ko:K00001 ko:K00002" type="ortholog" reaction="rn:R00001"/>\n'
        '  <reaction id="4" name="rn:R00001" type="irreversible">\n'
        '    <substrate id="1" name="cpd:C00099"/><substrate id="3" name="cpd:C00023"/>\n'
        '    <product id="2" name="cpd:C00017"/>\n  </reaction>\n</pathway>\n'
    )
    graph = mg.load_metabolic_graph(kgml, compound_formulas=formulas)
    beta_alanine, protein, iron, reaction = graph.x
    assert beta_alanine[list(schema.ELEMENT_COLUMNS)].tolist() == [3, 7, 1, 2, 0, 0]  # C3H7NO2
    assert beta_alanine[mg.LOG_MOLECULAR_WEIGHT_COLUMN] == pytest.approx(math.log1p(89.09), abs=1e-3)
    assert beta_alanine[mg.CHARGE_UNKNOWN_COLUMN] == 1  # KEGG gives no charge
    assert protein[mg.FORMULA_UNKNOWN_COLUMN] == 1  # C2H4NO2R(C2H2NOR)n: a polymer, cobra refuses it
    assert iron[schema.OTHER_ELEMENTS_COLUMN] == 1 and iron[list(schema.ELEMENT_COLUMNS)].sum() == 0
    assert reaction[schema.IS_REACTION_COLUMN] == 1 and reaction[mg.REVERSIBLE_COLUMN] == 0
    assert reaction[mg.LOG_GENE_COUNT_COLUMN] == pytest.approx(math.log1p(2))
    assert graph.edge_index.tolist() == [[0, 2, 3], [3, 3, 1]]


# ------------------------------------------------------------------------------- organism networks


def _genbank_with_ec(path: Path, features: list[tuple[str, list[str], bool]]) -> Path:
    """A small GenBank record (synthetic, built here) with CDS features: (locus_tag, EC numbers, pseudo)."""
    record = SeqRecord(Seq("ATG" * 200), id="TEST0001.1", name="TEST0001", description="synthetic test record")
    record.annotations["molecule_type"] = "DNA"
    for i, (locus, ecs, pseudo) in enumerate(features):
        qualifiers = {"locus_tag": [locus]}
        if ecs:
            qualifiers["EC_number"] = ecs
        if pseudo:
            qualifiers["pseudo"] = [""]
        record.features.append(
            SeqFeature(FeatureLocation(30 * i, 30 * i + 27, strand=1), type="CDS", qualifiers=qualifiers)
        )
    SeqIO.write(record, path, "genbank")
    return path


def test_organism_network_from_a_genbank_record_on_e_coli_core(core_with_ec, tmp_path):
    gb = _genbank_with_ec(
        tmp_path / "toy.gb",
        [
            ("T_pfk", ["2.7.1.11"], False),
            ("T_pgi", ["5.3.1.9"], False),
            ("T_gap", ["1.2.1.12"], False),
            ("T_none", [], False),
            ("T_new", ["9.9.9.9"], False),
            ("T_eno", ["4.2.1.11"], True),
        ],
    )
    ecs = ec_numbers_from_genbank(gb)
    assert ecs == {"2.7.1.11": ["T_pfk"], "5.3.1.9": ["T_pgi"], "1.2.1.12": ["T_gap"], "9.9.9.9": ["T_new"]}

    network = organism_network_from_files(core_with_ec, [gb])
    wanted = {"2.7.1.11", "5.3.1.9", "1.2.1.12"}
    expected = []
    for reaction in core_with_ec.reactions:  # independent lookup of the annotations
        codes = reaction.annotation.get("ec-code", [])
        codes = {codes} if isinstance(codes, str) else set(codes)
        if codes & wanted:
            expected.append(reaction.id)
    assert {"PFK", "PGI", "GAPD"} <= set(expected)
    assert network.reaction_ids == expected
    assert set(network.matched_ec) == wanted and network.unmatched_ec == ["9.9.9.9"]
    assert "4.2.1.11" not in network.ec_sources  # the pseudogene is skipped
    graph = network.graph
    reactions = [core_with_ec.reactions.get_by_id(r) for r in expected]
    metabolites = {m.id for r in reactions for m in r.metabolites}
    assert graph.num_reactions == len(expected) and graph.num_metabolites == len(metabolites)
    assert set(graph.node_ids) == metabolites | set(expected)
    assert _edge_set(graph) == _cobra_edge_set(reactions)
    pfk = graph.x[graph.node_ids.index("PFK")]
    assert pfk[mg.EC_CLASS_COLUMNS[2]] == 1 and pfk[mg.EC_CLASS_COLUMNS[5]] == 0
    assert "3/4 EC numbers matched" in network.summary()


def test_real_genbank_plasmid_has_one_unmatched_ec(real_data_dir, core_with_ec):
    path = real_data_dir / "ncbi_genbank" / "NC_005816.gb"
    in_file = {line.split('"')[1] for line in path.read_text().splitlines() if "/EC_number=" in line}
    ecs = ec_numbers_from_genbank(path)
    assert set(ecs) == in_file == {"3.4.23.48"}  # plasminogen activator Pla
    network = organism_network(core_with_ec, ecs, source=str(path))
    assert network.graph is None and network.reaction_ids == [] and network.unmatched_ec == ["3.4.23.48"]


def test_real_uniprot_ec_numbers_and_network(real_data_dir, ijo1366):
    swissprot = real_data_dir / "uniprot" / "multi_ex.txt"
    in_file = {
        token.split("=")[1].rstrip(";")
        for line in swissprot.read_text().splitlines()
        if line.startswith("DE ")
        for token in line.split()
        if token.startswith("EC=")
    }
    ecs = ec_numbers_from_uniprot(swissprot)
    assert set(ecs) == in_file and ecs["3.4.21.68"] == ["P00750"]

    tsv = real_data_dir / "uniprot" / "uniprotkb_Human_AND_model_organism_9606_2024_08_07.head200.tsv"
    tsv_ecs = ec_numbers_from_uniprot(tsv)  # no 'EC number' column: read from '(EC ...)' in Protein names
    assert len(tsv_ecs) > 10 and all(len(code.split(".")) == 4 for code in tsv_ecs)
    network = organism_network(ijo1366, tsv_ecs, source=str(tsv))
    assert network.matched_ec and network.unmatched_ec
    assert set(network.matched_ec) | set(network.unmatched_ec) == set(tsv_ecs)
    reactions = [ijo1366.reactions.get_by_id(r) for r in network.reaction_ids]
    assert _edge_set(network.graph) == _cobra_edge_set(reactions)


def test_annotations_without_ec_numbers_are_refused(core_with_ec, core_model, tmp_path):
    gb = _genbank_with_ec(tmp_path / "none.gb", [("T_a", [], False), ("T_b", [], False)])
    assert ec_numbers_from_genbank(gb) == {}
    with pytest.raises(NoECNumbersError, match="none.gb"):
        organism_network_from_files(core_with_ec, [gb])
    with pytest.raises(ValueError, match="no reaction with an 'ec-code'"):
        organism_network(core_model, {"2.7.1.11": ["x"]})
    bad = _genbank_with_ec(tmp_path / "bad.gb", [("T_bad", ["kinase"], False)])
    with pytest.raises(InvalidECNumberError, match=r"bad.gb.*T_bad"):
        ec_numbers_from_genbank(bad)


# ------------------------------------------------------------------------------------------ bad input


def test_malformed_inputs_name_the_file(tmp_path, bigg_dir):
    not_xml = tmp_path / "pathway.xml"
    not_xml.write_text("<pathway name='path:x'><entry id='1'")
    with pytest.raises(mg.MetabolicGraphError, match="pathway.xml.*not well-formed XML"):
        mg.load_metabolic_graph(not_xml)
    with pytest.raises(mg.MetabolicGraphError, match="pathway.xml"):
        mg.read_kgml(not_xml)

    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes((bigg_dir / "e_coli_core.xml").read_bytes()[:20000])
    with pytest.raises(mg.MetabolicGraphError, match="truncated.xml: not a valid SBML model"):
        mg.load_metabolic_graph(truncated)

    broken_json = tmp_path / "model.json"
    broken_json.write_text('{"id": "m", "metabolites": [')
    with pytest.raises(mg.MetabolicGraphError, match="model.json: not a valid BiGG JSON model"):
        mg.load_metabolic_graph(broken_json)

    dangling = tmp_path / "dangling.json"
    dangling.write_text(
        '{"id": "m", "compartments": {"c": "cytosol"}, "genes": [],'
        ' "metabolites": [{"id": "a_c", "compartment": "c", "formula": "C2"}],'
        ' "reactions": [{"id": "R1", "metabolites": {"zz_c": -1, "a_c": 1}, "lower_bound": 0, "upper_bound": 10}]}'
    )
    with pytest.raises(mg.MetabolicGraphError, match="dangling.json.*zz_c"):
        mg.load_metabolic_graph(dangling)

    nan = tmp_path / "nan.json"
    nan.write_text(
        '{"id": "m", "compartments": {"c": "cytosol"}, "genes": [],'
        ' "metabolites": [{"id": "a_c", "compartment": "c"}, {"id": "b_c", "compartment": "c"}],'
        ' "reactions": [{"id": "R1", "metabolites": {"b_c": NaN, "a_c": 1}, "lower_bound": 0, "upper_bound": 1}]}'
    )
    with pytest.raises(mg.MetabolicGraphError, match="nan.json: reaction 'R1'.*'b_c': stoichiometric coefficient is not a number"):
        mg.load_metabolic_graph(nan)

    empty = tmp_path / "empty.json"
    empty.write_text('{"id": "m", "metabolites": [], "reactions": [], "genes": [], "compartments": {}}')
    with pytest.raises(mg.MetabolicGraphError, match="empty.json: model 'm' has no reactions"):
        mg.load_metabolic_graph(empty)

    no_reactions = tmp_path / "map.xml"
    no_reactions.write_text(
        '<pathway name="path:x" org="ko" number="1"><entry id="1" name="cpd:C1" type="compound"/></pathway>'
    )
    with pytest.raises(mg.MetabolicGraphError, match="map.xml.*no <reaction> elements"):
        mg.load_metabolic_graph(no_reactions)

    missing_substrate = tmp_path / "missing.xml"
    missing_substrate.write_text(
        '<pathway name="path:x" org="ko" number="1"><entry id="1" name="cpd:C1" type="compound"/>'
        '<entry id="2" name="ko:K1" type="ortholog"/><reaction id="2" name="rn:R9" type="reversible">'
        '<substrate id="7" name="cpd:C7"/><product id="1" name="cpd:C1"/></reaction></pathway>'
    )
    with pytest.raises(mg.MetabolicGraphError, match=r"missing.xml: reaction entry 2 \(rn:R9\): substrate.*\[7\]"):
        mg.load_metabolic_graph(missing_substrate)

    other = tmp_path / "other.xml"
    other.write_text("<html><body/></html>")
    with pytest.raises(mg.MetabolicGraphError, match="other.xml.*neither SBML"):
        mg.load_metabolic_graph(other)
    with pytest.raises(FileNotFoundError, match="absent.xml"):
        mg.load_metabolic_graph(tmp_path / "absent.xml")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    with pytest.raises(ValueError, match="junk.txt"):
        load_kegg_compound_formulas(junk)
    with pytest.raises(ValueError, match="junk.txt: not a readable Swiss-Prot"):
        ec_numbers_from_uniprot(junk)


def test_graph_from_dict_rejects_bad_shapes(core_graph):
    record = records.graph_to_dict(core_graph)
    with pytest.raises(mg.MetabolicGraphError, match="'x'"):
        records.graph_from_dict({**record, "x": [row[:10] for row in record["x"]]})
    with pytest.raises(mg.MetabolicGraphError, match="'edge_index'"):
        records.graph_from_dict({**record, "edge_index": [record["edge_index"][0]]})
    with pytest.raises(mg.MetabolicGraphError, match="'edge_index': node index outside"):
        records.graph_from_dict({**record, "edge_index": [[0], [10_000]], "edge_attr": [[1.0]]})
    with pytest.raises(mg.MetabolicGraphError, match="'edge_attr'"):
        records.graph_from_dict({**record, "edge_attr": record["edge_attr"][:-1]})
    with pytest.raises(mg.MetabolicGraphError, match="'node_ids'"):
        records.graph_from_dict({**record, "node_ids": record["node_ids"][:-1]})
    with pytest.raises(mg.MetabolicGraphError, match="lacks"):
        records.graph_from_dict({"x": record["x"]})
