"""chainrule.compile over every row of the op table (tests/op_table.py): the compiled function,
traced on one set of inputs and replayed on others of the same shapes, gives the values and
gradients eager chainrule gives on those others (1e-6 relative in float32, 1e-12 in float64).

Replaying on *different* values is the point: a value frozen at trace time (a tensor the tracer
did not record, a saved index captured as a constant) shows up as a mismatch here.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import chainrule as cr
from op_table import OPS, sample_inputs

# Rows that cannot compile, with the reason (a clear CompileError is required for them).
CANNOT_COMPILE = {}

seeds = st.integers(0, 2**32 - 1)


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _run(fn, arrays, dtype):
    inputs = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        outs = _outputs(fn(*inputs))
    diff = [o for o in outs if o.requires_grad]
    rng = np.random.default_rng(1)
    upstream = [cr.tensor(rng.uniform(-1, 1, tuple(o.shape)), dtype=o.dtype) for o in diff]
    grads = cr.autograd.grad(diff, inputs, upstream, allow_unused=True) if diff else []
    values = [o.detach().numpy().copy() for o in outs]
    return values, [None if g is None else g.numpy().copy() for g in grads], outs


def _assert_close(got, expected, tol, what):
    assert len(got) == len(expected), what
    for k, (g, e) in enumerate(zip(got, expected)):
        assert (g is None) == (e is None), f"{what} {k}: one is None"
        if g is None:
            continue
        assert g.dtype == e.dtype and g.shape == e.shape, f"{what} {k}: {g.dtype}{g.shape} " \
                                                          f"!= {e.dtype}{e.shape}"
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol, err_msg=f"{what} {k}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", OPS, ids=repr)
@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_row_equals_eager_on_new_values(op, dtype, data):
    shapes = data.draw(op.shapes, label="shapes")
    first = sample_inputs(op, shapes, data.draw(seeds, label="trace seed"))
    second = sample_inputs(op, shapes, data.draw(seeds, label="replay seed"))
    dt = getattr(cr, dtype)
    fn = lambda *ts: op.fn(cr, *ts)  # noqa: E731
    compiled = cr.compile(fn)
    if op.name in CANNOT_COMPILE:
        with pytest.raises(cr.compile.CompileError):
            _run(compiled, first, dt)
        return
    traced = _run(compiled, first, dt)        # the tracing call runs eagerly
    eager_first = _run(fn, first, dt)
    tol = 1e-6 if dtype == "float32" else 1e-12
    _assert_close(traced[0], eager_first[0], tol, "traced value")
    replay, eager = _run(compiled, second, dt), _run(fn, second, dt)
    _assert_close(replay[0], eager[0], tol, "value")
    _assert_close(replay[1], eager[1], tol, "gradient")
    for r, e in zip(replay[2], eager[2]):
        assert r.requires_grad == e.requires_grad
