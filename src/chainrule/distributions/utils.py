"""Helpers shared by the distributions: parameter broadcasting, probs <-> logits, and the
lazily computed parameter (Bernoulli(logits=...).probs is computed on first use)."""
from __future__ import annotations

import functools
import numbers

from .. import _dtype
from ..autograd import enable_grad
from ..creation import empty, tensor
from ..ops import pointwise as _P, reduce as _R
from ..ops.shape import broadcast_tensors
from ..tensor import Tensor
from .._info import finfo

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits"]

euler_constant = 0.57721566490153286060


def _is_number(v):
    return isinstance(v, numbers.Number) and not isinstance(v, Tensor)


def broadcast_all(*values):
    """Tensors broadcast together; numbers become tensors of the first tensor's dtype (the
    default dtype if all are numbers)."""
    if not all(isinstance(v, Tensor) or _is_number(v) for v in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or "
                         "objects implementing __torch_function__.")
    dtype = next((v.dtype for v in values if isinstance(v, Tensor)),
                 _dtype.get_default_dtype())
    values = [v if isinstance(v, Tensor) else tensor(v, dtype=dtype) for v in values]
    if all(v.shape == values[0].shape for v in values):
        return tuple(values)  # as PyTorch: already-equal shapes are returned as they are
    return broadcast_tensors(*values)


def _standard_normal(shape, dtype):
    """N(0, 1) noise drawn as PyTorch's distributions draw it: `empty(shape).normal_()`."""
    return empty(tuple(shape), dtype=dtype).normal_()


def _sum_rightmost(value, dim):
    """Sum over the `dim` rightmost dims (the dims an Independent makes part of the event)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def logits_to_probs(logits, is_binary=False):
    """sigmoid for one log-odds, softmax over the last dim for categorical logits."""
    return _P.sigmoid(logits) if is_binary else _R.softmax(logits, -1)


def clamp_probs(probs):
    """Probabilities kept inside [eps, 1 - eps] so that their logs stay finite."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """log-odds log(p) - log(1 - p) for binary, log(p) for categorical (clamped probs)."""
    p = clamp_probs(probs)
    if is_binary:
        return _P.log(p) - _P.log1p(-p)
    return _P.log(p)


class lazy_property:
    """A parameter derived from another one on first access and then stored on the instance.

    It is computed with grad enabled, as PyTorch does, so that a distribution built under
    no_grad still gives differentiable derived parameters later. Validation skips such
    parameters while they have not been computed.
    """

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.fn(instance)
        setattr(instance, self.fn.__name__, value)
        return value
