"""chainrule.utils.checkpoint against torch.utils.checkpoint: same outputs and gradients as the
un-checkpointed call (including dropout, whose mask the rerun must draw again), the rerun really
happens, and PyTorch's warnings and errors."""
import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp
from hypothesis import given, strategies as st

import chainrule as cr
import chainrule.utils.checkpoint as ccp

LIBS = [(torch, tcp), (cr, ccp)]


def _arrays(*tensors):
    return [None if t is None else t.detach().numpy().copy() for t in tensors]


def _net(L, dtype, seed=0):
    """Linear-tanh-dropout-linear with weights from a NumPy seed (same in both libraries)."""
    g = np.random.default_rng(seed)
    net = L.nn.Sequential(L.nn.Linear(4, 6), L.nn.Tanh(), L.nn.Dropout(0.3), L.nn.Linear(6, 3),
                          L.nn.Sigmoid(), L.nn.Linear(3, 2)).to(dtype)
    with L.no_grad():
        for p in net.parameters():
            p.copy_(L.tensor(g.standard_normal(tuple(p.shape)), dtype=dtype))
    return net


def _run(L, C, dtype, x, mode):
    """Loss and gradients (input, every parameter) of the net, checkpointed per `mode`."""
    torch_dtype = getattr(L, dtype)
    net = _net(L, torch_dtype)
    x = L.tensor(x, dtype=torch_dtype, requires_grad=True)
    L.manual_seed(0)
    if mode == "plain":
        out = net(x)
    elif mode == "sequential":
        out = C.checkpoint_sequential(net, 3, x, use_reentrant=False)
    else:
        out = C.checkpoint(net, x, use_reentrant=(mode == "reentrant"))
    loss = (out ** 2).sum()
    loss.backward()
    return _arrays(out, x.grad, *(p.grad for p in net.parameters()))


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("mode", ["reentrant", "non_reentrant", "sequential"])
def test_gradients_equal_plain_and_torch(dtype, tol, mode):
    x = np.random.default_rng(1).standard_normal((5, 4))
    ours = _run(cr, ccp, dtype, x, mode)
    plain = _run(cr, ccp, dtype, x, "plain")
    theirs = _run(torch, tcp, dtype, x, mode)
    for a, b, c in zip(ours, plain, theirs):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)   # same as without checkpoint
        np.testing.assert_allclose(a, c, rtol=tol, atol=tol)   # same as torch (dropout included)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_function_is_rerun_in_backward_with_same_randomness(use_reentrant):
    for L, C in LIBS:
        calls = []

        def f(t):
            calls.append(1)
            return L.nn.functional.dropout(t.exp(), 0.5, training=True) * t

        x = L.ones(20, dtype=L.float64, requires_grad=True)
        L.manual_seed(3)
        out = C.checkpoint(f, x, use_reentrant=use_reentrant)
        after_forward = L.rand(1).item()  # backward must not disturb the stream
        out.sum().backward()
        assert len(calls) == 2
        L.manual_seed(3)
        y = x.detach().requires_grad_()
        f(y).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy())
        L.manual_seed(3)
        f(x.detach())
        assert L.rand(1).item() == after_forward


def test_non_reentrant_works_with_autograd_grad_and_kwargs():
    results = []
    for L, C in LIBS:
        w = L.tensor([0.5, -1.0, 2.0], dtype=L.float64, requires_grad=True)
        x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
        out = C.checkpoint(lambda t, scale: (t * w).sin() * scale, x, use_reentrant=False,
                           scale=3.0)
        gx, gw = L.autograd.grad(out.sum(), (x, w))
        results.append(_arrays(out, gx, gw))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_non_reentrant_backward_twice_with_retain_graph():
    results = []
    for L, C in LIBS:
        x = L.tensor([0.3, -0.7], dtype=L.float64, requires_grad=True)
        out = C.checkpoint(lambda t: (t.exp() * t).sum(), x, use_reentrant=False)
        out.backward(retain_graph=True)
        out.backward()
        results.append(_arrays(x.grad))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)


def test_several_outputs_and_non_tensor_arguments():
    results = []
    for L, C in LIBS:
        x = L.tensor([[0.3, -0.7], [1.5, 0.1]], dtype=L.float64, requires_grad=True)
        for reentrant in (True, False):
            x.grad = None
            a, b = C.checkpoint(lambda t, k, name: (t * k, (t @ t).tanh()), x, 2.0, "id",
                                use_reentrant=reentrant)
            (a.sum() + (b ** 2).sum()).backward()
            results.append(_arrays(a, b, x.grad))
    for i in range(2):
        for a, b in zip(results[i], results[i + 2]):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_warnings_match_torch():
    for L, C in LIBS:
        x = L.ones(2, requires_grad=True)
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            C.checkpoint(lambda t: t * 2, x)
            C.checkpoint_sequential([L.nn.Tanh(), L.nn.Tanh()], 2, x)
            C.checkpoint(lambda t: t * 2, L.ones(2), use_reentrant=True)
        texts = [str(w.message) for w in got if "checkpoint" in str(w.message)
                 or "requires_grad" in str(w.message)]
        if L is torch:
            expected = texts
        else:
            assert texts == expected


def test_errors_match_torch():
    messages = []
    for L, C in LIBS:
        row = []
        x = L.ones(2, requires_grad=True)
        for call in (lambda: C.checkpoint(lambda t, s: t * s, x, use_reentrant=True, s=2.0),
                     lambda: C.checkpoint_sequential([L.nn.Tanh()], 1, x, use_reentrant=False,
                                                     bogus=1),
                     lambda: C.checkpoint(lambda t: t, x, use_reentrant=True,
                                          debug=True)):
            with pytest.raises(ValueError) as info:
                call()
            row.append(str(info.value))
        # the rerun finds no output that requires grad
        with pytest.raises(RuntimeError) as info:
            C.checkpoint(lambda t: t.detach() * 2, x, use_reentrant=True).sum().backward()
        row.append(str(info.value))
        messages.append(row)
    assert messages[0] == messages[1]


def test_importable_as_in_torch():
    import chainrule.utils.checkpoint

    assert cr.utils.checkpoint.checkpoint is chainrule.utils.checkpoint.checkpoint


@given(st.integers(1, 6), st.integers(1, 4), st.booleans(), st.sampled_from([1, 2, 3]))
def test_checkpoint_sequential_matches_torch(batch, width, reentrant, segments):
    x = np.random.default_rng(batch * 10 + width).standard_normal((batch, width))
    grads = []
    for L, C in LIBS:
        g = np.random.default_rng(width)
        layers = [L.nn.Linear(width, width).double(), L.nn.Tanh(),
                  L.nn.Linear(width, width).double(), L.nn.SiLU()]
        with L.no_grad():
            for layer in layers:
                for p in layer.parameters():
                    p.copy_(L.tensor(g.standard_normal(tuple(p.shape))))
        t = L.tensor(x, requires_grad=True)
        out = C.checkpoint_sequential(L.nn.Sequential(*layers), segments, t,
                                      use_reentrant=reentrant)
        out.pow(2).sum().backward()
        grads.append(_arrays(out, t.grad, *(p.grad for lay in layers for p in lay.parameters())))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
