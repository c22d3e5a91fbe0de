"""Shape ops, joining and splitting, and indexing.

Views (reshape, transpose, basic indexing...) share memory and the version counter with their
source, as in PyTorch; `_view` also remembers how to re-derive the view from its base so that an
in-place write through a view can be recorded on the base (see ops/inplace.py).
"""
from __future__ import annotations

import builtins
import weakref

import numpy as np

from ..tensor import Tensor, _Extra

from .. import _dtype, _errors
from ._core import (Node, record, record_multi, wrap, needs, needs_grad, as_tensor_arg, _make,
                    zero_grad)
from ..autograd.grad_mode import state as _grad_state
from ..autograd.graph import DERIVED


# -- views ------------------------------------------------------------------------------------
def _view(src, data, view_fn):
    """A tensor over `data` (a NumPy view of src's array) that is a view of `src`.

    Every view remembers its base and how to re-derive itself from it (see Note [In-place on
    a view] in ops/inplace.py). The base keeps weak references to its views while an in-place
    write could still give them a new history (it has one, or it is a float tensor that does
    not require grad yet), so that the write can renew their grad_fn. A view made under
    no_grad of a tensor that requires grad requires grad but has no history, as in PyTorch."""
    out = _make(data, vc=src._vc)
    extra = out._extra = _Extra()
    src_extra = src._extra
    parent = src_extra.base if src_extra is not None else None
    if parent is None:
        extra.base, extra.view_fn = src, view_fn
        parent = src
    else:
        outer = src_extra.view_fn
        extra.base = parent
        extra.view_fn = lambda x, m: view_fn(outer(x, m), m)
    if src_extra is not None and src_extra.__dict__.get("multi_output") is not None:
        extra.multi_output = DERIVED  # PyTorch's rules for split/unbind outputs reach it too
    if not _grad_state.enabled or (src_extra is not None
                                   and src_extra.__dict__.get("no_grad_view")):
        out._requires_grad = src._requires_grad
        extra.no_grad_view = True
        extra.no_grad_view_version = out._vc[0]  # written in place since: no grad_fn to give
    if parent._grad_fn is not None or (not parent._requires_grad and data.dtype.kind == "f"):
        _remember_view(parent, out)
    return out


def _remember_view(base, view):
    """Add a weak reference to `view` to the base's list, dropping dead ones now and then (a
    long-lived base such as a dataset is sliced once per batch)."""
    extra = base._extra
    if extra is None:
        extra = base._extra = _Extra()
    state = extra.__dict__
    views = state.get("views")
    if views is None:
        extra.views = [weakref.ref(view)]
        return
    views.append(weakref.ref(view))
    if len(views) > state.get("views_prune_at", 32):
        views[:] = [ref for ref in views if ref() is not None]
        extra.views_prune_at = 2 * len(views) + 32


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _infer_shape(shape, numel):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of "
                               f"size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size "
                           f"{numel}")
    return tuple(shape)


class ViewBackward0(Node):
    """out = a viewed with a new shape  ->  da = g reshaped back"""
    saved_attrs = {"self_sym_sizes": "shape"}

    __slots__ = ("shape",)

    def backward(self, m, g):
        return m.reshape(g, self.shape)


class ReshapeAliasBackward0(ViewBackward0):
    """out = reshape of a non-contiguous tensor that is still a view  ->  da = g reshaped back"""


def _reshaped(a, shape, must_view, alias=True):
    """view (`must_view`) or reshape. PyTorch names a reshape that views a non-contiguous
    tensor ReshapeAliasBackward0 (`alias`), a view ViewBackward0."""
    x = a._data
    shape = _infer_shape(shape, x.size)
    if shape == x.shape:
        data = x.view()
    else:
        data = x.view()
        try:
            data.shape = shape  # raises when no view is possible (like PyTorch's view)
        except AttributeError:
            if must_view:
                raise RuntimeError(
                    "view size is not compatible with input tensor's size and stride (at least "
                    "one dimension spans across two contiguous subspaces). Use .reshape(...) "
                    "instead.") from None
            # PyTorch copies (CloneBackward0), then views the copy (UnsafeViewBackward0).
            copied = clone(a)
            out = wrap(copied._data.reshape(shape))
            node = record(UnsafeViewBackward0, out, (copied,))
            if node is not None:
                node.shape = x.shape
            return out
    out = _view(a, data, lambda t, m: m.reshape(t, shape))
    cls = ViewBackward0 if must_view or not alias or x.flags.c_contiguous else ReshapeAliasBackward0
    node = record(cls, out, (a,))
    if node is not None:
        node.shape = x.shape
    return out


def reshape(a, *shape):
    return _reshaped(a, _shape_arg(shape), False)


def view(a, *shape):
    if len(shape) == 1 and isinstance(shape[0], _dtype.dtype):
        raise RuntimeError("view(dtype) is not supported by chainrule")
    return _reshaped(a, _shape_arg(shape), True)


def view_as(a, other):
    return view(a, other._data.shape)


def reshape_as(a, other):
    return reshape(a, other._data.shape)


def flatten(a, start_dim=0, end_dim=-1):
    x = a._data
    if x.ndim == 0:
        return reshape(a, (1,))
    s = _errors.normalize_dim(start_dim, x.ndim)
    e = _errors.normalize_dim(end_dim, x.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return a
    n = 1
    for d in x.shape[s:e + 1]:
        n *= d
    return reshape(a, x.shape[:s] + (n,) + x.shape[e + 1:])


def unflatten(a, dim, sizes):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    sizes = _infer_shape(tuple(sizes), x.shape[d])
    return _reshaped(a, x.shape[:d] + sizes + x.shape[d + 1:], False, alias=False)


class SqueezeBackward0(ViewBackward0):
    """out = a without its size-1 dims  ->  da = g reshaped back"""


class SqueezeBackward1(ViewBackward0):
    """out = a without size-1 dim d  ->  da = g reshaped back"""


class SqueezeBackward2(ViewBackward0):
    """out = a without size-1 dims (a tuple of dims)  ->  da = g reshaped back"""


class SqueezeBackward4(ViewBackward0):
    """out = a.squeeze_(d) (inside matmul of a vector)  ->  da = g reshaped back"""


class UnsafeViewBackward0(ViewBackward0):
    """out = a copy of a viewed with a new shape (reshape of a non-viewable tensor)  ->  da = g
    reshaped back"""


class UnsqueezeBackward0(ViewBackward0):
    """out = a with a new size-1 dim  ->  da = g reshaped back. When it ends an index like
    a[1:, None], `key` is set and da = zeros with g at the index."""

    __slots__ = ("key",)

    def backward(self, m, g):
        key = getattr(self, "key", None)
        if key is None:
            return m.reshape(g, self.shape)
        return m.index_zeros(self.shape, key, g, False)


def _reshape_view(a, new_shape, node_cls, fresh=False):
    """`fresh`: `a` is an op's own new result, reshaped in place as PyTorch does inside an op
    (`_unsafe_view`, `squeeze_`): the output is not a view, so in-place writes to it are plain."""
    x = a._data
    if fresh:
        out = _make(x.reshape(new_shape), vc=a._vc)
    else:
        out = _view(a, x.reshape(new_shape), lambda t, m: m.reshape(t, new_shape))
    node = record(node_cls, out, (a,))
    if node is not None:
        node.shape = x.shape
    return out


def _unsafe_view(a, shape):
    """A view of the contiguous `a` (a fresh result) with a new shape: UnsafeViewBackward0."""
    return _reshape_view(a, tuple(shape), UnsafeViewBackward0, fresh=True)


def squeeze(a, dim=None):
    x = a._data
    if dim is None:
        return _reshape_view(a, tuple(s for s in x.shape if s != 1), SqueezeBackward0)
    dims = _errors.normalize_dims(dim, x.ndim) if x.ndim else ()
    shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return _reshape_view(a, shape, SqueezeBackward1 if isinstance(dim, int) else SqueezeBackward2)


def unsqueeze(a, dim):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim + 1)
    return _reshape_view(a, x.shape[:d] + (1,) + x.shape[d:], UnsqueezeBackward0)


