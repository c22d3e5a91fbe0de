"""Matrix products. `matmul` dispatches on dimensions like PyTorch (dot, mv, mm, batched)."""
from __future__ import annotations

import numpy as np

from .._errors import broadcast_shapes
from ._core import Node, record, wrap, needs, needs_grad


def _same_dtype(a, b, what="m1 and m2"):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected {what} to have the same dtype, but got: "
                           f"{a.dtype._torch_name[:-6].lower()} != {b.dtype._torch_name[:-6].lower()}")


def _shape_x(shape):
    return "x".join(str(s) for s in shape)


def _grad_of_second(m, a, g, transposed):
    """dB = A^T @ g, laid out like B: when B is a transposed view (`x @ w.t()`), computing
    (g^T @ A)^T gives w a row-major gradient, as PyTorch does (optimizers then stream it)."""
    if transposed:
        return m.mT(m.matmul(m.mT(g), a))
    return m.matmul(m.mT(a), g)


def _is_transposed(array):
    return array.ndim == 2 and array.flags.f_contiguous and not array.flags.c_contiguous


class MmBackward0(Node):
    """out = A @ B  ->  dA = g @ B^T,  dB = A^T @ g"""

    __slots__ = ("b_transposed",)

    def backward(self, m, g):
        a, b = self.saved(m)
        ga = m.matmul(g, m.mT(b)) if needs(self, 0) else None
        gb = _grad_of_second(m, a, g, self.b_transposed) if needs(self, 1) else None
        return ga, gb


def mm(a, b):
    x, y = a._data, b._data
    if x.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if y.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if x.shape[1] != y.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_shape_x(x.shape)} and {_shape_x(y.shape)})")
    _same_dtype(a, b)
    out = wrap(x @ y)
    node = record(MmBackward0, out, (a, b))
    if node is not None:
        node.b_transposed = _is_transposed(y)
        node.save(a if needs(node, 1) else None, b if needs(node, 0) else None)
    return out


class AddmmBackward0(Node):
    """out = beta*bias + alpha*(A @ B)  ->  dbias = beta*g, dA = alpha*g @ B^T, dB = alpha*A^T @ g"""

    __slots__ = ("alpha", "beta", "b_transposed")

    def backward(self, m, g):
        a, b = self.saved(m)
        g_mm = g * self.alpha if self.alpha != 1 else g
        gbias = (g if self.beta == 1 else g * self.beta) if needs(self, 0) else None
        ga = m.matmul(g_mm, m.mT(b)) if needs(self, 1) else None
        gb = _grad_of_second(m, a, g_mm, self.b_transposed) if needs(self, 2) else None
        return gbias, ga, gb


def addmm(bias, a, b, *, beta=1, alpha=1):
    x, y = a._data, b._data
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_shape_x(x.shape)} and {_shape_x(y.shape)})")
    _same_dtype(a, b)
    prod = x @ y
    if alpha != 1:
        prod *= alpha
    bias_data = bias._data if beta == 1 else bias._data * beta
    if bias_data.dtype == prod.dtype and np.broadcast_shapes(bias_data.shape, prod.shape) == \
            prod.shape:
        np.add(prod, bias_data, out=prod)  # the same sum, without a second result array
    else:
        prod = prod + bias_data
    out = wrap(prod)
    node = record(AddmmBackward0, out, (bias, a, b))
    if node is not None:
        node.alpha, node.beta = alpha, beta
        node.b_transposed = _is_transposed(y)
        node.save(a if needs(node, 2) else None, b if needs(node, 1) else None)
    return out


class MvBackward0(Node):
    """out = A @ v  ->  dA = outer(g, v),  dv = A^T @ g"""

    def backward(self, m, g):
        a, v = self.saved(m)
        ga = m.unsqueeze(g, -1) * m.unsqueeze(v, 0) if needs(self, 0) else None
        gv = m.matmul(m.mT(a), g) if needs(self, 1) else None
        return ga, gv


def mv(a, v):
    x, y = a._data, v._data
    if x.ndim != 2 or y.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {y.ndim}, {x.ndim}, {y.ndim}")
    if x.shape[1] != y.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({x.shape[0]}), mat ({_shape_x(x.shape)}), "
                           f"vec ({y.shape[0]})")
    _same_dtype(a, v)
    out = wrap(x @ y)
    node = record(MvBackward0, out, (a, v))
    if node is not None:
        node.save(a, v)
    return out


class DotBackward0(Node):
    """out = a . b  ->  da = g*b,  db = g*a"""

    def backward(self, m, g):
        a, b = self.saved(m)
        return (g * b if needs(self, 0) else None), (g * a if needs(self, 1) else None)


def dot(a, b):
    x, y = a._data, b._data
    if x.ndim != 1 or y.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {x.ndim}D and {y.ndim}D tensors")
    if x.shape[0] != y.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{x.shape[0]}] and src "
                           f"[{y.shape[0]}] to have the same number of elements, but got "
                           f"{x.shape[0]} and {y.shape[0]} elements respectively")
    _same_dtype(a, b, "self and other")
    out = wrap(np.dot(x, y))
    node = record(DotBackward0, out, (a, b))
    if node is not None:
        node.save(a, b)
    return out


inner = dot


