"""The aliases, trivial forms and settings of _compat.py, each called under torch and chainrule."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule  # noqa: E402
from chainrule import _compat  # noqa: E402

X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
CALLS = {
    "trapezoid": lambda L: L.trapezoid(L.tensor(X)),
    "trapezoid dx dim": lambda L: L.trapezoid(L.tensor(X), dx=0.5, dim=0),
    "trapezoid x": lambda L: L.trapezoid(L.tensor(X), L.tensor([0.0, 1.0, 3.0])),
    "trapz": lambda L: L.trapz(L.tensor([1.0, 2.0, 4.0]), dx=0.5),
    "cumulative_trapezoid": lambda L: L.cumulative_trapezoid(L.tensor(X)),
    "cumulative_trapezoid x": lambda L: L.cumulative_trapezoid(L.tensor(X),
                                                               L.tensor([0.0, 1.0, 3.0])),
    "gradient": lambda L: L.gradient(L.tensor([1.0, 2.0, 4.0, 8.0, 3.0])),
    "gradient dims": lambda L: L.gradient(L.tensor([[1.0, 2.0, 4.0], [2.0, 5.0, 9.0],
                                                    [0.0, 1.0, 1.0]]), spacing=2.0),
    "gradient edge2": lambda L: L.gradient(L.tensor([1.0, 2.0, 4.0, 8.0]), edge_order=2),
    "gradient dim list": lambda L: L.gradient(L.tensor(X), spacing=[0.5], dim=[1]),
    "unravel_index": lambda L: L.unravel_index(L.tensor([5, 7, 0]), (3, 4)),
    "vdot": lambda L: L.vdot(L.tensor([1.0, 2.0]), L.tensor([3.0, 4.0])),
    "ger": lambda L: L.ger(L.tensor([1.0, 2.0]), L.tensor([3.0, 4.0, 5.0])),
    "scalar_tensor": lambda L: L.scalar_tensor(3),
    "greater": lambda L: L.greater(L.tensor(X), 0.5),
    "less_equal": lambda L: L.less_equal(L.tensor(X), 0.5),
    "not_equal method": lambda L: L.tensor(X).not_equal(0.5),
    "greater_ in place": lambda L: L.tensor(X).greater_(0.5),
    "exp_": lambda L: L.exp_(L.tensor(X, dtype=L.float64)),
    "clamp_": lambda L: L.clamp_(L.tensor(X), min=0.0),
    "zero_": lambda L: L.zero_(L.tensor(X)),
    "real": lambda L: L.real(L.tensor(X)),
    "resolve_conj": lambda L: L.resolve_conj(L.tensor(X)),
    "is_conj": lambda L: L.is_conj(L.tensor(X)),
    "is_signed": lambda L: (L.is_signed(L.tensor(X)), L.is_signed(L.tensor([True]))),
    "is_inference": lambda L: L.tensor(X).is_inference(),
    "get_device": lambda L: (L.get_device(L.ones(1)), L.ones(1).get_device()),
    "is_same_size": lambda L: (L.is_same_size(L.ones(2), L.ones(2)), L.ones(2).is_same_size(L.ones(3))),
    "typename": lambda L: (L.typename(L.ones(1)), L.typename(L.ones(1, dtype=L.int64)),
                           L.typename(3)),
    "split_with_sizes": lambda L: L.tensor(X).split_with_sizes([1, 2], 1),
    "unsafe_chunk": lambda L: L.tensor(X).unsafe_chunk(2, 0),
    "max_pool1d": lambda L: L.max_pool1d(L.tensor([X]), 2),
    "pixel_shuffle": lambda L: L.pixel_shuffle(L.arange(8.0).reshape(1, 4, 1, 2), 2),
    "cosine_similarity": lambda L: L.cosine_similarity(L.tensor(X), L.tensor(X[::-1])),
    "dim_order": lambda L: (L.ones(2, 3).dim_order(), L.ones(2, 3).t().dim_order()),
    "storage shared": lambda L: L.ones(2, 3).untyped_storage().nbytes(),
    "cholesky_solve method": lambda L: L.tensor([[1.0], [2.0]]).cholesky_solve(
        L.tensor([[2.0, 0.0], [1.0, 1.0]])),
    "matmul precision": lambda L: (L.set_float32_matmul_precision("high"),
                                   L.get_float32_matmul_precision(),
                                   L.set_float32_matmul_precision("highest"))[1],
    "deterministic": lambda L: (L.use_deterministic_algorithms(True, warn_only=True),
                                L.are_deterministic_algorithms_enabled(),
                                L.is_deterministic_algorithms_warn_only_enabled(),
                                L.use_deterministic_algorithms(False))[1:3],
    "warn_always": lambda L: (L.set_warn_always(True), L.is_warn_always_enabled(),
                              L.set_warn_always(False))[1],
}


def _plain(value, L):
    if isinstance(value, L.Tensor):
        return ("tensor", str(value.dtype).split(".")[-1], tuple(value.shape),
                np.round(value.detach().numpy().astype(float), 12).tolist())
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v, L) for v in value)
    return value


@pytest.mark.parametrize("name", list(CALLS))
def test_matches_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _plain(CALLS[name](chainrule), chainrule) == _plain(CALLS[name](torch), torch)


def test_imag_of_a_real_tensor_is_refused_in_torch_words():
    messages = []
    for L in (torch, chainrule):
        with pytest.raises(RuntimeError) as caught:
            L.imag(L.ones(2))
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("call,node", [("unsqueeze_(0)", "UnsqueezeBackward1"),
                                       ("squeeze_()", "SqueezeBackward3"),
                                       ("squeeze_(0)", "SqueezeBackward4"),
                                       ("t_()", "TBackward1"),
                                       ("transpose_(0, 1)", "TransposeBackward1"),
                                       ("swapdims_(0, 1)", "TransposeBackward1")])
def test_in_place_view_ops(call, node):
    results = []
    for L in (torch, chainrule):
        leaf = L.tensor([[1.0, 2.0]], requires_grad=True)
        y = leaf * 2
        out = eval("y." + call)
        assert out is y
        (y * L.arange(1.0, 3.0).reshape(y.shape)).sum().backward()
        results.append((tuple(y.shape), type(y.grad_fn).__name__, leaf.grad.tolist()))
        with pytest.raises(RuntimeError, match="leaf Variable"):
            eval("leaf." + call)
        plain = L.ones(1, 2)
        eval("plain." + call)
        results.append((tuple(plain.shape), plain._version))
    assert results[:2] == results[2:] and results[0][1] == node


def test_resize_and_storage():
    for L in (torch, chainrule):
        v = L.arange(3.0)
        v.resize_(2, 2)
        assert v.shape == (2, 2) and v.flatten()[:3].tolist() == [0.0, 1.0, 2.0]
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            L.ones(2, requires_grad=True).resize_(3)
        x = L.ones(2, 3)
        assert x.untyped_storage().data_ptr() == x[1].untyped_storage().data_ptr()
        assert x.untyped_storage().data_ptr() != x.clone().untyped_storage().data_ptr()


def test_set_default_tensor_type_warns_and_sets_the_dtype():
    try:
        for L in (torch, chainrule):
            with pytest.warns(UserWarning, match="set_default_tensor_type"):
                L.set_default_tensor_type(L.DoubleTensor)
            assert str(L.ones(1).dtype).endswith("float64")
            L.set_default_dtype(L.float32)
    finally:
        torch.set_default_dtype(torch.float32)
        chainrule.set_default_dtype(chainrule.float32)


def test_every_in_place_function_name_is_torchs():
    assert all(hasattr(torch, name) for name in _compat.INPLACE_FUNCTIONS)
    assert all(hasattr(torch, name) for name in _compat.FUNCTIONAL)
