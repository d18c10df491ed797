"""Unit tests of AstroGraphVAE on the tiny preset.

Graph topologies here are SYNTHETIC (random bipartite metabolite/reaction wiring, labelled as such); metabolite node
features come from real chemical formulas and charges (BiGG, pH 7.2) parsed by cobra.
"""

from __future__ import annotations

import random
import warnings

import cobra
import pytest
import torch
from torch_geometric.data import Batch, Data
from transformers import set_seed

from astrobio_hf.data.graph_schema import (
    CHARGE_COLUMN,
    ELEMENTS,
    IS_METABOLITE_COLUMN,
    IS_REACTION_COLUMN,
    NODE_FEATURE_DIM,
    OTHER_ELEMENTS_COLUMN,
)
from astrobio_hf.models.graph_vae import (
    GRAPH_VAE_PRESETS,
    AstroGraphVAE,
    AstroGraphVAEConfig,
    AstroGraphVAEOutput,
)
from astrobio_hf.models.graph_vae.modeling_graph_vae import (
    AstroGraphVAEGATv2Block,
    elemental_balance_penalty,
    reaction_elemental_imbalance,
)

# Real metabolites (BiGG formulas and charges).
METABOLITES: dict[str, tuple[str, int]] = {
    "glc__D": ("C6H12O6", 0),
    "atp": ("C10H12N5O13P3", -4),
    "adp": ("C10H12N5O10P2", -3),
    "g6p": ("C6H11O9P", -2),
    "h": ("H", 1),
    "h2o": ("H2O", 0),
    "pyr": ("C3H3O3", -1),
    "co2": ("CO2", 0),
    "nad": ("C21H26N7O14P2", -1),
    "coa": ("C21H32N7O16P3S", -4),
    "fe2": ("Fe", 2),
}
BALANCE_ORDER = (*ELEMENTS, "other", "charge")


def metabolite_features(metabolite: cobra.Metabolite) -> torch.Tensor:
    """A node-feature row laid out as in graph_schema, from a cobra metabolite's parsed formula."""
    row = torch.zeros(NODE_FEATURE_DIM)
    for element, count in metabolite.elements.items():
        column = ELEMENTS.index(element) if element in ELEMENTS else OTHER_ELEMENTS_COLUMN
        row[column] += count
    row[CHARGE_COLUMN] = metabolite.charge
    row[IS_METABOLITE_COLUMN] = 1.0
    return row


def reaction_graph(reaction: cobra.Reaction) -> Data:
    """One reaction as a bipartite graph: node 0 is the reaction, then its metabolites; |coefficient| on edges."""
    metabolites = list(reaction.metabolites)
    x = torch.zeros(1 + len(metabolites), NODE_FEATURE_DIM)
    x[0, IS_REACTION_COLUMN] = 1.0
    edges, coefficients = [], []
    for i, metabolite in enumerate(metabolites, start=1):
        x[i] = metabolite_features(metabolite)
        coefficient = reaction.metabolites[metabolite]
        edges.append((i, 0) if coefficient < 0 else (0, i))  # substrate -> reaction, reaction -> product
        coefficients.append(abs(coefficient))
    return Data(x=x, edge_index=torch.tensor(edges).t(), edge_attr=torch.tensor(coefficients).unsqueeze(-1))


def hexokinase(with_proton: bool) -> cobra.Reaction:
    """glc__D + atp -> g6p + adp (+ h): balanced with the proton, unbalanced (H and charge) without it."""
    mets = {name: cobra.Metabolite(name, formula=f, charge=c) for name, (f, c) in METABOLITES.items()}
    reaction = cobra.Reaction("HEX1" if with_proton else "HEX1_no_h")
    stoich = {mets["glc__D"]: -1, mets["atp"]: -1, mets["g6p"]: 1, mets["adp"]: 1}
    if with_proton:
        stoich[mets["h"]] = 1
    reaction.add_metabolites(stoich)
    return reaction


