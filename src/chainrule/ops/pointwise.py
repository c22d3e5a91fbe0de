"""Elementwise functions and activations. Each op: its node (with the derivative in its
docstring and backward) and then its forward."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .._errors import broadcast_shapes

from ._core import (Node, SavedOutput, binary, record, wrap, needs, zero_grad, unary_result,
                    float_operand, as_tensor_arg, broadcast_error)



class ExpBackward0(Node):
    """out = e^a  ->  da = g*out"""
    saved_fields = ("result",)

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
    saved_fields = ("self",)

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
    saved_fields = ("self",)

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g / (a + 1)


def log1p(a):
    return unary_result(Log1PBackward0, a, np.log1p(float_operand(a)), save_input=True)


class SqrtBackward0(Node):
    """out = sqrt a  ->  da = g/(2 out)"""
    saved_fields = ("result",)

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g / (out * 2)


def sqrt(a):
    return unary_result(SqrtBackward0, a, np.sqrt(float_operand(a)), save_output=True)


class RsqrtBackward0(Node):
    """out = a^(-1/2)  ->  da = -g*out^3/2"""
    saved_fields = ("result",)

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g * (out * out * out) * -0.5


def rsqrt(a):
    return unary_result(RsqrtBackward0, a, 1.0 / np.sqrt(float_operand(a)), save_output=True)


class SinBackward0(Node):
    """out = sin a  ->  da = g*cos a"""
    saved_fields = ("self",)

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * m.cos(a)


def sin(a):
    return unary_result(SinBackward0, a, np.sin(float_operand(a)), save_input=True)


class CosBackward0(Node):
    """out = cos a  ->  da = -g*sin a"""
    saved_fields = ("self",)

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
    saved_fields = ("result",)

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g * (1 - out * out)


def tanh(a):
    return unary_result(TanhBackward0, a, np.tanh(float_operand(a)), save_output=True)


class SigmoidBackward0(Node):
    """out = 1/(1 + e^-a)  ->  da = g*out*(1 - out)"""
    saved_fields = ("result",)

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
    saved_fields = ("result",)

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
    saved_fields = ("self",)
    saved_attrs = {"negative_slope": "slope"}

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
    saved_fields = ("self",)
    saved_attrs = {"alpha": "alpha"}

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
    saved_fields = ("self",)
    saved_attrs = {"min": "lo", "max": "hi"}

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
    saved_fields = ("self", "other")
    pack_order = (1, 0)

    def backward(self, m, g):
        a, b = self.saved(m)
        # masked as PyTorch (not g * mask: an inf or nan g would leak into masked elements)
        ga = m.where(a == b, g * 0.5, m.where(a > b, g, 0.0)) if needs(self, 0) else None
        gb = m.where(a == b, g * 0.5, m.where(b > a, g, 0.0)) if needs(self, 1) else None
        return ga, gb


class MinimumBackward0(Node):
    """out = min(a, b)  ->  the smaller input gets g; ties split it half and half"""
    saved_fields = ("self", "other")
    pack_order = (1, 0)

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
    saved_fields = ("condition",)

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
    """out = value (a number) where mask else a  ->  da = g where not mask"""
    saved_fields = ("mask",)

    def backward(self, m, g):
        (mask,) = self.saved(m)
        return m.where(mask, 0.0, g)


class MaskedFillBackward1(Node):
    """out = value (a 0-d tensor) where mask else a  ->  da = g where not mask,
    dvalue = sum of g where mask"""

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
    if mask._data.shape != x.shape:
        broadcast_shapes(mask._data.shape, x.shape)  # PyTorch's error, naming both sizes
    data = np.where(mask._data, np.asarray(v, dtype=x.dtype), x)
    out = wrap(data)
    if tv is None:
        node = record(MaskedFillBackward0, out, (a,))
    else:
        node = record(MaskedFillBackward1, out, (a, tv))
    if node is not None:
        node.save(mask)
    return out


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


# -- more elementwise functions (trigonometric, hyperbolic, special) ------------------------------
def _on(m, fn, np_fn, *args):
    """fn(*args) with chainrule ops in tensor mode (recorded), np_fn on arrays otherwise."""
    return fn(*args) if m.tensor_mode else np_fn(*args)


def _unary(node_cls, np_fn, save_input=True, save_output=False):
    def op(a):
        if not isinstance(a, Tensor):
            raise TypeError(f"{np_fn.__name__}(): argument 'input' (position 1) must be Tensor, "
                            f"not {type(a).__name__}")
        return unary_result(node_cls, a, np_fn(float_operand(a)), save_input=save_input and
                            not save_output, save_output=save_output)

    return op


class SinhBackward0(Node):
    """out = sinh a  ->  da = g*cosh a"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * _on(m, cosh, np.cosh, a)


