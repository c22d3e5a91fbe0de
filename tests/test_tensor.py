"""The Tensor protocol (state, conversions, autograd fields), side by side with PyTorch."""
import re
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def raised(fn):
    """The exception `fn` raises (None if it returns)."""
    try:
        fn()
    except Exception as err:  # compared by the caller
        return err
    return None


def assert_same_error(ours_fn, theirs_fn):
    theirs, ours = raised(theirs_fn), raised(ours_fn)
    assert theirs is not None, "torch did not raise"
    assert type(ours) is type(theirs), f"torch: {theirs!r}, chainrule: {ours!r}"
    assert str(ours) == str(theirs)


def both(build):
    """Run `build(lib)` with chainrule and with torch."""
    return build(cr), build(torch)


def strip_addresses(text):
    return re.sub(r"0x[0-9a-f]+", "0x", text)


# -- data --------------------------------------------------------------------------------------
def test_data_shares_memory_but_not_version_counter():
    ours, theirs = both(lambda lib: lib.ones(3, requires_grad=True))
    for t in (ours, theirs):
        data = t.data
        assert not data.requires_grad and data.is_leaf
        data.add_(1)  # allowed: .data bypasses autograd
        assert t._version == 0
    assert ours.tolist() == theirs.tolist() == [2.0, 2.0, 2.0]


def test_data_setter_replaces_value_and_keeps_requires_grad():
    ours, theirs = both(lambda lib: lib.tensor([1.0, 2.0], requires_grad=True))
    ours.data = ours.data - 0.5 * cr.ones(2)
    theirs.data = theirs.data - 0.5 * torch.ones(2)
    assert repr(ours) == repr(theirs)
    ours.data, theirs.data = cr.zeros(3), torch.zeros(3)  # a different shape is allowed
    assert repr(ours) == repr(theirs)
    assert_same_error(lambda: setattr(ours, "data", [1.0]),
                      lambda: setattr(theirs, "data", [1.0]))


# -- grad ------------------------------------------------------------------------------------------
def test_grad_get_set_and_none():
    ours, theirs = both(lambda lib: lib.tensor([1.0, 2.0], requires_grad=True))
    assert ours.grad is None and theirs.grad is None
    ours.grad, theirs.grad = cr.tensor([0.5, 0.5]), torch.tensor([0.5, 0.5])
    assert repr(ours.grad) == repr(theirs.grad)
    ours.grad = None
    assert ours.grad is None
    assert_same_error(lambda: setattr(ours, "grad", cr.ones(3)),
                      lambda: setattr(theirs, "grad", torch.ones(3)))
    assert_same_error(lambda: setattr(ours, "grad", cr.ones(2, dtype=cr.float64)),
                      lambda: setattr(theirs, "grad", torch.ones(2, dtype=torch.float64)))
    assert_same_error(lambda: setattr(ours, "grad", 3), lambda: setattr(theirs, "grad", 3))


def test_grad_accumulates_then_assigned_grad_is_added_to():
    ours, theirs = both(lambda lib: lib.tensor([1.0, 2.0], requires_grad=True))
    ours.grad, theirs.grad = cr.ones(2), torch.ones(2)
    (ours * 3).sum().backward()
    (theirs * 3).sum().backward()
    assert repr(ours.grad) == repr(theirs.grad)


# -- requires_grad -----------------------------------------------------------------------------
def test_requires_grad_setter_and_method():
    ours, theirs = both(lambda lib: lib.tensor([1.0, 2.0]))
    ours.requires_grad = True
    theirs.requires_grad = True
    assert ours.requires_grad and repr(ours) == repr(theirs)
    assert ours.requires_grad_(False) is ours and not ours.requires_grad
    assert ours.requires_grad_() is ours and ours.requires_grad


def test_requires_grad_refused_on_integer_tensors_in_pytorchs_words():
    ours, theirs = both(lambda lib: lib.tensor([1, 2]))
    assert_same_error(lambda: ours.requires_grad_(), lambda: theirs.requires_grad_())
    assert_same_error(lambda: setattr(ours, "requires_grad", True),
                      lambda: setattr(theirs, "requires_grad", True))
    assert_same_error(lambda: cr.tensor([1, 2], requires_grad=True),
                      lambda: torch.tensor([1, 2], requires_grad=True))
    assert_same_error(lambda: cr.zeros(2, dtype=cr.int64, requires_grad=True),
                      lambda: torch.zeros(2, dtype=torch.int64, requires_grad=True))
    assert not ours.requires_grad_(False).requires_grad  # turning it off is fine


def test_requires_grad_false_refused_on_non_leaf():
    ours, theirs = both(lambda lib: lib.ones(2, requires_grad=True) * 2)
    assert_same_error(lambda: ours.requires_grad_(False), lambda: theirs.requires_grad_(False))
    assert ours.requires_grad_(True) is ours


