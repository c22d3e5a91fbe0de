"""Elementwise functions and activations. Each op: its node (with the derivative in its
docstring and backward) and then its forward."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor

from ._core import (Node, SavedOutput, binary, record, wrap, needs, zero_grad, unary_result,
                    float_operand, as_tensor_arg, broadcast_error)



class ExpBackward0(Node):
    """out = e^a  ->  da = g*out"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g * out


def exp(a):
    return unary_result(ExpBackward0, a, np.exp(float_operand(a)), save_output=True)


class Expm1Backward0(Node):
    """out = e^a - 1  ->  da = g*(out + 1)"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g * (out + 1)


def expm1(a):
    return unary_result(Expm1Backward0, a, np.expm1(float_operand(a)), save_output=True)


class LogBackward0(Node):
    """out = ln a  ->  da = g/a"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g / a


def log(a):
    return unary_result(LogBackward0, a, np.log(float_operand(a)), save_input=True)


class Log2Backward0(Node):
    """out = log2 a  ->  da = g/(a ln 2)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g / (a * math.log(2.0))


def log2(a):
    return unary_result(Log2Backward0, a, np.log2(float_operand(a)), save_input=True)


class Log10Backward0(Node):
    """out = log10 a  ->  da = g/(a ln 10)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g / (a * math.log(10.0))


def log10(a):
    return unary_result(Log10Backward0, a, np.log10(float_operand(a)), save_input=True)


class Log1PBackward0(Node):
    """out = ln(1 + a)  ->  da = g/(1 + a)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g / (a + 1)


def log1p(a):
    return unary_result(Log1PBackward0, a, np.log1p(float_operand(a)), save_input=True)


class SqrtBackward0(Node):
    """out = sqrt a  ->  da = g/(2 out)"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g / (out * 2)


def sqrt(a):
    return unary_result(SqrtBackward0, a, np.sqrt(float_operand(a)), save_output=True)


class RsqrtBackward0(Node):
    """out = a^(-1/2)  ->  da = -g*out^3/2"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g * (out * out * out) * -0.5


def rsqrt(a):
    return unary_result(RsqrtBackward0, a, 1.0 / np.sqrt(float_operand(a)), save_output=True)


class SinBackward0(Node):
    """out = sin a  ->  da = g*cos a"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * m.cos(a)


def sin(a):
    return unary_result(SinBackward0, a, np.sin(float_operand(a)), save_input=True)


class CosBackward0(Node):
    """out = cos a  ->  da = -g*sin a"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * -m.sin(a)


def cos(a):
    return unary_result(CosBackward0, a, np.cos(float_operand(a)), save_input=True)


class TanBackward0(Node):
    """out = tan a  ->  da = g*(1 + out^2)"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g * (out * out + 1)


def tan(a):
    return unary_result(TanBackward0, a, np.tan(float_operand(a)), save_output=True)


class TanhBackward0(Node):
    """out = tanh a  ->  da = g*(1 - out^2)"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g * (1 - out * out)


def tanh(a):
    return unary_result(TanhBackward0, a, np.tanh(float_operand(a)), save_output=True)


class SigmoidBackward0(Node):
    """out = 1/(1 + e^-a)  ->  da = g*out*(1 - out)"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g * out * (1 - out)


def _sigmoid_array(x):
    # exp(-x) may overflow to inf for very negative x; 1/(1+inf) = 0 is the right limit.
    e = np.exp(np.negative(x))
    if type(e) is not np.ndarray:  # 0-d input gives a NumPy scalar
        return np.asarray(1 / (1 + e))
    e += 1
    return np.reciprocal(e, out=e)


def sigmoid(a):
    return unary_result(SigmoidBackward0, a, _sigmoid_array(float_operand(a)), save_output=True)


def _pass_where(g, mask):
    """g where mask else 0, on arrays: `g * mask` with the bool mask converted once instead of
    in NumPy's mixed-type loop. Where g is inf/nan outside the mask the product is nan but
    PyTorch's where gives 0 (this happens in double backward, where 0/0 terms meet masks): a
    non-finite sum detects it and the masked elements are zeroed."""
    if type(g) is not np.ndarray or type(mask) is not np.ndarray or g.shape != mask.shape:
        return np.where(mask, g, np.zeros((), np.result_type(g)))
    out = mask.astype(g.dtype)
    out *= g
    if not math.isfinite(np.add.reduce(out, axis=None)):
        out[~mask] = 0
    return out


