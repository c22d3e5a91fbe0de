"""In-place ops (`add_`, `x[i] = v`, `w -= lr * g`...).

An in-place op is its out-of-place op followed by `commit`, which writes the result into the
tensor's memory, bumps the version counter, and moves the tensor to the new history. Without a
graph to build, a fast path writes straight into the array (the optimizer step).

Note [In-place on a view]
When the tensor is a view of a base, the write is recorded on the base as a CopySlices node
(base outside the view, new value inside), and the view's history is re-derived from the base.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..tensor import Tensor

from .. import _dtype, _errors
from ..autograd import grad_mode, graph
from ..autograd.graph import (SavedOutput, _next_seq, multi_output_view_error,
                               multi_output_of)
from ..autograd.math import TENSOR_MATH
from ._core import Node, as_tensor_arg, needs_grad, record
from . import arith, pointwise, shape as S

_state = grad_mode.state


def _category(np_dtype):
    return 2 if np_dtype.kind == "f" else (0 if np_dtype.kind == "b" else 1)


NO_GRAD_VIEW_INPLACE = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block (if "
    "you don't want the inplace to be tracked) or both outside (if you want the inplace to be "
    "tracked).")


INTERNAL_OVERLAP = (
    "unsupported operation: more than one element of the written-to tensor refers to a single "
    "memory location. Please clone() the tensor before performing the operation.")


def check_overlap(x):
    """PyTorch refuses to write in place into an expanded tensor (elements sharing memory)."""
    if not x.flags.writeable and 0 in x.strides:
        for size, stride in zip(x.shape, x.strides):
            if stride == 0 and size > 1:
                raise RuntimeError(INTERNAL_OVERLAP)


PARTIAL_OVERLAP = (
    "unsupported operation: some elements of the input tensor and the written-to tensor refer "
    "to a single memory location. Please clone() the tensor before performing the operation.")


def _dense(x):
    """Non-overlapping and dense: the elements fill a block of memory in some order."""
    if x.flags.c_contiguous or x.flags.f_contiguous:
        return True
    expected = x.itemsize
    for stride, size in sorted((st, n) for st, n in zip(x.strides, x.shape) if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def check_partial_overlap(x, y, allow_full=True):
    """PyTorch refuses to write into `x` from an operand `y` whose memory partly overlaps it
    (`a[1:].copy_(a[:-1])`); the same memory in the same layout (unless `allow_full` is False,
    as for index_put), or layouts too irregular to decide, are allowed."""
    if (y is x and allow_full) or (x.base is None and y.base is None and y is not x) or (
            not np.may_share_memory(x, y)):
        return
    if not (_dense(x) and _dense(y)):
        return
    x0, y0 = x.__array_interface__["data"][0], y.__array_interface__["data"][0]
    if allow_full and x0 == y0 and x.nbytes == y.nbytes and x.strides == y.strides:
        return
    if x0 < y0 + y.nbytes and y0 < x0 + x.nbytes:
        raise RuntimeError(PARTIAL_OVERLAP)


def check_inplace(t, overlap=True):
    """PyTorch refuses in-place writes to leaves that require grad (and to their views), to
    views made under no_grad and to the outputs of split/unbind (views of one base), and (in
    its kernels, `overlap`) to expanded tensors."""
    if not _state.enabled:
        if overlap:
            check_overlap(t._data)
        return
    extra = t._extra
    if extra is not None and t._requires_grad:
        flags = extra.__dict__
        if flags:
            if flags.get("no_grad_view"):
                raise RuntimeError(NO_GRAD_VIEW_INPLACE)
            if flags.get("multi_output"):
                raise multi_output_view_error(*multi_output_of(t), False)
            if flags.get("stale_multi_output"):
                raise multi_output_view_error(*flags["stale_multi_output"], True)
    if t._requires_grad and t._grad_fn is None:
        raise RuntimeError(_errors.LEAF_INPLACE)
    base = t._extra.base if t._extra is not None else None
    if base is not None and base._requires_grad and base._grad_fn is None:
        raise RuntimeError(_errors.VIEW_OF_LEAF_INPLACE)
    if overlap:
        check_overlap(t._data)


def writable(x):
    """`x`, or a writable alias of it when it is a read-only broadcast view (an expanded
    tensor that fill_ or `e[i] = v` may still write, as in PyTorch)."""
    if x.flags.writeable:
        return x
    root = x
    while isinstance(root.base, np.ndarray) and not root.flags.writeable:
        root = root.base
    if not root.flags.writeable:
        return x  # truly read-only memory: NumPy's error stands
    offset = x.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return np.ndarray(x.shape, x.dtype, buffer=root, offset=offset, strides=x.strides)


def _check_result(t, result_dtype, result_shape):
    if _category(result_dtype) > _category(t._data.dtype):
        raise _errors.cast_error(_dtype.from_numpy_dtype(result_dtype), t.dtype)
    if result_shape != t._data.shape:
        try:
            np.broadcast_shapes(result_shape, t._data.shape)
            ok = np.broadcast_shapes(result_shape, t._data.shape) == t._data.shape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(
                f"output with shape [{', '.join(map(str, t._data.shape))}] doesn't match the "
                f"broadcast shape [{', '.join(map(str, np.broadcast_shapes(result_shape, t._data.shape)))}]")


def run_inplace(t, op, *args, **kwargs):
    """`t = op(t, ...)` in place."""
    check_inplace(t)
    for arg in (*args, *kwargs.values()) if kwargs else args:
        if isinstance(arg, Tensor):
            check_partial_overlap(t._data, arg._data)
    first_seq = _next_seq()
    return commit(t, op(t, *args, **kwargs), first_seq)


def commit(t, new, first_seq=None, overlap=True):
    """Make `t` hold `new` (an out-of-place result of t's shape) in place. Returns t.

    `first_seq`: nodes numbered after it were made by the op that computed `new`; what they
    saved of `t` is the value about to be overwritten, so they get a snapshot of it.
    """
    if graph.forward_ad_record is not None:  # a node built only for a tangent is no history
        from ..autograd.forward_ad import _resolve_pending
        _resolve_pending()
    check_inplace(t, overlap)
    if new._grad_fn is not None and t._extra is not None and t._extra.__dict__:
        flags = t._extra.__dict__  # writing a history into a view that may not get one
        if flags.get("no_grad_view"):
            raise RuntimeError(NO_GRAD_VIEW_INPLACE)
        if flags.get("multi_output"):
            raise multi_output_view_error(*multi_output_of(t), False)
    _check_result(t, new._data.dtype, new._data.shape)
    if new._data.dtype != t._data.dtype and new._requires_grad:
        if new._grad_fn is not None and new._grad_fn.n_outputs == 1:
            _cast_result(new, t._data.dtype)  # PyTorch: still AddBackward0..., no ToCopy
        else:
            new = S.to_dtype(new, t.dtype)
    if new._data.shape != t._data.shape:
        new = S.expand(new, t._data.shape)
    if _state.enabled and new._grad_fn is None and t._requires_grad:
        # The old value is overwritten by one that does not depend on it: its gradient is zero.
        new = _cut_history(t, new)
    if first_seq is not None and new._grad_fn is not None:
        _snapshot_saved_self(t, new._grad_fn, first_seq)
    if graph.forward_ad_record is not None:  # before the write: the tangent may need t
        from ..autograd.forward_ad import carry_tangent
        carry_tangent(new, t)
    np.copyto(writable(t._data) if not overlap else t._data, new._data, casting="unsafe")
    t._vc[0] += 1
    fn = new._grad_fn
    if fn is None:
        if t._extra is not None:
            untracked_write(t)
        return t
    if fn._saved:
        _rebind_saved_output(fn, new, t)
    base = t._extra.base if t._extra is not None else None
    if base is None:
        old = t._grad_fn
        t._grad_fn, t._nr, t._requires_grad = fn, new._nr, True
        if t._extra is not None:
            _move_retain_grad(t, old)
            if t._extra.__dict__.get("views"):
                _renew_views(t)
        return t
    # See Note [In-place on a view].
    view_fn = t._extra.view_fn
    new_base = S.index_put_region(base, new, region=view_fn)
    base._grad_fn, base._nr, base._requires_grad = new_base._grad_fn, 0, True
    _renew_views(base, t)
    return t


class AsStridedBackward0(Node):
    """out = a view of a base written in place (its grad_fn renewed from the base's new history,
    named as PyTorch names it)  ->  da = g; `next_functions` leads to the view re-derived from
    the base"""

    def backward(self, m, g):
        return g


def _renew_views(base, written=None):
    """After an in-place write to `base` (or to its view `written`), every view of the base
    takes its value, so its grad_fn is re-derived from the base's new history (PyTorch does
    this lazily, when the view is next used). Outputs of split/unbind may not be used again."""
    views = list(base._extra.__dict__.get("views") or ())  # re-deriving makes more views
    if written is not None and all(ref() is not written for ref in views):
        views.append(weakref.ref(written))
    alive = []
    with grad_mode.enable_grad():
        for ref in views:
            view = ref()
            if view is None:
                continue
            alive.append(ref)
            flags = view._extra.__dict__
            multi = multi_output_of(view)
            if multi is not None or flags.get("no_grad_view"):
                # PyTorch refuses to use these views again (graph.grad_accumulator raises)
                view._grad_fn, view._acc, view._nr = None, None, 0
                view._requires_grad = True  # as its base now does
                if multi is not None:
                    view._extra.stale_multi_output = multi
                else:
                    view._extra.stale_no_grad_view = True
                continue
            regenerated = view._extra.view_fn(base, TENSOR_MATH)
            old = view._grad_fn
            record(AsStridedBackward0, view, (regenerated,))
            view._nr = 0
            _move_retain_grad(view, old)
    base._extra.views = alive


def untracked_write(t):
    """After a write that records nothing (under no_grad, or of a value without history) into
    a tensor whose base has a history, PyTorch shows the base's views as AsStridedBackward0
    (it regenerates a view's grad_fn when its version changed); gradients are unchanged."""
    base = t._extra.base if t._extra.base is not None else t
    if base is not t and base._grad_fn is None and t._grad_fn is not None:
        _regenerate_view_fn(t, base)  # the written view itself (views of leaves are not kept)
        return
    if base._grad_fn is None or base._extra is None or not base._extra.__dict__.get("views"):
        return
    alive = []
    with grad_mode.enable_grad():
        for ref in base._extra.views:
            view = ref()
            if view is None:
                continue
            alive.append(ref)
            flags = view._extra.__dict__
            if flags.get("no_grad_view") and view._requires_grad:
                view._extra.stale_no_grad_view = True  # PyTorch refuses it from now on
                view._acc = None
                continue
            if view._grad_fn is None or flags.get("multi_output"):
                continue
            _regenerate_view_fn(view, base)
    base._extra.views = alive


def _regenerate_view_fn(view, base):
    if view._extra.__dict__.get("multi_output"):
        return
    old = view._grad_fn
    with grad_mode.enable_grad():
        record(AsStridedBackward0, view, (view._extra.view_fn(base, TENSOR_MATH),))
    view._nr = 0
    _move_retain_grad(view, old)


def _move_retain_grad(t, old):
    """`t.retain_grad()` follows t to its new history after an in-place write (PyTorch moves
    the retains_grad hook: `.grad` is the gradient of the new value)."""
    if old is None or old is t._grad_fn or not t._extra.retains_grad:
        return
    hooks = old._tensor_hooks or ()
    mine = [h for h in hooks if h[2] and h[1]() is t]
    if not mine:
        return
    old._tensor_hooks = [h for h in hooks if h not in mine] or None
    node = t._grad_fn
    if node._tensor_hooks is None:
        node._tensor_hooks = []
    node._tensor_hooks.append((t._nr, mine[0][1], True))


def _cast_result(new, dtype):
    """Cast an op's fresh result to the in-place target's dtype, keeping its node: the
    gradient then arrives in the target's dtype, and the engine casts it for the inputs."""
    node, old = new._grad_fn, new._data
    new._data = old.astype(dtype)
    node._meta = ((old.shape, new._data.dtype),)
    for value in node._saved or ():
        if isinstance(value, SavedOutput) and value._data is old:
            value._data = new._data


def _rebind_saved_output(node, new, t):
    """An in-place op's saved result is `t` itself (as in PyTorch), so that a later in-place
    write to `t` (`y.sigmoid_(); y.pow_(2)`) fails the version check at backward."""
    for i, value in enumerate(node._saved):
        if isinstance(value, SavedOutput) and value._data is new._data:
            value._data, value._vc = t._data, t._vc
            node._versions[i] = t._vc[0]


def _snapshot_saved_self(t, fn, first_seq):
    snapshot = None
    stack, seen = [fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen or node._seq <= first_seq:
            continue
        seen.add(node)
        saved = node._saved
        k = next((k for k, v in enumerate(saved) if v is t), None) if saved else None
        if k is not None:
            if snapshot is None:
                snapshot = Tensor._make(t._data.copy(), t._requires_grad)
                snapshot._grad_fn, snapshot._nr = t._grad_fn, t._nr
            # only `self` (saved first) is the old value: `t` saved again as another operand
            # (`x.mul_(x)`) is `t` itself, which the write makes stale (PyTorch raises at
            # backward: "modified by an inplace operation")
            node._saved = tuple(saved[:k]) + (snapshot,) + tuple(saved[k + 1:])
            node._versions = list(node._versions)
            node._versions[k] = 0
        stack.extend(next_fn for next_fn, _ in node.next_functions)


def _cut_history(t, new):
    from ._core import record, wrap

    out = wrap(new._data)
    record(pointwise.FillBackward0, out, (t,))
    return out


def _fits_as_is(x, y):
    """`y` applies to array `x` with nothing to promote, cast or broadcast."""
    if type(y) is float:
        return x.dtype.kind == "f"
    return type(y) is np.ndarray and y.dtype is x.dtype and y.shape == x.shape


def _fast_binary(ufunc, op):
    """`t op= other`: straight into the array when no graph is built, else op + commit."""

    def inplace(t, other, *, alpha=None):
        if alpha is not None:
            if hasattr(other, "_data"):  # the operand as given may overlap t, not its multiple
                check_partial_overlap(t._data, other._data)
            other = other * alpha
        if needs_grad(t, other if hasattr(other, "_data") else None):
            return run_inplace(t, op, other)
        x = t._data
        if not x.flags.writeable:
            check_overlap(x)
        y = other._data if hasattr(other, "_data") else other
        if type(y) is np.ndarray:
            check_partial_overlap(x, y)
        if _fits_as_is(x, y) and (ufunc is not np.true_divide or x.dtype.kind == "f"):
            ufunc(x, y, out=x)  # the optimizer step `w -= lr * w.grad`
            t._vc[0] += 1
            if t._extra is not None:
                untracked_write(t)
            return t
        if isinstance(y, (list, tuple)):
            y = np.asarray(y)
        rt = _dtype.result_type(t, other)
        if ufunc is np.true_divide and rt.np.kind != "f":
            rt = _dtype.get_default_dtype()
        if hasattr(y, "shape") and y.shape != x.shape:
            _check_result(t, rt.np, _errors.broadcast_shapes(x.shape, y.shape))
        else:
            _check_result(t, rt.np, x.shape)
        if isinstance(y, np.ndarray) and y.dtype != x.dtype:
            y = y.astype(rt.np)
        ufunc(x, y, out=x, casting="unsafe")
        t._vc[0] += 1
        if t._extra is not None:
            untracked_write(t)
        return t

    inplace.__name__ = op.__name__ + "_"
    return inplace


add_ = _fast_binary(np.add, arith.add)
sub_ = _fast_binary(np.subtract, arith.sub)
mul_ = _fast_binary(np.multiply, arith.mul)
div_ = _fast_binary(np.true_divide, arith.div)


def pow_(t, exponent):
    return run_inplace(t, arith.pow, exponent)


def _unary_inplace(op):
    def inplace(t, *args, **kwargs):
        return run_inplace(t, op, *args, **kwargs)

    inplace.__name__ = op.__name__ + "_"
    return inplace


for _name, _op in [("neg", arith.neg), ("abs", arith.abs), ("sign", arith.sign),
                   ("square", arith.square), ("reciprocal", arith.reciprocal),
                   ("exp", pointwise.exp), ("log", pointwise.log), ("sqrt", pointwise.sqrt),
                   ("rsqrt", pointwise.rsqrt), ("sin", pointwise.sin), ("cos", pointwise.cos),
                   ("tanh", pointwise.tanh), ("sigmoid", pointwise.sigmoid),
                   ("relu", pointwise.relu), ("clamp", pointwise.clamp),
                   ("floor", pointwise.floor), ("ceil", pointwise.ceil),
                   ("round", pointwise.round), ("trunc", pointwise.trunc),
                   ("log1p", pointwise.log1p), ("expm1", pointwise.expm1),
                   ("masked_fill", pointwise.masked_fill), ("remainder", arith.remainder),
                   ("tril", S.tril), ("triu", S.triu), ("scatter", S.scatter),
                   ("scatter_add", S.scatter_add), ("index_put", S.index_put),
                   ("leaky_relu", pointwise.leaky_relu), ("elu", pointwise.elu)]:
    globals()[_name + "_"] = _unary_inplace(_op)

clip_ = clamp_  # noqa: F821


def fill_(t, value, _node_cls=pointwise.FillBackward2):
    if hasattr(value, "_data"):
        if value._data.ndim:
            raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value._data.ndim} dimensions.")
        if needs_grad(t, value):  # PyTorch: FillBackward3 (dvalue = sum of g)
            check_inplace(t, overlap=False)
            return commit(t, S.index_put_region(t, value, key=(Ellipsis,),
                                                node_cls=S.FillBackward3), overlap=False)
    v = value.item() if hasattr(value, "_data") else value
    # one value everywhere: PyTorch lets fill_ write an expanded tensor
    if needs_grad(t):
        return commit(t, pointwise.full_like_op(t, v, _node_cls), overlap=False)
    check_inplace(t, overlap=False)
    writable(t._data).fill(v)
    t._vc[0] += 1
    if t._extra is not None:
        untracked_write(t)
    return t


def zero_(t):
    return fill_(t, 0, pointwise.ZeroBackward0)


def copy_(t, src, non_blocking=False):
    src = as_tensor_arg(src)
    check_inplace(t)
    check_partial_overlap(t._data, src._data)
    if needs_grad(t, src):
        if src._data.shape != t._data.shape:  # PyTorch's errors for shapes that do not fit
            _errors.broadcast_shapes(t._data.shape, src._data.shape)
            _check_result(t, t._data.dtype, src._data.shape)
        # recorded as CopyBackwards (the engine casts the gradient back to src's dtype)
        return commit(t, S.index_put_region(t, src, key=(Ellipsis,), node_cls=S.CopyBackwards))
    try:
        np.copyto(t._data, src._data, casting="unsafe")
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a ({t._data.shape[-1] if t._data.ndim else 1}) must match the "
            f"size of tensor b ({src._data.shape[-1] if src._data.ndim else 1}) at "
            "non-singleton dimension 0") from None
    t._vc[0] += 1
    if t._extra is not None:
        untracked_write(t)
    return t


