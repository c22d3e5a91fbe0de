"""Matrix products. `matmul` dispatches on dimensions like PyTorch (dot, mv, mm, batched)."""
from __future__ import annotations

import numpy as np

from .. import _errors
from .._errors import broadcast_shapes
from ._core import Node, record, wrap, needs, needs_grad
from ..autograd import graph


def _same_dtype(a, b, what="m1 and m2"):
    if a._data.dtype != b._data.dtype:
        names = _errors.CPP_TYPE_NAMES
        raise RuntimeError(f"expected {what} to have the same dtype, but got: "
                           f"{names[a.dtype.name]} != {names[b.dtype.name]}")


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
    saved_fields = ("self", "mat2")
    pack_order = (1, 0)

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
    saved_fields = ("mat1", "mat2")
    saved_attrs = {"alpha": "alpha", "beta": "beta"}

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
    names = _errors.SCALAR_TYPE_NAMES
    for what, first in (("self", bias), ("mat1", a)):
        if first._data.dtype != y.dtype:
            raise RuntimeError(f"{what} and mat2 must have the same dtype, but got "
                               f"{names[first.dtype.name]} and {names[b.dtype.name]}")
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_shape_x(x.shape)} and {_shape_x(y.shape)})")
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
    saved_fields = ("self", "vec")

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
    if x.dtype != y.dtype:
        names = _errors.SCALAR_TYPE_NAMES
        vec, mat = names[v.dtype.name], names[a.dtype.name]
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {vec}, {mat}, "
                           f"and {vec}")
    out = wrap(x @ y)
    node = record(MvBackward0, out, (a, v))
    if node is not None:
        node.save(a, v)
    return out


class DotBackward0(Node):
    """out = a . b  ->  da = g*b,  db = g*a"""
    saved_fields = ("self", "tensor")

    def backward(self, m, g):
        a, b = self.saved(m)
        return (g * b if needs(self, 0) else None), (g * a if needs(self, 1) else None)


def dot(a, b):
    x, y = a._data, b._data
    if x.ndim != 1 or y.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {x.ndim}D and {y.ndim}D tensors")
    if x.dtype != y.dtype:
        names = _errors.SCALAR_TYPE_NAMES
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{names[a.dtype.name]} and {names[b.dtype.name]}")
    if x.shape[0] != y.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{x.shape[0]}] and src "
                           f"[{y.shape[0]}] to have the same number of elements, but got "
                           f"{x.shape[0]} and {y.shape[0]} elements respectively")
    out = wrap(np.dot(x, y))
    node = record(DotBackward0, out, (a, b))
    if node is not None:
        node.save(a, b)
    return out


inner = dot


class BmmBackward0(Node):
    """out[i] = A[i] @ B[i]  ->  dA = g @ B^T,  dB = A^T @ g (batch dims broadcast back by the engine)"""
    saved_fields = ("self", "mat2")
    pack_order = (1, 0)

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
    if x.dtype != y.dtype:
        names = _errors.SCALAR_TYPE_NAMES
        raise RuntimeError(f"expected scalar type {names[a.dtype.name]} but found "
                           f"{names[b.dtype.name]}")
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
    if x.ndim == 3 and y.ndim == 3 and x.shape[0] != y.shape[0]:
        # PyTorch 2.13 drops the batch of one of an operand that requires grad, so that its
        # gradient is one mm instead of a batch summed over
        from .shape import squeeze

        if x.shape[0] == 1 and _differentiated(a):
            return matmul(squeeze(a, 0), b)
        if y.shape[0] == 1 and _differentiated(b):
            return matmul(a, squeeze(b, 0))
    if x.shape[-1] != (y.shape[-2] if y.ndim > 1 else y.shape[0]) or x.dtype != y.dtype:
        # the message is that of the mm/mv/bmm PyTorch would have dispatched to
        from ..autograd.grad_mode import no_grad

        with no_grad():
            if x.ndim == 1 and y.ndim == 2:
                mm(a.unsqueeze(0), b)
            (_matmul_folded if _should_fold(a, b) else _matmul_bmm)(a, b)
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


def _differentiated(t):
    """Requires grad, or carries a forward-AD tangent: PyTorch's matmul picks its kernels so
    that either derivative is one mm."""
    if t._requires_grad:
        return True
    if graph.forward_ad_record is None:
        return False
    from ..autograd.forward_ad import is_dual_input
    return is_dual_input([t])


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
    if _differentiated(b if larger_first else a):  # the smaller operand (PyTorch's t2)
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



