"""A sweep over the PyTorch API that tutorials, course notebooks and other people's test suites
use: each entry runs unchanged with `mod = torch` and `mod = chainrule` and compares forward
values, dtypes and shapes, and, for differentiable float ops, the gradient of a random weighted
sum of the outputs (float64). Entries where torch raises check that chainrule raises the same
exception type. Complex dtypes, bfloat16 and sparse tensors are out of scope."""
from __future__ import annotations

import math
import warnings
import zlib

import numpy as np
import pytest
import torch

import chainrule


class Entry:
    def __init__(self, name, fn, shapes=((3, 4),), low=-2.0, high=2.0, grad=True, ints=False,
                 raises=False, rtol=1e-7, atol=1e-9, xfail=None):
        self.name, self.fn, self.shapes = name, fn, shapes
        self.low, self.high, self.grad, self.ints = low, high, grad, ints
        self.raises, self.rtol, self.atol, self.xfail = raises, rtol, atol, xfail

    def __repr__(self):
        return self.name


ENTRIES = []


def E(name, fn, *shapes, **kw):
    ENTRIES.append(Entry(name, fn, shapes or ((3, 4),), **kw))


def N(name, fn, *shapes, **kw):
    """No gradient check (integer results, non-differentiable ops)."""
    kw.setdefault("grad", False)
    E(name, fn, *shapes, **kw)


def R(name, fn, *shapes, **kw):
    """torch raises: chainrule must raise the same exception type."""
    E(name, fn, *shapes, raises=True, grad=False, **kw)


P = dict(low=0.2, high=2.0)       # positive
U = dict(low=-0.9, high=0.9)      # inside (-1, 1)
PROB = dict(low=0.05, high=0.95)  # inside (0, 1)

# -- elementwise ----------------------------------------------------------------------------
for _name, _dom in [("sinh", {}), ("cosh", {}), ("tan", U), ("asin", U), ("acos", U),
                    ("atan", {}), ("asinh", {}), ("atanh", U), ("arcsin", U), ("arccos", U),
                    ("arctan", {}), ("exp2", {}), ("expm1", {}), ("log2", P), ("log10", P),
                    ("erf", {}), ("erfc", {}), ("erfinv", U), ("lgamma", P), ("digamma", P),
                    ("sigmoid", {}), ("logit", PROB), ("sinc", {}), ("deg2rad", {}),
                    ("rad2deg", {}), ("frac", {}), ("trunc", {}), ("fix", {}), ("sgn", {}),
                    ("square", {}), ("rsqrt", P), ("reciprocal", P), ("absolute", {}),
                    ("positive", {}), ("neg", {}), ("negative", {}), ("log1p", P), ("exp", {}),
                    ("sign", {}), ("floor", {}), ("ceil", {}), ("round", {})]:
    E(f"torch.{_name}", lambda mod, a, n=_name: getattr(mod, n)(a), **_dom)
    E(f"Tensor.{_name}", lambda mod, a, n=_name: getattr(a, n)(), **_dom)
