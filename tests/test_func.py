"""chainrule.func (grad, vjp, jvp, jacrev, jacfwd, hessian, vmap, functional_call,
stack_module_state) against torch.func.

Each case is one function `case(L, *tensors)` written once against the library `L` (torch or
chainrule): it runs under both, on the same random inputs, and the results (values, nesting,
requires_grad) must agree.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import chainrule as cr

DTYPES = {"float64": (torch.float64, cr.float64, 1e-10), "float32": (torch.float32, cr.float32, 1e-5)}


def _to(lib, value, dtype):
    if isinstance(value, np.ndarray):
        return lib.tensor(value, dtype=dtype) if value.dtype.kind == "f" else lib.tensor(value)
    if isinstance(value, dict):
        return {k: _to(lib, v, dtype) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_to(lib, v, dtype) for v in value)
    return value


def _assert_same(ours, theirs, tol, path="result"):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, cr.Tensor), f"{path}: {type(ours)} instead of a tensor"
        assert tuple(ours.shape) == tuple(theirs.shape), path
        assert str(ours.dtype) == str(theirs.dtype), path
        assert ours.requires_grad == theirs.requires_grad, f"{path}: requires_grad"
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(),
                                   rtol=tol, atol=tol, err_msg=path)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), path
        for k in theirs:
            _assert_same(ours[k], theirs[k], tol, f"{path}[{k!r}]")
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), f"{path}: {ours}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same(a, b, tol, f"{path}[{i}]")
    else:
        assert ours == theirs, path


def check(case, *arrays, dtype="float64"):
    """Run case(L, *inputs) under torch and chainrule and compare everything it returns."""
    tdt, cdt, tol = DTYPES[dtype]
    theirs = case(torch, *_to(torch, arrays, tdt))
    ours = case(cr, *_to(cr, arrays, cdt))
    _assert_same(ours, theirs, tol)
    return ours


def same_error(case, *arrays, prefix=None):
    """case raises the same exception type and message under both libraries (or the same
    message up to `prefix` characters, for messages that print PyTorch's internal objects)."""
    caught = []
    for lib, dt in ((torch, torch.float64), (cr, cr.float64)):
        with pytest.raises(Exception) as info:
            case(lib, *_to(lib, arrays, dt))
        caught.append(info.value)
    theirs, ours = caught
    assert type(ours).__name__ == type(theirs).__name__, (ours, theirs)
    n = prefix if prefix is not None else None
    assert str(ours)[:n] == str(theirs)[:n]


def R(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


# ---------------------------------------------------------------------------------------------
# grad and grad_and_value.

def sin_cos(x):
    return (x.sin() * x.cos() + (2 * x).cos().exp()).sum()


def poly(x, y):
    return (x ** 3 * y - y.tanh() * x).sum()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_grad_sin_cos(dtype, shape):
    check(lambda L, x: L.func.grad(sin_cos)(x), R(*shape), dtype=dtype)


@pytest.mark.parametrize("argnums", [0, 1, -1, (0, 1), (1, 0)])
def test_grad_argnums(argnums):
    check(lambda L, x, y: L.func.grad(poly, argnums=argnums)(x, y), R(4), R(4, seed=1))


def test_grad_and_value_and_aux():
    def f(x, y):
        loss = poly(x, y)
        return loss, {"double": loss * 2, "parts": (x * y, y.sin())}

    check(lambda L, x, y: L.func.grad_and_value(f, argnums=(0, 1), has_aux=True)(x, y),
          R(3), R(3, seed=1))
    check(lambda L, x, y: L.func.grad(f, has_aux=True)(x, y), R(3), R(3, seed=1))
    check(lambda L, x, y: L.func.grad_and_value(poly)(x, y), R(3), R(3, seed=1))


def test_grad_of_pytree_argument():
    def loss(params, x):
        return ((x @ params["w"] + params["b"]).tanh() ** 2).mean()

    check(lambda L, w, b, x: L.func.grad(loss)({"w": w, "b": b}, x), R(3, 2), R(2), R(5, 3))
    check(lambda L, w, b, x: L.func.grad(lambda p, x: loss({"w": p[0], "b": p[1]}, x))(
        (w, b), x), R(3, 2), R(2), R(5, 3))
    check(lambda L, w, b, x: L.func.grad(lambda p, x: loss({"w": p[0], "b": p[1]}, x))(
        [w, b], x), R(3, 2), R(2), R(5, 3))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nested_grad_gives_higher_derivatives(dtype):
    def f(x):
        return (x.sin() * x ** 2).sum()

    check(lambda L, x: L.func.grad(lambda x: L.func.grad(f)(x).sum())(x), R(4), dtype=dtype)
    third = lambda L, x: L.func.grad(lambda x: L.func.grad(  # noqa: E731
        lambda x: L.func.grad(lambda x: x.sin().exp())(x))(x))(x)
    check(third, np.array(0.7))


def test_nested_grad_with_closure_is_not_confused():
    # d/dx [x * d/dy (x + y)] = 1: the inner derivative must not see the outer x as its input.
    def f(L, x):
        return L.func.grad(lambda x: x * L.func.grad(lambda y: x + y)(x))(x)

    check(f, np.array(2.0))
    # grad with respect to a variable captured by the inner function
    check(lambda L, x, y: L.func.grad(
        lambda y: L.func.grad(lambda x: (x * y).sin().sum())(x).sum())(y), R(3), R(3, seed=1))


def test_grad_requires_grad_flags_follow_torch():
    def outside_graph(L, x, w):
        x, w = x.requires_grad_(), w.requires_grad_()
        g = L.func.grad(lambda x: (x ** 3).sum())(x)
        closure = L.func.grad(lambda v: (v ** 2 * w).sum())(x.detach())
        with L.no_grad():
            under_no_grad = L.func.grad(lambda v: (v ** 2 * w).sum())(x.detach())
        plain = L.func.grad(lambda v: (v ** 2).sum())(x.detach())
        return g, closure, under_no_grad, plain

    check(outside_graph, R(3), R(3, seed=1))

    def backward_through_grad(L, x):
        x = x.requires_grad_()
        g = L.func.grad(lambda x: (x ** 3).sum())(x)
        g.sum().backward()
        return x.grad

    check(backward_through_grad, R(3))


def test_grad_of_constant_and_integer_paths_is_zero():
    check(lambda L, x: L.func.grad(lambda x: L.tensor(1.0, dtype=x.dtype))(x), R(3))
    check(lambda L, x: L.func.grad(lambda x: (x.detach() * 2).sum())(x), R(3))


def test_grad_errors():
    same_error(lambda L, x: L.func.grad(lambda x: x * 2)(x), R(3))
    same_error(lambda L, x: L.func.grad(lambda x: 2.0)(x), R(3))
    same_error(lambda L, x: L.func.grad(lambda x: x.sum())(3.0), R(3))
    same_error(lambda L, x: L.func.grad(lambda x: x.sum(), argnums=2)(x), R(3))
    same_error(lambda L, x: L.func.grad(lambda x: x.sum(), argnums=-2)(x), R(3))
    same_error(lambda L, x: L.func.grad(lambda x: x.sum(), argnums=())(x), R(3))
    same_error(lambda L, x: L.func.grad(lambda x, y: x.sum(), argnums=(0, 0))(x, x), R(3))
    same_error(lambda L, x: L.func.grad(lambda x: x.sum(), argnums=1.0)(x), R(3))
    same_error(lambda L, x: L.func.grad(lambda x: x.sum(), argnums=(0, "a"))(x), R(3))
    same_error(lambda L, x: L.func.grad(lambda x: x.sum(), has_aux=True)(x), R(3))
    same_error(lambda L, x: L.func.grad(lambda x: (x.sum(), 1), has_aux=True)(x), R(3))
    same_error(lambda L, x: L.func.grad(lambda x: (x * 2).sum())(x.long()), R(3))


# ---------------------------------------------------------------------------------------------
# vjp and jvp.

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_vjp_sin_cos(dtype):
    def case(L, x, v):
        out, vjp_fn = L.func.vjp(lambda x: x.sin().cos(), x)
        return out, vjp_fn(v), vjp_fn(2 * v)

    check(case, R(2, 3), R(2, 3, seed=1), dtype=dtype)


def test_vjp_pytrees_and_aux():
    def case(L, x, y, c):
        out, vjp_fn, aux = L.func.vjp(
            lambda x, y: ({"a": x * y, "b": (x + y.exp(),)}, [x.sum()]), x, y, has_aux=True)
        return out, vjp_fn({"a": c, "b": (c.cos(),)}), aux

    check(case, R(3), R(3, seed=1), R(3, seed=2))


def test_vjp_of_vjp_and_under_grad():
    # the vjp function is differentiable: grad through it gives a Hessian-vector product
    def case(L, x, v):
        def g(x):
            _, vjp_fn = L.func.vjp(lambda x: (x ** 3).sin(), x)
            return (vjp_fn(v)[0] * x).sum()
        return L.func.grad(g)(x)

    check(case, R(3), R(3, seed=1))


def test_vjp_errors():
    def call(L, x, cot):
        return L.func.vjp(lambda x: x.sin(), x)[1](cot)

    same_error(call, R(3), R(2))
    same_error(lambda L, x: L.func.vjp(lambda x: x.sin(), x)[1]((x,)), R(3))
    same_error(lambda L, x: L.func.vjp(lambda x: 1.0, x), R(3))
    same_error(lambda L, x: L.func.vjp(lambda x: x, 1.0), R(3))
    same_error(lambda L, x: L.func.vjp(lambda x: x, x, has_aux=True), R(3))
    same_error(lambda L, x: L.func.vjp(lambda x: (x > 0).long(), x), R(3))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_jvp_sin_cos(dtype):
    check(lambda L, x, t: L.func.jvp(lambda x: x.sin().cos() * x, (x,), (t,)),
          R(2, 3), R(2, 3, seed=1), dtype=dtype)


def test_jvp_several_inputs_outputs_and_aux():
    def f(x, y):
        return (x * y.sin(), (x @ y).tanh()), {"aux": x.exp()}

    check(lambda L, x, y, tx, ty: L.func.jvp(f, (x, y), (tx, ty), has_aux=True),
          R(3, 3), R(3, 3, seed=1), R(3, 3, seed=2), R(3, 3, seed=3))
    # a linear function and an output independent of the input
    check(lambda L, x, t: L.func.jvp(lambda x: (2 * x, L.ones(2, dtype=x.dtype)), (x,), (t,)),
          R(2), R(2, seed=1))


def test_jvp_errors():
    same_error(lambda L, x: L.func.jvp(lambda x: x, x, x), R(3))
    same_error(lambda L, x: L.func.jvp(lambda x: x, (x,), (x, x)), R(3), prefix=143)
    same_error(lambda L, x: L.func.jvp(lambda x: x, (x,), [x]), R(3), prefix=143)
    same_error(lambda L, x: L.func.jvp(lambda x: x, (x,), (x[:2],)), R(3))
    same_error(lambda L, x: L.func.jvp(lambda x: 1.0, (x,), (x,)), R(3))
    same_error(lambda L, x: L.func.jvp(lambda x: x, (), ()), R(3))
    same_error(lambda L, x: L.func.jvp(lambda x: x, (1.0,), (1.0,)), R(3))
    check(lambda L, x, t: L.func.jvp(lambda p: p[0] * p[1], ((x, x),), ((t, x),)), R(2), R(2))


# ---------------------------------------------------------------------------------------------
# Jacobians and Hessians.

def mlp(params, x):
    w1, b1, w2, b2 = params
    return ((x @ w1 + b1).tanh() @ w2 + b2).sin()


MLP = (R(3, 4), R(4, seed=1), R(4, 2, seed=2), R(2, seed=3))


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_jacobian_of_small_mlp(jac, dtype):
    def case(L, x, *params):
        return getattr(L.func, jac)(mlp, argnums=(0, 1))(params, x)

    check(case, R(5, 3, seed=4), *MLP, dtype=dtype)
    check(lambda L, x: getattr(L.func, jac)(lambda x: x.sin().cumsum(0))(x), R(2, 3))


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_jacobian_pytrees_and_aux(jac):
    def f(x, y):
        return {"a": x * y, "b": (x.sum(), y.exp())}, x.cos()

    check(lambda L, x, y: getattr(L.func, jac)(f, argnums=(0, 1), has_aux=True)(x, y),
          R(3), R(3, seed=1))
    check(lambda L, x: getattr(L.func, jac)(lambda d: d["w"].sin())({"w": x}), R(3))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hessian_of_mlp_loss(dtype):
    def loss(x, *params):
        return mlp(params, x).pow(2).sum()

    check(lambda L, x, *p: L.func.hessian(loss)(x, *p), R(2, 3, seed=4), *MLP, dtype=dtype)
    check(lambda L, x, *p: L.func.hessian(loss, argnums=(1, 2))(x, *p), R(2, 3, seed=4), *MLP,
          dtype=dtype)
    # the tutorial's two spellings of the Hessian agree
    check(lambda L, x: L.func.jacfwd(L.func.jacrev(lambda x: x.sin().sum()))(x), R(4))
    check(lambda L, x: L.func.jacrev(L.func.jacrev(lambda x: (x.sin() * x).sum()))(x), R(4))


def test_hessian_vector_products_by_composition():
    def f(x):
        return (x.sin() * x.exp()).sum()

    def hvp_revrev(L, x, v):
        return L.func.grad(lambda x: L.func.vjp(L.func.grad(f), x)[1](v)[0].sum())(x)

    def hvp_fwdrev(L, x, v):
        return L.func.jvp(L.func.grad(f), (x,), (v,))[1]

    check(hvp_revrev, R(4), R(4, seed=1))
    check(hvp_fwdrev, R(4), R(4, seed=1))


def test_jacobian_errors():
    same_error(lambda L, x: L.func.jacrev(lambda x: 1.0)(x), R(3))
    same_error(lambda L, x: L.func.jacfwd(lambda x: 1.0)(x), R(3))
    same_error(lambda L, x: L.func.jacrev(lambda x: x, argnums=3)(x), R(3))
    same_error(lambda L, x: L.func.jacrev(lambda x: x, chunk_size=0)(x), R(3))


# ---------------------------------------------------------------------------------------------
# vmap.

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_vmap_in_dims(dtype):
    check(lambda L, x, y: L.vmap(L.dot)(x, y), R(4, 3), R(4, 3, seed=1), dtype=dtype)
    check(lambda L, x, y: L.vmap(L.mv, in_dims=(None, 0))(x, y), R(2, 3), R(5, 3), dtype=dtype)
    check(lambda L, x, y: L.vmap(lambda a, b: a * b.sum(), in_dims=(1, -1))(x, y),
          R(2, 4), R(3, 4), dtype=dtype)
    check(lambda L, x: L.vmap(lambda a, k: a * k, in_dims=(0, None))(x, 3.0), R(4, 2))


def test_vmap_pytrees_in_and_out():
    def f(d, pair):
        return {"s": d["a"] + pair[0], "t": [d["b"] * pair[1], d["a"].sum()]}

    check(lambda L, a, b, c, e: L.vmap(f, in_dims=({"a": 0, "b": None}, (1, None)))(
        {"a": a, "b": b}, (c, e)), R(4, 2), R(2), R(2, 4), R(2, seed=1))
    check(lambda L, a, b: L.vmap(lambda t: (t[0] * t[1], t[0]), in_dims=((0, 0),))((a, b)),
          R(3, 2), R(3, 2, seed=1))
    check(lambda L, a, b: L.vmap(lambda l: l[0] - l[1], in_dims=([0, 1],))([a, b]),
          R(3, 2), R(2, 3, seed=1))


def test_vmap_out_dims():
    check(lambda L, x: L.vmap(lambda t: t.outer(t), out_dims=1)(x), R(4, 3))
    check(lambda L, x: L.vmap(lambda t: t.outer(t), out_dims=-1)(x), R(4, 3))
    check(lambda L, x: L.vmap(lambda t: (t * 2, t.sum()), out_dims=(1, 0))(x), R(4, 3))
    check(lambda L, x: L.vmap(lambda t: (t, L.ones(2, dtype=t.dtype)), out_dims=(0, None))(x),
          R(4, 3))
    check(lambda L, x: L.vmap(lambda t: t.exp(), out_dims=(1,))(x), R(4, 3))
    check(lambda L, x: L.vmap(lambda t: L.ones(2, dtype=t.dtype))(x), R(4, 3))


def test_nested_vmap():
    check(lambda L, x, y: L.vmap(L.vmap(L.dot, in_dims=(0, None)), in_dims=(None, 0))(x, y),
          R(3, 4), R(5, 4, seed=1))
    check(lambda L, x: L.vmap(L.vmap(lambda t: t.sin() * t.sum(), in_dims=1))(x), R(2, 3, 4))


def test_vmap_gradients_flow_to_inputs():
    def case(L, x, w):
        x, w = x.requires_grad_(), w.requires_grad_()
        out = L.vmap(lambda row: (row * w).sin().sum(), in_dims=0)(x)
        out.pow(2).sum().backward()
        return out, x.grad, w.grad

    check(case, R(4, 3), R(3, seed=1))


def test_vmap_randomness():
    def same(L, x):
        L.manual_seed(0)
        return L.vmap(lambda t: t + L.rand(3, dtype=t.dtype), randomness="same")(x)

    out = check(same, np.zeros((4, 3)))
    assert np.allclose(out[0].numpy(), out[1].numpy())
    cr.manual_seed(0)
    out = cr.vmap(lambda t: t + cr.rand(3), randomness="different")(cr.zeros(4, 3))
    assert not np.allclose(out[0].numpy(), out[1].numpy())
    same_error(lambda L, x: L.vmap(lambda t: t + L.rand(3, dtype=t.dtype))(x), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda t: t, randomness="foo")(x), R(2, 3))


def test_vmap_errors():
    same_error(lambda L, x, y: L.vmap(lambda a, b: a + b)(x, y), R(2, 3), R(3, 3))
    same_error(lambda L, x: L.vmap(lambda a: a, in_dims=[0])(x), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda a: a, in_dims=None)(x), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda a: a, in_dims=0.5)(x), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda a: a, in_dims=2)(x), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda a: a, in_dims=(0, 0))(x), R(2, 3), prefix=90)
    same_error(lambda L, x: L.vmap(lambda a: a)(3.0), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda a: a, in_dims=(None,))(x), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda: x)(), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda a: 1.0)(x), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda a: None)(x), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda a: a, out_dims=None)(x), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda a: a, out_dims=(0, 1))(x), R(2, 3), prefix=90)
    same_error(lambda L, x: L.vmap(lambda a: a, out_dims="x")(x), R(2, 3))
    same_error(lambda L, x: L.vmap(lambda a: a, chunk_size=0)(x), R(2, 3))