# -- einsum and the products built like it -------------------------------------------------------
def _einsum_parse(equation, shapes):
    """Explicit subscripts per operand and for the output, '...' replaced by spare letters."""
    import string
    from collections import Counter

    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    used = {c for c in eq if c.isalpha()}
    spare = [c for c in string.ascii_letters if c not in used]
    ell_dims = 0
    for t, shape in zip(terms, shapes):
        n_labels = len(t.replace("...", ""))
        if "..." in t:
            ell_dims = builtins_max(ell_dims, len(shape) - n_labels)
        elif n_labels != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n_labels}) "
                               f"does not match the number of dimensions ({len(shape)}) for "
                               f"operand {terms.index(t)} and no ellipsis was given")
    ell = "".join(spare[:ell_dims])
    out_terms = []
    for t, shape in zip(terms, shapes):
        if "..." in t:
            nd = len(shape) - len(t.replace("...", ""))
            t = t.replace("...", ell[len(ell) - nd:] if nd else "")
        out_terms.append(t)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = Counter("".join(out_terms))
        out = ell + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ell))
    sizes = {}
    for t, shape in zip(out_terms, shapes):
        for c, s in zip(t, shape):
            if sizes.get(c, 1) != 1 and s != 1 and sizes[c] != s:
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                                   f"(original->remapped): {list(shapes[0])}")
            if s != 1 or c not in sizes:
                sizes[c] = s
    return out_terms, out, sizes


import builtins as _builtins  # noqa: E402

builtins_max = _builtins.max


class EinsumBackward0(Node):
    """out = einsum(eq, x_1..x_n)  ->  dx_k = einsum of g with the other operands, laid out as
    x_k (repeated labels put g on the diagonal; labels of x_k alone are broadcast)"""

    __slots__ = ("terms", "out", "sizes")

    def backward(self, m, g):
        ops = self.saved(m)
        grads = []
        for k, term in enumerate(self.terms):
            if not needs(self, k):
                grads.append(None)
                continue
            grads.append(_einsum_operand_grad(m, k, self.terms, self.out, self.sizes, ops, g))
        return tuple(grads)


def _einsum_operand_grad(m, k, terms, out, sizes, ops, g):
    term = terms[k]
    others = [(t, o) for i, (t, o) in enumerate(zip(terms, ops)) if i != k]
    available = set(out).union(*[set(t) for t, _ in others]) if others else set(out)
    unique = "".join(dict.fromkeys(c for c in term if c in available))
    args, subs = [g], [out]
    for t, o in others:
        full = tuple(sizes[c] for c in t)
        args.append(m.expand(o, full) if tuple(o.shape) != full else o)
        subs.append(t)
    eq = ",".join(subs) + "->" + unique
    if m.tensor_mode:
        r = einsum(eq, *args)
    else:
        r = np.einsum(eq, *args, optimize=len(args) > 2)
    # lay r out as `term`: first occurrences take r's axes, repeats and absent labels size 1
    letters_seen = []
    view_shape = []
    perm_src = []
    for c in term:
        if c in unique and c not in letters_seen:
            letters_seen.append(c)
            perm_src.append(unique.index(c))
            view_shape.append(sizes[c])
        else:
            view_shape.append(1)
    if perm_src != sorted(perm_src):
        r = m.permute(r, perm_src)
    r = m.reshape(r, tuple(view_shape))
    full = tuple(sizes[c] for c in term)
    mask = None
    for i, c in enumerate(term):
        j = term.index(c)
        if j != i:  # a repeated label: the gradient lives on the diagonal of dims j and i
            shape = [1] * len(term)
            shape[j], shape[i] = sizes[c], sizes[c]
            eye = np.eye(sizes[c], dtype=bool).reshape(shape)
            mask = eye if mask is None else mask & eye
    if mask is not None:
        r = m.where(mask, r, 0.0)
    if tuple(r.shape) != full:
        r = m.expand(r, full)
    return r


def einsum(equation, *operands):
    from ._core import as_tensor_arg

    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError("einsum(): the first argument must be the equation (sublist format is "
                        "not supported)")
    operands = [as_tensor_arg(o) for o in operands]
    arrays = [o._data for o in operands]
    terms, out_sub, sizes = _einsum_parse(equation, [x.shape for x in arrays])
    dts = {x.dtype for x in arrays}
    if len(dts) > 1:
        names = [o.dtype._torch_name[:-6] for o in operands]
        raise RuntimeError(f"expected scalar type {names[0]} but found {names[1]}")
    eq = ",".join(terms) + "->" + out_sub
    data = np.einsum(eq, *arrays, optimize=len(arrays) > 2 or builtins_max(
        (x.size for x in arrays), default=0) > 4096)
    result = wrap(np.asarray(data, dtype=arrays[0].dtype) if arrays else np.asarray(data))
    node = record(EinsumBackward0, result, tuple(operands))
    if node is not None:
        node.terms, node.out, node.sizes = terms, out_sub, sizes
        node.save(*operands)
    return result


