"""The backward explainer: its steps match the slides and PyTorch, and it changes no gradient."""
import numpy as np
import pytest
import torch

import chainrule
from chainrule.autograd import explain


def leaves(*values, dtype=None):
    return [chainrule.tensor(v, requires_grad=True, dtype=dtype) for v in values]


def test_xyz_reads_like_the_slides():
    x, y, z = leaves(-2.0, 5.0, -4.0)
    q = x + y
    f = q * z
    record = explain(f)
    assert [s.op for s in record] == ["MulBackward0", "AddBackward0"]
    mul, add = record.steps
    assert (mul.output_name, mul.expression) == ("f", "q * z")
    assert float(mul.output_value) == -12 and float(add.output_value) == 3  # q = 3, f = -12
    assert float(mul.upstream) == 1
    flows = {i.name: i for i in mul.inputs}
    assert float(flows["q"].local[0, 0]) == -4 and float(flows["z"].local[0, 0]) == 3
    assert float(flows["q"].downstream) == -4 and float(flows["z"].downstream) == 3
    assert float(add.upstream) == -4
    assert {i.name: float(i.downstream) for i in add.inputs} == {"x": -4, "y": -4}
    text = str(record)
    for expected in ("f = q * z", "q = x + y", "q = 3", "f = -12", "df/dq = -4", "dq/dx = 1",
                     "df/dx = -4", "df/dy = -4", "df/dz = 3", "x.grad += -4", "mul gate",
                     "add gate"):
        assert expected in text, expected


def test_gate_patterns_of_seed_002():
    x, y, z, w = leaves(3.0, -4.0, 2.0, -1.0)
    with explain() as record:
        xy = x * y
        m = torch_max = chainrule.max(z, w)  # noqa: F841
        s = xy + m
        f = 2 * s
        f.backward()
    by_name = {st.output_name: st for st in record.steps}
    add, mx, mul = by_name["s"], by_name["m"], by_name["xy"]
    # add distributes: both inputs get the upstream gradient unchanged
    assert [float(i.downstream) for i in add.inputs] == [float(add.upstream)] * 2
    # max routes: z (the larger) gets everything, w nothing
    assert {i.name: float(i.downstream) for i in mx.inputs} == {"z": 2.0, "w": 0.0}
    # mul switches: x gets upstream * y, y gets upstream * x
    assert {i.name: float(i.downstream) for i in mul.inputs} == {"x": 2 * -4.0, "y": 2 * 3.0}
    assert float(mul.output_value) == -12  # recorded inside the block: every value is known
    text = str(record)
    assert "gradient router" in text and "gradient distributor" in text and "switcher" in text


def test_does_not_change_gradients_vs_plain_backward_and_torch(rng):
    xs, w1s, bs, w2s = (rng.standard_normal(s) for s in ((4, 3), (3, 5), (5,), (5, 2)))

    def build(lib, explain_it):
        x = lib.tensor(xs)
        w1, b, w2 = (lib.tensor(a, requires_grad=True) for a in (w1s, bs, w2s))
        loss = ((x.mm(w1) + b).clamp(min=0).mm(w2).sigmoid() ** 2).mean()
        if explain_it:
            explain(loss)
        else:
            loss.backward()
        return [t.grad.numpy() for t in (w1, b, w2)]

    explained = build(chainrule, True)
    plain = build(chainrule, False)
    reference = build(torch, False)
    for e, p, r in zip(explained, plain, reference):
        np.testing.assert_array_equal(e, p)
        np.testing.assert_allclose(e, r, rtol=1e-6, atol=1e-9)


def test_downstream_equals_torch_intermediate_grads(rng):
    a_s, b_s = rng.standard_normal((2, 3)), rng.standard_normal(3)
    a, b = leaves(a_s, b_s)
    h = a * b
    t = h.tanh()
    loss = t.sum()
    record = explain(loss)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a_s, b_s))
    th = ta * tb
    th.retain_grad()
    tt = th.tanh()
    tt.retain_grad()
    tt.sum().backward()
    np.testing.assert_allclose(record.step("h").upstream, th.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(record.step("t").upstream, tt.grad.numpy(), rtol=1e-12)
    tanh_in = record.step("t").inputs[0]
    # the local Jacobian of tanh is diagonal with 1 - tanh^2
    np.testing.assert_allclose(np.diag(tanh_in.local), 1 - np.tanh(a_s * b_s).reshape(-1) ** 2)
    assert tanh_in.local_text.startswith("diag(")


def test_broadcast_reduction_shows_both_shapes():
    a = chainrule.ones(2, 3, requires_grad=True)
    b = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c = a * b
    record = explain(c.sum())
    flow = {i.name: i for i in record.step("c").inputs}["b"]
    assert flow.broadcast_from == (2, 3) and flow.shape == (3,)
    tb = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (torch.ones(2, 3) * tb).sum().backward()
    np.testing.assert_allclose(flow.downstream, tb.grad.numpy())
    assert "summed from (2, 3) to (3)" in str(record)


def test_jacobian_of_mul_matches_torch_autograd_functional():
    a_s, b_s = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    a, b = leaves(a_s, b_s, dtype=chainrule.float64)
    record = explain((a * b).sum())
    flows = {i.name: i for i in record.step("mul1").inputs}
    jac_a, jac_b = torch.autograd.functional.jacobian(
        lambda x, y: x * y, (torch.tensor(a_s), torch.tensor(b_s)))
    np.testing.assert_allclose(flows["a"].local, jac_a.numpy())
    np.testing.assert_allclose(flows["b"].local, jac_b.numpy())


def test_large_tensors_are_described_not_printed(rng):
    w = chainrule.tensor(rng.standard_normal((50, 40)), requires_grad=True)
    record = explain((w * 2).sum())
    flow = record.step("mul1").inputs[0]
    assert flow.local is None and "Jacobian 2000x2000" in flow.local_text
    assert "(50, 40) mean" in str(record)


def test_create_graph_backward_is_explained_too():
    x, = leaves(3.0)
    with explain() as record:
        y = x ** 3
        (g,) = chainrule.autograd.grad(y, x, create_graph=True)
    assert float(g) == 27.0 and record.steps[0].op == "PowBackward0"
    g.backward()
    assert float(x.grad) == 18.0  # second derivative still right


def test_step_lookup_error_names_the_steps():
    x, = leaves(1.0)
    record = explain(x * 2)
    with pytest.raises(KeyError, match="steps compute"):
        record.step("nope")
