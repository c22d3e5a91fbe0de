"""Creation functions against PyTorch: values, dtypes, reprs, memory sharing and errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import chainrule as cr


def assert_same(ours, theirs):
    assert repr(ours) == repr(theirs)
    assert repr(ours.dtype) == repr(theirs.dtype) and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


def assert_same_error(ours_fn, theirs_fn):
    with pytest.raises(Exception) as theirs:
        theirs_fn()
    with pytest.raises(type(theirs.value)) as ours:
        ours_fn()
    assert str(ours.value) == str(theirs.value)


def run_both(expression):
    """Evaluate `expression` with `lib` bound to chainrule, then to torch."""
    return [eval(expression, {"lib": lib, "np": np}) for lib in (cr, torch)]


@pytest.mark.parametrize("expression", [
    "lib.tensor([1, 2])", "lib.tensor([1.0, 2.0])", "lib.tensor([[1, 2], [3.5, 4]])",
    "lib.tensor(3)", "lib.tensor(2.5)", "lib.tensor(True)", "lib.tensor([True, 2])",
    "lib.tensor([1, 2], dtype=lib.float64)", "lib.tensor(((1, 2), (3, 4)), dtype=lib.float)",
    "lib.tensor(np.array([1.0, 2.0]))", "lib.tensor(np.array([1, 2], dtype=np.int32))",
    "lib.tensor(np.float32(3.5))", "lib.tensor([np.float32(1), np.float32(2)])",
    "lib.tensor([np.int32(1), np.int32(2)])", "lib.tensor([1.5, np.float64(2)])",
    "lib.tensor([np.int32(1), 2])", "lib.tensor([np.float16(1), 2])",
    "lib.tensor([lib.tensor(1.0), lib.tensor(2.0)])", "lib.tensor([[lib.tensor(1)]])",
    "lib.tensor(range(3))", "lib.tensor([])", "lib.tensor([[], []])",
    "lib.tensor([1.0, 2.0], requires_grad=True)", "lib.tensor([1, 2], dtype=lib.float64, "
    "requires_grad=True)",
    "lib.zeros(2, 3)", "lib.zeros((2, 3))", "lib.zeros([2, 3], dtype=lib.int32)",
    "lib.zeros(())", "lib.zeros(0)", "lib.zeros(2, 3, dtype=lib.bool)",
    "lib.ones(3, requires_grad=True)", "lib.ones(2, 2, dtype=lib.float64)",
    "lib.full((2,), 3)", "lib.full((2,), 3.0)", "lib.full((2,), True)",
    "lib.full((2,), 3, dtype=lib.float32)", "lib.full([2, 2], 1.5, requires_grad=True)",
    "lib.full((2,), lib.tensor(2.0))",
    "lib.eye(3)", "lib.eye(2, 3)", "lib.eye(2, dtype=lib.int64)", "lib.eye(0)",
    "lib.arange(5)", "lib.arange(1, 4)", "lib.arange(0, 1, 0.1)", "lib.arange(0.0, 5)",
    "lib.arange(1, 2.5, 0.5)", "lib.arange(5, 0, -1)", "lib.arange(0, 10, 3)",
    "lib.arange(-1.0, 1.0, 0.3)", "lib.arange(5, dtype=lib.float32)", "lib.arange(1, 2, 0.1)",
    "lib.arange(lib.tensor(3))", "lib.arange(-3, 3, 0.7)", "lib.arange(0, 5, 0.5, "
    "dtype=lib.float64)",
    "lib.linspace(0, 1, 5)", "lib.linspace(-1, 1, 11)", "lib.linspace(0, 10, 7)",
    "lib.linspace(0, 1, 1)", "lib.linspace(0, 1, 0)", "lib.linspace(3, 3, 4)",
    "lib.linspace(0, 1, 5, dtype=lib.float64)", "lib.linspace(0, 10, 5, dtype=lib.int64)",
    "lib.linspace(-2.5, 7.3, 13)", "lib.linspace(-5, 5, 100)",
    "lib.zeros_like(lib.ones(2, dtype=lib.int32))", "lib.ones_like(lib.ones(2, 3))",
    "lib.ones_like(lib.ones(2, 3), dtype=lib.float64)", "lib.full_like(lib.ones(2), 7)",
    "lib.full_like(lib.ones(2, dtype=lib.int64), 2.7)",
    "lib.zeros_like(lib.ones(2, requires_grad=True))",
    "lib.ones_like(lib.ones(2), requires_grad=True)",
    "lib.as_tensor([1, 2])", "lib.as_tensor(np.array([1.0, 2.0]), dtype=lib.float32)",
    "lib.from_numpy(np.array([1, 2], dtype=np.int32))",
])
def test_creation_matches_torch(expression):
    ours, theirs = run_both(expression)
    assert_same(ours, theirs)


@pytest.mark.parametrize("expression", [
    "lib.tensor([[1, 2], [3]])", "lib.tensor([[[1], [2]], [[3], [4, 5]]])",
    "lib.tensor(None)", "lib.tensor([None])", "lib.tensor('abc')", "lib.tensor([1, 'a'])",
    "lib.tensor(['a'])", "lib.tensor({1: 2})", "lib.tensor([lib.ones(2), lib.ones(2)])",
    "lib.zeros(-1)", "lib.ones(-2)", "lib.empty(-1)", "lib.ones(2.5)", "lib.full(2, 1.0)",
    "lib.full((-1,), 1)", "lib.arange(0, 5, 0)", "lib.arange(5, 0)",
    "lib.from_numpy([1, 2])", "lib.linspace(0, 1, -1)",
    "lib.tensor([1, 2], requires_grad=True)", "lib.arange(3, requires_grad=True)",
])
def test_creation_errors_match_torch(expression):
    assert_same_error(lambda: eval(expression, {"lib": cr, "np": np}),
                      lambda: eval(expression, {"lib": torch, "np": np}))


# (rounded: an endpoint that is denormal in float32 takes another path in PyTorch's kernel)
@given(st.floats(-100, 100).map(lambda v: round(v, 6)),
       st.floats(-100, 100).map(lambda v: round(v, 6)), st.integers(0, 400),
       st.sampled_from(["float32", "float64", "int64", "float16"]))
def test_linspace_bit_for_bit(start, end, steps, dtype_name):
    """PyTorch's kernel fills from both ends with fused multiply-adds; we reproduce it."""
    ours = cr.linspace(start, end, steps, dtype=getattr(cr, dtype_name)).numpy()
    theirs = torch.linspace(start, end, steps, dtype=getattr(torch, dtype_name)).numpy()
    if dtype_name == "float64":  # emulating the fused rounding in long double: within an ulp
        np.testing.assert_array_max_ulp(ours, theirs, maxulp=1)
    else:
        np.testing.assert_array_equal(ours, theirs)


