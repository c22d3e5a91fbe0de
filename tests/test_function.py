"""autograd.Function: the seed's MyReLU verbatim and the ctx API, against PyTorch."""
import re

import numpy as np
import pytest
import torch

import chainrule as cr


def outcome(scenario, lib):
    try:
        return ("ok", _printable(scenario(lib)))
    except Exception as err:  # compared with torch's
        return ("error", type(err).__name__, str(err))


def _printable(value):
    if isinstance(value, (list, tuple)):
        return [_printable(v) for v in value]
    if isinstance(value, (cr.Tensor, torch.Tensor)):
        return repr(value)
    return value


def assert_same(scenario):
    assert outcome(scenario, cr) == outcome(scenario, torch)


def my_relu_class(lib):
    """Seed 002, verbatim."""
    class MyReLU(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_y):
            x, = ctx.saved_tensors
            grad_input = grad_y.clone()
            grad_input[x < 0] = 0
            return grad_input

    return MyReLU


def test_my_relu_forward_backward_and_grad_fn():
    def scenario(lib):
        MyReLU = my_relu_class(lib)
        x = lib.tensor([-1.0, 2.0, -3.0, 4.0, 0.0], requires_grad=True)
        y = MyReLU.apply(x)
        (y * y).sum().backward()
        fn = y.grad_fn
        return (y, x.grad, type(fn).__name__, fn.name(), fn.needs_input_grad,
                fn.next_functions[0][0].variable is x,
                re.sub(r"0x[0-9a-f]+", "0x", repr(fn)))
    assert_same(scenario)


def test_my_relu_in_the_seed_two_layer_net_matches_clamp():
    """The seed's training loop with my_relu gives the same weights as with clamp(min=0)."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 20)), rng.standard_normal((8, 3))
    w1_init, w2_init = rng.standard_normal((20, 10)), rng.standard_normal((10, 3))
    results = []
    for lib, use_function in ((cr, True), (torch, True), (torch, False)):
        MyReLU = my_relu_class(lib)
        relu = MyReLU.apply if use_function else (lambda t: t.clamp(min=0))
        xs, ys = lib.tensor(x, dtype=lib.float32), lib.tensor(y, dtype=lib.float32)
        w1 = lib.tensor(w1_init, dtype=lib.float32, requires_grad=True)
        w2 = lib.tensor(w2_init, dtype=lib.float32, requires_grad=True)
        for _ in range(20):
            loss = (relu(xs.mm(w1)).mm(w2) - ys).pow(2).sum()
            loss.backward()
            with lib.no_grad():
                w1 -= 1e-3 * w1.grad
                w2 -= 1e-3 * w2.grad
                w1.grad.zero_()
                w2.grad.zero_()
        results.append((loss.item(), w1.detach().numpy().copy()))
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[1][1], results[2][1], rtol=1e-6)
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-5)


def test_saved_tensors_freed_after_backward():
    def scenario(lib):
        x = lib.tensor([-1.0, 2.0], requires_grad=True)
        y = my_relu_class(lib).apply(x)
        before = y.grad_fn.saved_tensors
        y.sum().backward()
        return before, y.grad_fn.saved_tensors
    assert_same(scenario)


def test_no_graph_without_requires_grad_or_under_no_grad():
    def scenario(lib):
        MyReLU = my_relu_class(lib)
        plain = MyReLU.apply(lib.tensor([-1.0, 2.0]))
        with lib.no_grad():
            quiet = MyReLU.apply(lib.tensor([-1.0, 2.0], requires_grad=True))
        return plain, plain.grad_fn, quiet, quiet.grad_fn
    assert_same(scenario)


def test_arbitrary_ctx_attributes_multiple_outputs_and_none_grads():
    def scenario(lib):
        class ScaleAndShift(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                ctx.k = k
                return x * k, x + k

            @staticmethod
            def backward(ctx, grad_scaled, grad_shifted):
                return grad_scaled * ctx.k + grad_shifted, None

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        a, b = ScaleAndShift.apply(x, 3.0)
        (a * b).sum().backward()
        return a, b, x.grad
    assert_same(scenario)


def test_mark_non_differentiable_and_saved_outputs():
    def scenario(lib):
        class SortValues(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                order = x.argsort()
                ctx.mark_non_differentiable(order)
                ctx.save_for_backward(order)
                return x[order], order

            @staticmethod
            def backward(ctx, grad_values, grad_order):
                order, = ctx.saved_tensors
                grad = lib.zeros_like(grad_values)
                grad[order] = grad_values
                return grad

        x = lib.tensor([3.0, 1.0, 2.0], requires_grad=True)
        values, order = SortValues.apply(x)
        (values * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        return values, order, order.requires_grad, x.grad
    assert_same(scenario)


def test_needs_input_grad():
    def scenario(lib):
        seen = {}

        class Product(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b, c):
                seen["forward"] = ctx.needs_input_grad
                return a * b * c

            @staticmethod
            def backward(ctx, g):
                seen["backward"] = ctx.needs_input_grad
                return g * 2, None, None

        a = lib.ones(2, requires_grad=True)
        y = Product.apply(a, lib.ones(2), 2.0)
        y.sum().backward()
        return seen["forward"], seen["backward"], y.grad_fn.needs_input_grad, a.grad
    assert_same(scenario)


def test_setup_context_style_and_double_backward():
    def scenario(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(x):
                return x ** 3

            @staticmethod
            def setup_context(ctx, inputs, output):
                x, = inputs
                ctx.save_for_backward(x)

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return g * 3 * x ** 2

        x = lib.tensor([1.0, 2.0, -0.5], dtype=lib.float64, requires_grad=True)
        y = Cube.apply(x)
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        return y, g, gg
    assert_same(scenario)
    x = cr.tensor([1.0, 2.0, -0.5], dtype=cr.float64)
    expected_second = 6 * x.numpy()  # d2/dx2 x^3
    ours = outcome(scenario, cr)[1][2]
    assert ours == repr(cr.tensor(expected_second, dtype=cr.float64))


def test_input_returned_unchanged_is_a_new_tensor_with_history():
    def scenario(lib):
        class Identity(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = Identity.apply(x)
        y.sum().backward()
        return y is x, y, x.grad
    assert_same(scenario)


def test_mark_dirty_in_place_forward():
    def scenario(lib):
        class DoubleInPlace(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.mark_dirty(x)
                return x.mul_(2)

            @staticmethod
            def backward(ctx, g):
                return g * 2

        w = lib.ones(2, requires_grad=True)
        x = w * 1
        y = DoubleInPlace.apply(x)
        y.sum().backward()
        return y is x, y, w.grad, x._version
    assert_same(scenario)


def test_materialize_grads_off_passes_none():
    def scenario(lib):
        class Two(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, grad_a, grad_b):
                return grad_a if grad_b is None else grad_a + grad_b

        x = lib.ones(2, requires_grad=True)
        a, _ = Two.apply(x)
        a.sum().backward()
        return x.grad
    assert_same(scenario)


@pytest.mark.parametrize("case", ["too_many_grads", "wrong_shape", "legacy_call", "save_int"])
def test_errors(case):
    def scenario(lib):
        class Fn(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                if case == "save_int":
                    ctx.save_for_backward(3)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                if case == "too_many_grads":
                    return g, g
                if case == "wrong_shape":
                    return lib.ones(3)
                return g

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        if case == "legacy_call":
            return Fn()(x)
        Fn.apply(x).sum().backward()
        return x.grad
    assert_same(scenario)
