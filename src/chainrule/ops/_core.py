"""What every op module needs: wrapping arrays as tensors and coercing operands.

Note [Broadcasting in backward]
Backward rules return gradients in the broadcast (output) shape; the engine reduces them to
each input's shape and dtype in one place (`engine._validate`), so rules stay plain math.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype, _errors
from ..autograd.graph import Node, SavedOutput, record, record_multi, needs_grad  # noqa: F401
from ..tensor import Tensor

ndarray = np.ndarray
_make = Tensor._make
_FROM_NP = _dtype._FROM_NP
_PY_SCALARS = (int, float, bool)


def wrap(data) -> Tensor:
    """A new tensor (no history) around a NumPy result; 0-d results become 0-d arrays."""
    if type(data) is not ndarray:
        data = np.asarray(data)
    return _make(data)


def as_tensor_arg(x, dtype=None) -> Tensor:
    """Accept tensors, numbers, lists and arrays where an op takes a tensor."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, _PY_SCALARS):
        d = dtype or _dtype.scalar_dtype(x)
        return _make(np.asarray(x, dtype=d.np))
    from ..creation import tensor

    return tensor(x, dtype=dtype)


def binary(a, b):
    """Coerce two operands (tensors or Python numbers) to the PyTorch result dtype.

    Returns (x, y, ta, tb): the arrays (a Python number stays a number, which NumPy treats as
    weakly typed, like PyTorch) and the tensor operands (None for numbers).
    """
    if isinstance(a, Tensor):
        x = a._data
        kind = type(b)
        if kind is float and x.dtype.kind == "f":  # the common `t * 0.5`
            return x, b, a, None
        if isinstance(b, Tensor):
            y = b._data
            if x.dtype is y.dtype:
                return x, y, a, b
    ta = a if isinstance(a, Tensor) else None
    tb = b if isinstance(b, Tensor) else None
    if ta is not None and tb is not None:
        x, y = ta._data, tb._data
        if x.dtype is y.dtype:
            return x, y, ta, tb
        rt = _dtype.result_type(ta, tb).np
        return (x if x.dtype == rt else x.astype(rt)), (y if y.dtype == rt else y.astype(rt)), ta, tb
    if ta is not None:
        x, y = ta._data, _operand(b)
        if isinstance(y, Tensor):
            return binary(ta, y)
        return _with_scalar(x, y), y, ta, None
    if tb is not None:
        x, y = _operand(a), tb._data
        if isinstance(x, Tensor):
            return binary(x, tb)
        return x, _with_scalar(y, x), None, tb
    raise TypeError(f"expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")


def _operand(v):
    if isinstance(v, np.generic):  # before the Python check: np.float64 is a float subclass
        return v.item()
    if isinstance(v, _PY_SCALARS):
        return v
    if isinstance(v, (ndarray, list, tuple)):
        from ..creation import tensor

        return tensor(v)
    raise TypeError(f"unsupported operand type: '{type(v).__name__}'")


def _with_scalar(arr, scalar):
    """Cast `arr` when a Python number of a higher category meets it (int tensor + 0.5)."""
    kind = arr.dtype.kind
    if kind == "f":
        return arr
    if isinstance(scalar, float):
        return arr.astype(_dtype.get_default_dtype().np)
    if kind == "b" and isinstance(scalar, int) and not isinstance(scalar, bool):
        return arr.astype(np.int64)
    return arr


def broadcast_error(*operands):
    """PyTorch's error for operands whose shapes do not broadcast (NumPy raised ValueError)."""
    shape = ()
    try:
        for x in operands:
            shape = _errors.broadcast_shapes(shape, np.shape(x))
    except RuntimeError as err:
        return err
    return RuntimeError(f"shapes {[list(np.shape(x)) for x in operands]} cannot be broadcast")


def float_operand(t: Tensor):
    """The array of `t`, cast to the default float dtype when it is an integer tensor
    (exp, sqrt, sigmoid... of an int tensor give floats, as in PyTorch)."""
    x = t._data
    if x.dtype.kind != "f":
        return x.astype(_dtype.get_default_dtype().np)
    return x


def unary_result(node_cls, t: Tensor, data, save_input=False, save_output=False):
    """Wrap the result of a one-input op, recording `node_cls` and its saved value if needed."""
    out = wrap(data)
    node = record(node_cls, out, (t,))
    if node is not None:
        if save_input:
            node.save(t)
        elif save_output:
            node.save(SavedOutput(out))
    return out


def needs(node: Node, i: int) -> bool:
    return node.next_functions[i][0] is not None


def zero_grad(node: Node, m):
    """The gradient of an op whose derivative is zero (sign, floor, fill_...): zeros in the
    output's shape, as PyTorch's zeros_like(grad) -- not `g * 0`, which is nan where g is
    inf/nan and, under create_graph, would make the gradient depend on g."""
    return m.zeros(*node._meta[0])