E("acosh", lambda mod, a: mod.acosh(a), low=1.2, high=3.0)
E("arccosh", lambda mod, a: a.arccosh(), low=1.2, high=3.0)
E("polygamma1", lambda mod, a: mod.polygamma(1, a), **P)
E("polygamma_method", lambda mod, a: a.polygamma(2), **P)
E("logit_eps", lambda mod, a: mod.logit(a, eps=0.1), low=0.0, high=1.0)
E("atan2", lambda mod, a, b: mod.atan2(a, b), (3, 4), (4,))
E("arctan2_method", lambda mod, a, b: a.arctan2(b), (3, 4), (3, 4))
E("hypot", lambda mod, a, b: mod.hypot(a, b), (3, 4), (1, 4))
E("logaddexp", lambda mod, a, b: mod.logaddexp(a, b), (3, 4), (3, 4))
E("logaddexp2", lambda mod, a, b: a.logaddexp2(b), (3, 4), (4,))
E("xlogy", lambda mod, a, b: mod.xlogy(a, b), (3, 4), (3, 4), low=0.2, high=2.0)
E("xlogy_scalar", lambda mod, a: mod.xlogy(a, 3.0), (3, 4))
E("copysign", lambda mod, a, b: mod.copysign(a, b), (3, 4), (3, 4))
E("copysign_scalar", lambda mod, a: a.copysign(-1.0), (3, 4))
E("fmod", lambda mod, a, b: mod.fmod(a, b), (3, 4), (3, 4), low=0.5, high=2.0)
E("fmod_negative", lambda mod, a: mod.fmod(a - 1, 0.7), (3, 4))
E("fmod_method", lambda mod, a: a.fmod(-1.5), (3, 4))
E("remainder", lambda mod, a: mod.remainder(a, 0.7), (3, 4))
E("float_power", lambda mod, a: mod.float_power(a, 2), (3, 4))
E("float_power_tensor", lambda mod, a, b: mod.float_power(a, b), (3,), (3,), **P)
E("lerp_scalar", lambda mod, a, b: mod.lerp(a, b, 0.3), (3, 4), (3, 4))
E("lerp_tensor", lambda mod, a, b, w: mod.lerp(a, b, w), (3, 4), (3, 4), (4,))
E("lerp_method", lambda mod, a, b: a.lerp(b, 0.75), (3, 4), (4,))
E("addcmul", lambda mod, a, b, c: mod.addcmul(a, b, c, value=0.5), (3, 4), (3, 4), (4,))
E("addcdiv", lambda mod, a, b, c: mod.addcdiv(a, b, c, value=2), (3, 4), (3, 4), (3, 4), **P)
E("addcmul_method", lambda mod, a, b, c: a.addcmul(b, c), (3, 4), (3, 4), (3, 4))
E("nan_to_num", lambda mod, a: mod.nan_to_num(a / (a > 0)), (3, 4))
E("nan_to_num_args", lambda mod, a: (a.log()).nan_to_num(nan=0.0, posinf=1.0, neginf=-1.0))
E("clamp_tensor_bounds", lambda mod, a, lo: mod.clamp(a, min=lo), (3, 4), (4,))
E("clamp_min_max_tensors", lambda mod, a, lo, hi: a.clamp(lo, hi + 2), (3, 4), (3, 4), (3, 4))
E("maximum_binary_max", lambda mod, a, b: mod.max(a, b), (3, 4), (3, 4))
E("minimum_binary_min", lambda mod, a, b: mod.min(a, b), (3, 4), (3, 4))
E("fmax", lambda mod, a, b: mod.fmax(a, b), (3, 4), (3, 4))
E("sigmoid_method", lambda mod, a: a.sigmoid())
E("special.expit", lambda mod, a: mod.special.expit(a))
E("special.erf", lambda mod, a: mod.special.erf(a))
E("special.gammaln", lambda mod, a: mod.special.gammaln(a), **P)
E("special.xlogy", lambda mod, a, b: mod.special.xlogy(a, b), (3, 4), (3, 4), **P)
E("special.entr", lambda mod, a: mod.special.entr(a), **P)
E("special.ndtr", lambda mod, a: mod.special.ndtr(a))
N("signbit", lambda mod, a: mod.signbit(a))
N("isposinf", lambda mod, a: mod.isposinf(a / (a > 0)))
N("isneginf", lambda mod, a: mod.isneginf(-a / (a > 0)))
N("isreal", lambda mod, a: mod.isreal(a))
N("isin", lambda mod, a: mod.isin(a.round(), mod.tensor([0.0, 1.0])))
N("gcd", lambda mod: mod.gcd(mod.tensor([4, 6, 9]), mod.tensor([6, 4, 3])), ())
N("lcm", lambda mod: mod.lcm(mod.tensor([4, 6, 9]), mod.tensor([6, 4, 3])), ())
N("bitwise_and_method", lambda mod: mod.tensor([5, 3]).bitwise_and(mod.tensor([1, 2])), ())
N("lshift", lambda mod: mod.tensor([1, 2, 3]) << 2, ())
N("rshift", lambda mod: mod.tensor([8, 16, 3]) >> 1, ())

# -- reductions and scans -------------------------------------------------------------------
E("cumprod", lambda mod, a: mod.cumprod(a, 1))
E("cumprod_dim0_method", lambda mod, a: a.cumprod(dim=0))
E("cumprod_with_zero", lambda mod, a: mod.cumprod(a * (a.abs() > 0.5), 1))
E("cummax", lambda mod, a: tuple(mod.cummax(a, 1)))
E("cummin", lambda mod, a: tuple(a.cummin(0)))
E("logcumsumexp", lambda mod, a: mod.logcumsumexp(a, 1))
E("cumsum_dtype", lambda mod, a: mod.cumsum(a, 0, dtype=mod.float32))
E("sum_dtype", lambda mod, a: mod.sum(a, dtype=mod.float32))
E("sum_dim_tuple", lambda mod, a: a.sum((0, 1), keepdim=True))
E("mean_dtype", lambda mod, a: mod.mean(a, dtype=mod.float32))
E("std_unbiased_false", lambda mod, a: mod.std(a, unbiased=False))
E("std_correction", lambda mod, a: a.std(dim=1, correction=0))
E("var_keepdim", lambda mod, a: a.var(1, keepdim=True))
E("var_mean", lambda mod, a: tuple(mod.var_mean(a, 1)))
E("std_mean", lambda mod, a: tuple(mod.std_mean(a, dim=0, unbiased=False)))
E("nanmean", lambda mod, a: mod.nanmean(a, 1))
E("nansum", lambda mod, a: mod.nansum(a))
E("median_dim", lambda mod, a: tuple(a.median(1)))
E("mode", lambda mod, a: tuple(mod.mode(a.round(), 1)), grad=False)
E("kthvalue", lambda mod, a: tuple(mod.kthvalue(a, 2, 1)))
E("kthvalue_keepdim", lambda mod, a: tuple(a.kthvalue(3, 0, True)))
E("quantile", lambda mod, a: mod.quantile(a, 0.3))
E("quantile_dim", lambda mod, a: mod.quantile(a, 0.75, dim=1, keepdim=True))
E("quantile_tensor_q", lambda mod, a: mod.quantile(a, mod.tensor([0.1, 0.5, 0.9],
                                                                 dtype=mod.float64), dim=0))