class TransposeBackward0(Node):
    """out = a with dims d0, d1 swapped  ->  da = g with them swapped back"""
    saved_attrs = {"dim0": "d0", "dim1": "d1"}

    __slots__ = ("d0", "d1")

    def backward(self, m, g):
        return m.transpose(g, self.d0, self.d1)


class TBackward0(TransposeBackward0):
    """out = a^T (a 2-D)  ->  da = g^T"""


def _transpose(a, d0, d1, node_cls):
    x = a._data
    d0 = _errors.normalize_dim(d0, x.ndim)
    d1 = _errors.normalize_dim(d1, x.ndim)
    data = np.swapaxes(x, d0, d1) if x.ndim else x.view()
    out = _view(a, data, lambda t, m: m.transpose(t, d0, d1))
    node = record(node_cls, out, (a,))
    if node is not None:
        node.d0, node.d1 = d0, d1
    return out


def transpose(a, dim0, dim1):
    return _transpose(a, dim0, dim1, TransposeBackward0)


swapaxes = swapdims = transpose


def t(a):
    if a._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{a._data.ndim}D")
    if a._data.ndim < 2:
        return _transpose(a, 0, 0, TBackward0) if a._data.ndim else a
    return _transpose(a, 0, 1, TBackward0)


def mT(a):
    if a._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{a._data.ndim}-D tensor.")
    return _transpose(a, -2, -1, TransposeBackward0)


class PermuteBackward0(Node):
    """out = a with dims permuted  ->  da = g with the inverse permutation"""

    __slots__ = ("inverse",)

    def backward(self, m, g):
        return m.permute(g, self.inverse)


def permute(a, *dims):
    x = a._data
    dims = _shape_arg(dims)
    if len(dims) != x.ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not "
            f"equal to len(dims) = {len(dims)}")
    dims = _errors.normalize_dims(dims, x.ndim)
    out = _view(a, x.transpose(dims), lambda t, m: m.permute(t, dims))
    node = record(PermuteBackward0, out, (a,))
    if node is not None:
        node.inverse = tuple(int(i) for i in np.argsort(dims))
    return out


def T(a):
    nd = a._data.ndim
    if nd != 2 and nd != 0:
        import warnings

        warnings.warn(
            "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
            "deprecated and it will throw an error in a future release. Consider `x.mT` to "
            "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to "
            "reverse the dimensions of a tensor.", UserWarning, stacklevel=3)
    return permute(a, tuple(range(nd - 1, -1, -1)))


def movedim(a, source, destination):
    """Move dims `source` to positions `destination`; the others keep their order."""
    n = a._data.ndim
    src = list(source) if isinstance(source, (tuple, list)) else [source]
    dst = list(destination) if isinstance(destination, (tuple, list)) else [destination]
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    src = [_errors.normalize_dim(d, n) for d in src]
    dst = [_errors.normalize_dim(d, n) for d in dst]
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({dims})")
    perm = [None] * n
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(d for d in range(n) if d not in src)
    return permute(a, tuple(p if p is not None else next(rest) for p in perm))


moveaxis = movedim


class ExpandBackward0(Node):
    """out = a broadcast to a bigger shape  ->  da = g summed over the broadcast dims
    (the engine's sum_to does the summing; see Note [Broadcasting in backward])"""

    def backward(self, m, g):
        return g


def expand(a, *sizes):
    x = a._data
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(
            f"expand(torch.FloatTensor{{[{', '.join(map(str, x.shape))}]}}, size=[{', '.join(map(str, sizes))}]): "
            "the number of sizes provided "
            f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor "
            f"({x.ndim})")
    lead = len(sizes) - x.ndim
    target = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   "leading, non-existing dimension 0")
            target.append(s)
            continue
        cur = x.shape[i - lead]
        if s == -1:
            target.append(cur)
        elif cur == 1 or cur == s:
            target.append(s)
        else:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: [{', '.join(map(str, sizes))}].  "
                f"Tensor sizes: [{', '.join(map(str, x.shape))}]")
    target = tuple(target)
    out = _view(a, np.broadcast_to(x, target), lambda t, m: m.expand(t, target))
    record(ExpandBackward0, out, (a,))
    return out


def expand_as(a, other):
    return expand(a, other._data.shape)


def broadcast_to(a, shape):
    return expand(a, tuple(shape))


def broadcast_tensors(*tensors):
    shape = ()
    for t_ in tensors:
        shape = _errors.broadcast_shapes(shape, t_._data.shape)
    # a tensor of the broadcast shape already comes back as itself, as in PyTorch
    return tuple(t_ if t_._data.shape == shape else expand(t_, shape) for t_ in tensors)


class RepeatBackward0(Node):
    """out = a tiled `repeats` times  ->  da = sum of g over the tiles"""

    __slots__ = ("shape", "repeats")

    def backward(self, m, g):
        shape = (1,) * (len(self.repeats) - len(self.shape)) + tuple(self.shape)
        split = []
        for r, s in zip(self.repeats, shape):
            split += [r, s]
        g = m.reshape(g, tuple(split))
        g = m.sum(g, tuple(range(0, len(split), 2)), False)
        return m.reshape(g, self.shape)


def repeat(a, *repeats):
    x = a._data
    repeats = _shape_arg(repeats)
    if len(repeats) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    out = wrap(np.tile(x, repeats))
    node = record(RepeatBackward0, out, (a,))
    if node is not None:
        node.shape, node.repeats = x.shape, repeats
    return out


def tile(a, dims):
    dims = tuple(dims)
    nd = a._data.ndim
    if len(dims) < nd:
        dims = (1,) * (nd - len(dims)) + dims
    return repeat(a, dims)


def repeat_interleave(a, repeats, dim=None):
    if dim is None:
        a = reshape(a, (-1,))
        dim = 0
    d = _errors.normalize_dim(dim, a._data.ndim)
    reps = repeats._data if hasattr(repeats, "_data") else repeats
    idx = np.repeat(np.arange(a._data.shape[d]), reps)
    return index_select(a, d, wrap(idx.astype(np.int64)))


