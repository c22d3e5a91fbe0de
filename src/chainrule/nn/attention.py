"""`MultiheadAttention` and `multi_head_attention_forward` (PyTorch's
`torch.nn.functional.multi_head_attention_forward`).

Parameters are named, shaped, registered and initialised as PyTorch's: `out_proj` (a
`NonDynamicallyQuantizableLinear`, i.e. a Linear, which draws its weights first), then
`in_proj_weight` (or `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when kdim/vdim differ from
embed_dim) with xavier_uniform_, zero biases, and `bias_k`/`bias_v` with xavier_normal_; so
`manual_seed` gives PyTorch's weights.

    >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = torch.randn(3, 5, 8)
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    (torch.Size([3, 5, 8]), torch.Size([3, 5, 5]))

How it runs: the inputs are sequence-first (L, N, E) inside (batch_first inputs are transposed
views, as in PyTorch); q, k and v are projected (one product for self-attention), split into heads
as (N, H, L, head_dim) views, and every head of every batch element is one batched product:
softmax(q k^T / sqrt(head_dim) + mask) v. Boolean masks become float masks with -inf where True;
`attn_mask` (L, S) or (N*H, L, S) and `key_padding_mask` (N, S) are added to the scores.

Rows where every key is masked follow PyTorch: NaN when the weights are computed explicitly
(need_weights=True, or the eval-mode fast path), 0 when PyTorch would call
scaled_dot_product_attention (need_weights=False), whose softmax is "safe".
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype, creation
from ..autograd import grad_mode
from ..ops import shape as _shape
from ..ops._core import wrap
from ..tensor import Tensor
from . import functional as F, init
from .modules.linear import Linear
from .modules.module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention", "multi_head_attention_forward"]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under another name (PyTorch uses it for `MultiheadAttention.out_proj`)."""