def tensordot(a, b, dims=2, out=None):
    import string

    x, y = a._data, b._data
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(x.ndim - dims, x.ndim)), list(range(dims))
    else:
        if hasattr(dims, "tolist"):
            dims = dims.tolist()
        da, db = dims
        if isinstance(da, int):
            da, db = [da], [db]
        da = [d % x.ndim for d in da]
        db = [d % y.ndim for d in db]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(x.ndim)]
    sb = [next(letters) for _ in range(y.ndim)]
    for i, j in zip(da, db):
        if x.shape[i] != y.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{x.shape[i]} in dim {i} and second has size {y.shape[j]} in dim {j}")
        sb[j] = sa[i]
    out_sub = [c for i, c in enumerate(sa) if i not in da] + [c for j, c in enumerate(sb)
                                                              if j not in db]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out_sub), a, b)


def kron(a, b):
    from .shape import reshape

    x, y = a._data, b._data
    nd = builtins_max(x.ndim, y.ndim)
    a2 = reshape(a, (1,) * (nd - x.ndim) + x.shape) if x.ndim < nd else a
    b2 = reshape(b, (1,) * (nd - y.ndim) + y.shape) if y.ndim < nd else b
    sa, sb = a2._data.shape, b2._data.shape
    # out[i0 j0, i1 j1, ...] = a[i0, i1, ...] * b[j0, j1, ...]
    left = reshape(a2, tuple(v for s in sa for v in (s, 1)))
    right = reshape(b2, tuple(v for s in sb for v in (1, s)))
    from .arith import mul

    return reshape(mul(left, right), tuple(p * q for p, q in zip(sa, sb)))


class BaddbmmBackward0(Node):
    """out = beta*c + alpha*(A @ B) (batched)  ->  dc = beta*g, dA = alpha*g @ B^T,
    dB = alpha*A^T @ g"""

    __slots__ = ("alpha", "beta")

    def backward(self, m, g):
        c, a, b = self.saved(m)
        gs = g * self.alpha if self.alpha != 1 else g
        gc = (g * self.beta if self.beta != 1 else g) if needs(self, 0) else None
        if gc is not None and self.beta == 0:
            gc = g * 0
        ga = m.matmul(gs, m.mT(b)) if needs(self, 1) else None
        gb = m.matmul(m.mT(a), gs) if needs(self, 2) else None
        return gc, ga, gb


class AddbmmBackward0(BaddbmmBackward0):
    """out = beta*c + alpha*sum_i A_i @ B_i  ->  dA_i = alpha*g @ B_i^T, dB_i = alpha*A_i^T @ g"""

    def backward(self, m, g):
        gc, ga, gb = BaddbmmBackward0.backward(self, m, m.unsqueeze(g, 0))
        if gc is not None:
            gc = m.sum(gc, (0,))
        return gc, ga, gb


class AddmvBackward0(Node):
    """out = beta*c + alpha*(A @ v)  ->  dc = beta*g, dA = alpha*outer(g, v), dv = alpha*A^T g"""

    __slots__ = ("alpha", "beta")

    def backward(self, m, g):
        c, a, v = self.saved(m)
        gs = g * self.alpha if self.alpha != 1 else g
        gc = (g * self.beta if self.beta != 1 else g) if needs(self, 0) else None
        ga = m.unsqueeze(gs, -1) * m.unsqueeze(v, 0) if needs(self, 1) else None
        gv = m.matmul(m.mT(a), gs) if needs(self, 2) else None
        return gc, ga, gv


class AddrBackward0(Node):
    """out = beta*c + alpha*outer(u, v)  ->  dc = beta*g, du = alpha*g @ v, dv = alpha*g^T @ u"""

    __slots__ = ("alpha", "beta")

    def backward(self, m, g):
        c, u, v = self.saved(m)
        gs = g * self.alpha if self.alpha != 1 else g
        gc = (g * self.beta if self.beta != 1 else g) if needs(self, 0) else None
        gu = m.matmul(gs, v) if needs(self, 1) else None
        gv = m.matmul(m.mT(gs), u) if needs(self, 2) else None
        return gc, gu, gv