# -- joining and splitting --------------------------------------------------------------------
class CatBackward0(Node):
    """out = [a; b; ...] along dim  ->  each input gets its slice of g"""
    saved_attrs = {"dim": "dim"}

    __slots__ = ("dim", "sizes")

    def backward(self, m, g):
        grads, start = [], 0
        for i, size in enumerate(self.sizes):
            if needs(self, i):
                index = (slice(None),) * self.dim + (slice(start, start + size),)
                grads.append(m.getitem(g, index))
            else:
                grads.append(None)
            start += size
        return tuple(grads)


def _tensor_list(tensors, name):
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if len(tensors) == 0:
        raise RuntimeError(f"{name}(): expected a non-empty list of Tensors")
    return [as_tensor_arg(t_) for t_ in tensors]


def cat(tensors, dim=0, *, out=None):
    tensors = _tensor_list(tensors, "torch.cat")
    # PyTorch skips legacy empty 1-D tensors of shape (0,)
    kept = [t_ for t_ in tensors if not (t_._data.ndim == 1 and t_._data.shape[0] == 0)] or tensors[:1]
    ref = kept[0]._data
    if ref.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = _errors.normalize_dim(dim, ref.ndim)
    for i, t_ in enumerate(kept):
        x = t_._data
        if x.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and "
                               f"{x.ndim}")
        for j in range(ref.ndim):
            if j != d and x.shape[j] != ref.shape[j]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {ref.shape[j]} but got size {x.shape[j]} for "
                                   f"tensor number {i} in the list.")
    rt = _dtype.result_type(*kept) if len({t_._data.dtype for t_ in kept}) > 1 else None
    arrays = [t_._data if rt is None else t_._data.astype(rt.np) for t_ in kept]
    result = wrap(np.concatenate(arrays, axis=d))
    node = record(CatBackward0, result, kept)
    if node is not None:
        node.dim, node.sizes = d, [t_._data.shape[d] for t_ in kept]
    return result


concat = concatenate = cat


class StackBackward0(Node):
    """out = inputs stacked on a new dim  ->  input i gets g[..., i, ...]"""

    __slots__ = ("dim",)

    def backward(self, m, g):
        n = len(self.next_functions)
        return tuple(m.getitem(g, (slice(None),) * self.dim + (i,)) if needs(self, i) else None
                     for i in range(n))


def stack(tensors, dim=0, *, out=None):
    tensors = _tensor_list(tensors, "stack")
    shape = tensors[0]._data.shape
    for i, t_ in enumerate(tensors):
        if t_._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"[{', '.join(map(str, shape))}] at entry 0 and "
                               f"[{', '.join(map(str, t_._data.shape))}] at entry {i}")
    d = _errors.normalize_dim(dim, len(shape) + 1)
    rt = _dtype.result_type(*tensors) if len({t_._data.dtype for t_ in tensors}) > 1 else None
    arrays = [t_._data if rt is None else t_._data.astype(rt.np) for t_ in tensors]
    result = wrap(np.stack(arrays, axis=d))
    node = record(StackBackward0, result, tensors)
    if node is not None:
        node.dim = d
    return result


def hstack(tensors):
    tensors = _tensor_list(tensors, "hstack")
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors):
    tensors = [atleast_2d(t_) for t_ in _tensor_list(tensors, "vstack")]
    return cat(tensors, 0)


def atleast_2d(a):
    nd = a._data.ndim
    return reshape(a, (1, 1)) if nd == 0 else unsqueeze(a, 0) if nd == 1 else a


class SplitBackward0(Node):
    """outs = pieces of a along dim  ->  da = the pieces' gradients joined back"""

    __slots__ = ("dim", "n_outputs")

    def backward(self, m, *grads):
        return m.cat(list(grads), self.dim)


class SplitWithSizesBackward0(SplitBackward0):
    pass


class UnbindBackward0(Node):
    """outs = slices of a along dim  ->  da = the slices' gradients stacked back"""

    __slots__ = ("dim", "n_outputs")

    def backward(self, m, *grads):
        return m.stack(list(grads), self.dim)


def _pieces(a, d, sizes, node_cls):
    x = a._data
    bounds = np.cumsum([0] + list(sizes))
    outs = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        index = (slice(None),) * d + (slice(int(lo), int(hi)),)
        outs.append(_view(a, x[index], lambda t_, m, index=index: m.getitem(t_, index)))
    node = record_multi(node_cls, outs, (a,))
    if node is not None:
        node.dim = d
    _mark_multi_output(outs, node, node_cls.__name__[:node_cls.__name__.find("Backward")])
    return tuple(outs)


def _mark_multi_output(outs, node, name):
    """PyTorch refuses in-place writes that give these views a history, and their use after
    their base got one; also when the base needed no gradient (then named as no_grad views)."""
    if node is None and not _grad_state.enabled:
        return  # plain no_grad views
    for i, o in enumerate(outs):
        o._extra.multi_output = (name if node is not None else None, i)


def split(a, split_size_or_sections, dim=0):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and n > 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size and n else [0]
        return _pieces(a, d, sizes, SplitBackward0)
    sizes = [int(s) for s in split_size_or_sections]
    if builtins.sum(sizes) != n:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                           f"tensor's size at dimension {d}), but got split_sizes={sizes}")
    return _pieces(a, d, sizes, SplitWithSizesBackward0)


