"""Fused ops of the learning stack: activations and losses whose PyTorch `grad_fn` is a single
node (GeluBackward0, MseLossBackward0, NllLossBackward0...). Each is a node class next to its
forward, as in `ops/`; the forward runs in NumPy, the backward is written once against the math
namespace `m` (see Note [Two math modes] in autograd/graph.py) so second derivatives work.

`reduction` is 'none', 'mean' or 'sum'. For 'mean' a loss node keeps the divisor `count`.
"""
from __future__ import annotations

import math

import numpy as np

from ..ops._core import Node, binary, float_operand, needs, record, wrap
from ..ops import pointwise as P

_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_TANH_COEF = 0.044715
_BCE_EPSILON = 1e-12  # PyTorch's floor on x(1 - x) in the BCE gradient


# -- functions both math modes need but `m` does not offer -----------------------------------------
def _tanh(m, x):
    return P.tanh(x) if m.tensor_mode else np.tanh(x)


def _erf(m, x):
    return P.erf(x) if m.tensor_mode else P.erf_array(np.asarray(x))


def _sigmoid(m, x):
    return P.sigmoid(x) if m.tensor_mode else P._sigmoid_array(np.asarray(x))


def _log1p(m, x):
    return P.log1p(x) if m.tensor_mode else np.log1p(x)


def _log_sigmoid(m, x):
    """log(sigmoid(x)) = -softplus(-x), computed so that it never overflows."""
    if m.tensor_mode:
        return -softplus(-x, 1.0, math.inf)
    return _log_sigmoid_array(x)


def _log_sigmoid_array(x):
    """min(x, 0) - log1p(e^-|x|)"""
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


# -- reductions --------------------------------------------------------------------------------
def _reduce(losses, reduction):
    """Apply `reduction` to an array of per-element losses (sums in float64 for float32)."""
    if reduction == "none":
        return losses
    total = losses.sum(dtype=np.float64 if losses.dtype == np.float32 else None)
    if reduction == "sum":
        return np.asarray(total, dtype=losses.dtype)
    return np.asarray(total / losses.size if losses.size else np.nan, dtype=losses.dtype)


class _LossNode(Node):
    __slots__ = ("reduction", "count")

    def _scale(self, g):
        """The incoming gradient as a per-element factor: g/count for 'mean'."""
        return g / self.count if self.reduction == "mean" else g


def _finish_loss(node_cls, losses, reduction, inputs):
    out = wrap(_reduce(losses, reduction))
    node = record(node_cls, out, inputs)
    if node is not None:
        node.reduction, node.count = reduction, losses.size
    return out, node



# -- activations -------------------------------------------------------------------------------
class GeluBackward0(Node):
    """out = a * Phi(a)  ->  da = g * (Phi(a) + a * phi(a));  tanh form: see `_gelu_tanh_grad`"""

    __slots__ = ("approximate",)

    def backward(self, m, g):
        (a,) = self.saved(m)
        if self.approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (a + _GELU_TANH_COEF * a * a * a)
            t = _tanh(m, inner)
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * _GELU_TANH_COEF * a * a)
            return g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * d_inner)
        cdf = 0.5 * (1 + _erf(m, a / _SQRT_2))
        pdf = m.exp(-0.5 * a * a) * _INV_SQRT_2PI
        return g * (cdf + a * pdf)


def gelu(a, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    x = float_operand(a)
    if approximate == "tanh":
        data = 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + _GELU_TANH_COEF * x ** 3)))
    else:
        data = 0.5 * x * (1 + P.erf_array(x / _SQRT_2))
    out = wrap(data.astype(x.dtype, copy=False))
    node = record(GeluBackward0, out, (a,))
    if node is not None:
        node.approximate = approximate
        node.save(a)
    return out


