"""Creating tensors: from data (`tensor`, `as_tensor`, `from_numpy`) and by shape (`zeros`...)."""
from __future__ import annotations

import warnings

import numpy as np

from . import _dtype, _errors
from .tensor import Tensor, _check_device

_make = Tensor._make


def _finish(data, requires_grad, device=None):
    _check_device(device)
    t = _make(data)
    if requires_grad:
        t._set_requires_grad(True, _errors.REQUIRES_GRAD_FACTORY)
    return t


def _contains_tensor(data):
    if isinstance(data, Tensor):
        return True
    if isinstance(data, (list, tuple)) and data:
        return any(_contains_tensor(d) for d in data)
    return False


def _unwrap_nested(data):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(d) for d in data]
    return data


def _array_from_data(data, dtype):
    """NumPy array for `data` with PyTorch's dtype inference (Python floats -> default float)."""
    if dtype is not None:
        np_dtype = _dtype.to_numpy_dtype(dtype)
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        arr = np.array(data, dtype=np_dtype if dtype is not None else None)
        if dtype is None:
            _dtype.from_numpy_dtype(arr.dtype)  # refuses unsupported dtypes
        return arr
    if _contains_tensor(data):
        data = _unwrap_nested(data)
    try:
        arr = np.array(data)
    except ValueError as err:
        raise ValueError(f"expected sequence of equal-length lists: {err}") from None
    if arr.dtype == object:
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    if dtype is not None:
        return arr.astype(np_dtype)
    if arr.dtype.kind == "f" and not _all_numpy_floats(data):
        return arr.astype(_dtype.get_default_dtype().np)
    if arr.dtype.kind in "iu" and arr.dtype != np.int64 and not isinstance(data, np.ndarray):
        return arr.astype(np.int64)
    if arr.dtype.kind == "U" or arr.dtype.kind == "S":
        raise TypeError(f"new(): invalid data type '{arr.dtype.kind == 'U' and 'str'}'")
    return arr


def _all_numpy_floats(data):
    """PyTorch keeps float64 only when the data came from NumPy arrays or scalars."""
    if isinstance(data, (np.ndarray, np.floating)):
        return data.dtype == np.float64 if isinstance(data, np.ndarray) else isinstance(data, np.float64)
    if isinstance(data, (list, tuple)) and data:
        return all(_all_numpy_floats(d) for d in data)
    return False


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new leaf tensor holding a copy of `data` (numbers, nested lists, arrays, tensors)."""
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use sourceTensor.clone()."
            "detach() or sourceTensor.clone().detach().requires_grad_(True), rather than "
            "torch.tensor(sourceTensor).", UserWarning, stacklevel=2)
        arr = data._data.astype(_dtype.to_numpy_dtype(dtype)) if dtype is not None \
            else data._data.copy()
        return _finish(arr, requires_grad, device)
    return _finish(_array_from_data(data, dtype), requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """Like `tensor`, but shares memory with a NumPy array or tensor of the right dtype."""
    _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == _dtype.to_numpy_dtype(dtype)):
        _dtype.from_numpy_dtype(data.dtype)
        return _make(data)
    return tensor(data, dtype=dtype)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    t = as_tensor(obj, dtype=dtype, device=device)
    if copy:
        t = _make(t._data.copy())
    if requires_grad:
        t._set_requires_grad(True, _errors.REQUIRES_GRAD_FACTORY)
    return t


def from_numpy(arr):
    """A tensor sharing memory with `arr`."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    _dtype.from_numpy_dtype(arr.dtype)
    return _make(arr)


def _size_args(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _dtype_or_default(dtype):
    return _dtype.to_numpy_dtype(dtype) if dtype is not None else _dtype.get_default_dtype().np


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _finish(np.zeros(_size_args(size), _dtype_or_default(dtype)), requires_grad, device)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _finish(np.ones(_size_args(size), _dtype_or_default(dtype)), requires_grad, device)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          memory_format=None, pin_memory=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False):
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _dtype.scalar_dtype(fill_value)
    return _finish(np.full(_size_args((size,)), fill_value, _dtype.to_numpy_dtype(dtype)),
                   requires_grad, device)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=_dtype_or_default(dtype)), requires_grad, device)


def _like(fn):
    def like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
             memory_format=None):
        return fn(input._data.shape, dtype=dtype or input.dtype, device=device,
                  requires_grad=requires_grad)

    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    return full(input._data.shape, fill_value, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def _number(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    start, end, step = _number(start), _number(end), _number(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        np_dtype = _dtype.get_default_dtype().np if is_float else np.int64
    else:
        np_dtype = _dtype.to_numpy_dtype(dtype)
    n = max(int(np.ceil((end - start) / step)), 0)
    data = (start + np.arange(n, dtype=np.float64) * step).astype(np_dtype)
    return _finish(data, requires_grad, device)


def range_(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    n = int(np.floor((end - start) / step)) + 1
    data = (start + np.arange(n) * step).astype(_dtype_or_default(dtype))
    return _finish(data, requires_grad, device)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    start, end = _number(start), _number(end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    np_dtype = _dtype_or_default(dtype)
    if steps == 1:
        return _finish(np.array([start], dtype=np_dtype), requires_grad, device)
    # PyTorch fills from both ends toward the middle, so both endpoints are exact.
    step = (end - start) / max(steps - 1, 1)
    i = np.arange(steps, dtype=np.float64)
    half = steps // 2
    data = np.where(i < half, start + step * i, end - step * (steps - i - 1))
    return _finish(data.astype(np_dtype), requires_grad, device)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    exps = linspace(start, end, steps, dtype=_dtype.float64)._data
    return _finish((base ** exps).astype(_dtype_or_default(dtype)), requires_grad, device)


def meshgrid(*tensors, indexing=None):
    from .ops.shape import reshape, expand

    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    ts = list(tensors)
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.numel() for t in ts)
    outs = []
    for i, t in enumerate(ts):
        view_shape = [1] * len(ts)
        view_shape[i] = -1
        outs.append(expand(reshape(t, tuple(view_shape)), shape))
    if indexing == "xy" and len(ts) >= 2:
        outs = [o.transpose(0, 1) for o in outs]
        outs[0], outs[1] = outs[1], outs[0]
    return tuple(outs)


def _legacy(dtype):
    class LegacyTensor:
        """`torch.FloatTensor([...])` style constructors."""

        def __new__(cls, *args):
            if len(args) == 1 and not isinstance(args[0], int):
                return tensor(args[0], dtype=dtype)
            return zeros(*args, dtype=dtype)

    LegacyTensor.__name__ = dtype._torch_name
    return LegacyTensor


FloatTensor = _legacy(_dtype.float32)
DoubleTensor = _legacy(_dtype.float64)
LongTensor = _legacy(_dtype.int64)
IntTensor = _legacy(_dtype.int32)
BoolTensor = _legacy(_dtype.bool_)
ByteTensor = _legacy(_dtype.uint8)
HalfTensor = _legacy(_dtype.float16)
