"""Pre-0.4 API that old course material still uses, against PyTorch."""
import warnings

import pytest

torch = pytest.importorskip("torch")

import chainrule  # noqa: E402


@pytest.mark.parametrize("lib", [torch, chainrule], ids=["torch", "chainrule"])
def test_variable_wraps_a_tensor_as_a_new_leaf(lib):
    from importlib import import_module

    Variable = import_module(lib.__name__ + ".autograd").Variable
    assert import_module(lib.__name__ + ".autograd.variable").Variable is Variable
    t = lib.ones(2)
    v = Variable(t, requires_grad=True)
    assert v is not t and v.data_ptr() == t.data_ptr()
    assert v.requires_grad and v.is_leaf and not t.requires_grad
    assert isinstance(t, Variable) and not isinstance([1.0], Variable)
    # a non-leaf loses its history, as detach() does
    b = lib.ones(2, requires_grad=True) * 2
    c = Variable(b)
    assert c.grad_fn is None and not c.requires_grad
    # the old tutorials' training step
    x = Variable(lib.Tensor([1.0]), requires_grad=True)
    loss = (x * 3) ** 2
    loss.backward()
    assert x.grad.data[0].item() == 18.0


def test_variable_errors_and_warnings_match_torch():
    from chainrule.autograd import Variable

    messages = []
    for V, lib in ((torch.autograd.Variable, torch), (Variable, chainrule)):
        with pytest.raises(TypeError) as caught:
            V([1.0, 2.0])
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            V(lib.ones(2), volatile=True)
        messages.append((str(caught.value), [str(w.message) for w in seen]))
    assert messages[0] == messages[1]
    assert messages[0][1]


@pytest.mark.parametrize("args", [([0.1, 2],), (2, 3), (), (torch.Size([4]),), (2,)],
                         ids=["data", "sizes", "empty", "Size", "one size"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_tensor_new_keeps_the_dtype(args, dtype):
    ours_args = tuple(chainrule.Size(a) if isinstance(a, torch.Size) else a for a in args)
    expected = torch.ones(2, dtype=getattr(torch, dtype)).new(*args)
    got = chainrule.ones(2, dtype=getattr(chainrule, dtype)).new(*ours_args)
    assert str(got.dtype) == str(expected.dtype) and tuple(got.shape) == tuple(expected.shape)
    if args and isinstance(args[0], list):
        assert got.tolist() == expected.tolist()