# -- masks -------------------------------------------------------------------------------------
def _none_or_dtype(input):
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A boolean mask as a float mask of `target_type` (-inf where True); float masks as given."""
    if mask is None:
        return None
    is_float = mask.dtype.is_floating_point
    if mask.dtype != _dtype.bool_ and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use "
                      "same type for both instead.", stacklevel=3)
    if is_float:
        return mask
    return wrap(np.where(mask._data, -np.inf, 0.0).astype(_dtype.to_numpy_dtype(target_type)))


def _is_float(t):
    return t is not None and t.dtype.is_floating_point


def _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Whether the input is batched (3-D query); PyTorch's shape errors otherwise."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                f"found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D "
                f"but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                    f"but found {attn_mask.dim()}-D tensor instead")
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                         f"{attn_mask.shape}")
        return False
    raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.dim()}-D query tensor")


# -- the computation -----------------------------------------------------------------------------
def _split_heads(x, n, h, hd):
    """(T, N, H*hd) -> (N, H, T, hd), a view."""
    return x.reshape(x.shape[0], n, h, hd).permute(1, 2, 0, 3)


def _check_separate_weights(q, k, v, w_q, w_k, w_v, b_q, b_k, b_v):
    eq, ek, ev = q.shape[-1], k.shape[-1], v.shape[-1]
    for name, w, shape in (("query", w_q, (eq, eq)), ("key", w_k, (eq, ek)),
                           ("value", w_v, (eq, ev))):
        if tuple(w.shape) != shape:
            raise AssertionError(f"expecting {name} weights shape of {shape}, but got {w.shape}")
    for name, b in (("query", b_q), ("key", b_k), ("value", b_v)):
        if b is not None and tuple(b.shape) != (eq,):
            raise AssertionError(f"expecting {name} bias shape of {(eq,)}, but got {b.shape}")


def _attention(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
               bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
               training, key_padding_mask, need_weights, attn_mask, use_separate_proj_weight,
               q_proj_weight, k_proj_weight, v_proj_weight, static_k, static_v,
               average_attn_weights, is_causal, safe_softmax):
    """multi_head_attention_forward; `safe_softmax`: rows with every key masked give 0 (as
    PyTorch's scaled_dot_product_attention) rather than NaN."""
    is_batched = _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]

    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       _none_or_dtype(attn_mask), "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None    # PyTorch trusts the hint and lets SDPA build the causal mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, False)
        if key_padding_mask is not None:
            is_causal = False

    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    # -- in-projection: (T, N, E) each
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        if key is value and query is key:
            q, k, v = F.linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        elif key is value:
            w_q, w_kv = in_proj_weight.split([embed_dim, 2 * embed_dim])
            b_q = b_kv = None
            if in_proj_bias is not None:
                b_q, b_kv = in_proj_bias.split([embed_dim, 2 * embed_dim])
            q = F.linear(query, w_q, b_q)
            k, v = F.linear(key, w_kv, b_kv).chunk(2, -1)
        else:
            w_q, w_k, w_v = in_proj_weight.chunk(3)
            b_q = b_k = b_v = None
            if in_proj_bias is not None:
                b_q, b_k, b_v = in_proj_bias.chunk(3)
            q, k, v = (F.linear(query, w_q, b_q), F.linear(key, w_k, b_k),
                       F.linear(value, w_v, b_v))
    else:
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight "
                                     "is None")
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
        _check_separate_weights(query, key, value, q_proj_weight, k_proj_weight,
                                v_proj_weight, b_q, b_k, b_v)
        q, k, v = (F.linear(query, q_proj_weight, b_q), F.linear(key, k_proj_weight, b_k),
                   F.linear(value, v_proj_weight, b_v))

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(tgt_len, src_len)}.")
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = _shape.cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = _shape.cat([v, bias_v.expand(1, bsz, embed_dim)])
        if attn_mask is not None:
            attn_mask = F.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    # -- heads: (N, H, T, head_dim)
    q = _split_heads(q, bsz, num_heads, head_dim)
    if static_k is None:
        k = _split_heads(k, bsz, num_heads, head_dim)
    else:
        _check_static(static_k, "static_k", bsz * num_heads, head_dim)
        k = static_k.view(bsz, num_heads, static_k.shape[1], head_dim)
    if static_v is None:
        v = _split_heads(v, bsz, num_heads, head_dim)
    else:
        _check_static(static_v, "static_v", bsz * num_heads, head_dim)
        v = static_v.view(bsz, num_heads, static_v.shape[1], head_dim)
    if add_zero_attn:
        zeros = creation.zeros((bsz, num_heads, 1, head_dim), dtype=k.dtype)
        k = _shape.cat([k, zeros], 2)
        v = _shape.cat([v, zeros], 2)
        if attn_mask is not None:
            attn_mask = F.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, (0, 1))
    src_len = k.shape[2]

    # -- one mask, broadcastable to (N, H, L, S)
    mask = None
    if attn_mask is not None:
        mask = (attn_mask.view(bsz, num_heads, tgt_len, src_len) if attn_mask.dim() == 3
                else attn_mask)
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                                 f"{key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        kpm = key_padding_mask.view(bsz, 1, 1, src_len)
        mask = kpm if mask is None else mask + kpm
    if not training:
        dropout_p = 0.0

    # -- attention
    scores = (q * math.sqrt(1.0 / float(head_dim))) @ k.transpose(-2, -1)
    dead_rows = None
    if mask is not None:
        if safe_softmax:
            dead = np.isneginf(mask._data).all(-1, keepdims=True)
            if dead.any():   # every key masked: PyTorch's SDPA gives 0 there, not NaN
                dead_rows = wrap(dead)
                mask = mask.masked_fill(dead_rows, 0.0)
        scores = scores + mask
    elif is_causal:
        keep = np.tril(np.ones((tgt_len, src_len), dtype=bool))
        scores = scores.masked_fill(wrap(~keep), float("-inf"))
    weights = F.softmax(scores, dim=-1)
    if dead_rows is not None:
        weights = weights.masked_fill(dead_rows, 0.0)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    out = (weights @ v).permute(2, 0, 1, 3).reshape(tgt_len * bsz, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).view(tgt_len, bsz, embed_dim)
    if not need_weights:
        return (out if is_batched else out.squeeze(1)), None
    weights = weights.view(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.mean(dim=1)
    if not is_batched:
        return out.squeeze(1), weights.squeeze(0)
    return out, weights


def _check_static(t, name, rows, head_dim):
    if t.shape[0] != rows:
        raise AssertionError(f"expecting {name}.size(0) of {rows}, but got {t.shape[0]}")
    if t.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {t.shape[2]}")


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention of sequence-first query (L, N, E), key (S, N, E_k), value
    (S, N, E_v) (or unbatched (L, E)...). Returns (output (L, N, E), weights (N, L, S) averaged
    over heads, (N, H, L, S) if not `average_attn_weights`, or None if not `need_weights`)."""
    return _attention(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                      in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight,
                      out_proj_bias, training, key_padding_mask, need_weights, attn_mask,
                      use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight,
                      static_k, static_v, average_attn_weights, is_causal,
                      safe_softmax=not need_weights)


def _needs_grad(tensors):
    return grad_mode.is_grad_enabled() and any(t is not None and t.requires_grad
                                               for t in tensors)


class MultiheadAttention(Module):
    """Attention of queries over keys and values, split into `num_heads` heads
    (Vaswani et al., 2017): out_proj(concat_h softmax(q_h k_h^T / sqrt(d) + mask) v_h).

        >>> nn.MultiheadAttention(8, 2)
        MultiheadAttention(
          (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)
        )
    """

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")

        def empty(*shape):
            return Parameter(creation.empty(shape, dtype=dtype, device=device))

        if not self._qkv_same_embed_dim:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = empty(1, 1, embed_dim)
            self.bias_v = empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _fast_path(self, query, key, value):
        """Whether PyTorch would run its fused inference kernel (which gives NaN rather than 0
        for rows whose keys are all masked, and ignores is_causal)."""
        return (not self.training and query.dim() == 3 and query is key and key is value
                and self.batch_first and self._qkv_same_embed_dim
                and self.in_proj_bias is not None and self.bias_k is None
                and self.bias_v is None and not self.add_zero_attn
                and self.num_heads % 2 == 0
                and query.dtype == self.in_proj_weight.dtype
                and query.dtype == self.in_proj_bias.dtype
                and not _needs_grad((query, self.in_proj_weight, self.in_proj_bias,
                                     self.out_proj.weight, self.out_proj.bias)))

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """query (L, N, E) (N, L, E if batch_first, or unbatched (L, E)), key (S, N, kdim),
        value (S, N, vdim) -> (output like query, weights (N, L, S) or None)."""
        fast = (not _is_float(attn_mask) and not _is_float(key_padding_mask)
                and self._fast_path(query, key, value))
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                           _none_or_dtype(attn_mask), "attn_mask", query.dtype)
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, False)
        return self._attend(query, key, value, key_padding_mask, need_weights, attn_mask,
                            average_attn_weights, False if fast else is_causal,
                            safe_softmax=not (need_weights or fast))

    def _attend(self, query, key, value, key_padding_mask, need_weights, attn_mask,
                average_attn_weights, is_causal, safe_softmax):
        batch_first = self.batch_first and query.dim() == 3
        if batch_first:   # keep `query is key is value` through the transposes
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = query.transpose(1, 0), key.transpose(1, 0)
                    value = key
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = _attention(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, self.training, key_padding_mask,
            need_weights, attn_mask, separate, self.q_proj_weight if separate else None,
            self.k_proj_weight if separate else None, self.v_proj_weight if separate else None,
            None, None, average_attn_weights, is_causal, safe_softmax)
        if batch_first:
            out = out.transpose(1, 0)
        return out, weights

    def merge_masks(self, attn_mask, key_padding_mask, query):
        """(the float masks merged to (N, H, L, L), mask type): PyTorch's helper for its fused
        kernels; type 1 is a key padding mask alone, 2 anything with an attn_mask."""
        mask_type, merged = None, None
        if key_padding_mask is not None:
            mask_type, merged = 1, key_padding_mask
        if attn_mask is not None:
            batch_size, seq_len, _ = query.shape
            mask_type = 2
            if attn_mask.dim() == 3:
                merged = attn_mask.view(batch_size, -1, seq_len, seq_len)
            else:
                merged = attn_mask.view(1, 1, seq_len, seq_len).expand(
                    batch_size, self.num_heads, -1, -1)
            if key_padding_mask is not None:
                merged = merged + key_padding_mask.view(batch_size, 1, 1, seq_len).expand(
                    -1, self.num_heads, -1, -1)
        return merged, mask_type