def chunk(a, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = _errors.normalize_dim(dim, a._data.ndim)
    n = a._data.shape[d]
    if n == 0:  # PyTorch: `chunks` empty pieces
        return _pieces(a, d, [0] * chunks, SplitWithSizesBackward0)
    return split(a, -(-n // chunks), dim)


def tensor_split(a, indices_or_sections, dim=0):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        idx = [0] + [builtins.min(builtins.max(int(i), 0), n) for i in indices_or_sections] + [n]
        sizes = [builtins.max(hi - lo, 0) for lo, hi in zip(idx[:-1], idx[1:])]
    return _pieces(a, d, sizes, SplitWithSizesBackward0)


def unbind(a, dim=0):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    outs = []
    for i in range(x.shape[d]):
        index = (slice(None),) * d + (i, Ellipsis)  # Ellipsis: a 0-d view, not a NumPy scalar
        outs.append(_view(a, x[index], lambda t_, m, index=index: m.getitem(t_, index)))
    node = record_multi(UnbindBackward0, outs, (a,))
    if node is not None:
        node.dim = d
    _mark_multi_output(outs, node, "Unbind")
    return tuple(outs)


# -- indexing -----------------------------------------------------------------------------------
def normalize_index(key):
    """Turn a PyTorch index into a NumPy one; tell whether it is basic (gives a view)."""
    if not isinstance(key, tuple):
        key = (key,)
    out, basic = [], True
    for k in key:
        if isinstance(k, Tensor):
            arr = k._data
            if arr.dtype.kind not in "biu":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(arr.astype(bool) if arr.dtype == np.uint8 else arr)
            basic = False
        elif isinstance(k, (list, np.ndarray, range)):
            arr = np.asarray([int(v) if isinstance(v, Tensor) else v for v in k]
                             if isinstance(k, list) and any(isinstance(v, Tensor) for v in k)
                             else k)
            if arr.dtype.kind not in "biu":
                if arr.size == 0:
                    arr = arr.astype(np.int64)
                else:
                    raise IndexError("tensors used as indices must be long, int, byte or bool "
                                     "tensors")
            out.append(arr)
            basic = False
        elif isinstance(k, slice):
            if k.step is not None and int(k.step) <= 0:
                raise ValueError("step must be greater than zero")
            out.append(k)
        elif k is None or k is Ellipsis:
            out.append(k)
        elif isinstance(k, (bool, np.bool_)):
            out.append(bool(k))
            basic = False
        elif isinstance(k, (int, np.integer)):
            out.append(int(k))
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             "byte Variables are valid indices (got "
                             f"{type(k).__name__})")
    return tuple(out), basic


def _index_error(err, shape, key=()):
    """NumPy's IndexError in PyTorch's words."""
    msg = str(err).replace("axis", "dimension")
    if "too many indices" in msg and len(shape) == 0:
        first = next((k for k in key if k is not None and k is not Ellipsis), None)
        if isinstance(first, slice):
            return IndexError("slice() cannot be applied to a 0-dim tensor.")
        if isinstance(first, int) and not isinstance(first, bool):
            return IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                              "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
    if "too many indices" in msg:
        return IndexError(f"too many indices for tensor of dimension {len(shape)}")
    if "boolean index did not match" in msg:
        dim = 0
        for k in key:
            if isinstance(k, np.ndarray) and k.dtype == bool:
                for j in range(k.ndim):
                    if dim + j < len(shape) and k.shape[j] != shape[dim + j]:
                        return IndexError(
                            f"The shape of the mask {list(k.shape)} at index {j} does not match "
                            f"the shape of the indexed tensor {list(shape)} at index {dim + j}")
                dim += k.ndim
            elif k is not None and not isinstance(k, bool) and k is not Ellipsis:
                dim += 1
        return IndexError(f"The shape of the mask does not match the shape of the indexed tensor "
                          f"{list(shape)}: {msg}")
    if msg.endswith("with size 0") and any(isinstance(k, np.ndarray) and k.dtype != bool
                                           for k in key):
        return IndexError("index is out of bounds for dimension with size 0")  # (no numbers)
    return IndexError(msg)


class IndexBackward0(Node):
    """out = a[index]  ->  da = zeros with g added at index (repeated indices accumulate)"""

    __slots__ = ("shape", "key", "accumulate")

    def backward(self, m, g):
        return m.index_zeros(self.shape, self.key, g, self.accumulate)


class SelectBackward0(IndexBackward0):
    """out = a[i] along a dim  ->  da = zeros with g at i"""


class SliceBackward0(IndexBackward0):
    """out = a[lo:hi]  ->  da = zeros with g in the slice"""


class AliasBackward0(IndexBackward0):
    """out = a[...] (or a[:, :] and other indices that select everything)  ->  da = g"""


def _index_node_class(key, basic, shape, single):
    """PyTorch's grad_fn for an index: it applies the index item by item (select, slice,
    unsqueeze) and names the result after the last step; inside a tuple, a slice that keeps a
    whole dim is no step, and an index with no step at all is an alias."""
    if not basic:
        return IndexBackward0
    if single:
        k = key[0]
        return (SelectBackward0 if isinstance(k, int) else SliceBackward0 if isinstance(k, slice)
                else UnsqueezeBackward0 if k is None else AliasBackward0)
    last, dim = AliasBackward0, 0
    for k in key:
        if k is None:
            last = UnsqueezeBackward0
        elif k is Ellipsis:
            dim += len(shape) - builtins.sum(1 for j in key if j is not None and j is not Ellipsis)
        elif isinstance(k, slice):
            if k.indices(shape[dim]) != (0, shape[dim], 1):
                last = SliceBackward0
            dim += 1
        else:
            last = SelectBackward0
            dim += 1
    return last


def _split_ints_from_arrays(key, ndim):
    """PyTorch applies integer indices before array indices (NumPy mixes them): split the key
    into a basic step (ints, slices, None) and an advanced step (the arrays)."""
    consumed = builtins.sum(k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else
                            0 if k is None or k is Ellipsis or isinstance(k, bool) else 1
                            for k in key)
    first, second = [], []
    for k in key:
        if k is Ellipsis:
            first.append(Ellipsis)
            second.extend([slice(None)] * (ndim - consumed))
        elif isinstance(k, np.ndarray):
            if k.dtype == bool:
                first.extend([slice(None)] * k.ndim)
            else:
                first.append(slice(None))
            second.append(k)
        elif isinstance(k, int) and not isinstance(k, bool):
            first.append(k)
        else:
            first.append(k)
            second.append(slice(None))
    return tuple(first), tuple(second)


def getitem(a, key):
    single = not isinstance(key, tuple)
    key, basic = normalize_index(key)
    x = a._data
    if not basic and builtins.any(isinstance(k, int) and not isinstance(k, bool) for k in key):
        first, second = _split_ints_from_arrays(key, x.ndim)
        return getitem(getitem(a, first), second)
    try:
        data = x[key]
    except IndexError as err:
        raise _index_error(err, x.shape, key) from None
    view_key = key
    if basic and not isinstance(data, np.ndarray):
        view_key = key + (Ellipsis,)  # x[0] of a vector: a 0-d view (NumPy gives a copy)
        data = x[view_key]
    if basic:
        out = _view(a, data, lambda t_, m: m.getitem(t_, view_key))
    else:
        out = wrap(data)
    if not needs_grad(a):
        return out
    cls = _index_node_class(key, basic, x.shape, single)
    node = record(cls, out, (a,))
    if node is not None:
        if cls is UnsqueezeBackward0:
            node.shape = x.shape
            if not builtins.all(k is None or k is Ellipsis for k in key):
                node.key = key
        else:
            node.shape, node.key, node.accumulate = x.shape, key, not basic
    return out


class IndexZerosBackward(Node):
    """out = zeros with g placed at index (the adjoint of indexing)  ->  dg = gout[index]"""

    __slots__ = ("key",)

    def backward(self, m, g):
        return m.getitem(g, self.key)


def index_zeros(shape, key, g, accumulate):
    """zeros(shape) with `g` written (or, for advanced indices, added) at `key`; differentiable."""
    z = np.zeros(shape, dtype=g._data.dtype)
    if accumulate:
        np.add.at(z, key, g._data)
    else:
        z[key] = g._data
    out = wrap(z)
    node = record(IndexZerosBackward, out, (g,))
    if node is not None:
        node.key = key
    return out


class CopySlices(Node):
    """out = a with out[region] = value  ->  da = g outside the region, dvalue = g[region]"""

    __slots__ = ("key", "region")

    def name(self):
        return "torch::autograd::CopySlices"  # a C++ node in PyTorch, named with its namespace

    def _mask(self, shape):
        mask = np.ones(shape, dtype=bool)
        if self.key is not None:
            mask[self.key] = False
        else:
            from ..autograd.math import ARRAY_MATH

            self.region(mask, ARRAY_MATH)[...] = False
        return mask

    def backward(self, m, g):
        ga = m.where(self._mask(g.shape), g, 0.0) if needs(self, 0) else None
        gv = None
        if needs(self, 1):
            gv = m.getitem(g, self.key) if self.key is not None else self.region(g, m)
        return ga, gv


class IndexPutBackward0(CopySlices):
    """out = a with out[indices] = value  ->  da = g outside, dvalue = g[indices]"""


class CopyBackwards(CopySlices):
    """out = a with every element overwritten by value (a[:] = v)  ->  da = 0, dvalue = g"""

    def backward(self, m, g):
        # da is zeros without history, as PyTorch's zeros_like(grad)
        return (zero_grad(self, m) if needs(self, 0) else None), g


class FillBackward3(CopyBackwards):
    """out = a with every element set to a scalar value (a[:] = 0.5)  ->  da = 0,
    dvalue = sum of g"""


def setitem_node_class(key, shape, scalar_value=False):
    """PyTorch's grad_fn for `a[key] = v`: it indexes the basic part first (ints, partial
    slices, None: a view, so the write is CopySlices), then index_put_ the arrays
    (IndexPutBackward0); a key that selects everything is a plain copy_ (CopyBackwards), or
    fill_ when v is a number or 0-d tensor (FillBackward3)."""
    consumed = builtins.sum(k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else
                            0 if k is None or k is Ellipsis or isinstance(k, bool) else 1
                            for k in key)
    has_array = view = False
    dim = 0
    for k in key:
        if k is None or isinstance(k, bool):
            view = True
        elif k is Ellipsis:
            dim += len(shape) - consumed
        elif isinstance(k, np.ndarray):
            if k.dtype == bool and k.ndim == 0:
                view = True
            else:
                has_array = True
            dim += k.ndim if k.dtype == bool else 1
        elif isinstance(k, slice):
            view = view or dim >= len(shape) or k.indices(shape[dim]) != (0, shape[dim], 1)
            dim += 1
        else:
            view = True
            dim += 1
    if has_array:
        return CopySlices if view else IndexPutBackward0
    if view:
        return CopySlices
    # a 0-dim tensor is always written with copy_, even from a number
    return FillBackward3 if scalar_value and len(shape) else CopyBackwards


def index_put_region(a, value, *, key=None, region=None, basic=True, node_cls=None):
    """Out-of-place `a[key] = value` (or a write through a view region); differentiable in both.
    The node is `node_cls`, else CopySlices for a basic key and IndexPutBackward0 otherwise."""
    x = a._data
    data = x.copy()
    tv = value if isinstance(value, Tensor) else None
    v = tv._data if tv is not None else value
    try:
        if key is not None:
            data[key] = v
        else:
            from ..autograd.math import ARRAY_MATH

            region(data, ARRAY_MATH)[...] = v
    except IndexError as err:
        raise _index_error(err, x.shape, key or ()) from None
    except ValueError as err:
        raise RuntimeError(str(err)) from None
    out = wrap(data)
    if node_cls is None:
        node_cls = CopySlices if basic else IndexPutBackward0
    node = record(node_cls, out, (a, tv))
    if node is not None:
        node.key, node.region = key, region
    return out


def index_put(a, indices, values, accumulate=False):
    key, basic = normalize_index(tuple(indices))
    if accumulate:
        from .arith import add

        return add(a, index_zeros(a._data.shape, key, as_tensor_arg(values, a.dtype).expand(
            a._data[key].shape), True))
    return index_put_region(a, values, key=key, basic=basic)


class GatherBackward0(Node):
    """out[i][j] = a[i][index[i][j]] (dim 1)  ->  da = zeros with g added at index"""
    saved_fields = ("index",)
    saved_attrs = {"dim": "dim"}

    __slots__ = ("shape", "dim")

    def backward(self, m, g):
        (index,) = self.saved(m)
        return m.scatter_zeros(self.shape, self.dim, index, g)


def _check_index_tensor(index, name):
    if index._data.dtype != np.int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")


class SortBackward0(GatherBackward0):
    """values = a sorted along dim  ->  da = zeros with g put back at the sorting indices"""


class TopkBackward0(GatherBackward0):
    """values = the k largest (smallest) of a along dim  ->  da = zeros with g at their indices"""


def gather(a, dim, index, *, sparse_grad=False, _node_cls=GatherBackward0):
    index = as_tensor_arg(index)
    _check_index_tensor(index, "gather")
    x, idx = a._data, index._data
    d = _errors.normalize_dim(dim, x.ndim)
    if idx.ndim != x.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if idx.size and (idx.max() >= x.shape[d] or idx.min() < -x.shape[d]):
        bad = int(idx.max() if idx.max() >= x.shape[d] else idx.min())
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size "
                           f"{x.shape[d]}")
    for j in range(x.ndim):
        if j != d and idx.shape[j] > x.shape[j]:
            raise RuntimeError(f"Size does not match at dimension {j} expected index "
                               f"{list(idx.shape)} to be smaller than self {list(x.shape)} apart "
                               f"from dimension {d}")
    sub = x[tuple(slice(0, s) if j != d else slice(None) for j, s in enumerate(idx.shape))]
    out = wrap(np.take_along_axis(sub, idx, axis=d))
    node = record(_node_cls, out, (a,))
    if node is not None:
        node.shape, node.dim = x.shape, d
        node.save(index)
    return out


class ScatterZerosBackward(Node):
    """out = zeros with g added at index along dim (gather's adjoint)  ->  dg = gather(gout)"""

    __slots__ = ("dim",)

    def backward(self, m, gout):
        (index,) = self.saved(m)
        return m.gather(gout, self.dim, index)


def _scatter_add_array(z, dim, idx, src):
    """z[..., idx[i,j,...], ...] += src[i,j,...] along dim (repeated indices accumulate)."""
    grids = np.indices(idx.shape, sparse=True)
    full = list(grids)
    full[dim] = idx
    np.add.at(z, tuple(full), src[tuple(slice(0, s) for s in idx.shape)])
    return z


def scatter_zeros(shape, dim, index, g):
    z = _scatter_add_array(np.zeros(shape, dtype=g._data.dtype), dim, index._data, g._data)
    out = wrap(z)
    node = record(ScatterZerosBackward, out, (g,))
    if node is not None:
        node.dim = dim
        node.save(index)
    return out


class ScatterAddBackward0(Node):
    """out = a + src scattered at index  ->  da = g, dsrc = gather(g, index)"""

    __slots__ = ("dim",)

    def backward(self, m, g):
        (index,) = self.saved(m)
        return g, (m.gather(g, self.dim, index) if needs(self, 1) else None)


def scatter_add(a, dim, index, src):
    index = as_tensor_arg(index)
    d = _errors.normalize_dim(dim, a._data.ndim)
    data = _scatter_add_array(a._data.copy(), d, index._data, as_tensor_arg(src)._data)
    out = wrap(data)
    node = record(ScatterAddBackward0, out, (a, src))
    if node is not None:
        node.dim = d
        node.save(index)
    return out


class ScatterBackward0(Node):
    """out = a with src written at index  ->  da = g with written places zeroed, dsrc = gather(g)"""

    __slots__ = ("dim",)

    def backward(self, m, g):
        (index,) = self.saved(m)
        ga = None
        if needs(self, 0):
            mask = _scatter_mask(g.shape, self.dim, index)
            ga = m.where(mask, 0.0, g)
        gs = m.gather(g, self.dim, index) if needs(self, 1) else None
        return ga, gs


def _scatter_mask(shape, dim, index):
    idx = index._data if hasattr(index, "_data") else index
    grids = list(np.indices(idx.shape, sparse=True))
    grids[dim] = idx
    mask = np.zeros(shape, bool)
    mask[tuple(grids)] = True
    return mask


def scatter(a, dim, index, src=None, value=None, *, reduce=None):
    if src is None:
        src = value
    index = as_tensor_arg(index)
    d = _errors.normalize_dim(dim, a._data.ndim)
    idx = index._data
    grids = list(np.indices(idx.shape, sparse=True))
    grids[d] = idx
    data = a._data.copy()
    if isinstance(src, Tensor):
        data[tuple(grids)] = src._data[tuple(slice(0, s) for s in idx.shape)]
        ts = src
    else:
        data[tuple(grids)] = src
        ts = None
    out = wrap(data)
    node = record(ScatterBackward0, out, (a, ts))
    if node is not None:
        node.dim = d
        node.save(index)
    return out


class IndexSelectBackward0(Node):
    """out = a.index_select(dim, index)  ->  da = zeros with g added at index along dim"""

    __slots__ = ("shape", "dim")

    def backward(self, m, g):
        (index,) = self.saved(m)
        key = (slice(None),) * self.dim + (index,)
        return m.index_zeros(self.shape, key, g, True)


def index_select(a, dim, index):
    index = as_tensor_arg(index)
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    idx = index._data.reshape(-1)
    if idx.size and (idx.max() >= x.shape[d] or idx.min() < -x.shape[d]):
        raise IndexError("index out of range in self")
    out = wrap(np.take(x, idx, axis=d))
    node = record(IndexSelectBackward0, out, (a,))
    if node is not None:
        node.shape, node.dim = x.shape, d
        node.save(wrap(idx))
    return out


def masked_select(a, mask):
    mask = as_tensor_arg(mask)
    a2, m2 = broadcast_tensors(a, mask)
    return getitem(a2, m2._data.astype(bool))


def narrow(a, dim, start, length):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    start = int(start)
    if start < 0:
        start += x.shape[d]
    out = getitem(a, (slice(None),) * d + (slice(start, start + int(length)),))
    if type(out._grad_fn) is AliasBackward0:  # narrow is a slice even when it keeps everything
        out._grad_fn.__class__ = SliceBackward0
    return out


def select(a, dim, index):
    d = _errors.normalize_dim(dim, a._data.ndim)
    size = a._data.shape[d]
    if not -size <= int(index) < size:
        raise IndexError(f"select(): index {int(index)} out of range for tensor of size "
                         f"[{', '.join(map(str, a._data.shape))}] at dimension {d}")
    return getitem(a, (slice(None),) * d + (int(index),))


def take(a, index):
    return getitem(reshape(a, (-1,)), as_tensor_arg(index))


def take_along_dim(a, indices, dim=None):
    if dim is None:
        return gather(reshape(a, (-1,)), 0, reshape(indices, (-1,)))
    return gather(a, dim, indices)


class FlipBackward0(Node):
    """out = a reversed along dims  ->  da = g reversed back"""

    __slots__ = ("dims",)

    def backward(self, m, g):
        return m.flip(g, self.dims)


def flip(a, dims):
    x = a._data
    dims = _errors.normalize_dims(dims, x.ndim)
    out = wrap(np.flip(x, dims).copy() if x.ndim else x.copy())
    node = record(FlipBackward0, out, (a,))
    if node is not None:
        node.dims = dims
    return out


def fliplr(a):
    return flip(a, (1,))


def flipud(a):
    return flip(a, (0,))


def roll(a, shifts, dims=None):
    if dims is None:
        return reshape(roll(reshape(a, (-1,)), shifts, 0), a._data.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = a
    for s, d in zip(shifts, dims):
        n = a._data.shape[d]
        idx = (np.arange(n) - s) % n
        out = index_select(out, d, wrap(idx.astype(np.int64)))
    return out


class TrilBackward0(Node):
    """out = lower triangle of a  ->  da = lower triangle of g"""

    __slots__ = ("k", "upper")

    def backward(self, m, g):
        rows, cols = g.shape[-2], g.shape[-1]
        keep = np.triu(np.ones((rows, cols), bool), self.k) if self.upper else \
            np.tril(np.ones((rows, cols), bool), self.k)
        return m.where(keep, g, 0.0)


class TriuBackward0(TrilBackward0):
    """out = upper triangle of a  ->  da = upper triangle of g"""


def tril(a, diagonal=0):
    out = wrap(np.tril(a._data, diagonal))
    node = record(TrilBackward0, out, (a,))
    if node is not None:
        node.k, node.upper = diagonal, False
    return out


def triu(a, diagonal=0):
    out = wrap(np.triu(a._data, diagonal))
    node = record(TriuBackward0, out, (a,))
    if node is not None:
        node.k, node.upper = diagonal, True
    return out


class CloneBackward0(Node):
    """out = copy of a  ->  da = g"""

    def backward(self, m, g):
        return g


def clone(a, *, memory_format=None):
    out = wrap(a._data.copy())
    record(CloneBackward0, out, (a,))
    return out


def contiguous(a, memory_format=None):
    if a._data.flags.c_contiguous:
        return a
    return clone(a)


class ToCopyBackward0(Node):
    """out = a cast to another dtype  ->  da = g cast back (done by the engine)"""

    def backward(self, m, g):
        return g


def to_dtype(a, dtype, copy=False):
    np_dtype = _dtype.to_numpy_dtype(dtype)
    if a._data.dtype == np_dtype and not copy:
        return a
    out = wrap(a._data.astype(np_dtype))
    if np_dtype.kind == "f":
        record(ToCopyBackward0, out, (a,))
    return out


def diag(a, diagonal=0):
    x = a._data
    if x.ndim == 1:
        n = x.shape[0] + builtins.abs(diagonal)
        rows = np.arange(x.shape[0]) + builtins.max(-diagonal, 0)
        cols = np.arange(x.shape[0]) + builtins.max(diagonal, 0)
        return index_put(wrap(np.zeros((n, n), x.dtype)), (wrap(rows), wrap(cols)), a)
    return diagonal_(a, diagonal)


def diagonal_(a, offset=0, dim1=0, dim2=1):
    x = a._data
    n = builtins.min(x.shape[dim1] - builtins.max(-offset, 0), x.shape[dim2] - builtins.max(offset, 0))
    rows = np.arange(builtins.max(n, 0)) + builtins.max(-offset, 0)
    cols = np.arange(builtins.max(n, 0)) + builtins.max(offset, 0)
    key = [slice(None)] * x.ndim
    key[dim1], key[dim2] = rows, cols
    out = getitem(a, tuple(key))
    if dim1 > dim2 or x.ndim <= 2:
        return out
    return out


def trace(a):
    from .reduce import sum as _sum

    return _sum(diagonal_(a))


def sort(a, dim=-1, descending=False, stable=False):
    from ..return_types import make_return_type

    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    idx = np.argsort(-x if descending else x, axis=d, kind="stable") if x.ndim else np.zeros((), np.int64)
    indices = wrap(idx.astype(np.int64))
    if x.ndim:
        values = gather(a, d, indices, _node_cls=SortBackward0)
    else:
        from ..autograd.composite import composite

        values = composite("SortBackward0", clone, (a,))
    return make_return_type("sort", ("values", "indices"))(values, indices)


def argsort(a, dim=-1, descending=False, stable=False):
    return sort(a, dim, descending, stable).indices


def topk(a, k, dim=-1, largest=True, sorted=True):
    from ..return_types import make_return_type

    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    if k > x.shape[d]:
        raise RuntimeError("selected index k out of range")
    order = np.argsort(-x if largest else x, axis=d, kind="stable")
    idx = np.take(order, np.arange(k), axis=d)
    indices = wrap(idx.astype(np.int64))
    values = gather(a, d, indices, _node_cls=TopkBackward0)
    return make_return_type("topk", ("values", "indices"))(values, indices)


def nonzero(a, *, as_tuple=False):
    idx = np.nonzero(a._data)
    if as_tuple:
        return tuple(wrap(i.astype(np.int64)) for i in idx)
    return wrap(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64))


# -- appended: sliding windows, strided views, indexed writes and stacking helpers -------------
class UnfoldBackward0(Node):
    """out[..., w, ..., k] = a[..., w*step + k, ...]  ->  da = g of every window added back"""

    __slots__ = ("shape", "dim", "size", "step")

    def backward(self, m, g):
        d, n = self.dim, len(self.shape)
        if n == 0:
            return m.reshape(g, ())
        perm = list(range(d + 1)) + [n] + list(range(d + 1, n))
        g = m.permute(g, perm)
        nwin = g.shape[d]
        idx = np.arange(nwin)[:, None] * self.step + np.arange(self.size)[None, :]
        return m.index_zeros(self.shape, (slice(None),) * d + (idx,), g, True)


def unfold(a, dimension, size, step):
    x = a._data
    if x.ndim == 0:
        d, n = 0, 1
    else:
        d = _errors.normalize_dim(dimension, x.ndim)
        n = x.shape[d]
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if x.ndim == 0:
        data = x.reshape(1)
    else:
        nwin = (n - size) // step + 1
        shape = x.shape[:d] + (nwin,) + x.shape[d + 1:] + (size,)
        strides = x.strides[:d] + (x.strides[d] * step,) + x.strides[d + 1:] + (x.strides[d],)
        data = np.lib.stride_tricks.as_strided(x, shape, strides)
    out = _view(a, data, lambda t, m: unfold(t, dimension, size, step))
    node = record(UnfoldBackward0, out, (a,))
    if node is not None:
        node.shape, node.dim, node.size, node.step = x.shape, d, size, step
    return out


def _root_offset(x):
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    offset = (x.__array_interface__["data"][0] - root.__array_interface__["data"][0])
    return root, offset // x.itemsize if x.itemsize else 0


class AsStridedBackward0(Node):
    """out = a strided view of a's storage  ->  da = g added back at the storage positions"""

    __slots__ = ("positions", "storage_size", "input_positions")

    def backward(self, m, g):
        flat = m.index_zeros((self.storage_size,), (self.positions,), g, True)
        return m.getitem(flat, (self.input_positions,))


def as_strided(a, size, stride, storage_offset=None):
    x = a._data
    root, own_offset = _root_offset(x)
    if not root.flags.c_contiguous:
        root = np.ascontiguousarray(x)
        own_offset = 0
    offset = own_offset if storage_offset is None else int(storage_offset)
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    flat = root.reshape(-1)
    needed = offset + builtins.sum((s - 1) * st for s, st in zip(size, stride)) + 1 \
        if all(s > 0 for s in size) else 0
    if needed > flat.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                           f"{offset}, and itemsize {x.itemsize} requiring a storage size of "
                           f"{needed * x.itemsize} are out of bounds for storage of size "
                           f"{flat.size * x.itemsize}")
    data = np.lib.stride_tricks.as_strided(flat[offset:], size,
                                           tuple(s * x.itemsize for s in stride))
    out = _view(a, data, lambda t, m: as_strided(t, size, stride, storage_offset))
    node = record(AsStridedBackward0, out, (a,))
    if node is not None:
        ids = np.arange(flat.size)
        node.positions = np.lib.stride_tricks.as_strided(ids[offset:], size,
                                                         tuple(s * ids.itemsize for s in stride))
        node.storage_size = flat.size
        # where each element of `a` sits in the storage
        if x.size:
            node.input_positions = np.lib.stride_tricks.as_strided(
                ids[own_offset:], x.shape, tuple(s // x.itemsize * ids.itemsize
                                                 for s in x.strides)).copy()
        else:
            node.input_positions = np.zeros(x.shape, np.int64)
    return out


