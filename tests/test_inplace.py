"""In-place operations: allowed and refused cases, version counters, and gradients through
in-place writes (also through views), each checked against PyTorch."""
import numpy as np
import pytest
import torch

import chainrule as cr


def outcome(scenario, lib):
    try:
        result = scenario(lib)
    except Exception as err:  # compared with torch's
        return ("error", type(err).__name__, str(err))
    return ("ok", _as_lists(result))


def _as_lists(value):
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    if isinstance(value, (cr.Tensor, torch.Tensor)):
        return (repr(value.dtype), value.detach().numpy().round(5).tolist(), value.requires_grad)
    return value


def assert_same(scenario):
    assert outcome(scenario, cr) == outcome(scenario, torch)


# -- the SGD step of the seeds: in-place updates of leaves under no_grad -------------------------
def test_sgd_style_updates_under_no_grad():
    def scenario(lib):
        w = lib.ones(3, requires_grad=True)
        (w * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        with lib.no_grad():
            w -= 0.1 * w.grad
            w.add_(1)
            w.sub_(0.5)
            w.mul_(2)
            w.div_(4)
            w *= 2
            w /= 2
            w += 1
            w.clamp_(min=0, max=1.9)
            w.add_(w.grad, alpha=-0.5)
            snapshot = w.clone()
            w.zero_()
            w.fill_(3.0)
            w.copy_(lib.tensor([1.0, 2.0, 3.0]))
        w.grad.zero_()
        return snapshot, w, w._version, w.grad, w.requires_grad, w.is_leaf
    assert_same(scenario)


def test_seed_004_empty_gradients_loop_values():
    def scenario(lib):
        weights = lib.ones(4, requires_grad=True)
        history = []
        for _ in range(3):
            output = (weights * 3).sum()
            output.backward()
            history.append((output, weights.grad.clone()))
            with lib.no_grad():
                weights -= 0.1 * weights.grad
                weights.grad.zero_()
            history.append(weights.clone())
        return history
    assert_same(scenario)


@pytest.mark.parametrize("body", [
    "w.add_(1)", "w += 1", "w -= 1", "w *= 2", "w /= 2", "w.zero_()", "w.fill_(2.0)",
    "w.copy_(lib.zeros(3))", "w.clamp_(min=0)", "w.mul_(2)", "w.div_(2)", "w.sub_(1)",
    "w.exp_()", "w[[0]] = 5", "w[w > 0] = 0", "w[:] = 1", "w[...] = 1",
])
def test_in_place_on_leaf_requiring_grad_is_refused(body):
    def scenario(lib):
        w = lib.ones(3, requires_grad=True)
        exec(body, {"w": w, "lib": lib})
    ours = outcome(scenario, cr)
    assert ours == outcome(scenario, torch)
    assert ours[2] == "a leaf Variable that requires grad is being used in an in-place operation."


@pytest.mark.parametrize("body", ["w[0] = 5", "w[0].mul_(2)", "w[1:].add_(1)", "w.view(3).zero_()",
                                  "w[None] = 1"])
def test_in_place_on_view_of_leaf_is_refused(body):
    def scenario(lib):
        w = lib.ones(3, requires_grad=True)
        exec(body, {"w": w, "lib": lib})
    ours = outcome(scenario, cr)
    assert ours == outcome(scenario, torch)
    assert ours[2].startswith("a view of a leaf Variable that requires grad")


def test_data_bypasses_the_check():
    def scenario(lib):
        w = lib.ones(3, requires_grad=True)
        w.data.add_(1)
        w.data = w.data * 2
        return w, w._version
    assert_same(scenario)


# -- version counter --------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    "y = x.exp(); z = y.sum(); y.add_(1)",                  # saved output modified
    "y = x * 2; z = (y * y).sum(); y.add_(1)",              # saved input (non-leaf) modified
    "y = x.sigmoid(); z = (y * 2).sum(); y.mul_(2)",
    "w = lib.ones(3); z = (x * w).sum(); w.add_(1)",         # saved leaf modified
    "w = lib.ones(3, 3); z = x.view(1, 3).mm(w).sum(); w.add_(1)",
    "z = (x * x).sum()\nwith lib.no_grad(): x.mul_(2)",     # the leaf itself, under no_grad
    "y = x.tanh(); z = (y * 2).sum(); y.relu_()",
    "y = x * 2; z = (y ** 2).sum(); y[0] = 0",
])
def test_modified_saved_tensor_makes_backward_fail_with_torchs_message(body):
    def scenario(lib):
        x = lib.tensor([0.5, 1.0, 2.0], requires_grad=True)
        scope = {"x": x, "lib": lib}
        exec(body, scope)
        scope["z"].backward()
        return x.grad
    ours = outcome(scenario, cr)
    assert ours == outcome(scenario, torch)
    assert ours[0] == "error" and "modified by an inplace operation" in ours[2]


