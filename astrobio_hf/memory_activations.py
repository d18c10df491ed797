"""Activation memory of one micro-batch, per architecture: the formulas the memory planner (`astrobio_hf.memory`)
adds to parameters, gradients and optimizer state.

Each formula counts the tensors autograd saves in our four models, per layer, in fp32, under autocast and in bf16;
the counts are validated against `torch.autograd.graph.saved_tensors_hooks` in tests/unit/test_memory_planner.py and
derived in docs/memory.md. Hand-written because no library models these architectures' saved tensors.
"""

from __future__ import annotations

from itertools import pairwise

ACT_MODES = ("fp32", "autocast", "bf16")


def llm_layer_bytes_per_token(config, mode: str) -> int:
    """Bytes autograd saves per token in one AstroLLM decoder layer (sdpa attention, no S^2 score matrix).

    Counted from the saved tensors (h hidden, kv = kv_heads * head_dim, i intermediate, n heads):
    fp32      RMSNorm 3h (input, normed, output) x2, q h, k/v 2kv, sdpa output h, SwiGLU 4i (gate, silu, up, product)
              -> 4(8h + 2kv + 4i);
    autocast  (fp32 params, bf16 matmuls; the residual stream stays fp32 because the embedding output is fp32):
              norms 4h+4h each, bf16 input casts 3x2h (q, k, v each cast it) and 2x2h (gate, up), q 2h, k/v 4kv,
              sdpa output 2h, SwiGLU 8i -> 30h + 4kv + 8i;
    bf16      (bf16 params, FSDP mixed precision / bf16 LoRA base): norms 4h (fp32 upcast) + 2h + 2h each, q 2h,
              k/v 4kv, sdpa output 2h -> 20h + 4kv + 8i.
    Plus the attention log-sum-exp (4n, fp32) and two RMSNorm rsqrt values (8) in every mode.
    """
    h, i, n = config.hidden_size, config.intermediate_size, config.num_attention_heads
    kv = config.num_key_value_heads * config.head_dim
    per_mode = {"fp32": 32 * h + 8 * kv + 16 * i, "autocast": 30 * h + 4 * kv + 8 * i, "bf16": 20 * h + 4 * kv + 8 * i}
    return per_mode[mode] + 4 * n + 8


def llm_activation_terms(config, batch: int, seq: int, mode: str, grad_checkpointing: bool,
                         lora_rank: int | None = None) -> dict[str, int]:
    """Saved activations and the peak transient of one AstroLLM forward+backward, in bytes."""
    h, v, layers, d = config.hidden_size, config.vocab_size, config.num_hidden_layers, config.head_dim
    tokens = batch * seq
    layer = llm_layer_bytes_per_token(config, mode)
    if lora_rank:
        # each adapted Linear saves its A output (r per token) for B's backward: 7 Linears per layer
        layer += 7 * lora_rank * (4 if mode == "fp32" else 2)
    residual = 2 if mode == "bf16" else 4  # under autocast the residual stream is fp32
    # final RMSNorm (input, normed, output or its bf16 cast), the fp32 log-softmax output, ids and labels (int64)
    head = {"fp32": 12 * h, "autocast": 10 * h, "bf16": 8 * h}[mode] + 4 + 4 * v + 16
    rope = 2 * seq * d * (2 if mode == "bf16" else 4)
    if grad_checkpointing:
        saved_layers = layers * residual * h * tokens  # only each layer's input is kept
        recompute = layer * tokens  # one layer's activations rebuilt during its backward
    else:
        saved_layers = layers * layer * tokens
        recompute = 0
    # start of backward: the gradient of the log-softmax input and of the logits (fp32), plus bf16 logits' gradient
    loss_transient = (8 * v + (2 * v if mode != "fp32" else 0)) * tokens
    # backward through one SwiGLU MLP holds three i-sized gradients per token (product, gate, up) in compute dtype
    grad_bytes = 4 if mode == "fp32" else 2
    backward_transient = 3 * config.intermediate_size * grad_bytes * tokens
    return {"layers": saved_layers, "head": head * tokens + rope, "recompute": recompute,
            "loss transient": loss_transient, "backward transient": backward_transient}


def datacube_activation_bytes(config, batch: int, mode: str, grad_checkpointing: bool,
                              with_head: bool = True) -> int:
    """Total of `datacube_activation_terms`."""
    return sum(datacube_activation_terms(config, batch, mode, grad_checkpointing, with_head).values())