def _dim_key(ndim, d, index):
    return (slice(None),) * d + (index,)


def _index_arg(index, name):
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise IndexError(f"{name}(): Expected dtype int32/int64 for index")
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    return idx.reshape(-1).astype(np.int64)


def index_add(a, dim, index, source, *, alpha=1):
    from .arith import add, mul

    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    idx = _index_arg(index, "index_add")
    src = source if alpha == 1 else mul(source, alpha)
    if x.ndim == 0:
        return add(a, index_zeros((1,), (idx,), reshape(src, (-1,)), True).reshape(()))
    if src._data.ndim == 0:
        src = reshape(src, (1,))
    return add(a, index_zeros(x.shape, _dim_key(x.ndim, d, idx), src, True))


def _index_mask(shape, key):
    mask = np.zeros(shape, bool)
    mask[key] = True
    return mask


def index_copy(a, dim, index, source):
    from .pointwise import where

    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    idx = _index_arg(index, "index_copy")
    key = _dim_key(x.ndim, d, idx) if x.ndim else (idx,)
    shape = x.shape if x.ndim else (1,)
    src = source if source._data.ndim == x.ndim and x.ndim else reshape(source, (-1,) if not x.ndim
                                                                          else source._data.shape)
    placed = index_zeros(shape, key, src, False)
    res = where(wrap(_index_mask(shape, key)), placed, a if x.ndim else reshape(a, (1,)))
    return res if x.ndim else reshape(res, ())