def test_vmap_of_empty_batch_and_chunks():
    check(lambda L, x: L.vmap(lambda t: t.sum())(x), np.zeros((0, 3)))
    check(lambda L, x: L.vmap(lambda t: t.outer(t), chunk_size=2)(x), R(5, 3))


@given(st.integers(1, 4), st.integers(0, 2), st.integers(1, 3), st.integers(1, 3),
       st.sampled_from(["float32", "float64"]))
def test_vmap_matches_torch_on_random_shapes(batch, dim, a, b, dtype):
    shape = [a, b]
    shape.insert(dim, batch)
    x = np.random.default_rng(batch * 100 + dim * 10 + a + b).standard_normal(shape)
    check(lambda L, x: L.vmap(lambda t: (t.sin() @ t.T.cos()).softmax(-1), in_dims=dim)(x),
          x, dtype=dtype)
    check(lambda L, x: L.vmap(L.func.grad(lambda t: (t.exp() * t).sum()), in_dims=dim)(x),
          x, dtype=dtype)


@given(st.lists(st.floats(-2, 2), min_size=1, max_size=5))
def test_grad_and_hessian_match_torch_hypothesis(values):
    x = np.array(values)
    check(lambda L, x: L.func.grad(lambda t: (t.sin() * t.cos().exp()).sum())(x), x)
    check(lambda L, x: L.func.hessian(lambda t: (t ** 2 * t.sin()).sum())(x), x)