def test_is_leaf():
    for lib in (cr, torch):
        w = lib.ones(2, requires_grad=True)
        assert w.is_leaf and lib.ones(2).is_leaf and (lib.ones(2) * 2).is_leaf
        assert not (w * 2).is_leaf and (w * 2).detach().is_leaf
        with lib.no_grad():
            assert (w * 2).is_leaf


# -- grad_fn ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("expression", [
    "w + 1", "w - 1", "1 - w", "w * 2", "w / 2", "2 / w", "-w", "w ** 2", "2 ** w", "w * x",
    "w + x", "w.exp()", "w.mean()", "w.sum()", "w.sum(0)", "w.mm(x)", "w @ x[0]", "w.T",
    "w.clamp(min=0)", "w.pow(2)", "w.sigmoid()", "lib.sigmoid(w)", "w.relu()", "w.abs()",
    "w.max()", "w.max(0).values", "w.unsqueeze(-1)", "w.view(4)", "w.reshape(4)", "w[0]",
    "w.double()", "w.clone()", "lib.square(w)", "w.tanh()", "w.log()",
])
def test_grad_fn_names(expression):
    names = []
    for lib in (cr, torch):
        w = lib.ones(2, 2, requires_grad=True)
        x = lib.ones(2, 2)
        names.append(type(eval(expression, {"w": w, "x": x, "lib": lib}).grad_fn).__name__)
    assert names[0] == names[1]


def test_next_functions_structure():
    structures = []
    for lib in (cr, torch):
        w = lib.ones(2, requires_grad=True)
        b = lib.zeros(2, requires_grad=True)
        loss = ((w * lib.ones(2) + b) ** 2).sum()
        fn = loss.grad_fn
        chain = []
        while fn is not None:
            chain.append((type(fn).__name__,
                          tuple(type(f).__name__ if f is not None else None
                                for f, _ in fn.next_functions),
                          tuple(nr for _, nr in fn.next_functions)))
            fn = next((f for f, _ in fn.next_functions if f is not None), None)
        structures.append(chain)
        add = loss.grad_fn.next_functions[0][0].next_functions[0][0]
        mul, acc_b = (f for f, _ in add.next_functions)
        assert acc_b.variable is b
        assert mul.next_functions[0][0].variable is w
        assert mul.next_functions[1] == (None, 0)
        assert acc_b.name() == "torch::autograd::AccumulateGrad"
        assert acc_b.next_functions == ()
        assert strip_addresses(repr(acc_b)) == "<AccumulateGrad object at 0x>"
        assert strip_addresses(repr(mul)) == "<MulBackward0 object at 0x>"
        assert mul.name() == "MulBackward0"
    assert structures[0] == structures[1]


def test_leaf_has_one_accumulator():
    w = cr.ones(2, requires_grad=True)
    a, b = w * 2, w * 3
    assert a.grad_fn.next_functions[0][0] is b.grad_fn.next_functions[0][0]


# -- shape, size, dtype, device -------------------------------------------------------------------
def test_shape_and_size():
    ours, theirs = both(lambda lib: lib.zeros(2, 3, 4))
    assert isinstance(ours.shape, cr.Size) and isinstance(ours.size(), cr.Size)
    assert ours.shape == theirs.shape == (2, 3, 4) and ours.size() == theirs.size()
    assert repr(ours.shape) == repr(theirs.shape)
    assert repr(ours.shape[1:]) == repr(theirs.shape[1:])
    assert ours.size(1) == theirs.size(1) and ours.size(-1) == theirs.size(-1)
    assert_same_error(lambda: ours.size(3), lambda: theirs.size(3))
    assert ours.dim() == ours.ndim == theirs.ndim == 3
    assert ours.numel() == theirs.numel() == ours.shape.numel() == 24
    z = cr.tensor(27.0)
    assert z.shape == cr.Size([]) and z.shape == () and repr(z.shape) == "torch.Size([])"
    assert z.dim() == 0 and z.numel() == 1


