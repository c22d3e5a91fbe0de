"""kl_divergence(p, q) = E_p[log p(x) - log q(x)], in closed form for the pairs PyTorch has.

Formulas are registered per pair of types with `register_kl`; a call picks the most specific
registered pair for (type(p), type(q)) by method resolution order, so a user's subclass may
register its own. Where q gives zero density on part of p's support the result is inf, as in
PyTorch.
"""
from __future__ import annotations

import math
import warnings

from ..creation import full_like
from ..special import xlogy
from .continuous import Beta, Dirichlet, Exponential, Laplace, Normal, Uniform
from .discrete import Bernoulli, Categorical, OneHotCategorical
from .distribution import Distribution, ExponentialFamily, Independent
from .multivariate_normal import MultivariateNormal, _half_log_det, _mahalanobis, _solve_lower
from .utils import _sum_rightmost

__all__ = ["register_kl", "kl_divergence"]

_REGISTRY = {}   # (type_p, type_q) -> function, as registered
_CACHE = {}      # (type(p), type(q)) -> function chosen for that exact pair
_INF = math.inf


def register_kl(type_p, type_q):
    """Decorator registering `fn(p, q)` as the KL divergence of a pair of distribution types.

    >>> @register_kl(MyNormal, Normal)
    ... def kl_mynormal_normal(p, q): ...
    """
    for t, name in ((type_p, "type_p"), (type_q, "type_q")):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"Expected {name} to be a Distribution subclass but got {t}")

    def decorator(fn):
        _REGISTRY[type_p, type_q] = fn
        _CACHE.clear()
        return fn
    return decorator


def _dispatch(type_p, type_q):
    """The registered function nearest to (type_p, type_q) in their MROs, or None."""
    found = [(type_p.__mro__.index(P), type_q.__mro__.index(Q), P, Q)
             for P, Q in _REGISTRY if issubclass(type_p, P) and issubclass(type_q, Q)]
    if not found:
        return None
    left = min(found, key=lambda m: (m[0], m[1]))    # most specific in p first
    right = min(found, key=lambda m: (m[1], m[0]))   # ... in q first
    fn = _REGISTRY[left[2], left[3]]
    if fn is not _REGISTRY[right[2], right[3]]:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). Please "
                      f"register_kl({left[2].__name__}, {right[3].__name__})", RuntimeWarning,
                      stacklevel=3)
    return fn


def kl_divergence(p, q):
    """KL(p || q), batched over the distributions' batch shape."""
    key = type(p), type(q)
    if key not in _CACHE:
        _CACHE[key] = _dispatch(*key)
    fn = _CACHE[key]
    if fn is None:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type "
                                  f"{p.__class__.__name__} and q type {q.__class__.__name__}")
    return fn(p, q)


def _inf_like(t):
    return full_like(t, _INF)


# -- same family ---------------------------------------------------------------------------------
@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    # log(p/q) through softplus of the logits, which stays finite for tiny probabilities
    from ..nn.functional import softplus

    heads = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    heads = heads.masked_fill(q.probs == 0, _INF).masked_fill(p.probs == 0, 0.0)
    tails = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    tails = tails.masked_fill(q.probs == 1, _INF).masked_fill(p.probs == 1, 0.0)
    return heads + tails


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = t.masked_fill((q.probs == 0).expand_as(t), _INF)
    t = t.masked_fill((p.probs == 0).expand_as(t), 0.0)  # 0 * log(0 / q) = 0
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    kl = ((q.high - q.low) / (p.high - p.low)).log()
    return kl.masked_fill((q.low > p.low) | (q.high < p.high), _INF)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - ratio.log() - 1


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    dist = (p.loc - q.loc).abs()
    return -scale_ratio.log() + dist / q.scale + scale_ratio * (-dist / p.scale).exp() - 1


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    a, b = p.concentration, q.concentration
    a0, b0 = a.sum(-1), b.sum(-1)
    t1 = a0.lgamma() - b0.lgamma()
    t2 = (a.lgamma() - b.lgamma()).sum(-1)
    t3 = (a - b) * (a.digamma() - a0.digamma().unsqueeze(-1))
    return t1 - t2 + t3.sum(-1)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    p1, p0, q1, q0 = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    p_sum, q_sum = p1 + p0, q1 + q0
    t1 = q1.lgamma() + q0.lgamma() + p_sum.lgamma()
    t2 = p1.lgamma() + p0.lgamma() + q_sum.lgamma()
    t3 = (p1 - q1) * p1.digamma() + (p0 - q0) * p0.digamma()
    return t1 - t2 + t3 + (q_sum - p_sum) * p_sum.digamma()


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with"
                         "                          different event shapes cannot be computed")
    Lp, Lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    n = p.event_shape[0]
    # tr(Sq^-1 Sp) = |Lq^-1 Lp|_F^2
    trace = _solve_lower(Lq, Lp).pow(2).sum((-2, -1))
    return (_half_log_det(Lq) - _half_log_det(Lp)
            + 0.5 * (trace + _mahalanobis(Lq, q.loc - p.loc) - n))


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    # PyTorch computes same-type pairs without a closed form through Bregman divergences; every
    # family here has its closed form, so only the cross-family error remains.
    raise NotImplementedError("The cross KL-divergence between different exponential families "
                              "cannot                             be computed using Bregman "
                              "divergences")