def setitem(t, key, value):
    """`t[key] = value`, recorded in the graph as CopySlices / IndexPutBackward0."""
    if not hasattr(value, "_data"):
        if isinstance(value, (list, tuple, np.ndarray)):
            value = as_tensor_arg(value)
        elif isinstance(value, np.generic):
            value = value.item()
    key, basic = S.normalize_index(key)
    if _state.enabled and t._requires_grad and t._grad_fn is None and (
            S.setitem_node_class(key, t._data.shape) is S.CopySlices):
        # PyTorch writes `w[0] = v` through the view w[0]; `w[:]`, `w[mask]` write into w
        try:
            t._data[key]
        except IndexError as err:  # an invalid index is reported first
            raise S._index_error(err, t._data.shape, key) from None
        raise RuntimeError(_errors.VIEW_OF_LEAF_INPLACE)
    tv = value if hasattr(value, "_data") else None
    if tv is not None:
        try:
            target = t._data[key] if basic else t._data
        except IndexError:
            target = None  # reported below
        if type(target) is np.ndarray:
            check_partial_overlap(target, tv._data, allow_full=basic)
    if not needs_grad(t, tv):
        # PyTorch writes through the indexed view: an expanded tensor may take `e[1] = v`
        check_inplace(t, overlap=False)
        if basic and not t._data.flags.writeable:
            region = t._data[key]
            if type(region) is np.ndarray:
                check_overlap(region)
        try:
            writable(t._data)[key] = tv._data if tv is not None else value
        except IndexError as err:
            raise S._index_error(err, t._data.shape, key) from None
        except ValueError as err:
            raise RuntimeError(_shape_mismatch(err, t, key, tv)) from None
        t._vc[0] += 1
        if t._extra is not None:
            untracked_write(t)
        return
    check_inplace(t)
    if tv is not None and tv._data.dtype != t._data.dtype:
        tv = S.to_dtype(tv, t.dtype)
    try:
        new = S.index_put_region(t, tv if tv is not None else value, key=key,
                                 node_cls=S.setitem_node_class(
                                     key, t._data.shape, tv is None or tv._data.ndim == 0))
    except RuntimeError as err:
        raise RuntimeError(_shape_mismatch(err, t, key, tv)) from None
    commit(t, new)


