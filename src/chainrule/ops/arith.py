"""Arithmetic: + - * / ** and friends. Each backward sits right under its forward's docstring."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

from .. import _dtype
from ._core import (Node, SavedOutput, binary, record, wrap, needs, zero_grad, unary_result,
                    float_operand, broadcast_error)


# Called with the two tensor operands of every recorded add/sub; autograd.diagnose sets it to
# catch the `total_loss += loss` leak without taxing every other op.
sum_observer = None


class AddBackward0(Node):
    """out = a + alpha*b  ->  da = g,  db = alpha*g"""
    saved_attrs = {"alpha": "alpha"}

    __slots__ = ("alpha",)

    def backward(self, m, g):
        return g, (g if self.alpha == 1 else g * self.alpha)


def add(a, b, *, alpha=1, out=None):
    x, y, ta, tb = binary(a, b)
    try:
        result = wrap(x + y if alpha == 1 else x + alpha * y)
    except ValueError:
        raise broadcast_error(x, y) from None
    node = record(AddBackward0, result, (ta, tb))
    if node is not None:
        node.alpha = alpha
        if sum_observer is not None:
            sum_observer(ta, tb)
    return _maybe_out(result, out)


class SubBackward0(Node):
    """out = a - alpha*b  ->  da = g,  db = -alpha*g"""
    saved_attrs = {"alpha": "alpha"}

    __slots__ = ("alpha",)

    def backward(self, m, g):
        return g, -g if self.alpha == 1 else g * -self.alpha


def _is_bool_operand(v):
    data = getattr(v, "_data", None)
    return isinstance(v, (bool, np.bool_)) if data is None else data.dtype == np.bool_


def _check_sub_operands(a, b):
    """PyTorch refuses bool in subtraction, judged on the operands' own dtypes."""
    a_bool, b_bool = _is_bool_operand(a), _is_bool_operand(b)
    if a_bool and b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if a_bool or b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")


def sub(a, b, *, alpha=1, out=None):
    _check_sub_operands(a, b)
    x, y, ta, tb = binary(a, b)
    try:
        result = wrap(x - y if alpha == 1 else x - alpha * y)
    except ValueError:
        raise broadcast_error(x, y) from None
    node = record(SubBackward0, result, (ta, tb))
    if node is not None:
        node.alpha = alpha
        if sum_observer is not None:
            sum_observer(ta, tb)
    return _maybe_out(result, out)


class RsubBackward1(Node):
    """out = number - alpha*a  ->  da = -alpha*g"""

    __slots__ = ("alpha",)

    def backward(self, m, g):
        return -g if self.alpha == 1 else g * -self.alpha


def rsub(a, number, alpha=1):
    _check_sub_operands(a, number)
    x, y, ta, _ = binary(a, number)
    result = wrap(y - x if alpha == 1 else y - alpha * x)
    node = record(RsubBackward1, result, (ta,))
    if node is not None:
        node.alpha = alpha
    return result


class MulBackward0(Node):
    """out = a * b  ->  da = g*b,  db = g*a   (a 'gradient switcher')"""
    saved_fields = ("self", "other")
    pack_order = (1, 0)

    def backward(self, m, g):
        a, b = self.saved(m)
        return (g * b if b is not None else None), (g * a if a is not None else None)


def mul(a, b, *, out=None):
    x, y, ta, tb = binary(a, b)
    try:
        result = wrap(x * y)
    except ValueError:
        raise broadcast_error(x, y) from None
    node = record(MulBackward0, result, (ta, tb))
    if node is not None:
        # Save only what the other input's gradient needs.
        node.save((ta if ta is not None else a) if needs(node, 1) else None,
                  (tb if tb is not None else b) if needs(node, 0) else None)
    return _maybe_out(result, out)


class DivBackward0(Node):
    """out = a / b  ->  da = g/b,  db = -g*a/b^2"""
    saved_fields = ("self", "other")
    pack_order = (1, 0)

    def backward(self, m, g):
        a, b = self.saved(m)
        ga = g / b if needs(self, 0) else None
        gb = -g * a / (b * b) if needs(self, 1) else None
        return ga, gb