@given(st.floats(-50, 50).map(lambda v: round(v, 2)), st.floats(0.5, 40),
       st.floats(0.05, 3).map(lambda v: round(v, 2)), st.booleans())
def test_float_arange_matches_torch(start, length, step, descending):
    end = start + length
    if descending:
        start, end, step = end, start, -step
    ours, theirs = cr.arange(start, end, step), torch.arange(start, end, step)
    assert ours.shape == theirs.shape
    # PyTorch's vectorized kernel is emulated (see creation._float_arange); a rare double
    # rounding may leave one ulp
    np.testing.assert_array_max_ulp(ours.numpy(), theirs.numpy(), maxulp=1)


def test_empty_has_shape_and_dtype():
    for args, kwargs in [((2, 3), {}), (((4,),), {"dtype": cr.int64})]:
        t = cr.empty(*args, **kwargs)
        assert t.shape == torch.empty(*args).shape
    assert cr.empty(2, dtype=cr.int64).dtype == cr.int64
    assert cr.empty_like(cr.ones(2, 3, dtype=cr.float64)).dtype == cr.float64
    assert cr.empty(2, requires_grad=True).requires_grad


def test_as_tensor_and_from_numpy_share_memory():
    array = np.array([1.0, 2.0, 3.0])
    for make in (cr.as_tensor, cr.from_numpy):
        t = make(array)
        assert t.dtype == cr.float64
        array[0] = 10.0
        assert t[0].item() == 10.0
        t.add_(1)  # and writes go back to the array
        assert array[1] == 3.0
        array[:] = [1.0, 2.0, 3.0]
    copied = cr.tensor(array)
    array[0] = -1.0
    assert copied[0].item() == 1.0
    converted = cr.as_tensor(array, dtype=cr.float32)  # a cast needs a copy
    array[0] = 7.0
    assert converted[0].item() == -1.0
    existing = cr.ones(2)
    assert cr.as_tensor(existing) is existing


