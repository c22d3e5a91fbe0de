"""The two namespaces backward formulas are written against. See Note [Two math modes].

`ARRAY_MATH` computes on NumPy arrays (a plain backward: fast, no graph).
`TENSOR_MATH` computes with chainrule ops (create_graph=True: the backward is recorded too).
Both offer the same functions with the same meaning; operators (+ - * / ** comparisons)
work directly on either kind of value.
"""
from __future__ import annotations

import functools

import numpy as np

from . import graph
from .graph import SavedOutput


@functools.lru_cache(maxsize=4096)
def _sum_to_axes(shape_from, shape_to):
    lead = len(shape_from) - len(shape_to)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape_to) if s == 1 and shape_from[i + lead] != 1)
    return axes


def accurate_sum(x, axes, keepdims):
    """Sum as PyTorch's CPU kernel does: float32 in its cascade order (bit-identical, see
    ops/_cascade_sum.py), other dtypes with NumPy."""
    if x.dtype == np.float32:
        return _cascade_sum(x, axes, keepdims)
    return np.add.reduce(x, axis=axes, keepdims=keepdims)  # ndarray.sum without its wrappers


def _cascade_sum(x, axes, keepdims):
    global _cascade_sum
    from ..ops._cascade_sum import cascade_sum  # ops sit above autograd: bound on first use

    _cascade_sum = cascade_sum
    return cascade_sum(x, axes, keepdims)


class ArrayMath:
    tensor_mode = False
    records_graph = False  # results are plain arrays, never differentiated again

    @staticmethod
    def unpack(value, node):
        data = getattr(value, "_data", None)  # a Tensor or a SavedOutput
        return value if data is None else data

    @staticmethod
    def to_tensor(a):
        Tensor = graph.Tensor
        return Tensor._make(np.asarray(a))

    @staticmethod
    def from_tensor(t):
        return t._data if hasattr(t, "_data") else np.asarray(t)

    @staticmethod
    def zeros(shape, dtype):
        return np.zeros(shape, dtype)

    @staticmethod
    def sum_to(g, shape):
        shape = tuple(shape)
        axes = _sum_to_axes(g.shape, shape)
        if axes:
            g = accurate_sum(g, axes, True)
        return g.reshape(shape)

    @staticmethod
    def cast(g, dtype):
        return g.astype(dtype)

    @staticmethod
    def expand(g, shape):
        size = 1
        for s in shape:
            size *= s
        if size <= 65536:  # copying is cheaper than np.broadcast_to's checks at this size
            out = np.empty(shape, dtype=g.dtype)
            out[...] = g
            return out
        return np.broadcast_to(g, shape)

    @staticmethod
    def reshape(g, shape):
        return np.reshape(g, shape)

    @staticmethod
    def transpose(g, d0, d1):
        return np.swapaxes(g, d0, d1) if np.ndim(g) else g

    @staticmethod
    def permute(g, dims):
        return np.transpose(g, dims)

    @staticmethod
    def unsqueeze(g, dim):
        return np.expand_dims(g, dim)

    @staticmethod
    def mT(x):
        return np.swapaxes(x, -1, -2)

    matmul = staticmethod(np.matmul)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sign = staticmethod(np.sign)
    cos = staticmethod(np.cos)
    sin = staticmethod(np.sin)
    abs = staticmethod(np.abs)
    floor = staticmethod(np.floor)

    @staticmethod
    def where(cond, a, b):
        return np.where(cond, a, b)

    @staticmethod
    def sum(x, dims=None, keepdim=False):
        return accurate_sum(x, dims, keepdim)

    @staticmethod
    def mean(x, dims=None, keepdim=False):
        return np.mean(x, axis=dims, keepdims=keepdim)

    @staticmethod
    def prod(x, dim):
        return np.prod(x, axis=dim)

    @staticmethod
    def all(x):
        return np.all(x)

    @staticmethod
    def getitem(g, key):
        return g[key]

    @staticmethod
    def index_zeros(shape, key, g, accumulate):
        z = np.zeros(shape, dtype=g.dtype)
        if accumulate:
            np.add.at(z, key, g)
        else:
            z[key] = g
        return z

    @staticmethod
    def scatter_zeros(shape, dim, index, g):
        from ..ops.shape import _scatter_add_array

        return _scatter_add_array(np.zeros(shape, dtype=g.dtype), dim, index, g)

    @staticmethod
    def gather(g, dim, index):
        return np.take_along_axis(g, index, axis=dim)

    @staticmethod
    def cat(gs, dim):
        return np.concatenate(gs, axis=dim)

    @staticmethod
    def stack(gs, dim):
        return np.stack(gs, axis=dim)

    @staticmethod
    def flip(g, dims):
        return np.flip(g, dims)

    @staticmethod
    def cumsum(g, dim):
        return np.cumsum(g, axis=dim)

    @staticmethod
    def clone(g):
        return np.array(g, copy=True)


class TensorMath:
    """Same functions as ArrayMath, built from differentiable chainrule ops.

    The ops are bound by `bind()` once the ops package is imported (ops import the engine).
    """

    tensor_mode = True
    records_graph = True  # create_graph=True: the backward is itself a graph

    def bind(self):
        from .. import ops
        from ..ops import shape as S, reduce as R, pointwise as P, linalg as L, arith as A

        self.exp, self.log, self.sign = P.exp, P.log, A.sign
        self.cos, self.sin, self.abs, self.floor = P.cos, P.sin, A.abs, P.floor
        self.matmul, self.mT = L.matmul, S.mT
        self.reshape, self.transpose, self.permute = S.reshape, S.transpose, S.permute
        self.unsqueeze, self.expand, self.getitem = S.unsqueeze, S.expand, S.getitem
        self.cat, self.stack, self.flip, self.clone = S.cat, S.stack, S.flip, S.clone
        self.gather, self.cumsum = S.gather, R.cumsum
        self.index_zeros, self.scatter_zeros = S.index_zeros, S.scatter_zeros
        self.prod, self.where, self.cast = R.prod, P.where, S.to_dtype
        self.sum, self.mean = R.sum, R.mean
        self.sum_to = ops.sum_to

    @staticmethod
    def unpack(value, node):
        if isinstance(value, SavedOutput):
            Tensor = graph.Tensor
            t = Tensor._make(value._data, True, vc=value._vc)
            t._grad_fn, t._nr = node, value.nr
            return t
        return value

    @staticmethod
    def to_tensor(t):
        return t

    @staticmethod
    def from_tensor(t):
        return t

    @staticmethod
    def zeros(shape, dtype):
        Tensor = graph.Tensor
        return Tensor._make(np.zeros(shape, dtype))

    @staticmethod
    def all(x):
        return bool(np.all(x._data))


ARRAY_MATH = ArrayMath()
TENSOR_MATH = TensorMath()
