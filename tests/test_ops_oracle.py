"""Every row of the op table against real PyTorch: forward values, output dtypes and shapes,
grad_fn class names, and gradients (float64, tight tolerance); float32 forwards; integer, bool
and mixed-dtype operands of the arithmetic ops."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule
from op_table import INT_OPS, OPS, sample_inputs

seeds = st.integers(0, 2**32 - 1)


def outputs_of(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def run(op, mod, tensors):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # x.T on non-2-D tensors warns in both
        return outputs_of(op.fn(mod, *tensors))


def grad_fn_name(t):
    return None if t.grad_fn is None else type(t.grad_fn).__name__


def assert_same_outputs(ours, theirs, rtol, atol):
    assert len(ours) == len(theirs)
    for k, (c, t) in enumerate(zip(ours, theirs)):
        assert str(c.dtype) == str(t.dtype), f"output {k} dtype {c.dtype} != torch's {t.dtype}"
        assert tuple(c.shape) == tuple(t.shape), f"output {k} shape {c.shape} != {t.shape}"
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"output {k}")


# The table enumerates variants, so a few examples per row cover a lot; keeps the suite quick.
@pytest.mark.parametrize("op", OPS, ids=repr)
@settings(max_examples=5)
@given(data=st.data())
def test_float64_values_gradients_and_grad_fn_match_torch(op, data):
    shapes = data.draw(op.shapes, label="shapes")
    arrays = sample_inputs(op, shapes, data.draw(seeds, label="seed"))
    ours_in = [chainrule.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = run(op, chainrule, ours_in), run(op, torch, theirs_in)

    assert_same_outputs(ours, theirs, rtol=1e-12, atol=1e-12)
    names = [grad_fn_name(c) for c in ours], [grad_fn_name(t) for t in theirs]
    assert names[0] == names[1], f"grad_fn {names[0]} != torch's {names[1]}"
    flags = [c.requires_grad for c in ours], [t.requires_grad for t in theirs]
    assert flags[0] == flags[1], f"requires_grad {flags[0]} != torch's {flags[1]}"

    differentiable = [k for k, t in enumerate(theirs) if t.requires_grad]
    rng = np.random.default_rng(0)
    seeds_out = [rng.uniform(-1, 1, tuple(theirs[k].shape)) for k in differentiable]
    theirs_grads = torch.autograd.grad([theirs[k] for k in differentiable], theirs_in,
                                       [torch.tensor(s) for s in seeds_out], allow_unused=True)
    ours_grads = chainrule.autograd.grad([ours[k] for k in differentiable], ours_in,
                                         [chainrule.tensor(s) for s in seeds_out],
                                         allow_unused=True)
    for i, (c, t) in enumerate(zip(ours_grads, theirs_grads)):
        expected = np.zeros(arrays[i].shape) if t is None else t.numpy()
        got = np.zeros(arrays[i].shape) if c is None else c.numpy()
        if c is not None:
            assert str(c.dtype) == "torch.float64" and tuple(c.shape) == arrays[i].shape, \
                f"grad {i}: {c.dtype} {tuple(c.shape)}"
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12, err_msg=f"grad {i}")


@pytest.mark.parametrize("op", OPS, ids=repr)
@settings(max_examples=3)
@given(data=st.data())
def test_float32_forward_matches_torch(op, data):
    shapes = data.draw(op.shapes, label="shapes")
    arrays = [a.astype(np.float32) for a in sample_inputs(op, shapes, data.draw(seeds))]
    ours = run(op, chainrule, [chainrule.tensor(a) for a in arrays])
    theirs = run(op, torch, [torch.tensor(a) for a in arrays])
    assert_same_outputs(ours, theirs, rtol=2e-5, atol=1e-6)


DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64"]


def _int_operand(rng, shape, dtype_name):
    if dtype_name == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype_name.startswith("float"):
        return rng.uniform(0.5, 3.0, shape).astype(dtype_name)
    return rng.integers(1, 4, shape).astype(dtype_name)


def _call(op, mod, arrays):
    """The outputs, or the error (type and message) the call raised."""
    try:
        return run(op, mod, [mod.tensor(a) for a in arrays])
    except Exception as err:  # noqa: BLE001 - compared with torch's below
        return err


@pytest.mark.parametrize("op", INT_OPS, ids=repr)
@settings(max_examples=10)
@given(data=st.data())
def test_integer_bool_and_mixed_dtype_operands_match_torch(op, data):
    """Result dtype follows PyTorch's promotion (int / int -> float, int + 2.5 -> float32,
    0-dim tensors rank below dimensioned ones...); errors (bool - bool) are PyTorch's."""
    shapes = data.draw(op.shapes, label="shapes")
    dtypes = [data.draw(st.sampled_from(DTYPES), label=f"dtype{i}") for i in range(len(shapes))]
    rng = np.random.default_rng(data.draw(seeds))
    arrays = [_int_operand(rng, s, d) for s, d in zip(shapes, dtypes)]
    ours, theirs = _call(op, chainrule, arrays), _call(op, torch, arrays)
    if isinstance(theirs, Exception):
        assert isinstance(ours, type(theirs)), f"torch raised {theirs!r}, we gave {ours!r}"
        assert str(ours) == str(theirs)
        return
    assert not isinstance(ours, Exception), f"we raised {ours!r}; torch did not"
    assert_same_outputs(ours, theirs, rtol=1e-6, atol=1e-6)