def synthetic_metabolic_graph(num_nodes: int, seed: int) -> Data:
    """SYNTHETIC wiring: num_nodes // 4 reactions (>= 1), each with 2 random substrates and 2 random products among
    metabolite nodes whose features are real formulas; coefficients 1 or 2."""
    rng = random.Random(seed)
    num_reactions = max(1, num_nodes // 4)
    names = list(METABOLITES)
    x = torch.zeros(num_nodes, NODE_FEATURE_DIM)
    x[:num_reactions, IS_REACTION_COLUMN] = 1.0
    for node in range(num_reactions, num_nodes):
        formula, charge = METABOLITES[names[(node + seed) % len(names)]]
        x[node] = metabolite_features(cobra.Metabolite(f"m{node}", formula=formula, charge=charge))
    edges, coefficients = [], []
    for reaction in range(num_reactions):
        chosen = rng.sample(range(num_reactions, num_nodes), 4)
        edges += [(chosen[0], reaction), (chosen[1], reaction), (reaction, chosen[2]), (reaction, chosen[3])]
        coefficients += [float(rng.choice((1, 2))) for _ in range(4)]
    return Data(x=x, edge_index=torch.tensor(edges).t(), edge_attr=torch.tensor(coefficients).unsqueeze(-1))


@pytest.fixture(scope="module")
def batch() -> Batch:
    return Batch.from_data_list([synthetic_metabolic_graph(n, seed) for seed, n in enumerate((5, 17, 40))])


def tiny_model(**overrides) -> AstroGraphVAE:
    set_seed(0)
    return AstroGraphVAE(AstroGraphVAEConfig(**{**GRAPH_VAE_PRESETS["tiny"], **overrides}))


@pytest.mark.parametrize(
    "overrides",
    [{}, {"edge_decoder": "inner_product", "graph_pooling": "attention"}, {"graph_pooling": "max", "edge_attr_dim": 0}],
)
def test_batch_of_three_graphs_shapes_and_finite_loss(batch: Batch, overrides: dict) -> None:
    model = tiny_model(**overrides)
    config = model.config
    out = model(graph=batch)
    assert isinstance(out, AstroGraphVAEOutput)
    num_nodes = 5 + 17 + 40
    for name in ("node_mu", "node_logvar", "node_latents"):
        assert out[name].shape == (num_nodes, config.latent_dim)
    assert out.graph_embedding.shape == (3, model.graph_embedding_dim) == (3, config.latent_dim)
    assert out.reconstructed_features.shape == (num_nodes, NODE_FEATURE_DIM)
    assert out.edge_probabilities.shape == (batch.edge_index.size(1),)
    for name in ("loss", "edge_reconstruction_loss", "feature_reconstruction_loss", "kl_loss", "constraint_loss"):
        assert out[name].dim() == 0 and torch.isfinite(out[name]), name
    expected = (
        config.edge_reconstruction_weight * out.edge_reconstruction_loss
        + config.feature_reconstruction_weight * out.feature_reconstruction_loss
        + config.kl_weight * out.kl_loss
        + config.constraint_weight * out.constraint_loss
    )
    torch.testing.assert_close(out.loss, expected)


def test_graph_embedding_is_per_graph_pooling_and_inputs_forms_agree(batch: Batch) -> None:
    model = tiny_model().eval()
    set_seed(1)
    from_batch = model(graph=batch)
    set_seed(1)
    from_tensors = model(batch.x, batch.edge_index, batch=batch.batch, edge_attr=batch.edge_attr)
    for name, value in from_batch.items():
        assert torch.equal(value, from_tensors[name]), name
    for graph in range(3):
        torch.testing.assert_close(from_batch.graph_embedding[graph], from_batch.node_mu[batch.batch == graph].mean(0))
    torch.testing.assert_close(model.encode_graph(data=batch), from_batch.graph_embedding)
    # A graph's embedding does not depend on the other graphs in the batch.
    alone = model.encode_graph(graph=batch.get_example(1))
    torch.testing.assert_close(alone[0], from_batch.graph_embedding[1])


def test_bad_inputs_raise_clear_errors(batch: Batch) -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match="node_feature_dim"):
        model(batch.x[:, :10], batch.edge_index, batch=batch.batch, edge_attr=batch.edge_attr)
    with pytest.raises(ValueError, match="edge_attr"):
        model(batch.x, batch.edge_index, batch=batch.batch)
    with pytest.raises(ValueError, match="edge_index"):
        model(batch.x, batch.edge_index + 1000, batch=batch.batch, edge_attr=batch.edge_attr)