def datacube_activation_terms(config, batch: int, mode: str, grad_checkpointing: bool,
                              with_head: bool = True) -> dict[str, int]:
    """Saved activations of the datacube MAE per micro-batch (fp32 element counts x bytes).

    Per sample, with G = time*lev*lat*lon grid points and G' the grid padded by the circular longitude padding:
    stem (optional, none in the presets): sum over conv blocks of C_in*G' (padded input) + C_out*G (conv output);
    tubelets: C_last*G (the patchified copy the projection keeps; C_last = vars without a stem);
    encoder: per token and layer 8h + 2I + n (ViT layer with sdpa) + 4, plus the final LayerNorm 2h;
    head: reconstruction V*G twice (head output, denormalised copy) + 6G for the physics terms;
    backward transient: max over stem blocks of 2*C_out*G + C_in*G' (gradients alive while a block back-propagates;
    0 without a stem).
    """
    cfg = config
    t, lv, y, x = cfg.num_time, cfg.num_levels, cfg.num_lat, cfg.num_lon
    grid = t * lv * y * x
    pad = cfg.stem_kernel_size // 2
    padded = t * lv * y * (x + 2 * pad)
    channels = [cfg.num_variables, *cfg.stem_channels]
    blocks = list(pairwise(channels))
    stem = sum(c_in * padded + c_out * grid for c_in, c_out in blocks) + channels[-1] * grid
    tokens = cfg.num_patches
    h, inter, n = cfg.hidden_size, cfg.intermediate_size, cfg.num_attention_heads
    per_layer = 8 * h + 2 * inter + n + 4
    encoder = (cfg.num_hidden_layers * (h if grad_checkpointing else per_layer) + 2 * h) * tokens
    head = (2 * cfg.num_variables * grid + 6 * grid) if with_head else 0
    # backward through the widest stem block holds the gradients of its output, of its conv output and of its
    # padded input at once
    backward = max((2 * c_out * grid + c_in * padded for c_in, c_out in blocks), default=0)
    scale = batch * _bytes(mode)
    return {"saved": (stem + encoder + head) * scale, "backward transient": backward * scale}


def graph_vae_activation_bytes(config, graphs: int, nodes: int, edges: int, mode: str, grad_checkpointing: bool) -> int:
    """Saved activations of the graph VAE for `graphs` graphs of `nodes` nodes and `edges` directed edges each.

    GATv2 message passing runs over M = 2E + N edges (each edge, its reverse, a self loop). Per layer: 5h per node
    (input, projections, residual, LayerNorm) and 3h + 3n + 4 per message edge (gathered source/target projections
    and their sum, attention logits and weights, the int64 index and the 2-wide edge attributes). Outside the
    layers: 12*latent + 4F + 6 per node (mu, logvar, z and the KL terms, the feature decoder) and
    2*latent + 2h + 5 per decoded pair, for the E positive and about E negative pairs of the edge loss.
    """
    cfg = config
    h, n, latent, feats = cfg.hidden_size, cfg.num_attention_heads, cfg.latent_dim, cfg.node_feature_dim
    messages = 2 * edges + nodes
    per_layer = (h if grad_checkpointing else 5 * h) * nodes + (0 if grad_checkpointing else (3 * h + 3 * n + 4) * messages)
    outside = (12 * latent + 4 * feats + 6) * nodes + (2 * latent + 2 * h + 5) * 2 * edges
    return (cfg.num_layers * per_layer + outside) * graphs * _bytes(mode)


def multimodal_activation_bytes(config, batch: int, seq: int, nodes: int, edges: int, mode: str,
                                grad_checkpointing: bool) -> int:
    """Saved activations of the multimodal model: its encoders' formulas plus the 1-D CNNs and the fusion block.

    The climate encoder runs once (masked, with its reconstruction head when `auxiliary_losses` is on). Each 1-D CNN block saves its conv output, GroupNorm output and GELU output (3 C L/2^k per
    block); the fusion layers see 6 tokens (5 modalities + CLS) with 10h + 2I each.
    """
    return sum(multimodal_activation_terms(config, batch, seq, nodes, edges, mode, grad_checkpointing).values())


def multimodal_activation_terms(config, batch: int, seq: int, nodes: int, edges: int, mode: str,
                                grad_checkpointing: bool) -> dict[str, int]:
    """Saved activations and the backward transient of the multimodal model (see `multimodal_activation_bytes`)."""
    cfg = config
    # one climate-encoder pass: with the reconstruction head when the auxiliary losses are on, `embed()` otherwise
    cube = datacube_activation_terms(cfg.datacube_config, batch, mode, grad_checkpointing,
                                     with_head=cfg.auxiliary_losses)
    total = cube["saved"]
    total += graph_vae_activation_bytes(cfg.graph_config, batch, nodes, edges, mode, grad_checkpointing)
    per_sample = 0
    for channels, length in ((cfg.spectrum_channels, cfg.spectrum_length),
                             (cfg.light_curve_channels, cfg.light_curve_length)):
        width, size = channels, length
        for out in (cfg.encoder_channels, 2 * cfg.encoder_channels, 4 * cfg.encoder_channels):
            per_sample += width * size  # conv input
            size = (size + 1) // 2
            per_sample += 2 * out * size  # GroupNorm input and GELU input
            width = out
    per_sample += 6 * cfg.num_fusion_layers * (10 * cfg.hidden_size + 2 * cfg.fusion_intermediate_size)
    total += per_sample * batch * _bytes(mode)
    transient = cube["backward transient"]
    if cfg.llm_config is not None:
        terms = llm_activation_terms(cfg.llm_config, batch, seq, mode, grad_checkpointing)
        total += terms["layers"] + terms["head"]
        transient = max(transient, terms["recompute"] + terms["loss transient"] + terms["backward transient"])
    return {"saved": total, "backward transient": transient}


def _bytes(mode: str) -> int:
    # The non-LLM formulas are element counts; their fp32 figures are validated, bf16 halves them (an estimate).
    return 4 if mode == "fp32" else 2
