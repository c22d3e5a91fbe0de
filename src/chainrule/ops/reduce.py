"""Reductions (sum, mean, max...) and the normalizations built on them (softmax, logsumexp).

A reduction's backward first restores the reduced dims (`_unreduce`), then applies its rule.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..tensor import Tensor

from .. import _dtype, _errors
from ..return_types import make_return_type
from ._core import Node, SavedOutput, record, wrap, float_operand
from ._cascade_sum import cascade_sum



def _dims(dim, ndim):
    """None or () -> all dims; otherwise a sorted tuple of non-negative dims."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = tuple(sorted(_errors.normalize_dims(dim, ndim)))
    return dims if ndim else ()  # a 0-dim tensor takes dim 0 or -1 and has nothing to reduce


def _kept_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _unreduce(m, g, shape, dims, keepdim):
    """Give a reduced gradient back its reduced dims (size 1) so it broadcasts against the input."""
    if not keepdim and dims:
        g = m.reshape(g, _kept_shape(shape, dims))
    return g


class _Reduction(Node):
    __slots__ = ("shape", "dims", "keepdim")

    def _setup(self, shape, dims, keepdim):
        self.shape, self.dims, self.keepdim = shape, dims, keepdim


class SumBackward0(_Reduction):
    """out = sum(a)  ->  da = g broadcast to a's shape"""

    def backward(self, m, g):
        return m.expand(_unreduce(m, g, self.shape, self.dims, self.keepdim), self.shape)


class SumBackward1(SumBackward0):
    """out = sum(a, dims)  ->  da = g broadcast back over dims"""


def sum(a, dim=None, keepdim=False, *, dtype=None):
    x = a._data
    if dtype is not None:
        x = x.astype(_dtype.to_numpy_dtype(dtype))
    elif x.dtype.kind in "biu":
        x = x.astype(np.int64)
    dims = _dims(dim, x.ndim)
    out = wrap(cascade_sum(x, dims, keepdim) if x.dtype == np.float32
               else x.sum(axis=dims, keepdims=keepdim))
    node = record(SumBackward0 if dim is None else SumBackward1, out, (a,))
    if node is not None:
        node._setup(x.shape, dims, keepdim)
    return out


def nansum(a, dim=None, keepdim=False, *, dtype=None):
    return sum(where_not_nan(a), dim, keepdim, dtype=dtype)


def where_not_nan(a):
    from .pointwise import where, isnan

    return where(isnan(a), 0.0, a)


class MeanBackward0(_Reduction):
    """out = mean(a)  ->  da = g/N broadcast to a's shape"""

    __slots__ = ("count",)

    def backward(self, m, g):
        g = _unreduce(m, g, self.shape, self.dims, self.keepdim)
        return m.expand(g / self.count, self.shape)


class MeanBackward1(MeanBackward0):
    """out = mean(a, dims)  ->  da = g/N broadcast back over dims"""