class ReluBackward0(Node):
    """out = max(a, 0)  ->  da = g where out > 0 else 0   (0 at a == 0, as PyTorch)"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        if m.tensor_mode and m.records_graph:
            # PyTorch's threshold_backward(g, out) takes `out` as an input whose derivative is
            # zero, so the gradient requires grad when `out` does: `out * 0` (out is 0 there)
            return m.where(out > 0, g, out * 0)
        if m.tensor_mode:  # a compiled backward: two fusable elementwise ops, eager's products
            return g * (out > 0)
        return _pass_where(g, out > 0)


def relu(a):
    x = a._data
    if x.dtype == np.bool_:
        raise RuntimeError("Boolean inputs not supported for relu")
    return unary_result(ReluBackward0, a, np.maximum(x, 0, dtype=x.dtype), save_output=True)


class LeakyReluBackward0(Node):
    """out = a if a > 0 else slope*a  ->  da = g if a > 0 else slope*g"""

    __slots__ = ("slope",)

    def backward(self, m, g):
        (a,) = self.saved(m)
        if m.tensor_mode:  # `a` is an input with a zero derivative, as in PyTorch (see relu)
            return m.where(a > 0, g, g * self.slope + a * 0)
        return m.where(a > 0, g, g * self.slope)


def leaky_relu(a, negative_slope=0.01, inplace=False):
    x = a._data
    out = unary_result(LeakyReluBackward0, a, np.where(x > 0, x, x * negative_slope).astype(x.dtype),
                       save_input=True)
    if out._grad_fn is not None:
        out._grad_fn.slope = negative_slope
    return out


class EluBackward0(Node):
    """out = a if a > 0 else alpha*(e^a - 1)  ->  da = g if a > 0 else g*alpha*e^a"""

    __slots__ = ("alpha", "scale", "input_scale")

    def backward(self, m, g):
        (a,) = self.saved(m)
        neg = g * (self.alpha * self.scale * self.input_scale) * m.exp(a * self.input_scale)
        return m.where(a > 0, g * self.scale, neg)


def elu(a, alpha=1.0, inplace=False, *, scale=1.0, input_scale=1.0):
    x = float_operand(a)
    data = np.where(x > 0, x * scale, alpha * scale * np.expm1(x * input_scale)).astype(x.dtype)
    out = unary_result(EluBackward0, a, data, save_input=True)
    if out._grad_fn is not None:
        out._grad_fn.alpha, out._grad_fn.scale, out._grad_fn.input_scale = alpha, scale, input_scale
    return out


class ClampBackward1(Node):
    """out = min(max(a, lo), hi)  ->  da = g where lo <= a <= hi else 0 (bounds pass the gradient)"""

    __slots__ = ("lo", "hi")

    def backward(self, m, g):
        (a,) = self.saved(m)
        if self.lo is None:
            mask = a <= self.hi
        elif self.hi is None:
            mask = a >= self.lo
        else:
            mask = (a >= self.lo) & (a <= self.hi)
        if m.tensor_mode:  # a where, as PyTorch: a nan reaching a clamped element stays out
            return m.where(mask, g, 0.0)
        return _pass_where(g, mask)


def clamp(a, min=None, max=None):
    return _clamp(a, min, max, ClampBackward1)


def _clamp(a, min, max, node_cls):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensor_bounds(a, min, max)
    x = a._data
    if x.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        x = float_operand(a)
    data = np.clip(x, min, max)
    if data.dtype != x.dtype:
        data = data.astype(x.dtype)
    out = unary_result(node_cls, a, data, save_input=True)
    if out._grad_fn is not None:
        out._grad_fn.lo, out._grad_fn.hi = min, max
    return out


clip = clamp


class ClampMinBackward0(ClampBackward1):
    """out = max(a, lo) (clamp_min)  ->  da = g where a >= lo"""


class ClampMaxBackward0(ClampBackward1):
    """out = min(a, hi) (clamp_max)  ->  da = g where a <= hi"""


def clamp_min(a, min):
    return _clamp(a, min, None, ClampMinBackward0)


def clamp_max(a, max):
    return _clamp(a, None, max, ClampMaxBackward0)


class ClampBackward0(Node):
    """out = min(max(a, lo), hi) with tensor bounds  ->  da = g where lo <= a <= hi,
    dlo = g where a < lo (and lo < hi), dhi = g where a > hi or hi < lo (then out = hi)"""

    def backward(self, m, g):
        a, lo, hi = self.saved(m)
        inside = None
        if lo is not None:
            inside = a >= lo
        if hi is not None:
            inside = (a <= hi) if inside is None else inside & (a <= hi)
        ga = m.where(inside, g, 0.0) if needs(self, 0) else None
        glo = ghi = None
        if needs(self, 1):
            below = a < lo if hi is None else (a < lo) & (lo < hi)
            glo = m.where(below, g, 0.0)
        if needs(self, 2):
            above = a > hi if lo is None else (a > hi) | (hi < lo)
            ghi = m.where(above, g, 0.0)
        return ga, glo, ghi


def _clamp_tensor_bounds(a, lo, hi):
    lo = as_tensor_arg(lo) if lo is not None else None
    hi = as_tensor_arg(hi) if hi is not None else None
    x = a._data
    if lo is not None:
        x, low, _, _ = binary(a, lo)
        x = np.maximum(x, low)
    if hi is not None:
        x, high, _, _ = binary(wrap(x), hi)
        x = np.minimum(x, high)
    out = wrap(x)
    node = record(ClampBackward0, out, (a, lo, hi))
    if node is not None:
        node.save(a, lo, hi)
    return out


class MaximumBackward0(Node):
    """out = max(a, b)  ->  the larger input gets g; ties split it half and half"""

    def backward(self, m, g):
        a, b = self.saved(m)
        # masked as PyTorch (not g * mask: an inf or nan g would leak into masked elements)
        ga = m.where(a == b, g * 0.5, m.where(a > b, g, 0.0)) if needs(self, 0) else None
        gb = m.where(a == b, g * 0.5, m.where(b > a, g, 0.0)) if needs(self, 1) else None
        return ga, gb


class MinimumBackward0(Node):
    """out = min(a, b)  ->  the smaller input gets g; ties split it half and half"""

    def backward(self, m, g):
        a, b = self.saved(m)
        # masked as PyTorch (not g * mask: an inf or nan g would leak into masked elements)
        ga = m.where(a == b, g * 0.5, m.where(a < b, g, 0.0)) if needs(self, 0) else None
        gb = m.where(a == b, g * 0.5, m.where(b < a, g, 0.0)) if needs(self, 1) else None
        return ga, gb


def maximum(a, b):
    x, y, ta, tb = binary(a, as_tensor_arg(b) if not hasattr(b, "_data") else b)
    try:
        out = wrap(np.maximum(x, y))
    except ValueError:
        raise broadcast_error(x, y) from None
    node = record(MaximumBackward0, out, (ta, tb))
    if node is not None:
        node.save(ta, tb)
    return out


def minimum(a, b):
    x, y, ta, tb = binary(a, as_tensor_arg(b) if not hasattr(b, "_data") else b)
    try:
        out = wrap(np.minimum(x, y))
    except ValueError:
        raise broadcast_error(x, y) from None
    node = record(MinimumBackward0, out, (ta, tb))
    if node is not None:
        node.save(ta, tb)
    return out


fmax, fmin = maximum, minimum


class WhereBackward0(Node):
    """out = a where cond else b  ->  da = g where cond, db = g where not cond"""

    def backward(self, m, g):
        (cond,) = self.saved(m)
        ga = m.where(cond, g, 0.0) if needs(self, 0) else None
        gb = m.where(cond, 0.0, g) if needs(self, 1) else None
        return ga, gb


def where(condition, input=None, other=None):
    cond = as_tensor_arg(condition)
    if input is None and other is None:
        return tuple(wrap(i) for i in np.nonzero(cond._data))
    if cond._data.dtype != np.bool_:
        cond = wrap(cond._data.astype(bool))
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = as_tensor_arg(input)
    x, y, ta, tb = binary(input, other)
    try:
        out = wrap(np.where(cond._data, x, y))
    except ValueError:
        raise broadcast_error(cond._data, x, y) from None
    node = record(WhereBackward0, out, (ta, tb))
    if node is not None:
        node.save(cond)
    return out


class MaskedFillBackward0(Node):
    """out = value where mask else a  ->  da = g where not mask; dvalue = sum of g where mask"""

    def backward(self, m, g):
        (mask,) = self.saved(m)
        ga = m.where(mask, 0.0, g) if needs(self, 0) else None
        gv = m.sum(m.where(mask, g, 0.0)) if needs(self, 1) else None
        return ga, gv


def masked_fill(a, mask, value):
    mask = as_tensor_arg(mask)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype}")
    tv = value if isinstance(value, Tensor) else None
    if tv is not None and tv._data.ndim != 0:
        raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {tv._data.ndim} dimension(s).")
    v = tv._data if tv is not None else value
    x = a._data
    data = np.where(mask._data, np.asarray(v, dtype=x.dtype), x)
    out = wrap(data)
    node = record(MaskedFillBackward0 if tv is None else MaskedFillBackward1, out, (a, tv))
    if node is not None:
        node.save(mask)
    return out


class MaskedFillBackward1(MaskedFillBackward0):
    """out = value (a 0-d tensor) where mask else a  ->  da = g where not mask,
    dvalue = sum of g where mask"""


class ZeroGradNode(Node):
    """Ops whose derivative is zero almost everywhere (floor, ceil, round, trunc)."""

    def backward(self, m, g):
        return zero_grad(self, m)


class FloorBackward0(ZeroGradNode):
    pass


class CeilBackward0(ZeroGradNode):
    pass


class RoundBackward0(ZeroGradNode):
    pass


class TruncBackward0(ZeroGradNode):
    pass


def floor(a):
    return unary_result(FloorBackward0, a, np.floor(a._data))


def ceil(a):
    return unary_result(CeilBackward0, a, np.ceil(a._data))


def round(a, decimals=0):
    return unary_result(RoundBackward0, a, np.round(a._data, decimals))


def trunc(a):
    return unary_result(TruncBackward0, a, np.trunc(a._data))


class FillBackward0(Node):
    """out = value everywhere  ->  da = 0"""

    def backward(self, m, g):
        return zero_grad(self, m)


class FillBackward2(FillBackward0):
    """out = a.fill_(number)  ->  da = 0"""


class ZeroBackward0(FillBackward0):
    """out = a.zero_()  ->  da = 0"""


def full_like_op(a, value, node_cls=FillBackward0):
    """`a.fill_(value)` as an out-of-place op whose gradient to `a` is zero."""
    return unary_result(node_cls, a, np.full_like(a._data, value))


class ErfBackward0(Node):
    """out = erf a  ->  da = g * 2/sqrt(pi) * e^(-a^2)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * (2.0 / math.sqrt(math.pi)) * m.exp(-(a * a))


