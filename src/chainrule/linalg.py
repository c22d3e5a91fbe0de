"""torch.linalg: norms, inverses, decompositions and solvers over the ops in ops/linalg.py
(real floating-point inputs; complex tensors are not supported by chainrule)."""
from __future__ import annotations

import math

import numpy as np

from .ops import linalg as _L, reduce as _R, shape as _S, arith as _A
from .ops.linalg import (inv, det, slogdet, solve, cholesky, eigh, eigvalsh, svd, svdvals,  # noqa
                         qr, pinv, matrix_power, matrix_exp, cross as _cross, LinAlgError,
                         matmul)
from .ops._core import wrap
from .return_types import make_return_type

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "inv_ex", "det", "slogdet", "solve",
           "solve_ex", "cholesky", "cholesky_ex", "eigh", "eigvalsh", "svd", "svdvals", "qr",
           "pinv", "matrix_power", "matrix_exp", "matrix_rank", "cross", "multi_dot", "vecdot",
           "diagonal", "lstsq", "matmul", "cond", "vander", "LinAlgError", "solve_triangular"]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    if dtype is not None:
        x = _S.to_dtype(x, dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {x.dtype._torch_name[:-6]}")
    if isinstance(dim, int):
        dim = (dim,)
    if ord == math.inf or ord == -math.inf:
        fn = _R.amax if ord > 0 else _R.amin
        return fn(_A.abs(x), () if dim is None else dim, keepdim)
    if dim is None and not keepdim:
        return _R.norm(_S.reshape(x, (-1,)), ord, 0, False)
    return _R.norm(x, ord, dim, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    if dtype is not None:
        A = _S.to_dtype(A, dtype)
    nd = A._data.ndim
    if nd < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    d0, d1 = (d % nd for d in dim)
    if ord == "fro":
        return _R.norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        rest = [i for i in range(nd) if i not in (d0, d1)]
        moved = _S.permute(A, rest + [d0, d1]) if (d0, d1) != (nd - 2, nd - 1) else A
        s = svdvals(moved)
        res = _R.sum(s, -1) if ord == "nuc" else (_R.amax(s, -1) if ord == 2 else
                                                  _R.amin(s, -1))
        if keepdim:
            res = _S.unsqueeze(_S.unsqueeze(res, min(d0, d1)), max(d0, d1))
        return res
    if ord in (1, -1, math.inf, -math.inf):
        reduce_first, then = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = _R.sum(_A.abs(A), reduce_first, True)
        fn = _R.amax if ord > 0 else _R.amin
        res = fn(sums, then, True)
        if not keepdim:
            res = _S.squeeze(_S.squeeze(res, max(d0, d1)), min(d0, d1))
        return res
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if isinstance(ord, str) or (dim is not None and len(dim) == 2) or (
            dim is None and A._data.ndim == 2):
        if dim is None and A._data.ndim != 2:
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {A._data.ndim}D.")
        return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    if dim is None and A._data.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A._data.ndim}D.")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def _with_info(result, A):
    return result, wrap(np.zeros(A._data.shape[:-2], np.int32))


def inv_ex(A, *, check_errors=False, out=None):
    return make_return_type("linalg_inv_ex", ("inverse", "info"))(*_with_info(inv(A), A))


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """L and LAPACK's info (0, or the order of the first leading minor that is not
    positive-definite, with L factored up to there); raises only with check_errors."""
    result = make_return_type("linalg_cholesky_ex", ("L", "info"))
    _L._square(A, "linalg.cholesky_ex")
    _, info = _L.cholesky_with_info(A._data)
    if not info.any():
        return result(*_with_info(cholesky(A, upper), A))
    if check_errors:
        raise _L.cholesky_error("linalg.cholesky_ex", info)
    L, info = _L.cholesky_with_info(A._data)
    L = np.swapaxes(L, -1, -2) if upper else L
    return result(wrap(np.ascontiguousarray(L)), wrap(info))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """X with A X = B (X A = B if not left), A read as upper or lower triangular; gradients
    reach only A's triangle (not its diagonal when unitriangular), as in PyTorch."""
    T = _S.triu(A) if upper else _S.tril(A)
    if unitriangular:
        T = _A.add(_S.triu(T, 1) if upper else _S.tril(T, -1), _eye_like(A))
    return solve(T, B, left=left)


def _eye_like(A):
    from .creation import eye

    return eye(A.shape[-1], dtype=A.dtype)


def cholesky_solve(B, L, upper=False, *, out=None):
    """X with (L L^T) X = B, from the Cholesky factor L (U^T U with upper)."""
    Lt = _S.mT(L)
    first, second = (Lt, L) if upper else (L, Lt)
    return solve(second, solve(first, B))


def cholesky_inverse(L, upper=False, *, out=None):
    return cholesky_solve(_eye_like(L), L, upper)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """Deprecated torch.triangular_solve: (solution, a copy of A)."""
    coefficient = _S.mT(A) if transpose else A
    solution = solve_triangular(coefficient, b, upper=upper != transpose,
                                unitriangular=unitriangular)
    return make_return_type("triangular_solve", ("solution", "cloned_coefficient"))(
        solution, A.clone())


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    return make_return_type("linalg_solve_ex", ("result", "info"))(
        *_with_info(solve(A, B, left=left), A))


def cross(input, other, *, dim=-1, out=None):
    return _cross(input, other, dim)


def multi_dot(tensors, *, out=None):
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first_1d, last_1d = tensors[0]._data.ndim == 1, tensors[-1]._data.ndim == 1
    if first_1d:
        tensors[0] = _S.unsqueeze(tensors[0], 0)
    if last_1d:
        tensors[-1] = _S.unsqueeze(tensors[-1], -1)
    result = tensors[0]
    for t in tensors[1:]:
        result = _L.mm(result, t)
    if first_1d:
        result = _S.squeeze(result, 0)
    if last_1d:
        result = _S.squeeze(result, -1)
    return result


def vecdot(x, y, *, dim=-1, out=None):
    return _R.sum(_A.mul(x, y), dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return _S.diagonal_(A, offset, dim1 % A._data.ndim, dim2 % A._data.ndim)


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    x = A._data
    s = np.linalg.svd(x, compute_uv=False)
    if tol is not None:
        atol = tol
    if rtol is None:
        rtol = max(x.shape[-2:]) * np.finfo(x.dtype).eps if not atol else 0.0
    smax = s.max(axis=-1, keepdims=True) if s.size else s
    cutoff = np.maximum(atol or 0.0, rtol * smax)
    return wrap(np.sum(s > cutoff, axis=-1).astype(np.int64))


def lstsq(A, B, rcond=None, *, driver=None):
    x = _L.matmul(pinv(A), B)
    empty = wrap(np.zeros((0,), A._data.dtype))
    rank = wrap(np.asarray(np.linalg.matrix_rank(A._data), np.int64))
    return make_return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))(
        x, empty, rank, empty)


def cond(A, p=None):
    if p is None or p == 2 or p == -2:
        s = svdvals(A)
        hi, lo = _R.amax(s, -1), _R.amin(s, -1)
        return _A.div(lo, hi) if p == -2 else _A.div(hi, lo)
    return _A.mul(matrix_norm(A, p), matrix_norm(inv(A), p))


def vander(x, *, N=None):
    n = x._data.shape[-1] if N is None else N
    powers = [_A.pow(x, k) if k else _A.pow(x, 0) for k in range(n)]
    return _S.stack(powers, -1)
