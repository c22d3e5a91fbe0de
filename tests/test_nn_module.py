"""nn.Module and nn.Parameter behaviour against PyTorch: registration, traversal, state_dict,
conversion, hooks, reprs and error messages."""
import copy
import os
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr


def to_cr(t):
    return cr.tensor(t.detach().numpy().copy())


def build_net(nn):
    """A model with nesting, a shared layer, a buffer, a non-persistent buffer and a None param."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4))
            self.head = nn.Linear(4, 2)
            self.shared = self.head  # the same module twice: counted once
            self.scale = nn.Parameter(torch_like(nn).ones(1))
            self.register_buffer("steps", torch_like(nn).zeros(()))
            self.register_buffer("cache", torch_like(nn).zeros(2), persistent=False)
            self.register_parameter("unused", None)
            self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Tanh()])
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1)})

        def forward(self, x):
            h = self.head(self.body(x)) * self.scale
            for block in self.blocks:
                h = block(h)
            return self.heads["a"](h)

    return Net()


def torch_like(nn):
    return torch if nn is torch.nn else cr


@pytest.fixture
def nets():
    torch.manual_seed(0)
    t_net, c_net = build_net(torch.nn), build_net(cr.nn)
    c_net.load_state_dict({k: to_cr(v) for k, v in t_net.state_dict().items()})
    return t_net, c_net


def test_parameter_repr_leaf_and_requires_grad():
    t_p = torch.nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    c_p = cr.nn.Parameter(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert repr(c_p) == repr(t_p)
    assert c_p.is_leaf and c_p.requires_grad and isinstance(c_p, cr.Tensor)
    frozen = cr.nn.Parameter(cr.ones(2), requires_grad=False)
    assert repr(frozen) == repr(torch.nn.Parameter(torch.ones(2), requires_grad=False))
    assert repr(cr.nn.Parameter()) == repr(torch.nn.Parameter())
    assert type(c_p * 2) is cr.Tensor and type(c_p.detach()) is cr.Tensor
    with pytest.raises(RuntimeError, match="Only Tensors of floating point"):
        cr.nn.Parameter(cr.tensor([1, 2]))


def test_parameter_shares_memory_and_survives_deepcopy_and_pickle():
    data = cr.zeros(3)
    p = cr.nn.Parameter(data)
    with cr.no_grad():
        p.add_(1.0)
    assert data.tolist() == [1.0, 1.0, 1.0]
    for clone in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(clone) is cr.nn.Parameter and clone.requires_grad
        assert clone.tolist() == p.tolist()


def test_named_parameters_buffers_modules_match_torch(nets):
    t_net, c_net = nets
    assert [n for n, _ in c_net.named_parameters()] == [n for n, _ in t_net.named_parameters()]
    assert len(list(c_net.parameters())) == len(list(t_net.parameters()))
    assert [n for n, _ in c_net.named_buffers()] == [n for n, _ in t_net.named_buffers()]
    assert [n for n, _ in c_net.named_modules()] == [n for n, _ in t_net.named_modules()]
    assert [n for n, _ in c_net.named_children()] == [n for n, _ in t_net.named_children()]
    assert len(list(c_net.modules())) == len(list(t_net.modules()))
    assert len(list(c_net.children())) == len(list(t_net.children()))
    assert ([n for n, _ in c_net.named_parameters(prefix="model", recurse=False)]
            == [n for n, _ in t_net.named_parameters(prefix="model", recurse=False)])
    assert ([n for n, _ in c_net.named_parameters(remove_duplicate=False)]
            == [n for n, _ in t_net.named_parameters(remove_duplicate=False)])
    assert ([n for n, _ in c_net.named_modules(remove_duplicate=False)]
            == [n for n, _ in t_net.named_modules(remove_duplicate=False)])


def test_state_dict_keys_values_and_detached(nets):
    t_net, c_net = nets
    t_sd, c_sd = t_net.state_dict(), c_net.state_dict()
    assert isinstance(c_sd, OrderedDict)
    assert list(c_sd) == list(t_sd)
    for key in t_sd:
        np.testing.assert_array_equal(c_sd[key].numpy(), t_sd[key].numpy())
        assert not c_sd[key].requires_grad and c_sd[key].grad_fn is None
    assert list(c_net.state_dict(prefix="m.")) == list(t_net.state_dict(prefix="m."))
    kept = c_net.state_dict(keep_vars=True)
    assert kept["head.weight"] is c_net.head.weight


def test_forward_and_backward_match_torch(nets):
    t_net, c_net = nets
    x = torch.randn(5, 3)
    t_out, c_out = t_net(x), c_net(to_cr(x))
    np.testing.assert_allclose(c_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    t_out.sum().backward()
    c_out.sum().backward()
    c_params = dict(c_net.named_parameters())
    for name, t_param in t_net.named_parameters():
        np.testing.assert_allclose(c_params[name].grad.numpy(), t_param.grad.numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_load_state_dict_strict_errors_list_keys_exactly_like_torch():
    t_lin, c_lin = torch.nn.Linear(2, 3), cr.nn.Linear(2, 3)
    t_sd = {"weight": torch.zeros(3, 2), "extra": torch.zeros(1), "other.x": torch.zeros(1)}
    with pytest.raises(RuntimeError) as t_err:
        t_lin.load_state_dict(t_sd)
    with pytest.raises(RuntimeError) as c_err:
        c_lin.load_state_dict({k: to_cr(v) for k, v in t_sd.items()})
    assert str(c_err.value) == str(t_err.value)
    assert str(c_err.value).startswith(
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". ')


def test_load_state_dict_non_strict_returns_the_named_tuple():
    t_lin, c_lin = torch.nn.Linear(2, 3), cr.nn.Linear(2, 3)
    t_res = t_lin.load_state_dict({"weight": torch.ones(3, 2), "junk": torch.ones(1)},
                                  strict=False)
    c_res = c_lin.load_state_dict({"weight": cr.ones(3, 2), "junk": cr.ones(1)}, strict=False)
    assert c_res.missing_keys == t_res.missing_keys == ["bias"]
    assert c_res.unexpected_keys == t_res.unexpected_keys == ["junk"]
    assert repr(c_res) == repr(t_res)
    assert c_lin.weight.tolist() == [[1.0, 1.0]] * 3
    assert c_lin.weight.requires_grad and c_lin.weight.is_leaf
    ok_t = t_lin.load_state_dict(t_lin.state_dict())
    ok_c = c_lin.load_state_dict(c_lin.state_dict())
    assert repr(ok_c) == repr(ok_t) == "<All keys matched successfully>"


def test_load_state_dict_shape_mismatch_message_matches_torch():
    with pytest.raises(RuntimeError) as t_err:
        torch.nn.Linear(2, 3).load_state_dict({"weight": torch.zeros(2, 2), "bias": torch.zeros(3)})
    with pytest.raises(RuntimeError) as c_err:
        cr.nn.Linear(2, 3).load_state_dict({"weight": cr.zeros(2, 2), "bias": cr.zeros(3)})
    assert str(c_err.value) == str(t_err.value)
    assert "size mismatch for weight" in str(c_err.value)


def test_load_state_dict_keeps_the_same_parameter_objects(nets):
    _, c_net = nets
    before = c_net.head.weight
    c_net.load_state_dict({k: v * 0 for k, v in c_net.state_dict().items()})
    assert c_net.head.weight is before and before.abs().sum().item() == 0


def test_train_eval_and_training_flags(nets):
    t_net, c_net = nets
    assert c_net.training
    assert c_net.eval() is c_net
    assert [m.training for m in c_net.modules()] == [m.training for m in t_net.eval().modules()]
    assert all(not m.training for m in c_net.modules())
    c_net.train()
    assert all(m.training for m in c_net.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        c_net.train("yes")


def test_zero_grad_sets_none_or_zero(nets):
    _, c_net = nets
    c_net(cr.ones(2, 3)).sum().backward()
    c_net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and p.grad.abs().sum().item() == 0 for p in c_net.parameters())
    c_net.zero_grad()
    assert all(p.grad is None for p in c_net.parameters())


def test_to_double_float_keep_parameter_objects_and_convert_buffers(nets):
    _, c_net = nets
    weight = c_net.head.weight
    c_net(cr.ones(1, 3)).sum().backward()
    assert c_net.double() is c_net
    assert c_net.head.weight is weight and weight.dtype == cr.float64
    assert weight.grad.dtype == cr.float64
    assert c_net.steps.dtype == cr.float64
    assert c_net(cr.ones(1, 3, dtype=cr.float64)).dtype == cr.float64
    c_net.to(cr.float32)
    assert weight.dtype == cr.float32
    c_net.to("cpu").to(cr.device("cpu")).cpu().float()
    assert weight.dtype == cr.float32
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        c_net.to(cr.int64)
    with pytest.raises(RuntimeError, match="cuda"):
        c_net.to("cuda")


def test_integer_buffers_are_not_cast():
    bn = cr.nn.BatchNorm1d(3).double()
    assert bn.num_batches_tracked.dtype == cr.int64 and bn.running_mean.dtype == cr.float64


def test_requires_grad_and_apply(nets):
    _, c_net = nets
    assert c_net.requires_grad_(False) is c_net
    assert not any(p.requires_grad for p in c_net.parameters())
    c_net.requires_grad_()
    seen = []
    assert c_net.apply(lambda m: seen.append(type(m).__name__)) is c_net
    t_seen = []
    build_net(torch.nn).apply(lambda m: t_seen.append(type(m).__name__))
    assert seen == t_seen

    def init_linear(m):
        if isinstance(m, cr.nn.Linear):
            cr.nn.init.constant_(m.weight, 0.5)

    c_net.apply(init_linear)
    assert c_net.body[0].weight.tolist()[0] == [0.5, 0.5, 0.5]


def test_repr_of_a_custom_model_matches_torch():
    assert repr(build_net(cr.nn)) == repr(build_net(torch.nn))

    class WithExtra(torch.nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    class CrWithExtra(cr.nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    CrWithExtra.__name__ = WithExtra.__name__ = "WithExtra"
    t_mod, c_mod = WithExtra(), CrWithExtra()
    t_mod.inner, c_mod.inner = torch.nn.ReLU(), cr.nn.ReLU()
    assert repr(c_mod) == repr(t_mod)


def test_attribute_assignment_registers_and_reassigns_like_torch():
    lin = cr.nn.Linear(2, 2)
    with pytest.raises(TypeError) as c_err:
        lin.weight = cr.ones(2, 2)
    with pytest.raises(TypeError) as t_err:
        torch.nn.Linear(2, 2).weight = torch.ones(2, 2)
    assert str(c_err.value) == str(t_err.value)
    lin.weight = cr.nn.Parameter(cr.ones(2, 2))
    assert lin.weight.tolist() == [[1.0, 1.0]] * 2
    lin.bias = None
    assert lin.bias is None and [n for n, _ in lin.named_parameters()] == ["weight"]
    lin.extra = cr.nn.ReLU()
    assert "extra" in lin._modules and list(dict(lin.named_children())) == ["extra"]
    lin.note = "plain attribute"
    assert lin.note == "plain attribute"
    del lin.extra
    assert list(lin.children()) == []
    with pytest.raises(AttributeError) as c_err:
        lin.missing
    with pytest.raises(AttributeError) as t_err:
        torch.nn.Linear(2, 2).missing
    assert str(c_err.value) == str(t_err.value)


def test_registration_errors_match_torch():
    def cases(nn, lib):
        mod = nn.Linear(1, 1)
        return [
            lambda: mod.register_buffer("a.b", lib.zeros(1)),
            lambda: mod.register_buffer("weight", lib.zeros(1)),
            lambda: mod.register_parameter("p", lib.zeros(1)),
            lambda: mod.add_module("x", "not a module"),
            lambda: mod.register_parameter("q", nn.Parameter(lib.zeros(1)) * 2),
        ]

    for t_case, c_case in zip(cases(torch.nn, torch), cases(cr.nn, cr)):
        with pytest.raises(Exception) as t_err:
            t_case()
        with pytest.raises(Exception) as c_err:
            c_case()
        assert type(c_err.value) is type(t_err.value)
        assert str(c_err.value).replace("chainrule", "torch") == str(t_err.value)


def test_assigning_before_init_is_an_error():
    class Early(cr.nn.Module):
        def __init__(self):
            self.fc = cr.nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"cannot assign module before Module.__init__\(\)"):
        Early()


def test_missing_forward_message_matches_torch():
    with pytest.raises(NotImplementedError) as c_err:
        cr.nn.Module()(1)
    with pytest.raises(NotImplementedError) as t_err:
        torch.nn.Module()(1)
    assert str(c_err.value) == str(t_err.value)


def test_forward_hooks_and_pre_hooks_run_in_order_and_can_replace_values():
    lin = cr.nn.Linear(2, 2)
    calls = []
    pre = lin.register_forward_pre_hook(lambda m, args: (calls.append("pre"), None)[1])
    double_input = lin.register_forward_pre_hook(lambda m, args: args[0] * 2)
    post = lin.register_forward_hook(lambda m, args, out: calls.append(("post", args[0].tolist())))
    zero_out = lin.register_forward_hook(lambda m, args, out: out * 0)
    out = lin(cr.ones(1, 2))
    assert calls == ["pre", ("post", [[2.0, 2.0]])]
    assert out.tolist() == [[0.0, 0.0]]
    for handle in (pre, double_input, post, zero_out):
        handle.remove()
    expected = (cr.ones(1, 2) @ lin.weight.t() + lin.bias).tolist()
    assert lin(cr.ones(1, 2)).tolist() == expected
    order = []
    lin.register_forward_hook(lambda m, a, o: order.append("first"))
    lin.register_forward_hook(lambda m, a, o: order.append("prepended"), prepend=True)
    lin.register_forward_pre_hook(lambda m, a, k: (a, {}) if order.append(sorted(k)) else None,
                                  with_kwargs=True)
    lin(cr.ones(1, 2))
    assert order == [[], "prepended", "first"]


def test_get_submodule_and_get_parameter_match_torch(nets):
    t_net, c_net = nets
    assert c_net.get_submodule("body.2") is c_net.body[2]
    assert c_net.get_submodule("") is c_net
    assert c_net.get_parameter("body.0.bias") is c_net.body[0].bias
    assert c_net.get_buffer("steps") is c_net.steps
    for target, fn in [("body.9", "get_submodule"), ("body.0.nope", "get_parameter"),
                       ("steps", "get_parameter"), ("scale", "get_submodule")]:
        with pytest.raises(AttributeError) as t_err:
            getattr(t_net, fn)(target)
        with pytest.raises(AttributeError) as c_err:
            getattr(c_net, fn)(target)
        assert str(c_err.value) == str(t_err.value)


def test_sequential_indexing_slicing_and_editing_like_torch():
    def make(nn):
        return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 4), nn.Sigmoid())

    t_seq, c_seq = make(torch.nn), make(cr.nn)
    assert len(c_seq) == 4 and isinstance(c_seq[-1], cr.nn.Sigmoid)
    assert type(c_seq[1:3]) is cr.nn.Sequential and repr(c_seq[1:3]) == repr(t_seq[1:3])
    assert repr(c_seq[::2]) == repr(t_seq[::2])
    assert [type(m).__name__ for m in c_seq] == [type(m).__name__ for m in t_seq]
    with pytest.raises(IndexError) as t_err:
        t_seq[4]
    with pytest.raises(IndexError) as c_err:
        c_seq[4]
    assert str(c_err.value) == str(t_err.value)
    for seq, nn in ((t_seq, torch.nn), (c_seq, cr.nn)):
        seq.append(nn.Tanh())
        del seq[1]
        seq[0] = nn.Linear(5, 16, bias=False)
        seq.insert(1, nn.ELU())
    assert repr(c_seq) == repr(t_seq)
    assert repr(c_seq + c_seq[:1]) == repr(t_seq + t_seq[:1])
    named = OrderedDict([("fc", cr.nn.Linear(2, 3)), ("act", cr.nn.ReLU())])
    t_named = torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(2, 3)),
                                               ("act", torch.nn.ReLU())]))
    c_named = cr.nn.Sequential(named)
    assert repr(c_named) == repr(t_named) and c_named.fc is named["fc"]
    assert list(c_named.state_dict()) == list(t_named.state_dict()) == ["fc.weight", "fc.bias"]


def test_module_list_and_dict_behave_like_torch():
    t_list = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])
    c_list = cr.nn.ModuleList([cr.nn.Linear(2, 2) for _ in range(3)])
    for lst, nn in ((t_list, torch.nn), (c_list, cr.nn)):
        lst.append(nn.ReLU())
        lst.extend([nn.Tanh()])
        lst.insert(0, nn.Sigmoid())
    assert repr(c_list) == repr(t_list)
    assert len(c_list) == 6 and len(list(c_list.parameters())) == 6
    assert repr(c_list[1:3]) == repr(t_list[1:3])
    del c_list[0]
    del t_list[0]
    assert repr(c_list) == repr(t_list)
    c_dict = cr.nn.ModuleDict({"b": cr.nn.Linear(1, 1), "a": cr.nn.ReLU()})
    t_dict = torch.nn.ModuleDict({"b": torch.nn.Linear(1, 1), "a": torch.nn.ReLU()})
    assert list(c_dict.keys()) == list(t_dict.keys()) == ["b", "a"]
    assert "a" in c_dict and len(c_dict) == 2 and repr(c_dict) == repr(t_dict)
    c_dict["c"] = cr.nn.Tanh()
    assert list(c_dict) == ["b", "a", "c"]
    assert isinstance(c_dict.pop("a"), cr.nn.ReLU) and list(c_dict) == ["b", "c"]


def test_parameter_list_and_dict_register_parameters():
    t_plist = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3)), torch.zeros(4)])
    c_plist = cr.nn.ParameterList([cr.nn.Parameter(cr.ones(2, 3)), cr.zeros(4)])
    assert repr(c_plist) == repr(t_plist)
    assert [n for n, _ in c_plist.named_parameters()] == ["0", "1"]
    assert isinstance(c_plist[1], cr.nn.Parameter)
    c_pdict = cr.nn.ParameterDict({"w": cr.nn.Parameter(cr.ones(2))})
    t_pdict = torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.ones(2))})
    assert repr(c_pdict) == repr(t_pdict)
    assert [n for n, _ in c_pdict.named_parameters()] == ["w"]


def test_deepcopy_of_a_module_is_independent(nets):
    _, c_net = nets
    clone = copy.deepcopy(c_net)
    with cr.no_grad():
        clone.head.weight.fill_(0.0)
    assert c_net.head.weight.abs().sum().item() > 0
    assert clone.shared is clone.head


def _backward_hook_log(lib, *, input_requires_grad=True, replace=False, pre_replace=False,
                       two_outputs=False):
    """Run a model whose middle module carries full backward (pre-)hooks; return what the
    hooks saw and the resulting gradients."""
    nn = lib.nn
    lib.manual_seed(0)

    class Split(nn.Module):
        def forward(self, x, scale):
            return x * scale, x.sum(1, keepdim=True)

    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    log = []

    def pre_hook(module, grad_output):
        log.append(("pre", type(module).__name__, [None if g is None else g.tolist()
                                                  for g in grad_output]))
        if pre_replace:
            return tuple(g * 10 for g in grad_output)

    def hook(module, grad_input, grad_output):
        log.append(("hook", type(module).__name__,
                    [None if g is None else g.tolist() for g in grad_input],
                    [None if g is None else g.tolist() for g in grad_output]))
        if replace:
            return tuple(None if g is None else g * 0 + 1 for g in grad_input)

    x = lib.randn(5, 3, requires_grad=input_requires_grad)
    handles = []
    target = model[0] if not input_requires_grad else model[2]
    handles.append(target.register_full_backward_hook(hook))
    handles.append(target.register_full_backward_pre_hook(pre_hook))
    if two_outputs:
        split = Split()
        handles.append(split.register_full_backward_hook(hook))
        a, b = split(model(x), 2.0)
        loss = (a ** 2).sum() + b.sum() * 3
    else:
        loss = model(x).pow(2).sum()
    loss.backward()
    grads = [p.grad.tolist() for p in model.parameters()]
    for h in handles:
        h.remove()
    model.zero_grad()
    model(x).sum().backward()    # removed hooks do not run
    return log, grads, None if x.grad is None else x.grad.tolist()


@pytest.mark.parametrize("options", [{}, dict(replace=True), dict(pre_replace=True),
                                     dict(input_requires_grad=False), dict(two_outputs=True)])
def test_full_backward_hooks_match_torch(options):
    warns = []
    for lib in (cr, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _backward_hook_log(lib, **options)
        warns.append([(str(w.message), os.path.basename(w.filename)) for w in caught])
        if lib is cr:
            ours = result
        else:
            theirs = result
    assert warns[0] == warns[1]   # the no-input-requires-grad warning, at the user's line
    assert len(ours[0]) == len(theirs[0])
    for a, b in zip(ours[0], theirs[0]):
        assert a[:2] == b[:2]     # which hook, on which module, in which order
        for x, y in zip(a[2:], b[2:]):
            for gx, gy in zip(x, y):
                assert (gx is None) == (gy is None)
                if gx is not None:
                    np.testing.assert_allclose(gx, gy, rtol=1e-5, atol=1e-6)
    for gx, gy in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(gx, gy, rtol=1e-5, atol=1e-6)
    assert (ours[2] is None) == (theirs[2] is None)
    if ours[2] is not None:
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5, atol=1e-6)


def test_full_backward_hook_wrong_count_raises_like_torch():
    for lib in (cr, torch):
        layer = lib.nn.Linear(2, 2)
        layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        x = lib.ones(1, 2, requires_grad=True)
        with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of "
                                               "grad_input, got 2, but expected 1"):
            layer(x).sum().backward()