def test_constraint_zero_for_balanced_real_reaction_positive_for_unbalanced() -> None:
    balanced, unbalanced = hexokinase(with_proton=True), hexokinase(with_proton=False)
    assert balanced.check_mass_balance() == {}  # cobra agrees on the chemistry
    cobra_imbalance = unbalanced.check_mass_balance()
    assert cobra_imbalance  # {'charge': -1.0, 'H': -1.0}
    config = AstroGraphVAEConfig(**GRAPH_VAE_PRESETS["tiny"])
    penalties = {}
    for name, reaction in (("balanced", balanced), ("unbalanced", unbalanced)):
        graph = reaction_graph(reaction)
        args = (
            graph.x[:, config.balance_columns],
            graph.edge_index,
            graph.edge_attr[:, 0],
            torch.ones(graph.edge_index.size(1)),  # known edges: weight 1
            graph.x[:, config.is_metabolite_column] > 0.5,
            graph.x[:, config.is_reaction_column] > 0.5,
        )
        penalties[name] = elemental_balance_penalty(*args)
        imbalance = reaction_elemental_imbalance(*args).imbalance[0]
        expected = torch.tensor([float(cobra_imbalance.get(k, 0.0)) if name == "unbalanced" else 0.0
                                 for k in BALANCE_ORDER])
        assert torch.equal(imbalance, expected), (name, imbalance)
    assert penalties["balanced"].item() == 0.0
    assert penalties["unbalanced"].item() > 0.0
    # Halving the weight of a product edge unbalances the balanced reaction: the edge weight is used.
    graph = reaction_graph(balanced)
    weights = torch.ones(graph.edge_index.size(1))
    weights[-1] = 0.5
    assert elemental_balance_penalty(
        graph.x[:, config.balance_columns], graph.edge_index, graph.edge_attr[:, 0], weights,
        graph.x[:, IS_METABOLITE_COLUMN] > 0.5, graph.x[:, IS_REACTION_COLUMN] > 0.5,
    ).item() > 0.0


def test_constraint_gradient_reaches_first_gatv2_layer(batch: Batch) -> None:
    model = tiny_model()
    out = model(graph=batch)
    assert out.constraint_loss.item() > 0.0
    out.constraint_loss.backward()
    first = model.encoder.layers[0].conv
    for param in (first.lin_l.weight, first.lin_r.weight, first.att):
        assert param.grad is not None and param.grad.abs().sum().item() > 0.0
    # The constraint never touches the edge/feature targets directly: its gradient passes through the decoders.
    assert model.feature_decoder[-1].weight.grad.abs().sum().item() > 0.0


def test_save_pretrained_round_trip_is_bit_identical(batch: Batch, tmp_path) -> None:
    model = tiny_model(graph_pooling="attention").eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded = AstroGraphVAE.from_pretrained(tmp_path).eval()
    def config_fields(model: AstroGraphVAE) -> dict:
        return {k: v for k, v in model.config.to_dict().items() if k != "_name_or_path"}

    assert config_fields(loaded) == config_fields(model)
    original_state, loaded_state = model.state_dict(), loaded.state_dict()
    assert original_state.keys() == loaded_state.keys()
    for key, value in original_state.items():
        assert torch.equal(value, loaded_state[key]), key
    set_seed(3)
    expected = model(graph=batch)
    set_seed(3)
    actual = loaded(graph=batch)
    for name, value in expected.items():
        assert torch.equal(value, actual[name]), name


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_attention_heads", 3),  # 16 not divisible by 3
        ("latent_dim", 0),
        ("hidden_size", -16),
        ("dropout", 1.5),
        ("negative_sampling_ratio", 0.0),
        ("kl_weight", -1.0),
        ("edge_decoder", "bilinear"),
        ("graph_pooling", "sort"),
        ("balance_columns", [0, 1, 99]),
        ("edge_attr_dim", -1),
    ],
)
def test_bad_config_raises_value_error_naming_field(field: str, value) -> None:
    with pytest.raises(ValueError, match=field):
        AstroGraphVAEConfig(**{**GRAPH_VAE_PRESETS["tiny"], field: value})