class SiluBackward0(Node):
    """out = a * s(a)  ->  da = g * s(a) * (1 + a * (1 - s(a)))"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        s = _sigmoid(m, a)
        return g * s * (1 + a * (1 - s))


def silu(a):
    x = float_operand(a)
    out = wrap((x * P._sigmoid_array(x)).astype(x.dtype, copy=False))
    node = record(SiluBackward0, out, (a,))
    if node is not None:
        node.save(a)
    return out


class SoftplusBackward0(Node):
    """out = log(1 + e^(beta a))/beta (a where beta a > threshold)  ->  da = g * s(beta a) (or g)"""

    __slots__ = ("beta", "threshold")

    def backward(self, m, g):
        (a,) = self.saved(m)
        scaled = a * self.beta
        return m.where(scaled > self.threshold, g, g * _sigmoid(m, scaled))


def softplus(a, beta=1.0, threshold=20.0):
    x = float_operand(a)
    scaled = x * beta
    # log1p(e^z) = max(z, 0) + log1p(e^-|z|): no overflow where the linear branch is not taken
    smooth = (np.maximum(scaled, 0) + np.log1p(np.exp(-np.abs(scaled)))) / beta
    out = wrap(np.where(scaled > threshold, x, smooth).astype(x.dtype, copy=False))
    node = record(SoftplusBackward0, out, (a,))
    if node is not None:
        node.beta, node.threshold = beta, threshold
        node.save(a)
    return out


class ThresholdBackward0(Node):
    """out = a if a > threshold else value  ->  da = g where a > threshold else 0"""

    __slots__ = ("threshold",)

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * (a > self.threshold)


def threshold(a, threshold, value):
    x = a._data
    out = wrap(np.where(x > threshold, x, np.asarray(value, dtype=x.dtype)).astype(x.dtype))
    node = record(ThresholdBackward0, out, (a,))
    if node is not None:
        node.threshold = threshold
        node.save(a)
    return out


# -- regression losses -------------------------------------------------------------------------
class MseLossBackward0(_LossNode):
    """out = reduce((a - b)^2)  ->  da = 2 (a - b) g / count,  db = -da"""

    def backward(self, m, g):
        a, b = self.saved(m)
        grad = 2 * (a - b) * self._scale(g)
        return (grad if needs(self, 0) else None), (-grad if needs(self, 1) else None)


def mse_loss(input, target, reduction):
    x, y, ta, tb = binary(input, target)
    out, node = _finish_loss(MseLossBackward0, np.square(x - y), reduction, (ta, tb))
    if node is not None:
        node.save(ta, tb)
    return out


class HuberLossBackward0(_LossNode):
    """out = 0.5 d^2 if |d| < delta else delta(|d| - delta/2), d = a - b
    ->  da = g * clamp(d, -delta, delta) / count,  db = -da"""

    __slots__ = ("delta",)

    def backward(self, m, g):
        a, b = self.saved(m)
        d = a - b
        delta = self.delta
        slope = m.where(d < -delta, -delta, m.where(d > delta, delta, d))
        grad = slope * self._scale(g)
        return (grad if needs(self, 0) else None), (-grad if needs(self, 1) else None)


def huber_loss(input, target, reduction, delta):
    x, y, ta, tb = binary(input, target)
    d = x - y
    ad = np.abs(d)
    losses = np.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta)).astype(d.dtype)
    out, node = _finish_loss(HuberLossBackward0, losses, reduction, (ta, tb))
    if node is not None:
        node.delta = delta
        node.save(ta, tb)
    return out


class SmoothL1LossBackward0(_LossNode):
    """out = 0.5 d^2/beta if |d| < beta else |d| - beta/2, d = a - b
    ->  da = g * clamp(d/beta, -1, 1) / count,  db = -da"""

    __slots__ = ("beta",)

    def backward(self, m, g):
        a, b = self.saved(m)
        d = a - b
        beta = self.beta
        slope = m.where(d < -beta, -1.0, m.where(d > beta, 1.0, d / beta))
        grad = slope * self._scale(g)
        return (grad if needs(self, 0) else None), (-grad if needs(self, 1) else None)


def smooth_l1_loss(input, target, reduction, beta):
    x, y, ta, tb = binary(input, target)
    d = x - y
    ad = np.abs(d)
    losses = np.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta).astype(d.dtype)
    out, node = _finish_loss(SmoothL1LossBackward0, losses, reduction, (ta, tb))
    if node is not None:
        node.beta = beta
        node.save(ta, tb)
    return out


# -- classification losses ---------------------------------------------------------------------
class NllLossBackward0(Node):
    """out_i = -w[t_i] * a[i, t_i] (summed, or / sum of w[t_i] for 'mean')
    ->  da[i, t_i] = -w[t_i] * g_i (/ total weight);  0 elsewhere and where t_i == ignore_index"""

    __slots__ = ("reduction", "class_dim", "shape", "total_weight")

    def backward(self, m, g):
        index, target_weight = self.saved(m)
        if self.reduction == "mean":
            g = g / self.total_weight
        values = m.unsqueeze(-(target_weight * g), self.class_dim)
        return m.scatter_zeros(self.shape, self.class_dim, index, values)


class NllLoss2DBackward0(NllLossBackward0):
    """nll_loss over (N, C, d1, ...) inputs; same rule"""


def _out_of_bounds(bad_target, n_classes):
    return IndexError(f"Target {bad_target} is out of bounds.")


def nll_loss(input, target, weight, ignore_index, reduction):
    """`input` holds log-probabilities, (C,), (N, C) or (N, C, d1, ...); `target` class indices."""
    x = input._data
    class_dim = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_dim]
    t = target._data.astype(np.int64, copy=False)
    ignored = t == ignore_index
    bad = ~ignored & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise _out_of_bounds(int(t[bad].reshape(-1)[0]), n_classes)
    safe_t = np.where(ignored, 0, t)
    index = np.expand_dims(safe_t, class_dim)
    picked = np.take_along_axis(x, index, axis=class_dim).squeeze(class_dim)
    if weight is not None:
        target_weight = weight._data.astype(x.dtype, copy=False)[safe_t]
    else:
        target_weight = np.ones(safe_t.shape, dtype=x.dtype)
    target_weight = np.where(ignored, 0, target_weight).astype(x.dtype)
    losses = -picked * target_weight
    total_weight = None
    if reduction == "none":
        data = losses
    elif reduction == "sum":
        data = np.asarray(losses.sum(), dtype=x.dtype)
    else:
        total_weight = target_weight.sum()
        data = np.asarray(losses.sum() / total_weight if total_weight else np.nan, dtype=x.dtype)
    out = wrap(data)
    node_cls = NllLossBackward0 if x.ndim <= 2 else NllLoss2DBackward0
    node = record(node_cls, out, (input,))
    if node is not None:
        node.reduction, node.class_dim, node.shape = reduction, class_dim, x.shape
        node.total_weight = total_weight
        node.save(wrap(index), wrap(target_weight))
    return out


class BinaryCrossEntropyBackward0(_LossNode):
    """out = -w (b log a + (1 - b) log(1 - a))
    ->  da = g w (a - b) / max(a (1 - a), 1e-12),  db = g w (log(1 - a) - log a)"""

    def backward(self, m, g):
        a, b, w = self.saved(m)
        g = self._scale(g)
        if w is not None:
            g = g * w
        ga = gb = None
        if needs(self, 0):
            denom = a * (1 - a)
            ga = g * (a - b) / m.where(denom < _BCE_EPSILON, _BCE_EPSILON, denom)
        if needs(self, 1):
            gb = g * (_log1p(m, -a) - m.log(a))
        return ga, gb


def binary_cross_entropy(input, target, weight, reduction):
    x, y, ta, tb = binary(input, target)
    if np.any((x < 0) | (x > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    # PyTorch clamps each log at -100 so that a probability of exactly 0 or 1 gives a finite loss
    with np.errstate(divide="ignore"):
        losses = (y - 1) * np.maximum(np.log1p(-x), -100) - y * np.maximum(np.log(x), -100)
    if weight is not None:
        losses = losses * weight._data
    out, node = _finish_loss(BinaryCrossEntropyBackward0, losses.astype(x.dtype, copy=False),
                             reduction, (ta, tb))
    if node is not None:
        node.save(ta, tb, weight.detach() if weight is not None else None)
    return out


class BinaryCrossEntropyWithLogitsBackward0(_LossNode):
    """out = w ((1 - b) a - (1 + (p - 1) b) log s(a)), p = pos_weight
    ->  da = g w ((p b + 1 - b) s(a) - p b),  db = g w (log s(-a) - p log s(a))"""

    def backward(self, m, g):
        a, b, w, pw = self.saved(m)
        g = self._scale(g)
        if w is not None:
            g = g * w
        ga = gb = None
        if needs(self, 0):
            if pw is None:
                ga = g * (_sigmoid(m, a) - b)
            else:
                pb = pw * b
                ga = g * ((pb + 1 - b) * _sigmoid(m, a) - pb)
        if needs(self, 1):
            if pw is None:
                gb = g * -a
            else:
                gb = g * (_log_sigmoid(m, -a) - pw * _log_sigmoid(m, a))
        return ga, gb


def binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction):
    x, y, ta, tb = binary(input, target)
    log_sig = _log_sigmoid_array(x)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight._data - 1) * y + 1)
    losses = (1 - y) * x - log_sig
    if weight is not None:
        losses = losses * weight._data
    out, node = _finish_loss(BinaryCrossEntropyWithLogitsBackward0,
                             losses.astype(x.dtype, copy=False), reduction, (ta, tb))
    if node is not None:
        node.save(ta, tb, weight.detach() if weight is not None else None,
                  pos_weight.detach() if pos_weight is not None else None)
    return out


class MultiMarginLossBackward0(_LossNode):
    """out_i = sum_{j != t_i} w[t_i] max(0, margin - a[i, t_i] + a[i, j])^p / C
    ->  da[i, j] = g_i w[t_i] h_ij / C for j != t_i (h = 1 or 2 z where z > 0),
        da[i, t_i] = -sum_j of those"""

    __slots__ = ("p", "margin", "n_classes", "shape")

    def backward(self, m, g):
        a, index, not_target, one_hot, target_weight = self.saved(m)
        a = m.reshape(a, (-1, self.n_classes))
        z = self.margin - m.gather(a, 1, index) + a
        active = (z > 0) & not_target
        slope = active * (2 * z if self.p == 2 else 1.0)
        g = self._scale(g)
        if self.reduction == "none":
            g = m.reshape(g, (-1, 1))
        coef = slope * g / self.n_classes
        if target_weight is not None:
            coef = coef * target_weight
        grad = coef - one_hot * m.sum(coef, (1,), True)
        return m.reshape(grad, self.shape)


def multi_margin_loss(input, target, p, margin, weight, reduction):
    x = input._data
    n_classes = x.shape[-1]
    x2 = x.reshape(-1, n_classes)
    t = target._data.astype(np.int64, copy=False).reshape(-1)
    if t.shape[0] != x2.shape[0]:
        raise RuntimeError(f"inconsistent target size, expected {x2.shape[0]} but got "
                           f"{list(target.shape)}")
    if np.any((t < 0) | (t >= n_classes)):
        raise RuntimeError("target out of range")
    index = t[:, None]
    z = margin - np.take_along_axis(x2, index, 1) + x2
    not_target = np.arange(n_classes)[None, :] != index
    hinge = np.where((z > 0) & not_target, z, 0).astype(x.dtype)
    if p == 2:
        hinge = hinge * hinge
    target_weight = None
    if weight is not None:
        target_weight = weight._data.astype(x.dtype, copy=False)[t][:, None]
        hinge = hinge * target_weight
    losses = (hinge.sum(1) / n_classes).astype(x.dtype, copy=False)
    if reduction == "none":
        losses = losses.reshape(target._data.shape)
    out, node = _finish_loss(MultiMarginLossBackward0, losses, reduction, (input,))
    if node is not None:
        node.p, node.margin, node.n_classes, node.shape = p, margin, n_classes, x.shape
        one_hot = (~not_target).astype(x.dtype)
        node.save(input, wrap(index), wrap(not_target), wrap(one_hot),
                  wrap(target_weight) if target_weight is not None else None)
    return out


# -- lookup ------------------------------------------------------------------------------------
class EmbeddingBackward0(Node):
    """out = weight[indices]  ->  dweight[k] = sum of g over positions where indices == k
    (rows at padding_idx get no gradient)"""

    __slots__ = ("shape", "indices", "padding_idx")

    def backward(self, m, g):
        if self.padding_idx is not None:
            keep = (self.indices != self.padding_idx)[..., None]
            g = g * keep
        return m.index_zeros(self.shape, self.indices, g, True)


def embedding(indices, weight, padding_idx):
    idx = indices._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got "
                           f"torch.{indices.dtype._torch_name} instead (while checking "
                           "arguments for embedding)")
    n = weight._data.shape[0]
    if np.any((idx < 0) | (idx >= n)):
        raise IndexError("index out of range in self")
    out = wrap(weight._data[idx])
    node = record(EmbeddingBackward0, out, (weight,))
    if node is not None:
        node.shape, node.indices, node.padding_idx = weight._data.shape, idx, padding_idx
    return out


# -- packed sequences --------------------------------------------------------------------------
class PackPaddedSequenceBackward0(Node):
    """data = input[rows, cols] (each time step's live sequences, time-major)  ->
    dinput = g written back at those places, zeros at the padding"""

    __slots__ = ("shape", "key")

    def backward(self, m, g):
        return m.index_zeros(self.shape, self.key, g, False)


def pack_padded(input, key):
    """input[key] as one node; `key` is a pair of index arrays that never repeat a place."""
    out = wrap(input._data[key])
    node = record(PackPaddedSequenceBackward0, out, (input,))
    if node is not None:
        node.shape, node.key = input._data.shape, key
    return out


# -- padding -----------------------------------------------------------------------------------
class ConstantPadNdBackward0(Node):
    """out = a framed by a constant (or cropped, for negative pads)  ->  da = g's inner region"""

    __slots__ = ("shape", "src", "dst")

    def backward(self, m, g):
        return m.index_zeros(self.shape, self.src, m.getitem(g, self.dst), False)


def constant_pad(a, pad, value):
    """`pad` = (last_lo, last_hi, second_last_lo, ...), as F.pad; negative entries crop."""
    x = a._data
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(f"Padding length must be divisible by 2 and at most twice the number "
                           f"of dimensions of the input, got {len(pad)} for a {x.ndim}-D input")
    out_shape, src, dst = list(x.shape), [slice(None)] * x.ndim, [slice(None)] * x.ndim
    for i in range(len(pad) // 2):
        d = x.ndim - 1 - i
        lo, hi = int(pad[2 * i]), int(pad[2 * i + 1])
        size = x.shape[d] + lo + hi
        if size < 0:
            raise RuntimeError(f"The input size {x.shape[d]}, plus negative padding {lo} and "
                               f"{hi} resulted in a negative output size, which is invalid. "
                               f"Check dimension {d} of your input.")
        out_shape[d] = size
        src[d] = slice(max(-lo, 0), x.shape[d] - max(-hi, 0))
        dst[d] = slice(max(lo, 0), size - max(hi, 0))
    src, dst = tuple(src), tuple(dst)
    data = np.full(out_shape, value, dtype=x.dtype)
    data[dst] = x[src]
    out = wrap(data)
    node = record(ConstantPadNdBackward0, out, (a,))
    if node is not None:
        node.shape, node.src, node.dst = x.shape, src, dst
    return out


# -- recurrent layers --------------------------------------------------------------------------
# One node per layer and direction runs the whole sequence (PyTorch's CPU LSTM is one such node
# too, MkldnnRnnLayerBackward0). Inputs: `xw`, the input projection of every step, time-major
# (L, B, G), with the biases folded in as rnn.py explains; the initial state; the recurrent
# weights. Outputs: every step's h (L, B, H_out) in time order, and the final state.
#
# The forward runs in NumPy into preallocated buffers and keeps the activations; a plain
# backward (array mode) uses them. Under create_graph (tensor mode) the node instead recomputes
# the recurrence from its saved inputs with chainrule ops, so that the backward, written once
# against `m`, is a function of the inputs that can be differentiated again.
#
# Backward through time, per step: the state gradient arriving from the step after (plus the
# output's own gradient) gives the gradient of the step's gate pre-activations; those give the
# state gradient for the step before (one matmul with the recurrent weight). The weight's
# gradient is then one matmul over all steps: sum_t dpre_t^T h_{t-1}. The saved h_t are a
# copy, so that writing into the output in place leaves backward correct (PyTorch allows it).

from ..ops._core import record_multi  # noqa: E402


def _time_order(n, reverse):
    return range(n - 1, -1, -1) if reverse else range(n)


def _entering(m, seq, first, reverse):
    """The state entering each step, in time order: `first`, then seq[:-1] (or seq[1:], then
    `first`, when the direction runs backwards)."""
    n = seq.shape[0]
    head = m.unsqueeze(first, 0)
    if reverse:
        return m.cat([m.getitem(seq, slice(1, n)), head], 0)
    return m.cat([head, m.getitem(seq, slice(0, n - 1))], 0)


def _sigmoid_into(x, out):
    """out = 1 / (1 + e^-x), as _sigmoid_array, written into `out`."""
    np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)


def _weight_grad(m, dpre, states):
    """sum over steps and batch of dpre^T state: (L, B, G), (L, B, K) -> (G, K)."""
    return m.matmul(m.mT(m.reshape(dpre, (-1, dpre.shape[2]))),
                    m.reshape(states, (-1, states.shape[2])))


def _layer_outputs(node_cls, arrays, inputs, reverse):
    outs = [wrap(a) for a in arrays]
    node = record_multi(node_cls, outs, inputs)
    if node is not None:
        node.reverse = reverse
    return outs, node


class _LayerNode(Node):
    __slots__ = ("reverse", "n_outputs")


class MkldnnRnnLayerBackward0(_LayerNode):
    """LSTM layer, gates i, f, g, o: a_t = xw_t + h_{t-1} W_hh^T;
    c_t = s(f) c_{t-1} + s(i) tanh(g);  h_t = s(o) tanh(c_t) (then @ W_hr^T with a projection)
    ->  backward through time (see the note above); PyTorch's name for its LSTM layer node."""

    def backward(self, m, g_out, g_h, g_c):
        xw, h0, c0, w_hh, w_hr, A, C, TC, M, Hs = self.saved(m)
        if m.tensor_mode:
            A, C, TC, M, Hs = _lstm_math(m, xw, h0, c0, w_hh, w_hr, self.reverse)
            return _lstm_backward_math(m, g_out, g_h, g_c, h0, c0, w_hh, w_hr, A, C, TC, M, Hs,
                                       self.reverse, needs(self, 3), needs(self, 4))
        return _lstm_backward_array(g_out, g_h, g_c, h0, c0, w_hh, w_hr, A, C, TC, M, Hs,
                                    self.reverse, needs(self, 3), needs(self, 4))


def _lstm_backward_math(m, g_out, g_h, g_c, h0, c0, w_hh, w_hr, A, C, TC, M, Hs, reverse,
                        need_w_hh, need_w_hr):
    """The LSTM layer's backward in the math namespace `m` (A: activated gates, C: c_t,
    TC: tanh(c_t), M: s(o) tanh(c_t), Hs: h_t, all time-major). Returns the gradients of
    (xw, h0, c0, w_hh, w_hr)."""
    n, _, four_h = A.shape
    H = four_h // 4
    i, f = m.getitem(A, (Ellipsis, slice(0, H))), m.getitem(A, (Ellipsis, slice(H, 2 * H)))
    g, o = (m.getitem(A, (Ellipsis, slice(2 * H, 3 * H))),
            m.getitem(A, (Ellipsis, slice(3 * H, 4 * H))))
    c_prev = _entering(m, C, c0, reverse)
    # dpre_t = [dc, dc, dc, dm] * E_t and dc_t += dm * K_t, with these step-free factors:
    E = m.cat([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g), TC * o * (1 - o)], 2)
    K = o * (1 - TC * TC)
    proj = w_hr is not None
    dh, dc = g_h, g_c
    dpres, dhs = [None] * n, [None] * n
    for t in _time_order(n, not reverse):
        dht = dh + m.getitem(g_out, t)
        if proj:
            dhs[t] = dht
            dm = m.matmul(dht, w_hr)
        else:
            dm = dht
        dc = dc + dm * m.getitem(K, t)
        dpre = m.cat([dc, dc, dc, dm], 1) * m.getitem(E, t)
        dpres[t] = dpre
        dh = m.matmul(dpre, w_hh)
        dc = dc * m.getitem(f, t)
    dP = m.stack(dpres, 0)
    d_w_hh = d_w_hr = None
    if need_w_hh:
        d_w_hh = _weight_grad(m, dP, _entering(m, Hs, h0, reverse))
    if proj and need_w_hr:
        d_w_hr = _weight_grad(m, m.stack(dhs, 0), M)
    return dP, dh, dc, d_w_hh, d_w_hr


