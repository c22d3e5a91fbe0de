"""torch.distributions: probability distributions with sampling, log-densities, entropies and
KL divergences, built on chainrule's ops (so they are differentiable) and its random streams
(so a seed gives PyTorch's samples where PyTorch's sampler is reproduced).

    from chainrule.distributions import Categorical
    dist = Categorical(logits=policy(state))
    action = dist.sample()
    loss = -(dist.log_prob(action) * reward).sum()

Files: distribution.py (the base class, Independent), constraints.py, utils.py, continuous.py
(Normal, Laplace, Uniform, Exponential, Dirichlet, Beta), discrete.py (Bernoulli, Categorical,
OneHotCategorical), multivariate_normal.py, kl.py, _gamma.py (Gamma/Dirichlet draws).
"""
from . import constraints, kl, utils
from .continuous import Beta, Dirichlet, Exponential, Laplace, Normal, Uniform
from .discrete import Bernoulli, Categorical, OneHotCategorical
from .distribution import Distribution, ExponentialFamily, Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal

# the submodules are listed too (PyTorch exposes them as attributes, not in its __all__)
__all__ = ["constraints", "kl", "utils", "Bernoulli", "Beta", "Categorical", "Dirichlet",
           "Distribution", "Exponential", "ExponentialFamily", "Independent", "Laplace",
           "MultivariateNormal", "Normal", "OneHotCategorical", "Uniform", "kl_divergence",
           "register_kl"]