def test_tensor_from_tensor_warns_and_copies():
    source = cr.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        copied = cr.tensor(source)
    assert not copied.requires_grad and copied.is_leaf
    copied.add_(1)
    assert source.tolist() == [1.0, 1.0]


def test_requires_grad_and_device_keywords():
    for make in (lambda **kw: cr.tensor([1.0], **kw), lambda **kw: cr.zeros(2, **kw),
                 lambda **kw: cr.ones(2, **kw), lambda **kw: cr.full((2,), 1.0, **kw),
                 lambda **kw: cr.arange(3.0, **kw), lambda **kw: cr.linspace(0, 1, 3, **kw),
                 lambda **kw: cr.eye(2, **kw), lambda **kw: cr.empty(2, **kw),
                 lambda **kw: cr.randn(2, **kw), lambda **kw: cr.rand(2, **kw)):
        t = make(requires_grad=True, device="cpu")
        assert t.requires_grad and t.is_leaf and t.device == cr.device("cpu")
        with pytest.raises(RuntimeError, match="device 'cuda' is not available.*'cpu'"):
            make(device="cuda")


def test_legacy_typed_constructors():
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor",
                 "ByteTensor"):
        assert repr(getattr(cr, name)([1, 0])) == repr(getattr(torch, name)([1, 0]))
        assert getattr(cr, name)(2, 3).shape == getattr(torch, name)(2, 3).shape


def test_seed_004_dataset_tensors():
    X = [[0.5, 0.9], [14.0, 12.0], [15.0, 13.6], [28.0, 22.8], [11.0, 8.1], [8.0, 7.1],
         [3.0, 2.9], [-4.0, 0.1], [6.0, 5.3], [13.0, 12.0], [21.0, 19.9], [-1.0, 1.5]]
    y = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4, 29.1]
    for lib in (cr, torch):
        device = lib.device("cuda" if lib.cuda.is_available() else "cpu")
        xs = lib.tensor(X, dtype=lib.float, device=device)
        ys = lib.tensor(y, dtype=lib.float, device=device) * 0.01
        assert repr(xs.shape) == "torch.Size([12, 2])" and len(xs) == 12
    assert repr(cr.tensor(y) * 0.01) == repr(torch.tensor(y) * 0.01)


def test_like_functions_keep_the_input_layout_as_torch():
    """Bug: *_like ignored a transposed input's strides, so rand_like/dropout of a transposed
    tensor filled the random stream in another order than PyTorch's."""
    def run(lib):
        x = lib.ones(3, 4).t()
        lib.manual_seed(0)
        return [lib.empty_like(x).stride(), lib.zeros_like(x, dtype=lib.int64).stride(),
                lib.full_like(x, 2).stride(), lib.ones_like(lib.ones(3).expand(4, 3)).stride(),
                lib.empty_like(x, memory_format=lib.contiguous_format).stride(),
                lib.empty_like(lib.ones(2, 3, 4)[:, 1:, ::2].permute(1, 2, 0)).stride(),
                lib.rand_like(x).tolist(), lib.randn_like(lib.ones(8, 5).t()).tolist(),
                lib.nn.functional.dropout(x, 0.5).tolist(), repr(lib.contiguous_format)]
    assert run(cr) == run(torch)


def test_softmax_of_an_all_minus_inf_row_is_nan_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cr.softmax(cr.tensor([[float("-inf")] * 3, [0.0, 1.0, 2.0]]), 1)
    ref = torch.softmax(torch.tensor([[float("-inf")] * 3, [0.0, 1.0, 2.0]]), 1)
    assert repr(out) == repr(ref)
