"""Lowering: how each chainrule op is written as IR nodes (see Note [How tracing intercepts ops]).

A recorder has the op's signature with the eager result first: `rec(tr, res, *args, **kwargs)`.
It mirrors the op's forward in ops/*.py step by step (same NumPy calls, same casts), builds the
nodes with `tr.op(...)` and ends with `tr.bind(res, node)`, which checks the traced value against
eager's. Returning NotImplemented (or a failed check) makes the op an opaque call instead.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype, _errors
from ..ops import reduce as R
from ..ops import shape as S
from ..ops._core import as_tensor_arg, binary
from ..tensor import Tensor
from .tracer import CompileError

RECORDERS = {}

# Ops built only from other ops: not recorded themselves, their inner ops are.
COMPOSITE = {
    "arith.rdiv", "arith.square", "linalg.outer", "shape.flatten", "shape.unflatten",
    "shape.view_as", "shape.reshape_as", "shape.expand_as", "shape.broadcast_to",
    "shape.broadcast_tensors", "shape.tile", "shape.T", "shape.movedim", "shape.hstack",
    "shape.vstack", "shape.atleast_2d", "shape.chunk", "shape.narrow", "shape.select",
    "shape.take", "shape.take_along_dim", "shape.fliplr", "shape.flipud", "shape.contiguous",
    "shape.trace", "shape.diagonal_", "shape.diag", "shape.roll", "shape.index_put",
    "reduce.nansum", "reduce.where_not_nan", "reduce.var_mean", "reduce.std_mean",
    "reduce.aminmax",
}
COMPOSITE_INPLACE = {"addcmul_", "addcdiv_", "lerp_", "clamp_min_", "clamp_max_"}


def recorder(*keys):
    def register(fn):
        for key in keys:
            RECORDERS[key] = fn
        return fn

    return register


def _no_out(out):
    if out is not None:
        raise CompileError("the out= argument is not supported inside a compiled function; "
                           "assign the result instead")


# -- operands, coerced exactly as eager's `binary` does -----------------------------------------
def operands(tr, a, b, a_node=None):
    """IR operands for a binary op; `a_node` stands for `a` when `a` is not a traced tensor."""
    x, y, ta, tb = binary(a, b)
    return _operand(tr, a, ta, x, a_node), _operand(tr, b, tb, y)


def _operand(tr, orig, t, arr, node=None):
    if t is None:
        return arr  # a Python number stays a (weakly typed) literal
    if node is None:
        node = tr.val(t) if (t is orig or isinstance(orig, Tensor)) else tr.const(t._data)
    if arr.dtype != t._data.dtype:
        node = tr.op("cast", node, dtype=arr.dtype)
    return node


def float_operand(tr, t):
    node = tr.val(t)
    if t._data.dtype.kind != "f":
        node = tr.op("cast", node, dtype=_dtype.get_default_dtype().np)
    return node


# -- arithmetic ---------------------------------------------------------------------------------
def _with_alpha(tr, y, alpha):
    return y if alpha == 1 else tr.op("multiply", alpha, y)


@recorder("arith.add")
def _add(tr, res, a, b, *, alpha=1, **kw):
    _no_out(kw.get("out"))
    x, y = operands(tr, a, b)
    tr.bind(res, tr.op("add", x, _with_alpha(tr, y, alpha), origin="add"))


@recorder("arith.sub")
def _sub(tr, res, a, b, *, alpha=1, **kw):
    _no_out(kw.get("out"))
    x, y = operands(tr, a, b)
    tr.bind(res, tr.op("subtract", x, _with_alpha(tr, y, alpha), origin="sub"))


@recorder("arith.rsub")
def _rsub(tr, res, a, number, alpha=1):
    x, y = operands(tr, a, number)
    tr.bind(res, tr.op("subtract", y, _with_alpha(tr, x, alpha), origin="rsub"))


@recorder("arith.mul")
def _mul(tr, res, a, b, **kw):
    _no_out(kw.get("out"))
    x, y = operands(tr, a, b)
    tr.bind(res, tr.op("multiply", x, y, origin="mul"))


@recorder("arith.div")
def _div(tr, res, a, b, *, rounding_mode=None, **kw):
    _no_out(kw.get("out"))
    if rounding_mode is not None:
        return NotImplemented
    x, y = operands(tr, a, b)
    if binary(a, b)[0].dtype.kind != "f":  # int / int: true division in the default float
        fdt = _dtype.get_default_dtype().np
        x = tr.op("cast", x, dtype=fdt)
        if isinstance(y, type(x)):
            y = tr.op("cast", y, dtype=fdt)
    tr.bind(res, tr.op("true_divide", x, y, origin="div"))


@recorder("arith.reciprocal")
def _reciprocal(tr, res, a):
    tr.bind(res, tr.op("true_divide", 1.0, float_operand(tr, a), origin="reciprocal"))


@recorder("arith.neg")
def _neg(tr, res, a):
    tr.bind(res, tr.op("negative", tr.val(a), origin="neg"))


@recorder("arith.pow")
def _pow(tr, res, a, exponent, **kw):
    _no_out(kw.get("out"))
    if not isinstance(a, Tensor):
        x, b = operands(tr, a, exponent)
        tr.bind(res, tr.op("power", x, b, origin="pow"))
        return
    x, p = operands(tr, a, exponent)
    if not isinstance(exponent, Tensor) and p == 2:
        tr.bind(res, tr.op("multiply", x, x, origin="pow"))
    else:
        tr.bind(res, tr.op("power", x, p, origin="pow"))


def _unary(ufunc, origin, as_float=False):
    def rec(tr, res, a):
        x = float_operand(tr, a) if as_float else tr.val(a)
        tr.bind(res, tr.op(ufunc, x, origin=origin))

    return rec


RECORDERS["arith.abs"] = _unary("absolute", "abs")
RECORDERS["arith.sign"] = _unary("sign", "sign")
for _name in ["exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan",
              "tanh"]:
    RECORDERS["pointwise." + _name] = _unary(_name, _name, as_float=True)
for _name, _ufunc in [("floor", "floor"), ("ceil", "ceil"), ("trunc", "trunc"),
                      ("logical_not", "logical_not"), ("bitwise_not", "invert"),
                      ("isnan", "isnan"), ("isinf", "isinf"), ("isfinite", "isfinite")]:
    RECORDERS["pointwise." + _name] = _unary(_ufunc, _name)


def _binary(ufunc, origin):
    def rec(tr, res, a, b):
        x, y = operands(tr, a, b)
        tr.bind(res, tr.op(ufunc, x, y, origin=origin))

    return rec


RECORDERS["arith.remainder"] = _binary("remainder", "remainder")
RECORDERS["arith.floor_divide"] = _binary("floor_divide", "floor_divide")
for _name in ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
              "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
              "bitwise_xor"]:
    RECORDERS["pointwise." + _name] = _binary(_name, _name)
for _alias, _name in [("eq", "equal"), ("ne", "not_equal"), ("lt", "less"), ("le", "less_equal"),
                      ("gt", "greater"), ("ge", "greater_equal")]:
    RECORDERS["pointwise." + _alias] = RECORDERS["pointwise." + _name]


@recorder("arith.rremainder")
def _rremainder(tr, res, a, number):
    x, y = operands(tr, a, number)
    tr.bind(res, tr.op("remainder", y, x, origin="rremainder"))


@recorder("arith.rfloordiv")
def _rfloordiv(tr, res, a, number):
    x, y = operands(tr, a, number)
    tr.bind(res, tr.op("floor_divide", y, x, origin="rfloordiv"))


# -- pointwise ----------------------------------------------------------------------------------
@recorder("pointwise.rsqrt")
def _rsqrt(tr, res, a):
    s = tr.op("sqrt", float_operand(tr, a), origin="rsqrt")
    tr.bind(res, tr.op("true_divide", 1.0, s, origin="rsqrt"))


@recorder("pointwise.sigmoid")
def _sigmoid(tr, res, a):
    tr.bind(res, tr.op("sigmoid", float_operand(tr, a)))


@recorder("pointwise.relu")
def _relu(tr, res, a):
    tr.bind(res, tr.op("maximum", tr.val(a), 0, origin="relu"))


@recorder("pointwise.leaky_relu")
def _leaky_relu(tr, res, a, negative_slope=0.01, inplace=False):
    x = tr.val(a)
    node = tr.op("where", tr.op("greater", x, 0, origin="leaky_relu"), x,
                 tr.op("multiply", x, negative_slope, origin="leaky_relu"), origin="leaky_relu")
    if node.dtype != a._data.dtype:
        node = tr.op("cast", node, dtype=a._data.dtype)
    tr.bind(res, node)


@recorder("pointwise.elu")
def _elu(tr, res, a, alpha=1.0, inplace=False, *, scale=1.0, input_scale=1.0):
    x = float_operand(tr, a)
    pos = tr.op("multiply", x, scale, origin="elu")
    em = tr.op("expm1", tr.op("multiply", x, input_scale, origin="elu"), origin="elu")
    neg = tr.op("multiply", alpha * scale, em, origin="elu")
    node = tr.op("where", tr.op("greater", x, 0, origin="elu"), pos, neg, origin="elu")
    if node.dtype != x.dtype:
        node = tr.op("cast", node, dtype=x.dtype)
    tr.bind(res, node)


@recorder("pointwise.clamp")
def _clamp(tr, res, a, min=None, max=None):
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        current, node = a, tr.val(a)  # eager: maximum(a, min), then minimum(., max)
        for bound, ufunc in ((min, "maximum"), (max, "minimum")):
            if bound is not None:
                x, y = operands(tr, current, as_tensor_arg(bound), a_node=node)
                node = tr.op(ufunc, x, y, origin="clamp")
                current = Tensor._make(node.value)
        tr.bind(res, node)
        return
    x = tr.val(a)
    if a._data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        x = float_operand(tr, a)
    node = tr.op("clip", x, min, max, origin="clamp")
    if node.dtype != x.dtype:
        node = tr.op("cast", node, dtype=x.dtype)
    tr.bind(res, node)


def _max_min(ufunc):
    def rec(tr, res, a, b):
        bb = b if hasattr(b, "_data") else as_tensor_arg(b)
        x, y = operands(tr, a, bb)
        tr.bind(res, tr.op(ufunc, x, y, origin=ufunc))

    return rec


RECORDERS["pointwise.maximum"] = _max_min("maximum")
RECORDERS["pointwise.minimum"] = _max_min("minimum")


@recorder("pointwise.where")
def _where(tr, res, condition, input=None, other=None):
    if input is None and other is None:
        return NotImplemented
    cond_t = as_tensor_arg(condition)
    cond = tr.val(cond_t) if cond_t is condition else tr.const(cond_t._data)
    if cond_t._data.dtype != np.bool_:
        cond = tr.op("cast", cond, dtype=np.dtype(np.bool_))
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = as_tensor_arg(input)
    x, y = operands(tr, input, other)
    tr.bind(res, tr.op("where", cond, x, y, origin="where"))


@recorder("pointwise.masked_fill")
def _masked_fill(tr, res, a, mask, value):
    mask_t = as_tensor_arg(mask)
    m = tr.val(mask_t) if mask_t is mask else tr.const(mask_t._data)
    x = tr.val(a)
    if isinstance(value, Tensor):
        v = tr.val(value)
        if value._data.dtype != a._data.dtype:
            v = tr.op("cast", v, dtype=a._data.dtype)
    else:
        v = tr.const(np.asarray(value, dtype=a._data.dtype))
    tr.bind(res, tr.op("where", m, v, x, origin="masked_fill"))


@recorder("pointwise.round")
def _round(tr, res, a, decimals=0):
    tr.bind(res, tr.op("round", tr.val(a), decimals=decimals))


@recorder("pointwise.full_like_op")
def _full_like(tr, res, a, value):
    tr.bind(res, tr.op("full_like", tr.val(a), value=value))


# -- reductions ---------------------------------------------------------------------------------
def _reduce_input(tr, a, dtype, int_to_long):
    x = tr.val(a)
    if dtype is not None:
        x = tr.op("cast", x, dtype=_dtype.to_numpy_dtype(dtype))
    elif int_to_long and a._data.dtype.kind in "biu":
        x = tr.op("cast", x, dtype=np.dtype(np.int64))
    return x


@recorder("reduce.sum")
def _sum(tr, res, a, dim=None, keepdim=False, *, dtype=None):
    x = _reduce_input(tr, a, dtype, True)
    dims = R._dims(dim, a._data.ndim)
    tr.bind(res, tr.op("sum", x, axis=dims, keepdims=keepdim))


@recorder("reduce.mean")
def _mean(tr, res, a, dim=None, keepdim=False, *, dtype=None):
    x = _reduce_input(tr, a, dtype, False)
    dims = R._dims(dim, a._data.ndim)
    tr.bind(res, tr.op("mean", x, axis=dims, keepdims=keepdim))


def _amax_amin(op):
    def rec(tr, res, a, dim=(), keepdim=False):
        tr.bind(res, tr.op(op, tr.val(a), axis=R._dims(dim, a._data.ndim), keepdims=keepdim))

    return rec


RECORDERS["reduce.amax"] = _amax_amin("amax")
RECORDERS["reduce.amin"] = _amax_amin("amin")


def _max_min_reduce(whole, argfn, elementwise):
    def rec(tr, res, a, dim=None, keepdim=False, **kw):
        if isinstance(dim, Tensor):
            return RECORDERS[elementwise](tr, res, a, dim)
        x = tr.val(a)
        if dim is None:
            tr.bind(res, tr.op(whole, x, axis=None, keepdims=False))
            return
        if a._data.ndim == 0:
            return NotImplemented
        d = _errors.normalize_dim(dim, a._data.ndim)
        both = tr.op("dim_select", x, dim=d, keepdim=keepdim, argfn=argfn)
        tr.bind(res[0], tr.op("tuple_get", both, index=0))
        tr.bind(res[1], tr.op("tuple_get", both, index=1))

    return rec


RECORDERS["reduce.max"] = _max_min_reduce("amax", np.argmax, "pointwise.maximum")
RECORDERS["reduce.min"] = _max_min_reduce("amin", np.argmin, "pointwise.minimum")


def _var_std(take_sqrt):
    def rec(tr, res, a, dim=None, unbiased=None, keepdim=False, *, correction=None):
        dim, keepdim, correction = R._var_args(dim, unbiased, keepdim, correction)
        dims = R._dims(dim, a._data.ndim)
        tr.bind(res, tr.op("var", tr.val(a), axis=dims, ddof=correction, keepdims=keepdim,
                           take_sqrt=take_sqrt, origin="std" if take_sqrt else "var"))

    return rec


RECORDERS["reduce.var"] = _var_std(False)
RECORDERS["reduce.std"] = _var_std(True)


@recorder("reduce.logsumexp")
def _logsumexp(tr, res, a, dim, keepdim=False):
    dims = R._dims(dim, a._data.ndim)
    tr.bind(res, tr.op("logsumexp", float_operand(tr, a), axis=dims, keepdims=keepdim))


def _softmax_setup(tr, a, dim, dtype):
    x = tr.val(a)
    if dtype is not None:
        x = tr.op("cast", x, dtype=_dtype.to_numpy_dtype(dtype))
    ndim = a._data.ndim
    d = (0 if ndim in (0, 1, 3) else 1) if dim is None else _errors.normalize_dim(dim, ndim)
    return x, d


@recorder("reduce.softmax")
def _softmax(tr, res, a, dim=None, _stacklevel=3, dtype=None):
    if a._data.size == 0:
        return NotImplemented
    x, d = _softmax_setup(tr, a, dim, dtype)
    shifted = tr.op("subtract", x, tr.op("amax", x, axis=d, keepdims=True, origin="softmax"),
                    origin="softmax")
    e = tr.op("exp", shifted, origin="softmax")
    total = tr.op("sum", e, axis=d, keepdims=True, origin="softmax")
    tr.bind(res, tr.op("true_divide", e, total, origin="softmax"))


@recorder("reduce.log_softmax")
def _log_softmax(tr, res, a, dim=None, _stacklevel=3, dtype=None):
    if a._data.size == 0:
        return NotImplemented
    x, d = _softmax_setup(tr, a, dim, dtype)
    lse = tr.op("logsumexp", x, axis=(d,), keepdims=True, origin="log_softmax")
    tr.bind(res, tr.op("subtract", x, lse, origin="log_softmax"))


@recorder("reduce.cumsum")
def _cumsum(tr, res, a, dim, *, dtype=None):
    if a._data.ndim == 0:
        return NotImplemented
    x = _reduce_input(tr, a, dtype, True)
    tr.bind(res, tr.op("cumsum", x, axis=_errors.normalize_dim(dim, a._data.ndim)))


# -- linear algebra -----------------------------------------------------------------------------
def _matmul_node(tr, a, b):
    x, y = tr.val(a), tr.val(b)
    nx, ny = a._data.ndim, b._data.ndim
    if nx == 1 and ny == 1:
        return tr.op("dot", x, y)
    if nx == 1:  # eager: squeeze(matmul(unsqueeze(a, 0), b), -2)
        u = tr.op("reshape", x, shape=(1,) + a._data.shape)
        m = tr.op("matmul", u, y)
        return tr.op("reshape", m, shape=m.shape[:-2] + m.shape[-1:])
    if ny == 1 and nx > 2:  # eager: squeeze(matmul(a, unsqueeze(b, -1)), -1)
        u = tr.op("reshape", y, shape=b._data.shape + (1,))
        m = tr.op("matmul", x, u)
        return tr.op("reshape", m, shape=m.shape[:-1])
    return tr.op("matmul", x, y)


@recorder("linalg.mm", "linalg.bmm", "linalg.mv", "linalg.matmul", "linalg.dot")
def _matmul(tr, res, a, b):
    tr.bind(res, _matmul_node(tr, a, b))


@recorder("linalg.addmm")
def _addmm(tr, res, bias, a, b, *, beta=1, alpha=1):
    prod = tr.op("matmul", tr.val(a), tr.val(b), origin="addmm")
    if alpha != 1:
        prod = tr.op("multiply", prod, alpha, origin="addmm")
    bias_node = tr.val(bias)
    if beta != 1:
        bias_node = tr.op("multiply", bias_node, beta, origin="addmm")
    tr.bind(res, tr.op("add", prod, bias_node, origin="addmm"))


# -- shapes -------------------------------------------------------------------------------------
@recorder("shape.reshape", "shape.view", "shape.squeeze", "shape.unsqueeze")
def _reshape(tr, res, a, *args, **kwargs):
    if res is not a:
        tr.bind(res, tr.op("reshape", tr.val(a), shape=res._data.shape))


@recorder("shape.transpose", "shape.t", "shape.mT")
def _transpose(tr, res, a, dim0=None, dim1=None):
    if res is a:
        return
    nd = a._data.ndim
    if nd == 0:
        tr.bind(res, tr.val(a))
        return
    if dim0 is None:  # t() and mT
        dim0, dim1 = (0, 0) if nd == 1 else (-2, -1)
    d0, d1 = _errors.normalize_dim(dim0, nd), _errors.normalize_dim(dim1, nd)
    tr.bind(res, tr.op("transpose", tr.val(a), dim0=d0, dim1=d1))


@recorder("shape.permute")
def _permute(tr, res, a, *dims):
    dims = _errors.normalize_dims(S._shape_arg(dims), a._data.ndim)
    tr.bind(res, tr.op("permute", tr.val(a), dims=tuple(dims)))


@recorder("shape.expand")
def _expand(tr, res, a, *sizes):
    tr.bind(res, tr.op("expand", tr.val(a), shape=res._data.shape))


@recorder("shape.repeat")
def _repeat(tr, res, a, *repeats):
    tr.bind(res, tr.op("tile", tr.val(a), reps=S._shape_arg(repeats)))


def _promoted(tr, tensors):
    nodes = [tr.val(t) for t in tensors]
    if len({t._data.dtype for t in tensors}) > 1:
        rt = _dtype.result_type(*tensors).np
        nodes = [n if t._data.dtype == rt else tr.op("cast", n, dtype=rt)
                 for n, t in zip(nodes, tensors)]
    return nodes


@recorder("shape.cat")
def _cat(tr, res, tensors, dim=0, **kw):
    _no_out(kw.get("out"))
    tensors = [as_tensor_arg(t) for t in tensors]
    kept = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] \
        or tensors[:1]
    d = _errors.normalize_dim(dim, kept[0]._data.ndim)
    tr.bind(res, tr.op("concatenate", _promoted(tr, kept), axis=d))


@recorder("shape.stack")
def _stack(tr, res, tensors, dim=0, **kw):
    _no_out(kw.get("out"))
    tensors = [as_tensor_arg(t) for t in tensors]
    d = _errors.normalize_dim(dim, tensors[0]._data.ndim + 1)
    tr.bind(res, tr.op("stack", _promoted(tr, tensors), axis=d))


@recorder("shape.split", "shape.tensor_split")
def _split(tr, res, a, sections, dim=0):
    d = _errors.normalize_dim(dim, a._data.ndim)
    x, start = tr.val(a), 0
    for piece in res:
        size = piece._data.shape[d]
        key = (slice(None),) * d + (slice(start, start + size),)
        tr.bind(piece, tr.op("getitem", x, key, basic=True))
        start += size


@recorder("shape.unbind")
def _unbind(tr, res, a, dim=0):
    d = _errors.normalize_dim(dim, a._data.ndim)
    x = tr.val(a)
    for i, piece in enumerate(res):
        tr.bind(piece, tr.op("getitem", x, (slice(None),) * d + (i,), basic=True))


def _index_key(tr, key):
    """The IR form of an index: tensors inside it become nodes (read at run time)."""
    raw = key if isinstance(key, tuple) else (key,)
    for k in raw:
        if isinstance(k, Tensor):
            if k._data.dtype == np.uint8:
                return None
            tr.val(k)
    normalized, basic = S.normalize_index(key)
    return tr.val(normalized), basic


@recorder("shape.getitem")
def _getitem(tr, res, a, key):
    resolved = _index_key(tr, key)
    if resolved is None:
        return NotImplemented
    ir_key, basic = resolved
    tr.bind(res, tr.op("getitem", tr.val(a), ir_key, basic=basic))


@recorder("shape.index_put_region")
def _index_put_region(tr, res, a, value, *, key=None, region=None, basic=True):
    if region is not None:
        return NotImplemented
    tr.bind(res, tr.op("setitem", tr.val(a), tr.val(key), tr.val(value)))


@recorder("shape.index_select")
def _index_select(tr, res, a, dim, index):
    index_t = as_tensor_arg(index)
    idx = tr.val(index_t) if index_t is index else tr.const(index_t._data)
    flat = tr.op("reshape", idx, shape=(-1,))
    tr.bind(res, tr.op("take", tr.val(a), flat, axis=_errors.normalize_dim(dim, a._data.ndim)))


@recorder("shape.gather")
def _gather(tr, res, a, dim, index, *, sparse_grad=False):
    index_t = as_tensor_arg(index)
    idx = tr.val(index_t) if index_t is index else tr.const(index_t._data)
    tr.bind(res, tr.op("gather", tr.val(a), idx, dim=_errors.normalize_dim(dim, a._data.ndim)))


@recorder("shape.flip")
def _flip(tr, res, a, dims):
    tr.bind(res, tr.op("flip", tr.val(a), dims=tuple(_errors.normalize_dims(dims,
                                                                            a._data.ndim))))


@recorder("shape.tril")
def _tril(tr, res, a, diagonal=0):
    tr.bind(res, tr.op("tril", tr.val(a), k=diagonal))


@recorder("shape.triu")
def _triu(tr, res, a, diagonal=0):
    tr.bind(res, tr.op("triu", tr.val(a), k=diagonal))


@recorder("shape.clone")
def _clone(tr, res, a, *, memory_format=None):
    tr.bind(res, tr.val(a))  # values are never mutated in the IR: a copy is the same value


@recorder("shape.to_dtype")
def _to_dtype(tr, res, a, dtype, copy=False):
    if res is a:
        return
    node = tr.val(a)
    if res._data.dtype != a._data.dtype:
        node = tr.op("cast", node, dtype=res._data.dtype)
    tr.bind(res, node)


# -- in-place ops in functional form --------------------------------------------------------------
_FAST_UFUNC = {"add_": "add", "sub_": "subtract", "mul_": "multiply", "div_": "true_divide"}


def _fit(tr, t, node):
    """Cast and broadcast a new value to the tensor it is written into (as np.copyto does)."""
    if node.shape != t._data.shape:
        node = tr.op("expand", node, shape=t._data.shape)
    if node.dtype != t._data.dtype:
        node = tr.op("cast", node, dtype=t._data.dtype)
    return node


def functional_form(name):
    """`fn(tr, t, before, *args, **kwargs) -> node`: the value `t.name(...)` leaves in t."""
    if name in _FAST_UFUNC:
        ufunc = _FAST_UFUNC[name]

        def fast(tr, t, before, other, *, alpha=None):
            if alpha is not None:
                other = other * alpha
            y = tr.val(other)
            rt = _dtype.result_type(t, other)
            if ufunc == "true_divide" and rt.np.kind != "f":
                rt = _dtype.get_default_dtype()
            if isinstance(other, Tensor) and other._data.dtype != rt.np:
                y = tr.op("cast", y, dtype=rt.np)
            elif isinstance(other, (list, tuple, np.ndarray)):
                return None
            return _fit(tr, t, tr.op(ufunc, before, y, origin=name))

        return fast
    if name in ("fill_", "zero_"):
        def fill(tr, t, before, value=0):
            if isinstance(value, Tensor):
                return _fit(tr, t, tr.val(value))
            return tr.op("full_like", before, value=value, origin=name)

        return fill
    if name == "copy_":
        def copy(tr, t, before, src, non_blocking=False):
            src = as_tensor_arg(src)
            return _fit(tr, t, tr.val(src))

        return copy
    if name == "setitem":
        def setitem(tr, t, before, key, value):
            resolved = _index_key(tr, key)
            if resolved is None:
                return None
            if isinstance(value, (list, tuple, np.ndarray)):
                value = as_tensor_arg(value)
            elif isinstance(value, np.generic):
                value = value.item()
            return tr.op("setitem", before, resolved[0], tr.val(value), origin="setitem")

        return setitem
    op_name = name[:-1]

    def via_out_of_place(tr, t, before, *args, **kwargs):
        from .. import ops

        fn = getattr(ops, op_name, None)
        if fn is None:
            return None
        new = fn(t, *args, **kwargs)  # the (patched) out-of-place op: recorded
        return _fit(tr, t, tr.val(new))

    return via_out_of_place