class BmmBackward0(Node):
    """out[i] = A[i] @ B[i]  ->  dA = g @ B^T,  dB = A^T @ g (batch dims broadcast back by the engine)"""

    def backward(self, m, g):
        a, b = self.saved(m)
        ga = m.matmul(g, m.mT(b)) if needs(self, 0) else None
        gb = m.matmul(m.mT(a), g) if needs(self, 1) else None
        return ga, gb


def bmm(a, b):
    x, y = a._data, b._data
    if x.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if y.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if y.shape[0] != x.shape[0] or y.shape[1] != x.shape[2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{x.shape[0]}, {x.shape[2]}] but got: [{y.shape[0]}, {y.shape[1]}].")
    _same_dtype(a, b)
    out = wrap(np.matmul(x, y))
    node = record(BmmBackward0, out, (a, b))
    if node is not None:
        node.save(a, b)
    return out


def matmul(a, b):
    """a @ b, dispatched on dimensions as PyTorch: dot, mv, mm, or batched with broadcast
    batch dims. When a gradient is needed the batched cases are built from mm/mv/bmm and
    views exactly as PyTorch builds them, so the graph (and grad_fn) is PyTorch's."""
    x, y = a._data, b._data
    if x.ndim == 0 or y.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{x.ndim}D and {y.ndim}D")
    if x.ndim == 2 and y.ndim == 2:
        return mm(a, b)
    if x.ndim == 1 and y.ndim == 1:
        return dot(a, b)
    if x.ndim == 2 and y.ndim == 1:
        return mv(a, b)
    if x.ndim == 1:
        if y.shape[-2] != x.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"(1x{x.shape[0]} and {_shape_x(y.shape[-2:])})")
    elif y.ndim == 1:
        if x.shape[-1] != y.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({x.shape[0]}), mat "
                               f"({_shape_x(x.shape)}), vec ({y.shape[0]})")
    else:
        batch = broadcast_shapes(x.shape[:-2], y.shape[:-2])
        if x.shape[-1] != y.shape[-2]:
            n = int(np.prod(batch))
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{n}, {x.shape[-1]}] but got: [{n}, {y.shape[-2]}].")
    _same_dtype(a, b)
    if not needs_grad(a, b):
        return wrap(np.matmul(x, y))
    if x.ndim == 1 and y.ndim == 2:
        from .shape import unsqueeze, _reshape_view, SqueezeBackward4

        product = mm(unsqueeze(a, 0), b)
        return _reshape_view(product, product._data.shape[1:], SqueezeBackward4, fresh=True)
    if _should_fold(a, b):
        return _matmul_folded(a, b)
    return _matmul_bmm(a, b)


def _should_fold(a, b):
    """PyTorch's rule: fold the batch of the larger operand into matrix rows (one mm/mv)
    when that needs no copy, or when the smaller operand requires grad (its gradient is then
    one mm)."""
    x, y = a._data, b._data
    larger_first = x.ndim >= y.ndim
    t1 = x if larger_first else np.swapaxes(y, -1, -2)
    other_dims = y.ndim if larger_first else x.ndim
    if not (t1.ndim >= 3 and other_dims <= 2):
        return False
    if (b if larger_first else a)._requires_grad:  # the smaller operand (PyTorch's t2)
        return True
    if x.ndim == 2:
        return False
    if t1.size == 0:
        return True
    shape, strides = t1.shape, t1.strides
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(t1.ndim - 2))


def _matmul_folded(a, b):
    from .shape import reshape, mT, t, contiguous, _unsafe_view

    transpose = b._data.ndim > a._data.ndim
    t1 = mT(b) if transpose else a
    t2 = (t(a) if a._data.ndim == 2 else a) if transpose else b
    sizes = t1._data.shape
    output_shape = sizes[:-1]
    folded = reshape(t1, (int(np.prod(output_shape)), sizes[-1]))
    if t2._data.ndim == 2:
        output = _unsafe_view(mm(folded, t2), output_shape + (t2._data.shape[1],))
        return contiguous(mT(output)) if transpose else output
    return _unsafe_view(mv(folded, t2), output_shape)


def _matmul_bmm(a, b):
    from .shape import reshape, expand, unsqueeze, squeeze, _unsafe_view

    x, y = a._data, b._data
    n = x.shape[-2] if x.ndim > 1 else 1
    m1 = x.shape[-1]
    m2 = y.shape[-2] if y.ndim > 1 else y.shape[0]
    p = y.shape[-1] if y.ndim > 1 else 1
    batch = broadcast_shapes(x.shape[:-2], y.shape[:-2])
    count = int(np.prod(batch))
    left = reshape(expand(a, batch + (n, m1)), (count, n, m1))
    vector_rhs = y.ndim == 1
    if vector_rhs:
        right = unsqueeze(reshape(expand(b, batch + (m2,)), (count, m2)), 2)
    else:
        right = reshape(expand(b, batch + (m2, p)), (count, m2, p))
    output_shape = batch + ((n,) if x.ndim > 1 else ()) + ((p,) if y.ndim > 1 else ())
    product = bmm(left, right)
    if vector_rhs:
        product = squeeze(product, -1)
    return _unsafe_view(product, output_shape)


def outer(a, b):
    from .shape import unsqueeze
    from .arith import mul

    return mul(unsqueeze(a, 1), unsqueeze(b, 0))


ger = outer