def _times_entering(out, seq, first, reverse):
    """out *= the state entering each step (see `_entering`), without building it."""
    if reverse:
        out[:-1] *= seq[1:]
        out[-1] *= first
    else:
        out[1:] *= seq[:-1]
        out[0] *= first


def _weight_grad_array(dpre, seq, first, reverse):
    """`_weight_grad(m, dpre, _entering(m, seq, first, reverse))` on arrays, without the copy."""
    G, K = dpre.shape[2], seq.shape[2]
    if reverse:
        inner, edge = (dpre[:-1], seq[1:]), dpre[-1]
    else:
        inner, edge = (dpre[1:], seq[:-1]), dpre[0]
    out = np.matmul(edge.T, first)
    if inner[0].shape[0]:
        out += inner[0].reshape(-1, G).T @ inner[1].reshape(-1, K)
    return out


def _lstm_backward_array(g_out, g_h, g_c, h0, c0, w_hh, w_hr, A, C, TC, M, Hs, reverse,
                         need_w_hh, need_w_hr):
    """`_lstm_backward_math` on arrays, with in-place step-free factors and buffers (the
    same formulas; large temporaries cost more than the arithmetic at these sizes)."""
    n, batch, four_h = A.shape
    H = four_h // 4
    i, f, g, o = (A[..., k * H:(k + 1) * H] for k in range(4))
    E = np.subtract(1, A)
    E *= A                                  # s (1 - s); the g block is replaced:
    Eg = E[..., 2 * H:3 * H]
    np.multiply(g, g, out=Eg)
    np.subtract(1, Eg, out=Eg)
    Eg *= i
    E[..., :H] *= g
    _times_entering(E[..., H:2 * H], C, c0, reverse)
    E[..., 3 * H:] *= TC
    K = np.multiply(TC, TC)
    np.subtract(1, K, out=K)
    K *= o
    f = np.ascontiguousarray(f)  # NumPy's loops are much slower on strided operands
    proj = w_hr is not None
    dP = np.empty_like(A)
    DH = np.empty(Hs.shape, Hs.dtype) if proj else None
    spread = np.empty((batch, four_h), A.dtype)
    dh, dc = g_h, g_c
    for t in _time_order(n, not reverse):
        dht = dh + g_out[t]
        if proj:
            DH[t] = dht
            dm = dht @ w_hr
        else:
            dm = dht
        dc = dc + dm * K[t]
        np.concatenate((dc, dc, dc, dm), 1, out=spread)
        dpre = np.multiply(spread, E[t], out=dP[t])
        dh = dpre @ w_hh
        dc = dc * f[t]
    d_w_hh = d_w_hr = None
    if need_w_hh:
        d_w_hh = _weight_grad_array(dP, Hs, h0, reverse)
    if proj and need_w_hr:
        d_w_hr = DH.reshape(-1, DH.shape[2]).T @ M.reshape(-1, H)
    return dP, dh, dc, d_w_hh, d_w_hr


