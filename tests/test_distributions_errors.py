"""Validation: invalid parameters and values raise PyTorch's exceptions with PyTorch's texts."""
import pytest

torch = pytest.importorskip("torch")

import chainrule  # noqa: E402

BAD = [
    lambda m: m.distributions.Normal(0.0, -1.0),
    lambda m: m.distributions.Normal(m.tensor([0.0, 1.0]), m.tensor([1.0, 0.0])),
    lambda m: m.distributions.Normal(m.tensor([0.0, float("nan")]), 1.0),
    lambda m: m.distributions.Laplace(0.0, m.tensor([-2.0])),
    lambda m: m.distributions.Uniform(2.0, 1.0),
    lambda m: m.distributions.Exponential(m.tensor([1.0, -1.0])),
    lambda m: m.distributions.Bernoulli(m.tensor([0.5, 1.5])),
    lambda m: m.distributions.Bernoulli(probs=0.5, logits=0.0),
    lambda m: m.distributions.Bernoulli(),
    lambda m: m.distributions.Categorical(m.tensor([0.5, -0.5, 1.0])),
    lambda m: m.distributions.Categorical(m.tensor(1.0)),
    lambda m: m.distributions.Categorical(logits=m.tensor(1.0)),
    lambda m: m.distributions.Categorical(logits=m.tensor([0.0, float("nan")])),
    lambda m: m.distributions.OneHotCategorical(m.tensor([[0.5, -0.5]])),
    lambda m: m.distributions.Beta(-1.0, 1.0),
    lambda m: m.distributions.Beta(m.tensor([1.0, 2.0]), m.tensor([0.0, 1.0])),
    lambda m: m.distributions.Dirichlet(m.tensor([1.0, -2.0])),
    lambda m: m.distributions.MultivariateNormal(m.zeros(2), m.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda m: m.distributions.MultivariateNormal(m.zeros(2), m.tensor([[1.0, 0.5], [0.0, 1.0]])),
    lambda m: m.distributions.MultivariateNormal(m.zeros(2), scale_tril=m.tensor([[1.0, 1.0],
                                                                                [0.0, 1.0]])),
    lambda m: m.distributions.MultivariateNormal(m.zeros(2), scale_tril=m.eye(2), 
                                                 covariance_matrix=m.eye(2)),
    lambda m: m.distributions.MultivariateNormal(m.tensor(0.0), m.eye(2)),
    lambda m: m.distributions.MultivariateNormal(m.zeros(2), m.ones(2)),
    lambda m: m.distributions.Normal(0.0, 1.0).log_prob(1.0),
    lambda m: m.distributions.Normal(m.zeros(3), 1.0).log_prob(m.zeros(2)),
    lambda m: m.distributions.MultivariateNormal(m.zeros(2), m.eye(2)).log_prob(m.zeros(3)),
    lambda m: m.distributions.Exponential(1.0).log_prob(m.tensor([-1.0, 2.0])),
    lambda m: m.distributions.Uniform(0.0, 1.0).log_prob(m.tensor([0.5, 1.5])),
    lambda m: m.distributions.Bernoulli(0.3).log_prob(m.tensor([0.5])),
    lambda m: m.distributions.Categorical(m.ones(3)).log_prob(m.tensor([3])),
    lambda m: m.distributions.Beta(2.0, 2.0).log_prob(m.tensor([1.5])),
    lambda m: m.distributions.OneHotCategorical(m.ones(3)).log_prob(m.tensor([1.0, 1.0, 0.0])),
    lambda m: m.distributions.Independent(m.distributions.Normal(m.zeros(3), 1.0), 2),
    lambda m: m.distributions.Distribution.set_default_validate_args(2),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_error_type_and_message_match_torch(i):
    with pytest.raises(Exception) as theirs:
        BAD[i](torch)
    with pytest.raises(Exception) as ours:
        BAD[i](chainrule)
    assert type(ours.value).__name__ == type(theirs.value).__name__
    assert str(ours.value) == str(theirs.value)


def test_validation_can_be_turned_off():
    D = chainrule.distributions
    assert D.Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(0.0, -1.0)
        lp = D.Exponential(1.0).log_prob(chainrule.tensor(-1.0))
        assert lp.item() == torch.distributions.Exponential(1.0, validate_args=False).log_prob(
            torch.tensor(-1.0)).item()
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)


def test_not_implemented_members_match_torch():
    for m in (torch, chainrule):
        d = m.distributions.Categorical(m.ones(3))
        with pytest.raises(NotImplementedError):
            d.rsample()
        with pytest.raises(NotImplementedError):
            d.cdf(m.tensor(1))
        with pytest.raises(NotImplementedError):
            m.distributions.Independent(m.distributions.Normal(m.zeros(3), 1.0), 1) \
                .enumerate_support()
