"""Forward-mode AD (autograd.forward_ad) against PyTorch: every op of the op table carries
tangents as torch's forward AD does, and the dual-tensor API behaves and prints as torch's."""
from __future__ import annotations

import importlib
import io
import contextlib
import warnings

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as torch_fwad
from hypothesis import given, settings, strategies as st

import chainrule
import chainrule.autograd.forward_ad as fwad
from op_table import OPS, sample_inputs

seeds = st.integers(0, 2**32 - 1)


def _tangents(lib, ad, op, arrays, tangent_arrays):
    """The forward-AD tangents of op's float outputs (None where an output has none)."""
    with ad.dual_level(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        duals = [ad.make_dual(lib.tensor(a), lib.tensor(t))
                 for a, t in zip(arrays, tangent_arrays)]
        out = op.fn(lib, *duals)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [None if not isinstance(o, lib.Tensor) or not o.is_floating_point() else
                (lambda t: None if t is None else t.detach().numpy().copy())(
                    ad.unpack_dual(o).tangent) for o in outs]


@pytest.mark.parametrize("op", OPS, ids=repr)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_op_tangents_match_torch(op, data):
    shapes = data.draw(op.shapes, label="shapes")
    seed = data.draw(seeds, label="seed")
    arrays = sample_inputs(op, shapes, seed)
    rng = np.random.default_rng(seed + 1)
    tangent_arrays = [rng.standard_normal(a.shape) for a in arrays]
    try:
        expected = _tangents(torch, torch_fwad, op, arrays, tangent_arrays)
    except (NotImplementedError, RuntimeError) as e:
        if "forward AD" in str(e) or "forward-mode" in str(e) or "not implemented" in str(e):
            pytest.skip(f"torch has no forward AD for {op.name}")
        raise
    got = _tangents(chainrule, fwad, op, arrays, tangent_arrays)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        if e is None:
            assert g is None or not np.any(g)
            continue
        assert g is not None, op.name
        np.testing.assert_allclose(g, e, rtol=1e-7, atol=1e-10)


def _session(lib):
    """The forward-AD tutorial's steps and corner cases, printed."""
    ad = importlib.import_module(lib.__name__ + ".autograd.forward_ad")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        lib.manual_seed(0)
        p, t = lib.randn(3), lib.randn(3)
        try:
            ad.make_dual(p, t)
        except RuntimeError as e:
            print("RuntimeError", e)
        with ad.dual_level() as level:
            print("level", level)
            d = ad.make_dual(p, t)
            print(repr(d), d.requires_grad, d.grad_fn, d._base is p)
            u = ad.unpack_dual(d)
            print(type(u).__name__, u._fields, u.primal is p, u.primal._base is p, u.tangent is t)
            for bad in (lib.randn(4), lib.arange(3)):
                try:
                    ad.make_dual(p if bad.is_floating_point() else lib.arange(3), bad)
                except (RuntimeError, ValueError) as e:
                    print(type(e).__name__, e)
            y = (d * 2).sin()
            print(repr(y))
            with lib.no_grad():
                print("no_grad", ad.unpack_dual(d * 3).tangent)
            print("plain", ad.unpack_dual(p).tangent)
            w = lib.randn(3, requires_grad=True)
            dw = ad.make_dual(w, t)
            print(repr(dw), dw.is_leaf)
            q = (dw * dw).sum()
            q.backward()
            print(w.grad, round(ad.unpack_dual(q).tangent.item(), 4))
            try:
                with ad.dual_level():
                    pass
            except RuntimeError as e:
                print("RuntimeError", e)
            print(ad.unpack_dual(d.argmax()).tangent, ad.unpack_dual(d.detach()).tangent)
            print("view", ad.unpack_dual(d[1:]).tangent)
            k = d.clone()
            k.mul_(2)
            k.add_(k)
            print("in place", ad.unpack_dual(k).tangent)
            print("split", ad.unpack_dual(d.split([1, 2])[1]).tangent)
            print("matmul", ad.unpack_dual(d.unsqueeze(0) @ d.unsqueeze(1)).tangent)
            for primal in (lib.tensor(0.7), lib.ones(2, 2, dtype=lib.float64)):
                print(repr(ad.make_dual(primal, primal * 2)))  # a 0-d tangent prints as a number
            print(repr(lib.std(ad.make_dual(lib.zeros(1), lib.ones(1)), 0, correction=0)))
        print("after the level", ad.unpack_dual(y).tangent, repr(y))
    return out.getvalue()


def test_dual_tensor_api_matches_torch():
    assert _session(chainrule) == _session(torch)


def _custom_function_session(lib):
    ad = importlib.import_module(lib.__name__ + ".autograd.forward_ad")

    class Sin(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x)
            return x.sin()

        @staticmethod
        def backward(ctx, g):
            return g

    class SinWithJvp(Sin):
        @staticmethod
        def jvp(ctx, t):
            x, = ctx.saved_tensors
            return t * x.cos()

    p, t = lib.tensor([1., 2.]), lib.tensor([1., 1.])
    lines = []
    with ad.dual_level():
        d = ad.make_dual(p, t)
        with pytest.raises(NotImplementedError) as caught:
            Sin.apply(d)
        lines.append(str(caught.value))
        y = SinWithJvp.apply(d)
        lines.append(repr(y))
        lines.append(repr(ad.unpack_dual((SinWithJvp.apply(d) * 2).exp()).tangent))
        w = lib.tensor([1., 2.], requires_grad=True)
        y2 = SinWithJvp.apply(ad.make_dual(w, t))
        y2.sum().backward()
        lines += [repr(w.grad), repr(y2), repr(Sin.apply(p))]
    return lines


def test_custom_function_jvp_matches_torch():
    assert _custom_function_session(chainrule) == _custom_function_session(torch)


def test_tangent_of_a_small_mlp_equals_jacobian_times_tangent():
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    ours = chainrule.nn.Sequential(chainrule.nn.Linear(4, 5), chainrule.nn.Tanh(),
                                   chainrule.nn.Linear(5, 2))
    ours.load_state_dict({k: chainrule.tensor(v.numpy()) for k, v in net.state_dict().items()})
    x, t = torch.randn(3, 4), torch.randn(3, 4)
    with torch_fwad.dual_level():
        expected = torch_fwad.unpack_dual(net(torch_fwad.make_dual(x, t))).tangent.detach()
    with fwad.dual_level():
        got = fwad.unpack_dual(ours(fwad.make_dual(chainrule.tensor(x.numpy()),
                                                   chainrule.tensor(t.numpy())))).tangent
    np.testing.assert_allclose(got.detach().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_level_closes_cleanly_on_error_and_ops_outside_are_untouched():
    from chainrule.autograd import graph

    with pytest.raises(ZeroDivisionError):
        with fwad.dual_level():
            fwad.make_dual(chainrule.ones(2), chainrule.ones(2))
            1 / 0
    assert graph.forward_ad_record is None and not fwad._duals and not fwad._pending
    x = chainrule.ones(2, requires_grad=True)
    assert (x * 2).grad_fn.next_functions[0][0] is not fwad._SINK