def _lstm_math(m, xw, h0, c0, w_hh, w_hr, reverse):
    """The LSTM recurrence in the math namespace `m` (tensor mode: differentiable). Returns, in
    time order and stacked: activated gates, c_t, tanh(c_t), s(o) tanh(c_t), h_t."""
    n, H = xw.shape[0], c0.shape[1]
    whh_t = m.mT(w_hh)
    whr_t = m.mT(w_hr) if w_hr is not None else None
    A, C, TC, M, Hs = ([None] * n for _ in range(5))
    h, c = h0, c0
    for t in _time_order(n, reverse):
        pre = m.getitem(xw, t) + m.matmul(h, whh_t)
        s = _sigmoid(m, pre)
        i, f = m.getitem(s, (slice(None), slice(0, H))), m.getitem(s, (slice(None),
                                                                       slice(H, 2 * H)))
        o = m.getitem(s, (slice(None), slice(3 * H, 4 * H)))
        g = _tanh(m, m.getitem(pre, (slice(None), slice(2 * H, 3 * H))))
        A[t] = m.cat([i, f, g, o], 1)
        c = f * c + i * g
        tc = _tanh(m, c)
        mt = o * tc
        h = m.matmul(mt, whr_t) if whr_t is not None else mt
        C[t], TC[t], M[t], Hs[t] = c, tc, mt, h
    return tuple(m.stack(v, 0) for v in (A, C, TC, M, Hs))


