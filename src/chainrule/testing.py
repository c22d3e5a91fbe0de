"""`torch.testing`: `assert_close` (and the deprecated `assert_allclose`) and `make_tensor`.

`assert_close(actual, expected)` walks nested sequences and mappings, pairs up what it finds
(None, bools, Python numbers, tensors and array-likes) and checks each pair as PyTorch does:
tensors must agree in shape and (unless `check_dtype=False`) dtype, then elementwise
|actual - expected| <= atol + rtol * |expected|, with default tolerances chosen by dtype. A
failure raises the exception PyTorch raises, with PyTorch's message text, e.g.

    Tensor-likes are not close!

    Mismatched elements: 1 / 3 (33.3%)
    Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)
    Greatest relative difference: 0.20000000298023224 at index (1,) (up to 1.3e-06 allowed)
"""
from __future__ import annotations

import cmath
import collections.abc
import math
import warnings

import numpy as np

from . import _dtype
from .tensor import Tensor

__all__ = ["assert_close", "assert_allclose", "make_tensor"]

# dtype -> (rtol, atol) when neither is given; other dtypes (integers, bool) compare exactly.
_DEFAULT_TOLERANCES = {
    _dtype.float16: (1e-3, 1e-5),
    _dtype.float32: (1.3e-6, 1e-5),
    _dtype.float64: (1e-7, 1e-7),
}
_NUMBER_DTYPES = {int: _dtype.int64, float: _dtype.float64}


class _Mismatch(Exception):
    """A failed check: the exception type to raise, its message and where in the inputs."""

    def __init__(self, kind, text, where=()):
        super().__init__(text)
        self.kind, self.text, self.where = kind, text, where

    def error(self, msg=None):
        if isinstance(msg, str):
            return self.kind(msg)
        text = self.text
        if self.where:
            text += "\n\nThe failure occurred for item " + "".join(f"[{k!r}]" if isinstance(k, str)
                                                                 else f"[{k}]"
                                                                 for k in self.where)
        return self.kind(msg(text) if callable(msg) else text)