def div(a, b, *, rounding_mode=None, out=None):
    if rounding_mode is not None:
        return _rounded_div(a, b, rounding_mode)
    x, y, ta, tb = binary(a, b)
    if x.dtype.kind != "f":  # int / int is true division in the default float dtype
        x = x.astype(_dtype.get_default_dtype().np)
        if isinstance(y, np.ndarray):
            y = y.astype(x.dtype)
    try:
        result = wrap(x / y)
    except ValueError:
        raise broadcast_error(x, y) from None
    node = record(DivBackward0, result, (ta, tb))
    if node is not None:
        # a is needed only for b's gradient (as PyTorch: `x / 2` then `x.fill_(1)` is fine)
        node.save((ta if ta is not None else a) if needs(node, 1) else None,
                  tb if tb is not None else b)
    return _maybe_out(result, out)


def _integer_division(x, y):
    """PyTorch raises where C++ integer division by zero would trap (NumPy gives 0)."""
    if np.asarray(x).dtype.kind in "iub" and np.asarray(y).dtype.kind in "iub" and np.any(
            np.asarray(y) == 0):
        raise RuntimeError("ZeroDivisionError")


def _rounded_div(a, b, mode):
    x, y, _, _ = binary(a, b)
    if mode in ("floor", "trunc"):
        _integer_division(x, y)
    if mode == "floor":
        return wrap(np.floor_divide(x, y) if x.dtype.kind != "f" else np.floor(x / y))
    if mode == "trunc":
        return wrap(np.trunc(x / y).astype(x.dtype))
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                     f"found '{mode}'")


def rdiv(a, number):
    """number / a, computed like PyTorch as reciprocal(a) * number."""
    return mul(reciprocal(a), number)


class ReciprocalBackward0(Node):
    """out = 1/a  ->  da = -g*out^2"""

    def backward(self, m, g):
        (out,) = self.saved(m)
        return -g * out * out


def reciprocal(a):
    return unary_result(ReciprocalBackward0, a, 1.0 / float_operand(a), save_output=True)


class NegBackward0(Node):
    """out = -a  ->  da = -g"""

    def backward(self, m, g):
        return -g


def neg(a):
    if a._data.dtype == np.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return unary_result(NegBackward0, a, -a._data)


class PowBackward0(Node):
    """out = a ** p (p a number)  ->  da = g * p * a^(p-1)   (0 where p == 0)"""
    saved_fields = ("self",)
    saved_attrs = {"exponent": "exponent"}

    __slots__ = ("exponent",)

    def backward(self, m, g):
        (a,) = self.saved(m)
        p = self.exponent
        if p == 0:
            return zero_grad(self, m)
        if p == 2 and not m.tensor_mode:
            return g * (2 * a)
        # PyTorch's order, g * (p * a^(p-1)); a^1 kept under create_graph, so that the second
        # derivative of a**2 still depends on a (requires_grad), as in PyTorch
        return g * (p * a ** (p - 1))


class PowBackward1(Node):
    """out = a ** b (both tensors)  ->  da = g*b*a^(b-1),  db = g*out*log(a) (0 where a==0, b>=0)"""
    saved_fields = ("self", "exponent", "result")

    def backward(self, m, g):
        a, b, out = self.saved(m)
        ga = gb = None
        if needs(self, 0):
            ga = m.where(b == 0, 0.0, g * b * a ** (b - 1))
        if needs(self, 1):
            gb = m.where((a == 0) & (b >= 0), 0.0, g * out * m.log(a))
        return ga, gb


class PowBackward2(Node):
    """out = base ** b (base a number)  ->  db = g * out * log(base)"""
    saved_fields = ("exponent", "result")
    saved_attrs = {"self": "base"}

    __slots__ = ("base",)

    def backward(self, m, g):
        b, out = self.saved(m)
        if self.base == 0:
            return m.where(b >= 0, 0.0, g * out * -np.inf)
        return g * out * float(np.log(self.base))


def pow(a, exponent, *, out=None):
    if not isinstance(a, Tensor):
        return _scalar_pow(a, exponent)
    if isinstance(exponent, Tensor):
        x, y, ta, tb = binary(a, exponent)
        try:
            result = wrap(_int_safe_power(x, y))
        except ValueError:
            raise broadcast_error(x, y) from None
        node = record(PowBackward1, result, (ta, tb))
        if node is not None:
            node.save(ta, tb, SavedOutput(result))
        return _maybe_out(result, out)
    x, p, ta, _ = binary(a, exponent)
    if x.dtype.kind in "iu" and isinstance(p, int) and p < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    result = wrap(_scalar_power(x, p))
    node = record(PowBackward0, result, (ta,))
    if node is not None:
        node.exponent = p
        node.save(ta)
    return _maybe_out(result, out)