def lstm_layer(xw, h0, c0, w_hh, w_hr=None, reverse=False):
    """One direction of one LSTM layer over a time-major sequence. xw: (L, B, 4H) input
    projections (biases included); h0: (B, P); c0: (B, H); w_hh: (4H, P); w_hr: (P, H) or None
    (P = H). Returns (outputs (L, B, P), h_n (B, P), c_n (B, H))."""
    x = xw._data
    n, batch, four_h = x.shape
    H = four_h // 4
    dtype = x.dtype
    h, c = h0._data, c0._data
    whh_t = np.ascontiguousarray(w_hh._data.T)  # BLAS is much faster on this layout
    whr_t = np.ascontiguousarray(w_hr._data.T) if w_hr is not None else None
    A = np.empty((n, batch, four_h), dtype)
    C = np.empty((n, batch, H), dtype)
    TC = np.empty((n, batch, H), dtype)
    Hs = np.empty((n, batch, h.shape[1]), dtype)
    M = np.empty((n, batch, H), dtype) if whr_t is not None else Hs
    pre = np.empty((batch, four_h), dtype)
    ig = np.empty((batch, H), dtype)
    for t in _time_order(n, reverse):
        np.matmul(h, whh_t, out=pre)
        pre += x[t]
        a = A[t]
        _sigmoid_into(pre, a)  # the g block is overwritten by its tanh just below
        g = a[:, 2 * H:3 * H]
        np.tanh(pre[:, 2 * H:3 * H], out=g)
        ct = C[t]
        np.multiply(a[:, H:2 * H], c, out=ct)
        np.multiply(a[:, :H], g, out=ig)
        ct += ig
        np.tanh(ct, out=TC[t])
        np.multiply(a[:, 3 * H:], TC[t], out=M[t])
        if whr_t is not None:
            np.matmul(M[t], whr_t, out=Hs[t])
        h, c = Hs[t], ct
    last = n - 1 if not reverse else 0
    outs, node = _layer_outputs(MkldnnRnnLayerBackward0, (Hs, Hs[last].copy(), C[last].copy()),
                                (xw, h0, c0, w_hh, w_hr), reverse)
    if node is not None:
        node.save(xw, h0, c0, w_hh, w_hr, A, C, TC, M if whr_t is not None else None,
                  Hs.copy())
    return tuple(outs)