class CoshBackward0(Node):
    """out = cosh a  ->  da = g*sinh a"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * _on(m, sinh, np.sinh, a)


class AsinBackward0(Node):
    """out = asin a  ->  da = g/sqrt(1 - a^2)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * (1 - a * a) ** -0.5


class AcosBackward0(Node):
    """out = acos a  ->  da = -g/sqrt(1 - a^2)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return -g * (1 - a * a) ** -0.5


class AtanBackward0(Node):
    """out = atan a  ->  da = g/(1 + a^2)"""
    saved_fields = ("self",)

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g / (a * a + 1)


class AsinhBackward0(Node):
    """out = asinh a  ->  da = g/sqrt(a^2 + 1)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * (a * a + 1) ** -0.5


class AcoshBackward0(Node):
    """out = acosh a  ->  da = g/sqrt(a^2 - 1)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * (a * a - 1) ** -0.5


class AtanhBackward0(Node):
    """out = atanh a  ->  da = g/(1 - a^2)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g / (1 - a * a)


class Exp2Backward0(Node):
    """out = 2^a  ->  da = g*out*ln 2"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g * out * math.log(2.0)


class ErfcBackward0(Node):
    """out = 1 - erf a  ->  da = -g * 2/sqrt(pi) * e^(-a^2)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * (-2.0 / math.sqrt(math.pi)) * m.exp(-(a * a))


class ErfinvBackward0(Node):
    """out = erfinv a  ->  da = g * sqrt(pi)/2 * e^(out^2)"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g * (math.sqrt(math.pi) / 2) * m.exp(out * out)


class Deg2RadBackward0(Node):
    """out = a*pi/180  ->  da = g*pi/180"""

    def backward(self, m, g):
        return g * (math.pi / 180)


class Rad2DegBackward0(Node):
    """out = a*180/pi  ->  da = g*180/pi"""

    def backward(self, m, g):
        return g * (180 / math.pi)


class FracBackward0(Node):
    """out = a - trunc a  ->  da = g"""

    def backward(self, m, g):
        return g


class SgnBackward0(ZeroGradNode):
    """out = sgn a  ->  da = 0 (real inputs)"""


class SincBackward0(Node):
    """out = sin(pi a)/(pi a)  ->  da = g*(cos(pi a) pi a - sin(pi a))/(pi a^2)  (0 at a == 0)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        pa = a * math.pi
        d = (m.cos(pa) * pa - m.sin(pa)) / (pa * a)
        return m.where(a == 0, 0.0, g * d)


class LgammaBackward0(Node):
    """out = ln|Gamma(a)|  ->  da = g*digamma(a)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * _on(m, digamma, _digamma_array, a)


class DigammaBackward0(Node):
    """out = digamma(a)  ->  da = g*trigamma(a)"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * _on(m, lambda t: polygamma(1, t), lambda x: _polygamma_array(1, x), a)


class PolygammaBackward0(Node):
    """out = polygamma(n, a)  ->  da = g*polygamma(n + 1, a)"""

    __slots__ = ("n",)

    def backward(self, m, g):
        (a,) = self.saved(m)
        n = self.n + 1
        return g * _on(m, lambda t: polygamma(n, t), lambda x: _polygamma_array(n, x), a)


def _special(name):
    try:
        from scipy import special
    except ImportError:  # pragma: no cover - scipy is optional
        return None
    return getattr(special, name)


def _lgamma_array(x):
    fn = _special("gammaln")
    if fn is not None:
        return fn(x).astype(x.dtype, copy=False)
    return np.frompyfunc(lambda v: math.lgamma(v) if v not in (0.0,) and not (
        v < 0 and v == math.floor(v)) else math.inf, 1, 1)(x).astype(x.dtype)