def index_fill(a, dim, index, value):
    from .pointwise import masked_fill

    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    idx = _index_arg(index, "index_fill")
    if x.ndim == 0:
        return masked_fill(a, wrap(np.asarray(idx.size > 0)), value)
    return masked_fill(a, wrap(_index_mask(x.shape, _dim_key(x.ndim, d, idx))), value)


def masked_scatter(a, mask, source):
    m = as_tensor_arg(mask)
    if m._data.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{m.dtype}")
    full = np.broadcast_to(m._data, a._data.shape)
    count = int(full.sum())
    if count > source._data.size:
        raise RuntimeError("masked_scatter: expected source to have at least as many elements "
                           "as ones in mask")
    values = getitem(reshape(source, (-1,)), slice(0, count))
    return index_put(a, (wrap(np.ascontiguousarray(full)),), values)


def scatter_reduce(a, dim, index, src, reduce, *, include_self=True):
    from .arith import div
    from .pointwise import where

    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    idx = index._data
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if reduce == "sum":
        if include_self:
            return scatter_add(a, dim, index, src)
        hit = _scatter_add_array(np.zeros(x.shape, bool), d, idx, np.ones(idx.shape, bool))
        return scatter_add(where(wrap(hit), 0.0, a) if x.dtype.kind == "f" else
                           wrap(np.where(hit, 0, x)), dim, index, src)
    if reduce == "mean":
        ones = np.ones(idx.shape, x.dtype)
        counts = _scatter_add_array(np.full(x.shape, 1 if include_self else 0, x.dtype), d, idx,
                                    ones)
        total = scatter_reduce(a, dim, index, src, "sum", include_self=include_self)
        if x.dtype.kind == "f":
            return div(total, wrap(np.maximum(counts, 1)))
        return wrap(np.floor_divide(total._data, np.maximum(counts, 1)).astype(x.dtype))
    if needs_grad(a, src):
        raise RuntimeError(f"scatter_reduce with reduce='{reduce}': the derivative is not "
                           f"implemented in chainrule")
    ufunc = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
    out = x.copy()
    if not include_self:
        hit = _scatter_add_array(np.zeros(x.shape, bool), d, idx, np.ones(idx.shape, bool))
        out[hit] = {"prod": 1, "amax": -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min,
                    "amin": np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).max}[reduce]
    grids = list(np.indices(idx.shape, sparse=True))
    grids[d] = idx
    ufunc.at(out, tuple(grids), src._data[tuple(slice(0, s) for s in idx.shape)])
    return wrap(out)


