"""The sorting transformer as pure functions of its weights.

Every analysis runs `forward` on an immutable `Weights` record instead of a hooked
TransformerLens module: nothing is ever registered on a shared object, so any number of sessions
and threads can analyse one loaded model at once and get exactly the serial results. The
TransformerLens model (for notebooks) is built from the same config by `to_transformer_lens`,
and tests check the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

import torch
from jaxtyping import Float, Int
from torch import Tensor

from .config import ModelConfig

LN_EPS = 1e-5

# A HookedTransformer state dict of a 1-layer attention-only model: key -> shape in terms of cfg.
HOOKED_KEYS_LN = ("blocks.0.ln1.w", "blocks.0.ln1.b", "ln_final.w", "ln_final.b")
HOOKED_BUFFER_KEYS = ("blocks.0.attn.mask", "blocks.0.attn.IGNORE")


def hooked_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Expected parameter shapes of a `HookedTransformer` state dict for `cfg`."""
    h, d, dh, v, n = cfg.n_heads, cfg.d_model, cfg.d_head, cfg.d_vocab, cfg.n_ctx
    shapes = {
        "embed.W_E": (v, d),
        "pos_embed.W_pos": (n, d),
        "blocks.0.attn.W_Q": (h, d, dh),
        "blocks.0.attn.W_K": (h, d, dh),
        "blocks.0.attn.W_V": (h, d, dh),
        "blocks.0.attn.W_O": (h, dh, d),
        "blocks.0.attn.b_Q": (h, dh),
        "blocks.0.attn.b_K": (h, dh),
        "blocks.0.attn.b_V": (h, dh),
        "blocks.0.attn.b_O": (d,),
        "unembed.W_U": (d, v),
        "unembed.b_U": (v,),
    }
    if cfg.normalization == "LN":
        shapes |= {"blocks.0.ln1.w": (d,), "blocks.0.ln1.b": (d,), "ln_final.w": (d,), "ln_final.b": (d,)}
    return shapes


@dataclass(frozen=True)
class Weights:
    """Processed weights (LayerNorm folded, writing weights and unembed centred, value biases
    folded), as the write-up analyses them. Tensors are read-only by convention; never mutate.
    Shapes: W_E [vocab d_model], W_pos [ctx d_model], W_Q/W_K/W_V [head d_model d_head],
    b_Q/b_K/b_V [head d_head], W_O [head d_head d_model], b_O [d_model], W_U [d_model vocab],
    b_U [vocab]."""

    W_E: Tensor
    W_pos: Tensor
    W_Q: Tensor
    W_K: Tensor
    W_V: Tensor
    W_O: Tensor
    b_Q: Tensor
    b_K: Tensor
    b_V: Tensor
    b_O: Tensor
    W_U: Tensor
    b_U: Tensor
    normalized: bool  # True when LayerNorm was folded in: the model still centres and scales

    @property
    def W_OV(self) -> Float[Tensor, "head d_model d_model"]:
        return self.W_V @ self.W_O

    @property
    def W_QK(self) -> Float[Tensor, "head d_model d_model"]:
        return self.W_Q @ self.W_K.transpose(-1, -2)


def process_weights(state: Mapping[str, Tensor], cfg: ModelConfig) -> Weights:
    """Fold LayerNorm, centre writing weights, centre the unembed, fold value biases.

    The same steps (and order) as TransformerLens's `process_weights`; all of them leave the
    model's output distribution unchanged.
    """
    s = {k: v.detach().to(torch.float64) for k, v in state.items()}  # fold in float64, then cast
    W_Q, W_K, W_V = s["blocks.0.attn.W_Q"], s["blocks.0.attn.W_K"], s["blocks.0.attn.W_V"]
    b_Q, b_K, b_V = s["blocks.0.attn.b_Q"], s["blocks.0.attn.b_K"], s["blocks.0.attn.b_V"]
    W_U, b_U = s["unembed.W_U"], s["unembed.b_U"]
    if cfg.normalization == "LN":
        w1, b1 = s["blocks.0.ln1.w"], s["blocks.0.ln1.b"]
        b_Q = b_Q + torch.einsum("d,hde->he", b1, W_Q)
        b_K = b_K + torch.einsum("d,hde->he", b1, W_K)
        b_V = b_V + torch.einsum("d,hde->he", b1, W_V)
        W_Q, W_K, W_V = (w1[None, :, None] * W for W in (W_Q, W_K, W_V))
        # After folding, the LayerNorm only centres: components along all-ones are irrelevant.
        W_Q, W_K, W_V = (W - W.mean(1, keepdim=True) for W in (W_Q, W_K, W_V))
        wf, bf = s["ln_final.w"], s["ln_final.b"]
        b_U = b_U + bf @ W_U
        W_U = wf[:, None] * W_U
        W_U = W_U - W_U.mean(0, keepdim=True)
    W_E, W_pos, W_O, b_O = (
        s[k] for k in ("embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_O", "blocks.0.attn.b_O")
    )
    if cfg.normalization == "LN":
        # Centring what writes to the residual stream is exact only when a LayerNorm reads it.
        W_E, W_pos, W_O = (W - W.mean(-1, keepdim=True) for W in (W_E, W_pos, W_O))
        b_O = b_O - b_O.mean()
    W_U = W_U - W_U.mean(-1, keepdim=True)
    b_U = b_U - b_U.mean()
    b_O = b_O + torch.einsum("he,hed->d", b_V, W_O)
    b_V = torch.zeros_like(b_V)
    f32 = {
        "W_E": W_E, "W_pos": W_pos, "W_Q": W_Q, "W_K": W_K, "W_V": W_V, "W_O": W_O,
        "b_Q": b_Q, "b_K": b_K, "b_V": b_V, "b_O": b_O, "W_U": W_U, "b_U": b_U,
    }  # fmt: skip
    return Weights(
        **{k: v.to(torch.float32).contiguous() for k, v in f32.items()},
        normalized=cfg.normalization == "LN",
    )


