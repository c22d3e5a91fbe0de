"""Differentiable primitives, grouped by kind, and the table that makes them Tensor methods.

To add an op: write its node class (derivative in the docstring, `backward`) and its forward
function in the module of its kind, then add it to METHODS below if it is a Tensor method.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._core import wrap, binary  # noqa: F401
from . import arith, pointwise, reduce, linalg, shape, inplace
from .arith import *  # noqa: F401,F403
from .pointwise import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403


def sum_to(a, shape):
    """Sum `a` down to `shape` (undoing broadcasting); differentiable."""
    from ..autograd.math import _sum_to_axes

    shape = tuple(shape)
    if a._data.shape == shape:
        return a
    axes = _sum_to_axes(a._data.shape, shape)
    out = reduce.sum(a, axes, True) if axes else a
    return shape_mod.reshape(out, shape) if out._data.shape != shape else out


shape_mod = shape


def _sum_to_size(a, *size):
    return sum_to(a, shape._shape_arg(size))


def _swap(fn):
    def reflected(a, b):
        return fn(b, a)

    return reflected


def _size_method(a, dim=None):
    return Tensor.size(a, dim)


def _max_method(a, dim=None, keepdim=False):
    return reduce.max(a, dim, keepdim)


def _new_tensor(a, data, dtype=None, device=None, requires_grad=False):
    from ..creation import tensor

    return tensor(data, dtype=dtype or a.dtype, requires_grad=requires_grad)


def _new_filled(fill):
    def new(a, *size, dtype=None, device=None, requires_grad=False):
        size = shape._shape_arg(size)
        data = np.full(size, fill, dtype=(dtype.np if dtype is not None else a._data.dtype))
        out = wrap(data)
        out._requires_grad = requires_grad
        return out

    return new


def _new_full(a, size, fill_value, dtype=None, device=None, requires_grad=False):
    return _new_filled(fill_value)(a, size, dtype=dtype, requires_grad=requires_grad)


def _to(a, *args, dtype=None, device=None, copy=False, non_blocking=False, **kwargs):
    """`to(dtype)`, `to(device)`, `to(other)`, `to(device, dtype)`."""
    from .. import _dtype
    from ..tensor import _check_device

    for arg in args:
        if isinstance(arg, _dtype.dtype):
            dtype = arg
        elif isinstance(arg, Tensor):
            dtype = arg.dtype
        else:
            _check_device(arg)
    _check_device(device)
    if dtype is None:
        return a.clone() if copy else a
    return shape.to_dtype(a, dtype, copy)


def _cast_method(dtype_name):
    def cast(a, memory_format=None):
        from .. import _dtype

        return shape.to_dtype(a, getattr(_dtype, dtype_name))

    return cast


def _getitem(a, key):
    return shape.getitem(a, key)


def _unsupported_inplace(a, other):
    raise TypeError("unsupported operand")


METHODS = {
    # arithmetic
    "add": arith.add, "sub": arith.sub, "subtract": arith.sub, "mul": arith.mul,
    "multiply": arith.mul, "div": arith.div, "divide": arith.div, "true_divide": arith.div,
    "pow": arith.pow, "neg": arith.neg, "negative": arith.neg, "square": arith.square,
    "abs": arith.abs, "absolute": arith.abs, "sign": arith.sign, "reciprocal": arith.reciprocal,
    "remainder": arith.remainder, "fmod": arith.remainder, "floor_divide": arith.floor_divide,
    # pointwise
    "exp": pointwise.exp, "expm1": pointwise.expm1, "log": pointwise.log,
    "log2": pointwise.log2, "log10": pointwise.log10, "log1p": pointwise.log1p,
    "sqrt": pointwise.sqrt, "rsqrt": pointwise.rsqrt, "sin": pointwise.sin,
    "cos": pointwise.cos, "tan": pointwise.tan, "tanh": pointwise.tanh,
    "sigmoid": pointwise.sigmoid, "relu": pointwise.relu, "clamp": pointwise.clamp,
    "clip": pointwise.clamp, "maximum": pointwise.maximum, "minimum": pointwise.minimum,
    "where": lambda a, cond, other: pointwise.where(cond, a, other),
    "masked_fill": pointwise.masked_fill, "floor": pointwise.floor, "ceil": pointwise.ceil,
    "round": pointwise.round, "trunc": pointwise.trunc, "erf": pointwise.erf,
    "clamp_min": pointwise.clamp_min, "clamp_max": pointwise.clamp_max,
    "eq": pointwise.eq, "ne": pointwise.ne, "lt": pointwise.lt, "le": pointwise.le,
    "gt": pointwise.gt, "ge": pointwise.ge, "greater": pointwise.gt, "less": pointwise.lt,
    "logical_and": pointwise.logical_and, "logical_or": pointwise.logical_or,
    "logical_not": pointwise.logical_not, "logical_xor": pointwise.logical_xor,
    "isnan": pointwise.isnan, "isinf": pointwise.isinf, "isfinite": pointwise.isfinite,
    "equal": pointwise.equal, "allclose": pointwise.allclose, "isclose": pointwise.isclose,
    "bitwise_not": pointwise.bitwise_not, "heaviside": pointwise.heaviside,
    # reductions
    "sum": reduce.sum, "nansum": reduce.nansum, "mean": reduce.mean, "prod": reduce.prod,
    "var": reduce.var, "std": reduce.std, "max": _max_method, "min": reduce.min,
    "amax": reduce.amax, "amin": reduce.amin, "aminmax": reduce.aminmax,
    "argmax": reduce.argmax, "argmin": reduce.argmin, "median": reduce.median,
    "logsumexp": reduce.logsumexp, "softmax": reduce.softmax, "log_softmax": reduce.log_softmax,
    "cumsum": reduce.cumsum, "norm": reduce.norm, "all": reduce.all, "any": reduce.any,
    "count_nonzero": reduce.count_nonzero,
    # linear algebra
    "matmul": linalg.matmul, "mm": linalg.mm, "bmm": linalg.bmm, "mv": linalg.mv,
    "dot": linalg.dot, "inner": linalg.dot, "outer": linalg.outer, "addmm": linalg.addmm,
    # shape
    "reshape": shape.reshape, "view": shape.view, "view_as": shape.view_as,
    "reshape_as": shape.reshape_as, "flatten": shape.flatten, "unflatten": shape.unflatten,
    "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze, "transpose": shape.transpose,
    "swapaxes": shape.transpose, "swapdims": shape.transpose, "t": shape.t,
    "permute": shape.permute, "movedim": shape.movedim, "moveaxis": shape.movedim,
    "expand": shape.expand, "expand_as": shape.expand_as, "broadcast_to": shape.broadcast_to,
    "repeat": shape.repeat, "tile": shape.tile, "repeat_interleave": shape.repeat_interleave,
    "split": shape.split, "chunk": shape.chunk, "unbind": shape.unbind,
    "tensor_split": shape.tensor_split, "gather": shape.gather, "scatter": shape.scatter,
    "scatter_add": shape.scatter_add, "index_select": shape.index_select,
    "masked_select": shape.masked_select, "narrow": shape.narrow, "select": shape.select,
    "take": shape.take, "take_along_dim": shape.take_along_dim, "index_put": shape.index_put,
    "flip": shape.flip, "fliplr": shape.fliplr, "flipud": shape.flipud, "roll": shape.roll,
    "tril": shape.tril, "triu": shape.triu, "clone": shape.clone,
    "contiguous": shape.contiguous, "diag": shape.diag, "diagonal": shape.diagonal_,
    "trace": shape.trace, "sort": shape.sort, "argsort": shape.argsort, "topk": shape.topk,
    "nonzero": shape.nonzero, "sum_to_size": _sum_to_size,
    # conversions
    "to": _to, "float": _cast_method("float32"), "double": _cast_method("float64"),
    "half": _cast_method("float16"), "long": _cast_method("int64"), "int": _cast_method("int32"),
    "short": _cast_method("int16"), "char": _cast_method("int8"), "byte": _cast_method("uint8"),
    "bool": _cast_method("bool_"), "type_as": lambda a, other: shape.to_dtype(a, other.dtype),
    "new_tensor": _new_tensor, "new_zeros": _new_filled(0), "new_ones": _new_filled(1),
    "new_empty": _new_filled(0), "new_full": _new_full,
    # in place
    "add_": inplace.add_, "sub_": inplace.sub_, "mul_": inplace.mul_, "div_": inplace.div_,
    "pow_": inplace.pow_, "fill_": inplace.fill_, "zero_": inplace.zero_,
    "copy_": inplace.copy_, "clip_": inplace.clip_, "clamp_min_": inplace.clamp_min_,
    "clamp_max_": inplace.clamp_max_, "addcmul_": inplace.addcmul_,
    "addcdiv_": inplace.addcdiv_, "lerp_": inplace.lerp_,
    "subtract_": inplace.sub_, "multiply_": inplace.mul_, "divide_": inplace.div_,
    "fill_diagonal_": inplace.fill_diagonal_,
}
for _name in ["neg", "abs", "sign", "square", "reciprocal", "exp", "log", "sqrt", "rsqrt", "sin",
              "cos", "tanh", "sigmoid", "relu", "clamp", "floor", "ceil", "round", "trunc",
              "log1p", "expm1", "masked_fill", "remainder", "tril", "triu", "scatter",
              "scatter_add", "index_put"]:
    METHODS[_name + "_"] = getattr(inplace, _name + "_")


# -- more methods: special functions, cumulative ops, statistics, linear algebra, indexed writes
def _method_table():
    table = {}
    for name in ["sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin",
                 "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "exp2", "erfc", "erfinv",
                 "deg2rad", "rad2deg", "sinc", "lgamma", "digamma", "frac", "sgn", "fix",
                 "positive", "signbit", "isposinf", "isneginf", "isreal", "atan2", "arctan2",
                 "hypot", "logaddexp", "logaddexp2", "xlogy", "copysign", "logit", "nan_to_num",
                 "lerp", "addcmul", "addcdiv", "gcd", "lcm", "bitwise_and", "bitwise_or",
                 "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "fmax", "fmin",
                 "tan"]:
        table[name] = getattr(pointwise, name)
    table["polygamma"] = lambda a, n: pointwise.polygamma(n, a)
    table["fmod"] = arith.fmod
    table["float_power"] = arith.float_power
    for name in ["cumprod", "cummax", "cummin", "logcumsumexp", "nanmean", "mode", "kthvalue",
                 "nanmedian", "msort", "quantile", "nanquantile", "diff", "cov", "corrcoef",
                 "dist", "bincount", "histc", "unique", "unique_consecutive", "argwhere"]:
        table[name] = getattr(reduce, name)
    for name in ["kron", "baddbmm", "addbmm", "addmv", "addr", "det", "inverse", "logdet",
                 "slogdet", "cholesky", "pinverse", "matrix_power", "matrix_exp"]:
        table[name] = getattr(linalg, name)
    table["cross"] = lambda a, other, dim=None: linalg.cross(a, other, dim)
    table["svd"] = linalg.svd_legacy
    table["qr"] = linalg.qr_legacy
    for name in ["unfold", "as_strided", "index_add", "index_copy", "index_fill",
                 "masked_scatter", "scatter_reduce", "diag_embed", "diagflat", "rot90", "ravel",
                 "narrow_copy", "select_scatter", "slice_scatter", "diagonal_scatter", "put",
                 "hsplit", "vsplit", "dsplit"]:
        table[name] = getattr(shape, name)
    table.update(inplace.MORE_INPLACE)
    table["absolute_"] = inplace.abs_
    table["square_"] = inplace.square_
    table["__lshift__"] = pointwise.bitwise_left_shift
    table["__rshift__"] = pointwise.bitwise_right_shift
    # storage and bookkeeping
    table["flip"] = lambda a, *dims: shape.flip(a, dims[0] if len(dims) == 1 else dims)
    table["storage_offset"] = _storage_offset
    table["nbytes"] = property(lambda a: a._data.nbytes)
    table["itemsize"] = property(lambda a: a._data.itemsize)
    table["apply_"] = _apply_
    table["map_"] = _map_
    table["is_signed"] = lambda a: a._data.dtype.kind in "if"
    table["is_nonzero"] = _is_nonzero
    table["conj"] = table["resolve_conj"] = table["resolve_neg"] = lambda a: a
    table["conj_physical"] = lambda a: a
    table["is_conj"] = table["is_neg"] = lambda a: False
    table["pin_memory"] = table["share_memory_"] = lambda a, *args: a
    table["is_pinned"] = table["is_shared"] = lambda a, *args: False
    for name in ("is_meta", "is_sparse", "is_quantized", "is_mkldnn", "is_nested"):
        table[name] = property(lambda a: False)
    table["is_cpu"] = property(lambda a: True)
    return table


def _storage_offset(a):
    from .shape import _root_offset

    return _root_offset(a._data)[1]


def _apply_(a, fn):
    flat = a._data.reshape(-1)
    for i, v in enumerate(flat.tolist()):
        flat[i] = fn(v)
    if not np.shares_memory(flat, a._data):
        a._data[...] = flat.reshape(a._data.shape)
    a._vc[0] += 1
    return a


def _map_(a, other, fn):
    b = np.broadcast_to(other._data, a._data.shape).reshape(-1).tolist()
    flat = a._data.reshape(-1)
    for i, (v, w) in enumerate(zip(flat.tolist(), b)):
        flat[i] = fn(v, w)
    if not np.shares_memory(flat, a._data):
        a._data[...] = flat.reshape(a._data.shape)
    a._vc[0] += 1
    return a


def _is_nonzero(a):
    if a._data.size == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if a._data.size > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(a._data.reshape(-1)[0])


METHODS.update(_method_table())


def _not_implemented_on_type_error(name):
    """`t == None` is False and `t < None` Python's TypeError, as in PyTorch: an operand the
    op refuses gives NotImplemented, so Python tries the reflected op, then its default.

    The comparison is looked up on `pointwise` at call time, so that whoever replaces
    `pointwise.gt` (the compile tracer) also sees `a > b`."""

    def compare(a, b):
        try:
            return getattr(pointwise, name)(a, b)
        except TypeError:
            return NotImplemented

    compare.__name__ = name
    return compare


OPERATORS = {
    "__add__": arith.add, "__radd__": arith.add, "__sub__": arith.sub,
    "__rsub__": arith.rsub, "__mul__": arith.mul, "__rmul__": arith.mul,
    "__truediv__": arith.div, "__rtruediv__": arith.rdiv, "__pow__": arith.pow,
    "__rpow__": _swap(arith.pow), "__matmul__": linalg.matmul,
    "__rmatmul__": _swap(linalg.matmul), "__neg__": arith.neg, "__abs__": arith.abs,
    "__pos__": lambda a: a, "__mod__": arith.remainder, "__rmod__": arith.rremainder,
    "__floordiv__": arith.floor_divide, "__rfloordiv__": arith.rfloordiv,
    "__eq__": _not_implemented_on_type_error("eq"),
    "__ne__": _not_implemented_on_type_error("ne"),
    "__lt__": _not_implemented_on_type_error("lt"),
    "__le__": _not_implemented_on_type_error("le"),
    "__gt__": _not_implemented_on_type_error("gt"),
    "__ge__": _not_implemented_on_type_error("ge"),
    "__and__": pointwise.bitwise_and, "__or__": pointwise.bitwise_or,
    "__xor__": pointwise.bitwise_xor, "__rand__": _swap(pointwise.bitwise_and),
    "__ror__": _swap(pointwise.bitwise_or), "__rxor__": _swap(pointwise.bitwise_xor),
    "__invert__": pointwise.bitwise_not,
    "__getitem__": _getitem, "__setitem__": inplace.setitem,
    "__iadd__": inplace.add_, "__isub__": inplace.sub_, "__imul__": inplace.mul_,
    "__itruediv__": inplace.div_, "__ipow__": inplace.pow_,
}


def _install():
    for name, fn in {**METHODS, **OPERATORS}.items():
        setattr(Tensor, name, fn)
    Tensor.__hash__ = lambda self: id(self)  # defining __eq__ would otherwise drop hashing
    Tensor.T = property(shape.T)
    Tensor.mT = property(shape.mT)
    Tensor.H = property(shape.T)
    Tensor.mH = property(shape.mT)


_install()

__all__ = sorted({name for module in (arith, pointwise, reduce, linalg, shape)
                  for name, value in vars(module).items()
                  if callable(value) and not name.startswith("_") and not isinstance(value, type)
                  and getattr(value, "__module__", "").startswith("chainrule")} | {"sum_to"})
