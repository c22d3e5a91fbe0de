"""Reductions (sum, mean, max...) and the normalizations built on them (softmax, logsumexp).

A reduction's backward first restores the reduced dims (`_unreduce`), then applies its rule.
"""
from __future__ import annotations

import builtins
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
    saved_attrs = {"self_sym_sizes": "shape"}

    def backward(self, m, g):
        return m.expand(_unreduce(m, g, self.shape, self.dims, self.keepdim), self.shape)


class SumBackward1(SumBackward0):
    """out = sum(a, dims)  ->  da = g broadcast back over dims"""
    saved_attrs = {"dim": "dims", "keepdim": "keepdim", "self_sym_sizes": "shape"}


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
    saved_attrs = {"self_sym_numel": "count", "self_sym_sizes": "shape"}  # count: every element

    __slots__ = ("count",)

    def backward(self, m, g):
        g = _unreduce(m, g, self.shape, self.dims, self.keepdim)
        return m.expand(g / self.count, self.shape)


class MeanBackward1(MeanBackward0):
    """out = mean(a, dims)  ->  da = g/N broadcast back over dims"""
    saved_attrs = {"dim": "dims", "keepdim": "keepdim", "self_sym_sizes": "shape",
                   "self_sym_numel": lambda node: int(np.prod(node.shape))}


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
    saved_fields = ("self", "result")

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
    zero_tangent_where_zero = True

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
    saved_fields = ("self", "result")


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
    saved_fields = ("indices",)
    saved_attrs = {"dim": "dim", "keepdim": "keepdim", "self_sym_sizes": "shape"}
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


def _whole_reduction(a, node_cls, npfn, name, empty_ok=False):
    x = a._data
    if x.size == 0 and not empty_ok:
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
        return _whole_reduction(a, MedianBackward0, lambda arr: np.asarray(lower_median, x.dtype),
                                "median", empty_ok=x.dtype.kind == "f")  # empty: nan
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
    saved_fields = ("self", "result")
    saved_attrs = {"dim": "dims", "keepdim": "keepdim"}

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
    saved_fields = ("result",)
    saved_attrs = {"dim": lambda node: node.dim[0]}

    __slots__ = ("dim",)

    def backward(self, m, g):
        (out,) = self.saved(m)
        return out * (g - m.sum(g * out, self.dim, True))


class LogSoftmaxBackward0(Node):
    """out = a - logsumexp(a)  ->  da = g - e^out * sum(g)"""
    saved_fields = ("result",)
    saved_attrs = {"dim": lambda node: node.dim[0]}

    __slots__ = ("dim",)

    def backward(self, m, g):
        (out,) = self.saved(m)
        return g - m.exp(out) * m.sum(g, self.dim, True)


def _softmax_input(a, dtype, kernel="softmax"):
    x = a._data
    if dtype is not None:
        x = x.astype(_dtype.to_numpy_dtype(dtype))
    elif x.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}_lastdim_kernel_impl" not implemented for '
                                  f"'{a.dtype._torch_name[:-6]}'")
    return x


def softmax(a, dim=None, _stacklevel=3, dtype=None):
    x = _softmax_input(a, dtype)
    axes = _softmax_axes(x.ndim, dim, "softmax")
    with np.errstate(invalid="ignore"):  # a row of -inf gives nan, silently as in PyTorch
        e = np.exp(x - np.max(x, axis=axes, keepdims=True)) if x.size else x.copy()
        data = e / np.sum(e, axis=axes, keepdims=True)
    out = wrap(data)
    node = record(SoftmaxBackward0, out, (a,))
    if node is not None:
        node.dim = axes
        node.save(SavedOutput(out))
    return out


def log_softmax(a, dim=None, _stacklevel=3, dtype=None):
    x = _softmax_input(a, dtype, "log_softmax")
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
    zero_tangent_where_zero = True

    __slots__ = ("p",)

    def backward(self, m, g):
        a, out = self.saved(m)
        g = _unreduce(m, g, self.shape, self.dims, self.keepdim)
        out = _unreduce(m, out, self.shape, self.dims, self.keepdim)
        p = self.p
        if p == 0:  # a count of nonzeros: no gradient (PyTorch leaves .grad None)
            return None
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
    if p == -np.inf:
        return amin(a.abs(), dims if dim is not None else (), keepdim)
    if p == 0:
        data = np.count_nonzero(x, axis=dims, keepdims=keepdim)
    else:
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