_erf_vec = np.frompyfunc(math.erf, 1, 1)


def erf_array(x):
    try:
        from scipy.special import erf as _erf

        return _erf(x).astype(x.dtype, copy=False)
    except ImportError:  # NumPy has no erf; math.erf is exact, just slower
        return _erf_vec(x).astype(x.dtype)


def erf(a):
    return unary_result(ErfBackward0, a, erf_array(float_operand(a)), save_input=True)


# -- comparisons and logic: results are bool tensors and never carry a graph ----------------------
def _compare(ufunc):
    def compare(a, b):
        x, y, _, _ = binary(a, b)
        try:
            return wrap(ufunc(x, y))
        except ValueError:
            raise broadcast_error(x, y) from None

    compare.__name__ = ufunc.__name__
    return compare


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)
logical_xor = _compare(np.logical_xor)


def _bitwise(ufunc, name):
    def op(a, b):
        x, y, _, _ = binary(a, b)
        if x.dtype.kind == "f" or getattr(y, "dtype", np.dtype(int)).kind == "f" \
                or isinstance(y, float):
            raise RuntimeError(f"\"{name}_cpu\" not implemented for 'Float'")
        return wrap(ufunc(x, y))

    op.__name__ = name
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def logical_not(a):
    return wrap(np.logical_not(a._data))


