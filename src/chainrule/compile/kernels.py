"""The array-level ops of the IR: one implementation per op, used twice.

While tracing, every IR node is evaluated with these functions and compared with what eager
chainrule computed, so a lowering that disagrees with eager is caught at trace time. The
generated code calls the very same functions (ufuncs directly), so what was checked is what runs.

An `OpDef` says whether the op is elementwise (fusable), whether it accepts an `out=` buffer,
and whether its result may be a view of an input (which matters to buffer reuse).
"""
from __future__ import annotations

import numpy as np

from ..autograd.math import ARRAY_MATH, accurate_sum
from ..ops import pointwise as _pointwise
from ..ops import reduce as _reduce
from ..ops import shape as _shape


class OpDef:
    __slots__ = ("name", "impl", "elementwise", "out", "view", "pure")

    def __init__(self, name, impl, elementwise=False, out=False, view=False, pure=True):
        self.name, self.impl = name, impl
        self.elementwise, self.out, self.view, self.pure = elementwise, out, view, pure


OPS: dict[str, OpDef] = {}


def _define(name, impl, **flags):
    OPS[name] = OpDef(name, impl, **flags)


# -- elementwise: NumPy ufuncs, called exactly as eager calls them ---------------------------
UFUNCS = ["add", "subtract", "multiply", "true_divide", "negative", "power", "absolute", "sign",
          "exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan", "tanh",
          "maximum", "minimum", "floor", "ceil", "trunc", "remainder", "floor_divide", "equal",
          "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
          "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
          "invert", "isnan", "isinf", "isfinite"]
for _name in UFUNCS:
    _define(_name, getattr(np, _name), elementwise=True, out=True)

_define("clip", np.clip, elementwise=True, out=True)
_define("where", np.where, elementwise=True)


def cast(x, dtype):
    return np.asarray(x).astype(dtype)


def round_(x, decimals=0):
    return np.round(x, decimals)


def sigmoid(x):
    return _pointwise._sigmoid_array(x)  # eager's own kernel, whatever it becomes


def ndarray_pow(x, p):
    """`x ** p` on arrays (NumPy takes shortcuts for some exponents: keep them)."""
    return x ** p


_define("cast", cast, elementwise=True)
_define("ndarray_pow", ndarray_pow, elementwise=True)
_define("sigmoid", sigmoid, elementwise=True)
_define("round", round_, elementwise=True)


# -- linear algebra -------------------------------------------------------------------------
def dot(x, y):
    return np.asarray(np.dot(x, y))


_define("matmul", np.matmul, out=True)
_define("dot", dot)


# -- reductions (each mirrors the eager forward in ops/reduce.py) ------------------------------
def sum_(x, axis, keepdims):
    if x.dtype == np.float32:  # PyTorch's cascade order, as ops/reduce.py `sum`
        return np.asarray(_reduce.cascade_sum(x, axis, keepdims))
    out = np.add.reduce(x, axis=axis, keepdims=keepdims)  # what ndarray.sum runs, minus wrappers
    return out if type(out) is np.ndarray else np.asarray(out)


def mean(x, axis, keepdims):
    count = 1
    for d in (range(x.ndim) if axis is None else axis):
        count *= x.shape[d]
    if x.dtype == np.float32 and count:  # as ops/reduce.py `mean`: sum, then divide
        return np.asarray(_reduce.cascade_sum(x, axis, keepdims) / np.float32(count))
    if count:  # ndarray.mean's arithmetic (sum, then true division) without its wrappers
        return np.asarray(np.add.reduce(x, axis=axis, keepdims=keepdims) / count)
    return np.asarray(x.mean(axis=axis, keepdims=keepdims))


def amax(x, axis, keepdims):
    return np.asarray(np.max(x, axis=axis, keepdims=keepdims))


def amin(x, axis, keepdims):
    return np.asarray(np.min(x, axis=axis, keepdims=keepdims))


def var(x, axis, ddof, keepdims, take_sqrt):
    data = x.var(axis=axis, ddof=ddof, keepdims=keepdims)
    if take_sqrt:
        data = np.sqrt(data)
    return np.asarray(data).astype(x.dtype, copy=False)


def logsumexp(x, axis, keepdims):
    return np.asarray(_reduce._logsumexp_array(x, axis, keepdims)).astype(x.dtype, copy=False)


