"""Every row of the op table against central finite differences in float64 (gradcheck), and to
second order (gradgradcheck: the backward formulas run in tensor mode, create_graph=True).
Also: gradcheck itself catches wrong gradients, and numerical_grad follows the lecture."""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule.autograd import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from op_table import OPS, sample_inputs

seeds = st.integers(0, 2**32 - 1)
# torch.autograd.gradcheck is the function; the module of the same name holds GradcheckError.
torch_gradcheck = sys.modules["torch.autograd.gradcheck"]


def _inputs(op, data):
    shapes = data.draw(op.shapes, label="shapes")
    arrays = sample_inputs(op, shapes, data.draw(seeds, label="seed"))
    return tuple(chainrule.tensor(a, requires_grad=True) for a in arrays)


def _function(op):
    def fn(*tensors):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return op.fn(chainrule, *tensors)

    return fn


@pytest.mark.parametrize("op", OPS, ids=repr)
@settings(max_examples=2)
@given(data=st.data())
def test_gradcheck(op, data):
    assert gradcheck(_function(op), _inputs(op, data))


@pytest.mark.parametrize("op", [op for op in OPS if op.gradgrad], ids=repr)
@settings(max_examples=2)
@given(data=st.data())
def test_gradgradcheck(op, data):
    assert gradgradcheck(_function(op), _inputs(op, data))


# -- gradcheck is a checker that can fail ---------------------------------------------------
class _WrongSquare(chainrule.autograd.Function):
    """x**2 with the derivative off by 1 at every element (x + x + 1 instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x + x + 1)


def test_gradcheck_failure_names_input_output_element_and_values():
    other = chainrule.tensor([1.0, 2.0], dtype=chainrule.float64, requires_grad=True)
    x = chainrule.tensor([[0.5, -1.0], [2.0, 3.0]], dtype=chainrule.float64, requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: (a * 2, _WrongSquare.apply(b)), (other, x))
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert message.startswith("Jacobian mismatch for output 1 with respect to input 1,\n"
                             "numerical:tensor(")
    assert "analytical:tensor(" in message
    # Every element is off by exactly 1: the reported one has analytical = numerical + 1.
    assert "output 1 element [" in message and "input 1 element [" in message
    analytical = float(message.split("analytical ")[-1].split(",")[0])
    numerical = float(message.split("numerical ")[-1].split(" ")[0])
    assert analytical == pytest.approx(numerical + 1, abs=1e-6)
    assert gradcheck(lambda b: _WrongSquare.apply(b), (x,), raise_exception=False) is False


def test_gradcheck_message_layout_matches_torch():
    """Same Jacobian printout as PyTorch for the same wrong backward."""

    class TorchWrongSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (x + x + 1)

    values = [[0.5, -1.0], [2.0, 3.0]]
    with pytest.raises(torch_gradcheck.GradcheckError) as theirs:
        torch.autograd.gradcheck(TorchWrongSquare.apply,
                                 (torch.tensor(values, dtype=torch.float64, requires_grad=True),))
    with pytest.raises(GradcheckError) as ours:
        chainrule.autograd.gradcheck(
            _WrongSquare.apply,
            (chainrule.tensor(values, dtype=chainrule.float64, requires_grad=True),))
    assert str(ours.value).startswith(str(theirs.value).rstrip("\n"))


def test_gradcheck_requires_an_input_that_requires_grad():
    x = chainrule.tensor([1.0], dtype=chainrule.float64)
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(chainrule.sin, (x,))


def test_gradcheck_warns_on_float32_like_torch():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double"):
        gradcheck(lambda t: t * 2, (x,), eps=1e-3, atol=1e-2, rtol=1e-2)


def test_gradcheck_passes_an_output_that_drops_its_graph_as_torch_but_warns():
    x = chainrule.tensor([1.0, 2.0], dtype=chainrule.float64, requires_grad=True)
    with pytest.warns(UserWarning, match="output 1 does not require grad"):
        assert gradcheck(lambda t: (t * 1, (t * 3).detach()), (x,))
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: (t * 1, (t * 3).detach()), (tx,))


def test_gradgradcheck_catches_a_wrong_second_derivative():
    """First derivative right (2x), but its backward claims d(2x)/dx = 3."""

    class SquareWithWrongCurvature(chainrule.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * _TwoXWrongGrad.apply(x)

    x = chainrule.tensor([0.5, -1.5], dtype=chainrule.float64, requires_grad=True)
    assert gradcheck(SquareWithWrongCurvature.apply, (x,))
    assert gradgradcheck(SquareWithWrongCurvature.apply, (x,), raise_exception=False) is False


class _TwoXWrongGrad(chainrule.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 3


def test_torch_autograd_gradcheck_is_callable_from_the_package():
    x = chainrule.randn(3, dtype=chainrule.float64, requires_grad=True)
    assert chainrule.autograd.gradcheck(chainrule.tanh, (x,))
    assert chainrule.autograd.gradgradcheck(chainrule.tanh, x)
    from chainrule.autograd.gradcheck import GradcheckError as Same

    assert Same is GradcheckError


# -- numerical_grad: the lecture's finite differences -----------------------------------------
def test_numerical_grad_of_a_power_matches_the_slide_formula():
    """Seed 004: f(x) = a x^n, f'(x) = n a x^(n-1); central differences are O(eps^2)-accurate,
    forward differences only O(eps)."""
    a, n = 1.5, 3
    x = chainrule.tensor([0.34, -1.11, 0.78, 2.81], dtype=chainrule.float64)
    exact = n * a * x.numpy() ** (n - 1)
    (central,) = numerical_grad(lambda t: (a * t ** n).sum(), x, eps=1e-4)
    (forward,) = numerical_grad(lambda t: (a * t ** n).sum(), x, eps=1e-4, method="forward")
    central_error = np.abs(central.numpy() - exact).max()
    forward_error = np.abs(forward.numpy() - exact).max()
    assert central_error < 1e-7 < forward_error < 1e-2


def test_numerical_grad_jacobian_layout_and_torch_agreement():
    rng = np.random.default_rng(3)
    w, v = rng.normal(size=(2, 3)), rng.normal(size=3)
    jacobian_w, jacobian_v = numerical_grad(
        lambda a, b: chainrule.tanh(a @ b), (chainrule.tensor(w), chainrule.tensor(v)))
    expected = torch.autograd.functional.jacobian(lambda a, b: torch.tanh(a @ b),
                                                  (torch.tensor(w), torch.tensor(v)))
    assert tuple(jacobian_w.shape) == (2, 2, 3) and tuple(jacobian_v.shape) == (2, 3)
    np.testing.assert_allclose(jacobian_w.numpy(), expected[0].numpy(), atol=1e-8)
    np.testing.assert_allclose(jacobian_v.numpy(), expected[1].numpy(), atol=1e-8)


def test_numerical_grad_skips_non_float_inputs_and_restores_values():
    x = chainrule.tensor([1.0, 2.0], dtype=chainrule.float64)
    index = chainrule.tensor([1, 0])
    grad_x, grad_index = numerical_grad(lambda t, i: (t[i] * t).sum(), (x, index))
    assert grad_index is None
    np.testing.assert_allclose(grad_x.numpy(), [4.0, 2.0], atol=1e-6)  # d(2 x0 x1)/dx
    assert x.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="method"):
        numerical_grad(chainrule.sin, x, method="backward")