def test_dtype_device_and_cpu():
    ours, theirs = both(lambda lib: lib.tensor([1.0, 2.0]))
    assert repr(ours.dtype) == repr(theirs.dtype)
    assert repr(ours.device) == repr(theirs.device) == "device(type='cpu')"
    assert str(ours.device) == "cpu" and ours.device.type == "cpu"
    assert ours.device == cr.device("cpu") and not ours.is_cuda
    assert ours.cpu() is ours and ours.to("cpu") is ours and ours.to(cr.float32) is ours
    assert ours.to(cr.device("cpu")) is ours
    assert repr(cr.device("cuda:1")) == repr(torch.device("cuda:1"))
    assert (cr.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")


@pytest.mark.parametrize("call", [
    lambda lib: lib.ones(2).to("cuda"), lambda lib: lib.ones(2).cuda(),
    lambda lib: lib.zeros(2, device="cuda"), lambda lib: lib.tensor([1.0], device="cuda:0"),
    lambda lib: lib.ones(2).to(lib.device("mps")),
])
def test_other_devices_give_a_clear_error(call):
    with pytest.raises(RuntimeError, match=r"device '(cuda|mps)(:0)?' is not available.*'cpu'"):
        call(cr)
    assert not cr.cuda.is_available()


def test_device_keyword_cpu_accepted():
    for make in (lambda: cr.zeros(2, device="cpu"), lambda: cr.tensor([1.0], device="cpu"),
                 lambda: cr.ones(2, device=cr.device("cpu")), lambda: cr.arange(3, device="cpu"),
                 lambda: cr.Tensor([1.0], device="cpu")):
        assert make().device == cr.device("cpu")


# -- Python protocol ------------------------------------------------------------------------------
def test_item_tolist_float_int_len_iter():
    ours, theirs = both(lambda lib: lib.tensor([[1.5, 2.0], [3.0, 4.0]]))
    assert ours.tolist() == theirs.tolist()
    assert cr.tensor(2.5).tolist() == 2.5 and cr.tensor(2.5).item() == 2.5
    assert type(cr.tensor(3).item()) is int and type(cr.tensor(True).item()) is bool
    assert len(ours) == len(theirs) == 2
    assert [repr(row) for row in ours] == [repr(row) for row in theirs]
    assert float(cr.tensor([2.5])) == 2.5 and int(cr.tensor(2.7)) == 2
    assert [10, 20, 30][cr.tensor(1)] == 20
    assert_same_error(lambda: ours.item(), lambda: theirs.item())
    assert_same_error(lambda: float(ours), lambda: float(theirs))
    assert_same_error(lambda: int(ours), lambda: int(theirs))
    assert_same_error(lambda: len(cr.tensor(1.0)), lambda: len(torch.tensor(1.0)))
    assert_same_error(lambda: iter(cr.tensor(1.0)), lambda: iter(torch.tensor(1.0)))


@pytest.mark.parametrize("values", [[1.0, 2.0], [], [[True]], 0.0, [3]])
def test_bool(values):
    ours, theirs = cr.tensor(values), torch.tensor(values)
    if theirs.numel() == 1:
        assert bool(ours) == bool(theirs)
    else:
        assert_same_error(lambda: bool(ours), lambda: bool(theirs))


def test_numpy_refuses_tensors_requiring_grad():
    ours, theirs = both(lambda lib: lib.ones(2, requires_grad=True))
    assert_same_error(lambda: ours.numpy(), lambda: theirs.numpy())
    assert_same_error(lambda: np.asarray(ours), lambda: np.asarray(theirs))
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    np.testing.assert_array_equal(ours.numpy(force=True), theirs.numpy(force=True))
    plain = cr.zeros(2)
    plain.numpy()[0] = 5.0  # numpy() shares memory
    assert plain.tolist() == [5.0, 0.0]


def test_detach_shares_memory_and_version_counter():
    for lib in (cr, torch):
        w = lib.ones(2, requires_grad=True)
        d = w.detach()
        assert not d.requires_grad and d is not w
        d.add_(1)
        assert w._version == d._version == 1
        assert w.tolist() == [2.0, 2.0]


def test_detach_in_place():
    ours, theirs = both(lambda lib: lib.ones(2, requires_grad=True) * 2)
    ours.detach_(), theirs.detach_()
    assert repr(ours) == repr(theirs) and ours.is_leaf


def test_clone_is_differentiable_and_copies():
    for lib in (cr, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        c = w.clone()
        assert type(c.grad_fn).__name__ == "CloneBackward0"
        (c * c).sum().backward()
        assert w.grad.tolist() == [2.0, 4.0]
        plain = lib.ones(2)
        copy = plain.clone()
        copy.add_(1)
        assert plain.tolist() == [1.0, 1.0]


def test_transpose_property():
    ours, theirs = both(lambda lib: lib.arange(6.0).reshape(2, 3))
    assert repr(ours.T) == repr(theirs.T)
    assert repr(cr.arange(3).T) == repr(torch.arange(3).T)


@pytest.mark.parametrize("method", ["float", "double", "long", "int", "half", "bool"])
def test_cast_methods(method):
    ours, theirs = both(lambda lib: lib.tensor([0.0, 1.5, -2.5]))
    assert repr(getattr(ours, method)()) == repr(getattr(theirs, method)())


def test_to_variants():
    ours, theirs = both(lambda lib: lib.tensor([0.5, 1.5]))
    assert repr(ours.to(cr.float64)) == repr(theirs.to(torch.float64))
    assert repr(ours.to("cpu", cr.int32)) == repr(theirs.to("cpu", torch.int32))
    assert repr(ours.to(cr.tensor([1]))) == repr(theirs.to(torch.tensor([1])))
    assert repr(ours.to(dtype=cr.float16)) == repr(theirs.to(dtype=torch.float16))
    copied = ours.to("cpu", copy=True)
    assert copied is not ours and repr(copied) == repr(ours)
    assert ours.type() == theirs.type() == "torch.FloatTensor"
    assert repr(ours.type(cr.float64)) == repr(theirs.type(torch.float64))
    assert repr(ours.type("torch.DoubleTensor")) == repr(theirs.type("torch.DoubleTensor"))


def test_to_dtype_is_differentiable():
    for lib in (cr, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        out = w.to(lib.float64)
        assert type(out.grad_fn).__name__ == "ToCopyBackward0"
        (out * out).sum().backward()
        assert repr(w.grad).replace("torch", "") == "tensor([2., 4.])"


# -- legacy constructor ----------------------------------------------------------------------
@pytest.mark.parametrize("args", [([1.0],), ([1, 2],), ([[1, 2], [3, 4]],), ((1.0, 2.0),),
                                  (np.array([1, 2]),)])
def test_legacy_constructor_from_data(args):
    ours, theirs = cr.Tensor(*args), torch.Tensor(*args)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("args", [(2, 3), (4,), ((2, 3),), (cr.Size([2]),), ()])
def test_legacy_constructor_by_shape(args):
    torch_args = tuple(torch.Size(a) if isinstance(a, cr.Size) else a for a in args)
    ours, theirs = cr.Tensor(*args), torch.Tensor(*torch_args)
    assert ours.shape == theirs.shape and repr(ours.dtype) == repr(theirs.dtype)


def test_legacy_constructor_errors_and_alias():
    assert_same_error(lambda: cr.Tensor(2.5), lambda: torch.Tensor(2.5))
    assert_same_error(lambda: cr.Tensor("ab"), lambda: torch.Tensor("ab"))
    source = cr.tensor([1, 2])
    alias = cr.Tensor(source)
    assert repr(alias) == repr(torch.Tensor(torch.tensor([1, 2])))
    alias.add_(1)
    assert source.tolist() == [2, 3]


def test_seed_000_legacy_weight():
    ours, theirs = both(lambda lib: lib.Tensor([1.0]))
    ours.requires_grad = True
    theirs.requires_grad = True
    assert repr(ours) == repr(theirs) == "tensor([1.], requires_grad=True)"


# -- hooks and retain_grad --------------------------------------------------------------------
def test_retain_grad_and_non_leaf_warning():
    messages = []
    for lib in (cr, torch):
        w = lib.ones(3, requires_grad=True)
        y = (w + lib.tensor([2])) * 3
        z = y.mean()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert y.grad is None
        messages.append([(w.category, str(w.message)) for w in caught])
        y.retain_grad()
        assert y.retains_grad and not w.retains_grad
        z.backward()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert repr(y.grad) == "tensor([0.3333, 0.3333, 0.3333])"
        w.retain_grad()  # a no-op on leaves
    assert messages[0] == messages[1] and messages[0][0][0] is UserWarning


def test_retain_grad_and_hooks_refused_without_requires_grad():
    ours, theirs = both(lambda lib: lib.ones(2))
    assert_same_error(lambda: ours.retain_grad(), lambda: theirs.retain_grad())
    assert_same_error(lambda: ours.register_hook(print), lambda: theirs.register_hook(print))
    assert_same_error(lambda: ours.register_post_accumulate_grad_hook(print),
                      lambda: theirs.register_post_accumulate_grad_hook(print))
    ours, theirs = both(lambda lib: lib.ones(2, requires_grad=True) * 2)
    assert_same_error(lambda: ours.register_post_accumulate_grad_hook(print),
                      lambda: theirs.register_post_accumulate_grad_hook(print))


def test_register_hook_sees_and_replaces_gradient():
    results = []
    for lib in (cr, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        w.register_hook(lambda g: seen.append(g.tolist()))
        y = w * 3
        handle = y.register_hook(lambda g: g * 10)
        (y * y).sum().backward()
        first = w.grad.tolist()
        handle.remove()
        w.grad = None
        (w * 3 * (w * 3)).sum().backward()
        results.append((seen, first, w.grad.tolist()))
    assert results[0] == results[1]


def test_tensors_are_hashable_by_identity():
    a, b = cr.ones(2), cr.ones(2)
    assert len({a, b}) == 2 and {a: 1}[a] == 1


def test_comparison_with_none_falls_back_to_identity():
    for lib in (cr, torch):
        t = lib.ones(2)
        assert (t == None) is False and (t != None) is True  # noqa: E711
        assert (t == "a") is False
    assert_same_error(lambda: cr.ones(2) < None, lambda: torch.ones(2) < None)
