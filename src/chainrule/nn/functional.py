"""Functional forms of activations (losses and layers join in the learning-stack issue)."""
from __future__ import annotations

from ..ops import pointwise as _pw, reduce as _red


def relu(input, inplace=False):
    return input.relu_() if inplace else _pw.relu(input)


def sigmoid(input):
    return _pw.sigmoid(input)


def tanh(input):
    return _pw.tanh(input)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _red.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    return _red.log_softmax(input, dim, dtype=dtype)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        return input.leaky_relu_(negative_slope)
    return _pw.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    if inplace:
        return input.elu_(alpha)
    return _pw.elu(input, alpha)
