"""why_no_grad names the learner's usual mistake; the `total_loss += loss` leak warns once."""
import warnings

import numpy as np
import pytest
import torch

import chainrule
from chainrule.autograd import GraphLeakWarning, why_no_grad
from chainrule.autograd import diagnose


def test_non_leaf_without_retain_grad():
    w = chainrule.tensor([1.0], requires_grad=True)
    w = w - 0.1 * chainrule.tensor([2.0])  # the classic rebinding update
    d = why_no_grad(w)
    assert d.reason == "non_leaf" and "retain_grad()" in str(d) and "w -= lr" in str(d)


def test_created_under_no_grad_or_without_requires_grad():
    a = chainrule.randn(2, 2, requires_grad=True)
    with chainrule.no_grad():
        b = a * 2
    d = why_no_grad(b)
    assert d.reason == "no_requires_grad" and "no_grad()" in str(d)
    assert torch.randn(2, 2, requires_grad=True).mul(2).detach().requires_grad is False


def test_detached_copy_of_a_graph_tensor():
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    for cut in (w.detach(), w.data):
        d = why_no_grad(cut, loss)
        assert d.reason == "detached" and ".detach()" in str(d)


def test_item_gives_a_number():
    w = chainrule.tensor(2.0, requires_grad=True)
    d = why_no_grad((w * 3).item())
    assert d.reason == "not_a_tensor" and ".item()" in str(d)


def test_not_reached_and_no_graph():
    w = chainrule.tensor(1.0, requires_grad=True)
    v = chainrule.tensor(2.0, requires_grad=True)
    loss = chainrule.tensor(float(w.item()) * 3.0, requires_grad=True) * v  # w left through item
    assert why_no_grad(w, loss).reason == "not_reached"
    with chainrule.no_grad():
        frozen = w * 3
    assert why_no_grad(w, frozen).reason == "no_graph"


def test_dead_relu_is_located_and_agrees_with_torch():
    ws, xs = np.array([[1.0, -2.0]]), np.array([[-3.0], [-1.0]])  # w @ x < 0: relu is dead
    w = chainrule.tensor(ws, requires_grad=True)
    h = w.mm(chainrule.tensor(xs)).relu()
    loss = (h * 5).sum()
    d = why_no_grad(w, loss)
    assert d.reason == "zero_local_gradient"
    assert "ReluBackward0" in str(d) and "dead ReLU" in str(d)
    assert w.grad is None  # the diagnosis ran no accumulating backward
    tw = torch.tensor(ws, requires_grad=True)
    (tw.mm(torch.tensor(xs)).relu() * 5).sum().backward()
    assert not tw.grad.any()  # torch agrees the gradient is zero
    loss.backward()
    assert not w.grad._data.any()


def test_max_routed_elsewhere():
    z, w = (chainrule.tensor(v, requires_grad=True) for v in (2.0, -1.0))
    f = chainrule.max(z, w) * 2
    d = why_no_grad(w, f)
    assert d.reason == "zero_local_gradient" and "MaximumBackward0" in str(d)
    assert why_no_grad(z, f).reason == "backward_not_run"


def test_has_grad_and_zeroed():
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    assert why_no_grad(w).reason == "has_grad"
    w.grad.zero_()
    assert why_no_grad(w).reason == "zeroed_after_backward"


@pytest.fixture
def fresh_leak_warning():
    diagnose._reset_leak_warning_for_tests()
    yield
    diagnose.set_leak_warning(True)
    diagnose._reset_leak_warning_for_tests()


@pytest.mark.parametrize("backward_first", [True, False])
def test_total_loss_accumulation_warns_once(fresh_leak_warning, backward_first):
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    total = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(5):
            loss = (w * 2).sum()
            if backward_first:
                loss.backward()
                total += loss
            else:
                total += loss
                loss.backward()
    leaks = [c for c in caught if issubclass(c.category, GraphLeakWarning)]
    assert len(leaks) == 1
    assert "loss.item()" in str(leaks[0].message) and leaks[0].filename == __file__


def test_item_accumulation_and_opt_out_are_silent(fresh_leak_warning):
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphLeakWarning)
        total = 0.0
        for _ in range(4):
            loss = (w * 2).sum()
            loss.backward()
            total += loss.item()
        (w * 2).sum() + (w * 3).sum()  # two fresh graphs: no leak
        diagnose.set_leak_warning(False)
        total = 0.0
        for _ in range(4):
            loss = (w * 2).sum()
            loss.backward()
            total += loss