def mean(a, dim=None, keepdim=False, *, dtype=None):
    x = a._data
    if dtype is not None:
        x = x.astype(_dtype.to_numpy_dtype(dtype))
    if x.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_dtype.from_numpy_dtype(x.dtype)._torch_name[:-6]}")
    dims = _dims(dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    if x.dtype == np.float32 and count:  # PyTorch: sum, then divide by the count
        out = wrap(np.asarray(cascade_sum(x, dims, keepdim) / np.float32(count)))
    else:
        out = wrap(x.mean(axis=dims, keepdims=keepdim))
    node = record(MeanBackward0 if dim is None else MeanBackward1, out, (a,))
    if node is not None:
        node._setup(x.shape, dims, keepdim)
        node.count = count
    return out


class ProdBackward0(_Reduction):
    """out = prod(a)  ->  da_i = g * prod of the other elements (zero-safe)"""

    def backward(self, m, g):
        a, out = self.saved(m)
        g = _unreduce(m, g, self.shape, self.dims, self.keepdim)
        if not self.shape:  # a 0-d input: its own gradient (PyTorch records nothing more)
            return g
        if bool(m.all(a != 0)):
            return g * _unreduce(m, out, self.shape, self.dims, self.keepdim) / a
        return g * _prod_of_others(m, a, self.dims)


class ProdBackward1(ProdBackward0):
    """out = prod(a, dim)  ->  da_i = g * prod of the other elements along dim"""


def _prod_of_others(m, a, dims):
    """For each element, the product of the others in its reduction group (handles zeros)."""
    shape = a.shape
    keep = [i for i in range(len(shape)) if i not in dims]
    perm = keep + list(dims)
    inv = list(np.argsort(perm))
    n = 1
    for d in dims:
        n *= shape[d]
    flat = m.reshape(m.permute(a, perm), tuple(shape[i] for i in keep) + (n,))
    eye = np.eye(n, dtype=bool)
    # rows[..., i, j] = a_j, except a_i replaced by 1
    rows = m.where(eye, 1.0, m.unsqueeze(flat, -2))
    others = m.prod(rows, -1)
    back = m.reshape(others, tuple(shape[i] for i in perm))
    return m.permute(back, inv)


def prod(a, dim=None, keepdim=False, *, dtype=None):
    x = a._data
    if dtype is not None:
        x = x.astype(_dtype.to_numpy_dtype(dtype))
    elif x.dtype.kind in "biu":
        x = x.astype(np.int64)
    dims = _dims(dim, x.ndim)
    out = wrap(x.prod(axis=dims, keepdims=keepdim))
    node = record(ProdBackward0 if dim is None else ProdBackward1, out, (a,))
    if node is not None:
        node._setup(x.shape, dims, keepdim)
        node.save(a, SavedOutput(out))
    return out


class VarBackward0(_Reduction):
    """out = sum((a - mean)^2)/(N - c)  ->  da = g * 2(a - mean)/(N - c)"""

    __slots__ = ("denom", "full")

    def backward(self, m, g):
        (a,) = self.saved(m)
        g = _unreduce(m, g, self.shape, self.dims, self.keepdim)
        return _var_backward(self, m, g, a)


def _var_backward(node, m, g, a):
    """PyTorch's var_backward: g * 2(a - mean)/(N - c)."""
    centered = a - m.mean(a, node.dims, True)
    if node.denom:
        return g * (2.0 / node.denom) * centered  # PyTorch's order (float32 rounding)
    # N == correction: PyTorch divides by zero too (inf, or nan where a == mean); for a full
    # reduction it builds that factor from a comparison (so it is a constant, as here)
    if node.full:
        return g * m.where(centered == 0, np.nan, np.inf)
    return g * centered * np.inf


class StdBackward0(_Reduction):
    """out = sqrt(var)  ->  da = (g / 2out) * 2(a - mean)/(N - c)   (g/2out is 0 where out == 0,
    as PyTorch)"""

    __slots__ = ("denom", "full")

    def backward(self, m, g):
        a, out = self.saved(m)
        g = _unreduce(m, g, self.shape, self.dims, self.keepdim)
        out = _unreduce(m, out, self.shape, self.dims, self.keepdim)
        # PyTorch's order: only g / out is masked, so in double backward the 0/0 of the
        # masked branch reaches `out` (masked again by this node), never `a` directly
        g = m.where(out == 0, 0.0, g / (out * 2))
        return _var_backward(self, m, g, a)


def _var_args(dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # var(True) is var(unbiased=True)
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased in (None, True) else 0
    return dim, keepdim, correction


def _var_common(node_cls, a, dim, unbiased, keepdim, correction, take_sqrt):
    dim, keepdim, correction = _var_args(dim, unbiased, keepdim, correction)
    x = a._data
    if x.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dims = _dims(dim, x.ndim)
    n = 1
    for d in dims:
        n *= x.shape[d]
    data = x.var(axis=dims, ddof=correction, keepdims=keepdim)
    if take_sqrt:
        data = np.sqrt(data)
    out = wrap(data.astype(x.dtype, copy=False))
    node = record(node_cls, out, (a,))
    if node is not None:
        node._setup(x.shape, dims, keepdim)
        node.denom = n - correction if n > correction else 0
        node.full = dim is None or x.ndim == 0
        node.save(a, SavedOutput(out)) if take_sqrt else node.save(a)
    return out


def var(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_common(VarBackward0, a, dim, unbiased, keepdim, correction, False)


def std(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_common(StdBackward0, a, dim, unbiased, keepdim, correction, True)


def var_mean(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(a, dim, unbiased, keepdim, correction=correction), mean(a, dim, keepdim)


def std_mean(a, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(a, dim, unbiased, keepdim, correction=correction), mean(a, dim, keepdim)


class _EvenlyDistribute(_Reduction):
    """out = max/min(a) over dims  ->  g shared equally by the elements equal to out (ties)"""

    def backward(self, m, g):
        a, out = self.saved(m)
        g = _unreduce(m, g, self.shape, self.dims, self.keepdim)
        out = _unreduce(m, out, self.shape, self.dims, self.keepdim)
        mask = a == out
        count = m.sum(mask, self.dims, True)
        return g * mask / count


class MaxBackward1(_EvenlyDistribute):
    """out = max(a)  ->  g shared by the maximal elements (a 'gradient router')"""


class MinBackward1(_EvenlyDistribute):
    """out = min(a)  ->  g shared by the minimal elements"""


class AmaxBackward0(_EvenlyDistribute):
    """out = amax(a, dims)  ->  g shared by the maximal elements of each group"""


class AminBackward0(_EvenlyDistribute):
    """out = amin(a, dims)  ->  g shared by the minimal elements of each group"""


class _SelectAlongDim(Node):
    """out = a[index] along dim (max/min/median/sort...)  ->  g scattered back to `index`"""

    __slots__ = ("shape", "dim", "keepdim")

    def backward(self, m, g, *unused):
        (index,) = self.saved(m)
        if not self.shape:  # a 0-dim input: the selection is the identity
            return g
        if not self.keepdim:
            g = m.unsqueeze(g, self.dim)
            index = m.unsqueeze(index, self.dim)
        return m.scatter_zeros(self.shape, self.dim, index, g)


class MedianBackward0(_EvenlyDistribute):
    """out = median(a)  ->  g shared by the elements equal to the median (ties), as PyTorch"""


class MaxBackward0(_SelectAlongDim):
    pass


class MinBackward0(_SelectAlongDim):
    pass


class MedianBackward1(_SelectAlongDim):
    pass


class ModeBackward0(_SelectAlongDim):
    pass


class KthvalueBackward0(_SelectAlongDim):
    pass


_max_type = make_return_type("max", ("values", "indices"))
_min_type = make_return_type("min", ("values", "indices"))


def _whole_reduction(a, node_cls, npfn, name):
    x = a._data
    if x.size == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                           "== 0. Specify the reduction dim with the 'dim' argument.")
    out = wrap(npfn(x))
    node = record(node_cls, out, (a,))
    if node is not None:
        node._setup(x.shape, tuple(range(x.ndim)), False)
        node.save(a, SavedOutput(out))
    return out


def select_along(x, d, keepdim, argfn):
    """The values `argfn` picks along dim `d` of array `x`, and their indices (int64)."""
    idx = argfn(x, axis=d)
    idx_k = np.expand_dims(idx, d)
    values = np.take_along_axis(x, idx_k, axis=d)
    if not keepdim:
        values = values.squeeze(d)
    else:
        idx = idx_k
    return values, np.asarray(idx).astype(np.int64)


def _dim_selection(a, dim, keepdim, node_cls, argfn, result_type):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    if x.ndim == 0:  # as PyTorch: the value itself, recorded as the selection (MaxBackward0...)
        idx = np.zeros((), np.int64)
        values = x.copy()
    else:
        values, idx = select_along(x, d, keepdim, argfn)
    out = wrap(values)
    indices = wrap(idx)
    node = record(node_cls, out, (a,))
    if node is not None:
        node.shape, node.dim, node.keepdim = x.shape, d, keepdim
        node.save(indices)
    return result_type(out, indices)


def max(a, dim=None, keepdim=False, *, out=None):
    from .pointwise import maximum

    if isinstance(dim, Tensor):
        return maximum(a, dim)
    if dim is None:
        return _whole_reduction(a, MaxBackward1, np.max, "max")
    return _dim_selection(a, dim, keepdim, MaxBackward0, np.argmax, _max_type)


def min(a, dim=None, keepdim=False, *, out=None):
    from .pointwise import minimum

    if isinstance(dim, Tensor):
        return minimum(a, dim)
    if dim is None:
        return _whole_reduction(a, MinBackward1, np.min, "min")
    return _dim_selection(a, dim, keepdim, MinBackward0, np.argmin, _min_type)


def _amax_amin(a, dim, keepdim, node_cls, npfn):
    x = a._data
    dims = _dims(dim, x.ndim)
    out = wrap(npfn(x, axis=dims, keepdims=keepdim))
    node = record(node_cls, out, (a,))
    if node is not None:
        node._setup(x.shape, dims, keepdim)
        node.save(a, SavedOutput(out))
    return out


def amax(a, dim=(), keepdim=False):
    return _amax_amin(a, dim, keepdim, AmaxBackward0, np.max)


def amin(a, dim=(), keepdim=False):
    return _amax_amin(a, dim, keepdim, AminBackward0, np.min)


def aminmax(a, *, dim=None, keepdim=False):
    return make_return_type("aminmax", ("min", "max"))(
        amin(a, () if dim is None else dim, keepdim), amax(a, () if dim is None else dim, keepdim))


def _arg(a, dim, keepdim, npfn):
    x = a._data
    if dim is None:
        idx = npfn(x.reshape(-1))
        return wrap(np.asarray(idx, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ()))
    d = _errors.normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return wrap(np.zeros((), np.int64))
    return wrap(npfn(x, axis=d, keepdims=keepdim).astype(np.int64))


def argmax(a, dim=None, keepdim=False):
    return _arg(a, dim, keepdim, np.argmax)


def argmin(a, dim=None, keepdim=False):
    return _arg(a, dim, keepdim, np.argmin)


_median_type = make_return_type("median", ("values", "indices"))


def median(a, dim=None, keepdim=False):
    x = a._data
    if dim is None:
        flat = x.reshape(-1)
        k = (flat.size - 1) // 2
        lower_median = np.partition(flat, k)[k] if flat.size else np.nan
        return _whole_reduction(a, MedianBackward0, lambda arr: lower_median, "median")
    d = _errors.normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return _dim_selection(a, dim, keepdim, MedianBackward1, None, _median_type)
    k = (x.shape[d] - 1) // 2
    order = np.argsort(x, axis=d, kind="stable")
    idx = np.take(order, [k], axis=d).squeeze(d)
    return _dim_selection(a, dim, keepdim, MedianBackward1,
                          lambda arr, axis: idx, _median_type)


class LogsumexpBackward0(_Reduction):
    """out = log sum e^a  ->  da = g * e^(a - out)  (= g * softmax(a))"""

    def backward(self, m, g):
        a, out = self.saved(m)
        g = _unreduce(m, g, self.shape, self.dims, self.keepdim)
        out = _unreduce(m, out, self.shape, self.dims, self.keepdim)
        return g * m.exp(a - out)


def _logsumexp_array(x, dims, keepdim):
    mx = np.max(x, axis=dims, keepdims=True) if x.size else np.zeros_like(x)
    mx = np.where(np.isfinite(mx), mx, 0)
    s = np.log(np.sum(np.exp(x - mx), axis=dims, keepdims=True)) + mx
    return s if keepdim else s.squeeze(dims) if dims else s


def logsumexp(a, dim, keepdim=False):
    x = float_operand(a)
    dims = _dims(dim, x.ndim)
    out = wrap(_logsumexp_array(x, dims, keepdim).astype(x.dtype, copy=False))
    node = record(LogsumexpBackward0, out, (a,))
    if node is not None:
        node._setup(x.shape, dims, keepdim)
        node.save(a, SavedOutput(out))
    return out


def _softmax_dim(ndim, dim, name):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the "
                      "call to include dim=X as an argument.", UserWarning, stacklevel=4)
        return 0 if ndim in (0, 1, 3) else 1
    return _errors.normalize_dim(dim, ndim)


def _softmax_axes(ndim, dim, name):
    """The softmax dim as NumPy axes: () for a 0-d tensor, whose dim 0 names no axis."""
    d = _softmax_dim(ndim, dim, name)
    return (d,) if ndim else ()


class SoftmaxBackward0(Node):
    """out = e^a / sum e^a  ->  da = out * (g - sum(g * out))"""

    __slots__ = ("dim",)

    def backward(self, m, g):
        (out,) = self.saved(m)
        return out * (g - m.sum(g * out, self.dim, True))


class LogSoftmaxBackward0(Node):
    """out = a - logsumexp(a)  ->  da = g - e^out * sum(g)"""

    __slots__ = ("dim",)

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g - m.exp(out) * m.sum(g, self.dim, True)


def _softmax_input(a, dtype):
    x = a._data
    if dtype is not None:
        x = x.astype(_dtype.to_numpy_dtype(dtype))
    elif x.dtype.kind != "f":
        raise RuntimeError('"softmax_lastdim_kernel_impl" not implemented for '
                           f"'{a.dtype._torch_name[:-6]}'")
    return x


def softmax(a, dim=None, _stacklevel=3, dtype=None):
    x = _softmax_input(a, dtype)
    axes = _softmax_axes(x.ndim, dim, "softmax")
    e = np.exp(x - np.max(x, axis=axes, keepdims=True)) if x.size else x.copy()
    data = e / np.sum(e, axis=axes, keepdims=True)
    out = wrap(data)
    node = record(SoftmaxBackward0, out, (a,))
    if node is not None:
        node.dim = axes
        node.save(SavedOutput(out))
    return out


def log_softmax(a, dim=None, _stacklevel=3, dtype=None):
    x = _softmax_input(a, dtype)
    axes = _softmax_axes(x.ndim, dim, "log_softmax")
    out = wrap(x - _logsumexp_array(x, axes, True) if x.size else x.copy())
    node = record(LogSoftmaxBackward0, out, (a,))
    if node is not None:
        node.dim = axes
        node.save(SavedOutput(out))
    return out


class CumsumBackward0(Node):
    """out_i = sum_{j<=i} a_j  ->  da_j = sum_{i>=j} g_i (a reversed cumsum)"""

    __slots__ = ("dim",)

    def backward(self, m, g):
        if self.dim is None:  # a 0-d input: out = a
            return g
        return m.flip(m.cumsum(m.flip(g, (self.dim,)), self.dim), (self.dim,))


def cumsum(a, dim, *, dtype=None):
    x = a._data
    if dtype is not None:
        x = x.astype(_dtype.to_numpy_dtype(dtype))
    elif x.dtype.kind in "biu":
        x = x.astype(np.int64)
    d = _errors.normalize_dim(dim, x.ndim)
    out = wrap(np.cumsum(x, axis=d) if x.ndim else x.copy())
    node = record(CumsumBackward0, out, (a,))
    if node is not None:
        node.dim = d if x.ndim else None
    return out


class LinalgVectorNormBackward0(_Reduction):
    """out = (sum |a|^p)^(1/p)  ->  da = g * a|a|^(p-2) / out^(p-1)  (0 where out == 0)"""

    __slots__ = ("p",)

    def backward(self, m, g):
        a, out = self.saved(m)
        g = _unreduce(m, g, self.shape, self.dims, self.keepdim)
        out = _unreduce(m, out, self.shape, self.dims, self.keepdim)
        p = self.p
        if p == 2:
            scaled = a / out
        elif p == 1:
            return g * m.sign(a)
        else:
            scaled = a * m.abs(a) ** (p - 2) / out ** (p - 1)
        return g * m.where(out == 0, 0.0, scaled)


def norm(a, p="fro", dim=None, keepdim=False, dtype=None):
    if p in ("fro", None):
        p = 2
    if isinstance(p, str):
        raise RuntimeError(f"norm with p='{p}' is not supported")
    x = float_operand(a)
    dims = _dims(dim, x.ndim)
    if p == np.inf:
        return amax(a.abs(), dims if dim is not None else (), keepdim)
    data = np.sum(np.abs(x) ** p, axis=dims, keepdims=keepdim) ** (1.0 / p)
    out = wrap(data.astype(x.dtype, copy=False))
    node = record(LinalgVectorNormBackward0, out, (a,))
    if node is not None:
        node._setup(x.shape, dims, keepdim)
        node.p = p
        node.save(a, SavedOutput(out))
    return out


def all(a, dim=None, keepdim=False):
    x = a._data
    return wrap(np.all(x, axis=None if dim is None else _dims(dim, x.ndim), keepdims=keepdim))


def any(a, dim=None, keepdim=False):
    x = a._data
    return wrap(np.any(x, axis=None if dim is None else _dims(dim, x.ndim), keepdims=keepdim))


def count_nonzero(a, dim=None):
    x = a._data
    return wrap(np.asarray(np.count_nonzero(x, axis=None if dim is None else _dims(dim, x.ndim)),
                           dtype=np.int64))