def _shape_mismatch(err, t, key, tv):
    try:
        target = t._data[key].shape
    except Exception:  # pragma: no cover - the original error is clearer then
        return str(err)
    vshape = tv._data.shape if tv is not None else ()
    if S.setitem_node_class(key, t._data.shape) is not S.IndexPutBackward0:
        try:  # a write through a view is copy_: PyTorch reports the failed expand
            S.expand(S.wrap(np.empty(vshape)), target)
        except RuntimeError as expand_error:
            return str(expand_error)
    return (f"shape mismatch: value tensor of shape [{', '.join(map(str, vshape))}] cannot be "
            f"broadcast to indexing result of shape [{', '.join(map(str, target))}]")


def addcmul_(t, t1, t2, *, value=1):
    return add_(t, arith.mul(t1, t2), alpha=value if value != 1 else None)


def addcdiv_(t, t1, t2, *, value=1):
    return add_(t, arith.div(t1, t2), alpha=value if value != 1 else None)


def lerp_(t, end, weight):
    return add_(t, arith.mul(arith.sub(end, t), weight))


def clamp_min_(t, min):
    return run_inplace(t, pointwise.clamp_min, min)


def clamp_max_(t, max):
    return run_inplace(t, pointwise.clamp_max, max)


# -- appended: in-place forms of more ops (each is the out-of-place op, then commit) ------------
def _more_inplace():
    from . import linalg as L, reduce as R

    table = {}
    for name in ["sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin",
                 "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "exp2", "erfc", "erfinv",
                 "deg2rad", "rad2deg", "sinc", "lgamma", "digamma", "frac", "sgn", "fix",
                 "nan_to_num", "logit", "atan2", "arctan2", "hypot", "xlogy", "copysign",
                 "logaddexp", "addcmul", "addcdiv", "lerp", "erf", "log2", "log10", "tan",
                 "heaviside", "maximum", "minimum", "fmax", "fmin", "bitwise_and", "bitwise_or",
                 "bitwise_xor", "bitwise_not", "logical_and", "logical_or", "logical_not",
                 "logical_xor", "eq", "ne", "lt", "le", "gt", "ge", "greater", "less"]:
        fn = getattr(pointwise, name, None)
        if fn is not None:
            table[name + "_"] = _unary_inplace(fn)
    for name in ["fmod", "floor_divide", "true_divide"]:
        table[name + "_"] = _unary_inplace(getattr(arith, name))
    for name in ["index_add", "index_fill", "index_copy", "masked_scatter", "scatter_reduce",
                 "put"]:
        table[name + "_"] = _unary_inplace(getattr(S, name))
    for name in ["addmm", "baddbmm", "addbmm", "addmv", "addr"]:
        table[name + "_"] = _unary_inplace(getattr(L, name))
    for name in ["cumsum", "cumprod", "logcumsumexp"]:
        table[name + "_"] = _unary_inplace(getattr(R, name))
    return table


MORE_INPLACE = _more_inplace()
globals().update(MORE_INPLACE)


def fill_diagonal_(t, fill_value, wrap=False):
    """Fill the main diagonal (all dims equal, or a matrix; `wrap` restarts it below a tall
    matrix's square part every width + 1 rows). Recorded as CopySlices, as PyTorch."""
    shape = t._data.shape
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    if len(shape) == 2 and wrap and shape[0] > shape[1]:
        flat = np.arange(0, t._data.size, shape[1] + 1)
    else:
        step = sum(int(np.prod(shape[d + 1:])) for d in range(len(shape)))
        flat = np.arange(min(shape)) * step
    key = np.unravel_index(flat, shape)
    if _state.enabled and t._requires_grad and t._grad_fn is None:
        raise RuntimeError(_errors.VIEW_OF_LEAF_INPLACE)  # PyTorch writes through a view
    value = fill_value.item() if hasattr(fill_value, "_data") else fill_value
    if not needs_grad(t):
        check_inplace(t)
        t._data[key] = value
        t._vc[0] += 1
        if t._extra is not None:
            untracked_write(t)
        return t
    return commit(t, S.index_put_region(t, value, key=key, node_cls=S.CopySlices))