E("quantile_lower", lambda mod, a: a.quantile(0.4, dim=1, interpolation="lower"))
E("quantile_midpoint", lambda mod, a: a.quantile(0.4, interpolation="midpoint"))
E("nanquantile", lambda mod, a: mod.nanquantile(a, 0.5, dim=1))
E("msort", lambda mod, a: mod.msort(a))
E("diff", lambda mod, a: mod.diff(a))
E("diff_n2_dim0", lambda mod, a: mod.diff(a, n=2, dim=0))
E("diff_prepend", lambda mod, a, b: mod.diff(a, dim=1, prepend=b), (3, 4), (3, 1))
E("cov", lambda mod, a: mod.cov(a))
E("cov_correction0", lambda mod, a: a.cov(correction=0))
E("corrcoef", lambda mod, a: mod.corrcoef(a))
E("dist", lambda mod, a, b: mod.dist(a, b), (3, 4), (3, 4))
E("dist_p1", lambda mod, a, b: mod.dist(a, b, p=1), (3, 4), (4,))
E("norm_p_dim", lambda mod, a: a.norm(p=2, dim=1))
E("logsumexp", lambda mod, a: mod.logsumexp(a, dim=1))
E("amax_tuple", lambda mod, a: mod.amax(a, dim=(0, 1)))
E("aminmax", lambda mod, a: tuple(mod.aminmax(a)))
E("max_dim", lambda mod, a: tuple(mod.max(a, dim=1)))
E("prod_dim", lambda mod, a: a.prod(1))
N("argmax_keepdim", lambda mod, a: a.argmax(1, keepdim=True))
N("count_nonzero", lambda mod, a: mod.count_nonzero(a > 0, dim=0))
N("bincount", lambda mod: mod.bincount(mod.tensor([0, 1, 1, 3, 2, 1, 7])), ())
N("bincount_weights", lambda mod: mod.bincount(mod.tensor([0, 1, 1, 3]),
                                               weights=mod.tensor([0.5, 1.0, 2.0, 0.25]),
                                               minlength=6), ())
N("histc", lambda mod, a: mod.histc(a, bins=5, min=-2, max=2))
N("histc_auto_range", lambda mod, a: a.histc(bins=4))
N("unique", lambda mod: mod.unique(mod.tensor([3, 1, 2, 3, 1])), ())
N("unique_inverse_counts", lambda mod: mod.unique(mod.tensor([3, 1, 2, 3, 1]),
                                                  return_inverse=True, return_counts=True), ())
N("unique_method_dim", lambda mod: mod.tensor([[1, 2], [1, 2], [0, 1]]).unique(dim=0), ())
N("unique_consecutive", lambda mod: mod.unique_consecutive(mod.tensor([1, 1, 2, 2, 3, 1, 1]),
                                                           return_counts=True), ())
N("argwhere", lambda mod, a: mod.argwhere(a > 0))
N("nonzero_as_tuple", lambda mod, a: mod.nonzero(a > 0, as_tuple=True))
N("searchsorted", lambda mod: mod.searchsorted(mod.tensor([1.0, 3, 5, 7]),
                                               mod.tensor([0.0, 3, 6, 9])), ())
N("searchsorted_right", lambda mod: mod.searchsorted(mod.tensor([1, 3, 5, 7]),
                                                     mod.tensor([3, 6]), right=True), ())
N("searchsorted_2d", lambda mod: mod.searchsorted(mod.tensor([[1, 3, 5], [2, 4, 6]]),
                                                  mod.tensor([[3, 6], [1, 5]]), side="right"), ())
N("bucketize", lambda mod: mod.bucketize(mod.tensor([0.5, 3.0, 6.0, 9.0]),
                                         mod.tensor([1.0, 3, 5, 7])), ())
N("bucketize_right_int32", lambda mod: mod.bucketize(mod.tensor([3, 6]), mod.tensor([1, 3, 5]),
                                                     right=True, out_int32=True), ())
E("sort_stable", lambda mod, a: tuple(mod.sort(a.round(), dim=1, stable=True)), grad=False)
E("sort_descending", lambda mod, a: tuple(a.sort(descending=True)))
E("topk", lambda mod, a: tuple(mod.topk(a, 2, dim=1)))
N("argsort", lambda mod, a: a.argsort(dim=0, descending=True))

# -- linear algebra -------------------------------------------------------------------------
E("einsum_matmul", lambda mod, a, b: mod.einsum("ij,jk->ik", a, b), (3, 4), (4, 2))
E("einsum_batch", lambda mod, a, b: mod.einsum("bij,bjk->bik", a, b), (2, 3, 4), (2, 4, 2))
E("einsum_trace", lambda mod, a: mod.einsum("ii", a), (3, 3))
E("einsum_diag", lambda mod, a: mod.einsum("ii->i", a), (3, 3))
E("einsum_outer", lambda mod, a, b: mod.einsum("i,j->ij", a, b), (3,), (4,))
E("einsum_sum", lambda mod, a: mod.einsum("ij->", a))
E("einsum_transpose", lambda mod, a: mod.einsum("ij->ji", a))
E("einsum_implicit", lambda mod, a, b: mod.einsum("ij,jk", a, b), (3, 4), (4, 2))
E("einsum_ellipsis", lambda mod, a, b: mod.einsum("...ij,...jk->...ik", a, b), (2, 3, 4),
  (4, 5))