def _tolerances(dtypes, rtol, atol, where):
    if (rtol is None) != (atol is None):
        missing = "rtol" if rtol is None else "atol"
        raise _Mismatch(ValueError, "Both 'rtol' and 'atol' must be either specified or "
                        f"omitted, but got no {missing}.", where)
    if rtol is not None:
        return rtol, atol
    pairs = [_DEFAULT_TOLERANCES.get(d, (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _message(what, extra, abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol):
    equality = rtol == 0 and atol == 0
    lines = [f"{what} are not {'equal' if equality else 'close'}!", ""]
    if extra:
        lines.append(extra.strip())
    for kind, diff, idx, tol in (("absolute", abs_diff, abs_idx, atol),
                                 ("relative", rel_diff, rel_idx, rtol)):
        line = (f"{kind.title()} difference: {diff}" if idx is None
                else f"Greatest {kind} difference: {diff} at index {idx}")
        lines.append(line if equality else f"{line} (up to {tol} allowed)")
    return "\n".join(lines).strip()


def _scalar_message(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = math.inf if expected == 0 else abs_diff / abs(expected)
    return _message("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, atol,
                    rel_diff, None, rtol)


def _isclose(a, e, rtol, atol, equal_nan):
    """torch.isclose on arrays of one dtype."""
    if a.dtype == np.bool_ or (rtol == 0 and atol == 0):
        close = a == e
    elif np.issubdtype(a.dtype, np.integer):
        # PyTorch compares integers through the default float dtype
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        close = (a == e) | (np.abs(a64 - e64) <= atol + rtol * np.abs(e64))
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            close = (a == e) | (np.isfinite(a) & np.isfinite(e)
                                & (np.abs(a - e) <= atol + rtol * np.abs(e)))
    if equal_nan and a.dtype.kind in "fc":
        close = close | (np.isnan(a) & np.isnan(e))
    return np.asarray(close)


def _tensor_message(a, e, close, rtol, atol):
    shape = close.shape
    n = close.size
    bad = n - int(close.sum())
    extra = f"Mismatched elements: {bad} / {n} ({bad / n:.1%})"
    a, e, close = a.reshape(-1), e.reshape(-1), close.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if a.dtype.kind in "f":
            abs_diff = np.abs(a - e)
        else:
            abs_diff = np.abs(a.astype(np.int64) - e.astype(np.int64))
        abs_diff[close] = 0
        # integer / integer is a float32 division in PyTorch
        denom = np.abs(e) if a.dtype.kind == "f" else np.abs(e.astype(np.int64))
        rel_diff = (abs_diff / denom).astype(a.dtype if a.dtype.kind == "f" else np.float32)
        rel_diff[close] = 0

    def where(flat):
        return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()

    i_abs, i_rel = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    return _message("Tensor-likes", extra, abs_diff[i_abs].item(), where(i_abs), atol,
                    rel_diff[i_rel].item(), where(i_rel), rtol)


def _as_tensor(x):
    if isinstance(x, Tensor):
        return x
    from .creation import as_tensor
    return as_tensor(x)


def _compare_tensors(actual, expected, where, rtol, atol, equal_nan, check_dtype,
                     allow_subclasses):
    if not (isinstance(actual, type(expected)) or isinstance(expected, type(actual))):
        return False
    if not allow_subclasses and type(actual) is not type(expected):
        return False
    try:
        actual, expected = _as_tensor(actual), _as_tensor(expected)
    except Exception:
        return False
    rtol, atol = _tolerances((actual.dtype, expected.dtype), rtol, atol, where)

    def differ(name, a, b):
        raise _Mismatch(AssertionError,
                        f"The values for attribute '{name}' do not match: {a} != {b}.", where)

    if actual.shape != expected.shape:
        differ("shape", actual.shape, expected.shape)
    if check_dtype and actual.dtype != expected.dtype:
        differ("dtype", actual.dtype, expected.dtype)
    a, e = np.asarray(actual.detach()._data), np.asarray(expected.detach()._data)
    if actual.dtype != expected.dtype:
        common = _dtype.promote(actual.dtype, expected.dtype)
        a, e = a.astype(common.np), e.astype(common.np)
    close = _isclose(a, e, rtol, atol, equal_nan)
    if close.all():
        return True
    if a.ndim == 0:
        raise _Mismatch(AssertionError, _scalar_message(a.item(), e.item(), rtol, atol), where)
    raise _Mismatch(AssertionError, _tensor_message(a, e, close, rtol, atol), where)


def _compare_numbers(actual, expected, where, rtol, atol, equal_nan, check_dtype):
    def number(x):
        if isinstance(x, np.number):
            return x.item()
        return x if isinstance(x, (int, float, complex)) and not isinstance(x, bool) else None

    a, e = number(actual), number(expected)
    if a is None or e is None:
        return False
    dtypes = [_NUMBER_DTYPES.get(type(x), _dtype.float64) for x in (a, e)]
    rtol, atol = _tolerances(dtypes, rtol, atol, where)
    if check_dtype and type(a) is not type(e):
        raise _Mismatch(AssertionError,
                        f"The (d)types do not match: {type(a)} != {type(e)}.", where)
    if a == e or (equal_nan and cmath.isnan(a) and cmath.isnan(e)):
        return True
    diff = abs(a - e)
    if cmath.isfinite(diff) and diff <= atol + rtol * abs(e):
        return True
    raise _Mismatch(AssertionError, _scalar_message(a, e, rtol, atol), where)


def _pairs(actual, expected, where):
    """Yield (actual, expected, where) leaves of matching nested sequences and mappings."""
    seq = collections.abc.Sequence
    if (isinstance(actual, seq) and not isinstance(actual, str)
            and isinstance(expected, seq) and not isinstance(expected, str)):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, "The length of the sequences mismatch: "
                            f"{len(actual)} != {len(expected)}", where)
        for i in range(len(actual)):
            yield from _pairs(actual[i], expected[i], (*where, i))
    elif isinstance(actual, collections.abc.Mapping) and isinstance(expected,
                                                                    collections.abc.Mapping):
        ka, ke = set(actual.keys()), set(expected.keys())
        if ka != ke:
            raise _Mismatch(AssertionError,
                            "The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {sorted(ke - ka)}\n"
                            f"Additional keys in the actual mapping: {sorted(ka - ke)}", where)
        try:
            keys = sorted(ka)
        except Exception:
            keys = list(ka)
        for k in keys:
            yield from _pairs(actual[k], expected[k], (*where, k))
    else:
        yield actual, expected, where


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise (AssertionError with PyTorch's message) unless `actual` and `expected` are close."""
    __tracebackhide__ = True
    try:
        leaves = list(_pairs(actual, expected, ()))
    except _Mismatch as m:
        raise m.error() from None
    for a, e, where in leaves:
        try:
            if a is None or e is None:
                if not (a is None and e is None):
                    raise _Mismatch(AssertionError, f"None mismatch: {a} is not {e}", where)
                continue
            if isinstance(a, (bool, np.bool_)) and isinstance(e, (bool, np.bool_)):
                if bool(a) is not bool(e):
                    raise _Mismatch(AssertionError,
                                    f"Booleans mismatch: {bool(a)} is not {bool(e)}", where)
                continue
            if _compare_numbers(a, e, where, rtol, atol, equal_nan, check_dtype):
                continue
            if _compare_tensors(a, e, where, rtol, atol, equal_nan, check_dtype,
                                allow_subclasses):
                continue
            raise _Mismatch(TypeError, "No comparison pair was able to handle inputs of type "
                            f"{type(a)} and {type(e)}.", where)
        except _Mismatch as m:
            raise m.error(msg) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated since PyTorch 1.12: `assert_close` with looser defaults and no dtype check."""
    warnings.warn(
        "`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a "
        "future release. Please use `torch.testing.assert_close()` instead. You can find "
        "detailed upgrade instructions in https://github.com/pytorch/pytorch/issues/61844.",
        FutureWarning, stacklevel=2)
    from .creation import tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        loose = {_dtype.float16: (1e-3, 1e-3), _dtype.float32: (1e-4, 1e-5),
                 _dtype.float64: (1e-5, 1e-8)}
        pairs = [loose.get(d, (0.0, 0.0)) for d in (actual.dtype, expected.dtype)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_dtype=False, msg=msg or None)


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False, memory_format=None):
    """A tensor of `shape` with values drawn uniformly from [low, high) (defaults: [-9, 9) for
    floats, [-9, 10) for integers, [0, 2) for bool), from PyTorch's random stream."""
    from .creation import empty
    from .random import randint

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    integral = dtype == _dtype.bool_ or not dtype.is_floating_point
    if noncontiguous and memory_format is not None:
        raise ValueError("The parameters `noncontiguous` and `memory_format` are mutually "
                         f"exclusive, but got noncontiguous={noncontiguous} and "
                         f"memory_format={memory_format}")
    if requires_grad and integral:
        raise ValueError("`requires_grad=True` is not supported for boolean and integral "
                         f"dtypes, but got dtype={dtype}")
    if dtype == _dtype.bool_:
        lo_inc, hi_exc, d_low, d_high = 0, 2, 0, 2
    elif integral:
        info = np.iinfo(dtype.np)
        lo_inc, hi_exc = int(info.min), int(info.max) + (1 if dtype != _dtype.int64 else 0)
        d_low, d_high = -9, 10
    else:
        info = np.finfo(dtype.np)
        lo_inc, hi_exc, d_low, d_high = float(info.min), float(info.max), -9, 9
    low = d_low if low is None else low
    high = d_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and not integral:
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or "
                      "complex types is deprecated since 2.1 and will be removed in 2.3. Use "
                      "`torch.full(...)` instead.", FutureWarning, stacklevel=2)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lo_inc or low >= hi_exc:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                         f"but {dtype} only supports [{lo_inc}, {hi_exc})")
    low, high = min(max(low, lo_inc), hi_exc), min(max(high, lo_inc), hi_exc)
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])
    if integral:
        result = randint(math.ceil(low), math.ceil(high), shape, dtype=dtype)
    else:
        result = empty(shape, dtype=dtype)
        if high - low >= float(np.finfo(dtype.np).max):
            result.uniform_(low / 2, high / 2).mul_(2)
        else:
            result.uniform_(low, high)
    if noncontiguous:
        result = result[..., 1::2]
    if exclude_zero:
        tiny = 1 if integral else float(np.finfo(dtype.np).tiny)
        result[result == 0] = tiny
    if not integral:
        result.requires_grad = requires_grad
    return result
