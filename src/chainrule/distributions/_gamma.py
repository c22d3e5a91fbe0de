"""Gamma and Dirichlet draws from PyTorch's CPU stream, and the reparameterized gradient of a
Dirichlet (hence Beta) sample.

Draws: ATen makes each Gamma(alpha) value with the Marsaglia-Tsang (2000) rejection method,
element by element in C order, calling its double-precision uniform and normal generators (the
normal one keeps its spare Box-Muller value in the generator). Its constants are float literals
(`1.0f / 3.0f`, `0.0331f`), so they are rounded to float32 before the double arithmetic; we do
the same, in the same order, so the accept/reject decisions and values match. A Dirichlet row is
its Gamma draws (computed in double, floored at the smallest normal double) divided by their
sum, then kept inside [smallest normal, largest value below 1] of the output dtype.

Gradient: the marginal x_i of a Dirichlet sample is Beta(a_i, b_i), b_i = total - a_i. Holding
the uniform "noise" fixed (implicit reparameterization), dx_i/da_i = -dF/da_i / f, with F and f
the Beta CDF and density at x_i; moving x_i rescales the other coordinates, which gives
    dL/da_i = dx_i/da_i / (1 - x_i) * (g_i - sum_j g_j x_j).
ATen evaluates dx_i/da_i with fitted approximations; we evaluate the same quantity directly
(SciPy's regularised incomplete beta, differentiated by a central difference in a_i), so
gradients agree with PyTorch's to the accuracy of its approximation (about 1e-3 relative).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..random import _gen
from ..tensor import Tensor

_THIRD_F32 = float(np.float32(1.0) / np.float32(3.0))
_SQUEEZE_F32 = float(np.float32(0.0331))


def _gamma_one(alpha, gen):
    """One Gamma(alpha, 1) draw (double), consuming the generator as ATen's sample_gamma."""
    def uniform():
        return float(gen._uniform(1, np.float64)[0])

    def normal():
        return float(gen._normal_pair_values(1, 0.0, 1.0)[0])

    scale = 1.0
    if alpha < 1.0:  # draw Gamma(alpha + 1) and scale by U^(1/alpha)
        if alpha == 0.0:
            return 0.0
        scale *= math.pow(1 - uniform(), 1.0 / alpha)
        alpha += 1.0
    d = alpha - _THIRD_F32
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = normal()
        y = 1.0 + c * x
        while y <= 0:
            x = normal()
            y = 1.0 + c * x
        v = y * y * y
        u = 1 - uniform()
        xx = x * x
        if u < 1.0 - _SQUEEZE_F32 * xx * xx:  # quick acceptance
            return scale * d * v
        if math.log(u) < 0.5 * xx + d * (1.0 - v + math.log(v)):
            return scale * d * v


def _dirichlet_values(conc, gen):
    alphas = np.ascontiguousarray(conc, dtype=np.float64)
    gammas = np.array([max(np.finfo(np.float64).tiny, _gamma_one(float(a), gen))
                       for a in alphas.ravel()], np.float64).reshape(alphas.shape)
    ratio = (gammas / gammas.sum(-1, keepdims=True)).astype(conc.dtype)
    top = np.nextafter(conc.dtype.type(1), conc.dtype.type(0))
    return np.clip(ratio, np.finfo(conc.dtype).tiny, top)


def _beta_sample_grad(x, a, b):
    """dx/da for x ~ Beta(a, b) at fixed noise: -(dF/da) / f(x)."""
    try:
        from scipy import special
    except ImportError as e:  # pragma: no cover - scipy is optional
        raise RuntimeError("chainrule: gradients of Beta/Dirichlet rsample need SciPy") from e
    h = 1e-5 * np.maximum(a, 1.0)
    dF = (special.betainc(a + h, b, x) - special.betainc(a - h, b, x)) / (2 * h)
    log_pdf = ((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b))
    return -dF / np.exp(log_pdf)


class _Dirichlet(Function):
    """A Dirichlet sample as a differentiable function of its concentration."""

    @staticmethod
    def forward(ctx, concentration):
        x = Tensor._make(_dirichlet_values(concentration._data, _gen(None)))
        ctx.save_for_backward(x, concentration)
        return x

    @staticmethod
    def backward(ctx, grad_output):
        x, conc = ctx.saved_tensors
        xd = x._data.astype(np.float64)
        ad = np.broadcast_to(conc._data, xd.shape).astype(np.float64)
        total = ad.sum(-1, keepdims=True)
        dxda = _beta_sample_grad(xd, ad, total - ad) / (1 - xd)
        scale = Tensor._make(dxda.astype(x._data.dtype))
        return scale * (grad_output - (x * grad_output).sum(-1, True))


def sample_dirichlet(concentration):
    return _Dirichlet.apply(concentration)