E("einsum_attention", lambda mod, q, k: mod.einsum("bhqd,bhkd->bhqk", q, k), (2, 2, 3, 4),
  (2, 2, 5, 4))
E("einsum_three", lambda mod, a, b, c: mod.einsum("ij,jk,kl->il", a, b, c), (2, 3), (3, 4),
  (4, 2))
E("einsum_list", lambda mod, a, b: mod.einsum("i,i->", [a, b]), (3,), (3,))
E("einsum_bilinear", lambda mod, a, w, b: mod.einsum("bi,oij,bj->bo", a, w, b), (2, 3),
  (4, 3, 5), (2, 5))
E("tensordot", lambda mod, a, b: mod.tensordot(a, b, dims=([1], [0])), (3, 4), (4, 2))
E("tensordot_int", lambda mod, a, b: mod.tensordot(a, b, 2), (2, 3, 4), (3, 4, 5))
E("kron", lambda mod, a, b: mod.kron(a, b), (2, 3), (2, 2))
E("baddbmm", lambda mod, c, a, b: mod.baddbmm(c, a, b, beta=0.5, alpha=2), (2, 3, 2), (2, 3, 4),
  (2, 4, 2))
E("addbmm", lambda mod, c, a, b: mod.addbmm(c, a, b), (3, 2), (2, 3, 4), (2, 4, 2))
E("addmv", lambda mod, c, a, b: mod.addmv(c, a, b), (3,), (3, 4), (4,))
E("addr", lambda mod, c, a, b: mod.addr(c, a, b, alpha=3), (3, 4), (3,), (4,))
E("addmm_beta_alpha", lambda mod, c, a, b: mod.addmm(c, a, b, beta=0.5, alpha=2), (3, 2), (3, 4),
  (4, 2))
E("chain_matmul", lambda mod, a, b, c: mod.linalg.multi_dot([a, b, c]), (2, 3), (3, 4), (4, 2))
E("cdist", lambda mod, a, b: mod.cdist(a, b), (3, 4), (5, 4))
E("cdist_p1_batched", lambda mod, a, b: mod.cdist(a, b, p=1), (2, 3, 4), (2, 5, 4))
E("cross", lambda mod, a, b: mod.cross(a, b, dim=1), (4, 3), (4, 3))
E("linalg.cross", lambda mod, a, b: mod.linalg.cross(a, b), (4, 3), (1, 3))
E("block_diag", lambda mod, a, b: mod.block_diag(a, b), (2, 3), (1, 2))
E("cartesian_prod", lambda mod, a, b: mod.cartesian_prod(a, b), (3,), (2,))
E("combinations", lambda mod, a: mod.combinations(a, r=2), (4,))
E("combinations_replacement", lambda mod, a: mod.combinations(a, 2, with_replacement=True), (3,))
E("outer", lambda mod, a, b: mod.outer(a, b), (3,), (4,))
E("inner", lambda mod, a, b: mod.inner(a, b), (3,), (3,))
E("trace", lambda mod, a: mod.trace(a), (3, 3))

SPD = "spd"  # marker: the first input is made symmetric positive definite


def _spd(mod, a):
    return a @ a.mT + 3 * mod.eye(a.shape[-1], dtype=a.dtype)


E("linalg.inv", lambda mod, a: mod.linalg.inv(_spd(mod, a)), (3, 3))
E("inverse", lambda mod, a: mod.inverse(a + 4 * mod.eye(3, dtype=a.dtype)), (3, 3))
E("inverse_batched", lambda mod, a: a.inverse() if False else mod.linalg.inv(_spd(mod, a)),
  (2, 3, 3))
E("linalg.det", lambda mod, a: mod.linalg.det(a), (3, 3))
E("det_method_batched", lambda mod, a: a.det(), (2, 3, 3))
E("logdet", lambda mod, a: mod.logdet(_spd(mod, a)), (3, 3))
E("slogdet", lambda mod, a: tuple(mod.linalg.slogdet(a)), (3, 3))
E("linalg.solve", lambda mod, a, b: mod.linalg.solve(_spd(mod, a), b), (3, 3), (3, 2))
E("linalg.solve_vector", lambda mod, a, b: mod.linalg.solve(_spd(mod, a), b), (3, 3), (3,))
E("linalg.cholesky", lambda mod, a: mod.linalg.cholesky(_spd(mod, a)), (3, 3))
E("cholesky_upper", lambda mod, a: mod.linalg.cholesky(_spd(mod, a), upper=True), (3, 3))
E("linalg.eigh_values", lambda mod, a: mod.linalg.eigh(_spd(mod, a)).eigenvalues, (3, 3))
E("linalg.eigvalsh", lambda mod, a: mod.linalg.eigvalsh(_spd(mod, a)), (4, 4))
E("linalg.eigh_vectors_invariant",
  lambda mod, a: (lambda r: (r.eigenvectors * r.eigenvectors).sum(0))(mod.linalg.eigh(
      _spd(mod, a))), (3, 3))
E("linalg.svdvals", lambda mod, a: mod.linalg.svdvals(a), (3, 4))
E("linalg.svd_reconstruct", lambda mod, a: (lambda r: (r.U * r.S) @ r.Vh)(
    mod.linalg.svd(a, full_matrices=False)), (4, 3))