# -- cumulative ops ---------------------------------------------------------------------------------
def _cum_input(a, dim, dtype, name):
    x = a._data
    if dtype is not None:
        x = x.astype(_dtype.to_numpy_dtype(dtype))
    elif x.dtype.kind in "biu":
        x = x.astype(np.int64)
    d = _errors.normalize_dim(dim, x.ndim)
    return x, d


def _rev_cumsum(m, g, d):
    return m.flip(m.cumsum(m.flip(g, (d,)), d), (d,))


class CumprodBackward0(Node):
    """out_i = prod_{j<=i} a_j  ->  da_j = sum_{i>=j} g_i * prod_{k<=i, k!=j} a_k"""

    __slots__ = ("dim",)

    def backward(self, m, g):
        a, out = self.saved(m)
        d = self.dim
        if d is None:
            return g
        if bool(m.all(a != 0)):
            return _rev_cumsum(m, g * out, d) / a
        # zeros: for each j, the cumulative product with a_j replaced by 1 (O(n^2) memory)
        nd = len(a.shape)
        n = a.shape[d]
        perm = [i for i in range(nd) if i != d] + [d]
        inv = list(np.argsort(perm))
        at = m.permute(a, perm)
        gt = m.permute(g, perm)
        eye = np.eye(n, dtype=bool)
        rows = m.where(eye, 1.0, m.unsqueeze(at, -2))             # [..., j, k]
        cp = cumprod(rows, -1) if m.tensor_mode else np.cumprod(rows, -1)  # [..., j, i]
        later = np.triu(np.ones((n, n), dtype=bool))               # i >= j
        terms = m.where(later, cp * m.unsqueeze(gt, -2), 0.0)
        return m.permute(m.sum(terms, (nd,), False), inv)


def cumprod(a, dim, *, dtype=None, out=None):
    x, d = _cum_input(a, dim, dtype, "cumprod")
    res = wrap(np.cumprod(x, axis=d) if x.ndim else x.copy())
    node = record(CumprodBackward0, res, (a,))
    if node is not None:
        node.dim = d if x.ndim else None
        node.save(a, SavedOutput(res))
    return res


class CummaxBackward0(Node):
    """out_i = max_{j<=i} a_j  ->  g_i goes to the element whose value out_i is"""

    __slots__ = ("dim", "shape")

    def backward(self, m, g, *unused):
        (index,) = self.saved(m)
        if self.dim is None:
            return g
        return m.scatter_zeros(self.shape, self.dim, index, g)


class CumminBackward0(CummaxBackward0):
    """out_i = min_{j<=i} a_j  ->  g_i goes to the element whose value out_i is"""


def _cum_extreme(a, dim, ufunc, node_cls, name):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        values, idx = x.copy(), np.zeros((), np.int64)
    elif x.size == 0:
        values, idx = x.copy(), np.zeros(x.shape, np.int64)
    else:
        values = ufunc.accumulate(x, axis=d)
        if x.dtype.kind == "f":  # nan propagates, as PyTorch
            nan_seen = np.logical_or.accumulate(np.isnan(x), axis=d)
            values = np.where(nan_seen, np.nan, values).astype(x.dtype)
        shape = [1] * x.ndim
        shape[d] = x.shape[d]
        pos = np.arange(x.shape[d]).reshape(shape)
        hit = (x == values) | (np.isnan(x) if x.dtype.kind == "f" else False)
        idx = np.maximum.accumulate(np.where(hit, pos, 0), axis=d).astype(np.int64)
    out, indices = wrap(values), wrap(idx)
    node = record(node_cls, out, (a,))
    if node is not None:
        node.dim = d if x.ndim else None
        node.shape = x.shape
        node.save(indices)
    return make_return_type(name, ("values", "indices"))(out, indices)


def cummax(a, dim):
    return _cum_extreme(a, dim, np.maximum, CummaxBackward0, "cummax")


def cummin(a, dim):
    return _cum_extreme(a, dim, np.minimum, CumminBackward0, "cummin")


class LogcumsumexpBackward0(Node):
    """out_i = ln sum_{j<=i} e^a_j  ->  da_j = sum_{i>=j} g_i e^(a_j - out_i)"""

    __slots__ = ("dim",)

    def backward(self, m, g):
        a, out = self.saved(m)
        d = self.dim
        if d is None:
            return g
        # shifted by the last (largest) out so that the exponentials stay finite
        top = m.getitem(out, (slice(None),) * d + (slice(-1, None),))
        return m.exp(a - top) * _rev_cumsum(m, g * m.exp(top - out), d)