@dataclass(frozen=True)
class Forward:
    """Everything one forward pass computes that the analyses need.

    logits [batch seq vocab]; pattern [batch head q k]; v [batch k head d_head];
    head_out [batch seq head d_model] (each head's output, the old `hook_result`, without b_O);
    resid_post [batch seq d_model]; final_scale [batch seq 1] (the final LayerNorm's divisor).
    """

    logits: Tensor
    pattern: Tensor
    v: Tensor
    head_out: Tensor | None
    resid_post: Tensor
    final_scale: Tensor


HeadOutEdit = Callable[[Float[Tensor, "batch seq head d_model"]], Float[Tensor, "batch seq head d_model"]]


def _layer_norm(x: Tensor, w: Tensor | None = None, b: Tensor | None = None) -> tuple[Tensor, Tensor]:
    x = x - x.mean(-1, keepdim=True)
    scale = (x.pow(2).mean(-1, keepdim=True) + LN_EPS).sqrt()
    out = x / scale
    if w is not None:
        out = out * w
    if b is not None:
        out = out + b
    return out, scale


def forward(
    weights: Weights,
    toks: Int[Tensor, "batch seq"],
    edit_head_out: HeadOutEdit | None = None,
    ln: tuple[Tensor, Tensor, Tensor, Tensor] | None = None,
    per_head: bool = True,
) -> Forward:
    """Run the model. `edit_head_out` replaces the per-head outputs (ablations) without hooks.

    `ln` = (ln1.w, ln1.b, ln_final.w, ln_final.b) for unprocessed (training) weights; processed
    weights have them folded in and pass None. `per_head=False` skips materialising each head's
    output (`head_out` is then None): one fused matmul, for bulk scoring.
    """
    w = weights
    batch, seq = toks.shape
    n_heads, d_model, d_head = w.W_Q.shape
    resid = w.W_E[toks] + w.W_pos[:seq]
    normalize = w.normalized or ln is not None
    x = _layer_norm(resid, *(ln[:2] if ln is not None else (None, None)))[0] if normalize else resid
    # q, k and v of every head in one matmul: [batch seq 3*head*d_head]
    W_qkv = torch.cat(
        [W.permute(1, 0, 2).reshape(d_model, n_heads * d_head) for W in (w.W_Q, w.W_K, w.W_V)], 1
    )
    b_qkv = torch.cat([w.b_Q.flatten(), w.b_K.flatten(), w.b_V.flatten()])
    q, k, v = (x @ W_qkv + b_qkv).view(batch, seq, 3, n_heads, d_head).unbind(2)
    scores = q.transpose(1, 2) @ k.permute(0, 2, 3, 1) / math.sqrt(d_head)  # [batch head q k]
    causal = torch.ones(seq, seq, dtype=torch.bool, device=toks.device).tril()
    pattern = scores.masked_fill(~causal, float("-inf")).softmax(-1)
    z = pattern @ v.transpose(1, 2)  # [batch head q d_head]
    if per_head or edit_head_out is not None:
        head_out = torch.einsum("bhqe,hed->bqhd", z, w.W_O)
        if edit_head_out is not None:
            head_out = edit_head_out(head_out)
        attn_out = head_out.sum(2)
    else:
        head_out = None
        attn_out = z.transpose(1, 2).reshape(batch, seq, n_heads * d_head) @ w.W_O.reshape(-1, d_model)
    resid_post = resid + attn_out + w.b_O
    if normalize:
        final, final_scale = _layer_norm(resid_post, *(ln[2:] if ln is not None else (None, None)))
    else:
        final, final_scale = resid_post, torch.ones_like(resid_post[..., :1])
    logits = final @ w.W_U + w.b_U
    return Forward(logits, pattern, v, head_out, resid_post, final_scale)