E("linalg.svd_abs_U", lambda mod, a: mod.linalg.svd(a, full_matrices=False).U.abs(), (4, 3))
E("svd_legacy_S", lambda mod, a: mod.svd(a).S, (4, 3))
E("linalg.qr", lambda mod, a: tuple(t.abs() for t in mod.linalg.qr(a)), (4, 3))
E("qr_legacy", lambda mod, a: tuple(t.abs() for t in mod.qr(a)), (3, 3))
E("linalg.pinv", lambda mod, a: mod.linalg.pinv(a), (4, 3))
E("pinverse", lambda mod, a: mod.pinverse(a), (3, 4))
E("matrix_power", lambda mod, a: mod.linalg.matrix_power(a, 3), (3, 3))
E("matrix_power_method_neg", lambda mod, a: (a + 4 * mod.eye(3, dtype=a.dtype)).matrix_power(-2),
  (3, 3))
E("matrix_exp", lambda mod, a: mod.linalg.matrix_exp(a * 0.5), (3, 3))
E("linalg.norm", lambda mod, a: mod.linalg.norm(a))
E("linalg.norm_ord1_matrix", lambda mod, a: mod.linalg.norm(a, ord=1))
E("linalg.norm_inf_vector", lambda mod, a: mod.linalg.norm(a, ord=float("inf"), dim=1))
E("linalg.norm_nuc", lambda mod, a: mod.linalg.norm(a, ord="nuc"))
E("linalg.vector_norm", lambda mod, a: mod.linalg.vector_norm(a))
E("linalg.vector_norm_ord3_dim", lambda mod, a: mod.linalg.vector_norm(a, 3, dim=1, keepdim=True))
E("linalg.matrix_norm", lambda mod, a: mod.linalg.matrix_norm(a))
E("linalg.matrix_norm_2", lambda mod, a: mod.linalg.matrix_norm(a, ord=2))
E("linalg.matrix_norm_inf", lambda mod, a: mod.linalg.matrix_norm(a, ord=float("inf")))
E("linalg.vecdot", lambda mod, a, b: mod.linalg.vecdot(a, b), (3, 4), (3, 4))
N("linalg.matrix_rank", lambda mod, a: mod.linalg.matrix_rank(a), (3, 4))
E("linalg.lstsq", lambda mod, a, b: mod.linalg.lstsq(a, b).solution, (5, 3), (5, 2))
R("linalg.inv_singular", lambda mod: mod.linalg.inv(mod.zeros(3, 3)), ())
R("linalg.cholesky_not_pd", lambda mod: mod.linalg.cholesky(-mod.eye(3)), ())
R("inv_non_square", lambda mod, a: mod.linalg.inv(a), (3, 4))

# -- shapes, views, indexed writes ------------------------------------------------------------
E("unfold", lambda mod, a: a.unfold(1, 2, 1))
E("unfold_step", lambda mod, a: a.unfold(0, 2, 2), (5, 3))
E("as_strided", lambda mod, a: mod.as_strided(a, (3, 3), (1, 1)), (3, 4))
E("as_strided_offset", lambda mod, a: a.as_strided((2, 2), (4, 1), 1), (3, 4))
E("index_add", lambda mod, a, s: a.index_add(0, mod.tensor([0, 2, 0]), s), (3, 4), (3, 4))
E("index_add_alpha", lambda mod, a, s: mod.index_add(a, 1, mod.tensor([1, 3]), s, alpha=2.0),
  (3, 4), (3, 2))
E("index_copy", lambda mod, a, s: a.index_copy(0, mod.tensor([2, 0]), s), (3, 4), (2, 4))
E("index_fill", lambda mod, a: a.index_fill(1, mod.tensor([0, 2]), -1.0))
E("masked_scatter", lambda mod, a, s: a.masked_scatter(a > 0, s), (3, 4), (12,))
E("scatter_reduce_sum", lambda mod, a, s: a.scatter_reduce(0, mod.tensor([[0, 1, 0, 1]]), s,
                                                           "sum"), (3, 4), (1, 4))
E("scatter_reduce_mean", lambda mod, a, s: a.scatter_reduce(1, mod.tensor([[0, 0], [1, 1],
                                                                           [2, 0]]), s, "mean",
                                                            include_self=False), (3, 4), (3, 2))
N("scatter_reduce_amax", lambda mod, a, s: a.scatter_reduce(0, mod.tensor([[0, 1, 0, 1]]), s,
                                                            "amax"), (3, 4), (1, 4))