class GruLayerBackward0(_LayerNode):
    """GRU layer, gates r, z, n: hg_t = h_{t-1} W_hh^T + b_hh;
    r, z = s(xw_rz + hg_rz);  n = tanh(xw_n + r hg_n);  h_t = (h_{t-1} - n) z + n
    ->  backward through time (see the note above)."""

    def backward(self, m, g_out, g_h):
        xw, h0, w_hh, b_hh, RZ, N, HG, Hs = self.saved(m)
        need_w, need_b = needs(self, 2), b_hh is not None and needs(self, 3)
        if m.tensor_mode:
            RZ, N, HG, Hs = _gru_math(m, xw, h0, w_hh, b_hh, self.reverse)
            return _gru_backward_math(m, g_out, g_h, h0, w_hh, RZ, N, HG, Hs, self.reverse,
                                      need_w, need_b)
        return _gru_backward_array(g_out, g_h, h0, w_hh, RZ, N, HG, Hs, self.reverse, need_w,
                                   need_b)


def _gru_backward_math(m, g_out, g_h, h0, w_hh, RZ, N, HG, Hs, reverse, need_w, need_b):
    """The GRU layer's backward in the math namespace `m` (RZ: s(r), s(z) side by side, N: n,
    HG: h_{t-1} W_hh^T + b_hh, Hs: h_t). Returns the gradients of (xw, h0, w_hh, b_hh)."""
    n, _, two_h = RZ.shape
    H = two_h // 2
    r = m.getitem(RZ, (Ellipsis, slice(0, H)))
    z = m.getitem(RZ, (Ellipsis, slice(H, 2 * H)))
    h_prev = _entering(m, Hs, h0, reverse)
    d_rz = RZ * (1 - RZ)
    Fn = (1 - z) * (1 - N * N)   # dpre_n = dh * Fn
    HN = m.getitem(HG, (Ellipsis, slice(2 * H, 3 * H)))
    h_minus_n = h_prev - N
    dh = g_h
    drzs, dpns, dhgs = [None] * n, [None] * n, [None] * n
    for t in _time_order(n, not reverse):
        dht = dh + m.getitem(g_out, t)
        dpn = dht * m.getitem(Fn, t)
        drz = m.cat([dpn * m.getitem(HN, t), dht * m.getitem(h_minus_n, t)], 1) \
            * m.getitem(d_rz, t)
        dhg = m.cat([drz, dpn * m.getitem(r, t)], 1)
        drzs[t], dpns[t], dhgs[t] = drz, dpn, dhg
        dh = m.matmul(dhg, w_hh) + dht * m.getitem(z, t)
    d_xw = m.cat([m.stack(drzs, 0), m.stack(dpns, 0)], 2)
    dHG = m.stack(dhgs, 0)
    d_w_hh = _weight_grad(m, dHG, h_prev) if need_w else None
    d_b_hh = m.sum(dHG, (0, 1)) if need_b else None
    return d_xw, dh, d_w_hh, d_b_hh


def _gru_backward_array(g_out, g_h, h0, w_hh, RZ, N, HG, Hs, reverse, need_w, need_b):
    """`_gru_backward_math` on arrays, with in-place step-free factors and buffers."""
    n, batch, two_h = RZ.shape
    H = two_h // 2
    # D = [hg_n, h_prev - n, .] * s (1 - s) per gate, and Fn = (1 - z)(1 - n^2)
    D = np.subtract(1, RZ)
    D *= RZ
    D[..., :H] *= HG[..., 2 * H:]
    Dz = D[..., H:]
    hmn = np.negative(N)
    if reverse:
        hmn[:-1] += Hs[1:]
        hmn[-1] += h0
    else:
        hmn[1:] += Hs[:-1]
        hmn[0] += h0
    Dz *= hmn
    Fn = np.multiply(N, N)
    np.subtract(1, Fn, out=Fn)
    Fn *= np.subtract(1, RZ[..., H:])
    r, z = RZ[..., :H], RZ[..., H:]
    d_xw = np.empty(HG.shape, HG.dtype)
    dHG = np.empty(HG.shape, HG.dtype)
    dh = g_h
    for t in _time_order(n, not reverse):
        dht = dh + g_out[t]
        dx, dhg = d_xw[t], dHG[t]
        dpn = dx[:, 2 * H:]
        np.multiply(dht, Fn[t], out=dpn)
        drz = dx[:, :2 * H]
        np.multiply(D[t].reshape(batch, 2, H), np.stack([dpn, dht], 1),
                    out=drz.reshape(batch, 2, H))
        dhg[:, :2 * H] = drz
        np.multiply(dpn, r[t], out=dhg[:, 2 * H:])
        dh = dhg @ w_hh
        dh += dht * z[t]
    d_w_hh = _weight_grad_array(dHG, Hs, h0, reverse) if need_w else None
    d_b_hh = dHG.sum((0, 1)) if need_b else None
    return d_xw, dh, d_w_hh, d_b_hh


def _gru_math(m, xw, h0, w_hh, b_hh, reverse):
    """The GRU recurrence in the math namespace `m`. Returns, in time order and stacked:
    s(r), s(z) side by side; n; hg; h_t."""
    n, H = xw.shape[0], h0.shape[1]
    whh_t = m.mT(w_hh)
    RZ, N, HG, Hs = ([None] * n for _ in range(4))
    h = h0
    for t in _time_order(n, reverse):
        x = m.getitem(xw, t)
        hg = m.matmul(h, whh_t)
        if b_hh is not None:
            hg = hg + b_hh
        rz = _sigmoid(m, m.getitem(x, (slice(None), slice(0, 2 * H)))
                      + m.getitem(hg, (slice(None), slice(0, 2 * H))))
        r = m.getitem(rz, (slice(None), slice(0, H)))
        z = m.getitem(rz, (slice(None), slice(H, 2 * H)))
        nt = _tanh(m, m.getitem(x, (slice(None), slice(2 * H, 3 * H)))
                   + r * m.getitem(hg, (slice(None), slice(2 * H, 3 * H))))
        h = (h - nt) * z + nt
        RZ[t], N[t], HG[t], Hs[t] = rz, nt, hg, h
    return tuple(m.stack(v, 0) for v in (RZ, N, HG, Hs))


