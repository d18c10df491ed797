"""AstroGraphVAE: a variational graph autoencoder for metabolic networks with an elemental-balance constraint.

Graphs are bipartite metabolite/reaction networks laid out as in `astrobio_hf.data.graph_schema`:
- node features `x [N, node_feature_dim]`: raw atom counts per element, other atoms, charge, node-type flags, ...;
- directed edges: metabolite -> reaction for a substrate, reaction -> metabolite for a product;
- `edge_attr[:, 0]`: the stoichiometric coefficient. Its MAGNITUDE is used (`abs`): the direction of the edge
  carries the sign, so a pipeline writing signed or unsigned coefficients gives the same result.

Encoder: symlog(x) -> linear -> `num_layers` residual GATv2 blocks (multi-head; messages travel along each edge and
its reverse, with a direction flag appended to the edge attributes so substrates and products are told apart, and
along one self loop per node, added once for all blocks as GATv2Conv would add it in each) ->
per-node Gaussian `mu`, `logvar` -> latents `z` (reparameterised in training, `mu` in eval). The graph embedding
pools `mu` per graph with a PyG pooling op. Decoders: edge logits from latent pairs (MLP by default, or inner product), node
features from each latent (predicted in symlog space; `reconstructed_features` are mapped back to raw units).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GATv2Conv, global_add_pool, global_max_pool, global_mean_pool
from torch_geometric.nn.aggr import AttentionalAggregation
from torch_geometric.nn.dense.linear import Linear as PyGLinear
from torch_geometric.nn.models.autoencoder import InnerProductDecoder
from torch_geometric.utils import (
    add_self_loops,
    coalesce,
    negative_sampling,
    remove_self_loops,
    scatter,
    to_undirected,
)
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils import ModelOutput

from .configuration_graph_vae import AstroGraphVAEConfig

# |symlog| above this is clamped before symexp: e^20 atoms is far beyond any molecule, and the clamp keeps an
# untrained decoder from overflowing float32 in the constraint.
_SYMEXP_MAX = 20.0
# Rows of node pairs scored at once by `sample` with the MLP edge decoder (bounds memory at N^2 pairs).
_SAMPLE_PAIRS_PER_CHUNK = 1 << 18


def symlog(values: Tensor) -> Tensor:
    """sign(v) * log(1 + |v|): compresses atom counts (0..hundreds) and keeps signed charges."""
    return torch.sign(values) * torch.log1p(values.abs())


def symexp(values: Tensor) -> Tensor:
    """Inverse of `symlog` (with a clamp against overflow)."""
    return torch.sign(values) * torch.expm1(values.abs().clamp(max=_SYMEXP_MAX))


class ReactionImbalance(NamedTuple):
    """Per-node output of `reaction_elemental_imbalance` (rows of non-reaction nodes are zero)."""

    imbalance: Tensor  # [N, K] signed net production of each conserved quantity
    throughput: Tensor  # [N] half the weighted total of |quantities| through the reaction (its scale)
    has_edges: Tensor  # [N] bool: reaction nodes with at least one substrate or product edge


def reaction_elemental_imbalance(
    counts: Tensor,
    edge_index: Tensor,
    stoichiometry: Tensor,
    edge_weight: Tensor,
    is_metabolite: Tensor,
    is_reaction: Tensor,
) -> ReactionImbalance:
    r"""Net production of each conserved quantity at every reaction node.

    For a reaction node r with substrate edges m -> r and product edges r -> m:

    .. math::
        b_{r,k} = \sum_{e=(r \to m)} p_e\, s_e\, c_{m,k} \;-\; \sum_{e=(m \to r)} p_e\, s_e\, c_{m,k}

    where `c_{m,k}` is the count of quantity k (an element, other atoms, charge) in metabolite m, `s_e` the
    stoichiometric coefficient magnitude and `p_e` an edge weight (the decoded edge probability; 1 for a known
    reaction). A balanced reaction has `b_r = 0`. Edges between two nodes of the same type are ignored.
    `throughput_r = 1/2 * sum_e p_e s_e ||c_m||_1` is the size of the reaction, used to make the penalty relative.
    """
    num_nodes = counts.size(0)
    src, dst = edge_index
    is_substrate = is_metabolite[src] & is_reaction[dst]
    is_product = is_reaction[src] & is_metabolite[dst]
    keep = is_substrate | is_product
    reaction = torch.where(is_substrate, dst, src)[keep]
    metabolite = torch.where(is_substrate, src, dst)[keep]
    sign = torch.where(is_substrate, -1.0, 1.0).to(counts.dtype)[keep]
    weight = (edge_weight * stoichiometry).to(counts.dtype)[keep]
    metabolite_counts = counts[metabolite]
    flow = (sign * weight).unsqueeze(-1) * metabolite_counts
    imbalance = scatter(flow, reaction, dim=0, dim_size=num_nodes, reduce="sum")
    throughput = 0.5 * scatter(weight * metabolite_counts.abs().sum(-1), reaction, dim=0, dim_size=num_nodes, reduce="sum")
    has_edges = torch.zeros(num_nodes, dtype=torch.bool, device=counts.device)
    has_edges[reaction] = True
    return ReactionImbalance(imbalance, throughput, has_edges)


def elemental_balance_penalty(
    counts: Tensor,
    edge_index: Tensor,
    stoichiometry: Tensor,
    edge_weight: Tensor,
    is_metabolite: Tensor,
    is_reaction: Tensor,
) -> Tensor:
    r"""Mean squared relative elemental imbalance over the reaction nodes that have edges.

    .. math::
        L_{balance} = \frac{1}{|R|} \sum_{r \in R} \sum_k \left(\frac{b_{r,k}}{1 + \mathrm{sg}(throughput_r)}\right)^2

    with `b` from `reaction_elemental_imbalance`. Dividing by the reaction's size keeps big molecules (lipids, CoA
    esters) from dominating; the divisor is detached (`sg`) so the penalty cannot be lowered by inflating the counts.
    Gradients reach `counts` and `edge_weight`, i.e. the decoder outputs, and through them the encoder.
    Returns 0 when there is no reaction with edges.
    """
    result = reaction_elemental_imbalance(counts, edge_index, stoichiometry, edge_weight, is_metabolite, is_reaction)
    if not bool(result.has_edges.any()):
        return counts.new_zeros(())
    scale = 1.0 + result.throughput[result.has_edges].detach()
    relative = result.imbalance[result.has_edges] / scale.unsqueeze(-1)
    return relative.pow(2).sum(-1).mean()


def batched_negative_pairs(exclude: Tensor, batch: Tensor, edge_index: Tensor, ratio: float) -> Tensor:
    """About `ratio` x (input edges of graph g) node pairs per graph g, none of them in `exclude` or a self loop.

    What `torch_geometric.utils.batched_negative_sampling` returns (pairs within each graph, sorted by graph), drawn
    for all graphs at once: PyG's version loops over the graphs in Python and runs its sampler once per graph, which
    cost about a tenth of the graph VAE's training step. Candidates are drawn uniformly with replacement inside each
    graph (3 tries, like PyG), true negatives are kept and duplicates dropped; a graph with fewer free pairs than
    asked gets what it has. Uses torch's RNG (`transformers.set_seed` / `torch.manual_seed` make it reproducible).
    """
    num_nodes = batch.numel()
    num_graphs = int(batch.max()) + 1
    nodes = torch.bincount(batch, minlength=num_graphs)
    start = torch.cumsum(nodes, 0) - nodes
    wanted = (float(ratio) * torch.bincount(batch[edge_index[0]], minlength=num_graphs).double()).long()
    free = nodes * (nodes - 1) - torch.bincount(batch[exclude[0]], minlength=num_graphs)
    wanted = torch.minimum(wanted, free.clamp_min(0))
    exclude_keys = exclude[0] * num_nodes + exclude[1]
    kept = exclude.new_zeros(0)
    for _ in range(3):
        missing = wanted - torch.bincount(batch[kept // num_nodes], minlength=num_graphs)
        if int(missing.max()) <= 0:
            break
        draws = (missing.clamp_min(0) * 2 + 2) * (nodes > 1)  # oversample: most pairs of a sparse graph are free
        graph = torch.repeat_interleave(torch.arange(num_graphs, device=batch.device), draws)
        n = nodes[graph]
        src = (torch.rand(graph.numel(), device=batch.device) * n).long().clamp_max(n - 1)
        dst = (torch.rand(graph.numel(), device=batch.device) * (n - 1)).long().clamp_max(n - 2)
        dst = dst + (dst >= src).long()  # skip the self loop
        keys = (start[graph] + src) * num_nodes + start[graph] + dst
        keys = keys[~torch.isin(keys, exclude_keys)]
        kept = torch.cat([kept, keys])
        # drop repeated pairs (first draw wins), then keep at most `wanted` per graph, grouped by graph
        unique, inverse = torch.unique(kept, return_inverse=True)
        positions = torch.arange(kept.numel(), device=kept.device)
        first = positions.new_full((unique.numel(),), kept.numel()).scatter_reduce_(0, inverse, positions, "amin")
        kept = kept[torch.sort(first).values]
        owner = batch[kept // num_nodes]
        order = torch.sort(owner, stable=True)
        per_graph = torch.bincount(owner, minlength=num_graphs)
        rank = positions[: kept.numel()] - (torch.cumsum(per_graph, 0) - per_graph)[order.values]
        kept = kept[order.indices[rank < wanted[order.values]]]
    return torch.stack([kept // num_nodes, kept % num_nodes])


@dataclass
class AstroGraphVAEOutput(ModelOutput):
    """Output of [`AstroGraphVAE`].

    loss: the weighted sum of the four components below (each also returned unweighted).
    node_mu / node_logvar / node_latents: `[num_nodes, latent_dim]` (latents are `mu` in eval mode).
    graph_embedding: `[num_graphs, latent_dim]`, pooled `mu` per graph.
    reconstructed_features: `[num_nodes, node_feature_dim]` in raw feature units.
    edge_probabilities: `[num_edges]` decoded probability of each input edge.
    last_hidden_state: `[num_nodes, hidden_size]` output of the last GATv2 block.
    """

    loss: torch.FloatTensor | None = None
    edge_reconstruction_loss: torch.FloatTensor | None = None
    feature_reconstruction_loss: torch.FloatTensor | None = None
    kl_loss: torch.FloatTensor | None = None
    constraint_loss: torch.FloatTensor | None = None
    node_mu: torch.FloatTensor | None = None
    node_logvar: torch.FloatTensor | None = None
    node_latents: torch.FloatTensor | None = None
    graph_embedding: torch.FloatTensor | None = None
    reconstructed_features: torch.FloatTensor | None = None
    edge_probabilities: torch.FloatTensor | None = None
    last_hidden_state: torch.FloatTensor | None = None


class GraphInputs(NamedTuple):
    """Validated graph tensors, whether they came as a PyG Batch/Data or as separate tensors."""

    x: Tensor
    edge_index: Tensor
    batch: Tensor | None
    edge_attr: Tensor | None
    num_graphs: int


class AstroGraphVAEGATv2Block(GradientCheckpointingLayer):
    """One encoder block: multi-head GATv2 attention, activation, dropout, residual, LayerNorm."""

    def __init__(self, config: AstroGraphVAEConfig):
        super().__init__()
        self.conv = GATv2Conv(
            config.hidden_size,
            config.hidden_size // config.num_attention_heads,
            heads=config.num_attention_heads,
            concat=True,
            dropout=config.attention_dropout,
            edge_dim=config.edge_attr_dim + 1,  # + the direction flag added by the encoder
            # The encoder adds the self loops once for every block (with GATv2Conv's own "mean" edge attributes):
            # the same message graph GATv2Conv would build in each block, without redoing it per block.
            add_self_loops=False,
        )
        self.act = ACT2FN[config.hidden_act]
        self.dropout = nn.Dropout(config.dropout)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        # Tensors are passed positionally: the gradient-checkpointing wrapper checkpoints positional inputs.
        update = self.dropout(self.act(self.conv(hidden_states, edge_index, edge_attr)))
        return self.norm(hidden_states + update)


class AstroGraphVAEEncoder(nn.Module):
    """symlog(x) -> GATv2 blocks -> (hidden states, mu, logvar) per node."""

    def __init__(self, config: AstroGraphVAEConfig):
        super().__init__()
        self.config = config
        self.input_proj = nn.Linear(config.node_feature_dim, config.hidden_size)
        self.layers = nn.ModuleList(AstroGraphVAEGATv2Block(config) for _ in range(config.num_layers))
        self.mu_proj = nn.Linear(config.hidden_size, config.latent_dim)
        self.logvar_proj = nn.Linear(config.hidden_size, config.latent_dim)

    def message_edges(
        self, edge_index: Tensor, edge_attr: Tensor | None, dtype: torch.dtype, num_nodes: int
    ) -> tuple[Tensor, Tensor]:
        """Each edge plus its reverse, with attributes `[edge_attr, +1 forward / -1 reverse]`, plus one self loop per
        node whose attributes are the mean of the node's incoming messages' (what GATv2Conv's default
        `add_self_loops=True, fill_value="mean"` adds; built once here instead of once per block).

        Metabolic edges are directed (substrate -> reaction -> product); without the reverse edges a substrate would
        never hear from its reaction.
        """
        num_edges = edge_index.size(1)
        attrs = edge_attr.to(dtype) if self.config.edge_attr_dim > 0 else edge_index.new_zeros((num_edges, 0), dtype=dtype)
        direction = torch.ones(num_edges, 1, dtype=dtype, device=edge_index.device)
        both_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
        both_attr = torch.cat([torch.cat([attrs, direction], -1), torch.cat([attrs, -direction], -1)], dim=0)
        both_index, both_attr = remove_self_loops(both_index, both_attr)
        return add_self_loops(both_index, both_attr, fill_value=self.layers[0].conv.fill_value, num_nodes=num_nodes)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        hidden_states = self.input_proj(symlog(x))
        message_index, message_attr = self.message_edges(edge_index, edge_attr, hidden_states.dtype, x.size(0))
        for layer in self.layers:
            hidden_states = layer(hidden_states, message_index, message_attr)
        mu = self.mu_proj(hidden_states)
        # Upper clamp as in PyG's VGAE: exp(logvar) must not overflow early in training.
        logvar = self.logvar_proj(hidden_states).clamp(max=10.0)
        return hidden_states, mu, logvar


class AstroGraphVAEEdgeDecoder(nn.Module):
    """Edge logits for node pairs: an MLP on `[z_src, z_dst]` (directed) or PyG's inner product (symmetric).

    The MLP is the default: metabolic graphs are bipartite and directed, so linked nodes are of DIFFERENT types and
    similar metabolites are never linked, which an inner product (a similarity) models poorly.
    """

    def __init__(self, config: AstroGraphVAEConfig):
        super().__init__()
        self.kind = config.edge_decoder
        if self.kind == "inner_product":
            self.inner_product = InnerProductDecoder()
        else:
            self.mlp = nn.Sequential(
                nn.Linear(2 * config.latent_dim, config.hidden_size),
                ACT2FN[config.hidden_act],
                nn.Linear(config.hidden_size, 1),
            )

    def forward(self, z: Tensor, edge_index: Tensor) -> Tensor:
        if self.kind == "inner_product":
            return self.inner_product(z, edge_index, sigmoid=False)
        # mlp[0]([z_src, z_dst]) = W_src z_src + W_dst z_dst + b: project every node once with each half of the
        # weight and gather the projections per pair (as GATv2Conv does with lin_l/lin_r), instead of
        # multiplying the [pairs, 2 * latent] concatenation: fewer FLOPs whenever there are more pairs than nodes.
        first, latent = self.mlp[0], z.size(-1)
        from_src = F.linear(z, first.weight[:, :latent])
        from_dst = F.linear(z, first.weight[:, latent:], first.bias)
        hidden = from_src.index_select(0, edge_index[0]) + from_dst.index_select(0, edge_index[1])
        return self.mlp[2](self.mlp[1](hidden)).squeeze(-1)


class AstroGraphVAEGraphPooling(nn.Module):
    """Per-graph readout of node vectors with a PyG pooling op (mean, max, add, or attentional aggregation)."""

    def __init__(self, config: AstroGraphVAEConfig):
        super().__init__()
        self.kind = config.graph_pooling
        if self.kind == "attention":
            self.attention = AttentionalAggregation(gate_nn=nn.Linear(config.latent_dim, 1))

    def forward(self, values: Tensor, batch: Tensor | None, num_graphs: int) -> Tensor:
        if self.kind == "attention":
            if batch is None:
                batch = values.new_zeros(values.size(0), dtype=torch.long)
            return self.attention(values, index=batch, dim_size=num_graphs)
        pool = {"mean": global_mean_pool, "max": global_max_pool, "add": global_add_pool}[self.kind]
        return pool(values, batch, size=num_graphs)


class AstroGraphVAEPreTrainedModel(PreTrainedModel):
    """Weight initialisation and capability flags shared by the graph VAE models."""

    config_class = AstroGraphVAEConfig
    config: AstroGraphVAEConfig
    base_model_prefix = "graph_vae"
    main_input_name = "x"
    _no_split_modules = ["AstroGraphVAEGATv2Block"]
    supports_gradient_checkpointing = True

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, PyGLinear):
            # GATv2Conv's own projections: Glorot, as PyG initialises them.
            _glorot_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, GATv2Conv):
            _glorot_(module.att)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)


def _glorot_(tensor: Tensor) -> None:
    """PyG's Glorot uniform (bound from the last two dims), through transformers' init so loaded weights are kept."""
    bound = (6.0 / (tensor.size(-2) + tensor.size(-1))) ** 0.5
    init.uniform_(tensor, -bound, bound)


def _one_graph(graph: Data | Batch | None, data: Data | Batch | None) -> Data | Batch | None:
    """`graph` and `data` are two names for the same argument (PyG code says `data`)."""
    if graph is not None and data is not None:
        raise ValueError("AstroGraphVAE: pass the PyG graph as `graph=` or `data=`, not both.")
    return graph if graph is not None else data


class AstroGraphVAE(AstroGraphVAEPreTrainedModel):
    r"""Variational graph autoencoder for metabolic networks (see the module docstring for the architecture).

    Loss (each component is also returned on its own):

    .. math::
        L = w_e L_{edge} + w_f L_{feat} + w_{kl} L_{KL} + w_c L_{balance}

    - :math:`L_{edge}`: binary cross-entropy of the decoded edge logits, 1 for the input edges and 0 for negative
      pairs drawn per graph (`batched_negative_pairs`: what `torch_geometric.utils.batched_negative_sampling`
      returns, drawn for all graphs at once; about
      `negative_sampling_ratio` per edge; for the symmetric inner-product decoder the reverse of an edge is never
      a negative).
    - :math:`L_{feat}`: mean squared error between decoded and input features, both in symlog space.
    - :math:`L_{KL} = -\tfrac12 \frac{1}{N}\sum_i \sum_d (1 + \log\sigma^2_{id} - \mu_{id}^2 - \sigma^2_{id})`.
    - :math:`L_{balance}`: `elemental_balance_penalty` on the DECODED conserved quantities
      `c = symexp(decoded[:, balance_columns])` of each metabolite, weighted by the DECODED probability of each input
      edge and by its stoichiometric coefficient (edges metabolite -> reaction are consumed, reaction -> metabolite
      produced; node types read from the input flags). The gradient flows through both decoders into the encoder.
    """

    def __init__(self, config: AstroGraphVAEConfig):
        super().__init__(config)
        self.encoder = AstroGraphVAEEncoder(config)
        self.edge_decoder = AstroGraphVAEEdgeDecoder(config)
        self.feature_decoder = nn.Sequential(
            nn.Linear(config.latent_dim, config.hidden_size),
            ACT2FN[config.hidden_act],
            nn.Linear(config.hidden_size, config.node_feature_dim),
        )
        self.pooling = AstroGraphVAEGraphPooling(config)
        self.post_init()

    @property
    def graph_embedding_dim(self) -> int:
        """Width of `encode_graph`'s output (= `config.latent_dim`)."""
        return self.config.graph_embedding_dim

    def _graph_inputs(
        self,
        x: Tensor | None,
        edge_index: Tensor | None,
        batch: Tensor | None,
        edge_attr: Tensor | None,
        graph: Data | Batch | None,
    ) -> GraphInputs:
        """Take tensors from a PyG `Batch`/`Data` or from the explicit arguments, and check their shapes."""
        if graph is not None:
            if x is not None or edge_index is not None:
                raise ValueError("AstroGraphVAE: pass either a PyG graph (`graph=`/`data=`) or x/edge_index, not both.")
            x, edge_index, edge_attr = graph.x, graph.edge_index, getattr(graph, "edge_attr", None)
            batch = getattr(graph, "batch", None)
            num_graphs = graph.num_graphs if isinstance(graph, Batch) else 1
        else:
            if x is None or edge_index is None:
                raise ValueError("AstroGraphVAE: `x` and `edge_index` are required (or pass a PyG graph as `graph=`).")
            num_graphs = int(batch.max()) + 1 if batch is not None and batch.numel() > 0 else 1
        cfg = self.config
        if x.dim() != 2 or x.size(1) != cfg.node_feature_dim:
            raise ValueError(
                f"AstroGraphVAE: node features `x` must be [num_nodes, {cfg.node_feature_dim}] "
                f"(config.node_feature_dim), got {list(x.shape)}."
            )
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"AstroGraphVAE: `edge_index` must be [2, num_edges], got {list(edge_index.shape)}.")
        if edge_index.numel() > 0 and (int(edge_index.min()) < 0 or int(edge_index.max()) >= x.size(0)):
            raise ValueError(f"AstroGraphVAE: `edge_index` refers to nodes outside [0, {x.size(0)}).")
        if cfg.edge_attr_dim > 0:
            if edge_attr is None:
                raise ValueError(
                    f"AstroGraphVAE: config.edge_attr_dim={cfg.edge_attr_dim} but no `edge_attr` was given "
                    "(edge_attr[:, 0] is the stoichiometric coefficient; use edge_attr_dim=0 for graphs without it)."
                )
            if edge_attr.dim() == 1:
                edge_attr = edge_attr.unsqueeze(-1)
            if edge_attr.shape != (edge_index.size(1), cfg.edge_attr_dim):
                raise ValueError(
                    f"AstroGraphVAE: `edge_attr` must be [num_edges={edge_index.size(1)}, "
                    f"edge_attr_dim={cfg.edge_attr_dim}], got {list(edge_attr.shape)}."
                )
        else:
            edge_attr = None
        if batch is not None and batch.shape != (x.size(0),):
            raise ValueError(f"AstroGraphVAE: `batch` must be [num_nodes={x.size(0)}], got {list(batch.shape)}.")
        x = x.to(self.dtype)
        return GraphInputs(x, edge_index.long(), batch, edge_attr, num_graphs)

    def reparameterize(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """z = mu + sigma * eps in training; mu in eval (a deterministic encoding)."""
        if not self.training:
            return mu
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def encode_graph(
        self,
        x: Tensor | None = None,
        edge_index: Tensor | None = None,
        batch: Tensor | None = None,
        edge_attr: Tensor | None = None,
        *,
        graph: Data | Batch | None = None,
        data: Data | Batch | None = None,
    ) -> Tensor:
        """The graph embedding `[num_graphs, graph_embedding_dim]` (pooled `mu`; no decoders run)."""
        inputs = self._graph_inputs(x, edge_index, batch, edge_attr, _one_graph(graph, data))
        _, mu, _ = self.encoder(inputs.x, inputs.edge_index, inputs.edge_attr)
        return self.pooling(mu, inputs.batch, inputs.num_graphs)

    def decode_features(self, z: Tensor) -> Tensor:
        """Node features in raw units decoded from latents."""
        return symexp(self.feature_decoder(z))

    def _negative_edges(self, edge_index: Tensor, batch: Tensor | None, num_nodes: int) -> Tensor:
        """Node pairs not linked in the input, drawn per graph, about `negative_sampling_ratio` per input edge."""
        if self.config.edge_decoder == "inner_product":
            exclude = to_undirected(edge_index, num_nodes=num_nodes)  # a symmetric score: reverse edges are positives
        else:
            exclude = coalesce(edge_index, num_nodes=num_nodes)
        if exclude.size(1) == 0:
            return edge_index.new_zeros((2, 0))
        if batch is None:
            # PyG's float ratio counts the exclusion set; rescale it to count the input edges.
            ratio = float(self.config.negative_sampling_ratio) * edge_index.size(1) / exclude.size(1)
            return negative_sampling(exclude, num_nodes=num_nodes, num_neg_samples=ratio)
        return batched_negative_pairs(exclude, batch, edge_index, self.config.negative_sampling_ratio)

    def forward(
        self,
        x: Tensor | None = None,
        edge_index: Tensor | None = None,
        batch: Tensor | None = None,
        edge_attr: Tensor | None = None,
        *,
        graph: Data | Batch | None = None,
        data: Data | Batch | None = None,
    ) -> AstroGraphVAEOutput:
        """Encode, decode and score a batch of graphs; pass tensors, or a PyG `Batch`/`Data` as `graph` or `data`.

        Negative pairs come from PyG's sampler, which draws from Python's `random` module: seed with
        `transformers.set_seed` (not only `torch.manual_seed`) for a reproducible loss.
        """
        inputs = self._graph_inputs(x, edge_index, batch, edge_attr, _one_graph(graph, data))
        cfg = self.config
        x, edge_index = inputs.x, inputs.edge_index
        hidden_states, mu, logvar = self.encoder(x, edge_index, inputs.edge_attr)
        z = self.reparameterize(mu, logvar)
        graph_embedding = self.pooling(mu, inputs.batch, inputs.num_graphs)

        # Edge reconstruction against negative samples (both decoded in one call). BCE-with-logits for stability.
        neg_edge_index = self._negative_edges(edge_index, inputs.batch, x.size(0))
        pos_logits, neg_logits = self.edge_decoder(z, torch.cat([edge_index, neg_edge_index], dim=1)).split(
            [edge_index.size(1), neg_edge_index.size(1)]
        )
        edge_loss = z.new_zeros(())
        if pos_logits.numel() > 0:
            edge_loss = edge_loss + F.binary_cross_entropy_with_logits(pos_logits, torch.ones_like(pos_logits))
        if neg_logits.numel() > 0:
            edge_loss = edge_loss + F.binary_cross_entropy_with_logits(neg_logits, torch.zeros_like(neg_logits))

        decoded_symlog = self.feature_decoder(z)
        feature_loss = F.mse_loss(decoded_symlog, symlog(x))
        kl_loss = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))

        edge_probabilities = torch.sigmoid(pos_logits)
        if inputs.edge_attr is not None:
            stoichiometry = inputs.edge_attr[:, 0].abs()
        else:
            stoichiometry = torch.ones_like(edge_probabilities)
        reconstructed_features = symexp(decoded_symlog)
        constraint_loss = elemental_balance_penalty(
            reconstructed_features[:, cfg.balance_columns],
            edge_index,
            stoichiometry,
            edge_probabilities,
            is_metabolite=x[:, cfg.is_metabolite_column] > 0.5,
            is_reaction=x[:, cfg.is_reaction_column] > 0.5,
        )

        loss = (
            cfg.edge_reconstruction_weight * edge_loss
            + cfg.feature_reconstruction_weight * feature_loss
            + cfg.kl_weight * kl_loss
            + cfg.constraint_weight * constraint_loss
        )
        return AstroGraphVAEOutput(
            loss=loss,
            edge_reconstruction_loss=edge_loss,
            feature_reconstruction_loss=feature_loss,
            kl_loss=kl_loss,
            constraint_loss=constraint_loss,
            node_mu=mu,
            node_logvar=logvar,
            node_latents=z,
            graph_embedding=graph_embedding,
            reconstructed_features=reconstructed_features,
            edge_probabilities=edge_probabilities,
            last_hidden_state=hidden_states,
        )

    @torch.no_grad()
    def sample(
        self,
        num_nodes: int,
        *,
        threshold: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Data:
        """Draw a new graph from the prior: node latents ~ N(0, I), decoded features, decoded edges.

        Every ordered pair (i, j), i != j, becomes an edge i -> j with its decoded probability (Bernoulli draw), or
        when `threshold` is given, if that probability exceeds it. Returns a `Data` with `x [num_nodes,
        node_feature_dim]` (raw units), `edge_index`, `edge_prob` (probability of each kept edge) and `z`. Sampled
        graphs carry no stoichiometry (`edge_attr`).
        """
        if num_nodes <= 0:
            raise ValueError(f"AstroGraphVAE.sample: num_nodes must be positive, got {num_nodes}.")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"AstroGraphVAE.sample: threshold must be in [0, 1], got {threshold}.")
        z = torch.randn(num_nodes, self.config.latent_dim, generator=generator, device=self.device, dtype=self.dtype)
        features = self.decode_features(z)
        rows_per_chunk = max(1, _SAMPLE_PAIRS_PER_CHUNK // num_nodes)
        targets = torch.arange(num_nodes, device=z.device)
        kept_index, kept_prob = [], []
        for start in range(0, num_nodes, rows_per_chunk):
            sources = torch.arange(start, min(start + rows_per_chunk, num_nodes), device=z.device)
            pairs = torch.stack([sources.repeat_interleave(num_nodes), targets.repeat(sources.numel())])
            pairs = pairs[:, pairs[0] != pairs[1]]
            prob = torch.sigmoid(self.edge_decoder(z, pairs))
            if threshold is None:
                keep = torch.bernoulli(prob, generator=generator).bool()
            else:
                keep = prob > threshold
            kept_index.append(pairs[:, keep])
            kept_prob.append(prob[keep])
        return Data(
            x=features,
            edge_index=torch.cat(kept_index, dim=1),
            edge_prob=torch.cat(kept_prob),
            z=z,
            num_nodes=num_nodes,
        )


__all__ = [
    "AstroGraphVAE",
    "AstroGraphVAEGATv2Block",
    "AstroGraphVAEOutput",
    "AstroGraphVAEPreTrainedModel",
    "elemental_balance_penalty",
    "reaction_elemental_imbalance",
]