E("diag_embed", lambda mod, a: mod.diag_embed(a))
E("diag_embed_offset", lambda mod, a: mod.diag_embed(a, offset=1), (4,))
E("diagflat", lambda mod, a: mod.diagflat(a), (2, 2))
E("rot90", lambda mod, a: mod.rot90(a))
E("rot90_k3", lambda mod, a: a.rot90(3, [0, 1]))
E("rot90_k2", lambda mod, a: mod.rot90(a, 2))
E("ravel", lambda mod, a: mod.ravel(a.t()))
E("column_stack", lambda mod, a, b: mod.column_stack([a, b]), (3,), (3, 2))
E("dstack", lambda mod, a, b: mod.dstack([a, b]), (3, 4), (3, 4))
E("row_stack", lambda mod, a, b: mod.row_stack([a, b]), (4,), (2, 4))
E("hstack", lambda mod, a, b: mod.hstack([a, b]), (3, 4), (3, 1))
E("vstack", lambda mod, a, b: mod.vstack([a, b]), (3, 4), (1, 4))
E("atleast_1d", lambda mod, a: mod.atleast_1d(a), ())
E("atleast_3d", lambda mod, a: mod.atleast_3d(a), (3, 4))
E("hsplit", lambda mod, a: mod.hsplit(a, 2))
E("vsplit", lambda mod, a: mod.vsplit(a, [1]))
E("tensor_split", lambda mod, a: mod.tensor_split(a, 3, dim=1))
E("narrow_copy", lambda mod, a: mod.narrow_copy(a, 1, 1, 2))
E("select_scatter", lambda mod, a, s: mod.select_scatter(a, s, 0, 1), (3, 4), (4,))
E("slice_scatter", lambda mod, a, s: mod.slice_scatter(a, s, 1, 0, 4, 2), (3, 4), (3, 2))
E("put", lambda mod, a, s: a.put(mod.tensor([0, 5]), s), (3, 4), (2,))
E("take", lambda mod, a: mod.take(a, mod.tensor([0, 5, 11])))
E("movedim", lambda mod, a: mod.movedim(a, 0, -1), (2, 3, 4))
E("movedim_tuples", lambda mod, a: mod.movedim(a, (2, 0), (0, -1)), (2, 3, 4))
E("index_with_range", lambda mod, a: a[range(2), mod.tensor([0, 2])] + a[:, range(1, 3)].sum(), (3, 4))
E("repeat_interleave", lambda mod, a: a.repeat_interleave(2, dim=0))
E("roll", lambda mod, a: mod.roll(a, 1, 1))
E("flip_method", lambda mod, a: a.flip(0, 1))
E("tril_method", lambda mod, a: a.tril(-1))
E("unflatten", lambda mod, a: a.unflatten(1, (2, 2)))
E("swapaxes", lambda mod, a: a.swapaxes(0, 1))
E("expand_as", lambda mod, a, b: a.expand_as(b), (1, 4), (3, 4))
E("broadcast_tensors", lambda mod, a, b: mod.broadcast_tensors(a, b), (1, 4), (3, 1))
E("meshgrid_ij", lambda mod, a, b: mod.meshgrid(a, b, indexing="ij"), (3,), (2,))
E("meshgrid_xy", lambda mod, a, b: mod.meshgrid(a, b, indexing="xy"), (3,), (2,))
E("where_scalar", lambda mod, a: mod.where(a > 0, a, 0.0))
E("masked_fill", lambda mod, a: a.masked_fill(a < 0, 0.0))
E("gather", lambda mod, a: a.gather(1, mod.tensor([[0, 1], [1, 2], [3, 3]])))
E("scatter_add", lambda mod, a, s: a.scatter_add(1, mod.tensor([[0, 1], [1, 2], [3, 3]]), s),
  (3, 4), (3, 2))
E("index_select", lambda mod, a: mod.index_select(a, 1, mod.tensor([0, 3])))
E("chunk", lambda mod, a: a.chunk(2, dim=1))
E("split_sizes", lambda mod, a: mod.split(a, [1, 3], dim=1))

# -- creation, dtypes, tensor protocol -------------------------------------------------------
N("tril_indices", lambda mod: mod.tril_indices(3, 4), ())
N("triu_indices_offset", lambda mod: mod.triu_indices(4, 3, 1), ())
N("zeros_tuple", lambda mod: mod.zeros((2, 3)), ())
N("zeros_size", lambda mod: mod.zeros(mod.Size([2, 3]), dtype=mod.int64), ())
N("ones_list", lambda mod: mod.ones([2, 3]), ())
N("full_like", lambda mod, a: mod.full_like(a, 7))
N("full_like_dtype", lambda mod, a: mod.full_like(a, 2, dtype=mod.int32))
N("empty_like_shape", lambda mod, a: mod.empty_like(a).shape)
N("zeros_like_dtype", lambda mod, a: mod.zeros_like(a, dtype=mod.float32))
N("randn_like_shape", lambda mod, a: (mod.randn_like(a).shape, mod.randn_like(a).dtype))
N("arange_float", lambda mod: mod.arange(0, 1, 0.25), ())
N("linspace", lambda mod: mod.linspace(-1, 1, 5), ())
N("eye_rect", lambda mod: mod.eye(2, 3), ())
N("full_bool", lambda mod: mod.full((2,), True), ())
N("tensor_int_list", lambda mod: mod.tensor([[1, 2], [3, 4]]), ())
N("as_tensor_float", lambda mod: mod.as_tensor([1.5, 2.5], dtype=mod.float64), ())
N("get_default_dtype", lambda mod: mod.get_default_dtype(), ())
N("is_tensor", lambda mod, a: (mod.is_tensor(a), mod.is_tensor(3)))
N("numel", lambda mod, a: mod.numel(a))
N("finfo_float32", lambda mod: (mod.finfo(mod.float32).eps, mod.finfo(mod.float32).max,
                                mod.finfo(mod.float32).tiny, mod.finfo(mod.float64).bits,
                                mod.finfo().eps), ())
