"""Big graphs and memory: deep chains, graphs collected once unreachable, saved tensors freed
after backward, and flat memory over a long training run."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd.graph import FREED_MESSAGE


def test_chain_of_100000_ops_backpropagates():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0001
        y = y - 0.0001
    y.sum().backward()
    # d/dx of the affine chain is 1.0001^50000 per element
    expected = 1.0001 ** 50_000
    np.testing.assert_allclose(x.grad.numpy(), [expected, expected], rtol=1e-9)


def test_deep_chain_matches_torch():
    values = [0.3, -0.2]
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(values, requires_grad=True)
        y = x
        for i in range(3000):
            y = (y * 0.999).tanh() + 0.001 if i % 2 else y.sin() * 1.001
        y.sum().backward()
        grads.append(x.grad.numpy().copy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4)


def _build_graph(w):
    a = w * 2
    b = a.exp()
    c = (b * a).sigmoid()
    loss = (c * c).sum()
    refs = [weakref.ref(t) for t in (a, b, c, loss)]
    nodes = [weakref.ref(t.grad_fn) for t in (a, b, c, loss)]
    return loss, refs, nodes


def test_graph_is_collected_once_the_loss_is_gone():
    w = cr.tensor([0.1, 0.2], requires_grad=True)
    loss, tensors, nodes = _build_graph(w)
    gc.collect()
    assert all(r() is not None for r in tensors[:3])  # alive: the loss's graph holds them
    assert all(n() is not None for n in nodes)
    del loss
    assert all(n() is None for n in nodes), "nodes must go without waiting for the cycle GC"
    assert all(r() is None for r in tensors)


def test_graph_is_collected_after_backward_too():
    w = cr.tensor([0.1, 0.2], requires_grad=True)
    loss, tensors, nodes = _build_graph(w)
    loss.backward()
    del loss
    assert all(n() is None for n in nodes) and all(r() is None for r in tensors)
    assert w.grad is not None  # the leaf and its gradient stay


def test_accumulate_grad_node_lives_with_the_graph_only():
    w = cr.tensor([0.1, 0.2], requires_grad=True)
    y = w * 2
    accumulator = weakref.ref(y.grad_fn.next_functions[0][0])
    assert accumulator().variable is w
    del y
    assert accumulator() is None
    assert w.is_leaf and w.requires_grad


@pytest.mark.parametrize("make", ["x * x", "x.exp()", "x.sigmoid()", "x.mm(x.t())",
                                  "(x * 3).pow(2)"])
def test_saved_tensors_are_freed_after_backward(make):
    x = cr.tensor([[0.5, 1.5], [2.0, -1.0]], requires_grad=True)
    y = eval(make)
    node = y.grad_fn
    saved = [weakref.ref(v) for v in node._saved if isinstance(v, cr.Tensor)]
    y.sum().backward()
    assert node._saved is None
    gc.collect()
    assert all(r() is None or r() is x for r in saved)
    with pytest.raises(RuntimeError) as err:
        y.sum().backward()
    assert str(err.value) == FREED_MESSAGE
    torch_x = torch.tensor([[0.5, 1.5], [2.0, -1.0]], requires_grad=True)
    torch_y = eval(make, {"x": torch_x})
    torch_y.sum().backward()
    with pytest.raises(RuntimeError) as torch_err:
        torch_y.sum().backward()
    assert str(err.value) == str(torch_err.value)


def test_retain_graph_keeps_saved_tensors():
    x = cr.tensor([0.5, 1.5], requires_grad=True)
    y = x.exp()
    y.sum().backward(retain_graph=True)
    assert y.grad_fn._saved is not None
    y.sum().backward()
    assert y.grad_fn._saved is None


def test_function_saved_tensors_freed_after_backward():
    class Square(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x * 1)
            return x * x

        @staticmethod
        def backward(ctx, g):
            copy, = ctx.saved_tensors
            return 2 * copy * g

    x = cr.tensor([1.0, 3.0], requires_grad=True)
    y = Square.apply(x)
    saved = weakref.ref(y.grad_fn._saved[0])
    y.sum().backward()
    gc.collect()
    assert saved() is None
    with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
        y.grad_fn.saved_tensors


def test_ten_thousand_training_steps_keep_memory_flat():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((16, 4)), dtype=cr.float32)
    y = cr.tensor(rng.standard_normal((16, 1)), dtype=cr.float32)
    w1 = cr.tensor(rng.standard_normal((4, 8)) * 0.3, dtype=cr.float32, requires_grad=True)
    w2 = cr.tensor(rng.standard_normal((8, 1)) * 0.3, dtype=cr.float32, requires_grad=True)

    def step():
        loss = ((x.mm(w1).clamp(min=0).mm(w2) - y) ** 2).mean()
        loss.backward()
        with cr.no_grad():
            for w in (w1, w2):
                w -= 0.01 * w.grad
                w.grad.zero_()
        return loss

    def retained_over_a_thousand_steps():
        """Bytes allocated during 1000 traced steps and still held after them."""
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(1000):
                loss = step()
            del loss
            gc.collect()
            return tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()

    first_loss = step().item()
    retained_first = retained_over_a_thousand_steps()  # steps 2..1001
    for _ in range(8000):  # untraced: tracing slows every allocation down
        step()
    retained_last = retained_over_a_thousand_steps()  # the last thousand steps
    last_loss = step().item()
    assert last_loss < first_loss  # it trained
    # A leak of even 16 bytes per step would show as 16 KB here.
    assert retained_first < 16 * 1024
    assert retained_last < 16 * 1024