def logcumsumexp(a, dim):
    x = float_operand(a)
    d = _errors.normalize_dim(dim, x.ndim)
    data = np.logaddexp.accumulate(x, axis=d) if x.ndim else x.copy()
    out = wrap(np.asarray(data, dtype=x.dtype))
    node = record(LogcumsumexpBackward0, out, (a,))
    if node is not None:
        node.dim = d if x.ndim else None
        node.save(a, SavedOutput(out))
    return out


# -- nan-aware, order statistics ------------------------------------------------------------------
def nanmean(a, dim=None, keepdim=False, *, dtype=None):
    from .pointwise import isnan, logical_not
    from .arith import div

    if a._data.dtype.kind != "f":
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {a.dtype._torch_name[:-6]}")
    count = sum(logical_not(isnan(a)), dim, keepdim)
    return div(nansum(a, dim, keepdim, dtype=dtype), count)


_mode_type = make_return_type("mode", ("values", "indices"))
_kth_type = make_return_type("kthvalue", ("values", "indices"))


def _mode_along(x, d):
    """Most frequent value along d (smallest among ties) and the last index where it occurs."""
    moved = np.moveaxis(x, d, -1)
    flat = moved.reshape(-1, moved.shape[-1]) if moved.shape[-1] else moved.reshape(-1, 0)
    vals = np.empty(flat.shape[0], x.dtype)
    idx = np.empty(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        u, counts = np.unique(row, return_counts=True)
        v = u[np.argmax(counts)]
        vals[r] = v
        idx[r] = np.nonzero(row == v)[0][-1]
    shape = moved.shape[:-1]
    return vals.reshape(shape), idx.reshape(shape)


def mode(a, dim=-1, keepdim=False):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return _dim_selection(a, dim, keepdim, ModeBackward0, None, _mode_type)
    vals, idx = _mode_along(x, d)
    return _dim_selection(a, dim, keepdim, ModeBackward0, lambda arr, axis: idx, _mode_type)


def kthvalue(a, k, dim=-1, keepdim=False):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if x.ndim == 0:
        return _dim_selection(a, dim, keepdim, KthvalueBackward0, None, _kth_type)
    order = np.argsort(x, axis=d, kind="stable")
    idx = np.take(order, [k - 1], axis=d).squeeze(d)
    return _dim_selection(a, dim, keepdim, KthvalueBackward0, lambda arr, axis: idx, _kth_type)


def nanmedian(a, dim=None, keepdim=False):
    x = a._data
    if x.dtype.kind != "f" or not np.isnan(x).any():
        return median(a, dim, keepdim)
    if dim is None:
        flat = x.reshape(-1)
        valid = flat[~np.isnan(flat)]
        k = (valid.size - 1) // 2
        value = np.sort(valid)[k] if valid.size else np.nan
        return _whole_reduction(a, MedianBackward0, lambda arr: np.asarray(value, x.dtype),
                                "nanmedian")
    d = _errors.normalize_dim(dim, x.ndim)
    counts = np.sum(~np.isnan(x), axis=d, keepdims=True)
    order = np.argsort(np.where(np.isnan(x), np.inf, x), axis=d, kind="stable")
    k = np.maximum((counts - 1) // 2, 0)
    idx = np.take_along_axis(order, k, axis=d).squeeze(d)
    return _dim_selection(a, dim, keepdim, MedianBackward1, lambda arr, axis: idx,
                          make_return_type("nanmedian", ("values", "indices")))


def msort(a):
    from .shape import sort

    return sort(a, 0).values


def _quantile(a, q, dim, keepdim, interpolation, ignore_nan, name):
    from .shape import sort, reshape, flatten
    from .pointwise import lerp
    from .arith import add, mul

    x = a._data
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    scalar_q = not isinstance(q, Tensor)
    qs = np.atleast_1d(np.asarray(q._data if not scalar_q else q, dtype=np.float64))
    if isinstance(q, Tensor) and q._data.dtype != x.dtype:
        raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
    if isinstance(q, Tensor) and q._data.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
    if np.any((qs < 0) | (qs > 1)):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest. Got {interpolation}")
    if dim is None:
        src = flatten(a)
        d = 0
    else:
        d = _errors.normalize_dim(dim, x.ndim)
        src = a if x.ndim else reshape(a, (1,))
    values = sort(src, d).values  # nan sorts last
    n = src._data.shape[d]
    sx = values._data
    if ignore_nan:
        valid = np.sum(~np.isnan(sx), axis=d, keepdims=True)
    else:
        valid = np.full(np.sum(sx, axis=d, keepdims=True).shape, n)
    outs = []
    for qv in qs:
        rank = qv * (valid - 1)
        lo = np.floor(rank).astype(np.int64)
        hi = np.ceil(rank).astype(np.int64)
        if interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        elif interpolation == "nearest":
            lo = hi = np.round(rank).astype(np.int64)  # round half to even, as PyTorch
        lo = np.clip(lo, 0, builtins.max(n - 1, 0))
        hi = np.clip(hi, 0, builtins.max(n - 1, 0))
        gathered_lo = values.gather(d, wrap(lo))
        gathered_hi = values.gather(d, wrap(hi))
        if interpolation == "midpoint":
            res = mul(add(gathered_lo, gathered_hi), 0.5)
        elif interpolation == "linear":
            w = (rank - lo).astype(x.dtype)
            res = lerp(gathered_lo, gathered_hi, wrap(w))
        else:
            res = gathered_lo
        if not ignore_nan:  # a nan anywhere in the group makes the quantile nan
            has_nan = np.isnan(sx).any(axis=d, keepdims=True)
            if has_nan.any():
                from .pointwise import where
                res = where(wrap(has_nan), float("nan"), res)
        elif (valid == 0).any():
            from .pointwise import where
            res = where(wrap(valid == 0), float("nan"), res)
        if keepdim and dim is None:
            res = reshape(res, (1,) * x.ndim)
        elif not keepdim:
            res = res.squeeze(d)
            if dim is not None and x.ndim == 0:
                res = reshape(res, ())
        outs.append(res)
    if scalar_q or (isinstance(q, Tensor) and q._data.ndim == 0):
        return outs[0]
    from .shape import stack

    return stack(outs, 0)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


# -- differences, statistics ----------------------------------------------------------------------
def diff(input, n=1, dim=-1, prepend=None, append=None):
    from .shape import cat, narrow
    from .arith import sub
    from .pointwise import logical_xor

    x = input._data
    if x.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = _errors.normalize_dim(dim, x.ndim)
    parts = [t if t._data.ndim else t.expand(*[1 if i == d else s for i, s in enumerate(x.shape)])
             for t in (prepend, input, append) if t is not None]
    a = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        size = a._data.shape[d]
        if size == 0:
            break
        hi, lo = narrow(a, d, 1, size - 1), narrow(a, d, 0, size - 1)
        a = logical_xor(hi, lo) if a._data.dtype == np.bool_ else sub(hi, lo)
    return a


def cov(input, *, correction=1, fweights=None, aweights=None):
    from .arith import sub, div, mul
    from .linalg import matmul
    from .shape import reshape, mT

    x = input._data
    if x.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input "
                           f"with {x.ndim} dimensions")
    a = reshape(input, (1, -1)) if x.ndim < 2 else input
    if a._data.dtype.kind != "f":
        from .shape import to_dtype
        a = to_dtype(a, _dtype.get_default_dtype())
    if fweights is not None or aweights is not None:
        w = None
        if fweights is not None:
            w = fweights
        if aweights is not None:
            w = aweights if w is None else mul(w, aweights)
        w_sum = sum(w)
        avg = div(sum(mul(a, w), 1, True), w_sum)
        if aweights is None:
            norm_factor = sub(w_sum, correction)
        else:
            norm_factor = sub(w_sum, div(mul(sum(mul(w, aweights)), correction), w_sum))
        centered = sub(a, avg)
        c = matmul(mul(centered, w), mT(centered))
        out = div(c, norm_factor)
    else:
        n = a._data.shape[1]
        centered = sub(a, mean(a, 1, True))
        out = div(matmul(centered, mT(centered)), builtins.max(n - correction, 0))
    return out.squeeze() if x.ndim < 2 or out._data.shape == (1, 1) else out


def corrcoef(input):
    from .arith import div
    from .pointwise import sqrt, clamp
    from .shape import diagonal_

    c = cov(input)
    if c._data.ndim == 0:
        return div(c, c)
    dg = diagonal_(c)
    sd = sqrt(dg)
    c = div(div(c, sd.unsqueeze(1)), sd.unsqueeze(0))
    return clamp(c, -1, 1)


def dist(input, other, p=2):
    from .arith import sub

    return norm(sub(input, other), p)


# -- counting, histograms, uniqueness, searching (no gradients) ---------------------------------
def bincount(input, weights=None, minlength=0):
    x = input._data
    if x.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if x.dtype.kind not in "iub":
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if x.size and x.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return wrap(np.bincount(x, minlength=minlength).astype(np.int64))
    w = weights._data
    out_dtype = w.dtype if w.dtype.kind == "f" else np.float64
    return wrap(np.bincount(x, weights=w, minlength=minlength).astype(out_dtype))


def histc(input, bins=100, min=0, max=0):
    x = input._data
    if x.dtype.kind != "f":
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{input.dtype._torch_name[:-6]}'")
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    counts, _ = np.histogram(x[(x >= lo) & (x <= hi)], bins=bins, range=(lo, hi))
    return wrap(counts.astype(x.dtype))


def histogram(input, bins=100, *, range=None, weight=None, density=False):
    x = input._data
    w = None if weight is None else weight._data
    b = bins._data if isinstance(bins, Tensor) else bins
    hist, edges = np.histogram(x, bins=b, range=range, weights=w, density=density)
    return make_return_type("histogram", ("hist", "bin_edges"))(
        wrap(hist.astype(x.dtype)), wrap(edges.astype(x.dtype)))


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    x = input._data
    res = np.unique(x, return_inverse=True, return_counts=True, axis=dim)
    values, inverse, counts = res
    if dim is None:
        inverse = inverse.reshape(x.shape)
    out = [wrap(values)]
    if return_inverse:
        out.append(wrap(inverse.astype(np.int64)))
    if return_counts:
        out.append(wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    x = input._data
    if dim is None:
        flat = x.reshape(-1)
        if flat.size == 0:
            starts = np.zeros(0, bool)
        else:
            starts = np.concatenate([[True], flat[1:] != flat[:-1]])
        values = flat[starts]
        inverse = (np.cumsum(starts) - 1).reshape(x.shape)
        bounds = np.flatnonzero(starts)
        counts = np.diff(np.append(bounds, flat.size))
    else:
        d = _errors.normalize_dim(dim, x.ndim)
        moved = np.moveaxis(x, d, 0)
        n = moved.shape[0]
        if n == 0:
            starts = np.zeros(0, bool)
        else:
            change = np.any((moved[1:] != moved[:-1]).reshape(n - 1, -1), axis=1)
            starts = np.concatenate([[True], change])
        values = np.moveaxis(moved[starts], 0, d)
        inverse = np.cumsum(starts) - 1
        bounds = np.flatnonzero(starts)
        counts = np.diff(np.append(bounds, n))
    out = [wrap(values)]
    if return_inverse:
        out.append(wrap(inverse.astype(np.int64)))
    if return_counts:
        out.append(wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def argwhere(input):
    return wrap(np.argwhere(input._data).astype(np.int64))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    seq = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    vals = np.asarray(input) if scalar else input._data
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    how = "right" if right else "left"
    srt = None if sorter is None else sorter._data
    if seq.ndim <= 1:
        s = seq if srt is None else seq[srt]
        res = np.searchsorted(s, vals, side=how)
    else:
        if vals.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or "
                               "the first N-1 dimensions of boundaries tensor and input value "
                               "tensor must match, but we got boundaries tensor "
                               f"{list(seq.shape)} and input value tensor {list(vals.shape)}")
        s2 = seq.reshape(-1, seq.shape[-1])
        if srt is not None:
            s2 = np.take_along_axis(s2, srt.reshape(s2.shape), -1)
        v2 = vals.reshape(-1, vals.shape[-1])
        res = np.stack([np.searchsorted(s2[i], v2[i], side=how) for i in range(s2.shape[0])])
        res = res.reshape(vals.shape)
    return wrap(np.asarray(res, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    b = boundaries._data
    if b.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    vals = input._data if isinstance(input, Tensor) else np.asarray(input)
    res = np.searchsorted(b, vals, side="right" if right else "left")
    return wrap(np.asarray(res, dtype=np.int32 if out_int32 else np.int64))