N("finfo_float16", lambda mod: (mod.finfo(mod.float16).eps, mod.finfo(mod.float16).max), ())
N("iinfo", lambda mod: (mod.iinfo(mod.int64).max, mod.iinfo(mod.int32).min,
                        mod.iinfo(mod.uint8).max, mod.iinfo(mod.int8).bits), ())
N("promote_types", lambda mod: str(mod.promote_types(mod.int32, mod.float32)), ())
N("result_type", lambda mod: str(mod.result_type(mod.tensor([1, 2]), 1.0)), ())
N("can_cast", lambda mod: (mod.can_cast(mod.float64, mod.int32),
                           mod.can_cast(mod.int32, mod.float64)), ())
N("float16_roundtrip", lambda mod, a: a.half().float())
N("float16_arith", lambda mod, a: (a.half() * 2 + 1).dtype)
N("item_int", lambda mod: mod.tensor(3).item(), ())
N("item_float", lambda mod: mod.tensor(2.5).item(), ())
N("item_bool", lambda mod: mod.tensor(True).item(), ())
N("tolist_int", lambda mod: mod.tensor([[1, 2], [3, 4]]).tolist(), ())
N("tolist_float32", lambda mod: mod.tensor([0.1, 0.2]).tolist(), ())
N("tolist_bool", lambda mod: mod.tensor([True, False]).tolist(), ())
N("is_contiguous_t", lambda mod, a: (a.is_contiguous(), a.t().is_contiguous()))
N("stride", lambda mod, a: (a.stride(), a.t().stride(), a.stride(1)))
N("storage_offset", lambda mod, a: (a.storage_offset(), a[1].storage_offset(),
                                    a[1:, 2:].storage_offset()))
N("element_size", lambda mod, a: (a.element_size(), a.float().element_size(),
                                  a.long().element_size()))
N("nbytes_itemsize", lambda mod, a: (a.nbytes, a.itemsize, a.float().nbytes))
N("data_ptr_same_storage", lambda mod, a: a.data_ptr() == a.view(-1).data_ptr())
N("dim_ndim", lambda mod, a: (a.dim(), a.ndim, a.ndimension(), a.nelement()))
N("size_shape", lambda mod, a: (a.size(), a.shape, a.size(-1), tuple(a.shape)))
N("is_floating_point", lambda mod, a: (a.is_floating_point(), a.long().is_floating_point(),
                                       mod.is_floating_point(a)))
N("is_signed", lambda mod, a: (a.is_signed(), a.byte().is_signed()))
N("is_nonzero", lambda mod: mod.tensor([1.5]).is_nonzero(), ())
N("apply_", lambda mod, a: a.clone().apply_(lambda v: v * 2 + 1))
N("map_", lambda mod, a, b: a.clone().map_(b, lambda x, y: x * y), (3, 4), (4,))
N("masked_fill_", lambda mod, a: a.clone().masked_fill_(a > 0, 1.0))
N("index_add_", lambda mod, a, s: a.clone().index_add_(0, mod.tensor([0, 2]), s), (3, 4), (2, 4))
N("index_fill_", lambda mod, a: a.clone().index_fill_(0, mod.tensor([1]), 5.0))
N("index_copy_", lambda mod, a, s: a.clone().index_copy_(1, mod.tensor([3, 0]), s), (3, 4),
  (3, 2))
N("masked_scatter_", lambda mod, a, s: a.clone().masked_scatter_(a > 0, s), (3, 4), (12,))
N("nan_to_num_", lambda mod, a: (a / (a > 0)).nan_to_num_())
N("clamp_", lambda mod, a: a.clone().clamp_(-0.5, 0.5))
N("lerp_", lambda mod, a, b: a.clone().lerp_(b, 0.5), (3, 4), (3, 4))
N("addcmul_", lambda mod, a, b: a.clone().addcmul_(b, b, value=0.1), (3, 4), (3, 4))
N("fill_diagonal_", lambda mod, a: a.clone().fill_diagonal_(0.0), (3, 3))
N("fill_diagonal_wrap", lambda mod, a: a.clone().fill_diagonal_(0.5, wrap=True), (7, 3))
N("bool_ops", lambda mod, a: ((a > 0) & (a < 1), (a > 0) | (a < -1), ~(a > 0), (a > 0) ^ (a > 1)))
N("comparison_scalar_types", lambda mod, a: (a > 0).sum().item())
N("type_conversions", lambda mod, a: (a.int(), a.long().float(), a.bool(), a.double().dtype,
                                      a.to(mod.float32).dtype, a.type(mod.float32).dtype))
N("to_other", lambda mod, a, b: a.to(b.long()).dtype, (3, 4), (2,))
N("manual_seed_randn", lambda mod: (mod.manual_seed(0), mod.randn(3))[1], ())
N("normal_tensor_args", lambda mod: (mod.manual_seed(0), mod.normal(mod.zeros(3), mod.ones(3)))[1],
  ())
N("randint_shape", lambda mod: (mod.manual_seed(0), mod.randint(0, 10, (2, 3)))[1], ())
R("bincount_negative", lambda mod: mod.bincount(mod.tensor([-1, 2])), ())
R("kthvalue_out_of_range", lambda mod, a: mod.kthvalue(a, 10, 1))
R("einsum_bad_operands", lambda mod, a: mod.einsum("ij,jk->ik", a))
R("cross_bad_dim", lambda mod, a, b: mod.cross(a, b, dim=1), (3, 4), (3, 4))
R("unfold_too_big", lambda mod, a: a.unfold(1, 9, 1))
R("lerp_dtype_mismatch", lambda mod, a: mod.lerp(a, a.float(), 0.5))
R("frac_int", lambda mod: mod.frac(mod.tensor([1, 2])), ())
R("quantile_q_out_of_range", lambda mod, a: mod.quantile(a, 1.5))