def gru_layer(xw, h0, w_hh, b_hh=None, reverse=False):
    """One direction of one GRU layer over a time-major sequence. xw: (L, B, 3H) input
    projections with b_ih; h0: (B, H); w_hh: (3H, H); b_hh: (3H,) or None.
    Returns (outputs (L, B, H), h_n (B, H))."""
    x = xw._data
    n, batch, three_h = x.shape
    H = three_h // 3
    dtype = x.dtype
    h = h0._data
    whh_t = np.ascontiguousarray(w_hh._data.T)  # BLAS is much faster on this layout
    b = b_hh._data if b_hh is not None else None
    RZ = np.empty((n, batch, 2 * H), dtype)
    N = np.empty((n, batch, H), dtype)
    HG = np.empty((n, batch, three_h), dtype)
    Hs = np.empty((n, batch, H), dtype)
    for t in _time_order(n, reverse):
        hg, xt, rz, nt, ht = HG[t], x[t], RZ[t], N[t], Hs[t]
        np.matmul(h, whh_t, out=hg)
        if b is not None:
            hg += b
        np.add(xt[:, :2 * H], hg[:, :2 * H], out=rz)
        _sigmoid_into(rz, rz)
        np.multiply(rz[:, :H], hg[:, 2 * H:], out=nt)
        nt += xt[:, 2 * H:]
        np.tanh(nt, out=nt)
        np.subtract(h, nt, out=ht)
        ht *= rz[:, H:]
        ht += nt
        h = ht
    last = n - 1 if not reverse else 0
    outs, node = _layer_outputs(GruLayerBackward0, (Hs, Hs[last].copy()),
                                (xw, h0, w_hh, b_hh), reverse)
    if node is not None:
        node.save(xw, h0, w_hh, b_hh, RZ, N, HG, Hs.copy())
    return tuple(outs)


class RnnLayerBackward0(_LayerNode):
    """Elman RNN layer: h_t = act(xw_t + h_{t-1} W_hh^T), act = tanh or relu
    ->  dpre_t = dh_t * act'(.), dh_{t-1} = dpre_t W_hh."""

    __slots__ = ("relu",)

    def backward(self, m, g_out, g_h):
        xw, h0, w_hh, Hs = self.saved(m)
        if m.tensor_mode:
            Hs = _rnn_math(m, xw, h0, w_hh, self.relu, self.reverse)
        return _rnn_backward(m, g_out, g_h, h0, w_hh, Hs, self.relu, self.reverse,
                             needs(self, 2))


def _rnn_backward(m, g_out, g_h, h0, w_hh, Hs, relu, reverse, need_w):
    n = Hs.shape[0]
    D = (Hs > 0) if relu else 1 - Hs * Hs
    dh = g_h
    dpres = [None] * n
    for t in _time_order(n, not reverse):
        dpre = (dh + m.getitem(g_out, t)) * m.getitem(D, t)
        dpres[t] = dpre
        dh = m.matmul(dpre, w_hh)
    dP = m.stack(dpres, 0)
    if not need_w:
        d_w_hh = None
    elif m.tensor_mode:
        d_w_hh = _weight_grad(m, dP, _entering(m, Hs, h0, reverse))
    else:
        d_w_hh = _weight_grad_array(dP, Hs, h0, reverse)
    return dP, dh, d_w_hh


def _relu(m, x):
    return P.relu(x) if m.tensor_mode else np.maximum(x, 0)


def _rnn_math(m, xw, h0, w_hh, relu, reverse):
    n = xw.shape[0]
    whh_t = m.mT(w_hh)
    Hs = [None] * n
    h = h0
    for t in _time_order(n, reverse):
        pre = m.getitem(xw, t) + m.matmul(h, whh_t)
        h = _relu(m, pre) if relu else _tanh(m, pre)
        Hs[t] = h
    return m.stack(Hs, 0)


def rnn_layer(xw, h0, w_hh, relu=False, reverse=False):
    """One direction of one Elman RNN layer over a time-major sequence. xw: (L, B, H) input
    projections (biases included); h0: (B, H); w_hh: (H, H). Returns (outputs, h_n)."""
    x = xw._data
    n = x.shape[0]
    h = h0._data
    whh_t = np.ascontiguousarray(w_hh._data.T)  # BLAS is much faster on this layout
    Hs = np.empty(x.shape, x.dtype)
    for t in _time_order(n, reverse):
        ht = Hs[t]
        np.matmul(h, whh_t, out=ht)
        ht += x[t]
        if relu:
            np.maximum(ht, 0, out=ht)
        else:
            np.tanh(ht, out=ht)
        h = ht
    last = n - 1 if not reverse else 0
    outs, node = _layer_outputs(RnnLayerBackward0, (Hs, Hs[last].copy()), (xw, h0, w_hh),
                                reverse)
    if node is not None:
        node.relu = relu
        node.save(xw, h0, w_hh, Hs.copy())
    return tuple(outs)


# -- padding by index: reflect, replicate, circular ----------------------------------------------
class _IndexPadBackward(Node):
    """out = a gathered at a clamped/reflected/wrapped index per padded dim
    ->  da = g added back at those indices (positions read twice get both gradients)"""

    __slots__ = ("shape", "key")

    def backward(self, m, g):
        return m.index_zeros(self.shape, self.key, g, True)


def _pad_node(prefix, k):
    return type(f"{prefix}{k}DBackward0", (_IndexPadBackward,), {"__slots__": ()})


_PAD_NODES = {(mode, k): _pad_node(prefix, k)
              for mode, prefix in (("reflect", "ReflectionPad"), ("replicate", "ReplicationPad"),
                                   ("circular", "CircularPad"))
              for k in (1, 2, 3)}
ReflectionPad1DBackward0 = _PAD_NODES["reflect", 1]
ReflectionPad2DBackward0 = _PAD_NODES["reflect", 2]
ReflectionPad3DBackward0 = _PAD_NODES["reflect", 3]
ReplicationPad1DBackward0 = _PAD_NODES["replicate", 1]
ReplicationPad2DBackward0 = _PAD_NODES["replicate", 2]
ReplicationPad3DBackward0 = _PAD_NODES["replicate", 3]


