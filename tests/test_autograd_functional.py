"""torch.autograd.functional (vjp, jvp, jacobian, hessian, vhp, hvp) and gradcheck's sequence
of backward calls, with PyTorch as the oracle."""
import warnings

import numpy as np
import pytest
import torch

import chainrule
from chainrule.autograd import functional as F

# ---------------------------------------------------------------------------------------------
# Helpers: the same program under both libraries, results compared structurally.


def _make(T, arrays, requires_grad):
    out = tuple(T.tensor(a, requires_grad=requires_grad) for a in arrays)
    return out


def _same(ours, theirs, path="result"):
    """Same nesting (tuple vs list vs tensor), values, dtypes, shapes, requires_grad and
    whether a grad_fn is attached."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, chainrule.Tensor), f"{path}: {type(ours)}"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{path}: shape"
        assert str(ours.dtype) == str(theirs.dtype), f"{path}: dtype"
        tol = 1e-10 if theirs.dtype == torch.float64 else 1e-5
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol,
                                   atol=tol, err_msg=path)
        assert ours.requires_grad == theirs.requires_grad, f"{path}: requires_grad"
        assert (ours.grad_fn is None) == (theirs.grad_fn is None), f"{path}: grad_fn"
        return
    assert type(ours) is type(theirs), f"{path}: {type(ours)} vs {type(theirs)}"
    assert len(ours) == len(theirs), f"{path}: length"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        _same(a, b, f"{path}[{i}]")


def _both(program):
    """program(T, functional) under chainrule and torch; results compared."""
    ours = program(chainrule, chainrule.autograd.functional)
    theirs = program(torch, torch.autograd.functional)
    _same(ours, theirs)
    return ours


def _same_error(program):
    """Both raise the same exception type with the same message."""
    with pytest.raises(Exception) as theirs:
        program(torch, torch.autograd.functional)
    with pytest.raises(Exception) as ours:
        program(chainrule, chainrule.autograd.functional)
    assert type(ours.value).__name__ == type(theirs.value).__name__
    assert str(ours.value) == str(theirs.value).replace("torch.Tensor", "chainrule.Tensor")


_rng = np.random.default_rng(7)
X = _rng.standard_normal((3,))
Y = _rng.standard_normal((3,))
M = _rng.standard_normal((2, 3))
W = _rng.standard_normal((3, 4))
S = np.array(0.7)

# name -> (function of T, input arrays, whether the inputs are passed as a tuple)
FUNCTIONS = {
    "elementwise": (lambda T: lambda x: x.exp() * x.sin(), (X,), False),
    "elementwise_tuple": (lambda T: lambda x: (x ** 3).tanh(), (X,), True),
    "matmul": (lambda T: lambda a, b: a @ b, (M, W), True),
    "matmul_relu_sum": (lambda T: lambda a, b: (a @ b).relu().sum(dim=0), (M, W), True),
    "reduction_mean": (lambda T: lambda a: (a * a).mean(), (M,), False),
    "reduction_dim": (lambda T: lambda a: a.sum(dim=1) * a.max(), (M,), False),
    "softmax": (lambda T: lambda a: T.softmax(a, dim=-1), (M,), False),
    "multi_in_out": (lambda T: lambda x, y: (x * y, (x + y).sum(), x.sigmoid()), (X, Y), True),
    "scalar": (lambda T: lambda s: s ** 3 + s.sin(), (S,), False),
    "scalar_to_vector": (lambda T: lambda s, x: s * x + s ** 2, (S, X), True),
    "unused_input": (lambda T: lambda x, y: x.sin() * 2, (X, Y), True),
    "nondiff_output": (lambda T: lambda x: (x * 2, x.detach() + 1), (X,), False),
    "linear": (lambda T: lambda x: 3 * x - 1, (X,), False),
    "view_ops": (lambda T: lambda a: a.t().reshape(-1)[1:4] * a[0, 0], (M,), False),
}


def _inputs(T, arrays, as_tuple, requires_grad):
    tensors = _make(T, arrays, requires_grad)
    return tensors if as_tuple else tensors[0]


def _vectors_like(T, tensors, seed):
    rng = np.random.default_rng(seed)
    return tuple(T.tensor(rng.standard_normal(tuple(t.shape))) for t in tensors)


def _outputs_shapes(name):
    make, arrays, as_tuple = FUNCTIONS[name]
    inputs = _make(torch, arrays, False)
    out = make(torch)(*inputs)
    return out if isinstance(out, tuple) else (out,)


CASES = [(name, cg, rg) for name in FUNCTIONS for cg in (False, True) for rg in (False, True)]


@pytest.mark.parametrize("name,create_graph,requires_grad", CASES)
def test_jacobian_matches_torch(name, create_graph, requires_grad):
    make, arrays, as_tuple = FUNCTIONS[name]

    def program(T, fn):
        return fn.jacobian(make(T), _inputs(T, arrays, as_tuple, requires_grad),
                           create_graph=create_graph)
    _both(program)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_jacobian_vectorize_accepted(name):
    make, arrays, as_tuple = FUNCTIONS[name]
    _both(lambda T, fn: fn.jacobian(make(T), _inputs(T, arrays, as_tuple, False),
                                    vectorize=True))


@pytest.mark.parametrize("name,create_graph,requires_grad", CASES)
def test_vjp_matches_torch(name, create_graph, requires_grad):
    make, arrays, as_tuple = FUNCTIONS[name]
    outs = _outputs_shapes(name)
    out_is_tuple = isinstance(make(torch)(*_make(torch, arrays, False)), tuple)

    def program(T, fn):
        v = _vectors_like(T, outs, 1)
        return fn.vjp(make(T), _inputs(T, arrays, as_tuple, requires_grad),
                      v if out_is_tuple else v[0], create_graph=create_graph)
    _both(program)


@pytest.mark.parametrize("name,create_graph,requires_grad", CASES)
def test_jvp_matches_torch(name, create_graph, requires_grad):
    make, arrays, as_tuple = FUNCTIONS[name]

    def program(T, fn):
        inputs = _make(T, arrays, requires_grad)
        v = _vectors_like(T, inputs, 2)
        return fn.jvp(make(T), inputs if as_tuple else inputs[0], v if as_tuple else v[0],
                      create_graph=create_graph)
    _both(program)


SCALAR_FUNCTIONS = {
    "cubic": (lambda T: lambda x: (x ** 3).sum() + x[0] * x[1] * x[2], (X,), False),
    "cubic_tuple": (lambda T: lambda x: (x ** 3).sum(), (X,), True),
    "two_inputs": (lambda T: lambda x, y: (x.sin() * y.exp()).sum() + (x * x).sum() * y[0],
                   (X, Y), True),
    "matrix": (lambda T: lambda a, b: (a @ b).tanh().pow(2).mean(), (M, W), True),
    "scalar": (lambda T: lambda s: s.exp() * s ** 2, (S,), False),
    "unused": (lambda T: lambda x, y: (x ** 3).sum() * 3, (X, Y), True),
    "quadratic": (lambda T: lambda x: (x * x).sum(), (X,), False),
    "keepdim_scalar": (lambda T: lambda x: (x.exp()).sum(dim=0, keepdim=True), (X,), False),
}
SCASES = [(n, cg, rg) for n in SCALAR_FUNCTIONS for cg in (False, True) for rg in (False, True)]


@pytest.mark.parametrize("name,create_graph,requires_grad", SCASES)
def test_hessian_matches_torch(name, create_graph, requires_grad):
    make, arrays, as_tuple = SCALAR_FUNCTIONS[name]
    _both(lambda T, fn: fn.hessian(make(T), _inputs(T, arrays, as_tuple, requires_grad),
                                   create_graph=create_graph))


@pytest.mark.parametrize("name,create_graph,requires_grad", SCASES)
@pytest.mark.parametrize("api", ["hvp", "vhp"])
def test_hvp_vhp_match_torch(api, name, create_graph, requires_grad):
    make, arrays, as_tuple = SCALAR_FUNCTIONS[name]

    def program(T, fn):
        inputs = _make(T, arrays, requires_grad)
        v = _vectors_like(T, inputs, 3)
        return getattr(fn, api)(make(T), inputs if as_tuple else inputs[0],
                                v if as_tuple else v[0], create_graph=create_graph)
    _both(program)


def test_v_may_be_omitted_for_single_elements():
    s = S
    _both(lambda T, fn: fn.vjp(lambda t: t * 3, T.tensor(s)))
    _both(lambda T, fn: fn.jvp(lambda t: (t * 3, t.exp()), T.tensor(s)))
    _both(lambda T, fn: fn.hvp(lambda t: t ** 4, T.tensor(s)))
    _both(lambda T, fn: fn.vhp(lambda t: t ** 4, T.tensor(s)))
    _both(lambda T, fn: fn.vjp(lambda t: t.sum(), (T.tensor(X),)))


def test_hessian_forward_mode_strategy():
    make, arrays, _ = SCALAR_FUNCTIONS["two_inputs"]
    _both(lambda T, fn: fn.hessian(make(T), _make(T, arrays, False), vectorize=True,
                                   outer_jacobian_strategy="forward-mode"))
    _both(lambda T, fn: fn.hessian(lambda x: (x ** 3).sum(), T.tensor(X), vectorize=True,
                                   outer_jacobian_strategy="forward-mode"))


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("name", ["elementwise", "multi_in_out", "matmul", "scalar_to_vector",
                                  "reduction_mean", "elementwise_tuple"])
def test_jacobian_forward_mode_strategy(name, requires_grad):
    """Values and PyTorch's result containers (forward mode returns lists)."""
    make, arrays, as_tuple = FUNCTIONS[name]
    _both(lambda T, fn: fn.jacobian(make(T), _inputs(T, arrays, as_tuple, requires_grad),
                                    vectorize=True, strategy="forward-mode"))