def test_version_counter_counts_writes_and_is_shared_with_views():
    def scenario(lib):
        x = lib.ones(4)
        versions = [x._version]
        x.add_(1)
        x[0] = 2
        x.zero_()
        versions.append(x._version)
        view = x[1:]
        view.add_(1)
        detached = x.detach()
        detached.mul_(3)
        versions += [x._version, view._version, detached._version]
        return versions, x
    assert_same(scenario)


def test_modifying_a_tensor_not_saved_is_fine():
    def scenario(lib):
        x = lib.tensor([0.5, 1.0, 2.0], requires_grad=True)
        y = x * 2
        z = (y + 1).sum()  # add saves nothing
        y.add_(1)
        z.backward()
        return x.grad, y
    assert_same(scenario)


# -- gradients through in-place ops on non-leaves -----------------------------------------------------
@pytest.mark.parametrize("body", [
    "y = x * 1; y[0].mul_(2); out = (y * y).sum()",
    "y = x * 2; y.add_(x); y.mul_(x); out = y.sum()",
    "y = x * 2; y.exp_(); out = y.sum()",
    "y = x * 2; y.zero_(); out = y.sum()",
    "y = x.clone(); y.clamp_(min=1.5); out = y.sum()",
    "y = x * 2; y[1:].mul_(3); out = y.sum()",
    "y = x * 1; y[0] = y[1] * 5; out = (y * y).sum()",
    "y = lib.zeros(3); y.copy_(x); out = (y * y).sum()",
    "y = lib.zeros(3); y[1:] = x[:2] * 2; out = (y * y).sum()",
    "y = x * 2; y += x; y -= x * x; y *= 3; y /= 2; out = y.sum()",
    "y = x.tanh(); y.relu_(); out = y.sum()",
    "y = x * 2; y.sigmoid_(); y.pow_(2); out = y.sum()",
    "y = x * 2; y.fill_(3.0); out = (y * x).sum()",
    "y = x * 1; y[y > 1] = 0; out = (y * y).sum()",
    "y = x * 1; y.masked_fill_(y > 1, 2.0); out = (y * x).sum()",
])
def test_gradients_through_in_place_writes(body):
    def scenario(lib):
        x = lib.tensor([0.5, 1.5, 2.5], requires_grad=True)
        scope = {"x": x, "lib": lib}
        exec(body, scope)
        scope["out"].backward()
        return scope["y"], x.grad
    assert_same(scenario)


def test_column_assignment_through_a_view():
    def scenario(lib):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        v = lib.tensor([10.0, 20.0], requires_grad=True)
        y = x * 1
        y[:, 1] = v
        (y * y).sum().backward()
        return y, x.grad, v.grad
    assert_same(scenario)


def test_in_place_result_is_self_and_grad_fn_moves():
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        before = y.grad_fn
        assert y.exp_() is y and y.grad_fn is not before
        assert type(y.grad_fn).__name__ == "ExpBackward0"


# -- dtype rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    "x = lib.tensor([1, 2]); x += 1.5", "x = lib.tensor([1, 2]); x.add_(1.5)",
    "x = lib.tensor([1, 2]); x *= 2.5", "x = lib.tensor([1, 2]); x /= 2",
    "x = lib.tensor([1, 2]); x += lib.tensor([1.5, 2.0])",
    "x = lib.tensor([1, 2]); x += lib.tensor(1.5)",
    "x = lib.tensor([True, False]); x += 1",
    "x = lib.ones(3); x += lib.ones(2, 3)",
])
def test_in_place_dtype_and_shape_errors(body):
    def scenario(lib):
        exec(body, {"lib": lib})
    ours = outcome(scenario, cr)
    assert ours[0] == "error" and ours == outcome(scenario, torch)