# ---------------------------------------------------------------------------------------------
# functional_call, stack_module_state and the tutorials' patterns.

def make_model(L, arrays):
    """A small MLP whose parameters are the given arrays (same weights in both libraries)."""
    model = L.nn.Sequential(L.nn.Linear(3, 4), L.nn.Tanh(), L.nn.Linear(4, 2)).double()
    with L.no_grad():
        for p, a in zip(model.parameters(), arrays):
            p.copy_(L.tensor(a, dtype=p.dtype))
    return model


WEIGHTS = (R(4, 3, seed=10), R(4, seed=11), R(2, 4, seed=12), R(2, seed=13))


def test_functional_call_replaces_and_restores():
    def case(L, x, w):
        model = make_model(L, WEIGHTS)
        original = model[0].weight
        out = L.func.functional_call(model, {"0.weight": w}, (x,))
        out2 = L.func.functional_call(model, ({"0.weight": w}, {"2.bias": w[0, :2]}), x)
        assert model[0].weight is original
        return out, out2, model(x)

    check(case, R(5, 3), R(4, 3, seed=3))


def test_functional_call_restores_after_error():
    def fail(x):
        raise ValueError("boom")

    model = make_model(cr, WEIGHTS)
    model.register_forward_pre_hook(lambda m, args: fail(args))
    before = dict(model.named_parameters())
    with pytest.raises(ValueError, match="boom"):
        cr.func.functional_call(model, {"0.weight": cr.zeros(4, 3), "extra": cr.ones(1)},
                                (cr.ones(3),))
    assert dict(model.named_parameters()) == before
    assert not hasattr(model, "extra")