def _scalar_power(x, p):
    """x ** p for a number p, with PyTorch's special cases for floats (its CPU kernel computes
    x*x*x for p=3, 1/(x*x) for p=-2...), so that results match to the last bit."""
    if x.dtype.kind == "f":
        if p == 2:
            return x * x
        if p == 3:
            return x * x * x
        if p == -0.5:
            return 1 / np.sqrt(x)
        if p == -1:
            return 1 / x
        if p == -2:
            return 1 / (x * x)
    elif p == 2:
        return x * x
    return _int_safe_power(x, p)


def _int_safe_power(x, p):
    return np.power(x, p)


def _scalar_pow(base, exponent):
    """number ** tensor."""
    x, b, _, tb = binary(base, exponent)
    result = wrap(np.power(x, b))
    node = record(PowBackward2, result, (tb,))
    if node is not None:
        node.base = base
        node.save(tb, SavedOutput(result))
    return result


def square(a):
    return pow(a, 2)


class AbsBackward0(Node):
    """out = |a|  ->  da = g*sign(a)   (0 at a == 0, as PyTorch)"""
    saved_fields = ("self",)

    def backward(self, m, g):
        (a,) = self.saved(m)
        return g * m.sign(a)


def abs(a):
    if a._data.dtype == np.bool_:
        raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
    return unary_result(AbsBackward0, a, np.abs(a._data), save_input=True)


class SignBackward0(Node):
    """out = sign(a)  ->  da = 0"""

    def backward(self, m, g):
        return zero_grad(self, m)


def sign(a):
    return unary_result(SignBackward0, a, np.sign(a._data))


class RemainderBackward0(Node):
    """out = a mod b (floored)  ->  da = g,  db = -g * floor(a/b)"""

    def backward(self, m, g):
        a, b = self.saved(m)
        gb = None
        if needs(self, 1):
            gb = -g * m.floor(a / b)
        return g, gb


def remainder(a, b):
    x, y, ta, tb = binary(a, b)
    _integer_division(x, y)
    result = wrap(np.mod(x, y))
    node = record(RemainderBackward0, result, (ta, tb))
    if node is not None:
        node.save(ta if ta is not None else a, tb if tb is not None else b)
    return result


def rremainder(a, number):
    x, y, _, _ = binary(a, number)
    _integer_division(y, x)
    return wrap(np.mod(y, x))


def floor_divide(a, b):
    x, y, _, _ = binary(a, b)
    _integer_division(x, y)
    return wrap(np.floor_divide(x, y))


def rfloordiv(a, number):
    x, y, _, _ = binary(a, number)
    _integer_division(y, x)
    return wrap(np.floor_divide(y, x))


def _maybe_out(result, out):
    if out is None:
        return result
    out.copy_(result) if out.shape == result.shape else out.set_(result)
    return out


class FmodBackward0(Node):
    """out = a - trunc(a/b)*b, b a number  ->  da = g"""

    def backward(self, m, g):
        return g


class FmodBackward1(Node):
    """out = a - trunc(a/b)*b  ->  da = g,  db = -g * trunc(a/b)"""

    def backward(self, m, g):
        a, b = self.saved(m)
        gb = None
        if needs(self, 1):
            q = a / b
            gb = -g * (q.trunc() if m.tensor_mode else np.trunc(q))
        return (g if needs(self, 0) else None), gb


def fmod(a, b):
    """C's fmod: the remainder has the sign of the dividend (remainder's has the divisor's)."""
    x, y, ta, tb = binary(a, b)
    _integer_division(x, y)
    result = wrap(np.fmod(x, y))
    if tb is None:
        record(FmodBackward0, result, (ta,))
        return result
    node = record(FmodBackward1, result, (ta, tb))
    if node is not None:
        node.save(ta if ta is not None else a, tb)
    return result


def float_power(input, exponent):
    """input ** exponent computed in float64 (PyTorch: both operands cast to double)."""
    from .shape import to_dtype

    a = input if isinstance(input, Tensor) else None
    if a is not None:
        input = to_dtype(a, _dtype.float64)
    if isinstance(exponent, Tensor):
        exponent = to_dtype(exponent, _dtype.float64)
    elif a is not None:
        exponent = float(exponent)
    if a is None:
        return pow(float(input), exponent)
    return pow(input, exponent)


true_divide = div
