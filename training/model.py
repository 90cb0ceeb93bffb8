"""A small decoder-only Transformer and the training objectives polycorp optimises jointly.

The model (nanoGPT-sized, readable in one sitting): token embedding -> n pre-norm blocks
(RMSNorm -> causal self-attention with rotary positions -> residual; RMSNorm -> SwiGLU MLP ->
residual) -> final RMSNorm -> logits through the tied embedding matrix.

The objectives are plain functions returning scalar losses, so the loop can log each one and
combine them as θ* = argmin Σ λ_i L_i (`combined_loss`):
- `lm_loss`: next-token maximum likelihood on monolingual text;
- `mt_loss`: translation as a conditional LM on `<2tgt> source <sep> target eos`, the same
  computation with the prefix masked out of the labels;
- `retrieval_loss`: symmetric in-batch InfoNCE between mean-pooled sentence embeddings.

Nothing in `forward` branches on tensor values, so it compiles with `torch.compile(fullgraph=True)`,
and nothing assumes float32, so it runs under `torch.autocast(..., dtype=torch.bfloat16)`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

IGNORE_INDEX = -100  # label value that contributes no loss (F.cross_entropy's default)


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the model; saved as `config.json` next to the weights.

    vocab_size: tokenizer vocabulary (embedding rows, also the output classes: they are tied).
    d_model: residual stream width; must be divisible by n_heads, with an even head size (RoPE).
    d_ff: hidden width of the SwiGLU MLP (≈ 8/3 · d_model keeps its cost at a 4·d GELU MLP's).
    max_seq_len: longest sequence the rotary tables cover.
    dropout: on attention weights and on each residual branch, in training mode only.
    pad_id: token id that `embed_sentences` callers pass as padding.
    rope_base: rotary frequency base (10 000 as in RoFormer / LLaMA).
    """

    vocab_size: int
    d_model: int = 512
    n_layers: int = 8
    n_heads: int = 8
    d_ff: int = 1408
    max_seq_len: int = 1024
    dropout: float = 0.0
    pad_id: int = 0
    rope_base: float = 10000.0

    def __post_init__(self):
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(
                f"d_model={self.d_model} must split into n_heads={self.n_heads} heads of even size"
            )

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """Inverse of `to_dict`; an unknown key raises TypeError rather than being dropped."""
        return cls(**d)


# --- rotary position embeddings ---------------------------------------------------------------


def rope_tables(head_dim: int, max_seq_len: int, base: float) -> tuple[Tensor, Tensor]:
    """cos and sin of position · frequency, each [max_seq_len, head_dim // 2], in float32."""
    freqs = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float32), freqs)
    return angles.cos(), angles.sin()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate each (x_i, x_{i + d/2}) pair of x [..., L, d] by the angles of positions 0..L-1.

    Rotating q and k by angles proportional to their positions makes q·k depend only on the
    difference of the positions. Computed in float32 (bf16 angles lose precision at long
    positions) and returned in x's dtype.
    """
    x1, x2 = x.float().chunk(2, dim=-1)
    rotated = torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)
    return rotated.type_as(x)


# --- the model --------------------------------------------------------------------------------


class Attention(nn.Module):
    """Multi-head causal self-attention through `F.scaled_dot_product_attention`."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.out = nn.Linear(config.d_model, config.d_model, bias=False)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor | None) -> Tensor:
        """x [B, L, d]; mask: boolean [B, 1, L, L] (True = may attend), or None for plain causal."""
        batch, length, width = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(
            q, k, v,
            attn_mask=mask,
            is_causal=mask is None,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.out(y.transpose(1, 2).reshape(batch, length, width))


class SwiGLU(nn.Module):
    """The gated MLP of PaLM / LLaMA: down(silu(gate(x)) * up(x))."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.gate = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.up = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.down = nn.Linear(config.d_ff, config.d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    """Pre-norm residual block: normalising the branch inputs keeps deep stacks stable."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.attn_norm = nn.RMSNorm(config.d_model, eps=1e-6)
        self.attn = Attention(config)
        self.mlp_norm = nn.RMSNorm(config.d_model, eps=1e-6)
        self.mlp = SwiGLU(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor | None) -> Tensor:
        x = x + self.drop(self.attn(self.attn_norm(x), cos, sin, mask))
        return x + self.drop(self.mlp(self.mlp_norm(x)))


def attention_mask_4d(attention_mask: Tensor) -> Tensor:
    """Boolean [B, 1, L, L] mask: causal, and pad keys (attention_mask == 0) hidden.

    Every query may also attend to itself: a pad query in a left-padded row would otherwise see
    no key at all, and SDPA kernels disagree on such a row (0 on CPU, NaN on some GPU kernels,
    which would leak into gradients). Real queries attend to themselves anyway: no change there.
    """
    length = attention_mask.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=attention_mask.device).tril()
    self_only = torch.eye(length, dtype=torch.bool, device=attention_mask.device)
    keys = attention_mask.bool()[:, None, None, :]
    return (causal & keys) | self_only