def test_exposed_like_torch():
    assert chainrule.autograd.functional.hessian is F.hessian
    from chainrule.autograd.functional import jacobian, vjp, jvp, hvp, vhp, hessian
    assert (jacobian, vjp, jvp, hvp, vhp, hessian) == tuple(getattr(F, n) for n in (
        "jacobian", "vjp", "jvp", "hvp", "vhp", "hessian"))
    assert set(F.__all__) == set(torch.autograd.functional.__all__)


def test_inputs_captured_by_closure_are_not_the_inputs():
    """The function sees fresh tensors: a closure over the original input is a constant."""
    def program(T, fn):
        x = T.tensor(X, requires_grad=True)
        return fn.jacobian(lambda t: t * x, x)
    _both(program)


# ---------------------------------------------------------------------------------------------
# Errors, with PyTorch's messages.

def _strict_cases():
    xs = (X, Y)
    cases = {
        "vjp_unused": lambda T, fn: fn.vjp(lambda x, y: x * 2, _make(T, xs, False),
                                           T.tensor(X), strict=True),
        "vjp_nondiff_output": lambda T, fn: fn.vjp(lambda x: x.detach(), T.tensor(X),
                                                   T.tensor(X), strict=True),
        "vjp_linear_create_graph": lambda T, fn: fn.vjp(lambda x: x * 2, T.tensor(X),
                                                        T.tensor(X), strict=True,
                                                        create_graph=True),
        "jvp_unused": lambda T, fn: fn.jvp(lambda x, y: x * 2, _make(T, xs, False),
                                           _make(T, xs, False), strict=True),
        "jvp_nondiff": lambda T, fn: fn.jvp(lambda x: x.detach(), T.tensor(X), T.tensor(X),
                                            strict=True),
        "jacobian_unused": lambda T, fn: fn.jacobian(lambda x, y: x * 2, _make(T, xs, False),
                                                     strict=True),
        "jacobian_linear_create_graph": lambda T, fn: fn.jacobian(
            lambda x: x * 2, T.tensor(X), strict=True, create_graph=True),
        "jacobian_strict_vectorize": lambda T, fn: fn.jacobian(
            lambda x: x * 2, T.tensor(X), strict=True, vectorize=True),
        "hessian_linear": lambda T, fn: fn.hessian(lambda x: (x * 2).sum(), T.tensor(X),
                                                   strict=True),
        "hessian_unused": lambda T, fn: fn.hessian(lambda x, y: (x ** 3).sum(),
                                                   _make(T, xs, False), strict=True),
        "hessian_quadratic_create_graph": lambda T, fn: fn.hessian(
            lambda x: (x * x).sum(), T.tensor(X), strict=True, create_graph=True),
        "vhp_linear": lambda T, fn: fn.vhp(lambda x: (x * 2).sum(), T.tensor(X), T.tensor(X),
                                           strict=True),
        "vhp_unused": lambda T, fn: fn.vhp(lambda x, y: (x ** 3).sum() + y.sum(),
                                           _make(T, xs, False), _make(T, xs, False),
                                           strict=True),
        "hvp_linear": lambda T, fn: fn.hvp(lambda x: (x * 2).sum(), T.tensor(X), T.tensor(X),
                                           strict=True),
        "hvp_unused": lambda T, fn: fn.hvp(lambda x, y: (x ** 3).sum() + y.sum(),
                                           _make(T, xs, False), _make(T, xs, False),
                                           strict=True),
        "hvp_quadratic_create_graph": lambda T, fn: fn.hvp(
            lambda x: (x * x).sum(), T.tensor(X), T.tensor(X), strict=True, create_graph=True),
    }
    return cases


