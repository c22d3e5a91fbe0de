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
    return IndexError(f"Target {bad_target} is out of bounds. (nll_loss / cross_entropy: "
                      f"class indices must be in [0, {n_classes - 1}] for an input with "
                      f"{n_classes} classes)")


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
