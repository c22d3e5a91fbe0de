"""nn.init against PyTorch: gains and fans exactly, random fills by their bounds and moments
(bit-exact draws are checked once chainrule's RNG matches torch's), errors, no history."""
import math
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

init, t_init = cr.nn.init, torch.nn.init

GAIN_CASES = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
              ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 3),
              ("leaky_relu", math.sqrt(5)), ("selu", None)]


@pytest.mark.parametrize("nonlinearity,param", GAIN_CASES)
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == t_init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("bad", [("softmax", None), ("leaky_relu", True), ("leaky_relu", "x")])
def test_calculate_gain_errors_match_torch(bad):
    with pytest.raises(ValueError) as t_err:
        t_init.calculate_gain(*bad)
    with pytest.raises(ValueError) as c_err:
        init.calculate_gain(*bad)
    assert str(c_err.value) == str(t_err.value)


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3), (6, 3, 2, 2), (1, 1)])
def test_fans_match_torch(shape):
    assert (init._calculate_fan_in_and_fan_out(cr.empty(*shape))
            == t_init._calculate_fan_in_and_fan_out(torch.empty(*shape)))


def test_fan_errors_match_torch():
    with pytest.raises(ValueError) as t_err:
        t_init.xavier_uniform_(torch.empty(3))
    with pytest.raises(ValueError) as c_err:
        init.xavier_uniform_(cr.empty(3))
    assert str(c_err.value) == str(t_err.value)
    with pytest.raises(ValueError) as t_err:
        t_init.kaiming_normal_(torch.empty(3, 4), mode="fan_avg")
    with pytest.raises(ValueError) as c_err:
        init.kaiming_normal_(cr.empty(3, 4), mode="fan_avg")
    assert str(c_err.value) == str(t_err.value)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(cr.empty(2, 2, 2))


def test_deterministic_fills_match_torch():
    for c_fill, t_fill in [(lambda t: init.constant_(t, 0.25), lambda t: t_init.constant_(t, 0.25)),
                           (init.zeros_, t_init.zeros_), (init.ones_, t_init.ones_),
                           (init.eye_, t_init.eye_)]:
        c, t = cr.empty(3, 4), torch.empty(3, 4)
        assert c_fill(c) is c
        np.testing.assert_array_equal(c.numpy(), t_fill(t).numpy())


def _bound_and_std(name, shape, **kw):
    """The bound (uniform) or std (normal) PyTorch's formula gives for this init."""
    fan_in, fan_out = t_init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    if name == "xavier_uniform_":
        return kw.get("gain", 1.0) * math.sqrt(6.0 / (fan_in + fan_out)), None
    if name == "xavier_normal_":
        return None, kw.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    fan = fan_in if kw.get("mode", "fan_in") == "fan_in" else fan_out
    gain = t_init.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0))
    if name == "kaiming_uniform_":
        return gain * math.sqrt(3.0 / fan), None
    return None, gain / math.sqrt(fan)