def dim_select(x, dim, keepdim, argfn):
    """max/min along a dim: (values, int64 indices), as ops/reduce.py `_dim_selection`."""
    return _reduce.select_along(x, dim, keepdim, argfn)


def cumsum(x, axis):
    return np.cumsum(x, axis=axis)


def accurate_sum_(x, axis, keepdims):
    return np.asarray(accurate_sum(x, axis, keepdims))


for _name, _fn in [("sum", sum_), ("mean", mean), ("amax", amax), ("amin", amin), ("var", var),
                   ("logsumexp", logsumexp), ("cumsum", cumsum), ("accurate_sum", accurate_sum_)]:
    _define(_name, _fn)
_define("dim_select", dim_select)


def tuple_get(x, index):
    return x[index]


_define("tuple_get", tuple_get, view=True)


# -- shapes, views and indexing -------------------------------------------------------------
def reshape(x, shape):
    return x.reshape(shape)


def transpose(x, dim0, dim1):
    return x.swapaxes(dim0, dim1)


def permute(x, dims):
    return x.transpose(dims)


def expand(x, shape):
    return np.broadcast_to(x, shape)


def getitem(x, key, basic):
    """Eager indexing (ops/shape.py `getitem`): PyTorch applies ints before index arrays."""
    if not basic and any(isinstance(k, int) and not isinstance(k, bool) for k in key):
        first, second = _shape._split_ints_from_arrays(key, x.ndim)
        return getitem(x[first], second, False)
    out = x[key]
    if basic and not isinstance(out, np.ndarray):
        out = x[key + (Ellipsis,)]  # a 0-d view, as eager keeps (NumPy would give a scalar)
    return out


def plain_getitem(x, key):
    return x[key]


def setitem(x, key, value):
    """Out-of-place `x[key] = value` (the functional form of an in-place write)."""
    y = np.array(x, copy=True)
    y[key] = value
    return y


def concatenate(arrays, axis):
    return np.concatenate(arrays, axis=axis)


def stack(arrays, axis):
    return np.stack(arrays, axis=axis)


def take(x, index, axis):
    return np.take(x, index, axis=axis)


def gather(x, index, dim):
    sub = x[tuple(slice(0, s) if j != dim else slice(None) for j, s in enumerate(index.shape))]
    return np.take_along_axis(sub, index, axis=dim)


def flip(x, dims):
    return np.flip(x, dims).copy() if x.ndim else x.copy()


def tile(x, reps):
    return np.tile(x, reps)


def tril(x, k):
    return np.tril(x, k)


def triu(x, k):
    return np.triu(x, k)


def full_like(x, value):
    return np.full_like(x, value)


def copy(x):
    return np.array(x, copy=True)


for _name, _fn in [("reshape", reshape), ("transpose", transpose), ("permute", permute),
                   ("expand", expand), ("getitem", getitem), ("m.getitem", plain_getitem),
                   ("expand_dims", np.expand_dims)]:
    _define(_name, _fn, view=True)
for _name, _fn in [("setitem", setitem), ("concatenate", concatenate), ("stack", stack),
                   ("take", take), ("gather", gather), ("flip", flip), ("tile", tile),
                   ("tril", tril), ("triu", triu), ("full_like", full_like), ("copy", copy)]:
    _define(_name, _fn)

# -- backward helpers: ARRAY_MATH's own functions, so compiled backward = eager backward -------
for _name in ["sum_to", "index_zeros", "scatter_zeros", "gather", "cumsum", "prod", "mean",
              "cat", "stack", "flip", "cast"]:
    _define("m." + _name, getattr(ARRAY_MATH, _name))


# -- opaque calls: a chainrule function run on tensors (correct for anything pure) ------------
def call(*args, fn, kwargs):
    """Run the chainrule op `fn` eagerly on arrays wrapped as tensors, without a graph."""
    from ..autograd import grad_mode
    from ..tensor import Tensor

    prev = grad_mode.state.enabled
    grad_mode.state.enabled = False
    try:
        wrapped = _wrap_arrays(args, Tensor)
        result = fn(*wrapped, **_wrap_arrays(kwargs, Tensor))
    finally:
        grad_mode.state.enabled = prev
    return _unwrap_tensors(result, Tensor)


def _wrap_arrays(obj, Tensor):
    if isinstance(obj, np.ndarray):
        return Tensor._make(obj)
    if isinstance(obj, tuple):
        return tuple(_wrap_arrays(o, Tensor) for o in obj)
    if isinstance(obj, list):
        return [_wrap_arrays(o, Tensor) for o in obj]
    if isinstance(obj, dict):
        return {k: _wrap_arrays(v, Tensor) for k, v in obj.items()}
    return obj