# -- the harness ----------------------------------------------------------------------------
def _flatten(value, out):
    if isinstance(value, (tuple, list)) and not isinstance(value, (torch.Size, chainrule.Size)):
        for v in value:
            _flatten(v, out)
    else:
        out.append(value)
    return out


def _inputs(entry, mod, requires_grad):
    rng = np.random.default_rng(zlib.crc32(entry.name.encode()))
    arrays = [rng.uniform(entry.low, entry.high, s) for s in entry.shapes if s != ()] \
        if entry.shapes != ((),) else []
    if entry.shapes and entry.shapes[0] == () and len(entry.shapes) == 1 \
            and entry.name in ("atleast_1d",):
        arrays = [np.asarray(rng.uniform(entry.low, entry.high))]
    return arrays, [mod.tensor(a, requires_grad=requires_grad) for a in arrays]


def _call(entry, mod, tensors):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return entry.fn(mod, *tensors)


def _compare(ours, theirs, entry):
    o, t = _flatten(ours, []), _flatten(theirs, [])
    assert len(o) == len(t), f"{len(o)} outputs, torch gives {len(t)}"
    for k, (c, r) in enumerate(zip(o, t)):
        if isinstance(r, torch.Tensor):
            assert isinstance(c, chainrule.Tensor), f"output {k}: {type(c)} is not a Tensor"
            assert str(c.dtype) == str(r.dtype), f"output {k}: dtype {c.dtype} != {r.dtype}"
            assert tuple(c.shape) == tuple(r.shape), f"output {k}: shape {tuple(c.shape)} != " \
                                                     f"{tuple(r.shape)}"
            low_precision = r.dtype in (torch.float32, torch.float16)
            np.testing.assert_allclose(c.detach().numpy().astype(np.float64),
                                       r.detach().numpy().astype(np.float64),
                                       rtol=max(entry.rtol, 1e-3 if r.dtype == torch.float16
                                                else 2e-6 if low_precision else 0),
                                       atol=entry.atol if not low_precision else 1e-6,
                                       equal_nan=True,
                                       err_msg=f"output {k}")
        elif isinstance(r, (torch.dtype, torch.Size)):
            assert str(c) == str(r).replace("torch.Size", "torch.Size")
        elif isinstance(r, float) and isinstance(c, float):
            assert c == pytest.approx(r, rel=1e-12, abs=0) or (math.isnan(c) and math.isnan(r))
        else:
            assert type(c) is type(r) and c == r, f"output {k}: {c!r} != torch's {r!r}"


def _params():
    out = []
    for e in ENTRIES:
        marks = [pytest.mark.xfail(reason=e.xfail, strict=True)] if e.xfail else []
        out.append(pytest.param(e, id=e.name, marks=marks))
    return out


@pytest.mark.parametrize("entry", _params())
def test_matches_torch(entry):
    torch.manual_seed(0)
    chainrule.manual_seed(0)
    arrays, theirs_in = _inputs(entry, torch, entry.grad)
    _, ours_in = _inputs(entry, chainrule, entry.grad)
    if entry.raises:
        with pytest.raises(Exception) as expected:
            _call(entry, torch, theirs_in)
        with pytest.raises(Exception) as got:
            _call(entry, chainrule, ours_in)
        theirs_type = type(expected.value)
        assert isinstance(got.value, theirs_type) or (
            type(got.value).__name__ == theirs_type.__name__
            and isinstance(got.value, theirs_type.__mro__[1])), \
            f"torch raised {expected.value!r}, chainrule {got.value!r}"
        return
    theirs = _call(entry, torch, theirs_in)
    ours = _call(entry, chainrule, ours_in)
    _compare(ours, theirs, entry)
    if not entry.grad:
        return
    t_out = [t for t in _flatten(theirs, []) if isinstance(t, torch.Tensor) and t.requires_grad]
    c_out = [c for c in _flatten(ours, []) if isinstance(c, chainrule.Tensor) and c.requires_grad]
    assert len(c_out) == len(t_out), "outputs that require grad differ from torch's"
    if not t_out:
        return
    rng = np.random.default_rng(1)
    weights = [rng.uniform(-1, 1, tuple(t.shape)) for t in t_out]
    t_loss = sum((t * torch.tensor(w)).sum() for t, w in zip(t_out, weights))
    c_loss = sum((c * chainrule.tensor(w)).sum() for c, w in zip(c_out, weights))
    t_grads = torch.autograd.grad(t_loss, theirs_in, allow_unused=True)
    c_grads = chainrule.autograd.grad(c_loss, ours_in, allow_unused=True)
    for i, (c, t) in enumerate(zip(c_grads, t_grads)):
        expected = np.zeros(arrays[i].shape) if t is None else t.numpy(force=True)
        got = np.zeros(arrays[i].shape) if c is None else c.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8, err_msg=f"grad {i}")