RANDOM_CASES = [
    ("xavier_uniform_", {}), ("xavier_uniform_", {"gain": 2.0}), ("xavier_normal_", {}),
    ("xavier_normal_", {"gain": 0.5}), ("kaiming_uniform_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {}), ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "tanh"}),
]


@pytest.mark.parametrize("name,kw", RANDOM_CASES, ids=[f"{n}{k}" for n, k in RANDOM_CASES])
def test_random_fills_have_torchs_distribution(name, kw):
    shape = (300, 200)
    cr.manual_seed(0)
    w = cr.empty(*shape, requires_grad=True)
    out = getattr(init, name)(w, **kw)
    assert out is w and w.is_leaf and w.requires_grad and w.grad_fn is None
    values = w.detach().numpy()
    bound, std = _bound_and_std(name, shape, **kw)
    if bound is not None:
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
        std = bound / math.sqrt(3.0)
    assert abs(values.std() - std) < 0.02 * std  # 60,000 samples: > 5 standard errors
    assert abs(values.mean()) < 0.02 * std


def test_uniform_and_normal_fill_with_the_given_parameters_and_generator():
    w = cr.empty(20000)
    init.uniform_(w, -2.0, 3.0)
    assert w.min().item() >= -2.0 and w.max().item() < 3.0
    assert abs(w.mean().item() - 0.5) < 0.05
    init.normal_(w, 1.0, 0.5)
    assert abs(w.mean().item() - 1.0) < 0.02 and abs(w.std().item() - 0.5) < 0.02
    gen_a, gen_b = cr.Generator().manual_seed(7), cr.Generator().manual_seed(7)
    a, b = init.uniform_(cr.empty(5), generator=gen_a), init.uniform_(cr.empty(5), generator=gen_b)
    assert a.tolist() == b.tolist()


def test_trunc_normal_stays_in_bounds_and_matches_the_truncated_moments():
    w = init.trunc_normal_(cr.empty(40000, dtype=cr.float64), mean=0.5, std=1.0, a=-1.0, b=1.5)
    values = w.numpy()
    assert values.min() >= -1.0 and values.max() <= 1.5
    # the mean of N(0.5, 1) truncated to [-1, 1.5]: mu + (phi(alpha) - phi(beta)) / Z
    alpha, beta = -1.5, 1.0
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    expected_mean = 0.5 + (phi(alpha) - phi(beta)) / (cdf(beta) - cdf(alpha))
    assert abs(values.mean() - expected_mean) < 0.02


def test_orthogonal_gives_orthonormal_rows_or_columns():
    for shape in [(4, 6), (6, 4), (3, 2, 2)]:
        w = init.orthogonal_(cr.empty(*shape, dtype=cr.float64), gain=2.0)
        flat = w.numpy().reshape(shape[0], -1)
        gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
        np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-12)


def test_kaiming_on_an_empty_tensor_warns_and_is_a_no_op():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        w = cr.empty(0, 3)
        assert init.kaiming_uniform_(w) is w
    assert [str(c.message) for c in caught] == ["Initializing zero-element tensors is a no-op"]


def test_init_runs_under_no_grad_on_parameters():
    lin = cr.nn.Linear(3, 2)
    for fill in (init.xavier_normal_, init.kaiming_uniform_, init.zeros_, init.eye_):
        fill(lin.weight)
        assert lin.weight.grad_fn is None and lin.weight.requires_grad


EXACT_CASES = RANDOM_CASES + [
    ("uniform_", {"a": -0.5, "b": 2.0}), ("normal_", {"mean": 1.0, "std": 0.3}),
    ("trunc_normal_", {}), ("trunc_normal_", {"mean": 0.5, "std": 1.0, "a": -1.0, "b": 1.5}),
    ("trunc_normal_", {"a": 1.5, "b": 3.0}), ("trunc_normal_", {"std": 2.0, "a": -0.1, "b": 0.1}),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kw", EXACT_CASES, ids=[f"{n}{k}" for n, k in EXACT_CASES])
def test_random_fills_are_torchs_under_the_same_seed(name, kw, dtype):
    c_dtype = cr.float32 if dtype == torch.float32 else cr.float64
    torch.manual_seed(0)
    cr.manual_seed(0)
    t = getattr(t_init, name)(torch.empty(40, 30, dtype=dtype), **kw)
    c = getattr(init, name)(cr.empty(40, 30, dtype=c_dtype), **kw)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    assert cr.rand(3).tolist() == torch.rand(3).tolist()  # and the streams stay in step


def test_orthogonal_matches_torch_under_the_same_seed():
    torch.manual_seed(1)
    cr.manual_seed(1)
    for shape in [(4, 6), (6, 4), (3, 2, 2)]:
        t = t_init.orthogonal_(torch.empty(*shape, dtype=torch.float64), gain=1.5)
        c = init.orthogonal_(cr.empty(*shape, dtype=cr.float64), gain=1.5)
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)