def _digamma_array(x):
    fn = _special("psi")
    if fn is not None:
        out = fn(x).astype(x.dtype, copy=False)
        # PyTorch: -inf at 0 (scipy gives nan at -0.0 ... and -inf at +0.0)
        return np.where(x == 0, np.copysign(np.inf, -np.copysign(1.0, x)), out).astype(x.dtype)
    return _polygamma_array(0, x)


def _polygamma_array(n, x):
    fn = _special("polygamma")
    if fn is not None:
        if n == 0:
            return _digamma_array(x)
        return np.asarray(fn(n, x)).astype(x.dtype, copy=False)
    # series fallback: recurrence up to x >= 10, then the asymptotic expansion
    x64 = np.asarray(x, np.float64)
    acc = np.zeros_like(x64)
    y = x64.copy()
    for _ in range(10):
        small = y < 10
        if n == 0:
            acc = np.where(small, acc - 1 / y, acc)
        else:
            acc = np.where(small, acc + (-1) ** (n + 1) * math.factorial(n) / y ** (n + 1), acc)
        y = np.where(small, y + 1, y)
    if n == 0:
        inv2 = 1 / (y * y)
        tail = np.log(y) - 0.5 / y - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 / 252))
    elif n == 1:
        tail = 1 / y + 1 / (2 * y * y) + 1 / (6 * y ** 3) - 1 / (30 * y ** 5) + 1 / (42 * y ** 7)
    else:
        tail = (-1) ** (n + 1) * (math.factorial(n - 1) / y ** n + math.factorial(n) / (2 * y ** (n + 1)))
    return (acc + tail).astype(x.dtype)


def _erfc_array(x):
    fn = _special("erfc")
    return fn(x).astype(x.dtype, copy=False) if fn is not None else (1 - erf_array(x))


def _erfinv_array(x):
    fn = _special("erfinv")
    if fn is not None:
        return fn(x).astype(x.dtype, copy=False)
    # Newton steps on erf from a rational first guess
    x64 = np.asarray(x, np.float64)
    w = -np.log((1 - x64) * (1 + x64))
    y = np.sign(x64) * np.sqrt(np.sqrt((2 / (math.pi * 0.147) + w / 2) ** 2 - w / 0.147)
                               - (2 / (math.pi * 0.147) + w / 2))
    for _ in range(4):
        y = y - (erf_array(y) - x64) / (2 / math.sqrt(math.pi) * np.exp(-y * y))
    return y.astype(x.dtype)


def _sinc_array(x):
    return np.sinc(x).astype(x.dtype, copy=False)


def _frac_array(x):
    return x - np.trunc(x)


sinh = _unary(SinhBackward0, np.sinh)
cosh = _unary(CoshBackward0, np.cosh)
asin = arcsin = _unary(AsinBackward0, np.arcsin)
acos = arccos = _unary(AcosBackward0, np.arccos)
atan = arctan = _unary(AtanBackward0, np.arctan)
asinh = arcsinh = _unary(AsinhBackward0, np.arcsinh)
acosh = arccosh = _unary(AcoshBackward0, np.arccosh)
atanh = arctanh = _unary(AtanhBackward0, np.arctanh)
exp2 = _unary(Exp2Backward0, np.exp2, save_output=True)
erfc = _unary(ErfcBackward0, _erfc_array)
erfinv = _unary(ErfinvBackward0, _erfinv_array, save_output=True)
deg2rad = _unary(Deg2RadBackward0, np.deg2rad, save_input=False)
rad2deg = _unary(Rad2DegBackward0, np.rad2deg, save_input=False)
sinc = _unary(SincBackward0, _sinc_array)
lgamma = _unary(LgammaBackward0, _lgamma_array)
digamma = _unary(DigammaBackward0, _digamma_array)
for _fn, _name in [(sinh, "sinh"), (cosh, "cosh"), (asin, "asin"), (acos, "acos"), (atan, "atan"),
                   (asinh, "asinh"), (acosh, "acosh"), (atanh, "atanh"), (exp2, "exp2"),
                   (erfc, "erfc"), (erfinv, "erfinv"), (deg2rad, "deg2rad"),
                   (rad2deg, "rad2deg"), (sinc, "sinc"), (lgamma, "lgamma"),
                   (digamma, "digamma")]:
    _fn.__name__ = _fn.__qualname__ = _name
