"""Helpers shared by tests/test_nn_more_*.py: run the same computation in PyTorch (the oracle)
and chainrule, compare values and the gradients of a random weighting of the output."""
import warnings

import numpy as np
import torch

import chainrule as cr

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-12)}
DTYPES = [torch.float32, torch.float64]
DTYPE_IDS = ["f32", "f64"]
CR_DTYPE = {torch.float32: cr.float32, torch.float64: cr.float64}


def to_cr(t, requires_grad=False):
    out = cr.tensor(t.detach().numpy().copy())
    return out.requires_grad_() if requires_grad else out


def close(c, t, dtype):
    assert c is not None and t is not None
    assert tuple(c.shape) == tuple(t.shape)
    if not t.is_floating_point():
        np.testing.assert_array_equal(c.detach().numpy(), t.detach().numpy())
        return
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), **TOL[dtype])


def compare(t_fn, c_fn, inputs, dtype, grad_fn=None):
    """t_fn(*torch tensors) vs c_fn(*chainrule tensors): values, then gradients of a random
    weighting of the (first) output with respect to every float input."""
    t_in = [x.detach().to(dtype).requires_grad_() if x.is_floating_point() else x
            for x in inputs]
    c_in = [to_cr(x, x.is_floating_point()) for x in t_in]
    t_out, c_out = t_fn(*t_in), c_fn(*c_in)
    if isinstance(t_out, tuple):
        for c, t in zip(c_out[1:], t_out[1:]):
            close(c, t, dtype)
        t_out, c_out = t_out[0], c_out[0]
    close(c_out, t_out, dtype)
    if grad_fn is not None:
        assert type(t_out.grad_fn).__name__ == grad_fn
        assert type(c_out.grad_fn).__name__ == grad_fn
    weights = torch.randn(t_out.shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
    (t_out * weights).sum().backward()
    (c_out * to_cr(weights)).sum().backward()
    for t_x, c_x in zip(t_in, c_in):
        if t_x.requires_grad:
            close(c_x.grad, t_x.grad, dtype)
    return c_out


def check_module(t_mod, c_mod, inputs, dtype):
    """Copy t_mod's parameters and buffers into c_mod, then compare outputs, gradients of the
    inputs and parameters, buffers after the call, and the state_dict keys."""
    assert list(c_mod.state_dict()) == list(t_mod.state_dict())
    c_mod.load_state_dict({k: to_cr(v) for k, v in t_mod.state_dict().items()})
    t_mod.to(dtype)
    c_mod.to(CR_DTYPE[dtype])
    compare(lambda *a: t_mod(*a), lambda *a: c_mod(*a), inputs, dtype)
    for (name, t_p), (c_name, c_p) in zip(t_mod.named_parameters(), c_mod.named_parameters()):
        assert name == c_name
        close(c_p.grad, t_p.grad, dtype)
    for (name, t_b), (_, c_b) in zip(t_mod.named_buffers(), c_mod.named_buffers()):
        close(c_b, t_b, dtype)


def gradchecks(fn, inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cr.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5)
        assert cr.autograd.gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5)


def double(*shape, low=None):
    t = cr.randn(*shape, dtype=cr.float64)
    if low is not None:
        t = t.abs() + low
    return t.requires_grad_()


def raises_like(t_call, c_call):
    """Both raise the same exception type with the same message."""
    try:
        t_call()
    except Exception as e:  # noqa: BLE001
        t_err = e
    else:
        raise AssertionError("torch did not raise")
    try:
        c_call()
    except Exception as e:  # noqa: BLE001
        c_err = e
    else:
        raise AssertionError(f"chainrule did not raise; torch raised {t_err!r}")
    assert type(c_err).__name__ == type(t_err).__name__, (c_err, t_err)
    assert str(c_err) == str(t_err)
