"""kl_divergence against torch for every pair both libraries implement, with gradients."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule  # noqa: E402

R = np.random.default_rng(1)
COV1 = np.array([[2.0, 0.3], [0.3, 1.0]])
COV2 = np.array([[1.0, -0.4], [-0.4, 0.8]])

# builders: (m, t) -> distribution, t(array) making a float64 leaf
MAKE = {
    "Normal": lambda m, t, k: m.distributions.Normal(t(R.normal(size=3)), t(R.uniform(.5, 2, 3))),
    "Laplace": lambda m, t, k: m.distributions.Laplace(t(R.normal(size=3)),
                                                       t(R.uniform(.5, 2, 3))),
    "Uniform": lambda m, t, k: m.distributions.Uniform(t(np.array([.1, -1., .2]) - .05 * k),
                                                       t(np.array([.6, 2., .9]) + .05 * k)),
    "Exponential": lambda m, t, k: m.distributions.Exponential(t(R.uniform(.5, 2, 3))),
    "Bernoulli": lambda m, t, k: m.distributions.Bernoulli(t(np.array([.2, .7, 0., 1.]))
                                                           if k == 0 else t(R.uniform(.1, .9, 4))),
    "Categorical": lambda m, t, k: m.distributions.Categorical(
        t(np.array([[.2, .3, .5], [0., .5, .5]]) if k == 0 else R.uniform(.1, 1, (2, 3)))),
    "OneHotCategorical": lambda m, t, k: m.distributions.OneHotCategorical(
        logits=t(R.normal(size=(2, 3)))),
    "Beta": lambda m, t, k: m.distributions.Beta(t(R.uniform(.5, 3, 3)), t(R.uniform(.5, 3, 3))),
    "Dirichlet": lambda m, t, k: m.distributions.Dirichlet(t(R.uniform(.5, 3, (2, 3)))),
    "MultivariateNormal": lambda m, t, k: m.distributions.MultivariateNormal(
        t(R.normal(size=(2, 2))), t([COV1, COV2][k])),
    "Independent": lambda m, t, k: m.distributions.Independent(
        m.distributions.Normal(t(R.normal(size=(2, 3))), t(R.uniform(.5, 2, (2, 3)))), 1),
}
PAIRS = [(n, n) for n in MAKE] + [
    ("Normal", "Laplace"), ("Laplace", "Normal"), ("Exponential", "Normal"),
    ("Uniform", "Normal"), ("Uniform", "Exponential"), ("Uniform", "Beta"), ("Beta", "Normal"),
    ("Beta", "Exponential"), ("Beta", "Uniform"), ("Normal", "Uniform"), ("Laplace", "Beta"),
    ("Exponential", "Uniform"), ("Normal", "Exponential")]


def _kl(m, p_name, q_name, seed):
    global R
    leaves = []

    def t(a):
        x = m.tensor(np.asarray(a, dtype="float64"), requires_grad=True)
        leaves.append(x)
        return x
    R = np.random.default_rng(seed)
    p, q = MAKE[p_name](m, t, 0), MAKE[q_name](m, t, 1)
    kl = m.distributions.kl_divergence(p, q)
    finite = m.where(m.isfinite(kl), kl, m.zeros_like(kl))
    if not kl.requires_grad:  # the pairs whose KL is infinite everywhere
        return kl, [None] * len(leaves)
    grads = m.autograd.grad(finite.sum(), leaves, allow_unused=True)
    return kl, grads


@pytest.mark.parametrize("p,q", PAIRS)
def test_kl_matches_torch(p, q):
    ke, ge = _kl(torch, p, q, 3)
    kg, gg = _kl(chainrule, p, q, 3)
    np.testing.assert_allclose(kg.detach().numpy(), ke.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert tuple(kg.shape) == tuple(ke.shape)
    for e, g in zip(ge, gg):
        assert (e is None) == (g is None)
        if e is not None:
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-8, atol=1e-11)


def test_missing_pair_and_cross_family_errors():
    for m in (torch, chainrule):
        D = m.distributions
        with pytest.raises(NotImplementedError) as e:
            D.kl_divergence(D.Categorical(m.ones(3)), D.Normal(0.0, 1.0))
        if m is torch:
            expected = str(e.value)
        with pytest.raises(NotImplementedError) as e:
            D.kl_divergence(D.Bernoulli(0.3), D.Normal(0.0, 1.0))
        if m is torch:
            expected_cross = str(e.value)
    assert str(e.value) == expected_cross
    with pytest.raises(NotImplementedError) as e:
        chainrule.distributions.kl_divergence(chainrule.distributions.Categorical(
            chainrule.ones(3)), chainrule.distributions.Normal(0.0, 1.0))
    assert str(e.value) == expected


def test_register_kl_for_a_subclass_takes_precedence():
    D = chainrule.distributions

    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return chainrule.tensor(42.0)

    try:
        assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 2.0)).item() == 42.0
        assert D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(0.0, 2.0)).item() != 42.0
    finally:
        from chainrule.distributions import kl
        del kl._REGISTRY[MyNormal, D.Normal]
        kl._CACHE.clear()
    with pytest.raises(TypeError):
        D.register_kl(int, D.Normal)
