"""default_collate: a list of samples -> one batch with the samples' structure.

Tensors, NumPy arrays and numbers are stacked along a new first dimension; dicts, namedtuples,
tuples and lists keep their structure with each field collated (a tuple becomes a list, as in
PyTorch); strings stay a list.
"""
from __future__ import annotations

import collections.abc
import re

import numpy as np

from ...tensor import Tensor

_NOT_SUPPORTED = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                  "lists; found {}")
_NUMPY_OBJECT = re.compile(r"[SaUO]")


def _stack(batch):
    from ...ops.shape import stack

    return stack(list(batch), 0)


def default_collate(batch):
    """Stack a list of samples into a batch (see the module docstring)."""
    from ...creation import tensor, as_tensor
    from ... import _dtype

    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        if _NUMPY_OBJECT.search(elem.dtype.str) is not None:
            raise TypeError(_NOT_SUPPORTED.format(elem.dtype))
        if isinstance(elem, np.ndarray):
            return _stack([as_tensor(b) for b in batch])
        return as_tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=_dtype.float64)
    if isinstance(elem, int):  # bool too: a bool tensor
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated) if type(elem) is not dict else collated
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [default_collate(list(samples)) for samples in transposed]
        try:
            return type(elem)([default_collate(list(samples)) for samples in transposed])
        except TypeError:
            return [default_collate(list(samples)) for samples in transposed]
    raise TypeError(_NOT_SUPPORTED.format(type(elem)))


def default_convert(data):
    """Without batching: NumPy arrays become tensors, containers are converted inside."""
    from ...creation import as_tensor

    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray) and _NUMPY_OBJECT.search(data.dtype.str) is None:
        return as_tensor(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()}) \
            if type(data) is not dict else {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