del _fn, _name


def polygamma(n, input):
    out = unary_result(PolygammaBackward0, input, _polygamma_array(n, float_operand(input)),
                       save_input=True)
    if out._grad_fn is not None:
        out._grad_fn.n = n
    return out


def frac(a):
    x = a._data
    if x.dtype.kind != "f":
        raise NotImplementedError(f"\"frac_cpu\" not implemented for '{a.dtype._torch_name[:-6]}'")
    return unary_result(FracBackward0, a, _frac_array(x))


def sgn(a):
    return unary_result(SgnBackward0, a, np.sign(a._data))


def fix(a):
    return trunc(a)


def positive(a):
    if a._data.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return a


def signbit(a):
    return wrap(np.signbit(a._data))


def isposinf(a):
    return wrap(np.isposinf(a._data))


def isneginf(a):
    return wrap(np.isneginf(a._data))


def isreal(a):
    return wrap(np.ones(a._data.shape, bool))


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    x = as_tensor_arg(elements)._data
    y = as_tensor_arg(test_elements)._data
    return wrap(np.isin(x, y, invert=invert))


def _binary_float(a, b):
    """Both operands coerced to the result dtype, integers promoted to the default float."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = as_tensor_arg(a)
    x, y, ta, tb = binary(a, b)
    if x.dtype.kind != "f" and (not isinstance(y, float)):
        from .. import _dtype

        x = x.astype(_dtype.get_default_dtype().np)
        y = np.asarray(y).astype(x.dtype) if isinstance(y, np.ndarray) else y
    if isinstance(y, np.ndarray) and y.dtype != x.dtype and y.dtype.kind != "f":
        y = y.astype(x.dtype)
    return x, y, ta, tb


def _record_binary(node_cls, out, ta, tb, a, b):
    node = record(node_cls, out, (ta, tb))
    if node is not None:
        node.save(ta if ta is not None else a, tb if tb is not None else b)
    return out


def _binary_result(node_cls, a, b, np_fn, save_out=False):
    x, y, ta, tb = _binary_float(a, b)
    try:
        data = np_fn(x, y)
    except ValueError:
        raise broadcast_error(x, y) from None
    out = wrap(np.asarray(data).astype(x.dtype if isinstance(y, (int, float)) or x.dtype == getattr(
        y, "dtype", x.dtype) else np.result_type(x, y), copy=False))
    node = record(node_cls, out, (ta, tb))
    if node is not None:
        node.save(*((ta, tb) + ((SavedOutput(out),) if save_out else ())))
        node.scalars = (a if ta is None else None, b if tb is None else None)
    return out


class _BinaryFloatNode(Node):
    __slots__ = ("scalars",)

    def operands(self, m):
        saved = self.saved(m)
        a, b = saved[0], saved[1]
        if a is None:
            a = self.scalars[0]
        if b is None:
            b = self.scalars[1]
        return (a, b) + tuple(saved[2:])


class Atan2Backward0(_BinaryFloatNode):
    """out = atan2(a, b)  ->  da = g*b/(a^2 + b^2),  db = -g*a/(a^2 + b^2)"""

    def backward(self, m, g):
        a, b = self.operands(m)
        r = a * a + b * b
        return (g * b / r if needs(self, 0) else None), (-g * a / r if needs(self, 1) else None)


class HypotBackward0(_BinaryFloatNode):
    """out = sqrt(a^2 + b^2)  ->  da = g*a/out,  db = g*b/out"""

    def backward(self, m, g):
        a, b, out = self.operands(m)
        return (g * a / out if needs(self, 0) else None), (g * b / out if needs(self, 1) else None)


class LogaddexpBackward0(_BinaryFloatNode):
    """out = ln(e^a + e^b)  ->  da = g/(1 + e^(b - a)),  db = g/(1 + e^(a - b))"""

    def backward(self, m, g):
        a, b = self.operands(m)
        ga = g / (m.exp(b - a) + 1) if needs(self, 0) else None
        gb = g / (m.exp(a - b) + 1) if needs(self, 1) else None
        return ga, gb


class Logaddexp2Backward0(_BinaryFloatNode):
    """out = log2(2^a + 2^b)  ->  da = g/(1 + 2^(b - a)),  db = g/(1 + 2^(a - b))"""

    def backward(self, m, g):
        a, b = self.operands(m)
        ga = g / (2.0 ** (b - a) + 1) if needs(self, 0) else None
        gb = g / (2.0 ** (a - b) + 1) if needs(self, 1) else None
        return ga, gb


class XlogyBackward0(_BinaryFloatNode):
    """out = a*ln b (0 where a == 0)  ->  da = g*ln b (0 where a == 0), db = g*a/b"""

    def backward(self, m, g):
        a, b = self.operands(m)
        ga = gb = None
        if needs(self, 0):
            ga = g * m.where(a == 0, 0.0, m.log(b) if isinstance(b, (Tensor, np.ndarray)) else
                             math.log(b))
        if needs(self, 1):
            gb = g * a / b
        return ga, gb


class CopysignBackward0(_BinaryFloatNode):
    """out = |a| sign(b)  ->  da = g*out/a (0 where a == 0),  db = 0"""

    def backward(self, m, g):
        a, b, out = self.operands(m)
        ga = m.where(a == 0, 0.0, g * (out / a)) if needs(self, 0) else None
        gb = g * 0 if needs(self, 1) else None
        return ga, gb


class CopysignBackward1(CopysignBackward0):
    pass


def _logaddexp_array(x, y):
    return np.logaddexp(x, y)


def atan2(input, other):
    return _binary_result(Atan2Backward0, input, other, np.arctan2)


arctan2 = atan2


def hypot(input, other):
    return _binary_result(HypotBackward0, input, other, np.hypot, save_out=True)


def logaddexp(input, other):
    return _binary_result(LogaddexpBackward0, input, other, np.logaddexp)


def logaddexp2(input, other):
    return _binary_result(Logaddexp2Backward0, input, other, np.logaddexp2)


def _xlogy_array(x, y):
    with np.errstate(all="ignore"):
        out = x * np.log(y)
    return np.where(np.isnan(y), np.nan, np.where(x == 0, 0, out))


def xlogy(input, other):
    return _binary_result(XlogyBackward0, input, other, _xlogy_array)


def copysign(input, other):
    cls = CopysignBackward0 if isinstance(other, Tensor) else CopysignBackward1
    return _binary_result(cls, input, other, np.copysign, save_out=True)


class LogitBackward0(Node):
    """out = ln(a/(1 - a))  ->  da = g/(a(1 - a))  (0 outside [eps, 1 - eps] when eps is given)"""

    __slots__ = ("eps",)

    def backward(self, m, g):
        (a,) = self.saved(m)
        d = g / (a * (1 - a))
        if self.eps is None:
            return d
        return m.where((a < self.eps) | (a > 1 - self.eps), 0.0, d)


def logit(input, eps=None):
    x = float_operand(input)
    z = x if eps is None else np.clip(x, eps, 1 - eps)
    out = unary_result(LogitBackward0, input, np.log(z / (1 - z)), save_input=True)
    if out._grad_fn is not None:
        out._grad_fn.eps = eps
    return out


class NanToNumBackward0(Node):
    """out = a with nan/inf replaced  ->  da = g where a is finite else 0"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        return m.where((a == a) & (a != np.inf) & (a != -np.inf), g, 0.0)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    x = input._data
    if x.dtype.kind != "f":
        return unary_result(NanToNumBackward0, input, x.copy())
    info = np.finfo(x.dtype)
    data = np.nan_to_num(x, nan=nan, posinf=info.max if posinf is None else posinf,
                         neginf=info.min if neginf is None else neginf)
    return unary_result(NanToNumBackward0, input, data.astype(x.dtype, copy=False),
                        save_input=True)


