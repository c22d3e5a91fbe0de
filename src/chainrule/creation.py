"""Creating tensors: from data (`tensor`, `as_tensor`, `from_numpy`) and by shape (`zeros`...)."""
from __future__ import annotations

import warnings

import numpy as np

from . import _dtype, _errors
from ._size import like_array
from .tensor import Tensor, _check_device

_make = Tensor._make


def _finish(data, requires_grad, device=None):
    _check_device(device)
    t = _make(data)
    if requires_grad:
        t._set_requires_grad(True, _errors.REQUIRES_GRAD_FACTORY)
    return t


_PY_SCALAR_TYPES = (bool, int, float)


def _leaf_dtype(leaf):
    """The dtype PyTorch gives one leaf of nested data (a Python float: the default dtype)."""
    kind = type(leaf)
    if kind is float:
        return _dtype.get_default_dtype()
    if kind is int:
        return _dtype.int64
    if kind is bool:
        return _dtype.bool_
    if isinstance(leaf, Tensor):
        return leaf.dtype
    if isinstance(leaf, (np.ndarray, np.generic)):
        return _dtype.from_numpy_dtype(leaf.dtype)
    if isinstance(leaf, _PY_SCALAR_TYPES):  # subclasses of int/float
        return _leaf_dtype(kind.__mro__[-2](leaf))
    if isinstance(leaf, str):
        raise TypeError("new(): invalid data type 'str'")
    raise RuntimeError(f"Could not infer dtype of {kind.__name__}")


def _infer_dtype(data):
    """PyTorch's inference for nested lists: every leaf's dtype, promoted together
    (`[1.5, np.float64(2)]` is float64, `[np.int32(1), 2]` int64, `[1, 2.5]` float32).
    Also tells whether a tensor is among the leaves (then the data must be unwrapped)."""
    if not isinstance(data, (list, tuple)):
        return _leaf_dtype(data), isinstance(data, Tensor)
    result, has_tensor = None, False
    stack = [data]
    while stack:
        seq = stack.pop()
        for kind in set(map(type, seq)):  # one look per element type, at C speed
            if kind is list or kind is tuple:
                stack.extend(item for item in seq if type(item) is kind)
                continue
            if kind in _PY_SCALAR_TYPES or issubclass(kind, np.generic):
                found = [_leaf_dtype(next(item for item in seq if type(item) is kind))]
            else:  # arrays and tensors: each has its own dtype
                found = [_leaf_dtype(item) for item in seq if type(item) is kind]
                has_tensor = has_tensor or issubclass(kind, Tensor)
            for d in found:
                result = d if result is None else _dtype.promote(result, d)
    return (_dtype.get_default_dtype() if result is None else result), has_tensor


def _unwrap_nested(data):
    """Nested lists for NumPy: a tensor inside a list is a scalar, as in PyTorch."""
    if isinstance(data, Tensor):
        if data._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return data._data.reshape(())
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(d) for d in data]
    return data


def _ragged_error(data):
    """PyTorch's message for nested lists of unequal lengths."""
    sizes, probe = [], data
    while isinstance(probe, (list, tuple, np.ndarray)):
        sizes.append(len(probe))
        if not len(probe):
            break
        probe = probe[0]

    def check(seq, dim):
        for item in seq:
            if dim + 1 >= len(sizes):
                if isinstance(item, (list, tuple)):
                    raise ValueError(f"expected sequence of length {sizes[dim]} at dim "
                                     f"{dim} (got {len(seq)})")
                continue
            if not isinstance(item, (list, tuple, np.ndarray)):
                raise TypeError("not a sequence")
            if len(item) != sizes[dim + 1]:
                raise ValueError(f"expected sequence of length {sizes[dim + 1]} at dim "
                                 f"{dim + 1} (got {len(item)})")
            check(item, dim + 1)

    check(data, 0)
    return ValueError("expected sequences of equal lengths")


def _array_from_data(data, dtype):
    """NumPy array for `data` with PyTorch's dtype inference (see _infer_dtype)."""
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        if dtype is None:
            _dtype.from_numpy_dtype(data.dtype)  # refuses unsupported dtypes
            return np.array(data)
        return np.array(data, dtype=_dtype.to_numpy_dtype(dtype))
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    if isinstance(data, range):
        data = list(data)
    first = data
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    if isinstance(first, str):  # PyTorch measures sizes along first elements, then dtypes
        raise ValueError("too many dimensions 'str'")
    inferred, has_tensor = _infer_dtype(data)
    target = _dtype.as_dtype(dtype) if dtype is not None else inferred
    if has_tensor:
        data = _unwrap_nested(data)
    try:
        return np.array(data, dtype=target.np)
    except ValueError:
        raise _ragged_error(data) from None
    except TypeError:
        raise RuntimeError(f"Could not infer dtype of {type(data).__name__}") from None


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