def _beta_alpha_op(node_cls, c, a, b, beta, alpha, prod):
    cx = c._data
    base = np.zeros_like(prod) if beta == 0 else (cx * beta if beta != 1 else cx)
    try:
        data = (prod * alpha if alpha != 1 else prod) + base
    except ValueError:
        from ._core import broadcast_error
        raise broadcast_error(cx, prod) from None
    out = wrap(np.asarray(data, dtype=prod.dtype))
    node = record(node_cls, out, (c, a, b))
    if node is not None:
        node.alpha, node.beta = alpha, beta
        node.save(c, a, b)
    return out


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    x, y = batch1._data, batch2._data
    if x.ndim != 3 or y.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if x.ndim != 3 else
                           "batch2 must be a 3D tensor")
    if y.shape[0] != x.shape[0] or y.shape[1] != x.shape[2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{x.shape[0]}, {x.shape[2]}] but got: [{y.shape[0]}, {y.shape[1]}].")
    return _beta_alpha_op(BaddbmmBackward0, input, batch1, batch2, beta, alpha, np.matmul(x, y))


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    x, y = batch1._data, batch2._data
    if x.ndim != 3 or y.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if x.ndim != 3 else
                           "batch2 must be a 3D tensor")
    return _beta_alpha_op(AddbmmBackward0, input, batch1, batch2, beta, alpha,
                          np.matmul(x, y).sum(0))


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    x, y = mat._data, vec._data
    if x.ndim != 2 or y.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input._data.ndim}, "
                           f"{x.ndim}, {y.ndim}")
    if x.shape[1] != y.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input._data.shape[0] if input._data.ndim else 1}), "
                           f"mat ({_shape_x(x.shape)}), vec ({y.shape[0]})")
    return _beta_alpha_op(AddmvBackward0, input, mat, vec, beta, alpha, x @ y)


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    x, y = vec1._data, vec2._data
    if x.ndim != 1 or y.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {x.ndim}-D")
    return _beta_alpha_op(AddrBackward0, input, vec1, vec2, beta, alpha, np.multiply.outer(x, y))


def chain_matmul(*matrices, out=None):
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    result = matrices[0]
    for mat in matrices[1:]:
        result = mm(result, mat)
    return result


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    from .shape import unsqueeze
    from .arith import sub
    from .reduce import norm

    a, b = x1._data, x2._data
    if a.ndim < 2 or b.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D"
                           if a.ndim < 2 else f"cdist only supports at least 2D tensors, X2 got: "
                                               f"{b.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} "
                           f"X2: {b.shape[-1]}")
    d = sub(unsqueeze(x1, -2), unsqueeze(x2, -3))
    if p == 0:
        from .pointwise import ne
        from .reduce import sum as _sum
        from .shape import to_dtype
        return to_dtype(_sum(ne(d, 0), -1), x1.dtype)
    return norm(d, p, -1)


def cross(input, other, dim=None):
    from .shape import select, stack
    from .arith import mul, sub

    x, y = input._data, other._data
    shape = np.broadcast_shapes(x.shape, y.shape)
    if dim is None:
        import warnings
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                      "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                      "default value of dim will change to agree with that of linalg.cross in a "
                      "future release.", UserWarning, stacklevel=2)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = dim % len(shape)
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{x.shape[d] if x.ndim > d else 1} and {y.shape[d] if y.ndim > d else 1}")
    from .shape import expand
    a = expand(input, shape) if x.shape != shape else input
    b = expand(other, shape) if y.shape != shape else other
    ai = [select(a, d, i) for i in range(3)]
    bi = [select(b, d, i) for i in range(3)]
    comps = [sub(mul(ai[1], bi[2]), mul(ai[2], bi[1])),
             sub(mul(ai[2], bi[0]), mul(ai[0], bi[2])),
             sub(mul(ai[0], bi[1]), mul(ai[1], bi[0]))]
    return stack(comps, d)


def block_diag(*tensors):
    from .shape import reshape, cat

    if not tensors:
        return wrap(np.zeros((1, 0), np.float32))
    mats = []
    for t in tensors:
        nd = t._data.ndim
        if nd > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {tensors.index(t)} has {nd} dimensions")
        mats.append(t if nd == 2 else reshape(t, (1, -1) if nd == 1 else (1, 1)))
    from .. import _dtype
    np_dtype = np.result_type(*[t._data.dtype for t in mats])
    total_cols = sum_cols = 0
    for t in mats:
        total_cols += t._data.shape[1]
    rows = []
    for t in mats:
        r, c = t._data.shape
        left = wrap(np.zeros((r, sum_cols), np_dtype))
        right = wrap(np.zeros((r, total_cols - sum_cols - c), np_dtype))
        from .shape import to_dtype
        tt = to_dtype(t, _dtype.from_numpy_dtype(np_dtype)) if t._data.dtype != np_dtype else t
        rows.append(cat([left, tt, right], 1))
        sum_cols += c
    return cat(rows, 0)