def bitwise_not(a):
    if a._data.dtype.kind == "f":
        raise RuntimeError("\"bitwise_not_cpu\" not implemented for 'Float'")
    return wrap(np.invert(a._data))


def equal(a, b):
    return a._data.shape == b._data.shape and bool(np.array_equal(a._data, b._data))


def isnan(a):
    return wrap(np.isnan(a._data))


def isinf(a):
    return wrap(np.isinf(a._data))


def isfinite(a):
    return wrap(np.isfinite(a._data))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.allclose(a._data, as_tensor_arg(b)._data, rtol, atol, equal_nan))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return wrap(np.isclose(a._data, as_tensor_arg(b)._data, rtol, atol, equal_nan))



class _HeavisideNotImplemented(Node):
    """heaviside has no derivative in PyTorch: backward through it is an error, as there"""

    def backward(self, m, g):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


_HeavisideNotImplemented.__name__ = "NotImplemented"  # PyTorch's grad_fn name for it


def heaviside(input, values):
    """The step function: 0 where input < 0, `values` where input == 0, 1 where input > 0."""
    if not isinstance(values, Tensor):
        raise TypeError(f"heaviside(): argument 'values' (position 2) must be Tensor, not "
                        f"{type(values).__name__}")
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    x = input._data
    data = np.where(x > 0, 1, np.where(x < 0, 0, values._data)).astype(x.dtype)
    out = wrap(data)
    record(_HeavisideNotImplemented, out, (input, values))
    return out
