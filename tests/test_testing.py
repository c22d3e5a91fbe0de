"""torch.testing: assert_close / assert_allclose raise what PyTorch raises, with its messages;
make_tensor draws PyTorch's values."""
import warnings

import pytest
import torch

import chainrule as cr


def cases(lib):
    t = lib.tensor
    nan, inf = float("nan"), float("inf")
    return [
        (t([1.0, 2.0, 3.0]), t([1.0, 2.5, 3.0]), {}),
        (t([1.0, 2.0, 3.0]), t([1.0, 4.0, 5.0]), {}),
        (t([[1.0, 2.0], [3.0, 4.0]]), t([[1.0, 2.0], [3.5, 0.0]]), {}),
        (t([3.0, 1.0, 5.0]), t([1.0, 3.0, 1.0]), {}),
        (t([1e-3, 5.0]), t([0.0, 5.0]), {}),
        (t([1, 2, 3]), t([1, 3, 3]), {}),
        (t([1, 2, 0]), t([1, 3, 3]), {}),
        (t([1, 2, 3]), t([0, 2, 3]), {}),
        (t([[True, False]]), t([[True, True]]), {}),
        (t(1.5), t(2.0), {}),
        (t(1.5, dtype=lib.float64), t(2.0, dtype=lib.float64), {}),
        (t(nan), t(nan), {}),
        (t(nan), t(nan), {"equal_nan": True}),
        (t([nan, 1.0]), t([nan, 1.0]), {}),
        (t([inf, 1.0]), t([inf, 1.0]), {}),
        (t([inf, 1.0]), t([-inf, 1.0]), {}),
        (t([1.0]), t([1.0], dtype=lib.float64), {}),
        (t([1.0]), t([1.0, 2.0]), {}),
        (t([1.0, 2.0]), t([1.0, 2.1]), {"rtol": 0, "atol": 0}),
        (t([1.0, 2.0]), t([1.0, 2.1]), {"rtol": 0.1}),
        (t([1.0, 2.0]), t([1.0, 2.1]), {"atol": 0.1}),
        (t([1.0, 2.0]), t([1.0, 2.1]), {"rtol": 0.1, "atol": 0}),
        (t([1.0, 2.0]), t([1.0, 2.1], dtype=lib.float64), {"check_dtype": False}),
        (t([1, 2]), t([1.0, 2.5]), {"check_dtype": False}),
        (t([0.0, 1.0]), t([0.0, 1.0 + 1e-6]), {}),
        (t([1.0, 2.0]).requires_grad_(), t([1.0, 2.0]), {}),
        (lib.nn.Parameter(t([1.0, 2.0])), t([1.0, 2.0]), {}),
        (1.0, 1.5, {}),
        (1, 2, {}),
        (1.0, 1, {}),
        (1.0, 1, {"check_dtype": False}),
        (1.0, 1.0 + 1e-9, {}),
        (True, False, {}),
        (None, 1, {}),
        (None, None, {}),
        ([t([1.0]), t([2.0])], [t([1.0]), t([3.0])], {}),
        ((1.0, [2.0, 3.0]), (1.0, [2.0, 3.5]), {}),
        ({"a": t([1.0]), "b": 2.0}, {"a": t([1.0]), "b": 2.5}, {}),
        ({"a": 1}, {"b": 1}, {}),
        ([1, 2], [1, 2, 3], {}),
        (t([1.0, 2.0]), t([1.0, 4.0]), {"msg": "custom"}),
        (t([1.0, 2.0]), t([1.0, 4.0]), {"msg": lambda m: "Header\n" + m + "\nFooter"}),
    ]


def outcome(lib, actual, expected, kwargs):
    try:
        lib.testing.assert_close(actual, expected, **kwargs)
    except Exception as e:  # noqa: BLE001 - the type is part of what is compared
        return type(e).__name__, str(e)
    return "passed"


@pytest.mark.parametrize("i", range(len(cases(torch))))
def test_assert_close_matches_torch(i):
    ours = outcome(cr, *cases(cr)[i])
    theirs = outcome(torch, *cases(torch)[i])
    assert ours == theirs


def test_assert_close_is_importable_as_in_torch():
    from chainrule.testing import assert_close  # noqa: F401
    assert cr.testing.assert_close is assert_close


def test_assert_allclose_warns_and_uses_loose_tolerances():
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.testing.assert_allclose(x, [1.0, 2.00001])
        assert [w.category for w in caught] == [FutureWarning]
    messages = []
    for lib in (cr, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(AssertionError) as info:
                lib.testing.assert_allclose(lib.tensor([1.0, 2.0]), [1.0, 2.1])
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("kwargs", [dict(dtype="float32"), dict(dtype="float64", low=-1, high=1),
                                    dict(dtype="int64", low=0, high=5), dict(dtype="bool"),
                                    dict(dtype="float32", noncontiguous=True),
                                    dict(dtype="float64", requires_grad=True)])
def test_make_tensor_draws_torchs_values(kwargs):
    results = []
    for lib in (cr, torch):
        kw = dict(kwargs, dtype=getattr(lib, kwargs["dtype"]))
        lib.manual_seed(0)
        t = lib.testing.make_tensor(3, 4, device="cpu", **kw)
        results.append((t.tolist(), tuple(t.shape), str(t.dtype), t.requires_grad))
    assert results[0] == results[1]