def cartesian_prod(*tensors):
    from .shape import stack, reshape
    from ..creation import meshgrid

    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    import itertools
    from .shape import getitem

    x = input._data
    if x.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(x.shape)}")
    gen = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(gen(range(x.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    if r == 0:
        return wrap(np.zeros((0,), x.dtype))
    return getitem(input, wrap(idx))


# -- matrix functions (torch.linalg) ----------------------------------------------------------------
class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a matrix is singular or not positive-definite."""


LinAlgError.__module__ = "torch._C"
LinAlgError.__qualname__ = LinAlgError.__name__ = "_LinAlgError"


def _square(a, name):
    x = a._data
    if x.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{x.shape[-2]} by {x.shape[-1]} matrices")
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{a.dtype._torch_name[:-6]}")
    return x


def _on(m, fn, np_fn, *args):
    return fn(*args) if m.tensor_mode else np_fn(*args)


def _inv_array(x):
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError:
        raise LinAlgError("linalg.inv: The diagonal element 1 is zero, the inversion could not "
                          "be completed because the input matrix is singular.") from None


class LinalgInvExBackward0(Node):
    """out = A^-1  ->  dA = -out^T @ g @ out^T"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        t = m.mT(out)
        return -m.matmul(m.matmul(t, g), t)


def inv(A):
    from ._core import SavedOutput

    x = _square(A, "linalg.inv")
    out = wrap(_inv_array(x).astype(x.dtype, copy=False))
    node = record(LinalgInvExBackward0, out, (A,))
    if node is not None:
        node.save(SavedOutput(out))
    return out


inverse = inv


class LinalgDetBackward0(Node):
    """out = det A  ->  dA = g * det(A) * A^-T"""

    def backward(self, m, g):
        a, out = self.saved(m)
        scale = m.unsqueeze(m.unsqueeze(g * out, -1), -1)
        return scale * m.mT(_on(m, inv, np.linalg.inv, a))


def det(A):
    from ._core import SavedOutput

    x = _square(A, "linalg.det")
    out = wrap(np.asarray(np.linalg.det(x), dtype=x.dtype))
    node = record(LinalgDetBackward0, out, (A,))
    if node is not None:
        node.save(A, SavedOutput(out))
    return out


class LinalgSlogdetBackward0(Node):
    """(sign, log|det A|)  ->  dA = g_logabsdet * A^-T"""

    def backward(self, m, g_sign, g_log):
        (a,) = self.saved(m)
        if g_log is None:
            return None
        scale = m.unsqueeze(m.unsqueeze(g_log, -1), -1)
        return scale * m.mT(_on(m, inv, np.linalg.inv, a))




def slogdet(A):
    from ..return_types import make_return_type
    from ._core import record_multi

    x = _square(A, "linalg.slogdet")
    sign, logabs = np.linalg.slogdet(x)
    s, la = wrap(np.asarray(sign, x.dtype)), wrap(np.asarray(logabs, x.dtype))
    node = record_multi(LinalgSlogdetBackward0, (s, la), (A,)) if needs_grad(A) else None
    if node is not None:
        node.save(A)
    return make_return_type("slogdet", ("sign", "logabsdet"))(s, la)


def logdet(A):
    from .pointwise import log

    return log(det(A))


class LinalgSolveExBackward0(Node):
    """X = A^-1 B  ->  dB = A^-T g,  dA = -dB X^T"""

    __slots__ = ("vector",)

    def backward(self, m, g):
        a, x = self.saved(m)
        at = m.mT(a)
        if self.vector:
            gb = m.reshape(_on(m, solve, np.linalg.solve, at, m.unsqueeze(g, -1)), g.shape)
            ga = -(m.unsqueeze(gb, -1) * m.unsqueeze(x, -2)) if needs(self, 0) else None
        else:
            gb = _on(m, solve, np.linalg.solve, at, g)
            ga = -m.matmul(gb, m.mT(x)) if needs(self, 0) else None
        return ga, (gb if needs(self, 1) else None)


def solve(A, B, *, left=True, out=None):
    from ._core import SavedOutput
    from .shape import mT

    if not left:
        return mT(solve(mT(A), mT(B)))
    x = _square(A, "linalg.solve")
    b = B._data
    vector = b.ndim == 1 or (b.ndim == x.ndim - 1 and b.shape == x.shape[:-1])
    if x.dtype != b.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {A.dtype._torch_name[:-6]} and B of type "
                           f"{B.dtype._torch_name[:-6]} instead")
    try:
        data = np.linalg.solve(x, b[..., None])[..., 0] if vector else np.linalg.solve(x, b)
    except np.linalg.LinAlgError:
        raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is "
                          "singular.") from None
    out = wrap(np.asarray(data, dtype=x.dtype))
    node = record(LinalgSolveExBackward0, out, (A, B))
    if node is not None:
        node.vector = vector
        node.save(A, SavedOutput(out))
    return out


class LinalgCholeskyExBackward0(Node):
    """A = L L^T  ->  dA = sym(L^-T Phi(L^T gL) L^-1), Phi = lower triangle, diagonal halved"""

    __slots__ = ("upper",)

    def backward(self, m, g):
        (L,) = self.saved(m)
        if self.upper:
            L, g = m.mT(L), m.mT(g)
        n = L.shape[-1]
        lower = np.tril(np.ones((n, n)), -1) + np.eye(n) * 0.5
        phi = m.matmul(m.mT(L), g) * lower
        linv = _on(m, inv, np.linalg.inv, L)
        s = m.matmul(m.matmul(m.mT(linv), phi), linv)
        return (s + m.mT(s)) * 0.5


def cholesky(A, upper=False, *, out=None):
    from ._core import SavedOutput

    x = _square(A, "linalg.cholesky")
    L, info = cholesky_with_info(x)
    if info.any():
        raise cholesky_error("linalg.cholesky", info)
    data = np.swapaxes(L, -1, -2).copy() if upper else L
    out = wrap(data.astype(x.dtype, copy=False))
    node = record(LinalgCholeskyExBackward0, out, (A,))
    if node is not None:
        node.upper = upper
        node.save(SavedOutput(out))
    return out


def cholesky_with_info(x):
    """(L, info) as LAPACK's potrf gives them: info = k > 0 where the leading minor of order k
    is not positive-definite, and L factored up to that column (the failing pivot stored)."""
    try:
        return np.linalg.cholesky(x), np.zeros(x.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        pass
    flat = x.reshape(-1, *x.shape[-2:])
    Ls, infos = zip(*(_cholesky_one(a) for a in flat))
    return np.stack(Ls).reshape(x.shape), np.array(infos, np.int32).reshape(x.shape[:-2])


def _cholesky_one(a):
    try:
        return np.linalg.cholesky(a), 0
    except np.linalg.LinAlgError:
        pass
    L = np.tril(a).astype(a.dtype)  # columns past the failure keep A's values, as in LAPACK
    for j in range(a.shape[0]):
        pivot = a[j, j] - L[j, :j] @ L[j, :j]
        if not pivot > 0:
            L[j, j] = pivot
            return L, j + 1
        L[j, j] = np.sqrt(pivot)
        L[j + 1:, j] = (a[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return L, 0


def cholesky_error(name, info):
    """PyTorch's error for the first matrix (of a batch) that is not positive-definite."""
    where = np.argwhere(info > 0)[0]
    batch = f"(Batch element {np.ravel_multi_index(tuple(where), info.shape)}): " \
        if info.ndim else ""
    order = info[tuple(where)]
    return LinAlgError(f"{name}: {batch}The factorization could not be completed because the "
                       f"input is not positive-definite (the leading minor of order {order} is "
                       "not positive-definite).")


class LinalgEighBackward0(Node):
    """A = V diag(w) V^T  ->  dA = V (diag(gw) + (skew part of V^T gV) / (w_j - w_i)) V^T"""

    __slots__ = ("n_outputs",)

    def backward(self, m, gw, gV=None):
        w, V = self.saved(m)
        n = w.shape[-1]
        eye = np.eye(n, dtype=bool)
        inner = 0.0
        if gV is not None:
            vg = m.matmul(m.mT(V), gV)
            vg = (vg - m.mT(vg)) * 0.5
            e = m.unsqueeze(w, -2) - m.unsqueeze(w, -1)
            e = m.where(eye, 1.0, e)
            inner = m.where(eye, 0.0, vg / e)
        if gw is not None:
            inner = inner + m.unsqueeze(gw, -1) * eye
        return m.matmul(m.matmul(V, inner), m.mT(V))


def eigh(A, UPLO="L", *, out=None):
    from ..return_types import make_return_type
    from ._core import record_multi, SavedOutput

    x = _square(A, "linalg.eigh")
    w, V = np.linalg.eigh(x, UPLO=UPLO)
    tw, tV = wrap(w.astype(x.dtype, copy=False)), wrap(V.astype(x.dtype, copy=False))
    node = record_multi(LinalgEighBackward0, (tw, tV), (A,)) if needs_grad(A) else None
    if node is not None:
        node.save(SavedOutput(tw), SavedOutput(tV))
    return make_return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))(tw, tV)


def eigvalsh(A, UPLO="L", *, out=None):
    return eigh(A, UPLO).eigenvalues


class LinalgSvdBackward0(Node):
    """A = U diag(S) Vh  ->  the real-case SVD backward (Townsend), reduced matrices"""

    def backward(self, m, gU, gS, gVh):
        U, S, Vh = self.saved(m)
        k = S.shape[-1]
        eye = np.eye(k, dtype=bool)
        if gU is not None and gU.shape[-1] > k:
            gU = m.getitem(gU, (Ellipsis, slice(0, k)))
        if gVh is not None and gVh.shape[-2] > k:
            gVh = m.getitem(gVh, (Ellipsis, slice(0, k), slice(None)))
        if gU is None and gVh is None:
            return m.matmul(U * m.unsqueeze(gS, -2), Vh)
        mrows, ncols = U.shape[-2], Vh.shape[-1]
        V = m.mT(Vh)
        s_row, s_col = m.unsqueeze(S, -2), m.unsqueeze(S, -1)
        e = s_row * s_row - s_col * s_col          # E_ij = S_j^2 - S_i^2
        e = m.where(eye, 1.0, e)
        inner = 0.0
        if gU is not None:
            uhgu = m.matmul(m.mT(U), gU)
            inner = m.where(eye, 0.0, (uhgu - m.mT(uhgu)) / e) * s_row
        if gVh is not None:
            gV = m.mT(gVh)
            vhgv = m.matmul(m.mT(V), gV)
            inner = inner + s_col * m.where(eye, 0.0, (vhgv - m.mT(vhgv)) / e)
        if gS is not None:
            inner = inner + m.unsqueeze(gS, -1) * eye
        ga = m.matmul(m.matmul(U, inner), Vh)
        if gU is not None and mrows > k:
            ga = ga + m.matmul((gU - m.matmul(U, uhgu)) / s_row, Vh)
        if gVh is not None and ncols > k:
            ga = ga + m.matmul(U, m.mT((gV - m.matmul(V, vhgv)) / s_row))
        return ga




def svd(A, full_matrices=True, *, driver=None, out=None):
    from ..return_types import make_return_type
    from ._core import record_multi

    x = A._data
    if x.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    U, S, Vh = np.linalg.svd(x, full_matrices=full_matrices)
    tU, tS, tVh = (wrap(v.astype(x.dtype, copy=False)) for v in (U, S, Vh))
    node = record_multi(LinalgSvdBackward0, (tU, tS, tVh), (A,)) if needs_grad(A) else None
    if node is not None:
        k = S.shape[-1]
        if full_matrices and (x.shape[-1] != x.shape[-2]):
            node.save(wrap(U[..., :k]), tS.detach(), wrap(Vh[..., :k, :]))
        else:
            node.save(tU.detach(), tS.detach(), tVh.detach())
    return make_return_type("linalg_svd", ("U", "S", "Vh"))(tU, tS, tVh)


def svdvals(A, *, driver=None, out=None):
    return svd(A, full_matrices=False).S


def svd_legacy(input, some=True, compute_uv=True):
    """torch.svd: (U, S, V) with V not transposed."""
    from ..return_types import make_return_type
    from .shape import mT

    U, S, Vh = svd(input, full_matrices=not some)
    if not compute_uv:
        from .shape import clone
        U, Vh = clone(U.detach()) * 0, clone(Vh.detach()) * 0
    return make_return_type("svd", ("U", "S", "V"))(U, S, mT(Vh))


class LinalgQrBackward0(Node):
    """A = QR (reduced, m >= n)  ->  M = R gR^T - gQ^T Q;  dA = (gQ + Q copyltu(M)) R^-T"""

    __slots__ = ("mode", "n_outputs")

    def backward(self, m, gQ, gR):
        Q, R = self.saved(m)
        mrows, n = Q.shape[-2], R.shape[-1]
        if mrows < n or self.mode == "complete" and mrows != n:
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you are "
                               "going to differentiate through linalg.qr." if self.mode == "r"
                               else "The QR decomposition is not differentiable when mode="
                               "'complete' and nrows > ncols.")
        k = R.shape[-2]
        Mm = 0.0
        if gR is not None:
            Mm = m.matmul(R, m.mT(gR))
        if gQ is not None:
            Mm = Mm - m.matmul(m.mT(gQ), Q)
        low = np.tril(np.ones((k, k)), -1)
        if not isinstance(Mm, float):
            Mm = Mm * (low + np.eye(k)) + m.mT(Mm * low)
            b = m.matmul(Q, Mm)
        else:
            b = 0.0
        if gQ is not None:
            b = b + gQ
        rinv_t = m.mT(_on(m, inv, np.linalg.inv, R))
        return m.matmul(b, rinv_t)




def qr(A, mode="reduced", *, out=None):
    from ..return_types import make_return_type
    from ._core import record_multi

    x = A._data
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
                           "(default), 'r', or 'complete'")
    if mode == "r":
        R = np.linalg.qr(x, mode="r")
        Q = np.zeros((0,), x.dtype)
    else:
        Q, R = np.linalg.qr(x, mode=mode)
    tQ, tR = wrap(np.asarray(Q, x.dtype)), wrap(np.asarray(R, x.dtype))
    node = record_multi(LinalgQrBackward0, (tQ, tR), (A,)) if needs_grad(A) else None
    if node is not None:
        node.mode = mode
        node.save(tQ.detach(), tR.detach())
    return make_return_type("linalg_qr", ("Q", "R"))(tQ, tR)