def diag_embed(a, offset=0, dim1=-2, dim2=-1):
    x = a._data
    n = x.shape[-1] + builtins.abs(offset)
    nd = x.ndim + 1
    d1, d2 = dim1 % nd, dim2 % nd
    rows = np.arange(x.shape[-1]) + builtins.max(-offset, 0)
    cols = np.arange(x.shape[-1]) + builtins.max(offset, 0)
    out = index_zeros(x.shape[:-1] + (n, n), (Ellipsis, rows, cols), a, False)
    if (d1, d2) != (nd - 2, nd - 1):
        out = movedim(out, (nd - 2, nd - 1), (d1, d2))
    return out


def diagflat(a, offset=0):
    return diag(reshape(a, (-1,)), offset)


def rot90(a, k=1, dims=(0, 1)):
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    x = a._data
    d0, d1 = (_errors.normalize_dim(d, x.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(a, (d1,)), d0, d1)
    if k == 2:
        return flip(a, (d0, d1))
    if k == 3:
        return transpose(flip(a, (d0,)), d0, d1)
    return clone(a)


def ravel(a):
    return reshape(a, (-1,))


def atleast_1d(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(atleast_1d(t) for t in tensors[0])
    if len(tensors) > 1:
        return tuple(atleast_1d(t) for t in tensors)
    a = tensors[0]
    return reshape(a, (1,)) if a._data.ndim == 0 else a


def atleast_3d(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(atleast_3d(t) for t in tensors[0])
    if len(tensors) > 1:
        return tuple(atleast_3d(t) for t in tensors)
    a = tensors[0]
    nd = a._data.ndim
    if nd == 0:
        return reshape(a, (1, 1, 1))
    if nd == 1:
        return unsqueeze(unsqueeze(a, 0), -1)
    if nd == 2:
        return unsqueeze(a, -1)
    return a


def column_stack(tensors):
    cols = [reshape(t, (-1, 1)) if t._data.ndim < 2 else t for t in tensors]
    return cat(cols, 1)


def dstack(tensors):
    return cat([atleast_3d(t) for t in tensors], 2)


row_stack = vstack


def _directional_split(a, sections, dim, name, min_dims):
    if a._data.ndim < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, "
                           f"but got a tensor with {a._data.ndim} dimensions!")
    if isinstance(sections, int) and a._data.shape[dim] % sections:
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size "
                           f"of the dimension {a._data.shape[dim]} is not divisible by the split_size "
                           f"{sections}!")
    return tensor_split(a, sections, dim)


def hsplit(a, sections):
    return _directional_split(a, sections, 0 if a._data.ndim == 1 else 1, "hsplit", 1)


def vsplit(a, sections):
    return _directional_split(a, sections, 0, "vsplit", 2)


def dsplit(a, sections):
    return _directional_split(a, sections, 2, "dsplit", 3)


def narrow_copy(a, dim, start, length):
    return clone(narrow(a, dim, start, length))


def _scatter_region(a, src, key):
    from .pointwise import where

    x = a._data
    placed = index_zeros(x.shape, key, src, False)
    return where(wrap(_index_mask(x.shape, key)), placed, a)


def select_scatter(a, src, dim, index):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    return _scatter_region(a, src, (slice(None),) * d + (int(index),))


def slice_scatter(a, src, dim=0, start=None, end=None, step=1):
    x = a._data
    d = _errors.normalize_dim(dim, x.ndim)
    return _scatter_region(a, src, (slice(None),) * d + (slice(start, end, step),))


def diagonal_scatter(a, src, offset=0, dim1=0, dim2=1):
    x = a._data
    d1, d2 = _errors.normalize_dim(dim1, x.ndim), _errors.normalize_dim(dim2, x.ndim)
    n = builtins.min(x.shape[d1] - builtins.max(-offset, 0), x.shape[d2] - builtins.max(offset, 0))
    rows = np.arange(builtins.max(n, 0)) + builtins.max(-offset, 0)
    cols = np.arange(builtins.max(n, 0)) + builtins.max(offset, 0)
    key = [slice(None)] * x.ndim
    key[d1], key[d2] = rows, cols
    key = tuple(key)
    # advanced indices not adjacent move to the front, as the diagonal's last dim does not:
    # write src laid out as a[key] is
    target_shape = x[key].shape
    if tuple(src._data.shape) != target_shape:
        src = movedim(src, -1, 0) if target_shape[0] == src._data.shape[-1] else src
    return _scatter_region(a, src, key)


def put(a, index, source, accumulate=False):
    flat = reshape(a, (-1,))
    idx = index._data.reshape(-1) % builtins.max(a._data.size, 1)
    out = index_put(flat, (wrap(idx),), reshape(source, (-1,)), accumulate)
    return reshape(out, a._data.shape)
