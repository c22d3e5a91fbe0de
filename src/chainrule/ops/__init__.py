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
}
for _name in ["neg", "abs", "sign", "square", "reciprocal", "exp", "log", "sqrt", "rsqrt", "sin",
              "cos", "tanh", "sigmoid", "relu", "clamp", "floor", "ceil", "round", "trunc",
              "log1p", "expm1", "masked_fill", "remainder", "tril", "triu", "scatter",
              "scatter_add", "index_put"]:
    METHODS[_name + "_"] = getattr(inplace, _name + "_")

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