def _unwrap_tensors(obj, Tensor):
    if isinstance(obj, Tensor):
        return obj._data
    if isinstance(obj, tuple):
        return tuple(_unwrap_tensors(o, Tensor) for o in obj)
    if isinstance(obj, list):
        return [_unwrap_tensors(o, Tensor) for o in obj]
    return obj


def inplace_call(target, *args, fn, kwargs):
    """An in-place chainrule op applied to a copy of `target` (its functional form)."""
    return call(np.array(target, copy=True), *args, fn=_run_then_return_self(fn), kwargs=kwargs)


def _run_then_return_self(fn):
    def run(t, *args, **kwargs):
        fn(t, *args, **kwargs)
        return t

    return run


def leaves(obj, found):
    """Tensors and arrays in an argument structure, in the order `_wrap_arrays` visits them."""
    if isinstance(obj, np.ndarray) or hasattr(obj, "_data"):
        found.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            leaves(o, found)
    elif isinstance(obj, dict):
        for o in obj.values():
            leaves(o, found)
    return found


class OpaqueGrad:
    """What the backward of an opaque call needs: the eager graph it built, run again."""

    __slots__ = ("inputs", "outputs")

    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = inputs, outputs


def call_grad(*args, fn, kwargs, grad_leaves):
    """Run chainrule's `fn` eagerly with a graph: (result arrays, OpaqueGrad).

    The arguments at positions `grad_leaves` (in `leaves` order) become leaf tensors requiring
    grad, so the op records its own backward nodes; `call_grad_backward` runs them. Any op
    with a backward works this way, whatever its forward does (data-dependent branches
    included, since it runs eagerly on every call)."""
    from ..autograd import grad_mode
    from ..tensor import Tensor

    prev = grad_mode.state.enabled
    grad_mode.state.enabled = True
    try:
        wrapped_args = _wrap_arrays(args, Tensor)
        wrapped_kwargs = _wrap_arrays(kwargs, Tensor)
        flat = leaves((wrapped_args, wrapped_kwargs), [])
        inputs = []
        for i in grad_leaves:
            flat[i]._requires_grad = True
            inputs.append(flat[i])
        result = fn(*wrapped_args, **wrapped_kwargs)
    finally:
        grad_mode.state.enabled = prev
    outputs = [t for t in leaves(result, []) if isinstance(t, Tensor)]
    return _unwrap_tensors(result, Tensor), OpaqueGrad(inputs, outputs)


def call_grad_backward(ctx, grads, present):
    """Gradients of an opaque call's differentiable inputs (None where the trace saw none)."""
    outs, seeds = [], []
    for t, g in zip(ctx.outputs, grads):
        if g is not None and t._grad_fn is not None:
            outs.append(t)
            seeds.append(g)
    if outs:
        from ..tensor import Tensor

        found = _eager_grad(outs, ctx.inputs, [Tensor._make(g) for g in seeds],
                            retain_graph=True, allow_unused=True)
    else:
        found = (None,) * len(ctx.inputs)
    result = []
    for t, g, wanted in zip(ctx.inputs, found, present):
        if g is None:
            result.append(np.zeros(t._data.shape, t._data.dtype) if wanted else None)
        elif not wanted:
            raise RuntimeError("chainrule.compile: an opaque op's gradient reached an input "
                               "that got none when the function was traced; call the function "
                               "uncompiled")
        else:
            result.append(g._data)
    return tuple(result)


from ..autograd.api import grad as _eager_grad  # noqa: E402  (the original, never the traced one)

_define("call", call)
_define("call_grad", call_grad)
_define("call_grad_backward", call_grad_backward)
_define("inplace_call", inplace_call)
_define("random", call, pure=False)


def guard(value, expected, kind):
    """True when the traced assumption still holds (bool/int value of a 0-d or 1-element array)."""
    actual = bool(value) if kind == "bool" else value.reshape(()).item()
    return actual == expected


_define("guard", guard, pure=False)


def _optim_step(*grads, fn):
    return fn(*grads)


_define("optim_step", _optim_step, pure=False)


def elementwise_result(op, args):
    """Shape and dtype an elementwise op gives for these argument values (evaluated)."""
    return OPS[op].impl(*args)
