"""dtype promotion and creation dtype inference, checked against PyTorch for every pair."""
import operator

import numpy as np
import pytest
import torch

import chainrule as cr

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
       "truediv": operator.truediv, "lt": operator.lt, "eq": operator.eq, "ge": operator.ge}
PY_SCALARS = [True, 3, 2.5]


def torch_dtype(name):
    return getattr(torch, name)


def cr_dtype(name):
    return cr.bool if name == "bool" else getattr(cr, name)


def make_pair(name, dims):
    """The same small tensor in both libraries: values 1 (and 2) so every dtype holds them."""
    values = [1, 1] if dims else 1
    if name == "bool":
        values = [True, False] if dims else True
    return (cr.tensor(values, dtype=cr_dtype(name)),
            torch.tensor(values, dtype=torch_dtype(name)))


def outcome(fn, *args):
    try:
        return fn(*args)
    except Exception as err:  # the error itself is compared
        return err


def assert_same_outcome(ours, theirs, label):
    if isinstance(theirs, Exception):
        assert isinstance(ours, type(theirs)), f"{label}: torch raised {theirs!r}, we got {ours!r}"
        assert str(ours) == str(theirs), label
        return
    assert not isinstance(ours, Exception), f"{label}: torch gave {theirs.dtype}, we raised {ours!r}"
    assert repr(ours.dtype) == repr(theirs.dtype), label
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=label)


@pytest.mark.parametrize("op_name", OPS)
@pytest.mark.parametrize("left", NAMES)
@pytest.mark.parametrize("left_dims", [1, 0], ids=["dim", "zero_dim"])
def test_binary_promotion_matches_torch(op_name, left, left_dims):
    op = OPS[op_name]
    ours_a, theirs_a = make_pair(left, left_dims)
    for right in NAMES:
        for right_dims in (1, 0):
            ours_b, theirs_b = make_pair(right, right_dims)
            label = f"{left}[{left_dims}] {op_name} {right}[{right_dims}]"
            assert_same_outcome(outcome(op, ours_a, ours_b), outcome(op, theirs_a, theirs_b),
                                label)
    for scalar in PY_SCALARS:
        for args in ((ours_a, scalar, theirs_a, scalar), (scalar, ours_a, scalar, theirs_a)):
            label = f"{left}[{left_dims}] {op_name} {scalar!r} (order {type(args[0]).__name__})"
            assert_same_outcome(outcome(op, args[0], args[1]), outcome(op, args[2], args[3]),
                                label)


@pytest.mark.parametrize("left", NAMES)
def test_result_type_and_promote_types(left):
    for right in NAMES:
        assert repr(cr.promote_types(cr_dtype(left), cr_dtype(right))) == \
            repr(torch.promote_types(torch_dtype(left), torch_dtype(right)))
        for dims in (0, 1):
            ours_b, theirs_b = make_pair(right, dims)
            ours_a, theirs_a = make_pair(left, 1)
            assert repr(cr.result_type(ours_a, ours_b)) == \
                repr(torch.result_type(theirs_a, theirs_b))
        for scalar in PY_SCALARS:
            ours_a, theirs_a = make_pair(left, 0)
            assert repr(cr.result_type(ours_a, scalar)) == \
                repr(torch.result_type(theirs_a, scalar))


def test_int_division_gives_default_float():
    assert cr.tensor([3]) / cr.tensor([2]) is not None
    assert (cr.tensor([3]) / cr.tensor([2])).dtype == cr.float32
    assert (cr.tensor([3]) / 2).dtype == cr.float32
    cr.set_default_dtype(cr.float64)
    try:
        assert (cr.tensor([3]) / 2).dtype == cr.float64
        assert (cr.tensor([3]) * 2.5).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)


@pytest.mark.parametrize("data", [
    [1, 2], [1.0, 2.0], [1, 2.0], [True, False], [True, 2], 3, 3.5, True, [[1, 2], [3, 4]],
    np.array([1.0, 2.0]), np.array([1, 2], dtype=np.int32), np.array([1.0], dtype=np.float16),
    np.float64(2.0), np.float32(2.0), np.int32(7), [np.float64(1.0), np.float64(2.0)],
    np.array(True), [], [[]],
])
def test_creation_dtype_inference(data):
    ours, theirs = cr.tensor(data), torch.tensor(data)
    assert repr(ours.dtype) == repr(theirs.dtype)
    assert ours.shape == tuple(theirs.shape)
    assert repr(ours) == repr(theirs)


def test_set_default_dtype_changes_inference():
    try:
        cr.set_default_dtype(cr.float64)
        torch.set_default_dtype(torch.float64)
        for data in ([1.0, 2.0], 3.5, [1, 2]):
            assert repr(cr.tensor(data).dtype) == repr(torch.tensor(data).dtype)
        assert cr.get_default_dtype() == cr.float64
        assert repr(cr.zeros(2).dtype) == repr(torch.zeros(2).dtype)
        assert repr(cr.Tensor([1]).dtype) == repr(torch.Tensor([1]).dtype)
    finally:
        cr.set_default_dtype(cr.float32)
        torch.set_default_dtype(torch.float32)
    assert cr.get_default_dtype() == cr.float32


def test_set_default_dtype_refuses_integers():
    with pytest.raises(TypeError) as theirs:
        torch.set_default_dtype(torch.int64)
    with pytest.raises(TypeError) as ours:
        cr.set_default_dtype(cr.int64)
    assert str(ours.value) == str(theirs.value)


def test_dtype_objects_behave_like_torch():
    for name in NAMES:
        ours, theirs = cr_dtype(name), torch_dtype(name)
        assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
        assert ours.is_floating_point == theirs.is_floating_point
        assert ours.is_signed == theirs.is_signed
        assert ours.itemsize == theirs.itemsize
    assert cr.float is cr.float32 and cr.double is cr.float64 and cr.long is cr.int64
    assert cr.int is cr.int32 and cr.half is cr.float16 and cr.short is cr.int16


@pytest.mark.parametrize("name", NAMES)
def test_type_conversion_methods(name):
    values = [0.0, 1.5, -2.7, 3.0]
    ours, theirs = cr.tensor(values), torch.tensor(values)
    if name in ("uint8",):
        ours, theirs = ours.abs(), theirs.abs()
    converted = ours.to(cr_dtype(name))
    expected = theirs.to(torch_dtype(name))
    assert repr(converted) == repr(expected)
    for method in ("float", "double", "long", "int", "bool", "half"):
        assert repr(getattr(converted, method)()) == repr(getattr(expected, method)())
    assert converted.type() == expected.type()


@pytest.mark.parametrize("expr", ["np.float64(2.0) * x", "x * np.float64(2.0)", "x + np.float32(1)",
                                  "x / np.int64(2)", "np.float64(2) ** x", "x ** np.float64(2)",
                                  "x - np.float64(1)", "np.float64(1) - x", "xi * np.float64(1.5)",
                                  "xi + np.int32(1)", "x > np.float64(0.5)"])
def test_numpy_scalars_are_weak_like_python_numbers(expr):
    """Bug: NumPy float64 scalars (a float subclass) promoted float32 tensors to float64."""
    def run(lib):
        env = {"np": np, "x": lib.tensor([1.0, 2.0]), "xi": lib.tensor([1, 2])}
        out = eval(expr, env)
        return str(out.dtype).split(".")[-1], out.tolist()
    assert run(cr) == run(torch)