def _size_args(size, fn_name="zeros"):
    """`f(2, 3)`, `f((2, 3))`, `f([2, 3])` or `f(Size)` -> (2, 3), refused as PyTorch does."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = []
    for s in size:
        if isinstance(s, Tensor) and s._data.dtype.kind in "iu" and s._data.size == 1:
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, (bool, np.bool_)):
            raise TypeError(f"{fn_name}(): argument 'size' (position 1) must be tuple of ints, "
                            f"not {type(s).__name__}")
        if s < 0 and fn_name == "zeros":
            raise RuntimeError("zeros: Dimension size must be non-negative.")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{[int(v) for v in size]}")
        shape.append(int(s))
    return tuple(shape)


def _dtype_or_default(dtype):
    return _dtype.to_numpy_dtype(dtype) if dtype is not None else _dtype.get_default_dtype().np


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _finish(np.zeros(_size_args(size), _dtype_or_default(dtype)), requires_grad, device)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _finish(np.ones(_size_args(size, "ones"), _dtype_or_default(dtype)), requires_grad, device)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          memory_format=None, pin_memory=False):
    shape = _size_args(size, "empty")  # validated here for empty()'s own error message
    return zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False):
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _dtype.scalar_dtype(fill_value)
    if not isinstance(size, (tuple, list)):
        raise TypeError("full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    return _finish(np.full(_size_args((size,), "full"), fill_value, _dtype.to_numpy_dtype(dtype)),
                   requires_grad, device)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=_dtype_or_default(dtype)), requires_grad, device)


def _keep_layout(out, input, memory_format):
    """Give `out` (a fresh row-major tensor) the layout PyTorch's preserve_format gives a
    `*_like(input)` result (a transposed input gives a transposed result)."""
    arr = like_array(input._data, out._data.dtype, memory_format)
    if arr.strides != out._data.strides:
        arr[...] = out._data
        out._data = arr
    return out


def _like(fn):
    def like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
             memory_format=None):
        out = fn(input._data.shape, dtype=dtype or input.dtype, device=device,
                 requires_grad=requires_grad)
        return out if input._data.flags.c_contiguous else _keep_layout(out, input, memory_format)

    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    out = full(input._data.shape, fill_value, dtype=dtype or input.dtype, device=device,
               requires_grad=requires_grad)
    return out if input._data.flags.c_contiguous else _keep_layout(out, input, memory_format)


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
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        np_dtype = _dtype.get_default_dtype().np if is_float else np.int64
    else:
        np_dtype = _dtype.to_numpy_dtype(dtype)
    n = max(int(np.ceil((end - start) / step)), 0)
    if np.dtype(np_dtype) in (np.float32, np.float64):
        data = _float_arange(start, step, n, np.dtype(np_dtype).type)
    else:
        data = (start + np.arange(n, dtype=np.float64) * step).astype(np_dtype)
    return _finish(data, requires_grad, device)


def _float_arange(start, step, n, float_type):
    """arange as PyTorch's CPU kernel computes it, so values match bit for bit.

    The kernel works in double. It fills 256-bit vectors two at a time: a vector starts at
    `start + step*i` (a fused multiply-add, rounded to float_type) and its lanes are
    `base + j*step`; the remaining tail is `start + step*i` per element. Long double holds
    the exact products, so one rounding to double emulates the fused multiply-add.
    """
    wide = np.longdouble
    index = np.arange(n)
    data = (wide(start) + wide(step) * index).astype(np.float64).astype(float_type)
    lanes = 32 // np.dtype(float_type).itemsize
    vectorized = (n // (2 * lanes)) * 2 * lanes
    if vectorized:
        k = index[:vectorized]
        base = data[k - k % lanes]  # each vector's first element, computed as above
        lane = (k % lanes).astype(np.float64)
        if float_type is np.float64:
            values = (wide(base) + lane.astype(wide) * wide(step)).astype(np.float64)
        else:  # float lanes are computed in double without fusing
            values = base.astype(np.float64) + lane * np.float64(step)
        data[:vectorized] = values.astype(float_type)
    return data


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
    """`steps` values from `start` to `end`, computed as PyTorch's CPU kernel computes them."""
    start, end = _number(start), _number(end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    np_dtype = _dtype_or_default(dtype)
    if steps == 1:
        return _finish(np.array([start], dtype=np_dtype), requires_grad, device)
    return _finish(_linspace_values(start, end, steps, np_dtype), requires_grad, device)


def _linspace_values(start, end, steps, np_dtype):
    """PyTorch fills from both ends toward the middle (both endpoints exact). The step is
    computed in the output dtype (double for integers), and `start + step*i` is one fused
    multiply-add, rounded once: long double holds the exact float32 product, so float32
    results match PyTorch bit for bit (float64 to within an ulp, rarely)."""
    np_dtype = np.dtype(np_dtype)
    integral = np_dtype.kind not in "f"
    step_type = np.float64 if integral else np_dtype.type
    first, last = step_type(start), step_type(end)
    if integral:
        first, last = np.float64(np_dtype.type(start)), np.float64(np_dtype.type(end))
    step = step_type((last - first) / step_type(max(steps - 1, 1)))
    i = np.arange(steps)
    wide = np.longdouble
    if np_dtype == np.float16:
        wide = np.float16  # c10::Half rounds after every operation: no fused multiply-add
    with np.errstate(invalid="ignore", over="ignore"):
        from_start = wide(first) + wide(step) * i.astype(wide)
        from_end = wide(last) - wide(step) * (steps - i - 1).astype(wide)
        values = np.where(i < steps // 2, from_start, from_end)
        if integral:
            return np.trunc(values.astype(np.float64)).astype(np_dtype)
        return values.astype(np_dtype)


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


def _tri_indices(row, col, offset, dtype, lower):
    rows, cols = np.indices((row, col))
    keep = (cols - rows <= offset) if lower else (cols - rows >= offset)
    data = np.stack([rows[keep], cols[keep]]).astype(
        np.int64 if dtype is None else _dtype.to_numpy_dtype(dtype))
    return _make(data.reshape(2, -1))


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """Row and column indices of the lower triangle of a row x col matrix (row-major order)."""
    return _tri_indices(row, col, offset, dtype, True)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """Row and column indices of the upper triangle of a row x col matrix (row-major order)."""
    return _tri_indices(row, col, offset, dtype, False)