def test_config_defaults_from_schema_and_presets() -> None:
    config = AstroGraphVAEConfig()
    assert config.node_feature_dim == NODE_FEATURE_DIM
    assert config.balance_columns == [0, 1, 2, 3, 4, 5, OTHER_ELEMENTS_COLUMN, CHARGE_COLUMN]
    assert (config.is_metabolite_column, config.is_reaction_column) == (IS_METABOLITE_COLUMN, IS_REACTION_COLUMN)
    seed = AstroGraphVAEConfig(**GRAPH_VAE_PRESETS["seed"])
    assert (seed.node_feature_dim, seed.latent_dim, seed.graph_embedding_dim) == (64, 256, 256)


def test_gradient_checkpointing_checkpoints_blocks_and_keeps_loss_and_grads(batch: Batch) -> None:
    model = tiny_model().train()

    def loss_and_grads() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model.zero_grad()
        set_seed(5)
        loss = model(graph=batch).loss
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    plain_loss, plain_grads = loss_and_grads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the v6 rename notice
        model.activation_checkpointing_enable()
    blocks = [m for m in model.modules() if isinstance(m, AstroGraphVAEGATv2Block)]
    assert len(blocks) == model.config.num_layers and all(b.gradient_checkpointing for b in blocks)
    calls = []
    for block in blocks:
        inner = block._gradient_checkpointing_func
        block._gradient_checkpointing_func = lambda *a, _inner=inner, **k: calls.append(1) or _inner(*a, **k)
    ckpt_loss, ckpt_grads = loss_and_grads()
    assert len(calls) == model.config.num_layers  # every block really went through torch.utils.checkpoint
    assert torch.equal(plain_loss, ckpt_loss)
    assert plain_grads.keys() == ckpt_grads.keys()
    for name, grad in plain_grads.items():
        torch.testing.assert_close(ckpt_grads[name], grad, rtol=1e-5, atol=1e-7, msg=name)


def test_sample_from_prior() -> None:
    model = tiny_model().eval()
    graph = model.sample(12, generator=torch.Generator().manual_seed(0))
    assert isinstance(graph, Data)
    assert graph.num_nodes == 12 and graph.x.shape == (12, NODE_FEATURE_DIM)
    assert torch.isfinite(graph.x).all()
    assert graph.edge_index.size(0) == 2 and graph.edge_prob.shape == (graph.edge_index.size(1),)
    if graph.edge_index.numel():
        assert graph.edge_index.min() >= 0 and graph.edge_index.max() < 12
        assert (graph.edge_index[0] != graph.edge_index[1]).all()
    again = model.sample(12, generator=torch.Generator().manual_seed(0))
    assert torch.equal(graph.x, again.x) and torch.equal(graph.edge_index, again.edge_index)
    assert model.sample(6, threshold=1.0).edge_index.size(1) == 0
    assert model.sample(6, threshold=0.0).edge_index.size(1) == 6 * 5
    with pytest.raises(ValueError, match="num_nodes"):
        model.sample(0)