def index_pad(a, pad, mode):
    """F.pad's 'reflect', 'replicate' and 'circular' modes: `pad` = (last_lo, last_hi, ...),
    for the last 1, 2 or 3 dims (negative entries crop)."""
    x = a._data
    k = len(pad) // 2
    if len(pad) % 2 or k not in (1, 2, 3) or x.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {x.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    indices = []
    for d in range(x.ndim - k, x.ndim):
        i = x.ndim - 1 - d
        lo, hi, n = int(pad[2 * i]), int(pad[2 * i + 1]), x.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({lo}, {hi}) at dimension {d} of input "
                f"{list(x.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if n == 0 or n + lo + hi < 0:
            raise RuntimeError(f"input tensor must have a non-empty dimension {d} to pad "
                               f"with mode '{mode}', and the padded size must not be negative")
        j = np.arange(-lo, n + hi)
        if mode == "reflect":
            j = np.abs(j)
            j = np.where(j > n - 1, 2 * (n - 1) - j, j)
        elif mode == "replicate":
            j = np.clip(j, 0, n - 1)
        else:  # PyTorch crops first (negative pads), then wraps the cropped extent
            base = np.arange(max(-lo, 0), n - max(-hi, 0))
            j = base[np.arange(-max(lo, 0), len(base) + max(hi, 0)) % len(base)]
        indices.append(j)
    key = (Ellipsis,) + np.ix_(*indices)
    out = wrap(x[key])
    node = record(_PAD_NODES[mode, k], out, (a,))
    if node is not None:
        node.shape, node.key = x.shape, key
    return out


# -- pixel shuffle -------------------------------------------------------------------------------
class PixelShuffleBackward0(Node):
    """out = a's channel blocks of r*r laid out as r x r pixels  ->  da = the inverse layout"""

    __slots__ = ("r", "shape")

    def backward(self, m, g):
        *lead, c, h, w = self.shape
        r = self.r
        oc = c // (r * r)
        g = m.reshape(g, tuple(lead) + (oc, h, r, w, r))
        n = len(lead)
        g = m.permute(g, tuple(range(n)) + tuple(n + i for i in (0, 2, 4, 1, 3)))
        return m.reshape(g, self.shape)


class PixelUnshuffleBackward0(Node):
    """out = each r x r pixel block moved into channels  ->  da = the inverse layout"""

    __slots__ = ("r", "shape")

    def backward(self, m, g):
        *lead, c, h, w = self.shape
        r = self.r
        g = m.reshape(g, tuple(lead) + (c, r, r, h // r, w // r))
        n = len(lead)
        g = m.permute(g, tuple(range(n)) + tuple(n + i for i in (0, 3, 1, 4, 2)))
        return m.reshape(g, self.shape)


def pixel_shuffle(a, r):
    x = a._data
    if x.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.ndim} dimension(s)")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    n = len(lead)
    y = x.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    y = y.transpose(tuple(range(n)) + tuple(n + i for i in (0, 3, 1, 4, 2)))
    out = wrap(np.ascontiguousarray(y).reshape(tuple(lead) + (c // (r * r), h * r, w * r)))
    node = record(PixelShuffleBackward0, out, (a,))
    if node is not None:
        node.r, node.shape = r, x.shape
    return out


def pixel_unshuffle(a, r):
    x = a._data
    if x.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.ndim} dimension(s)")
    *lead, c, h, w = x.shape
    if h % r or w % r:
        which, size = ("height", h) if h % r else ("width", w)
        raise RuntimeError(f"pixel_unshuffle expects {which} to be divisible by "
                           f"downscale_factor, but input.size({-2 if which == 'height' else -1})"
                           f"={size} is not divisible by {r}")
    n = len(lead)
    y = x.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    y = y.transpose(tuple(range(n)) + tuple(n + i for i in (0, 2, 4, 1, 3)))
    out = wrap(np.ascontiguousarray(y).reshape(tuple(lead) + (c * r * r, h // r, w // r)))
    node = record(PixelUnshuffleBackward0, out, (a,))
    if node is not None:
        node.r, node.shape = r, x.shape
    return out


# -- linear interpolation ------------------------------------------------------------------------
class _UpsampleLinearBackward(Node):
    """out = per resized dim d: a[i0] * (1 - l) + a[i1] * l (separable)
    ->  per dim, in reverse: da[i0] += g * (1 - l), da[i1] += g * l"""

    __slots__ = ("steps",)

    def backward(self, m, g):
        for d, shape, i0, i1, l0, l1 in reversed(self.steps):
            if m.tensor_mode:
                l0, l1 = wrap(l0), wrap(l1)
            key0 = (slice(None),) * d + (i0,)
            key1 = (slice(None),) * d + (i1,)
            g = m.index_zeros(shape, key0, g * l0, True) + m.index_zeros(shape, key1, g * l1,
                                                                            True)
        return g


class UpsampleLinear1DBackward0(_UpsampleLinearBackward):
    __slots__ = ()


class UpsampleBilinear2DBackward0(_UpsampleLinearBackward):
    __slots__ = ()


class UpsampleTrilinear3DBackward0(_UpsampleLinearBackward):
    __slots__ = ()


def _linear_source(n_in, n_out, align_corners, scale, dtype):
    """PyTorch's source index rule: indices i0, i1 and weights l0, l1 for every output position
    (computed in the input's float type, as PyTorch does)."""
    dst = np.arange(n_out, dtype=dtype)
    if align_corners:
        ratio = dtype.type((n_in - 1) / (n_out - 1)) if n_out > 1 else dtype.type(0)
        src = dst * ratio
    else:
        ratio = dtype.type(scale) if scale is not None and scale > 0 else \
            dtype.type(n_in / n_out)
        src = np.maximum(ratio * (dst + dtype.type(0.5)) - dtype.type(0.5), dtype.type(0))
    i0 = src.astype(np.int64)
    i0 = np.minimum(i0, n_in - 1)
    i1 = i0 + (i0 < n_in - 1)
    l1 = (src - i0.astype(dtype)).astype(dtype)
    l0 = (dtype.type(1) - l1).astype(dtype)
    return i0, i1, l0, l1


def upsample_linear(a, out_sizes, align_corners, scales):
    """Linear / bilinear / trilinear resize of the spatial dims of an (N, C, ...) input.
    `scales[k]` is 1/scale_factor when the caller gave one (None: in/out)."""
    x = a._data
    dtype = x.dtype
    steps = []
    y = x
    for k, (n_out, scale) in enumerate(zip(out_sizes, scales)):
        d = 2 + k
        n_in = y.shape[d]
        i0, i1, l0, l1 = _linear_source(n_in, n_out, align_corners, scale, dtype)
        bshape = (n_out,) + (1,) * (y.ndim - d - 1)
        l0b, l1b = l0.reshape(bshape), l1.reshape(bshape)
        steps.append((d, y.shape, i0, i1, l0b, l1b))
        y = (np.take(y, i0, axis=d) * l0b + np.take(y, i1, axis=d) * l1b).astype(dtype,
                                                                                   copy=False)
    out = wrap(y)
    node_cls = (UpsampleLinear1DBackward0, UpsampleBilinear2DBackward0,
                UpsampleTrilinear3DBackward0)[len(out_sizes) - 1]
    node = record(node_cls, out, (a,))
    if node is not None:
        node.steps = steps
    return out