@torch.inference_mode()
def run(
    weights: Weights,
    toks: Int[Tensor, "batch seq"],
    edit_head_out: HeadOutEdit | None = None,
    per_head: bool = True,
) -> Forward:
    """`forward` without autograd, for analyses."""
    return forward(weights, toks, edit_head_out, per_head=per_head)


@dataclass(frozen=True)
class TokenTables:
    """In a 1-layer model the residual stream before attention depends only on (position, token),
    so queries, keys and values can be tabulated once: [ctx vocab head d_head] each, plus the
    residual itself [ctx vocab d_model]. Bulk scoring then gathers instead of recomputing."""

    resid: Tensor
    q: Tensor
    k: Tensor
    v: Tensor


def token_tables(weights: Weights) -> TokenTables:
    w = weights
    with torch.inference_mode():
        resid = w.W_E[None, :, :] + w.W_pos[:, None, :]  # [ctx vocab d_model]
        x = _layer_norm(resid)[0] if w.normalized else resid
        q, k, v = (
            torch.einsum("pvd,hde->pvhe", x, W) + b
            for W, b in ((w.W_Q, w.b_Q), (w.W_K, w.b_K), (w.W_V, w.b_V))
        )
    return TokenTables(resid, q, k, v)


@torch.inference_mode()
def prediction_logits(
    weights: Weights, toks: Int[Tensor, "batch seq"], positions: slice, tables: TokenTables | None = None
) -> Float[Tensor, "batch n_pos vocab"]:
    """Logits at `positions` only, for bulk scoring (adversarial search, accuracy maps).

    Equal to `run(weights, toks).logits[:, positions]`, but q/k/v are looked up in
    `token_tables` and only the requested positions are attended and unembedded.
    """
    w = weights
    t = tables if tables is not None else token_tables(w)
    batch, seq = toks.shape
    n_heads, d_model, d_head = w.W_Q.shape
    pos = torch.arange(seq)
    dest = pos[positions]
    k = t.k[pos, toks].transpose(1, 2)  # [batch head seq d_head]
    v = t.v[pos, toks].transpose(1, 2)
    q = t.q[dest, toks[:, dest]].transpose(1, 2)  # [batch head n_pos d_head]
    scores = q @ k.transpose(-1, -2) / math.sqrt(d_head)  # [batch head n_pos seq]
    pattern = scores.masked_fill(dest[:, None] < pos[None, :], float("-inf")).softmax(-1)
    z = (pattern @ v).transpose(1, 2).reshape(batch, len(dest), n_heads * d_head)
    resid_post = t.resid[dest, toks[:, dest]] + z @ w.W_O.reshape(-1, d_model) + w.b_O
    final = _layer_norm(resid_post)[0] if w.normalized else resid_post
    return final @ w.W_U + w.b_U


def raw_weights(state: Mapping[str, Tensor], cfg: ModelConfig) -> tuple[Weights, tuple[Tensor, ...] | None]:
    """Unprocessed weights plus LayerNorm parameters, for training or checking the processing."""
    names = {f.name for f in fields(Weights)} - {"normalized"}
    key = {
        "W_E": "embed.W_E", "W_pos": "pos_embed.W_pos", "W_U": "unembed.W_U", "b_U": "unembed.b_U",
    } | {n: f"blocks.0.attn.{n}" for n in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O")}  # fmt: skip
    w = Weights(**{n: state[key[n]] for n in names}, normalized=False)
    ln = tuple(state[k] for k in HOOKED_KEYS_LN) if cfg.normalization == "LN" else None
    return w, ln


def to_transformer_lens(state: Mapping[str, Tensor], cfg: ModelConfig):
    """A fresh TransformerLens 4.x bridge with these weights, processed as in the write-up.

    Imports TransformerLens lazily (it costs seconds); each call returns a new, unshared model.
    """
    from transformer_lens.config.transformer_bridge_config import TransformerBridgeConfig
    from transformer_lens.model_bridge.sources import boot_native
    from transformer_lens.utilities.tl_checkpoint_conversion import convert_tl_checkpoint

    tl_cfg = TransformerBridgeConfig(
        d_model=cfg.d_model,
        d_head=cfg.d_head,
        n_layers=cfg.n_layers,
        n_ctx=cfg.n_ctx,
        d_vocab=cfg.d_vocab,
        d_vocab_out=cfg.d_vocab,
        n_heads=cfg.n_heads,
        attn_only=True,
        normalization_type=cfg.normalization,
        architecture="TransformerLensNative",
        act_fn=None,
        d_mlp=None,
    )
    bridge = boot_native(tl_cfg)
    params = {k: v for k, v in state.items() if k not in HOOKED_BUFFER_KEYS}
    bridge.load_state_dict(convert_tl_checkpoint(params, tl_cfg), strict=False)
    bridge.enable_compatibility_mode()
    return bridge.eval()