class LerpBackward0(Node):
    """out = a + w(b - a), w a number  ->  da = g(1 - w),  db = g*w"""

    __slots__ = ("weight",)

    def backward(self, m, g):
        w = self.weight
        return (g * (1 - w) if needs(self, 0) else None), (g * w if needs(self, 1) else None)


class LerpBackward1(Node):
    """out = a + w(b - a)  ->  da = g(1 - w),  db = g*w,  dw = g(b - a)"""

    def backward(self, m, g):
        a, b, w = self.saved(m)
        ga = g * (1 - w) if needs(self, 0) else None
        gb = g * w if needs(self, 1) else None
        gw = g * (b - a) if needs(self, 2) else None
        return ga, gb, gw


def _lerp_array(x, y, w):
    # PyTorch's formula: start + w*(end - start) for |w| < 0.5, else end - (end - start)*(1 - w)
    diff = y - x
    return np.where(np.abs(w) < 0.5, x + w * diff, y - diff * (1 - w))


def lerp(input, end, weight):
    end = as_tensor_arg(end)
    if input._data.dtype != end._data.dtype:
        raise RuntimeError(f"expected dtype {input.dtype._torch_name[:-6].lower()} for `end` but "
                           f"got dtype {end.dtype._torch_name[:-6].lower()}")
    x, y, ta, tb = binary(input, end)
    if isinstance(weight, Tensor):
        w = weight._data.astype(x.dtype, copy=False)
        try:
            data = _lerp_array(x, y, w).astype(x.dtype, copy=False)
        except ValueError:
            raise broadcast_error(x, y, w) from None
        out = wrap(data)
        node = record(LerpBackward1, out, (ta, tb, weight))
        if node is not None:
            node.save(ta, tb, weight)
        return out
    try:
        data = _lerp_array(x, y, weight).astype(x.dtype, copy=False)
    except ValueError:
        raise broadcast_error(x, y) from None
    out = wrap(data)
    node = record(LerpBackward0, out, (ta, tb))
    if node is not None:
        node.weight = weight
    return out


