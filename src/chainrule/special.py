"""torch.special: the special functions, under their SciPy-style names."""
from __future__ import annotations

from .ops import pointwise as _P, reduce as _R, arith as _A

expit = _P.sigmoid
logit = _P.logit
erf = _P.erf
erfc = _P.erfc
erfinv = _P.erfinv
gammaln = _P.lgamma
digamma = psi = _P.digamma
polygamma = _P.polygamma
xlogy = _P.xlogy
sinc = _P.sinc
exp2 = _P.exp2
expm1 = _P.expm1
log1p = _P.log1p
logsumexp = _R.logsumexp
softmax = _R.softmax
log_softmax = _R.log_softmax
round = _P.round


def entr(input):
    """-x ln x (0 at 0, -inf for x < 0)."""
    from .ops.pointwise import where, xlogy as _xlogy

    return where(input < 0, float("-inf"), _A.neg(_xlogy(input, input)))


def ndtr(input):
    """The standard normal CDF: (1 + erf(x/sqrt 2))/2."""
    return _A.mul(_A.add(_P.erf(_A.mul(input, 0.7071067811865476)), 1.0), 0.5)


def xlog1py(input, other):
    from .ops.pointwise import where

    return where(input == 0, 0.0, _A.mul(input, _P.log1p(other)))
