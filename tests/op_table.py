"""The op table: one row per differentiable op of the core (and per dim/keepdim variant).

A row's `fn(mod, *tensors)` runs unchanged with `mod = torch` (the oracle) and
`mod = chainrule`; `shapes` is a hypothesis strategy drawing one shape per tensor argument
(including (), size-1 dims and broadcasting); `domains` says where the inputs are drawn from and
which points (`kinks`) they keep away from, so that central differences never straddle a kink.
The oracle, finite-difference and second-order tests in tests/test_ops_*.py all iterate this
table: adding an op is adding a row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

MAX_SIDE = 3
KINK_MARGIN = 0.05  # finite differences use eps = 1e-6, far inside this margin
TIE_GAP = 0.05      # distinct inputs (max, sort...) differ by at least this


@dataclass(frozen=True)
class Domain:
    """Inputs are uniform in [low, high), at least KINK_MARGIN away from every kink."""

    low: float = -2.0
    high: float = 2.0
    kinks: tuple = ()


REAL = Domain()
POSITIVE = Domain(0.2, 2.0)
AWAY_FROM_ZERO = Domain(-2.0, 2.0, kinks=(0.0,))


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable
    shapes: st.SearchStrategy
    domains: tuple = (REAL,)        # one per tensor argument (the last one repeats)
    distinct: bool = False          # all elements well apart: no ties (max, sort, median...)
    apart: bool = False             # inputs differ elementwise (maximum, minimum: no ties)
    gradgrad: bool = True           # torch supports second derivatives for this op
    int_inputs: bool = False        # also meaningful on integer tensors (dtype promotion)
    marks: tuple = field(default=())

    def domain(self, i):
        return self.domains[i] if i < len(self.domains) else self.domains[-1]

    def __repr__(self):
        return self.name


# -- shape strategies ---------------------------------------------------------------------------
def one(min_dims=0, max_dims=3, min_side=1, max_side=MAX_SIDE):
    """One tensor of any shape in range (() included when min_dims == 0)."""
    return array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                        max_side=max_side).map(lambda s: (s,))


def broadcasting(n=2, min_dims=0, max_dims=3):
    """n mutually broadcastable shapes (size-1 dims, missing leading dims, ())."""
    return mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                         min_side=1, max_side=MAX_SIDE).map(
        lambda b: tuple(b.input_shapes))


def fixed(*shapes):
    return st.just(tuple(shapes))


def choice(*options):
    """One of several shape tuples, e.g. choice(((2, 3),), ((1, 3),))."""
    return st.sampled_from(options)


def same(n=2, min_dims=0, max_dims=3, min_side=1):
    """n tensors of one shape."""
    return array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                        max_side=MAX_SIDE).map(lambda s: (s,) * n)


sides = st.integers(1, MAX_SIDE)


@st.composite
def matmul_shapes(draw, left_dims, right_dims, broadcast_batch=False):
    n, k, m = draw(sides), draw(sides), draw(sides)
    left = {1: (k,), 2: (n, k)}.get(left_dims)
    right = {1: (k,), 2: (k, m)}.get(right_dims)
    if left is None or right is None:
        batch = (draw(sides),)
        if broadcast_batch:  # (b1, 1, n, k) @ (b2, k, m) -> (b1, b2, n, m)
            left_batch, right_batch = (draw(sides), 1), batch
        else:
            left_batch = right_batch = batch
        if left is None:
            left = left_batch + (n, k)
        if right is None:
            right = right_batch + (k, m)
    return (left, right)


# -- deterministic integer patterns (indices), the same under torch and chainrule -------------
def pattern(shape, n, salt=0):
    """int64 array of `shape` with values in [0, n), repeated values included."""
    size = int(np.prod(shape, dtype=np.int64))
    return ((np.arange(size, dtype=np.int64) * 7 + 3 + salt) % n).reshape(shape)


def _mask(shape):
    """A bool mask with both True and False (when there are two elements or more)."""
    size = int(np.prod(shape, dtype=np.int64))
    return (np.arange(size) % 3 != 1).reshape(shape)


def _setitem_basic(mod, a, v):
    out = a * 1
    out[0] = v
    return out


def _setitem_slice(mod, a, v):
    out = a.clone()
    out[:, 1:] = v
    return out


def _setitem_mask(mod, a):
    out = a * 2
    out[out > 0] = 0.5
    return out


def _setitem_mask_tensor_value(mod, a, v):
    out = a * 2
    out[mod.tensor(_mask(tuple(a.shape)))] = v
    return out


def _setitem_index_array(mod, a, v):
    out = a * 1
    out[[0, 2]] = v
    return out


# -- the table ------------------------------------------------------------------------------
def _arith_rows():
    rows = [
        Op("add", lambda mod, a, b: a + b, broadcasting(), int_inputs=True),
        Op("add_alpha", lambda mod, a, b: mod.add(a, b, alpha=2.5), broadcasting()),
        Op("sub", lambda mod, a, b: a - b, broadcasting(), int_inputs=True),
        Op("sub_alpha", lambda mod, a, b: mod.sub(a, b, alpha=-3), broadcasting()),
        Op("mul", lambda mod, a, b: a * b, broadcasting(), int_inputs=True),
        Op("div", lambda mod, a, b: a / b, broadcasting(), (REAL, Domain(0.5, 2.0)),
           int_inputs=True),
        Op("div_negative_divisor", lambda mod, a, b: mod.div(a, b), broadcasting(),
           (REAL, Domain(-2.0, -0.5))),
        Op("tensor_plus_scalar", lambda mod, a: a + 2.5, one(), int_inputs=True),
        Op("scalar_plus_tensor", lambda mod, a: 2.5 + a, one(), int_inputs=True),
        Op("tensor_plus_int", lambda mod, a: a + 2, one(), int_inputs=True),
        Op("tensor_minus_scalar", lambda mod, a: a - 1.5, one(), int_inputs=True),
        Op("scalar_minus_tensor", lambda mod, a: 1.5 - a, one(), int_inputs=True),
        Op("int_minus_tensor", lambda mod, a: 3 - a, one(), int_inputs=True),
        Op("tensor_times_scalar", lambda mod, a: a * 3.0, one(), int_inputs=True),
        Op("int_times_tensor", lambda mod, a: 3 * a, one(), int_inputs=True),
        Op("tensor_div_scalar", lambda mod, a: a / 4, one(), int_inputs=True),
        Op("scalar_div_tensor", lambda mod, a: 4.0 / a, one(), (Domain(0.5, 2.0),),
           int_inputs=True),
        Op("neg", lambda mod, a: -a, one(), int_inputs=True),
        Op("neg_method", lambda mod, a: a.neg(), one()),
        Op("pow_2", lambda mod, a: a ** 2, one(), int_inputs=True),
        Op("pow_3", lambda mod, a: a ** 3, one(), int_inputs=True),
        Op("pow_0", lambda mod, a: a ** 0, one()),
        Op("pow_1", lambda mod, a: a ** 1, one()),
        Op("pow_half", lambda mod, a: a ** 0.5, one(), (POSITIVE,)),
        Op("pow_negative", lambda mod, a: a ** -1.5, one(), (POSITIVE,)),
        Op("pow_method_float", lambda mod, a: a.pow(2.5), one(), (POSITIVE,)),
        Op("scalar_pow_tensor", lambda mod, a: 2 ** a, one(), int_inputs=True),
        Op("float_pow_tensor", lambda mod, a: 0.5 ** a, one()),
        Op("pow_tensor_exponent", lambda mod, a, b: a ** b, broadcasting(), (POSITIVE, REAL)),
        Op("pow_function_tensor_exponent", lambda mod, a, b: mod.pow(a, b), broadcasting(),
           (POSITIVE, REAL)),
        Op("square", lambda mod, a: mod.square(a), one(), int_inputs=True),
        Op("abs", lambda mod, a: a.abs(), one(), (AWAY_FROM_ZERO,), int_inputs=True),
        Op("abs_builtin", lambda mod, a: abs(a), one(), (AWAY_FROM_ZERO,)),
        Op("sign", lambda mod, a: mod.sign(a), one(), (AWAY_FROM_ZERO,)),
    ]
    return rows


def _linalg_rows():
    return [
        Op("mm", lambda mod, a, b: mod.mm(a, b), matmul_shapes(2, 2)),
        Op("matmul_operator_2d", lambda mod, a, b: a @ b, matmul_shapes(2, 2)),
        Op("matmul_1d_1d", lambda mod, a, b: mod.matmul(a, b), matmul_shapes(1, 1)),
        Op("matmul_2d_1d", lambda mod, a, b: a @ b, matmul_shapes(2, 1)),
        Op("matmul_1d_2d", lambda mod, a, b: a @ b, matmul_shapes(1, 2)),
        Op("matmul_batched", lambda mod, a, b: a @ b, matmul_shapes(3, 3)),
        Op("matmul_batched_2d", lambda mod, a, b: a @ b, matmul_shapes(3, 2)),
        Op("matmul_2d_batched", lambda mod, a, b: a @ b, matmul_shapes(2, 3)),
        Op("matmul_batched_1d", lambda mod, a, b: a @ b, matmul_shapes(3, 1)),
        Op("matmul_1d_batched", lambda mod, a, b: a @ b, matmul_shapes(1, 3)),
        Op("matmul_broadcast_batch", lambda mod, a, b: a @ b, matmul_shapes(4, 3, True)),
        Op("bmm", lambda mod, a, b: mod.bmm(a, b), matmul_shapes(3, 3)),
        Op("mv", lambda mod, a, b: mod.mv(a, b), matmul_shapes(2, 1)),
        Op("dot", lambda mod, a, b: mod.dot(a, b), matmul_shapes(1, 1)),
        Op("dot_method", lambda mod, a, b: a.dot(b), matmul_shapes(1, 1)),
    ]


def _reduction_rows():
    rows = []
    dims = [0, -1, (0, 1), (-1, 0), [1]]
    for name in ("sum", "mean"):
        rows.append(Op(f"{name}_all", lambda mod, a, name=name: getattr(a, name)(), one()))
        for dim in dims:
            for keepdim in (False, True):
                rows.append(Op(
                    f"{name}_dim{dim}_keepdim{keepdim}".replace(" ", ""),
                    lambda mod, a, name=name, dim=dim, keepdim=keepdim:
                        getattr(mod, name)(a, dim, keepdim=keepdim),
                    one(min_dims=2)))
    rows.append(Op("sum_int_input", lambda mod, a: a.sum(), one(), int_inputs=True))
    rows.append(Op("prod_all", lambda mod, a: a.prod(), one(max_dims=2),
                   (Domain(0.5, 1.5),)))
    for dim in (0, -1):
        for keepdim in (False, True):
            rows.append(Op(f"prod_dim{dim}_keepdim{keepdim}",
                           lambda mod, a, dim=dim, keepdim=keepdim: a.prod(dim, keepdim),
                           one(min_dims=1), (Domain(0.5, 1.5),)))
    for name in ("var", "std"):
        variants = [("all", lambda a, f: f()), ("all_biased", lambda a, f: f(unbiased=False)),
                    ("dim0", lambda a, f: f(0)), ("dim-1_keepdim", lambda a, f: f(-1, keepdim=True)),
                    ("dims01", lambda a, f: f((0, 1))),
                    ("dim1_unbiasedFalse", lambda a, f: f(1, unbiased=False)),
                    ("dim0_correction0", lambda a, f: f(0, correction=0)),
                    ("dim1_correction2_keepdim", lambda a, f: f(dim=1, correction=2,
                                                                  keepdim=True))]
        for label, call in variants:
            side = 3 if "correction2" in label else 2
            rows.append(Op(f"{name}_{label}",
                           lambda mod, a, name=name, call=call: call(a, getattr(a, name)),
                           one(min_dims=2, min_side=side)))
    for name in ("max", "min"):
        rows.append(Op(f"{name}_all", lambda mod, a, name=name: getattr(a, name)(), one(),
                       distinct=True))
        for dim in (0, -1, 1):
            for keepdim in (False, True):
                rows.append(Op(f"{name}_dim{dim}_keepdim{keepdim}",
                               lambda mod, a, name=name, dim=dim, keepdim=keepdim:
                                   tuple(getattr(mod, name)(a, dim, keepdim=keepdim)),
                               one(min_dims=2), distinct=True))
        rows.append(Op(f"{name}_dim_named_fields",
                       lambda mod, a, name=name: getattr(a, name)(dim=0).values, one(min_dims=1),
                       distinct=True))
        rows.append(Op(f"a{name}_all", lambda mod, a, name=name: getattr(a, "a" + name)(), one(),
                       distinct=True))
        for dim in (0, -1, (0, 1)):
            for keepdim in (False, True):
                rows.append(Op(f"a{name}_dim{dim}_keepdim{keepdim}".replace(" ", ""),
                               lambda mod, a, name=name, dim=dim, keepdim=keepdim:
                                   getattr(mod, "a" + name)(a, dim, keepdim),
                               one(min_dims=2), distinct=True))
        rows.append(Op(f"{name}imum", lambda mod, a, b, name=name: getattr(mod, name + "imum")(a, b),
                       broadcasting(), apart=True))
        rows.append(Op(f"{name}_binary", lambda mod, a, b, name=name: getattr(mod, name)(a, b),
                       same(), apart=True))
    for dim in (0, -1, (0, 1)):
        for keepdim in (False, True):
            rows.append(Op(f"logsumexp_dim{dim}_keepdim{keepdim}".replace(" ", ""),
                           lambda mod, a, dim=dim, keepdim=keepdim: mod.logsumexp(a, dim, keepdim),
                           one(min_dims=2)))
    for dim in (0, -1):
        rows.append(Op(f"softmax_dim{dim}", lambda mod, a, dim=dim: mod.softmax(a, dim),
                       one(min_dims=1)))
        rows.append(Op(f"log_softmax_dim{dim}", lambda mod, a, dim=dim: a.log_softmax(dim),
                       one(min_dims=1)))
        rows.append(Op(f"cumsum_dim{dim}", lambda mod, a, dim=dim: mod.cumsum(a, dim),
                       one(min_dims=1)))
    rows.append(Op("softmax_0d", lambda mod, a: mod.softmax(a, 0), one(max_dims=0)))
    rows.append(Op("cumsum_0d", lambda mod, a: a.cumsum(0), one(max_dims=0)))
    norm_variants = [
        ("norm", lambda a: a.norm(), (AWAY_FROM_ZERO,)),
        ("norm_fro", lambda a: a.norm(p="fro"), (AWAY_FROM_ZERO,)),
        ("norm_p1", lambda a: a.norm(p=1), (AWAY_FROM_ZERO,)),
        ("norm_p3", lambda a: a.norm(p=3), (AWAY_FROM_ZERO,)),
        ("norm_dim0", lambda a: a.norm(dim=0), (AWAY_FROM_ZERO,)),
        ("norm_dim-1_keepdim", lambda a: a.norm(2, -1, True), (AWAY_FROM_ZERO,)),
        ("norm_p1_dim1", lambda a: a.norm(1, 1), (AWAY_FROM_ZERO,)),
        ("norm_p3_dims01", lambda a: a.norm(3, (0, 1)), (AWAY_FROM_ZERO,)),
    ]
    for label, call, domains in norm_variants:
        rows.append(Op(label, lambda mod, a, call=call: call(a), one(min_dims=2), domains))
    return rows


def _pointwise_rows():
    F = "nn.functional"

    def functional(name, **kwargs):
        return lambda mod, a: getattr(mod.nn.functional, name)(a, **kwargs)

    return [
        Op("exp", lambda mod, a: mod.exp(a), one(), int_inputs=True),
        Op("exp_method", lambda mod, a: a.exp(), one()),
        Op("log", lambda mod, a: mod.log(a), one(), (POSITIVE,)),
        Op("log1p", lambda mod, a: a.log1p(), one(), (Domain(-0.8, 2.0),)),
        Op("sqrt", lambda mod, a: mod.sqrt(a), one(), (POSITIVE,), int_inputs=True),
        Op("rsqrt", lambda mod, a: a.rsqrt(), one(), (POSITIVE,)),
        Op("sin", lambda mod, a: mod.sin(a), one(), int_inputs=True),
        Op("cos", lambda mod, a: a.cos(), one()),
        Op("tanh", lambda mod, a: mod.tanh(a), one()),
        Op("sigmoid", lambda mod, a: a.sigmoid(), one(), int_inputs=True),
        Op("relu", lambda mod, a: mod.relu(a), one(), (AWAY_FROM_ZERO,), int_inputs=True),
        Op("relu_method", lambda mod, a: a.relu(), one(), (AWAY_FROM_ZERO,)),
        Op("clamp_both", lambda mod, a: mod.clamp(a, -0.5, 0.5), one(),
           (Domain(kinks=(-0.5, 0.5)),)),
        Op("clamp_min0", lambda mod, a: mod.clamp(a, min=0), one(), (AWAY_FROM_ZERO,)),
        Op("clamp_min_only", lambda mod, a: a.clamp(min=-0.5), one(), (Domain(kinks=(-0.5,)),)),
        Op("clamp_max_only", lambda mod, a: a.clamp(max=0.5), one(), (Domain(kinks=(0.5,)),)),
        Op("clip", lambda mod, a: a.clip(-1, 1), one(), (Domain(kinks=(-1.0, 1.0)),)),
        Op("clamp_tensor_bounds", lambda mod, a, lo, hi: mod.clamp(a, lo, hi + 1.5),
           same(3), apart=True),
        Op("where", lambda mod, a, b: mod.where(a > 0, a, b), broadcasting(),
           (AWAY_FROM_ZERO, REAL)),
        Op("where_scalar_other", lambda mod, a: mod.where(a > 0, a, 0.0), one(),
           (AWAY_FROM_ZERO,)),
        Op("where_method", lambda mod, a, b: a.where(b > 0, b), broadcasting(),
           (REAL, AWAY_FROM_ZERO)),
        Op("masked_fill", lambda mod, a: a.masked_fill(a > 0, 0.5), one(), (AWAY_FROM_ZERO,)),
        Op("masked_fill_broadcast_mask",
           lambda mod, a: mod.masked_fill(a, mod.tensor(_mask((a.shape[-1],))), -1.0),
           one(min_dims=1)),
        Op("masked_fill_tensor_value",
           lambda mod, a, v: a.masked_fill(mod.tensor(_mask(tuple(a.shape))), v),
           one(min_dims=1).map(lambda s: s + ((),))),
        Op(f"{F}.relu", functional("relu"), one(), (AWAY_FROM_ZERO,)),
        Op(f"{F}.sigmoid", functional("sigmoid"), one()),
        Op(f"{F}.tanh", functional("tanh"), one()),
        Op(f"{F}.softmax", functional("softmax", dim=-1), one(min_dims=1)),
        Op(f"{F}.log_softmax", functional("log_softmax", dim=0), one(min_dims=1)),
        Op(f"{F}.leaky_relu", functional("leaky_relu"), one(), (AWAY_FROM_ZERO,)),
        Op(f"{F}.leaky_relu_slope", functional("leaky_relu", negative_slope=0.2), one(),
           (AWAY_FROM_ZERO,)),
        Op(f"{F}.elu", functional("elu"), one(), (AWAY_FROM_ZERO,)),
        Op(f"{F}.elu_alpha", functional("elu", alpha=0.5), one(), (AWAY_FROM_ZERO,)),
    ]


def _shape_rows():
    def square(n):  # one 2-D tensor, both sides n or more
        return one(min_dims=2, max_dims=2, min_side=n)

    return [
        Op("reshape_flat", lambda mod, a: a.reshape(-1), one()),
        Op("reshape_tuple", lambda mod, a: mod.reshape(a, (1, -1, 1)), one()),
        Op("reshape_split", lambda mod, a: a.reshape(a.shape[0], -1), one(min_dims=2)),
        Op("view", lambda mod, a: a.view(-1, 1), one()),
        Op("view_transposed_reshape", lambda mod, a: a.t().reshape(-1), one(2, 2)),
        Op("flatten", lambda mod, a: a.flatten(), one(min_dims=1)),
        Op("flatten_0d", lambda mod, a: mod.flatten(a), one(max_dims=0)),
        Op("flatten_start1", lambda mod, a: a.flatten(1), one(min_dims=3)),
        Op("flatten_range", lambda mod, a: a.flatten(0, 1), one(min_dims=3)),
        Op("squeeze_all", lambda mod, a: a.squeeze(), fixed((1, 3, 1))),
        Op("squeeze_dim", lambda mod, a: a.squeeze(0), choice(((1, 2),), ((2, 3),))),
        Op("squeeze_dim_negative", lambda mod, a: mod.squeeze(a, -1), fixed((2, 1))),
        Op("unsqueeze_0", lambda mod, a: a.unsqueeze(0), one()),
        Op("unsqueeze_last", lambda mod, a: mod.unsqueeze(a, -1), one()),
        Op("transpose", lambda mod, a: a.transpose(0, -1), one(min_dims=2)),
        Op("transpose_function", lambda mod, a: mod.transpose(a, 1, 0), one(min_dims=2)),
        Op("permute", lambda mod, a: a.permute(2, 0, 1), one(min_dims=3, max_dims=3)),
        Op("permute_tuple", lambda mod, a: mod.permute(a, (1, 0)), one(2, 2)),
        Op("t", lambda mod, a: a.t(), one(2, 2)),
        Op("t_function", lambda mod, a: mod.t(a), one(2, 2)),
        Op("T", lambda mod, a: a.T, one(2, 2)),
        Op("mT", lambda mod, a: a.mT, one(min_dims=2)),
        Op("expand", lambda mod, a: a.expand(2, 3, 3), choice(((3, 1),), ((1, 3),), ((3,),),
                                                                  ((),))),
        Op("expand_minus1", lambda mod, a: a.expand(2, -1, -1), choice(((1, 3),), ((3, 3),))),
        Op("expand_as", lambda mod, a, b: a.expand_as(b), fixed((3, 1), (2, 3, 3))),
        Op("repeat", lambda mod, a: a.repeat(2, 1), one(1, 2)),
        Op("repeat_more_dims", lambda mod, a: a.repeat(2, 1, 2), one(0, 2)),
        Op("index_int", lambda mod, a: a[1], one(min_dims=1, min_side=2)),
        Op("index_negative_int", lambda mod, a: a[-1], one(min_dims=1)),
        Op("index_two_ints", lambda mod, a: a[0, -1], one(min_dims=2)),
        Op("index_slice", lambda mod, a: a[1:], one(min_dims=1)),
        Op("index_slice_step", lambda mod, a: a[::2], one(min_dims=1)),
        Op("index_slices_2d", lambda mod, a: a[:, 1:], one(min_dims=2)),
        Op("index_none", lambda mod, a: a[None], one()),
        Op("index_none_slice", lambda mod, a: a[:, None], one(min_dims=1)),
        Op("index_ellipsis", lambda mod, a: a[..., 0], one(min_dims=1)),
        Op("index_ellipsis_none", lambda mod, a: a[..., None], one()),
        Op("index_bool_mask", lambda mod, a: a[a > 0], one(), (AWAY_FROM_ZERO,)),
        Op("index_bool_mask_rows", lambda mod, a: a[mod.tensor([True, False, True])],
           one(min_dims=1).map(lambda s: ((3,) + s[0][1:],))),
        Op("index_int_list", lambda mod, a: a[[0, 2, 1]], one(min_dims=1).map(
            lambda s: ((3,) + s[0][1:],))),
        Op("index_repeated_ints", lambda mod, a: a[[0, 0, 1, 0]], one(min_dims=1, min_side=2)),
        Op("index_long_tensor", lambda mod, a: a[mod.tensor(pattern((2, 2), a.shape[0]))],
           one(min_dims=1)),
        Op("index_two_arrays", lambda mod, a: a[[0, 1, 1], [1, 0, 1]], one(2, 3, min_side=2)),
        Op("index_mixed_int_array", lambda mod, a: a[0, [1, 0, 1]], one(2, 3, min_side=2)),
        Op("index_mixed_slice_array", lambda mod, a: a[:, [0, 0]], one(min_dims=2)),
        Op("index_mixed_none_array", lambda mod, a: a[1:, None, [0, 1]],
           one(2, 3, min_side=2)),
        Op("index_ellipsis_array", lambda mod, a: a[..., [1, 0]], one(min_dims=1, min_side=2)),
        Op("setitem_int", _setitem_basic, choice(((3, 2), (2,)), ((2, 3), ()), ((2,), ()))),
        Op("setitem_slice", _setitem_slice, choice(((2, 3), (2, 2)), ((3, 3), (1,)))),
        Op("setitem_mask_scalar", _setitem_mask, one(), (AWAY_FROM_ZERO,)),
        Op("setitem_mask_tensor_value", _setitem_mask_tensor_value,
           one(min_dims=1).map(lambda s: s + ((),))),
        Op("setitem_index_array", _setitem_index_array, choice(((3, 2), (2,)), ((4,), ()))),
        Op("cat_dim0", lambda mod, a, b: mod.cat([a, b]), choice(((2, 3), (1, 3)), ((2,), (3,)))),
        Op("cat_dim_last", lambda mod, a, b, c: mod.cat((a, b, c), dim=-1),
           fixed((2, 1), (2, 3), (2, 2))),
        Op("stack_dim0", lambda mod, a, b: mod.stack([a, b]), same()),
        Op("stack_dim_last", lambda mod, a, b: mod.stack([a, b], -1), same()),
        Op("split_size", lambda mod, a: mod.split(a, 2), one(1, 3, min_side=3)),
        Op("split_sizes_dim1", lambda mod, a: a.split([1, 2], dim=1), fixed((2, 3))),
        Op("chunk", lambda mod, a: a.chunk(2), one(1, 3, min_side=2)),
        Op("chunk_dim_last", lambda mod, a: mod.chunk(a, 3, -1), fixed((2, 3))),
        Op("gather_dim0", lambda mod, a: mod.gather(a, 0, mod.tensor(pattern(a.shape, a.shape[0]))),
           one(min_dims=1)),
        Op("gather_dim1_smaller_index",
           lambda mod, a: a.gather(1, mod.tensor(pattern((a.shape[0], 2), a.shape[1]))),
           one(2, 2)),
        Op("index_select", lambda mod, a: a.index_select(0, mod.tensor([0, 0, a.shape[0] - 1])),
           one(min_dims=1)),
        Op("index_select_dim_last",
           lambda mod, a: mod.index_select(a, -1, mod.tensor(pattern((4,), a.shape[-1]))),
           one(min_dims=1)),
        Op("flip", lambda mod, a: a.flip(0), one(min_dims=1)),
        Op("flip_dims", lambda mod, a: mod.flip(a, (0, -1)), one(min_dims=2)),
        Op("tril", lambda mod, a: a.tril(), square(2)),
        Op("tril_offset", lambda mod, a: mod.tril(a, -1), one(min_dims=2)),
        Op("triu", lambda mod, a: mod.triu(a), square(2)),
        Op("triu_offset", lambda mod, a: a.triu(1), one(min_dims=2)),
    ]


OPS = _arith_rows() + _linalg_rows() + _reduction_rows() + _pointwise_rows() + _shape_rows()
assert len({op.name for op in OPS}) == len(OPS), "op names must be unique"

# Arithmetic whose dtype promotion is tested on integer, bool and mixed-dtype operands.
INT_OPS = [op for op in OPS if op.int_inputs]


# -- inputs ---------------------------------------------------------------------------------
def _push_off_kinks(x, domain):
    for kink in domain.kinks:
        near = np.abs(x - kink) < KINK_MARGIN
        x = np.where(near, kink + np.where(x >= kink, KINK_MARGIN, -KINK_MARGIN) * 2, x)
    return x


def _distinct_values(rng, shape, domain):
    """Elements at least TIE_GAP apart, in random order."""
    size = int(np.prod(shape, dtype=np.int64))
    start = rng.uniform(domain.low, max(domain.low, domain.high - 0.3 * size))
    values = start + 0.3 * np.arange(size) + rng.uniform(0, 0.3 - TIE_GAP, size)
    return rng.permutation(values).reshape(shape)


def sample_inputs(op, shapes, seed):
    """float64 arrays for `op`'s tensor arguments, drawn from its domains."""
    rng = np.random.default_rng(seed)
    arrays = []
    for i, shape in enumerate(shapes):
        domain = op.domain(i)
        if op.distinct:
            x = _distinct_values(rng, shape, domain)
        elif op.apart:  # input k on the grid 0.2*Z + 0.2k/n: inputs never within 0.2/n
            x = rng.integers(-8, 8, shape) * 0.2 + 0.2 * i / len(shapes)
        else:
            x = rng.uniform(domain.low, domain.high, shape)
        arrays.append(_push_off_kinks(x, domain))
    return [np.asarray(x, dtype=np.float64) for x in arrays]