def qr_legacy(input, some=True):
    from ..return_types import make_return_type

    Q, R = qr(input, "reduced" if some else "complete")
    return make_return_type("qr", ("Q", "R"))(Q, R)


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None, rcond=None):
    from .shape import mT
    from .arith import reciprocal, mul
    from .pointwise import where

    x = A._data
    U, S, Vh = svd(A, full_matrices=False)
    s = S._data
    if rcond is not None and rtol is None:
        rtol = rcond
    if rtol is None:
        rtol = max(x.shape[-2:]) * np.finfo(x.dtype).eps if atol is None or atol == 0 else 0.0
    smax = s.max(axis=-1, keepdims=True) if s.size else s
    cutoff = np.maximum(atol or 0.0, rtol * smax)
    keep = wrap(s > cutoff)
    sinv = where(keep, reciprocal(where(keep, S, 1.0)), 0.0)
    return matmul(mul(mT(Vh), sinv.unsqueeze(-2)), mT(U))


pinverse = pinv


def matrix_power(A, n):
    from ..creation import eye

    x = _square(A, "linalg.matrix_power") if A._data.dtype.kind == "f" else A._data
    if n == 0:
        return eye(x.shape[-1], dtype=A.dtype).expand(*x.shape) * 1
    base = inv(A) if n < 0 else A
    n = abs(n)
    result = None
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def _expm_array(x):
    try:
        from scipy.linalg import expm
        return np.asarray(expm(x), x.dtype)
    except ImportError:  # pragma: no cover - Taylor series with scaling and squaring
        norm = np.abs(x).sum(-2).max() if x.size else 0.0
        s = max(0, int(np.ceil(np.log2(norm))) + 1) if norm > 0.5 else 0
        y = x / (2 ** s)
        term = np.broadcast_to(np.eye(x.shape[-1], dtype=x.dtype), x.shape).copy()
        total = term.copy()
        for k in range(1, 20):
            term = term @ y / k
            total = total + term
        for _ in range(s):
            total = total @ total
        return total


class LinalgMatrixExpBackward0(Node):
    """out = e^A  ->  dA = the upper-right block of exp([[A^T, g], [0, A^T]])"""

    def backward(self, m, g):
        (a,) = self.saved(m)
        n = a.shape[-1]
        at = m.mT(a)
        z = m.zeros(tuple(a.shape), g.dtype) if not m.tensor_mode else g * 0
        big = m.cat([m.cat([at, g], -1), m.cat([z, at], -1)], -2)
        e = _on(m, matrix_exp, _expm_array, big)
        return m.getitem(e, (Ellipsis, slice(0, n), slice(n, None)))


def matrix_exp(A):
    x = _square(A, "linalg.matrix_exp")
    out = wrap(_expm_array(x))
    node = record(LinalgMatrixExpBackward0, out, (A,))
    if node is not None:
        node.save(A)
    return out