class AddcmulBackward0(Node):
    """out = a + v*t1*t2  ->  da = g,  dt1 = g*v*t2,  dt2 = g*v*t1"""

    __slots__ = ("value",)

    def backward(self, m, g):
        t1, t2 = self.saved(m)
        v = self.value
        g1 = g * t2 * v if needs(self, 1) else None
        g2 = g * t1 * v if needs(self, 2) else None
        return g, g1, g2


class AddcdivBackward0(Node):
    """out = a + v*t1/t2  ->  da = g,  dt1 = g*v/t2,  dt2 = -g*v*t1/t2^2"""

    __slots__ = ("value",)

    def backward(self, m, g):
        t1, t2 = self.saved(m)
        v = self.value
        g1 = g * v / t2 if needs(self, 1) else None
        g2 = -g * v * t1 / (t2 * t2) if needs(self, 2) else None
        return g, g1, g2


def _addc(node_cls, input, tensor1, tensor2, value, np_fn):
    x, y, _, _ = binary(tensor1, tensor2)
    if node_cls is AddcdivBackward0 and x.dtype.kind in "biu" and getattr(y, "dtype", None) is not None \
            and y.dtype.kind in "biu":
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future "
                           "release addcdiv will perform a true division of tensor1 and tensor2. "
                           "The historic addcdiv behavior can be implemented as (input + value * "
                           "torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and "
                           "as (input + value * tensor1 / tensor2) for float inputs. The future "
                           "addcdiv behavior is just the latter implementation: (input + value * "
                           "tensor1 / tensor2), for all dtypes.")
    prod = np_fn(x, y)
    base, scaled, _, _ = binary(input, wrap(prod))
    try:
        data = base + (scaled * value if value != 1 else scaled)
    except ValueError:
        raise broadcast_error(input._data, x, y) from None
    out = wrap(np.asarray(data).astype(base.dtype, copy=False))
    node = record(node_cls, out, (input, tensor1, tensor2))
    if node is not None:
        node.value = value
        node.save(tensor1, tensor2)
    return out


def addcmul(input, tensor1, tensor2, *, value=1):
    return _addc(AddcmulBackward0, input, tensor1, tensor2, value, np.multiply)


def addcdiv(input, tensor1, tensor2, *, value=1):
    return _addc(AddcdivBackward0, input, tensor1, tensor2, value, np.true_divide)


def _int_only(ufunc, name):
    def op(input, other):
        x, y, _, _ = binary(input, other)
        if x.dtype.kind == "f" or isinstance(y, float):
            raise RuntimeError(f"\"{name}_cpu\" not implemented for 'Float'")
        return wrap(ufunc(x, y))

    op.__name__ = name
    return op


gcd = _int_only(np.gcd, "gcd")
lcm = _int_only(np.lcm, "lcm")
bitwise_left_shift = _int_only(np.left_shift, "lshift")
bitwise_right_shift = _int_only(np.right_shift, "rshift")