class DecoderLM(nn.Module):
    """Decoder-only Transformer whose output projection is the input embedding matrix (tied)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm = nn.RMSNorm(config.d_model, eps=1e-6)
        cos, sin = rope_tables(config.head_dim, config.max_seq_len, config.rope_base)
        # Derived from the config, so not saved: checkpoints hold learned weights only.
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        for block in self.blocks:
            # GPT-2: shrink the residual-branch outputs so the stream's variance does not grow
            # with depth.
            for proj in (block.attn.out, block.mlp.down):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)

    def hidden(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Final normalised hidden states [B, L, d_model].

        attention_mask [B, L] (1 = token, 0 = padding) matters only where padding precedes
        tokens (left padding): attention is causal, so right padding never reaches a token.
        Positions count from the row's start either way; RoPE scores depend only on relative
        positions, so a left-padded row gives the same states as the unpadded sequence.
        """
        length = input_ids.shape[1]
        if length > self.config.max_seq_len:
            raise ValueError(f"sequence of {length} tokens > max_seq_len {self.config.max_seq_len}")
        cos, sin = self.rope_cos[:length], self.rope_sin[:length]
        mask = None if attention_mask is None else attention_mask_4d(attention_mask)
        x = self.drop(self.embed(input_ids))
        for block in self.blocks:
            x = block(x, cos, sin, mask)
        return self.norm(x)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Next-token logits [B, L, vocab_size]."""
        return F.linear(self.hidden(input_ids, attention_mask), self.embed.weight)

    def embed_sentences(self, input_ids: Tensor, pad_id: int) -> Tensor:
        """One L2-normalised vector [B, d_model] per row: the mean of its non-pad hidden states.

        Pooled in float32 so bf16 rounding does not accumulate over long sentences.
        """
        keep = input_ids != pad_id
        states = self.hidden(input_ids, keep).float()
        weights = keep.unsqueeze(-1).float()
        pooled = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return F.normalize(pooled, dim=-1)


# --- size and cost ----------------------------------------------------------------------------


def count_parameters(model: nn.Module) -> int:
    """Number of distinct parameters; the tied embedding counts once."""
    return sum(p.numel() for p in model.parameters())


def flops_per_token(model: DecoderLM, seq_len: int) -> int:
    """Training FLOPs per token (forward + backward), for MFU = flops_per_token · tokens/s / peak.

    6·N for the weight matmuls (N includes the tied embedding: it is the output projection),
    plus 12 · n_layers · d_model · seq_len for attention scores and their weighted sum, as in
    PaLM's appendix B (which does not halve for the causal mask).
    """
    config = model.config
    return 6 * count_parameters(model) + 12 * config.n_layers * config.d_model * seq_len


# --- objectives -------------------------------------------------------------------------------


def lm_loss(
    model: DecoderLM,
    input_ids: Tensor,
    labels: Tensor,
    reduction: Literal["mean", "sum", "none"] = "mean",
) -> Tensor:
    """Next-token cross-entropy in nats: position t predicts labels[:, t + 1].

    labels has input_ids' shape [B, L] (usually a copy of it); IGNORE_INDEX (-100) marks tokens
    that carry no loss (padding, prompts). "mean" averages over counted tokens, "sum" gives the
    total negative log-likelihood (for bits per byte), "none" the [B, L - 1] per-token values
    (0 where ignored). Right padding needs no attention mask: attention is causal, so pads never
    reach earlier tokens, and their labels are -100.
    """
    logits = model(input_ids)[:, :-1].float()  # log-softmax in fp32 under bf16 autocast
    targets = labels[:, 1:]
    losses = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        targets.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction=reduction,
    )
    return losses.view_as(targets) if reduction == "none" else losses


def target_labels(input_ids: Tensor, labels: Tensor, sep_id: int) -> Tensor:
    """labels with everything up to and including the first `sep_id` set to IGNORE_INDEX.

    For `<2tgt> source <sep> target eos` only the target and eos remain: the model is trained to
    produce the translation, not to model the source.
    """
    is_sep = (input_ids == sep_id).long()
    after_sep = is_sep.cumsum(dim=1) > is_sep
    return labels.masked_fill(~after_sep, IGNORE_INDEX)


def mt_loss(
    model: DecoderLM,
    input_ids: Tensor,
    labels: Tensor,
    sep_id: int,
    reduction: Literal["mean", "sum", "none"] = "mean",
) -> Tensor:
    """Translation as a conditional LM: `lm_loss` on the target side of `<2tgt> src <sep> tgt eos`.

    Source-side labels are ignored whatever they hold, so a batch labelled as plain LM data
    (labels = input_ids, -100 on padding) is trained correctly.
    """
    return lm_loss(model, input_ids, target_labels(input_ids, labels, sep_id), reduction)


def retrieval_loss(
    model: DecoderLM,
    src_ids: Tensor,
    tgt_ids: Tensor,
    pad_id: int,
    temperature: float | Tensor,
) -> tuple[Tensor, Tensor]:
    """Symmetric in-batch InfoNCE between translation pairs; returns (loss, accuracy).

    Row i of src_ids and of tgt_ids are a pair; the other rows of the batch are the negatives.
    logits = cosine similarity / temperature; the loss averages the cross-entropy of picking the
    right target for each source and the right source for each target. The temperature is
    fixed by the caller (a float from the config); a learnable one can be passed as a Tensor
    parameter. accuracy: share of rows, both directions, whose best match is the pair (detached).
    """
    src = model.embed_sentences(src_ids, pad_id)
    tgt = model.embed_sentences(tgt_ids, pad_id)
    with torch.autocast(src.device.type, enabled=False):  # fp32 logits: bf16 would err by ~0.05 at t = 0.05
        logits = src.float() @ tgt.float().T / temperature
    pairs = torch.arange(logits.shape[0], device=logits.device)
    loss = (F.cross_entropy(logits, pairs) + F.cross_entropy(logits.T, pairs)) / 2
    hits = torch.cat((logits.argmax(dim=1) == pairs, logits.argmax(dim=0) == pairs))
    return loss, hits.float().mean().detach()


def combined_loss(losses: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    """Σ λ_i L_i over the objectives present in this step.

    weights may name objectives absent from the step (e.g. no MT pairs in this batch); a present
    loss without a weight raises KeyError rather than silently counting 0 or 1.
    """
    if not losses:
        raise ValueError("no losses to combine")
    return sum(weights[name] * loss for name, loss in losses.items())


def bits_per_byte(total_nll_nats: float, total_bytes: int) -> float:
    """Bits per UTF-8 byte of the evaluated text: comparable across tokenizers and languages,
    unlike per-token perplexity, because the denominator does not depend on the segmentation.
    """
    return total_nll_nats / (math.log(2) * total_bytes)