def test_functional_call_gradients_and_kwargs():
    def case(L, x, w, b):
        w, b = w.requires_grad_(), b.requires_grad_()
        model = L.nn.Linear(3, 2).double()
        out = L.func.functional_call(model, {"weight": w, "bias": b}, args=(), kwargs={"input": x})
        out.sin().sum().backward()
        return out, w.grad, b.grad, model.weight.grad

    check(case, R(5, 3), R(2, 3), R(2))


class Tied:
    """A module with one parameter under two names (built for either library)."""

    @staticmethod
    def make(L):
        class TiedNet(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = L.nn.Linear(2, 2, bias=False)
                self.b = L.nn.Linear(2, 2, bias=False)
                self.b.weight = self.a.weight
                self.double()

            def forward(self, x):
                return self.b(self.a(x))
        return TiedNet()


def test_functional_call_tie_weights_and_strict():
    def tied(L, x, w, w2):
        net = Tied.make(L)
        return (L.func.functional_call(net, {"a.weight": w}, (x,)),
                L.func.functional_call(net, {"a.weight": w}, (x,), tie_weights=False)
                .shape[0])

    check(tied, R(3, 2), R(2, 2), R(2, 2, seed=1))
    same_error(lambda L, x, w, w2: L.func.functional_call(
        Tied.make(L), {"a.weight": w, "b.weight": w2}, (x,)), R(3, 2), R(2, 2), R(2, 2, seed=1))
    same_error(lambda L, x: L.func.functional_call(
        L.nn.Linear(3, 2).double(), {"weight": x, "bogus": x}, (x,), strict=True), R(2, 3))
    same_error(lambda L, x: L.func.functional_call(
        L.nn.Linear(3, 2), ({"weight": x}, {"weight": x}), (x,)), R(2, 3))
    same_error(lambda L, x: L.func.functional_call(L.nn.Linear(3, 2), [x], (x,)), R(2, 3))
    same_error(lambda L, x: L.func.functional_call(L.nn.Linear(3, 2), 3, (x,)), R(2, 3))


def test_per_sample_gradients_tutorial():
    def case(L, data, targets):
        model = make_model(L, WEIGHTS)
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def compute_loss(params, buffers, sample, target):
            batch, targets = sample.unsqueeze(0), target.unsqueeze(0)
            predictions = L.func.functional_call(model, (params, buffers), (batch,))
            return L.nn.functional.cross_entropy(predictions, targets)

        ft_grads = L.func.vmap(L.func.grad(compute_loss), in_dims=(None, None, 0, 0))(
            params, buffers, data, targets)
        # the same gradients one sample at a time with ordinary backward
        loop = []
        for i in range(data.shape[0]):
            model.zero_grad()
            L.nn.functional.cross_entropy(model(data[i:i + 1]), targets[i:i + 1]).backward()
            loop.append([p.grad.clone() for p in model.parameters()])
        return ft_grads, loop

    ours = check(case, R(6, 3, seed=5), np.array([0, 1, 1, 0, 1, 0]))
    for name, per_sample in ours[0].items():
        k = list(ours[0]).index(name)
        for i, grads in enumerate(ours[1]):
            np.testing.assert_allclose(per_sample[i].numpy(), grads[k].numpy(), atol=1e-12)


def test_model_ensembling_tutorial():
    def case(L, x):
        models = [make_model(L, [w * (i + 1) for w in WEIGHTS]) for i in range(3)]
        params, buffers = L.func.stack_module_state(models)
        base = models[0]

        def fmodel(params, buffers, x):
            return L.func.functional_call(base, (params, buffers), (x,))

        same_batch = L.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
        per_model = L.vmap(fmodel)(params, buffers, x.expand(3, *x.shape))
        loss = same_batch.pow(2).sum()
        loss.backward()
        return params, same_batch, per_model, params["0.weight"].grad, [m(x) for m in models]

    check(case, R(5, 3))


def test_stack_module_state_errors():
    same_error(lambda L: L.func.stack_module_state([]))
    same_error(lambda L: L.func.stack_module_state([L.nn.Linear(2, 2), L.nn.Linear(2, 2).eval()]))
    same_error(lambda L: L.func.stack_module_state([L.nn.Linear(2, 2), L.nn.Tanh()]))

    def mixed(L):
        a, b = L.nn.Linear(2, 2), L.nn.Linear(2, 2)
        b.weight.requires_grad_(False)
        return L.func.stack_module_state([a, b])

    same_error(mixed)


def test_exposed_as_in_torch():
    import chainrule.func
    import chainrule.func as F

    assert cr.vmap is F.vmap and chainrule.func is cr.func
    for name in torch.func.__all__:
        if name in ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian",
                    "vmap", "functional_call", "stack_module_state"):
            assert hasattr(F, name), name