# -- across families ----------------------------------------------------------------------------
@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    diff = p.loc - q.loc
    z = diff / p.scale
    t2 = math.sqrt(2 / math.pi) * p.scale * (-0.5 * z.pow(2)).exp()
    t3 = diff * (math.sqrt(0.5) * z).erf()
    return -(p.scale / q.scale).log() + (t2 + t3) / q.scale - 0.5 * (1 + math.log(0.5 * math.pi))


@register_kl(Normal, Beta)
@register_kl(Normal, Exponential)
@register_kl(Normal, Uniform)
def _kl_normal_infinity(p, q):
    return _inf_like(p.loc)


@register_kl(Laplace, Beta)
@register_kl(Laplace, Exponential)
@register_kl(Laplace, Uniform)
def _kl_laplace_infinity(p, q):
    return _inf_like(p.loc)


@register_kl(Exponential, Beta)
@register_kl(Exponential, Uniform)
def _kl_exponential_infinity(p, q):
    return _inf_like(p.rate)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    var = q.scale.pow(2)
    ratio = p.scale.pow(2) / var
    t1 = 0.5 * (2 * ratio / math.pi).log()
    quad = 0.5 * p.loc.pow(2) - p.loc * q.loc + 0.5 * q.loc.pow(2)
    return -t1 + ratio + quad / var - 1


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    var = q.scale.pow(2)
    rate2 = p.rate.pow(2)
    t1 = 0.5 * (rate2 * var * 2 * math.pi).log()
    return t1 - 1 + (rate2.reciprocal() - q.loc / p.rate + q.loc.pow(2) * 0.5) / var


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    width = p.high - p.low
    t1 = (math.sqrt(math.pi * 2) * q.scale / width).log()
    t2 = width.pow(2) / 12
    t3 = ((p.high + p.low - 2 * q.loc) / 2).pow(2)
    return t1 + 0.5 * (t2 + t3) / q.scale.pow(2)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    kl = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return kl.masked_fill(p.low < 0, _INF)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    width = p.high - p.low
    a, b = q.concentration1, q.concentration0
    e_log_x = (xlogy(p.high, p.high) - xlogy(p.low, p.low) - width) / width
    e_log_1mx = (xlogy(1 - p.high, 1 - p.high) - xlogy(1 - p.low, 1 - p.low) + width) / width
    log_beta = a.lgamma() + b.lgamma() - (a + b).lgamma()
    kl = (b - 1) * e_log_1mx + log_beta - width.log() - (a - 1) * e_log_x
    return kl.masked_fill((p.high > 1) | (p.low < 0), _INF)


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    total = p.concentration1 + p.concentration0
    mean = p.concentration1 / total
    var = q.scale.pow(2)
    t2 = 0.5 * (var * 2 * math.pi).log()
    t3 = (mean * (1 - mean) / (total + 1) + mean.pow(2)) * 0.5
    return -p.entropy() + t2 + (t3 - q.loc * mean + q.loc.pow(2) * 0.5) / var


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    mean = p.concentration1 / (p.concentration1 + p.concentration0)
    return -p.entropy() - q.rate.log() + q.rate * mean


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    kl = -p.entropy() + (q.high - q.low).log()
    return kl.masked_fill((q.low > 0) | (q.high < 1), _INF)