def test_loss_decreases_on_a_fixed_batch(batch: Batch) -> None:
    model = tiny_model()

    def eval_loss() -> float:
        model.eval()
        set_seed(7)  # the same negative pairs before and after training
        with torch.no_grad():
            return model(graph=batch).loss.item()

    before = eval_loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    model.train()
    for _ in range(30):
        optimizer.zero_grad()
        model(graph=batch).loss.backward()
        optimizer.step()
    after = eval_loss()
    assert after < 0.85 * before, (before, after)


def test_batched_negative_pairs_are_true_negatives_within_each_graph() -> None:
    from torch_geometric.utils import coalesce

    from astrobio_hf.models.graph_vae.modeling_graph_vae import batched_negative_pairs
    from tests.helpers.model_inputs import hexokinase_graph

    graphs = Batch.from_data_list([hexokinase_graph(c) for c in (1, 3, 16, 2)])
    exclude = coalesce(graphs.edge_index, num_nodes=graphs.num_nodes)
    torch.manual_seed(0)
    negatives = batched_negative_pairs(exclude, graphs.batch, graphs.edge_index, 1.0)
    src_graph, dst_graph = graphs.batch[negatives[0]], graphs.batch[negatives[1]]
    assert torch.equal(src_graph, dst_graph)  # never across graphs
    assert bool((negatives[0] != negatives[1]).all())  # no self loops
    keys = negatives[0] * graphs.num_nodes + negatives[1]
    assert not torch.isin(keys, exclude[0] * graphs.num_nodes + exclude[1]).any()  # no input edge
    assert keys.unique().numel() == keys.numel()
    assert bool((src_graph.diff() >= 0).all())  # grouped by graph, as PyG's batched sampler returns them
    # one negative per input edge in every graph (each has far more free pairs than edges)
    assert torch.equal(torch.bincount(src_graph), torch.bincount(graphs.batch[graphs.edge_index[0]]))
    # a 2-node graph with both directed edges present has no free pair: nothing is drawn for it
    full = Batch.from_data_list([Data(x=torch.zeros(2, 1), edge_index=torch.tensor([[0, 1], [1, 0]]))])
    assert batched_negative_pairs(full.edge_index, full.batch, full.edge_index, 1.0).shape == (2, 0)


def test_encoder_blocks_see_the_message_graph_gatv2conv_builds_itself(batch: Batch) -> None:
    """The encoder adds the self loops once; each block must compute what a stock GATv2Conv (self loops added by
    itself, `fill_value="mean"`) computes on the same edges, even when the input holds a self loop."""
    from torch_geometric.nn import GATv2Conv

    model = tiny_model().eval()
    edge_index = torch.cat([batch.edge_index, torch.tensor([[2], [2]])], dim=1)  # a self loop in the input
    edge_attr = torch.cat([batch.edge_attr, torch.tensor([[3.0]])])
    hidden = torch.randn(batch.num_nodes, model.config.hidden_size)
    block = model.encoder.layers[0].conv
    stock = GATv2Conv(block.in_channels, block.out_channels, heads=block.heads, edge_dim=block.edge_dim)
    stock.load_state_dict(block.state_dict())
    raw_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    flag = torch.ones(edge_index.size(1), 1)
    raw_attr = torch.cat([torch.cat([edge_attr, flag], -1), torch.cat([edge_attr, -flag], -1)])
    message_index, message_attr = model.encoder.message_edges(edge_index, edge_attr, torch.float32, batch.num_nodes)
    torch.testing.assert_close(block(hidden, message_index, message_attr), stock(hidden, raw_index, raw_attr))


def test_mlp_edge_decoder_scores_the_concatenated_pair() -> None:
    """The MLP decoder projects nodes before gathering pairs: the logits are those of the MLP on [z_src, z_dst]."""
    model = tiny_model()
    z = torch.randn(7, model.config.latent_dim)
    pairs = torch.tensor([[0, 1, 6, 3, 3], [5, 0, 2, 3, 4]])
    expected = model.edge_decoder.mlp(torch.cat([z[pairs[0]], z[pairs[1]]], dim=-1)).squeeze(-1)
    torch.testing.assert_close(model.edge_decoder(z, pairs), expected)
