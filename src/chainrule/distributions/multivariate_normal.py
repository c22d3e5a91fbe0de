"""MultivariateNormal, parameterised by exactly one of a covariance matrix, a precision matrix or
a lower-triangular scale (`scale_tril`, the Cholesky factor L of the covariance).

Everything is computed from L: samples are loc + L @ eps, the log-density needs |L^-1 (x - mu)|^2
and sum(log diag L). chainrule has no triangular solver, so L^-1 b is `linalg.solve` (an LU
solve): results agree with PyTorch's triangular solve to rounding, and stay differentiable.
"""
from __future__ import annotations

import math

from .. import linalg
from .._size import Size
from ..creation import eye
from ..ops.shape import flip
from . import constraints
from .distribution import Distribution
from .utils import _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]


def _batch_shape_of(*shapes):
    from .._errors import broadcast_shapes

    out = ()
    for s in shapes:
        out = broadcast_shapes(out, tuple(s))
    return Size(out)


def _solve_lower(L, B):
    """L^-1 B for lower-triangular L (..., n, n) and B (..., n, k), batch dims broadcast."""
    batch = _batch_shape_of(L.shape[:-2], B.shape[:-2])
    L = L.tril()  # a triangular solve reads only the lower triangle: no gradient above it
    return linalg.solve(L.expand(batch + L.shape[-2:]), B.expand(batch + B.shape[-2:]))


def _mahalanobis(L, x):
    """|L^-1 x|^2 over the last dim of x, for every batch entry."""
    return _solve_lower(L, x.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def _half_log_det(L):
    return L.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def _precision_to_scale_tril(P):
    # With J the reversal permutation: chol(J P J) = Lf gives P = U U^T with U = J Lf J upper
    # triangular, so U^T is the lower-triangular L^-1 of the covariance's factor L.
    Lf = linalg.cholesky(flip(P, (-2, -1)))
    L_inv = flip(Lf, (-2, -1)).transpose(-2, -1)
    return _solve_lower(L_inv, eye(P.shape[-1], dtype=P.dtype))


class MultivariateNormal(Distribution):
    """N(loc, Sigma) over vectors of the last dim of `loc`.

    >>> d = MultivariateNormal(zeros(2), covariance_matrix=tensor([[1.0, 0.5], [0.5, 2.0]]))
    >>> d.log_prob(tensor([0.3, -0.1]))
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                     ("scale_tril", scale_tril),
                                     ("precision_matrix", precision_matrix)) if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        (name, matrix), = given
        if matrix.dim() < 2:
            what = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(f"{what} must be at least two-dimensional, with optional leading "
                             "batch dimensions")
        batch = _batch_shape_of(matrix.shape[:-2], loc.shape[:-1])
        setattr(self, name, matrix.expand(batch + (-1, -1)))
        self.loc = loc.expand(batch + (-1,))
        super().__init__(batch, self.loc.shape[-1:], validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    def expand(self, batch_shape, _instance=None):
        batch_shape = Size(batch_shape)
        n = self.event_shape
        params = {"loc": self.loc.expand(batch_shape + n),
                  "_unbroadcasted_scale_tril": self._unbroadcasted_scale_tril}
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                params[name] = self.__dict__[name].expand(batch_shape + n + n)
        return self._expanded(batch_shape, MultivariateNormal, **params)

    def _matrix_shape(self):
        return tuple(self._batch_shape + self._event_shape + self._event_shape)

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.transpose(-2, -1)).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        L = self._unbroadcasted_scale_tril
        L_inv = _solve_lower(L, eye(L.shape[-1], dtype=L.dtype))
        return (L_inv.transpose(-2, -1) @ L_inv).expand(self._matrix_shape())

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        var = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return var.expand(tuple(self._batch_shape + self._event_shape))

    def rsample(self, sample_shape=Size()):
        eps = _standard_normal(self._extended_shape(sample_shape), self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        L = self._unbroadcasted_scale_tril
        M = _mahalanobis(L, value - self.loc)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - _half_log_det(L)

    def entropy(self):
        n = self._event_shape[0]
        H = 0.5 * n * (1.0 + math.log(2 * math.pi)) + _half_log_det(self._unbroadcasted_scale_tril)
        return H if len(self._batch_shape) == 0 else H.expand(tuple(self._batch_shape))
