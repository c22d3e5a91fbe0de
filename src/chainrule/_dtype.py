"""dtypes and type promotion: the one place that decides what dtype a result has."""
from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type; prints as PyTorch does (``torch.float32``)."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_rank", "_torch_name")

    def __init__(self, name, np_dtype, rank, torch_name):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self._rank = rank
        self._torch_name = torch_name  # legacy type name: FloatTensor

    @property
    def is_complex(self):
        return False

    def to_real(self):
        return self

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):
        return (_by_name, (self.name,))


bool_ = dtype("bool", np.bool_, 0, "BoolTensor")
uint8 = dtype("uint8", np.uint8, 1, "ByteTensor")
int8 = dtype("int8", np.int8, 2, "CharTensor")
int16 = dtype("int16", np.int16, 3, "ShortTensor")
int32 = dtype("int32", np.int32, 4, "IntTensor")
int64 = dtype("int64", np.int64, 5, "LongTensor")
float16 = dtype("float16", np.float16, 6, "HalfTensor")
float32 = dtype("float32", np.float32, 7, "FloatTensor")
float64 = dtype("float64", np.float64, 8, "DoubleTensor")

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}


def _by_name(name):
    return _BY_NAME[name]


_default_float = float32


def get_default_dtype():
    return _default_float


def set_default_dtype(d):
    global _default_float
    if d not in (float32, float64, float16):
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = d


def from_numpy_dtype(np_dtype) -> dtype:
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        np_dtype = np.dtype(np_dtype)
        if np_dtype in _FROM_NP:
            return _FROM_NP[np_dtype]
        raise TypeError(
            f"can't convert np.ndarray of type {np_dtype}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def to_numpy_dtype(d) -> np.dtype:
    """Accept a chainrule dtype, a NumPy dtype, or a Python type (``float``, ``int``, ``bool``)."""
    if isinstance(d, dtype):
        return d.np
    if d is float:
        return float64.np
    if d is int:
        return int64.np
    if d is bool:
        return bool_.np
    return from_numpy_dtype(np.dtype(d)).np


def as_dtype(d) -> dtype:
    return d if isinstance(d, dtype) else from_numpy_dtype(to_numpy_dtype(d))


def promote(a: dtype, b: dtype) -> dtype:
    """PyTorch's promote_types on our dtypes: categories bool < int < float, wider wins."""
    if a is b:
        return a
    if {a, b} == {uint8, int8}:
        return int16
    return a if a._rank > b._rank else b


def scalar_dtype(value) -> dtype:
    """The dtype a Python number takes when it meets a tensor (a 'wrapped number')."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    return _default_float


def _category(d: dtype) -> int:
    return 2 if d.is_floating_point else (0 if d is bool_ else 1)


def _combine(higher, lower):
    # PyTorch's combine_categories: a lower-priority operand only wins if its category is higher.
    if higher is None:
        return lower
    if lower is None:
        return higher
    if _category(higher) >= _category(lower):
        return higher
    return promote(higher, lower)


def result_type(*operands) -> dtype:
    """Result dtype of an elementwise op, following PyTorch: dimensioned tensors outrank
    zero-dim tensors, which outrank Python scalars, unless a lower tier has a higher category."""
    dim_result = zero_result = wrapped_result = None
    for x in operands:
        data = getattr(x, "_data", None)
        if data is None:
            d = scalar_dtype(x)
            wrapped_result = d if wrapped_result is None else promote(wrapped_result, d)
        else:
            d = _FROM_NP[data.dtype]
            if data.ndim:
                dim_result = d if dim_result is None else promote(dim_result, d)
            else:
                zero_result = d if zero_result is None else promote(zero_result, d)
    return _combine(dim_result, _combine(zero_result, wrapped_result))
