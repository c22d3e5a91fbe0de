"""chainrule.compile never replays a stale value: tensors made by code the tracer does not
record are recorded or refused, and whole training steps with nn layers, losses and optimizers
follow eager's trajectory bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.compile import CompileError
from chainrule.ops import pointwise as _pointwise

_EXP = _pointwise.exp  # a reference saved at import, before any trace: never patched
_GT = _pointwise.gt


def _correct_or_refused(fn, *inputs_per_call):
    """Run compiled `fn` on each input list; each call must equal eager or raise CompileError
    (then every later call too). Returns 'correct' or 'refused'."""
    compiled = cr.compile(fn)
    outcome = None
    for inputs in inputs_per_call:
        try:
            got = compiled(*inputs)
        except CompileError as err:
            assert outcome in (None, "refused")
            assert "chainrule.compile" in str(err) or "compiled function" in str(err)
            outcome = "refused"
            continue
        assert outcome in (None, "correct")
        outcome = "correct"
        np.testing.assert_array_equal(got.detach().numpy(), fn(*inputs).detach().numpy())
    return outcome


def _values(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return [[cr.tensor(rng.standard_normal(5))] for _ in range(n)]


def test_wrapper_around_an_op_reference_saved_before_compiling_is_refused_not_stale():
    def f(x):
        return _EXP(x) * 2  # the unpatched op: its result is not recorded

    assert _correct_or_refused(f, *_values()) == "refused"
    with pytest.raises(CompileError, match="'exp'"):
        cr.compile(f)(cr.ones(2))  # the message names the op that made the tensor


def test_data_dependent_if_through_a_saved_comparison_is_refused_never_wrong_branch():
    def f(x):
        if _GT(x.sum(), 0):
            return x * 2
        return x * -3

    pos, neg = [cr.ones(3)], [-cr.ones(3)]
    assert _correct_or_refused(f, pos, neg, pos) == "refused"


def test_python_wrapper_calling_ops_by_name_is_recorded():
    def my_act(x):
        return cr.tanh(x) * cr.sigmoid(x)

    assert _correct_or_refused(lambda x: my_act(x) + 1, *_values()) == "correct"


class MyReLU(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        out = g.clone()
        out[x < 0] = 0
        return out


class NumpyDouble(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return cr.Tensor._make(x._data * 2)  # NumPy on tensor internals: not traceable

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_custom_autograd_function_is_correct_on_replay_values_and_gradients():
    w = cr.randn(5, requires_grad=True)

    def f(x):
        return (MyReLU.apply(x * w) ** 2).sum()

    compiled = cr.compile(f)
    for inputs in _values(4, seed=1):
        w.grad = None
        compiled(*inputs).backward()
        got = w.grad.numpy().copy()
        w.grad = None
        f(*inputs).backward()
        np.testing.assert_array_equal(got, w.grad.numpy())


def test_custom_function_computing_on_internals_is_refused():
    assert _correct_or_refused(lambda x: NumpyDouble.apply(x) + 1, *_values()) == "refused"


class Doubling(cr.Tensor):
    def doubled(self):
        return cr.Tensor._make(self._data * 2)  # a subclass method on the raw array

    def tripled(self):
        return self * 3  # through an op: recorded


def test_tensor_subclass_methods_are_refused_or_correct():
    inputs = [[Doubling._make(np.random.default_rng(i).standard_normal(4))] for i in range(3)]
    assert _correct_or_refused(lambda x: x.doubled() + 1, *inputs) == "refused"
    assert _correct_or_refused(lambda x: x.tripled() + 1, *inputs) == "correct"


def test_untraced_write_into_an_outside_tensor_is_refused():
    w = cr.ones(3)

    def f(x):
        y = x * w
        w._data += 1  # behind the tracer's back
        return y

    with pytest.raises(CompileError, match="does not trace"):
        cr.compile(f)(cr.ones(3))


def test_tensor_kept_outside_the_call_makes_the_trace_single_use():
    kept = []

    def f(x):
        y = x * 2
        if not kept:
            kept.append(y + 1)  # state made on the first call only
        return y + kept[0]

    compiled = cr.compile(f)
    x1, x2 = cr.ones(2), cr.full((2,), 3.0)
    first = compiled(x1)
    np.testing.assert_array_equal(first.numpy(), [5.0, 5.0])
    assert compiled.single_use_count == 1
    np.testing.assert_array_equal(compiled(x2).numpy(), [9.0, 9.0])
    np.testing.assert_array_equal(compiled(x1).numpy(), [5.0, 5.0])
    assert compiled.trace_count == 2 and compiled.single_use_count == 1


@pytest.mark.parametrize("name", ["mse_loss", "gelu", "silu", "softplus", "linear", "embedding"])
def test_nn_functional_forms_replay_new_values_with_gradients(name):
    F = cr.nn.functional
    rng = np.random.default_rng(3)
    w = cr.tensor(rng.standard_normal((4, 4)), requires_grad=True)
    target = cr.tensor(rng.standard_normal((3, 4)))
    calls = {
        "mse_loss": lambda x: F.mse_loss(x @ w, target),
        "gelu": lambda x: F.gelu(x @ w).sum(),
        "silu": lambda x: F.silu(x @ w).sum(),
        "softplus": lambda x: F.softplus(x @ w).sum(),
        "linear": lambda x: F.linear(x, w, w[0]).pow(2).sum(),
        "embedding": lambda x: (F.embedding(cr.tensor([[0, 3], [2, 2]]), w) * x[0]).sum(),
    }
    fn = calls[name]
    compiled = cr.compile(fn)
    for seed in range(3):
        x = cr.tensor(np.random.default_rng(seed).standard_normal((3, 4)), requires_grad=True)
        w.grad = None
        out = compiled(x)
        out.backward()
        got = out.item(), w.grad.numpy().copy(), x.grad.numpy().copy()
        x.grad = w.grad = None
        out = fn(x)
        out.backward()
        assert got[0] == pytest.approx(out.item(), rel=1e-12)
        np.testing.assert_allclose(got[1], w.grad.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got[2], x.grad.numpy(), rtol=1e-12, atol=1e-12)


# -- whole training steps with nn, losses and optimizers ------------------------------------------
def _model(kind):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(6, 16), cr.nn.ReLU(), cr.nn.Linear(16, 3))
    if kind == "sgd":
        opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    elif kind == "adam":
        opt = cr.optim.Adam(model.parameters(), lr=0.01)
    else:
        opt = cr.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1, amsgrad=True)
    return model, opt


def _step(model, opt, loss_fn):
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw_amsgrad"])
def test_compiled_training_step_same_trajectory_as_eager_over_100_steps(kind):
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((32, 6)), dtype=cr.float32)
    y = cr.tensor(rng.integers(0, 3, 32))
    (m1, o1), (m2, o2) = _model(kind), _model(kind)
    eager = _step(m1, o1, cr.nn.CrossEntropyLoss())
    compiled = cr.compile(_step(m2, o2, cr.nn.CrossEntropyLoss()))
    sched = cr.optim.lr_scheduler.StepLR(o2, step_size=30, gamma=0.5)
    sched_eager = cr.optim.lr_scheduler.StepLR(o1, step_size=30, gamma=0.5)
    for t in range(100):
        le, lc = eager(x, y), compiled(x, y)
        assert le.item() == lc.item(), t
        sched.step()
        sched_eager.step()  # the compiled step reads the scheduler's lr on every call
    for a, b in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())
    # First call: grads None and optimizer state made (single use); then one replayed trace.
    assert compiled.trace_count <= 3 and compiled.cache_info()["size"] == 1


def test_compiled_mse_training_step_with_sgd_matches_eager():
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((16, 6)), dtype=cr.float32)
    y = cr.tensor(rng.standard_normal((16, 3)), dtype=cr.float32)
    (m1, o1), (m2, o2) = _model("sgd"), _model("sgd")
    eager = _step(m1, o1, cr.nn.MSELoss())
    compiled = cr.compile(_step(m2, o2, cr.nn.MSELoss()))
    for _ in range(100):
        assert eager(x, y).item() == compiled(x, y).item()