@pytest.mark.parametrize("body", [
    "x = lib.tensor([1.0, 2.0]); x += lib.tensor([1, 2]); x *= lib.tensor(2, dtype=lib.int32)",
    "x = lib.tensor([1, 2], dtype=lib.int32); x += 10; x *= lib.tensor(3)",
    "x = lib.ones(2, 3); x += lib.ones(3)",
    "x = lib.tensor([1.0, 2.0], dtype=lib.float64); x.mul_(lib.tensor([2.0, 3.0]))",
    "x = lib.tensor([1, 2]); x.fill_(2.7)",
    "x = lib.tensor([5, 7]); x.copy_(lib.tensor([1.9, -1.9]))",
])
def test_in_place_casts_to_self_dtype(body):
    def scenario(lib):
        scope = {"lib": lib}
        exec(body, scope)
        return scope["x"]
    assert_same(scenario)


# -- operands that share memory with the written tensor (PyTorch's overlap checks) -------------
@pytest.mark.parametrize("body", [
    "x.add_(x)",                                   # the same memory in the same layout: allowed
    "x[0:3].add_(x[0:3])",
    "x[1:4].add_(x[0:3])",                         # partial overlap: refused
    "x[1:4].copy_(x[0:3])",
    "x[1:4] = x[0:3]",
    "x[1:4].sub_(x[0:3]).exp_()",
    "x[1:4].clamp_(min=x[0:3])",
    "x.view(2, 3)[:, 0:2].mul_(x.view(2, 3)[:, 1:3])",
    "x.view(2, 3).t().contiguous().add_(x.view(3, 2))",
    "m.add_(m.t())",                               # same memory, other strides: refused
    "x[0:4:2].add_(x[1:5:2])",                     # strided: too irregular to decide, allowed
    "x[0:4:2].add_(x[2:6:2])",
    "m[0].copy_(m[:, 0])",
    "x[1:4].add_(x[0].expand(3))",
    "x[[0, 1, 2, 3, 4, 5]] = x",                   # index_put refuses any overlap
    "x[x > 2] = x[3:]",
    "x[:] = x",
    "y = x * 1; y[1:4].mul_(y[0:3])",              # also when a graph is recorded
    "y = x * 1; y[1:4] = y[0:3]",
    "y = x * 1; y[1:4].copy_(y[2:5])",
])
def test_overlapping_operands(body):
    def scenario(lib):
        x = lib.arange(6.0)
        if body.startswith("y"):
            x.requires_grad_()
        m = lib.arange(4.0).view(2, 2)
        exec(body, {"x": x, "m": m})
        return x.detach(), m
    assert_same(scenario)


@pytest.mark.parametrize("body", [
    "x = lib.zeros(7, 3).fill_diagonal_(1, wrap=True)",
    "x = lib.zeros(3, 7).fill_diagonal_(1, wrap=True)",
    "x = lib.zeros(3, 3, 3).fill_diagonal_(2)",
    "x = lib.zeros(3, 4, 3).fill_diagonal_(2)",
    "x = lib.zeros(3).fill_diagonal_(2)",
    "x = lib.zeros(3, 3, requires_grad=True).fill_diagonal_(2)",
    "x = (a.view(3, 2) * 1).fill_diagonal_(5); (x * x).sum().backward(); x = (x, a.grad)",
])
def test_fill_diagonal_(body):
    def scenario(lib):
        a = lib.arange(6.0, requires_grad=True)
        scope = {"lib": lib, "a": a}
        exec(body, scope)
        return scope["x"]
    assert_same(scenario)


@pytest.mark.parametrize("body", [
    "e.fill_(2)", "e.zero_()", "e[1] = 5.0", "e[1] = lib.tensor(5.0)",   # allowed, as torch
    "e.add_(1)", "e.copy_(lib.ones(3))", "e[0:2] = 5.0", "e[0:2] = lib.ones(2)",  # refused
    "e.clamp_(0, 0.5)",
    "g = (lib.ones(1, requires_grad=True) * 1).expand(3); g.fill_(2); e = g",
    "g = (lib.ones(1, requires_grad=True) * 1).expand(3); g.zero_(); e = g",
    "g = (lib.ones(1, requires_grad=True) * 1).expand(3); g.copy_(lib.ones(3)); e = g",
])
def test_writes_into_an_expanded_tensor(body):
    """Bug: fill_/zero_ and `e[i] = v` on an expanded tensor were refused (torch writes the
    one shared element); writes of several elements stay refused."""
    def scenario(lib):
        scope = {"lib": lib, "e": lib.ones(1).expand(3)}
        exec(body, scope)
        return scope["e"]
    assert_same(scenario)