STRICT = _strict_cases()


@pytest.mark.parametrize("name", list(STRICT))
def test_strict_errors_match_torch(name):
    _same_error(STRICT[name])


@pytest.mark.parametrize("name", list(STRICT))
def test_without_strict_the_same_calls_give_zeros_as_torch(name):
    def program(T, fn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _call_without_strict(STRICT[name], T, fn)
    if name == "jacobian_strict_vectorize":
        pytest.skip("the error is about the option pair itself")
    _both(program)


def _call_without_strict(case, T, fn):
    class NoStrict:
        def __getattr__(self, api):
            def call(*args, **kwargs):
                kwargs["strict"] = False
                return getattr(fn, api)(*args, **kwargs)
            return call
    return case(T, NoStrict())


ERRORS = {
    "vjp_v_required": lambda T, fn: fn.vjp(lambda x: x * 2, T.tensor(X)),
    "vjp_v_wrong_size": lambda T, fn: fn.vjp(lambda x: x * 2, T.tensor(X), T.tensor(M)),
    "vjp_v_wrong_length": lambda T, fn: fn.vjp(lambda x: (x, x), T.tensor(X), (T.tensor(X),)),
    "vjp_v_tuple_for_single": lambda T, fn: fn.vjp(lambda x: x, T.tensor(X),
                                                   (T.tensor(X), T.tensor(X))),
    "vjp_v_entry_size": lambda T, fn: fn.vjp(lambda x: (x, x), T.tensor(X),
                                             (T.tensor(X), T.tensor(M))),
    "vjp_v_not_tensor": lambda T, fn: fn.vjp(lambda x: x, T.tensor(X), [1.0, 2.0, 3.0]),
    "jvp_v_required": lambda T, fn: fn.jvp(lambda x: x * 2, T.tensor(X)),
    "jvp_v_wrong_size": lambda T, fn: fn.jvp(lambda x: x * 2, T.tensor(X), T.tensor(M)),
    "inputs_not_tensor": lambda T, fn: fn.jacobian(lambda x: x, [1.0, 2.0]),
    "inputs_tuple_entry": lambda T, fn: fn.jacobian(lambda x, y: x, (T.tensor(X), 3.0)),
    "output_float": lambda T, fn: fn.jacobian(lambda x: 3.0, T.tensor(X)),
    "output_list": lambda T, fn: fn.vjp(lambda x: [x, x], T.tensor(X), T.tensor(X)),
    "output_tuple_entry": lambda T, fn: fn.jvp(lambda x: (x, 2), T.tensor(X), T.tensor(X)),
    "hessian_vector_output": lambda T, fn: fn.hessian(lambda x: x * 2, T.tensor(X)),
    "hessian_tuple_output": lambda T, fn: fn.hessian(lambda x: (x.sum(),), T.tensor(X)),
    "hessian_bad_strategy": lambda T, fn: fn.hessian(lambda x: x.sum(), T.tensor(X),
                                                     outer_jacobian_strategy="nope"),
    "hessian_forward_not_vectorized": lambda T, fn: fn.hessian(
        lambda x: x.sum(), T.tensor(X), outer_jacobian_strategy="forward-mode"),
    "hvp_vector_output": lambda T, fn: fn.hvp(lambda x: x * 2, T.tensor(X), T.tensor(X)),
    "vhp_tuple_output": lambda T, fn: fn.vhp(lambda x: (x.sum(),), T.tensor(X), T.tensor(X)),
    "hvp_v_required": lambda T, fn: fn.hvp(lambda x: x.sum(), T.tensor(X)),
    "vhp_v_wrong_length": lambda T, fn: fn.vhp(lambda x, y: x.sum(), _make(T, (X, Y), False),
                                               (T.tensor(X),)),
    "jacobian_bad_strategy": lambda T, fn: fn.jacobian(lambda x: x, T.tensor(X),
                                                       strategy="sideways"),
    "forward_mode_create_graph": lambda T, fn: fn.jacobian(
        lambda x: x, T.tensor(X), create_graph=True, strategy="forward-mode"),
    "forward_mode_strict": lambda T, fn: fn.jacobian(lambda x: x, T.tensor(X), strict=True,
                                                     strategy="forward-mode"),
    "forward_mode_not_vectorized": lambda T, fn: fn.jacobian(lambda x: x, T.tensor(X),
                                                             strategy="forward-mode"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    _same_error(ERRORS[name])


# ---------------------------------------------------------------------------------------------
# The Hessian of a small MLP's loss with respect to its flattened parameters.

def _mlp_loss(T, flat, x, y):
    w1 = flat[:12].view(3, 4)
    b1 = flat[12:16]
    w2 = flat[16:20].view(4, 1)
    b2 = flat[20:21]
    hidden = T.tanh(x @ w1 + b1)
    return ((hidden @ w2 + b2 - y) ** 2).mean()


def test_hessian_of_mlp_loss_matches_torch_and_finite_differences():
    rng = np.random.default_rng(11)
    flat = rng.standard_normal(21) * 0.5
    x = rng.standard_normal((5, 3))
    y = rng.standard_normal((5, 1))

    def program(T, fn):
        return fn.hessian(lambda p: _mlp_loss(T, p, T.tensor(x), T.tensor(y)), T.tensor(flat))
    ours = _both(program)
    assert ours.shape == (21, 21) and ours.dtype == chainrule.float64
    np.testing.assert_allclose(ours.numpy(), ours.numpy().T, atol=1e-12)

    def gradient(p):
        p = chainrule.tensor(p, requires_grad=True)
        loss = _mlp_loss(chainrule, p, chainrule.tensor(x), chainrule.tensor(y))
        return chainrule.autograd.grad(loss, p)[0].numpy()

    def loss(p):
        return _mlp_loss(chainrule, chainrule.tensor(p), chainrule.tensor(x),
                         chainrule.tensor(y)).item()

    h = 1e-5
    by_gradient = np.stack([(gradient(flat + h * e) - gradient(flat - h * e)) / (2 * h)
                            for e in np.eye(21)], axis=1)
    np.testing.assert_allclose(ours.numpy(), by_gradient, atol=1e-7)
    # Second differences of the loss alone (no backward at all), a coarser check.
    h = 1e-4
    eye = np.eye(21)
    by_loss = np.empty((21, 21))
    for i in range(21):
        for j in range(21):
            ei, ej = h * eye[i], h * eye[j]
            by_loss[i, j] = (loss(flat + ei + ej) - loss(flat + ei - ej) - loss(flat - ei + ej)
                             + loss(flat - ei - ej)) / (4 * h * h)
    np.testing.assert_allclose(ours.numpy(), by_loss, atol=1e-5)
    # hvp and vhp agree with the full Hessian.
    v = rng.standard_normal(21)
    _, hv = F.hvp(lambda p: _mlp_loss(chainrule, p, chainrule.tensor(x), chainrule.tensor(y)),
                  chainrule.tensor(flat), chainrule.tensor(v))
    np.testing.assert_allclose(hv.numpy(), ours.numpy() @ v, atol=1e-12)


def test_hessian_create_graph_gives_third_derivatives():
    def program(T, fn):
        x = T.tensor(X, requires_grad=True)
        h = fn.hessian(lambda t: (t ** 4).sum(), x, create_graph=True)
        (g,) = T.autograd.grad(h.sum(), x)
        return h, g
    _both(program)


def test_grad_mode_is_respected_without_create_graph():
    def program(T, fn):
        x = T.tensor(X, requires_grad=True)
        with T.no_grad():
            out, prod = fn.vjp(lambda t: t.exp(), x, T.tensor(Y))
        return out, prod, T.is_grad_enabled()
    with torch.no_grad():
        pass
    ours = program(chainrule, F)
    assert ours[2] is True


# ---------------------------------------------------------------------------------------------
# gradcheck: backward is called as often, and with the same gradients, as by PyTorch.

def _counting_function(T, log, with_values=True):
    class Fn(T.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            log.append("forward")
            ctx.save_for_backward(x, y)
            return x * y, (x + y).sum(0) * 2

        @staticmethod
        def backward(ctx, g1, g2):
            x, y = ctx.saved_tensors
            if with_values:
                log.append(("backward", tuple(g1.shape), np.round(g1.detach().numpy(), 6).tolist(),
                            np.round(g2.detach().numpy(), 6).tolist()))
            else:
                log.append(("backward", tuple(g1.shape)))
            return g1 * y + 2 * g2, g1 * x + 2 * g2
    return Fn


def _run_gradcheck(T, shape, options, two_outputs=True, with_values=True, seed=0):
    log = []
    Fn = _counting_function(T, log, with_values)
    rng = np.random.default_rng(seed)
    x = T.tensor(rng.standard_normal(shape), requires_grad=True)
    y = T.tensor(rng.standard_normal(shape), requires_grad=True)
    T.manual_seed(5)
    func = Fn.apply if two_outputs else (lambda a, b: Fn.apply(a, b)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = T.autograd.gradcheck(func, (x, y), **options)
    return result, log


GRADCHECK_OPTIONS = [
    {},
    {"check_undefined_grad": False},
    {"fast_mode": True},
    {"fast_mode": True, "check_undefined_grad": False},
    {"nondet_tol": 1e-10},
    {"eps": 1e-4, "atol": 1e-4},
    {"check_grad_dtypes": True},
]


@pytest.mark.parametrize("options", GRADCHECK_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", [(5, 2), (3,), (1, 4), ()], ids=str)
@pytest.mark.parametrize("two_outputs", [True, False])
def test_gradcheck_calls_backward_as_torch(shape, options, two_outputs):
    if shape == () and two_outputs:
        pytest.skip("sum(0) of a 0-dim tensor")
    ours = _run_gradcheck(chainrule, shape, options, two_outputs)
    theirs = _run_gradcheck(torch, shape, options, two_outputs)
    assert ours == theirs


def test_gradcheck_counts_of_the_report():
    """The reported case: one input, a 5x2 output, default arguments."""
    counts = []
    for T in (chainrule, torch):
        calls = []

        class Double(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                calls.append(1)
                return g * 2
        x = T.tensor(np.arange(10.0).reshape(5, 2), requires_grad=True)
        assert T.autograd.gradcheck(Double.apply, (x,))
        counts.append(len(calls))
    assert counts[0] == counts[1] == 22  # 10 rows twice, zero grad_outputs, undefined grads


def test_gradcheck_batched_grad_calls_as_torch():
    ours = _run_gradcheck(chainrule, (3, 2), {"check_batched_grad": True}, with_values=False)
    theirs = _run_gradcheck(torch, (3, 2), {"check_batched_grad": True}, with_values=False)
    assert ours == theirs


@pytest.mark.parametrize("options", [{"check_backward_ad": False},
                                     {"check_batched_grad": True, "check_backward_ad": False,
                                      "check_forward_ad": True},
                                     {"check_batched_forward_grad": True}], ids=str)
def test_gradcheck_option_assertions_as_torch(options):
    def program(T, fn):
        _run_gradcheck(T, (3,), options)
    _same_error(program)


def _failing_messages(T, options):
    class Wrong(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (2 * x + 1)
    c = T.ones(2, dtype=T.float64)
    x = T.tensor([0.5, 2.0], dtype=T.float64, requires_grad=True)
    with pytest.raises(Exception) as info:
        T.autograd.gradcheck(lambda c, b: (c * 2, Wrong.apply(b)), (c, x), **options)
    return str(info.value)


def test_gradcheck_fast_mode_failure_message_matches_torch():
    assert _failing_messages(chainrule, {"fast_mode": True}) == \
        _failing_messages(torch, {"fast_mode": True})


def test_gradcheck_slow_failure_indexes_differentiable_outputs_and_inputs_as_torch():
    ours = _failing_messages(chainrule, {})
    theirs = _failing_messages(torch, {})
    assert ours.startswith(theirs.rstrip("\n"))


def test_gradcheck_no_differentiable_output():
    for T in (chainrule, torch):
        x = T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True)
        assert T.autograd.gradcheck(lambda t: t.detach() * 0 + 1, (x,))
        with pytest.raises(Exception, match="Numerical gradient for function expected to be "
                                            "zero"):
            T.autograd.gradcheck(lambda t: t.detach() * 2, (x,))


def test_gradcheck_not_multiplied_by_grad_output():
    messages = []
    for T in (chainrule, torch):
        class Bad(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x + 1

            @staticmethod
            def backward(ctx, g):
                return g + g.sum() * 0 + (g == 0).to(g.dtype) * 0 + 0 * g + g.abs() * 0 + 1e-30
        x = T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True)
        with pytest.raises(Exception) as info:
            T.autograd.gradcheck(Bad.apply, (x,))
        messages.append(str(info.value))
    assert messages[0] == messages[1] == "backward not multiplied by grad_output"


def test_gradgradcheck_draws_torchs_grad_outputs():
    seen = []
    for T in (chainrule, torch):
        T.manual_seed(3)
        x = T.tensor(X, requires_grad=True)
        assert T.autograd.gradgradcheck(lambda t: t.sin() * t, (x,))
        seen.append(T.rand(2).tolist())
    assert seen[0] == seen[1]
